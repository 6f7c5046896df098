"""Supervision of the device's path (issue 14, section 5; docs/PROTOCOL.md,
"Supervision").

`alertctl watch --supervise --interval 1` declares its interval; with
[supervision] grace = 2, killing it (SIGKILL) raises exactly one
device.offline to every recipient within the interval plus grace (plus the
half second the relay polls at, and the delivery), with two relays on one
Redis; starting it again, on the other relay, raises exactly one
device.online.  `alertctl receive` shows both."""

import time

import pytest

import harness

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

INTERVAL, GRACE = 1, 2


def watch(lab, env, conf, name):
    p = lab.spawn([harness.alertctl_bin(), "-c", conf, "watch", "--supervise",
                   "--interval", str(INTERVAL), "--dead-after", "5"], name)
    p.wait_for(r"connected to", "stdout", timeout=10)
    return p


def events(recv, kind):
    return [a for a in recv.alerts() if a.get("type") == kind]


def wait_events(recv, kind, n, timeout):
    harness.wait_until(lambda: len(events(recv, kind)) >= n, timeout,
                       what="%d %s at %s:\n%s" % (n, kind, recv.rid,
                                                  recv.proc.tail()))
    return events(recv, kind)


@pytest.mark.hard_timeout(90)
def test_killing_watch_raises_one_offline_then_online(lab):
    env = lab.env()
    env.sections = {"supervision": {"min_interval": 1, "grace": GRACE}}
    env.write_relay_conf()
    lab.redis(env)
    relay_a = lab.relay(env)
    env_b = env.another_instance("relay-b")
    relay_b = lab.relay(env_b)
    conf_b = env_b.write_client_conf(path=env.dir / "via-b.conf")
    recvs = [lab.receiver(env, rid) for rid in env.recipients]

    w = watch(lab, env, env.client_conf, "watch-1")
    harness.wait_until(
        lambda: "supervision device=%s interval=%d" % (env.device_id, INTERVAL)
        in relay_a.log(), 10, what="supervision declared")
    time.sleep(3 * INTERVAL)  # supervised and heard from; nothing raised
    for recv in recvs:
        assert events(recv, "device.offline") == []

    t0 = time.monotonic()
    w.kill()  # SIGKILL: the path is gone without a word
    for recv in recvs:
        ev = wait_events(recv, "device.offline", 1, INTERVAL + GRACE + 5)
        assert ev[0]["device_id"] == env.device_id
        assert ev[0].get("last_seen")
    took = time.monotonic() - t0
    assert took <= INTERVAL + GRACE + 2, took
    time.sleep(INTERVAL + GRACE + 2)  # both relays polled many times
    for recv in recvs:
        assert len(events(recv, "device.offline")) == 1, recv.alerts()
        assert events(recv, "device.online") == []
    logs = relay_a.log() + relay_b.log()
    assert len([l for l in logs.splitlines() if "state=offline" in l]) == 1

    w2 = watch(lab, env, conf_b, "watch-2")  # back, through the other relay
    for recv in recvs:
        ev = wait_events(recv, "device.online", 1, 10)
        assert ev[0]["device_id"] == env.device_id
    time.sleep(3)
    for recv in recvs:
        assert len(events(recv, "device.online")) == 1, recv.alerts()
        assert len(events(recv, "device.offline")) == 1
    w2.stop()


@pytest.mark.hard_timeout(60)
def test_unsupervised_watch_raises_nothing(lab):
    env = lab.env()
    env.sections = {"supervision": {"min_interval": 1, "grace": GRACE}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    w = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf, "watch",
                   "--interval", "1"], "watch")
    w.wait_for(r"connected to", "stdout", timeout=10)
    time.sleep(1)
    w.kill()
    time.sleep(INTERVAL + GRACE + 2)
    assert recv.alerts() == []


@pytest.mark.hard_timeout(60)
def test_interval_outside_the_bounds_is_refused_and_watch_goes_on(lab):
    env = lab.env()
    env.sections = {"supervision": {"min_interval": 10}}
    env.write_relay_conf()
    lab.redis(env)
    relay = lab.relay(env)
    w = watch(lab, env, env.client_conf, "watch")
    w.wait_for(r"supervision every 1 s|bewaking elke 1 s", "stderr", timeout=10)
    time.sleep(2)
    assert w.running(), "watch keeps going without supervision"
    assert "supervision device=" not in relay.log()


@pytest.mark.hard_timeout(90)
def test_a_redis_outage_does_not_look_like_the_device_going_offline(lab):
    """Redis down for longer than interval plus grace while the supervised
    connection stays up: when Redis is back the relay writes the live
    connections' deadlines first, and raises nothing."""
    env = lab.env()
    env.sections = {"supervision": {"min_interval": 1, "grace": 1}}
    env.write_relay_conf()
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    w = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf, "watch",
                   "--supervise", "--interval", "4", "--dead-after", "30"],
                  "watch")
    w.wait_for(r"connected to", "stdout", timeout=10)
    harness.wait_until(lambda: "supervision device=" in relay.log(), 10,
                       what="supervision declared")
    time.sleep(1)
    assert redis.kill() == -9
    time.sleep(7)  # beyond interval plus grace (5 s)
    redis.start()
    harness.wait_until(lambda: relay.log().count("redis connected") >= 2, 15,
                       what="relay back on redis")
    time.sleep(6)
    assert w.running()
    assert events(recv, "device.offline") == [], recv.alerts()
    assert "state=offline" not in relay.log()


@pytest.mark.hard_timeout(90)
def test_offline_record_is_kept_90_days_events_a_week(lab):
    """An offline device's supervision record lives 90 days (README.md,
    "What is in Redis"), so that one back after more than a week still
    raises device.online; each event's own record lives a week.  Before,
    the record went after 7 days when the device went offline and each
    device.online record stayed 90 days."""
    env = lab.env()
    env.sections = {"supervision": {"min_interval": 1, "grace": GRACE}}
    env.write_relay_conf()
    redis = lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    r = redis.client()
    pfx = env.redis["prefix"] + ":"
    sk = pfx + "supervise:" + env.device_id
    week, keep = 7 * 86400, 90 * 86400

    def event_ttl(kind):
        (ev,) = events(recv, kind)
        for k in r("KEYS", pfx + "alert:*"):
            if r("HGET", k, "device_id") == env.device_id and \
                    r("HGET", k, "last_seen") == ev.get("last_seen"):
                return r("TTL", k)
        raise AssertionError("no record of " + kind)

    w = watch(lab, env, env.client_conf, "watch-1")
    time.sleep(2)
    assert week < r("TTL", sk) <= keep
    w.kill()
    wait_events(recv, "device.offline", 1, INTERVAL + GRACE + 5)
    assert r("HGET", sk, "state") == "offline"
    assert week < r("TTL", sk) <= keep, r("TTL", sk)
    assert 0 < event_ttl("device.offline") <= week
    w2 = watch(lab, env, env.client_conf, "watch-2")
    wait_events(recv, "device.online", 1, 10)
    assert week < r("TTL", sk) <= keep
    assert 0 < event_ttl("device.online") <= week
    w2.stop()
