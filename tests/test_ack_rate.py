"""The per-recipient rate of HTTPS requests on the ack listener
([ack] recipient_burst, recipient_rate; daemon/ack_rate.h), against a
real alertrelayd with Redis: a leaked token's flood of repeated
acknowledgements and inbox reads, from many loopback addresses, is
answered 429 with a short Retry-After once its bucket is empty, costs
Redis no more scripts than the bucket lets through, is logged once, and
another recipient's acknowledgement meanwhile is taken at once.

Before the limit every request ran its Redis script (answered 200): the
test fails on the old code.
"""

import http.client
import itertools
import json
import re
import time

import pytest

from harness import sms_stack, tls13_context

BOTH = ("contactpunt", "oncall-1")
FLOOD = 300
BURST, RATE = 30, 5  # the defaults
# scripts the relay runs on its own meanwhile (escalation, supervision)
SLACK = 20


class Client:
    """Requests on kept-alive connections, a new one (from the next
    loopback address) every few requests."""
    addrs = ("127.0.7.%d" % i for i in itertools.cycle(range(1, 255)))

    def __init__(self, port, cafile):
        self.port, self.conn, self.used = port, None, 0
        self.ctx = tls13_context(cafile)

    def request(self, method, path, token):
        for _ in range(3):
            if self.conn is None or self.used >= 10:
                self.close()
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, timeout=20, context=self.ctx,
                    source_address=(next(self.addrs), 0))
            try:
                self.conn.request(method, path, body=b"", headers={
                    "Authorization": "Bearer " + token})
                r = self.conn.getresponse()
                raw = r.read()
                self.used += 1
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return (r.status, json.loads(raw) if raw else None,
                        r.getheader("Retry-After"))
            except (OSError, http.client.HTTPException):
                self.close()
        raise AssertionError("no answer from 127.0.0.1:%d" % self.port)

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = None, 0


def evalsha_calls(st):
    c = st.r()
    try:
        info = c("INFO", "commandstats")
    finally:
        c.close()
    return sum(int(n) for n in re.findall(
        r"cmdstat_(?:evalsha|eval):calls=(\d+)", info))


@pytest.mark.hard_timeout(240)
def test_a_leaked_tokens_flood_is_limited(lab):
    st = sms_stack(lab, {"default": {
        "types": "panic threat", "tier": ["0 contactpunt:webhook "
                                          "oncall-1:webhook"],
        "max_age": 3600}}, tokens=BOTH, sms=())
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    tok = st.tokens["contactpunt"]
    cl = Client(st.ack_port, st.env.cert)
    status, body, _ = cl.request("POST", "/v1/alerts/%s/ack" % aid, tok)
    assert status == 200 and body["first"] is True, body
    before, t0 = evalsha_calls(st), time.monotonic()
    answers, other = [], None
    for i in range(FLOOD):
        if i % 5 == 4:
            answers.append(cl.request("GET", "/v1/inbox", tok))
        else:
            answers.append(cl.request(
                "POST", "/v1/alerts/%s/ack" % aid, tok))
        if other is None and answers[-1][0] == 429:
            # meanwhile another recipient's acknowledgement is taken
            other = Client(st.ack_port, st.env.cert).request(
                "POST", "/v1/alerts/%s/ack" % aid, st.tokens["oncall-1"])
    elapsed = time.monotonic() - t0
    ran = evalsha_calls(st) - before
    ok = [a for a in answers if a[0] == 200]
    limited = [a for a in answers if a[0] == 429]
    assert len(ok) + len(limited) == FLOOD, [
        a for a in answers if a[0] not in (200, 429)]
    allowed = BURST + RATE * elapsed
    assert limited and len(ok) <= allowed, (len(ok), elapsed)
    assert ran <= allowed + 1 + SLACK, (ran, elapsed)
    for _, body, retry in limited:
        assert body == {"error": "too many requests, try again",
                        "code": "rate_limited"}, body
        assert retry is not None and 1 <= int(retry) <= 2, retry
    assert other is not None and other[0] == 200, other
    assert other[1]["alert_id"] == aid, other
    # logged once a minute per recipient, not per request
    st.relay.proc.wait_for(r"over recipient_rate")
    log = st.relay.log()
    assert len(re.findall(r"recipient=contactpunt over recipient_rate",
                          log)) == 1, log
    assert tok not in log
