"""An alert whose hash in Redis lacks a field the escalation reads
(received_ms, recipients: damaged, restored in part, edited by hand)
does not take the relay down when its next tier comes: before, the relay
passed the missing received_ms to strtoll() and a missing recipients
list to strstr(), and died of SIGSEGV (found in the audit of
fuzz/README.md).  Now the tier still fires: timed from now without
received_ms, by SMS only (no webhook, which needs the sealed box's
recipients) without recipients.

A real alertrelayd, redis-server and Python webhook receivers.
"""

import time

import pytest

import harness
from harness import wait_until

pytestmark = pytest.mark.needs("alertrelayd")

POLICIES = {"default": {"types": "panic threat",
                        "tier": ["0 contactpunt:webhook",
                                 "2 oncall-1:webhook"]},
            "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


def hooks(rec, aid, event):
    return [a for a in rec.snapshot()
            if a["json"] and a["json"].get("alert_id") == aid and
            a["json"].get("type") == event]


def events(redis, aid):
    c = redis.client()
    try:
        return [e for e in c("LRANGE", "alertrelay:events:" + aid, 0, -1)]
    finally:
        c.close()


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("field", ["received_ms", "recipients"])
def test_next_tier_of_a_damaged_alert(lab, field):
    env = lab.env()
    env.policies = POLICIES
    recs = {}
    for rid, r in env.recipients.items():
        recs[rid] = lab.recorder(r.secret_text)
        r.webhook_port = recs[rid].port
    env.write_relay_conf()
    redis = lab.redis(env)
    relay = lab.relay(env)
    s = harness.device_session(env)
    aid = s.send_alert("panic")["alert_id"]
    wait_until(lambda: hooks(recs["contactpunt"], aid, "alert.raised"), 10,
               what="tier 0 at the contact point")
    c = redis.client()
    try:
        assert c("HDEL", "alertrelay:alert:" + aid, field) == 1
    finally:
        c.close()
    t0 = time.monotonic()
    wait_until(lambda: not relay.proc.running() or
               any('"escalated"' in e for e in events(redis, aid)),
               10, what="tier 1 fired")
    assert relay.proc.running(), "the relay died at tier 1: %s" % (
        relay.proc.popen.returncode)
    if field == "received_ms":
        (oc,) = wait_until(lambda: hooks(recs["oncall-1"], aid,
                                         "alert.escalated"), 10,
                           what="tier 1 at oncall-1")
        assert oc["sig_ok"]
        relay.proc.wait_for(r"received_ms is missing", "stderr", 10)
    assert time.monotonic() - t0 < 10
    # the relay still takes alerts
    later = s.send_alert("panic")["alert_id"]
    assert later != aid
    if field == "recipients":
        # no webhook for the damaged alert's tier 1: not "none within a
        # short sleep" but none before the later alert's tier 1 at
        # oncall-1, which fell due after it had fired
        wait_until(lambda: hooks(recs["oncall-1"], later, "alert.escalated"),
                   10, what="the later alert's tier 1 at oncall-1")
        assert hooks(recs["oncall-1"], aid, "alert.escalated") == []
    assert relay.proc.running(), relay.log()
