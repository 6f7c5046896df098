"""Two relays on one Redis, one behind on the signed directory (only the
other reloaded): a notification to a recipient added since is never
dropped by the relay that does not know it.  Relay A (directory 3, with
oncall-2) takes the alert and tries oncall-2, whose receiver is down; A
is SIGKILLed; B (directory 2) claims the pending notification and leaves
it pending (logged, `left to a relay with it`) instead of dropping it as
`recipient has no webhook any more`; A back, it reaches oncall-2.  Fails
on the old code (dropped by B: oncall-2 never gets the alarm).  With
relay A gone for good (or directory 3 rolled back), B gives it back for
one lease (15 s) from the first give-back, then fails it: a dead letter,
oncall-2 marked unreached.  Real redis-server, two relays, receivers
and alertctl."""

import time

import pytest

import harness
from harness_proc import wait_until
from helpers import join_oncall_2, reload_one_relay

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

PIN, DURESS = "47119305", "80802461"


def ctl(env, *args, input=None):
    return harness.run([harness.alertctl_bin(), "-c", env.client_conf]
                       + list(args), timeout=30, input=input)


def alarm_left_to_b(lab, pins=False):
    """Relays A (directory 3, with oncall-2) and B (2); an alarm through
    A (pins: cancelled with the duress PIN, A sends alert.duress), whose
    try of oncall-2 (receiver not up) waits in Redis once A is SIGKILLed.
    Returns env, redis, relay_a, relay_b and the alert id."""
    env = lab.env()
    env.delivery["claim_idle_ms"] = 1000
    env.use_directory(2)
    redis = lab.redis(env)
    relay_a = lab.relay(env)
    if pins:
        cp = ctl(env, "pincode", "set", input="%s\n%s\n" % (PIN, DURESS))
        assert cp.returncode == 0, cp.stdout + cp.stderr
    relay_b = lab.relay(env.another_instance("relay-b"))
    join_oncall_2(env)  # directory 3, relay A only
    reload_one_relay(env, relay_a)
    cp_recv = lab.receiver(env, "contactpunt")
    rc, out, err = lab.send(env, "--type", "panic", "--message", "voordeur")
    assert rc == 0, (out, err)
    aid = out[0].split("=", 1)[1]
    cp_recv.wait_alerts(1, timeout=15)
    if pins:
        cp = ctl(env, "cancel", aid, input=DURESS + "\n")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        relay_a.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                              r"channel=webhook result=retry .*"
                              r"event=alert\.duress" % aid, "stderr", 15)
    # oncall-2's receiver is not up: its notification waits at A or B
    relay_a.kill9()
    return env, redis, relay_a, relay_b, aid


@pytest.mark.hard_timeout(120)
def test_a_relay_behind_leaves_a_new_recipient_s_notification(lab):
    env, redis, relay_a, relay_b, aid = alarm_left_to_b(lab)
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


@pytest.mark.hard_timeout(150)
def test_with_no_relay_that_knows_the_recipient_it_fails_after_a_lease(lab):
    """A, the only relay with directory 3, never comes back (stopped for
    good, or 3 rolled back): B gives oncall-2's alarm back for one lease
    from the first give-back, then fails it as unreachable.  Fails on the
    old code: B gave it back for ever (directory_version keeps the highest
    ever), so no dead letter, no unreached, no next tier, ever."""
    env, redis, relay_a, relay_b, aid = alarm_left_to_b(lab)
    relay_b.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                          r"channel=webhook: not in this relay's directory"
                          % aid, "stderr", 20)
    first = time.time()
    relay_b.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                          r"channel=webhook: given back for \d+ ms and no "
                          r"relay with directory version 3 took it: "
                          r"decided here on version 2" % aid, "stderr", 40)
    assert time.time() - first > 13, "not before one lease"
    c = redis.client()
    try:
        dead = wait_until(
            lambda: [f for _, f in c.xrange(env.redis["prefix"] +
                                            ":deadletter")
                     if f.get("alert_id") == aid], 10,
            what="oncall-2's dead letter")
        unreached = c.hgetall("%s:unreached:%s" % (env.redis["prefix"],
                                                   aid))
    finally:
        c.close()
    assert [d["recipient_id"] for d in dead] == ["oncall-2"], dead
    assert "not in this relay's directory (version 2)" in dead[0]["reason"]
    assert list(unreached) == ["oncall-2|webhook"], unreached
    assert "no webhook any more" not in relay_b.log()


@pytest.mark.hard_timeout(150)
def test_a_duress_alarm_no_relay_can_place_is_a_dead_letter(lab):
    """The same with a duress cancel before A goes: alert.duress to
    oncall-2, which B does not know, ends as a duress dead letter after
    one lease, not given back for ever.  Fails on the old code (no dead
    letter, ever)."""
    env, redis, relay_a, relay_b, aid = alarm_left_to_b(lab, pins=True)
    relay_b.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                          r"channel=webhook: given back for \d+ ms and no "
                          r"relay with directory version 3 took it" % aid,
                          "stderr", 40)
    c = redis.client()
    try:
        dead = wait_until(
            lambda: [f for _, f in c.xrange(env.redis["prefix"] +
                                            ":deadletter")
                     if f.get("alert_id") == aid and
                     f.get("event") == "alert.duress"], 20,
            what="oncall-2's duress dead letter")
    finally:
        c.close()
    assert [d["recipient_id"] for d in dead] == ["oncall-2"], dead


def given_back_fields(redis, env, aid):
    c = redis.client()
    try:
        h = c.hgetall("%s:alert:%s" % (env.redis["prefix"], aid))
    finally:
        c.close()
    return [f for f in h if f.startswith("gb:")]


@pytest.mark.hard_timeout(150)
def test_a_relay_that_knows_it_starts_the_bound_again(lab):
    """B gave oncall-2's alarm back; A comes back (oncall-2's receiver
    still down) and retries it: the first give-back, kept in Redis, is
    forgotten, so that B, should it have the notification again while A
    tries, counts a new lease from then rather than failing at once what
    A keeps trying while the alert is open; oncall-2, back, gets it."""
    env, redis, relay_a, relay_b, aid = alarm_left_to_b(lab)
    relay_b.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                          r"channel=webhook: not in this relay's directory"
                          % aid, "stderr", 20)
    assert len(given_back_fields(redis, env, aid)) == 1
    relay_a.restart()
    relay_a.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                          r"channel=webhook result=retry" % aid, "stderr", 20)
    wait_until(lambda: given_back_fields(redis, env, aid) == [], 5,
               what="the give-back forgotten once A has it")
    new = lab.receiver(env, "oncall-2")
    got = new.wait_alerts(1, timeout=40)
    assert got[0]["alert_id"] == aid and got[0]["message"] == "voordeur"


HANG = 35  # s relay A's only delivery slot is held: over two leases


def busy_relay_a_and_b_behind(lab):
    """Relay A (directory 3, with oncall-2, `max_inflight = 1`) runs but
    has no room: its one delivery hangs HANG s at a receiver that
    accepts and does not answer yet.  Relay B (directory 2) claims the
    alarm to oncall-2 that A cannot take and B does not know.  Returns
    env, redis, relay_b, the alert id and when A's slot comes free
    (monotonic)."""
    env = lab.env()
    env.delivery.update(claim_idle_ms=1000, max_inflight=1,
                        request_timeout=HANG + 25)
    env.use_directory(2)
    env_b = env.another_instance("relay-b")
    env_b.delivery = dict(env.delivery, max_inflight=16)
    env_b.write_relay_conf(env_b.relay_conf)
    redis = lab.redis(env)
    # the first request to each hangs: whichever A takes holds its slot
    hung = [lab.recorder_for(env, rid, delays=[HANG])
            for rid in ("contactpunt", "oncall-1")]
    relay_a = lab.relay(env)
    rc, out, err = lab.send(env, "--type", "test", "--message", "eerste")
    assert rc == 0, (out, err)
    wait_until(lambda: sum(len(h.snapshot()) for h in hung) >= 1, 15,
               what="A's delivery hanging")
    free_at = time.monotonic() + HANG
    relay_b = lab.relay(env_b)  # before the reload: it refuses an older one
    join_oncall_2(env)  # directory 3, relay A only
    reload_one_relay(env, relay_a)
    rc, out, err = lab.send(env, "--type", "panic", "--message", "voordeur")
    assert rc == 0, (out, err)
    aid = out[0].split("=", 1)[1]
    return env, redis, relay_b, aid, free_at


@pytest.mark.hard_timeout(150)
def test_a_busy_relay_that_knows_the_recipient_is_waited_for(lab):
    """A runs, with directory 3, but has no room for oncall-2's alarm for
    longer than one lease (15 s): B, behind, keeps giving it back while
    A's P:alive:<instance> says A runs version 3, rather than
    dead-lettering it; once A's slot is free, A delivers it.  Fails on
    the old code: B dead-lettered it 15 s after the first give-back
    (`given back for ... decided here`), oncall-2 never got the alarm."""
    env, redis, relay_b, aid, free_at = busy_relay_a_and_b_behind(lab)
    new = lab.receiver(env, "oncall-2")
    relay_b.proc.wait_for(r"delivery alert=%s recipient=oncall-2 "
                          r"channel=webhook: not in this relay's directory "
                          r"\(version 2\), but another relay of this Redis "
                          r"runs version 3: left to a relay with it" % aid,
                          "stderr", 20)
    first = time.monotonic()
    assert free_at - first > 17, "A must stay busy over one lease"
    got = new.wait_alerts(1, timeout=HANG + 20)
    assert got[0]["alert_id"] == aid and got[0]["message"] == "voordeur"
    assert time.monotonic() - first > 15, "taken by A only once it had room"
    assert "decided here" not in relay_b.log()
    c = redis.client()
    try:
        dead = [f for _, f in c.xrange(env.redis["prefix"] + ":deadletter")
                if f.get("alert_id") == aid]
        unreached = c.hgetall("%s:unreached:%s" % (env.redis["prefix"],
                                                   aid))
    finally:
        c.close()
    assert dead == [], dead
    assert "oncall-2|webhook" not in unreached, unreached
