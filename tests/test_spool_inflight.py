"""An alert in the local spool whose first notification is still being
made when Redis comes back (review rv-m2, finding 1).  The spool used to
move the alert into Redis at once, telling it only the notifications
already finished: Redis made the one still under way a second time (a
second SMS at the gateway; here a second webhook with another id), and
the spool's record of the first landed in a file about to be emptied.
Now the alert moves once its own notifications have ended, with their
outcome; a device asking after it meanwhile hears "unavailable" (try
again), not that the relay has no such alert.

Real redis-server (killed and started again), alertrelayd with a spool,
alertctl send, and a webhook receiver that answers its first request
after 4 s."""

import time

import pytest

import harness
from harness import wait_until
from test_spool import send, spool_env

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

HOLD_S = 4
POLICY = {"default": {"types": "panic threat",
                      "tier": ["0 contactpunt:webhook",
                               "600 oncall-1:webhook"],
                      "max_age": 3600}}


def raised(rec, aid):
    return [a for a in rec.snapshot()
            if (a["json"] or {}).get("alert_id") == aid
            and a["json"].get("type") == "alert.raised"]


@pytest.mark.hard_timeout(120)
def test_a_notification_under_way_is_not_made_again_after_the_move(lab):
    env, spool = spool_env(lab, policies=POLICY)
    rec = lab.recorder_for(env, "contactpunt", delays=(HOLD_S,))
    redis = lab.redis(env)
    relay = lab.relay(env)
    redis.kill()
    aid, relay_id = send(lab, env, "under way")
    assert relay_id.startswith("spool-"), relay_id
    # the webhook is being made (the receiver holds it), Redis comes back
    wait_until(lambda: len(raised(rec, aid)) == 1, 10,
               what="the spool's webhook under way")
    redis.start()
    relay.proc.wait_for(r"redis is back: moving 1 spooled", "stderr", 10)
    # asked meanwhile, the relay does not deny an alert it holds
    s = harness.device_session(env)
    ans = s.request({"type": "status", "alert_id": aid}, ("status", "error"))
    assert "moved into redis" not in relay.proc.text("stderr")
    assert ans.get("code") == "unavailable", ans
    wait_until(lambda: "moved into redis" in relay.proc.text("stderr"),
               HOLD_S + 15, what="the alert moved into Redis")
    c = redis.client()
    try:
        key = "%s:alert:%s" % (env.redis["prefix"], aid)
        # Redis has the spool's delivery as made: nothing to make again
        wait_until(lambda: c("HGET", key, "state") == "open", 10,
                   what="the alert in Redis")
        delivered = c("HGET", key, "delivered:contactpunt")
    finally:
        c.close()
    assert delivered, "Redis was not told of the spool's delivery"
    # the one webhook, and no second one from Redis
    relay.proc.wait_for(r"spool emptied", "stderr", 10)
    time.sleep(2)  # Redis's own tier 0 would have gone at the move
    got = raised(rec, aid)
    assert len(got) == 1, [a["headers"].get("webhook-id") for a in got]
