"""Issue 10, items 5 and 7: attacks on acknowledgements and on the admin
listener, each by a real client against a real alertrelayd (with Redis
and, for SMS, Kannel; harness.sms_stack).

  - a recipient's valid token for an alert it was not on is refused
    like an alert that does not exist, and the alert stays open;
  - guessing SMS references is cut off by the limits of failed replies
    per number and per gateway, and the owner of the number can
    acknowledge again once a token has come back (sms_fail_interval);
    guesses from spoofed numbers that empty the gateway's bucket do not
    lock out a number that has not failed;
  - the gateway's MO token is taken from a header, refused in the URL
    query unless [gateway] mo_token_in_query = yes says so;
  - the admin listener refuses a Host that is not its own (DNS
    rebinding) and POST /reload without [admin] token_file's token.
"""

import http.client
import os
import re
import signal
import socket
import time
import urllib.parse

import pytest

import harness
from harness import SMS_NUMBERS, alertctl_bin, free_port, sms_stack, \
    wait_until, write_secret

CP, OC = SMS_NUMBERS["contactpunt"], SMS_NUMBERS["oncall-1"]
BOTH = ("contactpunt", "oncall-1")


def policies(*tiers):
    return {"default": {"types": "panic threat", "tier": list(tiers),
                        "max_age": 3600}}


def plain(port, method, path, headers=None, body=None, host=None):
    """One plain HTTP request to 127.0.0.1:port: (status, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if host is None:
            c.request(method, path, body=body, headers=headers or {})
        else:
            c.putrequest(method, path, skip_host=True)
            c.putheader("Host", host)
            for k, v in (headers or {}).items():
                c.putheader(k, v)
            if body is not None:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def mo(st, number, text, **headers):
    """What the gateway sends for an SMS from number, straight at the
    plain listener, with the MO token in X-Alertrelay-Token (unless
    headers say otherwise): the HTTP status."""
    if not headers:
        headers = {"X-Alertrelay-Token": st.mo_token}
    q = urllib.parse.urlencode({"from": number, "text": text})
    status, _ = plain(st.plain_port, "GET", "/v1/sms/kannel?" + q,
                      headers=headers)
    return status


def guess(n):
    """n references that are no alert's (one letter of each differs from
    any real one with overwhelming odds)."""
    alpha = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return ["".join(alpha[b & 31] for b in os.urandom(8)) for _ in range(n)]


# ====================================================== item 5: HTTPS ack


@pytest.mark.hard_timeout(90)
def test_token_of_a_recipient_not_on_the_alert_is_refused(lab):
    """oncall-1 holds a valid ack token, but the alert was addressed to
    contactpunt only (and no tier reached oncall-1): its ack is refused
    with the same answer as an alert that does not exist, and the alert
    stays open.  Before the fix this answered 200 and closed the alert."""
    st = sms_stack(lab, policies("0 contactpunt:webhook"), tokens=BOTH,
                   sms=())
    s = st.session()
    acc = s.send_alert("panic", recipients=["contactpunt"])
    aid = acc["alert_id"]
    st.wait_webhook("contactpunt", "alert.raised", aid)

    status, body = st.ack(aid, st.tokens["oncall-1"])
    status_none, body_none = st.ack(os.urandom(16).hex(), st.tokens["oncall-1"])
    assert (status, body) == (404, {"error": "no such alert"}), (status, body)
    assert (status_none, body_none) == (status, body), "tells them apart"
    h = st.alert_hash(aid)
    assert h["state"] == "open" and "acked_by" not in h, h
    assert [e for e in st.events(aid) if e["event"] == "acknowledged"] == []
    assert s.receipts(aid, "acknowledged") == []

    # the control: the recipient it was addressed to can
    status, body = st.ack(aid, st.tokens["contactpunt"])
    assert status == 200 and body["first"] is True, body
    # and oncall-1 still cannot, now that it is acknowledged
    status, body = st.ack(aid, st.tokens["oncall-1"])
    assert status == 404, body
    assert st.alert_hash(aid)["acked_by"] == "Contactpunt"


# ================================================= item 5: SMS references


def limited_stack(lab, tiers, **ack):
    st = sms_stack(lab, policies(*tiers), tokens=(), start=False)
    st.env.ack.update(ack)
    st.env.write_relay_conf()
    st.relay.start()
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % st.plain_port,
                           "stderr", 10)
    return st


def alarm_to_both(st):
    """A panic alert whose SMS to both phones are out and recorded: (alert
    id, reference)."""
    acc = st.session().send_alert("panic")
    aid = acc["alert_id"]
    st.sms.wait(2, timeout=10)
    wait_until(lambda: st.alert_hash(aid).get("ndelivered") == "2", 10,
               what="both SMS recorded")
    return aid, acc["ref"]


@pytest.mark.hard_timeout(120)
def test_guessing_sms_references_is_cut_off(lab):
    """Failed ACK replies cost tokens: per number (burst 3, one back every
    2 s here) and per gateway (burst 5, one back every 3 s).  Over the
    limit, replies are not looked at (429), even a right one; logged once,
    not per reply.  Once the number's bucket refills, its owner's right
    reply acknowledges.  Before the fix every guess was looked at (404
    each, no 429) and references were 4 letters (20 bits)."""
    st = limited_stack(lab, ("0 contactpunt:sms oncall-1:sms",),
                       sms_fail_burst=3, sms_fail_interval=2,
                       gateway_fail_burst=5, gateway_fail_interval=3)
    aid, ref = alarm_to_both(st)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", ref), ref

    # the number: 3 failures looked at, then cut off
    codes = [mo(st, CP, "ACK " + g) for g in guess(12)]
    assert codes[:3] == [404] * 3 and codes[3:] == [429] * 9, codes
    # the right reference from that number is not looked at either now
    assert mo(st, CP, "ACK " + ref) == 429
    assert st.alert_hash(aid)["state"] == "open"
    # the gateway: 2 more failures (from another recipient's number) and
    # it is over its limit too, whatever the number
    codes = [mo(st, OC, "ACK " + g) for g in guess(6)]
    assert codes[:2] == [404] * 2 and codes[2:] == [429] * 4, codes
    # numbers nobody was sent a reference cost nothing and guess nothing
    assert mo(st, "+31699999999", "ACK " + ref) == 404

    # the relay's stderr reaches the harness through a pipe, after the
    # answers: wait for the lines before counting them
    st.relay.proc.wait_for(r"from recipient=contactpunt over the limit")
    st.relay.proc.wait_for(r"via kannel over the limit")
    log = st.relay.log()
    assert len(re.findall(r"from recipient=contactpunt over the limit", log)) == 1, log
    assert len(re.findall(r"via kannel over the limit", log)) == 1, log
    assert len(log.splitlines()) < 200

    # the owner, once the buckets have a token again
    time.sleep(3.2)
    assert mo(st, CP, "ACK " + ref) == 200
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and h["acked_channel"] == "sms", h
    # a success gives its token back: the next good reply is looked at
    assert mo(st, CP, "ack %s-%s" % (ref[:4].lower(), ref[4:])) == 200


@pytest.mark.hard_timeout(90)
def test_parallel_guesses_do_not_slip_past_the_limit(lab):
    """Replies sent at once, before Redis answered any of them: each takes
    its token before it is looked at, so no more than the burst are."""
    # 20 connections at once from one address: above the listener's
    # per-address cap (a different defence, test_hostile_guard.py), so
    # raise it here to reach the limit this test is about.
    st = limited_stack(lab, ("0 contactpunt:sms",), sms_fail_burst=3,
                       sms_fail_interval=600, max_connections_per_address=32)
    socks = []
    for g in guess(20):
        q = urllib.parse.urlencode({"from": CP, "text": "ACK " + g})
        c = socket.create_connection(("127.0.0.1", st.plain_port), 5)
        c.sendall(("GET /v1/sms/kannel?%s HTTP/1.1\r\nHost: x\r\n"
                   "X-Alertrelay-Token: %s\r\nConnection: close\r\n\r\n"
                   % (q, st.mo_token)).encode())
        socks.append(c)
    codes = []
    for c in socks:
        data = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            data += b
        c.close()
        codes.append(int(data.split()[1]))
    assert sorted(codes) == [404] * 3 + [429] * 17, codes


@pytest.mark.hard_timeout(120)
def test_spoofed_numbers_do_not_lock_out_a_right_reply(lab):
    """Guesses from oncall-1's number (spoofed) empty the gateway's bucket
    (burst 4, no refill within the test).  contactpunt, whose number has
    not failed, is still looked at: its right OK <ref> acknowledges.
    Guessing stays bounded: oncall-1's number, which failed, is not
    looked at while the gateway's bucket is empty, and contactpunt's gets
    one look after its success, not more.  Before the fix contactpunt's
    right reply got 429 and the alert stayed open."""
    st = limited_stack(lab, ("0 contactpunt:sms oncall-1:sms",),
                       sms_fail_burst=5, sms_fail_interval=600,
                       gateway_fail_burst=4, gateway_fail_interval=600)
    aid, ref = alarm_to_both(st)

    codes = [mo(st, OC, "OK " + g) for g in guess(6)]
    assert codes == [404] * 4 + [429] * 2, codes
    # even oncall-1's right reference: that number failed lately
    assert mo(st, OC, "OK " + ref) == 429
    assert st.alert_hash(aid)["state"] == "open"

    assert mo(st, CP, "OK " + ref) == 200
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and h["acked_rid"] == "contactpunt", h
    # the gateway's bucket is still empty: one guess from contactpunt's
    # number is looked at, the next is not
    codes = [mo(st, CP, "OK " + g) for g in guess(3)]
    assert codes == [404, 429, 429], codes
    st.relay.proc.wait_for(r"via kannel over the limit")


# ====================================================== item 5: MO token


@pytest.mark.hard_timeout(120)
def test_mo_token_in_a_header_not_in_the_query(lab):
    """The gateway's token in X-Alertrelay-Token, Authorization: Bearer or
    Basic is taken; in the URL query (which access logs keep) it is
    refused by default, and taken, with a warning, only with
    mo_token_in_query = yes.  Before the fix the query was the only way
    and the header was ignored."""
    st = sms_stack(lab, policies("0 contactpunt:sms"), tokens=())
    s = st.session()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    st.sms.wait(1, timeout=10)
    wait_until(lambda: st.alert_hash(aid).get("ndelivered") == "1", 10,
               what="SMS recorded")
    q = urllib.parse.urlencode({"from": CP, "text": "ACK " + guess(1)[0]})
    path = "/v1/sms/kannel?" + q

    # the token in the query, even the right one: refused by default
    assert plain(st.plain_port, "GET", path + "&token=" + st.mo_token)[0] == 403
    st.relay.proc.wait_for(r"token in the URL query")
    # in a header: looked at (a wrong reference: 404, not 403)
    import base64
    basic = base64.b64encode(("kannel:" + st.mo_token).encode()).decode()
    for h in ({"X-Alertrelay-Token": st.mo_token},
              {"Authorization": "Bearer " + st.mo_token},
              {"Authorization": "Basic " + basic}):
        assert plain(st.plain_port, "GET", path, headers=h)[0] == 404, h
    # a wrong one in a header: refused
    bad = base64.b64encode(b"kannel:" + b"x" * 32).decode()
    for h in ({"X-Alertrelay-Token": st.mo_token[:-1]},
              {"Authorization": "Bearer " + "x" * 32},
              {"Authorization": "Basic " + bad},
              {"Authorization": st.mo_token}):
        assert plain(st.plain_port, "GET", path, headers=h)[0] == 403, h
    # a POSTed form carries it in the body, out of the URL: taken
    form = urllib.parse.urlencode({"from": CP, "text": "ACK " + ref,
                                   "token": st.mo_token})
    assert plain(st.plain_port, "POST", "/v1/sms/kannel", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}
                 )[0] == 200
    assert st.alert_hash(aid)["state"] == "acknowledged"
    assert st.mo_token not in st.relay.log()

    # the operator says so: the query is taken, with a warning
    st.env.gateways["kannel"]["mo_token_in_query"] = "yes"
    st.env.write_relay_conf()
    n = len(st.relay.proc.snapshot("stderr"))
    st.relay.proc.signal(signal.SIGHUP)
    st.relay.proc.wait_for(r"reloaded", "stderr", timeout=10, start=n)
    q = urllib.parse.urlencode({"from": CP, "text": "ACK " + ref,
                                "token": st.mo_token})
    assert plain(st.plain_port, "GET", "/v1/sms/kannel?" + q)[0] == 200
    st.relay.proc.wait_for(r"carry the token in the URL query", start=n)


# ========================================================= item 7: admin


def admin_relay(lab, token=True, mode=0o600):
    env = lab.env()
    port = free_port()
    lines = ["", "[admin]", "listen = 127.0.0.1:%d" % port]
    tok = None
    if token:
        tok = harness.new_token()
        path = write_secret(env.dir / "admin.token", tok)
        os.chmod(path, mode)
        lines.append("token_file = %s" % path)
    with open(env.relay_conf, "a") as f:
        f.write("\n".join(lines) + "\n")
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"admin listening on 127\.0\.0\.1:%d" % port,
                        timeout=10)
    return env, relay, port, tok


@pytest.mark.hard_timeout(60)
def test_admin_refuses_a_foreign_host(lab):
    """A page on evil.example whose name now resolves to 127.0.0.1 (DNS
    rebinding) sends Host: evil.example: refused (421) on every path,
    /reload even with the right token.  Before the fix it got /metrics
    and could reload."""
    env, relay, port, tok = admin_relay(lab)
    auth = {"Authorization": "Bearer " + tok}
    for host in ("evil.example", "evil.example:%d" % port,
                 "127.0.0.1:%d" % (port + 1 if port < 65535 else port - 1),
                 "127.0.0.1.evil.example:%d" % port, "localhost.:%d" % port,
                 "", "[::1]:%d" % port):
        for method, path in (("GET", "/metrics"), ("GET", "/healthz")):
            assert plain(port, method, path, host=host)[0] == 421, (host, path)
        assert plain(port, "POST", "/reload", headers=auth, body=b"",
                     host=host)[0] == 421, host
    # no Host at all (HTTP/1.0)
    with socket.create_connection(("127.0.0.1", port), 5) as c:
        c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        assert c.recv(64).split()[1] == b"421"
    relay.proc.wait_for(r"refused a request for another Host")
    time.sleep(0.3)  # a second line, if there were one, would be in by now
    n = relay.log().count("refused a request for another Host")
    assert n == 1, "logged once a minute, not once per request: %d" % n
    # its own names
    for host in ("127.0.0.1:%d" % port, "localhost:%d" % port,
                 "LOCALHOST:%d" % port, "127.0.0.1"):
        assert plain(port, "GET", "/healthz", host=host)[0] == 200, host
    assert plain(port, "GET", "/metrics")[0] == 200


@pytest.mark.hard_timeout(60)
def test_admin_reload_needs_the_token(lab):
    """POST /reload without a token, with a wrong one, with the right one;
    alertctl reload with --token-file, without, with a file others can
    read.  Before the fix any local process (or page) could reload."""
    env, relay, port, tok = admin_relay(lab)
    for h in ({}, {"Authorization": "Bearer " + tok[:-1]},
              {"Authorization": "Bearer " + tok + "x"},
              {"Authorization": "Basic " + tok}, {"Authorization": tok}):
        status, body = plain(port, "POST", "/reload", headers=h, body=b"")
        assert status == 401, (h, status, body)
    assert "reloaded" not in relay.log()
    status, body = plain(port, "POST", "/reload", body=b"",
                         headers={"Authorization": "Bearer " + tok})
    assert status == 200 and '"ok":true' in body, body
    # the good one's line in: the refused ones, before it, reloaded nothing
    relay.proc.wait_for(r"configuration reloaded", "stderr", 10)
    assert relay.log().count("reloaded") == 1, relay.log()
    assert tok not in relay.log()

    ctl = [alertctl_bin(), "reload", "--admin", "127.0.0.1:%d" % port]
    cp = harness.run(ctl, timeout=30)
    assert cp.returncode == 1 and "--token-file" in cp.stderr, cp.stderr
    cp = harness.run(ctl + ["--token-file", env.dir / "admin.token"],
                     timeout=30)
    assert cp.returncode == 0 and "reloaded" in cp.stdout, cp.stderr
    loose = write_secret(env.dir / "loose.token", tok)
    os.chmod(loose, 0o644)
    cp = harness.run(ctl + ["--token-file", loose], timeout=30)
    assert cp.returncode == 1, cp.stdout
    assert tok not in cp.stdout + cp.stderr


@pytest.mark.hard_timeout(60)
def test_admin_reload_refused_without_a_token_file(lab):
    """No [admin] token_file: POST /reload is refused (403) whatever is
    sent; /metrics and /healthz stay open on loopback."""
    env, relay, port, _ = admin_relay(lab, token=False)
    assert plain(port, "POST", "/reload", body=b"",
                 headers={"Authorization": "Bearer " + "x" * 32})[0] == 403
    assert plain(port, "GET", "/healthz")[0] == 200
    relay.proc.wait_for(r"no \[admin\] token_file")


@pytest.mark.hard_timeout(60)
def test_admin_token_file_others_can_read_is_refused(lab):
    """A token file group or others can read stops alertrelayd -t, as
    every secret file does."""
    env = lab.env()
    path = write_secret(env.dir / "admin.token", harness.new_token())
    os.chmod(path, 0o640)
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                % (free_port(), path))
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", env.relay_conf],
                     timeout=30)
    assert cp.returncode != 0, cp.stdout + cp.stderr
    assert "token_file" in cp.stdout + cp.stderr
