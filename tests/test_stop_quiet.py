"""A relay stopping (SIGTERM) takes nothing new up (docs/RELIABILITY.md,
"Shutdown"): its acknowledgement listeners close at once, so a recipient
acknowledging during the stop is refused at connect, not held, and
nothing is audited after relay.stop; the check-in and escalation timers
that come due during the stop are left in Redis, and the next start
raises them.  Real alertrelayd and redis-server (writes held with CLIENT
PAUSE WRITE), a webhook receiver that holds a delivery in flight, a
device speaking the protocol by hand.

Before: the listeners and timers ran until the loop ended.  An
acknowledgement taken during the stop was audited after relay.stop (the
audit trail said the relay stopped, then it acted), and the stopping
relay fired the tier and raised the check-in due meanwhile."""

import contextlib
import http.client
import os
import re
import signal
import threading
import time

import pytest

import harness
import proto
from harness_sms import device_session
from test_checkin_gone import gone_env, gone_while_held, timer_frame, \
    writes_held
from test_location_gone import an_update
from test_replicas_stop import WAITING, audit_actions

pytestmark = pytest.mark.needs("alertrelayd")

TIER1_S = 4  # the escalation's second tier, after the alert
HANGS_S = 8  # the first delivery's answer, which holds the stop


def state_of(env, what, *args):
    return harness.Resp(env.redis_port)(what, *args)


def checkin_started(env, deadline_s, release_s):
    """A check-in started by a device that stays for the answer."""
    key = proto.device_signing_key(env.device_key)
    cid = proto.new_alert_id()
    s = device_session(env)
    try:
        frame, _ = timer_frame(env, key, cid, "start", deadline_s=deadline_s,
                               release_s=release_s)
        answer = s.request(frame, ("checkin", "error"))
        assert answer["type"] == "checkin", answer
    finally:
        s.close()
    return cid


def alert_sent(env):
    s = device_session(env)
    try:
        return s.send_alert("panic")["alert_id"]
    finally:
        s.close()


@pytest.mark.hard_timeout(120)
def test_timers_due_during_the_stop_are_left_to_the_next_start(lab):
    """A delivery in flight holds the stop (HANGS_S); meanwhile the
    alert's next tier and a check-in's release come due.  The stopping
    relay takes neither up; both stay due in Redis, and the next start
    fires the tier and raises the check-in."""
    env = lab.env()
    env.policies = {"default": {"types": "panic", "tier": [
        "0 contactpunt:webhook", "%d oncall-1:webhook" % TIER1_S]}}
    env.write_relay_conf()
    hanging = lab.recorder_for(env, "contactpunt", delays=(HANGS_S,))
    lab.recorder_for(env, "oncall-1")
    lab.redis(env)
    relay = lab.relay(env)
    aid = alert_sent(env)
    harness.wait_until(lambda: hanging.snapshot(), 10,
                       what="the first delivery in flight")
    cid = checkin_started(env, 2, 3)
    relay.proc.signal(signal.SIGTERM)
    relay.proc.wait_for(r"info: shutting down", "stderr", 10)
    assert relay.proc.wait_exit(30) == 0, relay.log()[-3000:]
    exited_ms = time.time() * 1000
    log = relay.log()
    assert not re.search(r"escalation alert=%s tier=1" % aid, log), log
    assert not re.search(r"checkin missed checkin=%s" % cid, log), log
    prefix = env.redis["prefix"]
    tier1 = state_of(env, "ZSCORE", prefix + ":timers", aid + "|1")
    release = state_of(env, "ZSCORE", prefix + ":checkin_timers", cid + "|x")
    # both due well before the stopping relay exited (it polls 4 times a
    # second), and still due
    assert tier1 and float(tier1) + 1000 < exited_ms, (tier1, exited_ms)
    assert release and float(release) + 1000 < exited_ms, (release, exited_ms)
    assert state_of(env, "HGET", "%s:checkin:%s" % (prefix, cid),
                    "state") == "active"
    assert "alert.escalated" not in [r[0] for r in audit_actions(env)]
    relay.start()
    relay.proc.wait_for(r"escalation alert=%s tier=1 result=fired" % aid,
                        "stderr", 10)
    relay.proc.wait_for(r"checkin missed checkin=%s " % cid, "stderr", 10)


def ack_env(lab):
    env = gone_env(lab)
    env.ack = {"listen": "127.0.0.1:%d" % harness.free_port()}
    token = harness.new_token()
    env.recipient_extra["contactpunt"] = {
        "ack_token_file": harness.write_secret(env.dir / "cp.ack", token)}
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    env.write_relay_conf()
    return env, token


def ack_later(env, token, aid):
    """POST .../ack in a thread: {"status": ...} or {"error": ...}, once
    the thread ends."""
    out = {}

    def run():
        try:
            out["status"] = harness.https_request(
                int(env.ack["listen"].rsplit(":", 1)[1]), "POST",
                "/v1/alerts/%s/ack" % aid,
                headers={"Authorization": "Bearer " + token,
                         "Content-Length": "0"},
                body=b"", cafile=env.cert, timeout=20)[0]
        except OSError as e:
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


@pytest.mark.hard_timeout(120)
def test_an_ack_during_the_stop_is_refused_and_nothing_follows_relay_stop(
        lab):
    """Writes held: a device's location update (gone) holds the stop,
    past its bound, so relay.stop is made while Redis still holds them.
    An acknowledgement attempted during the stop is refused at connect;
    once Redis runs again, the audit trail ends with relay.stop and its
    signed head."""
    env, token = ack_env(lab)
    with stopping_held(lab, env) as (relay, aid):
        t, out = ack_later(env, token, aid)
        relay.proc.wait_for(r"had no answer from Redis within 3000 ms",
                            "stderr", 10)
        # refused at connect while the stop is still held (the relay
        # runs until Redis answers again): an order, not a wall-clock
        # bound (speed is `make bench`'s).  An attempt the relay took
        # would hang here until its 20 s timeout, not be refused.
        t.join(25)
        assert not t.is_alive()
        assert isinstance(out.get("error"), ConnectionRefusedError), out
        assert relay.proc.running(), "refused only once the relay had gone"
    assert relay.proc.wait_exit(20) == 0, relay.log()[-3000:]
    assert "alert.ack" not in nothing_after_relay_stop(env)


@pytest.mark.hard_timeout(120)
def test_an_ack_on_a_connection_opened_before_the_stop_is_refused(lab):
    """A recipient's HTTPS connection to the ack listener, open (TLS
    done) before the SIGTERM, its request sent during the stop: answered
    503 at once (the relay still held in its stop by Redis), the alert
    not acknowledged in Redis, no alert.ack after relay.stop.  Closing
    the listener refuses only new connections.  Before the stop's 503
    (commit 95faafe), such a request was taken: its script waited in
    Redis and it was answered 200 once Redis ran it.  (One request per
    connection (http_guard.h): a connection kept alive from an earlier
    request is no way in, its write side shut after the first answer.)"""
    env, token = ack_env(lab)
    # room for the stop to begin before the request is due (a period
    # of the configuration, not a speed)
    env.ack["request_timeout"] = 120
    env.write_relay_conf()
    conn = http.client.HTTPSConnection(
        "127.0.0.1", int(env.ack["listen"].rsplit(":", 1)[1]), timeout=20,
        context=harness.tls13_context(env.cert))
    try:
        with stopping_held(lab, env, before_stop=conn.connect) as (relay,
                                                                  aid):
            t, out = ack_on(conn, token, aid)
            # answered while the stop is still held (the relay runs
            # until Redis answers again): an order, not a wall-clock
            # bound.  A request the relay took would wait for Redis.
            t.join(25)
            assert not t.is_alive()
            assert out.get("status") == 503, out
            assert relay.proc.running(), "answered once the relay had gone"
    finally:
        conn.close()
    assert relay.proc.wait_exit(20) == 0, relay.log()[-3000:]
    h = harness.Resp(env.redis_port).hgetall("%s:alert:%s" % (
        env.redis["prefix"], aid))
    assert h and h["state"] != "acknowledged" and "acked_by" not in h, h
    assert "alert.ack" not in nothing_after_relay_stop(env)


def ack_on(conn, token, aid):
    """POST .../ack on conn (open) in a thread: (thread, {"status",
    "body"} once it ends, or {"error"})."""
    out = {}

    def run():
        try:
            conn.request("POST", "/v1/alerts/%s/ack" % aid, body=b"",
                         headers={"Authorization": "Bearer " + token,
                                  "Content-Length": "0"})
            r = conn.getresponse()
            out["status"], out["body"] = r.status, r.read()
        except OSError as e:
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


@contextlib.contextmanager
def stopping_held(lab, env, before_stop=None):
    """A relay stopping (SIGTERM), held in its wait by a device's
    location update (the device gone) whose write Redis holds until the
    block ends: (relay, the update's alert id).  before_stop(): called
    once the relay runs, before the SIGTERM."""
    lab.redis(env)
    relay = lab.relay(env, debug=True)
    if before_stop is not None:
        before_stop()
    aid, frame = an_update(env)
    with writes_held(env.redis_port) as r:
        gone_while_held(env, relay, r, frame)
        relay.proc.signal(signal.SIGTERM)
        relay.proc.wait_for(WAITING, "stderr", 10)
        yield relay, aid


def nothing_after_relay_stop(env):
    """The audit actions, once checked that only the signed head follows
    relay.stop."""
    recs = audit_actions(env)
    actions = [x[0] for x in recs]
    after = actions[len(actions) - actions[::-1].index("relay.stop"):]
    assert set(after) <= {"audit.signed"}, recs
    return actions


@pytest.mark.hard_timeout(120)
def test_a_reload_during_the_stop_is_refused(lab):
    """Writes held, so the stop waits: a SIGHUP and an admin POST /reload
    during it are refused ("the relay is stopping"; 503), the admin's
    /healthz says it is shutting down, and no config.reload or
    admin.request follows relay.stop in the audit trail.  Before, the
    SIGHUP's reload was carried out and audited after relay.stop."""
    env, _ = ack_env(lab)
    admin_port = harness.free_port()
    token = harness.new_token()
    env.sections = {"admin": {
        "listen": "127.0.0.1:%d" % admin_port,
        "token_file": harness.write_secret(env.dir / "admin.token", token)}}
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    env.write_relay_conf()
    with stopping_held(lab, env) as (relay, _):
        relay.proc.signal(signal.SIGHUP)
        relay.proc.wait_for(r"reload refused: the relay is stopping",
                            "stderr", 10)
        st, body = admin_request(admin_port, "POST", "/reload", token)
        assert st == 503 and b"stopping" in body, (st, body)
        st, body = admin_request(admin_port, "GET", "/healthz", None)
        assert st == 503 and b"shutting down" in body, (st, body)
    assert relay.proc.wait_exit(20) == 0, relay.log()[-3000:]
    assert "config.reload" not in nothing_after_relay_stop(env)


def admin_request(port, method, path, token):
    """(status, body) of one request to the admin listener."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Length": "0"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        c.request(method, path, body=b"", headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()
