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


def start(lab, conf, outbox, minutes="0.05"):
    argv = [harness.alertctl_bin(), "-c", conf, "checkin", "start",
            "--minutes", minutes, "--grace", "0.02", "--message", "bezoek"]
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


def given_back_elsewhere(redis, env, n):
    """n check-ins of devices enrolled in directory 3 (not in relay B's 2)
    past their release, and directory 3 recorded as run: in Redis as a
    relay with directory 3 leaves them when it stops (script_checkin_start
    writes these fields; n devices enrolled and started through alertctl
    would take minutes).  Their envelopes are never opened: B, not knowing
    the device, gives each back before."""
    p = env.redis["prefix"]
    due = int(time.time() * 1000) - 1000
    c = redis.client()
    try:
        c("SET", p + ":directory_version", 3)
        for i in range(n):
            cid = "%032x" % (0xbeef0000 + i)
            c("HSET", "%s:checkin:%s" % (p, cid), "dev", "nieuw-%d" % i,
              "alert_id", "%032x" % i, "envelope", "eyJ9", "state", "active",
              "release_ms", due + i)
            c("ZADD", p + ":checkin_timers", due + i, cid + "|x")
    finally:
        c.close()


@pytest.mark.hard_timeout(120)
def test_a_page_of_given_back_check_ins_hides_no_other(lab):
    """More than a poll's page (50) of check-ins given back by relay B,
    behind on the directory, just before a check-in of a device B knows
    is due: that one is raised at its time all the same.  Fails on the
    old code, whose poll fetched the first 50 due, all of them given back
    a moment ago and skipped by B for 5 s, so B saw nothing else until
    those skips ran out (here about 2.5 s late; up to 5 s)."""
    env = lab.env()
    env.use_directory(2)
    redis = lab.redis(env)
    relay_b = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    st = start(lab, env.client_conf, env.dir / "outbox", minutes="0.1")
    release = epoch(st["release_at"])  # release_ms is whole seconds
    time.sleep(max(0, release - time.time() - 2.5))
    given_back_elsewhere(redis, env, 60)
    relay_b.proc.wait_for(r"checkin=0*beef0000: its device is not enrolled "
                          r"in this relay's directory", "stderr", 5)
    assert recv.alerts() == []
    got = recv.wait_alerts(1, timeout=release - time.time() + 15)
    late = time.time() - release
    assert got[0]["alert_type"] == "missed_checkin"
    assert got[0]["message"] == "bezoek"
    # CHECKIN_POLL_MS is 250 ms; the rest is room for a loaded machine
    assert late < 1.5, "raised %.1f s after its release" % late


HANG = 35  # s relay A's stop waits for its one hanging delivery


@pytest.mark.hard_timeout(180)
def test_a_draining_relay_that_knows_the_recipient_is_waited_for(lab):
    """A (directory 3, with oncall-2) is stopping, its stop held up
    longer than one lease (15 s) by a delivery to a receiver that
    accepts and does not answer yet; it claims no check-in meanwhile,
    but P:alive:<instance> says it runs version 3.  B (directory 2)
    gives the alarm back all that time instead of raising it without
    oncall-2; A, restarted once its stop ends, raises it to all three.
    Fails on the old code: B raised it 15 s after its first give-back
    without oncall-2 (`took it: raised here`), who never got it."""
    env = lab.env()
    env.use_directory(2)
    env.relay["shutdown_timeout"] = HANG + 20
    env.delivery["request_timeout"] = HANG + 25
    env.write_relay_conf()
    redis = lab.redis(env)
    hung = lab.recorder_for(env, "oncall-1", delays=[HANG])
    old = lab.receiver(env, "contactpunt")
    relay_a = lab.relay(env)
    rc, out, err = lab.send(env, "--type", "test", "--message", "eerste")
    assert rc == 0, (out, err)
    hung.wait_attempts(1, timeout=15)  # A's, B is not up yet
    free_at = time.time() + HANG
    relay_b = lab.relay(env.another_instance("relay-b"))
    join_oncall_2(env)  # directory 3: oncall-2 joins
    reload_one_relay(env, relay_a)
    new = lab.receiver(env, "oncall-2")
    st = start(lab, env.client_conf, env.dir / "outbox")
    os.kill(relay_a.proc.pid, signal.SIGTERM)  # held up HANG s
    relay_a.proc.wait_for("shutting down", "stderr", 10)
    relay_b.proc.wait_for(r"checkin=%s: a recipient of its alert is not "
                          r"known in this relay's directory" %
                          st["checkin_id"], "stderr", 20)
    first = time.time()
    assert free_at - first > 17, "A must stay stopping over one lease"
    relay_a.proc.wait_for(r"\bstopped\b", "stderr", HANG + 20)
    relay_a.restart()
    got = new.wait_alerts(1, timeout=15)
    assert got[0]["alert_type"] == "missed_checkin"
    assert got[0]["message"] == "bezoek"
    assert time.time() - first > 15, "raised by A only once it was back"
    mine = [a for a in old.alerts() if a["alert_type"] == "missed_checkin"]
    assert len(mine) == 1 and mine[0]["alert_id"] == got[0]["alert_id"]
    assert "took it: raised here" not in relay_b.log()
    assert "left out" not in relay_b.log()
