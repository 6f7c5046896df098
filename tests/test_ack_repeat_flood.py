"""A leaked recipient token (or SMS replies from its number) repeating an
acknowledgement, against a real alertrelayd with Redis and Kannel
(harness.sms_stack): the alert's events, the device's receipts, the
audit log and the log stay bounded, and the device's status answers.

  - hundreds of repeated acknowledgements by the same recipient add no
    event or receipt, and no audit record beyond its first repeat's
    (counted in the alert's ack_repeats), each still answered 200; another recipient's
    acknowledgement after the first is recorded once;
  - refusals a token can repeat at will ("not on that alert", a bad
    signed statement) are logged and audited once a minute per
    recipient, not once per request;
  - SMS repeats of "OK <ref>" add nothing either, and no longer give
    their failure token back (the number's bucket bounds them);
  - a status of an alert whose events list grew long (a relay of before
    recording each repeat) answers with the newest events and says how
    many it left out; one whose answer cannot fit gets an error frame,
    not silence.

Before the fix, each repeat added an event, a receipt, an audit record
and a log line, and status got no answer at all past ~470 events: every
test here fails on the old code.
"""

import http.client
import itertools
import json
import os
import re
import urllib.parse

import pytest

import harness
from harness import SMS_NUMBERS, sms_stack, tls13_context, wait_until

BOTH = ("contactpunt", "oncall-1")
REPEATS = 300
# What is bounded here is what each request leaves behind, not their
# rate (test_ack_rate.py): a bucket the repeats never empty.
NO_RATE = {"recipient_burst": 10000, "recipient_rate": 1000}


class Client:
    """Requests as a flood sends them: on kept-alive connections, each new
    one from another loopback address (the listener limits new
    connections per address)."""
    addrs = ("127.0.6.%d" % i for i in itertools.cycle(range(1, 255)))

    def __init__(self, port, cafile=None):
        self.port, self.conn = port, None
        self.ctx = tls13_context(cafile) if cafile else None

    def request(self, method, path, headers=None, body=b""):
        for _ in range(3):
            if self.conn is None:
                cls = (http.client.HTTPSConnection if self.ctx else
                       http.client.HTTPConnection)
                kw = {"context": self.ctx} if self.ctx else {}
                self.conn = cls("127.0.0.1", self.port, timeout=20,
                                source_address=(next(self.addrs), 0), **kw)
            try:
                self.conn.request(method, path, body=body,
                                  headers=dict(headers or {}))
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, json.loads(raw) if raw else None
            except (OSError, http.client.HTTPException):
                self.close()
        raise AssertionError("no answer from 127.0.0.1:%d" % self.port)

    def ack(self, aid, token, body=b""):
        return self.request("POST", "/v1/alerts/%s/ack" % aid,
                            {"Authorization": "Bearer " + token}, body)

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def policies(tier):
    return {"default": {"types": "panic threat", "tier": [tier],
                        "max_age": 3600}}


def audit_acks(st):
    """The alert.ack audit records in Redis: [(result, reason)]."""
    c = st.r()
    try:
        out = []
        for k in c("KEYS", st.prefix + ":audit:*"):
            if c("TYPE", k) != "stream":
                continue
            for _, f in c.xrange(k):
                rec = json.loads(f["r"])
                if rec.get("action") == "alert.ack":
                    out.append(rec)
        return out
    finally:
        c.close()


def ctl(lab, st, *args):
    argv = [harness.alertctl_bin(), "-c", st.env.client_conf] + list(args)
    cp = harness.run(argv, timeout=40)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def status(s, aid):
    return s.request({"type": "status", "alert_id": aid},
                     ("status", "error"), timeout=20)


def acked(st, aid):
    return [e for e in st.events(aid) if e["event"] == "acknowledged"]


@pytest.mark.hard_timeout(240)
def test_repeated_https_acks_add_nothing(lab):
    """300 repeats by contactpunt, 20 acknowledgements by oncall-1 after
    it: two events, two receipts; four audit records and log lines (each
    one's acknowledgement and its first repeat, which says that a retry
    after a 503 found it taken), one line of the other repeats each;
    each answered 200 "first": false."""
    st = sms_stack(lab, policies("0 contactpunt:webhook oncall-1:webhook"),
                   tokens=BOTH, sms=(), ack=NO_RATE)
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    tok = st.tokens["contactpunt"]
    cl = Client(st.ack_port, st.env.cert)
    code, body = cl.ack(aid, tok)
    assert code == 200 and body["first"] is True, body
    for _ in range(REPEATS):
        code, body = cl.ack(aid, tok)
        assert (code, body["first"]) == (200, False), body
    # another recipient: once recorded, its repeats not
    for i in range(20):
        code, body = cl.ack(aid, st.tokens["oncall-1"])
        assert (code, body["first"]) == (200, False), body
    evs = acked(st, aid)
    assert [(e["by"], e["first"]) for e in evs] == [
        ("Contactpunt", True), (evs[1]["by"], False)], len(evs)
    assert len(st.events(aid)) < 10, st.events(aid)
    h = st.alert_hash(aid)
    assert h["ack_repeats"] == str(REPEATS + 19), h
    # the status answers; the receipts the device got are the two
    # acknowledgements recorded (oncall-1's came after every repeat)
    s.wait_receipt(aid, "acknowledged", first=False)
    ans = status(s, aid)
    assert ans["type"] == "status" and ans["state"] == "acknowledged", ans
    assert len(s.receipts(aid, "acknowledged")) == 2, s.receipts(aid)
    recs = audit_acks(st)
    assert len(recs) == 4, recs
    # the repeats' log lines: one a minute per recipient
    st.relay.proc.wait_for(r"acknowledged again .*recipient=oncall-1")
    log = st.relay.log()
    assert len(re.findall(r"acknowledged again .*recipient=contactpunt",
                          log)) == 1, log
    assert len(re.findall(r"acknowledged alert=", log)) == 4, log


@pytest.mark.hard_timeout(240)
def test_refused_acks_are_budgeted(lab):
    """oncall-1's token, not on the alert: 300 refusals (that alert and
    others) and 50 malformed statements are one log line and one audit
    record each kind."""
    st = sms_stack(lab, policies("0 contactpunt:webhook"), tokens=BOTH,
                   sms=(), ack=NO_RATE)
    s = st.session()
    aid = s.send_alert("panic", recipients=["contactpunt"])["alert_id"]
    tok = st.tokens["oncall-1"]
    cl = Client(st.ack_port, st.env.cert)
    for i in range(REPEATS):
        target = aid if i % 2 else os.urandom(16).hex()
        code, body = cl.ack(target, tok)
        assert code == 404, body
    # a statement that does not parse: refused before Redis
    for _ in range(50):
        code, body = cl.ack(aid, tok, b'{"statement":"x"}')
        assert code == 400, body
    code, body = cl.ack(aid, st.tokens["contactpunt"])
    assert code == 200 and body["first"] is True, body
    st.relay.proc.wait_for(r"acknowledged alert=%s" % aid)
    log = st.relay.log()
    assert len(re.findall(r"recipient=oncall-1 .*not on that alert",
                          log)) == 1, log
    assert len(re.findall(r"recipient=oncall-1: statement malformed",
                          log)) == 1, log
    recs = [r for r in audit_acks(st) if r.get("result") == "refused"]
    assert len(recs) == 1, recs
    assert st.alert_hash(aid)["state"] == "acknowledged"


@pytest.mark.hard_timeout(240)
def test_repeated_sms_acks_add_nothing(lab):
    """30 replies "OK <ref>" from the recipient's number: one event and
    receipt, two audit records (the first and its first repeat); the
    other repeats, unrefunded, run into the number's bucket."""
    st = sms_stack(lab, policies("0 contactpunt:sms"), tokens=(),
                   sms=("contactpunt",))
    s = st.session()
    acc = s.send_alert("panic", recipients=["contactpunt"])
    aid = acc["alert_id"]
    st.sms.wait(1, timeout=10)
    wait_until(lambda: st.alert_hash(aid).get("ndelivered") == "1", 10,
               what="the SMS recorded")
    cl = Client(st.plain_port)
    q = urllib.parse.urlencode({"from": SMS_NUMBERS["contactpunt"],
                                "text": "OK " + acc["ref"]})
    codes = [cl.request("GET", "/v1/sms/kannel?" + q,
                        {"X-Alertrelay-Token": st.mo_token})[0]
             for _ in range(30)]
    assert codes[0] == 200, codes
    # repeats are answered as before until the number's failure bucket
    # (5 by default) is empty; then not looked at
    assert set(codes[1:]) <= {200, 429} and 429 in codes, codes
    assert len(acked(st, aid)) == 1, st.events(aid)
    assert len(audit_acks(st)) == 2, audit_acks(st)
    s.wait_receipt(aid, "acknowledged", first=True)
    ans = status(s, aid)
    assert ans["type"] == "status", ans
    assert len(s.receipts(aid, "acknowledged")) == 1, s.receipts(aid)


def push_events(st, aid, n, pad):
    """n events in the alert's list, as a relay of before that recorded
    each repeated acknowledgement would leave it."""
    c = st.r()
    try:
        e = json.dumps({"event": "acknowledged", "by": "Contactpunt",
                        "channel": "https", "at": "2026-01-01T00:00:00Z",
                        "first": False, "attested": "relay",
                        "note": "x" * pad})
        for i in range(0, n, 500):
            c("RPUSH", "%s:events:%s" % (st.prefix, aid),
              *([e] * min(500, n - i)))
    finally:
        c.close()


@pytest.mark.hard_timeout(180)
def test_status_of_a_long_history_answers(lab):
    """5,000 events: the newest 200 and events_omitted; long ones: as
    many as fit in max_frame."""
    st = sms_stack(lab, policies("0 contactpunt:webhook"), tokens=BOTH,
                   sms=(), ack=NO_RATE)
    s = st.session()
    aid = s.send_alert("panic", recipients=["contactpunt"])["alert_id"]
    push_events(st, aid, 5000, 0)
    ans = status(s, aid)
    assert ans["type"] == "status", ans
    assert len(ans["events"]) == 200, len(ans["events"])
    assert ans["events_omitted"] == len(st.events(aid)) - 200, ans
    cp = ctl(lab, st, "status", aid)
    assert cp.returncode == 0, cp.stderr
    assert "(%d earlier events not shown)" % ans["events_omitted"] \
        in cp.stdout, cp.stdout
    # events too long for 200 in a frame: the oldest go too
    aid2 = s.send_alert("panic", recipients=["contactpunt"])["alert_id"]
    push_events(st, aid2, 300, 2000)
    ans = status(s, aid2)
    assert ans["type"] == "status", ans
    assert 0 < len(ans["events"]) < 40, len(ans["events"])
    assert ans["events_omitted"] == len(st.events(aid2)) - len(ans["events"])
    # the relay's own next event keeps the list at its bound
    code, _ = st.ack(aid, st.tokens["contactpunt"])
    assert code == 200
    assert len(st.events(aid)) == 2000


@pytest.mark.hard_timeout(180)
def test_status_too_large_is_an_error_frame(lab):
    """What is not events cannot be cut: an answer that still does not
    fit is an error frame, where the old code sent nothing."""
    st = sms_stack(lab, policies("0 contactpunt:webhook"), tokens=BOTH,
                   sms=(), ack=NO_RATE)
    s = st.session()
    aid = s.send_alert("panic", recipients=["contactpunt"])["alert_id"]
    c = st.r()
    try:
        u = json.dumps({"recipient": "x" * 1000, "channel": "sms",
                        "reason": "r", "since": "2026-01-01T00:00:00Z",
                        "retrying": False})
        for i in range(100):
            c("HSET", "%s:unreached:%s" % (st.prefix, aid), "r%d|sms" % i, u)
    finally:
        c.close()
    ans = status(s, aid)
    assert ans["type"] == "error" and ans["code"] == "too_large", ans
    assert ans.get("alert_id") == aid, ans
    cp = ctl(lab, st, "status", aid)
    assert cp.returncode != 0 and "does not fit" in cp.stderr, (
        cp.returncode, cp.stdout, cp.stderr)
