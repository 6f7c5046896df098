"""A `done` that comes after a check-in's release time, before its alarm
is stored (docs/PROTOCOL.md, "Check-in timers").  The relay's poller takes
a due release within 250 ms; the window is forced open here by moving the
release timer ahead in the real Redis, which is what a poller that has not
got to it yet (or an instance that claimed it and died, until its lease
runs out) leaves there.

- before any relay took the alarm: nobody was told, and the official's
  signed done is in time: "Check-in done", nothing is raised, ever;
- taken, not yet stored: the relay answers "unavailable", the device asks
  again, and the answer then names an alert that exists, which the
  official's cancel ends.

Before, both were answered "too late, cancel X" at once, with X not
stored: the official's cancel was refused as an unknown alert, and the
alarm went out after it.  Real redis-server, relay, alertctl."""

import time

import pytest

import harness
from harness import wait_until

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def checkin(env, *args, timeout=30):
    return harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                        "checkin"] + [str(a) for a in args], timeout=timeout)


def started(lab, env, redis):
    """A check-in of 3 s and 1 s grace; returns (checkin key, release in
    ms, its prepared alert's id)."""
    cp = checkin(env, "start", "--minutes", "0.05", "--grace", "0.02",
                 "--message", "Dorpsstraat 12")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cid = [l.split("=", 1)[1] for l in cp.stdout.splitlines()
           if l.startswith("checkin_id=")][0]
    c = redis.client()
    try:
        ck = "%s:checkin:%s" % (env.redis["prefix"], cid)
        h = c.hgetall(ck)
    finally:
        c.close()
    return cid, int(h["release_ms"]), h["alert_id"]


def redis_do(redis, *cmd):
    c = redis.client()
    try:
        return c(*cmd)
    finally:
        c.close()


def hold_release(redis, env, cid, until_ms):
    """The release timer moved ahead: no poller takes it before until_ms."""
    assert redis_do(redis, "ZADD", env.redis["prefix"] + ":checkin_timers",
                    "XX", "CH", until_ms, cid + "|x") == 1


def wait_past(ms):
    time.sleep(max(0, ms / 1000.0 - time.time()) + 0.5)


def past_release_not_taken(lab):
    """A relay, its Redis and the contact point's receiver, and a
    check-in past its release time that no relay has taken yet:
    (env, redis, relay, receiver, checkin id, prepared alert id)."""
    env = lab.env()
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cid, release_ms, aid = started(lab, env, redis)
    hold_release(redis, env, cid, release_ms + 60000)
    wait_past(release_ms)
    return env, redis, relay, recv, cid, aid


def alert_stored(redis, env, aid):
    return redis_do(redis, "EXISTS",
                    "%s:alert:%s" % (env.redis["prefix"], aid)) == 1


@pytest.mark.hard_timeout(60)
def test_done_after_release_time_before_the_alarm_is_taken(lab):
    env = lab.env()
    redis = lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cid, release_ms, aid = started(lab, env, redis)
    hold_release(redis, env, cid, release_ms + 5000)
    wait_past(release_ms)
    ck = "%s:checkin:%s" % (env.redis["prefix"], cid)
    assert redis_do(redis, "HGET", ck, "state") == "active"
    assert not alert_stored(redis, env, aid)
    cp = checkin(env, "done")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "Check-in done: no alarm will be raised." in cp.stdout
    assert redis_do(redis, "HGET", ck, "state") == "done"
    wait_past(release_ms + 5000 + 1500)
    assert recv.alerts() == []
    assert not alert_stored(redis, env, aid)
    assert redis_do(redis, "ZRANGE", env.redis["prefix"] + ":checkin_timers",
                    0, -1) in ([], None)


@pytest.mark.hard_timeout(60)
def test_done_while_the_alarm_is_being_stored_names_a_stored_alert(lab):
    env, redis, relay, recv, cid, aid = past_release_not_taken(lab)
    # an instance took it (script_checkin_claim) and died: its lease
    # runs 3 s more, then another instance stores the alert
    ck = "%s:checkin:%s" % (env.redis["prefix"], cid)
    redis_do(redis, "HSET", ck, "state", "releasing")
    hold_release(redis, env, cid, int(time.time() * 1000) + 3000)
    cp = checkin(env, "done")
    stored = alert_stored(redis, env, aid)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "alertctl cancel %s" % aid in cp.stderr, cp.stderr
    assert stored, "the answer names an alert the relay has"
    relay.proc.wait_for("checkin done checkin=%s device=%s: its alarm is "
                        "being raised; answered unavailable"
                        % (cid, env.device_id), "stderr", 5)
    (got,) = recv.wait_alerts(1, timeout=10)
    assert got["alert_id"] == aid
    # the official's cancel ends it
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "cancel", aid], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    wait_until(lambda: redis_do(redis, "HGET", "%s:alert:%s" % (
        env.redis["prefix"], aid), "state") == "cancelled", 10,
        what="the alert cancelled")


@pytest.mark.hard_timeout(60)
def test_done_after_a_release_that_raised_nothing_names_no_alert(lab):
    """The prepared alert's id was taken by another device's alert (here
    written into the real Redis, as a colliding or hostile device would
    leave it): the release raises nothing.  A late done must say that no
    alarm went out, not send the official to cancel the other alert.
    Asked while the release is being stored, the answer waits for it
    ("unavailable"), as the other device's alert is not this check-in's.
    Before, both were answered "too late, cancel X" with X the other
    device's alert."""
    env, redis, relay, recv, cid, aid = past_release_not_taken(lab)
    ak = "%s:alert:%s" % (env.redis["prefix"], aid)
    redis_do(redis, "HSET", ak, "device_id", "someone-else",
             "envelope_hash", "0" * 64, "state", "open")
    ck = "%s:checkin:%s" % (env.redis["prefix"], cid)
    redis_do(redis, "HSET", ck, "state", "releasing")
    hold_release(redis, env, cid, int(time.time() * 1000) + 2000)
    cp = checkin(env, "done")
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "could not raise the alarm. Nobody has been alerted" \
        in cp.stderr, cp.stderr
    assert "alertctl cancel" not in cp.stderr, cp.stderr
    assert redis_do(redis, "HGET", ck, "result") == "conflict"
    relay.proc.wait_for("checkin done checkin=%s device=%s: its alarm is "
                        "being raised; answered unavailable"
                        % (cid, env.device_id), "stderr", 5)
    assert recv.alerts() == []
    assert redis_do(redis, "HGET", ak, "device_id") == "someone-else"
    # the device no longer holds a check-in it would wait on
    cp = checkin(env, "done")
    assert cp.returncode == 1
    assert "No check-in is running on this device." in cp.stderr, cp.stderr
