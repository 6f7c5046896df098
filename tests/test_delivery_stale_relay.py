"""Two relays on one Redis, one behind on the signed directory (only the
other reloaded): a notification to a recipient added since is never
dropped by the relay that does not know it.  Relay A (directory 3, with
oncall-2) takes the alert and tries oncall-2, whose receiver is down; A
is SIGKILLed; B (directory 2) claims the pending notification and leaves
it pending (logged, `left to a relay with it`) instead of dropping it as
`recipient has no webhook any more`; A back, it reaches oncall-2.  Fails
on the old code (dropped by B: oncall-2 never gets the alarm).  Real
redis-server, two relays, receivers and alertctl."""

import time

import pytest

from helpers import join_oncall_2, reload_one_relay

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


@pytest.mark.hard_timeout(120)
def test_a_relay_behind_leaves_a_new_recipient_s_notification(lab):
    env = lab.env()
    env.delivery["claim_idle_ms"] = 1000
    env.use_directory(2)
    lab.redis(env)
    relay_a = lab.relay(env)
    relay_b = lab.relay(env.another_instance("relay-b"))
    join_oncall_2(env)  # directory 3, relay A only
    reload_one_relay(env, relay_a)
    cp_recv = lab.receiver(env, "contactpunt")
    rc, out, err = lab.send(env, "--type", "panic", "--message", "voordeur")
    assert rc == 0, (out, err)
    aid = out[0].split("=", 1)[1]
    cp_recv.wait_alerts(1, timeout=15)
    # oncall-2's receiver is not up: its notification waits at A or B
    relay_a.kill9()
    m = relay_b.proc.wait_for(
        r"delivery alert=%s recipient=oncall-2 channel=webhook(: not in "
        r"this relay's directory \(version 2\), but another relay of this "
        r"Redis runs version 3: left to a relay with it| event=alert\.raised "
        r"dropped: recipient has no webhook any more)" % aid, "stderr", 20)
    assert "left to a relay with it" in m.group(0), m.group(0)
    new = lab.receiver(env, "oncall-2")
    time.sleep(2)
    assert new.alerts() == []  # B does not know where oncall-2 is
    relay_a.restart()
    got = new.wait_alerts(1, timeout=20)
    assert got[0]["alert_id"] == aid and got[0]["message"] == "voordeur"
    time.sleep(2)
    assert len(new.alerts()) == 1
