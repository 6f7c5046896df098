"""A missed check-in whose recipients all left the directory while it ran
(docs/PROTOCOL.md, "Check-in timers"): nobody of the new directory can open
the prepared alert, and the device is, by definition, not there to seal it
again.  The relay still stores the alert (its SMS tiers and the open-alert
count go on) and tells every webhook recipient of its policy with the notice
device.checkin_failed, once, counted in alertrelay_checkins_unsealed_total.
Real redis-server, relay (restarted on the new directory) and receiver."""

import json
import time
import urllib.request

import pytest

import harness
from helpers import join_oncall_2

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def epoch(rfc3339):
    return time.mktime(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def replace_recipients(env):
    """The organisation replaces its recipients by one new contact point."""
    for rid in list(env.recipients):
        del env.recipients[rid]
    join_oncall_2(env)


@pytest.mark.hard_timeout(120)
def test_checkin_for_recipients_gone_still_tells_someone(lab):
    env = lab.env()
    admin_port = harness.free_port()
    env.sections = {"admin": {
        "listen": "127.0.0.1:%d" % admin_port,
        "token_file": harness.write_secret(env.dir / "admin.token",
                                           harness.new_token())}}
    env.use_directory(2)
    env.sign_directory(2, path=env.client_directory)
    redis = lab.redis(env)
    relay = lab.relay(env)
    argv = [harness.alertctl_bin(), "-c", env.client_conf, "checkin",
            "start", "--minutes", "0.2", "--grace", "0.05", "--message",
            "huisbezoek"]
    cp = harness.run(argv, timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    st = json.loads((env.dir / "outbox" / "checkin.json").read_text())
    relay.stop()
    replace_recipients(env)
    recv = lab.receiver(env, "oncall-2")
    relay.start()
    time.sleep(max(0, epoch(st["release_at"]) - time.time()))
    got = recv.wait_alerts(1, timeout=15)
    assert [g["type"] for g in got] == ["device.checkin_failed"], got
    assert got[0]["device_id"] == env.device_id
    assert got[0]["alert_type"] == "missed_checkin"
    assert "ciphertext" not in got[0]
    relay.proc.wait_for(r"checkin missed checkin=%s relay_id=" %
                        st["checkin_id"], timeout=10)
    # the alert is stored all the same: open, for SMS tiers and operators
    c = redis.client()
    try:
        keys = [k for k in c("KEYS", "%s:alert:*" % env.redis["prefix"])
                if c("HGET", k, "alert_type") == "missed_checkin"
                and c("HGET", k, "state") == "open"]
    finally:
        c.close()
    assert len(keys) == 1, keys
    log = relay.log()
    assert "huisbezoek" not in log
    metrics = urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % admin_port, timeout=5).read()
    assert b"alertrelay_checkins_unsealed_total 1" in metrics
    time.sleep(2)
    assert len(recv.alerts()) == 1  # once
