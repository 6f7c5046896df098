"""Two relays on one Redis, one of them behind on the signed directory
(its reload not done yet, or refused): a check-in of a device enrolled
since, or sealed to a recipient added since, is never dropped or cut
short by the relay that does not know them.  That relay gives the claim
back (logged, `given back`) and a relay with the newer directory raises it,
once; with none running, it waits for one.  Fails on the old code, where
the relay behind released it as "no longer enrolled" (nothing raised,
ever) or raised it without the new recipient.  Real redis-server, two
relays, receivers and alertctl."""

import json
import os
import signal
import time

import pytest

import harness
from helpers import join_oncall_2, reload_one_relay

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def epoch(rfc3339):
    return time.mktime(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def two_relays(lab):
    """Relays A and B on one Redis, both on directory 2."""
    env = lab.env()
    env.use_directory(2)
    redis = lab.redis(env)
    relay_a = lab.relay(env)
    relay_b = lab.relay(env.another_instance("relay-b"))
    return env, redis, relay_a, relay_b


def new_device(env):
    """mayor-b, enrolled in directory 3; its client configuration."""
    pk = harness.keygen("device", env.dir / "mayor-b", harness.default_keygen())
    env.extra_devices["mayor-b"] = (pk, "Wethouder-B")
    env.sign_directory(3)
    return env.write_client_conf(path=env.dir / "b.conf", device_id="mayor-b",
                                 device_key=env.dir / "mayor-b.key",
                                 outbox=env.dir / "outbox-b")


def start(lab, conf, outbox):
    argv = [harness.alertctl_bin(), "-c", conf, "checkin", "start",
            "--minutes", "0.05", "--grace", "0.02", "--message", "bezoek"]
    cp = harness.run(argv, timeout=30)
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return json.loads((outbox / "checkin.json").read_text())


def alerts_stream(redis, env):
    c = redis.client()
    try:
        return c("XLEN", env.redis["prefix"] + ":alerts")
    finally:
        c.close()


def new_device_checkin(lab):
    """Relays A (reloaded: directory 3) and B (2); mayor-b, enrolled in 3,
    starts a check-in through A.  Returns the lab's parts, the receiver,
    checkin.json and its release time."""
    env, redis, relay_a, relay_b = two_relays(lab)
    conf = new_device(env)
    reload_one_relay(env, relay_a)
    recv = lab.receiver(env, "contactpunt")
    st = start(lab, conf, env.dir / "outbox-b")
    return env, redis, relay_a, relay_b, recv, st, epoch(st["release_at"])


@pytest.mark.hard_timeout(120)
def test_new_device_s_checkin_waits_for_a_relay_that_knows_it(lab):
    env, redis, relay_a, relay_b, recv, st, release = new_device_checkin(lab)
    relay_a.stop()  # A restarts at the due time; only B, behind, runs
    relay_b.proc.wait_for(r"checkin=%s: its device is not enrolled in this "
                          r"relay's directory \(version 2\), but another "
                          r"relay of this Redis runs version 3: left to a "
                          r"relay with it" % st["checkin_id"], "stderr",
                          release - time.time() + 10)
    time.sleep(2)  # B polls on: it raises nothing, drops nothing
    assert recv.alerts() == []
    assert "no longer enrolled" not in relay_b.log()
    relay_a.restart()
    back = time.time()
    got = recv.wait_alerts(1, timeout=10)
    assert time.time() - back < 5, "raised promptly once A is back"
    assert got[0]["alert_type"] == "missed_checkin"
    assert got[0]["device_id"] == "mayor-b"
    assert got[0]["message"] == "bezoek"
    relay_a.proc.wait_for("checkin missed checkin=%s" % st["checkin_id"],
                          "stderr", 10)
    time.sleep(2)
    assert len(recv.alerts()) == 1
    assert alerts_stream(redis, env) == 1


@pytest.mark.hard_timeout(120)
def test_with_both_running_the_relay_behind_leaves_it_to_the_other(lab):
    env, redis, relay_a, relay_b, recv, st, release = new_device_checkin(lab)
    recv.wait_alerts(1, timeout=release - time.time() + 10)
    assert time.time() < release + 5, "B's give-back costs at most a poll"
    relay_a.proc.wait_for("checkin missed checkin=%s" % st["checkin_id"],
                          "stderr", 10)
    time.sleep(2)
    assert len(recv.alerts()) == 1
    assert "checkin missed checkin" not in relay_b.log()
    assert "no longer enrolled" not in relay_b.log()


@pytest.mark.hard_timeout(120)
def test_new_recipient_is_not_left_out_by_the_relay_behind(lab):
    env, redis, relay_a, relay_b = two_relays(lab)
    join_oncall_2(env)  # directory 3: oncall-2 joins
    reload_one_relay(env, relay_a)
    old = lab.receiver(env, "contactpunt")
    new = lab.receiver(env, "oncall-2")
    st = start(lab, env.client_conf, env.dir / "outbox")
    release = epoch(st["release_at"])
    relay_a.stop()
    relay_b.proc.wait_for(r"checkin=%s: a recipient of its alert is not "
                          r"known in this relay's directory" %
                          st["checkin_id"], "stderr",
                          release - time.time() + 10)
    assert old.alerts() == [] and new.alerts() == []
    # B would leave oncall-2's notification pending for claim_idle_ms
    # (tests/test_delivery_stale_relay.py): B goes, A comes back
    relay_b.stop()
    relay_a.restart()
    for recv in (old, new):
        got = recv.wait_alerts(1, timeout=10)
        assert got[0]["alert_type"] == "missed_checkin"
        assert got[0]["message"] == "bezoek"
    assert "left out" not in relay_b.log()


@pytest.mark.hard_timeout(150)
def test_a_known_recipient_s_alarm_waits_at_most_a_lease(lab):
    """With no relay of the newer directory running, the relay behind
    raises the alarm to the recipients it knows after one lease (15 s)
    rather than giving it back for ever (review rv-o2: on the first
    version of the give-back, 40 s past the deadline the contact point,
    whom both relays know, still had nothing)."""
    env, redis, relay_a, relay_b = two_relays(lab)
    join_oncall_2(env)  # directory 3: oncall-2 joins
    reload_one_relay(env, relay_a)
    old = lab.receiver(env, "contactpunt")
    st = start(lab, env.client_conf, env.dir / "outbox")
    release = epoch(st["release_at"])
    relay_a.stop()  # the only relay with directory 3 is gone
    relay_b.proc.wait_for(r"checkin=%s: a recipient of its alert is not "
                          r"known in this relay's directory" %
                          st["checkin_id"], "stderr",
                          release - time.time() + 10)
    got = old.wait_alerts(1, timeout=release - time.time() + 40)
    assert got[0]["alert_type"] == "missed_checkin"
    assert got[0]["message"] == "bezoek"
    # not before the lease (the first give-back is at the release time)
    assert time.time() - release > 14
    relay_b.proc.wait_for(r"checkin=%s: given back for \d+ ms and no relay "
                          r"with directory version 3 took it: raised here" %
                          st["checkin_id"], "stderr", 10)
    relay_b.proc.wait_for(r"recipient oncall-2 is no longer known; left out",
                          "stderr", 10)


@pytest.mark.hard_timeout(150)
def test_a_done_after_a_give_back_is_too_late(lab):
    """A claim given back stays past its deadline: a plain done reaching
    the up-to-date relay then is answered too late and the alarm goes
    out (review rv-o2: the give-back made the check-in active again, and
    such a done ended it with no alarm, as a person forcing the
    official's hand would want)."""
    env, redis, relay_a, relay_b = two_relays(lab)
    join_oncall_2(env)
    reload_one_relay(env, relay_a)
    old = lab.receiver(env, "contactpunt")
    st = start(lab, env.client_conf, env.dir / "outbox")
    release = epoch(st["release_at"])
    pid_a = relay_a.proc.popen.pid
    time.sleep(max(0, release - time.time() - 1.5))
    os.kill(pid_a, signal.SIGSTOP)  # A misses the release: B claims it
    try:
        relay_b.proc.wait_for(r"checkin=%s: a recipient of its alert is not "
                              r"known" % st["checkin_id"], "stderr", 15)
    finally:
        os.kill(pid_a, signal.SIGCONT)
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "checkin", "done"], timeout=60)
    assert cp.returncode != 0, cp.stdout + cp.stderr
    assert "no alarm will be raised" not in cp.stdout + cp.stderr
    got = old.wait_alerts(1, timeout=30)
    assert got[0]["alert_type"] == "missed_checkin"
