"""checkin extend and done behind the device's PIN (docs/SECURITY.md,
"Duress"; docs/PROTOCOL.md, "Check-in timers"): on a device with PINs
both ask the PIN; a wrong one ends or extends nothing; the own PIN ends the
check-in with nothing raised; the duress PIN prints exactly what the own
PIN prints while the relay releases the prepared alarm at once, as
alert.duress to every tier.  Real
redis-server, relay, receiver and alertctl."""

import json
import time

import pytest

import harness

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

PIN, DURESS = "246810", "135791"


def ctl(lab, env, *args, input=None, timeout=40):
    argv = [harness.alertctl_bin(), "-c", env.client_conf] + \
        [str(a) for a in args]
    cp = harness.run(argv, timeout=timeout, input=input)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def stack(lab, env=None):
    """redis, relay and receiver for env (a new one by default), with the
    own and duress PINs set."""
    env = env or lab.env()
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cp = ctl(lab, env, "pincode", "set", input="%s\n%s\n" % (PIN, DURESS),
             timeout=60)
    assert cp.returncode == 0, cp.stderr
    return env, redis, relay, recv


def start(lab, env):
    cp = ctl(lab, env, "checkin", "start", "--minutes", "5", "--message",
             "huisbezoek")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return json.loads((env.dir / "outbox" / "checkin.json").read_text())


def timers(redis, env):
    c = redis.client()
    try:
        return c("ZRANGE", "%s:checkin_timers" % env.redis["prefix"], 0, -1)
    finally:
        c.close()


def masked(cp, st):
    return (cp.returncode, cp.stdout.replace(st["checkin_id"], "<C>"),
            cp.stderr.replace(st["checkin_id"], "<C>"))


@pytest.mark.hard_timeout(120)
def test_done_asks_the_pin_and_duress_looks_real(lab):
    env, redis, relay, recv = stack(lab)
    st = start(lab, env)
    # no PIN, or a wrong one: nothing ends
    for pin in ("", "999999"):
        cp = ctl(lab, env, "checkin", "done", input=pin + "\n")
        assert cp.returncode != 0, cp.stdout
        assert "PIN" in cp.stderr or "pincode" in cp.stderr
    assert timers(redis, env)
    # the own PIN: ended, nothing raised
    real = ctl(lab, env, "checkin", "done", input=PIN + "\n")
    assert real.returncode == 0, real.stderr
    assert timers(redis, env) == []
    # the duress PIN: the same words, and the alarm goes out now
    st2 = start(lab, env)
    forced = ctl(lab, env, "checkin", "done", input=DURESS + "\n")
    assert masked(forced, st2) == masked(real, st)
    got = recv.wait_alerts(1, timeout=10)
    assert got[0]["alert_type"] == "missed_checkin"
    assert got[0]["message"] == "huisbezoek"
    # marked: the recipients know it is duress, not a late official
    assert got[0]["type"] == "alert.duress" and got[0]["duress"] is True
    relay.proc.wait_for(r"checkin duress checkin=%s" % st2["checkin_id"],
                        "stderr", 10)
    assert "huisbezoek" not in relay.log()


@pytest.mark.hard_timeout(120)
def test_extend_under_duress_looks_real_and_raises(lab):
    env, redis, relay, recv = stack(lab)
    start(lab, env)
    cp = ctl(lab, env, "checkin", "extend", "--minutes", "10",
             input="000000\n")
    assert cp.returncode != 0
    cp = ctl(lab, env, "checkin", "extend", "--minutes", "10",
             input=DURESS + "\n")
    assert cp.returncode == 0, cp.stderr
    assert "checkin_id=" in cp.stdout
    got = recv.wait_alerts(1, timeout=10)
    assert got[0]["alert_type"] == "missed_checkin"
    assert got[0]["type"] == "alert.duress" and got[0]["duress"] is True
    # what the coercer tries next still looks as if it worked
    cp = ctl(lab, env, "checkin", "extend", "--minutes", "20",
             input=PIN + "\n")
    assert cp.returncode == 0, cp.stderr
    cp = ctl(lab, env, "checkin", "done", input=PIN + "\n")
    assert cp.returncode == 0, cp.stderr
    time.sleep(1)
    assert len(recv.alerts()) == 1


def listed(lab, env):
    cp = ctl(lab, env, "list")
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def status_of(lab, env, aid):
    cp = ctl(lab, env, "status", aid)
    return cp.returncode, cp.stdout.replace(aid, "<A>"), \
        cp.stderr.replace(aid, "<A>")


@pytest.mark.hard_timeout(180)
def test_duress_leaves_no_alert_for_the_device_to_see(lab):
    """After the own PIN's done or extend the device has no alert of the
    check-in; after the duress PIN's neither: `list` shows nothing more
    (with --limit too) and `status` of the raised alert answers as for an
    alert that does not exist.  Fails on the old code, where `list`
    showed a missed_checkin "cancelled"."""
    env, redis, relay, recv = stack(lab)
    # an earlier alert of the device, for list to show
    cp = ctl(lab, env, "send", "--type", "panic", "--message", "eerder")
    assert cp.returncode == 0, cp.stderr
    recv.wait_alerts(1, timeout=10)
    start(lab, env)
    assert ctl(lab, env, "checkin", "done", input=PIN + "\n").returncode == 0
    before = listed(lab, env)
    before1 = ctl(lab, env, "list", "--limit", "1").stdout
    assert "panic" in before and "missed_checkin" not in before
    assert "panic" in before1
    unknown = status_of(lab, env, "0123456789abcdef0123456789abcdef")
    for op in (["done"], ["extend", "--minutes", "10"]):
        start(lab, env)
        n = len(recv.alerts())  # before: the alarm may beat the answer
        cp = ctl(lab, env, "checkin", *op, input=DURESS + "\n")
        assert cp.returncode == 0, cp.stderr
        got = recv.wait_alerts(n + 1, timeout=10)[-1]
        assert got["type"] == "alert.duress"
        assert got["alert_type"] == "missed_checkin"
        assert listed(lab, env) == before
        assert ctl(lab, env, "list", "--limit", "1").stdout == before1
        assert status_of(lab, env, got["alert_id"]) == unknown
        if op[0] == "extend":
            ctl(lab, env, "checkin", "done", input=PIN + "\n")
    # the contact point still has it, open, marked duress
    c = redis.client()
    try:
        assert c("HGET", "%s:alert:%s" % (env.redis["prefix"], got["alert_id"]),
                 "state") == "open"
    finally:
        c.close()


@pytest.mark.hard_timeout(120)
def test_duress_extend_is_reminded_as_a_real_one(lab):
    """After an extend the device is reminded before the new deadline
    (remind_before 2 s); after a duress extend too, although its alarm
    is out already.  Fails on the old code (no reminder after a duress
    extend: a difference the coercer could see)."""
    env = lab.env()
    env.sections = {"checkin": {"remind_before": 2}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cp = ctl(lab, env, "pincode", "set", input="%s\n%s\n" % (PIN, DURESS),
             timeout=60)
    assert cp.returncode == 0, cp.stderr
    watch = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf, "watch",
                       "--interval", "1", "--dead-after", "30"], "watch")
    watch.wait_for(r"connected to", "stdout", timeout=10)
    for pin in (PIN, DURESS):
        start(lab, env)
        mark = len(watch.snapshot("stdout"))
        cp = ctl(lab, env, "checkin", "extend", "--minutes", "0.1",
                 input=pin + "\n")
        assert cp.returncode == 0, cp.stderr
        st = json.loads((env.dir / "outbox" / "checkin.json").read_text())
        deadline = time.mktime(time.strptime(
            st["deadline"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        watch.wait_for(r"check in (before|vóór)", "stdout", timeout=10,
                       start=mark)
        assert time.time() < deadline
        if pin == PIN:
            assert ctl(lab, env, "checkin", "done",
                       input=PIN + "\n").returncode == 0
    got = recv.wait_alerts(1, timeout=10)
    assert got[0]["type"] == "alert.duress"
