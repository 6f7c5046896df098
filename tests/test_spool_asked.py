"""A device asking after an alert this relay holds in its local spool
while Redis is up but does not take it yet (review rv-edges, minor):
Redis does not know the alert, and the relay used to pass that on as
`unknown_alert`, which the official's client takes as the relay's final
word about an alert the relay has accepted.  Now status, cancel and
position updates of it are answered `unavailable` (try again), and once
the alert is in Redis, Redis answers.

Real redis-server (refusing writes through maxmemory, as when full),
alertrelayd with a spool, alertctl send, a device session."""

import pytest

import harness
from test_spool import escalating_spool_stack, in_redis, send

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


@pytest.mark.hard_timeout(90)
def test_status_of_a_spooled_alert_is_unavailable_not_unknown(lab):
    env, spool, recs, relay, r = escalating_spool_stack(lab)
    r("CONFIG", "SET", "maxmemory-policy", "noeviction")
    r("CONFIG", "SET", "maxmemory", "1")
    aid, relay_id = send(lab, env, "spooled, asked after")
    assert relay_id.startswith("spool-"), relay_id
    relay.proc.wait_for(r"spool: moving alert=%s into redis failed" % aid,
                        "stderr", 10)
    s = harness.device_session(env)
    ans = s.request({"type": "status", "alert_id": aid}, ("status", "error"))
    assert in_redis(r, env, aid) is None
    assert ans.get("code") == "unavailable", ans
    assert "spool" in ans.get("message", ""), ans
    # an alert the relay has never seen is still unknown
    other = "0123456789abcdef0123456789abcdef"
    ans = s.request({"type": "status", "alert_id": other},
                    ("status", "error"))
    assert ans.get("code") == "unknown_alert", ans
    r("CONFIG", "SET", "maxmemory", "0")
    harness.wait_until(lambda: in_redis(r, env, aid) == "open", 15,
                       what="the spooled alert moved into Redis")
    ans = s.request({"type": "status", "alert_id": aid}, ("status", "error"))
    assert ans.get("type") == "status" and ans.get("state") == "open", ans
