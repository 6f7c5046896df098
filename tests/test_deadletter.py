"""A notification that keeps failing (issue 11, item 2), against a real
alertrelayd and redis-server and Python webhook receivers
(harness.WebhookRecorder) that are down (HTTP 500) for longer than
max_attempts' span, then come back:

- while the alert is open, the notification is retried with capped
  backoff (retry_max_ms) until it goes through; the next tier is still
  brought forward at max_attempts; the history and `alertctl status` say
  who has not been reached;
- once the alert is cancelled (or expires at max_age) it is not tried any
  more and goes to the dead-letter stream, which `alertctl deadletter
  list|replay` shows and replays over the admin listener, with the
  admin token only.

Before issue 11 the notification went to the dead-letter stream at
max_attempts and was never delivered: test_receiver_back_while_open_gets_it
fails there (no attempt after the third), and so do the others (no
`deadletter` command, no admin endpoints)."""

import http.client
import json
import os
import time

import pytest

import harness
from harness import free_port, wait_until, write_secret

CAP_MS = 400
DELIVERY = {"max_attempts": 3, "retry_initial_ms": 100,
            "retry_max_ms": CAP_MS, "connect_timeout": 2,
            "request_timeout": 3}
CP_ALIAS = "Contactpunt"


def policies(max_age=3600):
    # tier 1 is due at 30 s: coming within seconds means "brought forward"
    return {"default": {"types": "panic threat",
                        "tier": ["0 contactpunt:webhook",
                                 "30 oncall-1:webhook"],
                        "max_age": max_age},
            "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


class Stack:
    """redis + relay with [admin] listen and token_file; each recipient's
    webhook a WebhookRecorder; contactpunt's answers 500 until told."""

    def __init__(self, lab, max_age=3600, cp_default=500):
        env = lab.env(delivery=DELIVERY)
        env.policies = policies(max_age)
        self.recs = {}
        for rid, r in env.recipients.items():
            self.recs[rid] = lab.recorder(
                r.secret_text, default=cp_default if rid == "contactpunt"
                else 200)
            r.webhook_port = self.recs[rid].port
        env.write_relay_conf()
        self.admin_port = free_port()
        self.token = harness.new_token()
        self.token_file = write_secret(env.dir / "admin.token", self.token)
        with open(env.relay_conf, "a") as f:
            f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                    % (self.admin_port, self.token_file))
        if os.geteuid() == 0:
            harness.hand_to_daemon_user(env.dir)
        self.env = env
        self.redis = lab.redis(env)
        self.relay = lab.relay(env)
        self.relay.proc.wait_for(r"admin listening on 127\.0\.0\.1:%d"
                                 % self.admin_port, timeout=10)
        self.lab = lab

    def r(self):
        return self.redis.client()

    def session(self):
        return harness.device_session(self.env)

    def deadletters(self, aid=None):
        return [(i, f) for i, f in self.r().xrange("alertrelay:deadletter")
                if aid is None or f.get("alert_id") == aid]

    def hooks(self, rid, aid, event=None):
        return [a for a in self.recs[rid].snapshot()
                if a["json"] and a["json"].get("alert_id") == aid and
                (event is None or a["json"].get("type") == event)]

    def http(self, method, path, body=None, token=None, host=None):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port,
                                       timeout=10)
        h = {"Host": host or "127.0.0.1:%d" % self.admin_port}
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=body, headers=h)
            resp = c.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            c.close()

    def ctl(self, *args, token_file=True):
        argv = [harness.alertctl_bin(), "-c", self.env.client_conf] + \
            list(args)
        if args and args[0] == "deadletter":
            argv += ["--admin", "127.0.0.1:%d" % self.admin_port]
            if token_file:
                argv += ["--token-file", str(self.token_file)]
        cp = harness.run(argv, timeout=30)
        self.lab.short_runs.append((argv, cp.stderr))
        return cp


def unreached_lines(cp):
    """The lines of `alertctl status` that name who was not reached (the
    history's own lines start with their time)."""
    assert cp.returncode == 0, cp.stderr
    return [line for line in cp.stdout.splitlines()
            if line.startswith("NOT REACHED")]


def wait_failed_receipt(s, aid):
    r = s.wait_receipt(aid, "failed", timeout=10)
    assert r["recipient"] == CP_ALIAS and r["channel"] == "webhook", r
    assert "500" in r["reason"], r
    return r


@pytest.mark.hard_timeout(90)
def test_receiver_back_while_open_gets_it(lab):
    """Down for well beyond max_attempts (3 attempts, ~0.3 s) then back:
    the notification arrives once the receiver answers again, the next
    tier came at max_attempts, status named the unreached recipient until
    then, and nothing went to the dead letters."""
    st = Stack(lab)
    s = st.session()
    t_send = time.monotonic()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    cp = st.recs["contactpunt"]
    attempts = cp.wait_attempts(3, timeout=10)
    r = wait_failed_receipt(s, aid)
    assert r.get("retrying") is True, r
    # the next tier (due at 30 s) was brought forward at max_attempts
    (oc,) = wait_until(lambda: st.hooks("oncall-1", aid, "alert.escalated"),
                       10, what="tier 1 at oncall-1")
    assert oc["time"] - t_send < 6, "tier 1 %.1fs after the alert" % (
        oc["time"] - t_send)
    assert oc["time"] >= attempts[2]["time"] - 0.05
    # and contactpunt is still tried after max_attempts, at the cap
    attempts = cp.wait_attempts(8, timeout=15)
    gaps = [b["time"] - a["time"] for a, b in zip(attempts[4:], attempts[5:])]
    assert all(CAP_MS * 0.8 / 1000 - 0.05 <= g <= CAP_MS * 1.2 / 1000 + 0.5
               for g in gaps), "not capped at retry_max_ms: %s" % gaps
    assert len({a["headers"]["webhook-id"] for a in attempts}) == 1
    assert st.deadletters(aid) == [], "given up while the alert is open"
    # history and status say plainly who has not been reached
    cp_status = st.ctl("status", aid)
    (line,) = unreached_lines(cp_status)
    assert line.startswith("NOT REACHED: %s by webhook since " % CP_ALIAS)
    assert line.endswith("answer 500 (still trying)"), line
    assert "NOT REACHED yet: %s by webhook" % CP_ALIAS in cp_status.stdout

    cp.default = 200  # back
    wait_until(lambda: [a for a in cp.snapshot() if a["status"] == 200], 10,
               what="the notification through once the receiver is back")
    got = [a for a in cp.snapshot() if a["status"] == 200]
    assert len(got) == 1 and got[0]["sig_ok"], got
    assert got[0]["json"]["type"] == "alert.raised"
    s.wait_receipt(aid, "delivered", recipient=CP_ALIAS, timeout=10)
    h = st.r().hgetall("alertrelay:alert:" + aid)
    assert h["state"] == "open" and "delivered:contactpunt" in h, h
    assert unreached_lines(st.ctl("status", aid)) == []
    n = len(cp.snapshot())
    time.sleep(1.5)  # > 3 caps: nothing more once it went through
    assert len(cp.snapshot()) == n
    assert st.deadletters(aid) == []
    pending = st.r()("XPENDING", "alertrelay:deliveries", "dispatch")
    assert pending[0] == 0, pending


@pytest.mark.hard_timeout(90)
def test_closed_alert_stops_retries_then_list_and_replay(lab):
    """Still down when the device cancels: no more attempts, one dead
    letter that says why; status says who was never reached; `alertctl
    deadletter list` shows it and `replay` delivers it once the receiver
    is back (followed by the cancellation), and only with the token."""
    st = Stack(lab)
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    cp = st.recs["contactpunt"]
    cp.wait_attempts(4, timeout=10)  # past max_attempts, still trying
    wait_failed_receipt(s, aid)
    assert st.deadletters(aid) == []
    assert s.cancel(aid)["type"] == "cancelled"
    dead = wait_until(lambda: st.deadletters(aid), 5, what="dead letter")
    (did, d), = dead
    assert d["recipient_id"] == "contactpunt" and d["channel"] == "webhook"
    assert d["event"] == "alert.raised" and d["tier"] == "0", d
    assert "cancelled" in d["reason"] and "500" in d["reason"], d
    n = len(cp.snapshot())
    time.sleep(1.5)  # > 3 caps
    assert len(cp.snapshot()) == n, "tried again after the cancel"
    assert all(a["json"]["type"] == "alert.raised" for a in cp.snapshot())
    # the device hears nothing after its cancel (a duress cancel, which
    # keeps the alarm going, must look the same: test_cancel_receipt.py);
    # its status shows who was not reached as it stood at the cancel
    s.drain(0.5)
    assert [f["event"] for f in s.receipts(aid)][-1] == "cancelled", \
        s.frames
    assert not s.receipts(aid, "failed")[1:], s.frames
    (line,) = unreached_lines(st.ctl("status", aid))
    assert line.startswith("NOT REACHED: %s by webhook" % CP_ALIAS), line
    assert line.endswith("(given up)") and "500" in line, line
    assert "cancelled" not in line, line

    # the list, with the token only
    assert st.http("GET", "/deadletter")[0] == 401
    assert st.http("GET", "/deadletter", token=st.token[:-1])[0] == 401
    assert st.http("GET", "/deadletter", token=st.token,
                   host="evil.example")[0] == 421
    status, body = st.http("GET", "/deadletter?limit=5", token=st.token)
    assert status == 200, body
    j = json.loads(body)
    assert j["total"] == 1 and j["entries"][0]["id"] == did, j
    cp_list = st.ctl("deadletter", "list", token_file=False)
    assert cp_list.returncode == 1 and "--token-file" in cp_list.stderr
    cp_list = st.ctl("deadletter", "list")
    assert cp_list.returncode == 0, cp_list.stderr
    rows = [line.split("\t") for line in cp_list.stdout.splitlines()[1:]]
    assert rows == [[did, d["at"], aid, "contactpunt", "webhook",
                     "alert.raised", d["reason"]]], cp_list.stdout
    assert st.token not in st.relay.log()

    # replay: refused without the token or from a web page
    body = json.dumps({"ids": [did]})
    assert st.http("POST", "/deadletter/replay", body)[0] == 401
    assert len(st.deadletters(aid)) == 1
    cp.default = 200
    rep = st.ctl("deadletter", "replay", did)
    assert rep.returncode == 0, rep.stderr
    assert ("replayed %s: alert %s to contactpunt by webhook" % (did, aid)
            in rep.stdout), rep.stdout
    wait_until(lambda: st.hooks("contactpunt", aid, "alert.cancelled"), 10,
               what="the alarm, then its cancellation")
    ok = [a["json"]["type"] for a in cp.snapshot() if a["status"] == 200]
    assert ok == ["alert.raised", "alert.cancelled"], ok
    assert st.deadletters(aid) == []
    wait_until(lambda: "delivered:contactpunt" in
               st.r().hgetall("alertrelay:alert:" + aid), 5,
               what="recorded as delivered")
    assert unreached_lines(st.ctl("status", aid)) == []
    # gone from the dead letters: replaying it again says so
    again = st.ctl("deadletter", "replay", did)
    assert again.returncode == 1 and did in again.stderr, again.stderr
    bad = st.ctl("deadletter", "replay", "not-an-id")
    assert bad.returncode == 1, bad.stdout


@pytest.mark.hard_timeout(90)
def test_max_age_ends_the_retries(lab):
    """Nobody acknowledges and the receiver stays down: retried until the
    policy's max_age (3 s), then a dead letter saying the alert expired,
    and no more attempts."""
    st = Stack(lab, max_age=3)
    s = st.session()
    t0 = time.monotonic()
    aid = s.send_alert("panic")["alert_id"]
    cp = st.recs["contactpunt"]
    wait_failed_receipt(s, aid)
    dead = wait_until(lambda: st.deadletters(aid), 10, what="dead letter")
    assert time.monotonic() - t0 >= 2.9, "given up before max_age"
    assert st.r().hgetall("alertrelay:alert:" + aid)["state"] == "expired"
    (_, d), = dead
    assert "expired" in d["reason"] and "500" in d["reason"], d
    n = len(cp.snapshot())
    assert n > DELIVERY["max_attempts"] + 2, n
    time.sleep(1.5)
    assert len(cp.snapshot()) == n


@pytest.mark.hard_timeout(90)
def test_unreached_survives_a_restart(lab):
    """A restart while the recipient is unreached: the relay goes on
    retrying (the attempt count is in Redis as "unreached"), does not
    report the failure twice, and delivers once the receiver is back."""
    st = Stack(lab)
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    cp = st.recs["contactpunt"]
    wait_failed_receipt(s, aid)
    s.close()
    st.relay.stop()
    n = len(cp.snapshot())
    st.relay.start()
    cp.wait_attempts(n + 2, timeout=15)
    assert st.deadletters(aid) == []
    cp.default = 200
    wait_until(lambda: [a for a in cp.snapshot() if a["status"] == 200], 10,
               what="delivered after the restart")
    evs = [json.loads(e) for e in
           st.r()("LRANGE", "alertrelay:events:" + aid, 0, -1)]
    failed = [e for e in evs if e["event"] == "failed"]
    assert len(failed) == 1, evs
    assert [e for e in evs if e["event"] == "delivered"
            and e["recipient"] == CP_ALIAS], evs


@pytest.mark.hard_timeout(60)
def test_admin_client_gone_while_redis_answers(lab):
    """A /deadletter request whose client hangs up while Redis has not
    answered yet (paused): the late answer is dropped, the relay runs on
    (under ASan: no use after free) and answers the next request; stopped
    while one waits, it exits 0."""
    import socket
    st = Stack(lab, cp_default=200)
    req = ("GET /deadletter HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
           "Authorization: Bearer %s\r\n\r\n" % (st.admin_port, st.token))
    st.redis.pause()
    try:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", st.admin_port),
                                          5) as c:
                c.sendall(req.encode())
        time.sleep(0.5)
    finally:
        st.redis.resume()
    time.sleep(0.5)
    status, body = st.http("GET", "/deadletter", token=st.token)
    assert status == 200 and json.loads(body)["total"] == 0, body
    assert st.http("GET", "/healthz")[0] == 200
    assert st.relay.proc.popen.poll() is None
    # and a relay stopped while such a request waits stops cleanly
    st.redis.pause()
    try:
        c = socket.create_connection(("127.0.0.1", st.admin_port), 5)
        c.sendall(req.encode())
        time.sleep(0.3)
        assert st.relay.stop() == 0, st.relay.log()[-2000:]
        c.close()
    finally:
        st.redis.resume()
