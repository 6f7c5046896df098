"""The alert a missed check-in raises is an accepted alert like any other,
and the audit log says so (review of the life cycle, finding 6;
docs/PRIVACY.md: every accepted alert is recorded).  Real alertrelayd,
redis-server, alertctl checkin and alertctl receive.

Before the fix the check-in path wrote no alert.accepted record: the
audit log held the check-in's start and nothing of the alarm it raised."""

import json
import time

import pytest

import harness
import test_checkin as tc
from harness import wait_until

pytestmark = pytest.mark.needs("alertctl")

PFX = "alertrelay:"


@pytest.mark.hard_timeout(60)
def test_missed_checkin_alert_is_audited_as_accepted(lab):
    env = tc.checkin_env(lab, remind_before=2)
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    tc.started(lab, env, "--minutes", "0.05", "--grace", "0.02",
               "--message", tc.MESSAGE)
    release = tc.epoch(tc.state(env)["release_at"])
    (alert,) = recv.wait_alerts(1, timeout=release - time.time() + 8)
    aid = alert["alert_id"]
    stream = PFX + "audit:" + env.relay["instance_id"]
    r = redis.client()

    def accepted():
        return [x for x in (json.loads(f["r"]) for _, f in r.xrange(stream))
                if x["action"] == "alert.accepted"]
    wait_until(accepted, 10, what="an alert.accepted audit record")
    (rec,) = accepted()
    assert rec["object"] == "alert:" + aid, rec
    assert rec["actor"] == "device:" + env.device_id, rec
    assert (rec["result"], rec["channel"], rec["reason"]) == (
        "ok", "checkin", "checkin"), rec
    # content never: not the message, not the sealed envelope
    assert tc.MESSAGE not in json.dumps(rec)
    relay.proc.wait_for("checkin missed", "stderr", 15)
