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


def stack(lab):
    env = lab.env()
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
