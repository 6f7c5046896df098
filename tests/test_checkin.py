"""Check-in timers that work when the device cannot (issue 14, section 3;
docs/PROTOCOL.md, "Check-in timers").

`alertctl checkin start` prepares the alert the relay raises if the official
does not check in; `done` ends it.  Short periods (seconds) throughout:
--minutes and --grace take fractions.

- done in time: nothing is raised, no timer is left in Redis;
- silence: the prepared alert reaches the receivers (decrypted, verified,
  alert_type missed_checkin, the message) within 5 s of the deadline plus
  grace, and not before, with the device's watch SIGKILLed after it printed
  the reminder;
- a relay SIGKILLed and restarted in between changes nothing;
- two relays on one Redis raise it exactly once;
- a check-in (or done) from another device is refused and ends nothing;
- Redis never holds the message in clear;
- extend moves the deadline."""

import base64
import json
import signal
import time

import pytest

import harness
import proto
from harness_sms import device_session

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

MESSAGE = "Huisbezoek Dorpsstraat 12, met wethouder"
SIGCTX_CHECKIN = b"alertrelay checkin v1\n"


def checkin_env(lab, remind_before=2):
    env = lab.env()
    env.sections = {"checkin": {"remind_before": remind_before}}
    env.write_relay_conf()
    return env


def checkin(lab, env, *args, conf=None, timeout=30):
    argv = [harness.alertctl_bin(), "-c", conf or env.client_conf,
            "checkin"] + [str(a) for a in args]
    cp = harness.run(argv, timeout=timeout)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def state(env, outbox=None):
    """The device's record of its check-in (checkin.json in the outbox)."""
    return json.loads(((outbox or env.dir / "outbox") / "checkin.json").read_text())


def epoch(rfc3339):
    return time.mktime(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def started(lab, env, *extra, **kw):
    cp = checkin(lab, env, "start", *extra, **kw)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return cp


def zset(lab_redis, env, name):
    c = lab_redis.client()
    try:
        return c("ZRANGE", "%s:%s" % (env.redis["prefix"], name), 0, -1) or []
    finally:
        c.close()


@pytest.mark.hard_timeout(60)
def test_done_in_time_raises_nothing(lab):
    env = checkin_env(lab)
    redis = lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cp = started(lab, env, "--minutes", "0.05", "--grace", "0.02",
                 "--message", MESSAGE)
    assert "checkin_id=" in cp.stdout
    release = epoch(state(env)["release_at"])
    assert zset(redis, env, "checkin_timers"), "the timer is in Redis"
    cp = checkin(lab, env, "done")
    assert cp.returncode == 0, cp.stderr
    assert not (env.dir / "outbox" / "checkin.json").exists()
    time.sleep(max(0, release - time.time()) + 3)
    assert recv.alerts() == []
    assert zset(redis, env, "checkin_timers") == []
    # nothing left to end: said so, exit 1
    cp = checkin(lab, env, "done")
    assert cp.returncode == 1


@pytest.mark.hard_timeout(60)
def test_silence_raises_the_alert_with_the_device_killed(lab):
    env = checkin_env(lab, remind_before=2)
    lab.redis(env)
    relay = lab.relay(env)
    recvs = [lab.receiver(env, rid) for rid in env.recipients]
    watch = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf, "watch",
                       "--interval", "1", "--dead-after", "5"], "watch")
    watch.wait_for(r"connected to", "stdout", timeout=10)
    started(lab, env, "--minutes", "0.1", "--grace", "0.05",
            "--message", MESSAGE)
    st = state(env)
    deadline, release = epoch(st["deadline"]), epoch(st["release_at"])
    assert release - deadline == 3
    # the reminder, before the deadline, printed by watch
    watch.wait_for(r"check in (before|vóór)", "stdout", timeout=10)
    assert time.time() < deadline
    watch.kill()  # SIGKILL: the device is gone
    for recv in recvs:
        alerts = recv.wait_alerts(1, timeout=release - time.time() + 5)
        arrived = time.time()
        assert arrived <= release + 5, "within 5 s of deadline plus grace"
        assert arrived >= release - 1, "not before the deadline plus grace"
        a = alerts[0]
        assert a["alert_type"] == "missed_checkin"
        assert a["message"] == MESSAGE
        assert a["device_id"] == env.device_id
        assert a["verified"] is True and a["stale"] is False
    relay.proc.wait_for("checkin missed checkin=%s" % st["checkin_id"],
                        "stderr", 10)
    assert MESSAGE not in relay.log()
    # too late for done: said so, with the alert to cancel
    cp = checkin(lab, env, "done")
    assert cp.returncode == 1


@pytest.mark.hard_timeout(60)
def test_relay_restart_in_between_changes_nothing(lab):
    env = checkin_env(lab)
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    started(lab, env, "--minutes", "0.1", "--grace", "0.05", "--message", MESSAGE)
    release = epoch(state(env)["release_at"])
    relay.kill9()
    time.sleep(1)
    relay.restart()
    alerts = recv.wait_alerts(1, timeout=release - time.time() + 5)
    assert time.time() >= release - 1
    assert alerts[0]["alert_type"] == "missed_checkin"
    time.sleep(3)
    assert len(recv.alerts()) == 1
    assert zset(redis, env, "checkin_timers") == []


@pytest.mark.hard_timeout(60)
def test_two_relays_on_one_redis_raise_it_once(lab):
    env = checkin_env(lab)
    redis = lab.redis(env)
    relay_a = lab.relay(env)
    relay_b = lab.relay(env.another_instance("relay-b"))
    recvs = [lab.receiver(env, rid) for rid in env.recipients]
    started(lab, env, "--minutes", "0.05", "--grace", "0.02")
    release = epoch(state(env)["release_at"])
    for recv in recvs:
        recv.wait_alerts(1, timeout=release - time.time() + 5)
    time.sleep(3)
    for recv in recvs:
        assert len(recv.alerts()) == 1, recv.alerts()
    c = redis.client()
    try:
        assert c("XLEN", env.redis["prefix"] + ":alerts") == 1
    finally:
        c.close()
    raised = [l for l in (relay_a.log() + relay_b.log()).splitlines()
              if "checkin missed" in l]
    assert len(raised) == 1, raised


def second_device(env):
    """Another enrolled device, with its own configuration and outbox."""
    pk = harness.keygen("device", env.dir / "mayor-b", harness.default_keygen())
    env.extra_devices["mayor-b"] = (pk, "Wethouder-B")
    env.write_relay_conf()
    conf = env.write_client_conf(path=env.dir / "b.conf", device_id="mayor-b",
                                 device_key=env.dir / "mayor-b.key",
                                 outbox=env.dir / "outbox-b")
    return conf, proto.device_signing_key(env.dir / "mayor-b.key")


def checkin_frame(key, device_id, checkin_id, op="done"):
    body = json.dumps({"checkin_id": checkin_id, "created_at": proto.rfc3339_now(),
                       "device_id": device_id, "op": op, "v": 1},
                      separators=(",", ":"), sort_keys=True).encode()
    return {"type": "checkin", "checkin": proto.b64e(body),
            "checkin_sig": proto.b64e(key.sign(SIGCTX_CHECKIN + body).signature)}


@pytest.mark.hard_timeout(60)
def test_checkin_from_another_device_is_refused(lab):
    env = checkin_env(lab)
    b_conf, b_key = second_device(env)
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    started(lab, env, "--minutes", "0.15", "--grace", "0.05")
    st = state(env)
    cid = st["checkin_id"]
    # device B holding A's record: its done is B's, and A's check-in is
    # not B's to end
    (env.dir / "outbox-b").mkdir(mode=0o700, exist_ok=True)
    (env.dir / "outbox-b" / "checkin.json").write_text(json.dumps(st))
    cp = checkin(lab, env, "done", conf=b_conf)
    assert cp.returncode == 1
    assert "no running check-in" in cp.stderr or "geen lopende" in cp.stderr, cp.stderr
    # by hand: B claiming to be A, and A's signature over B's session
    s = device_session(env, device_id="mayor-b", key_path=env.dir / "mayor-b.key")
    try:
        answer = s.c.request(checkin_frame(b_key, env.device_id, cid))
        assert answer["type"] == "error" and answer["code"] == "bad_envelope", answer
    finally:
        s.c.close()
    s = device_session(env, device_id="mayor-b", key_path=env.dir / "mayor-b.key")
    try:
        a_key = proto.device_signing_key(env.device_key)
        answer = s.c.request(checkin_frame(a_key, env.device_id, cid))
        assert answer["type"] == "error" and answer["code"] == "bad_signature", answer
    finally:
        s.c.close()
    s = device_session(env, device_id="mayor-b", key_path=env.dir / "mayor-b.key")
    try:
        answer = s.c.request(checkin_frame(b_key, "mayor-b", cid))
        assert answer["type"] == "error" and answer["code"] == "unknown_checkin", answer
    finally:
        s.c.close()
    # A's check-in still runs: the alert goes out at its time
    release = epoch(st["release_at"])
    alerts = recv.wait_alerts(1, timeout=release - time.time() + 5)
    assert alerts[0]["alert_type"] == "missed_checkin"
    assert alerts[0]["device_id"] == env.device_id


@pytest.mark.hard_timeout(60)
def test_stored_checkin_is_unreadable_in_redis(lab):
    env = checkin_env(lab)
    redis = lab.redis(env)
    relay = lab.relay(env)
    started(lab, env, "--minutes", "5", "--message", MESSAGE)
    cid = state(env)["checkin_id"]
    c = redis.client()
    try:
        h = c.hgetall("%s:checkin:%s" % (env.redis["prefix"], cid))
        assert h["state"] == "active" and h["dev"] == env.device_id
        envelope = json.loads(base64.b64decode(h["envelope"]))
        assert envelope["alert_type"] == "missed_checkin"
        everything = c.dump_all_text()
        assert int(c("TTL", "%s:checkin:%s" % (env.redis["prefix"], cid))) > 0
    finally:
        c.close()
    for needle in (MESSAGE, "Dorpsstraat",
                   base64.b64encode(MESSAGE.encode()).decode()[:16]):
        assert needle not in everything
    # the device's own record holds it sealed too
    assert "Dorpsstraat" not in (env.dir / "outbox" / "checkin.json").read_text()
    assert "Dorpsstraat" not in relay.log()
    assert checkin(lab, env, "done").returncode == 0


@pytest.mark.hard_timeout(60)
def test_extend_moves_the_deadline(lab):
    env = checkin_env(lab)
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    started(lab, env, "--minutes", "0.05", "--grace", "0", "--message", MESSAGE)
    first = epoch(state(env)["release_at"])
    cp = checkin(lab, env, "extend", "--minutes", "0.15")
    assert cp.returncode == 0, cp.stderr
    later = epoch(state(env)["release_at"])
    assert later >= first + 5
    time.sleep(max(0, first - time.time()) + 2)
    assert recv.alerts() == [], "not at the first deadline"
    alerts = recv.wait_alerts(1, timeout=later - time.time() + 5)
    assert time.time() >= later - 1
    assert alerts[0]["message"] == MESSAGE, "sealed again from the device's record"


def start_frame(key, device_id, envelope_b64, deadline_s=60, release_s=120):
    def at(s):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + s))
    body = json.dumps({"alert_id": "ab" * 16, "checkin_id": "cd" * 16,
                       "created_at": proto.rfc3339_now(), "deadline": at(deadline_s),
                       "device_id": device_id, "op": "start",
                       "release_at": at(release_s), "v": 1},
                      separators=(",", ":"), sort_keys=True).encode()
    return {"type": "checkin", "checkin": proto.b64e(body),
            "checkin_sig": proto.b64e(key.sign(SIGCTX_CHECKIN + body).signature),
            "envelope": envelope_b64, "sig": proto.b64e(b"\0" * 64)}


@pytest.mark.hard_timeout(60)
def test_what_a_device_can_store_is_bounded(lab):
    """One running check-in per device, a size limit on the prepared alert,
    and a rate limit on requests."""
    env = lab.env()
    env.sections = {"checkin": {"max_bytes": 1024, "rate": 1, "burst": 3,
                                "max_duration": 60}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    key = proto.device_signing_key(env.device_key)
    started(lab, env, "--minutes", "5")                          # 1
    first = state(env)["checkin_id"]
    (env.dir / "outbox" / "checkin.json").unlink()  # the record lost
    cp = checkin(lab, env, "start", "--minutes", "5")            # 2
    assert cp.returncode == 1
    assert "Another check-in" in cp.stderr or "andere check-in" in cp.stderr, cp.stderr
    assert not (env.dir / "outbox" / "checkin.json").exists()
    s = device_session(env)
    try:                                                         # 3
        big = proto.b64e(b"x" * 2048)
        answer = s.c.request(start_frame(key, env.device_id, big))
        assert answer["type"] == "error" and answer["code"] == "bad_envelope", answer
        assert "max_bytes" in answer["message"]
    finally:
        s.c.close()
    s = device_session(env)
    try:                                                         # 4
        answer = s.c.request(checkin_frame(key, env.device_id, first))
        assert answer["type"] == "error" and answer["code"] == "rate_limited", answer
    finally:
        s.c.close()


@pytest.mark.hard_timeout(60)
def test_a_checkin_beyond_max_duration_is_refused(lab):
    env = lab.env()
    env.sections = {"checkin": {"max_duration": 30}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    cp = checkin(lab, env, "start", "--minutes", "40", "--timeout", "5")
    assert cp.returncode == 1
    assert "CHECK-IN NOT SET" in cp.stderr or "NIET INGESTELD" in cp.stderr
    assert "max_duration" in cp.stderr
    # refused for good: no record left behind to block the next one
    assert not (env.dir / "outbox" / "checkin.json").exists()
    started(lab, env, "--minutes", "20", "--grace", "5")


def checkin_then_directory(lab, what):
    """A running check-in, then a signed directory v2 with the device
    revoked or removed (what: "revoked" or "removed"), reloaded before
    its release."""
    env = checkin_env(lab)
    env.use_directory(1)
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    started(lab, env, "--minutes", "0.05", "--grace", "0.02",
            "--message", MESSAGE)
    cid = state(env)["checkin_id"]
    release = epoch(state(env)["release_at"])
    env.sign_directory(2, **{what: [env.device_id]})
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"configuration reloaded", timeout=10)
    assert time.time() < release
    return env, redis, relay, recv, cid, release


def released_record(redis, env, cid, action):
    """Once released and its audit record (action) is in Redis (they go
    in batches): the check-in's hash, the length of the alerts stream
    and the relay's audit records."""
    c = redis.client()
    pfx = env.redis["prefix"] + ":"

    def audit():
        return [json.loads(f["r"]) for _, f in
                c.xrange(pfx + "audit:" + env.relay["instance_id"])]
    try:
        harness.wait_until(
            lambda: c.hgetall(pfx + "checkin:" + cid).get("state") ==
            "released" and any(x["action"] == action for x in audit()),
            10, what="check-in released, %s audited" % action)
        return (c.hgetall(pfx + "checkin:" + cid), c("XLEN", pfx + "alerts"),
                audit())
    finally:
        c.close()


@pytest.mark.hard_timeout(90)
def test_a_revoked_device_s_checkin_is_raised_marked(lab):
    """The device is revoked (signed directory, reload) while its
    check-in runs: a phone reported lost or stolen, perhaps taken from
    the official during the visit the check-in is for.  At the release
    the alarm goes out all the same (sealed and signed by the device
    when it started, while valid), logged and audited as of a revoked
    device, and the contact point shows it marked revoked.  A new alert
    from the revoked device is still refused.  Before, the check-in
    ended as "revoked" and nothing was raised."""
    env, redis, relay, recv, cid, release = \
        checkin_then_directory(lab, "revoked")
    (a,) = recv.wait_alerts(1, timeout=release - time.time() + 10)
    assert time.time() >= release - 1, "not before its time"
    assert a["alert_type"] == "missed_checkin"
    assert a["message"] == MESSAGE
    assert a["device_id"] == env.device_id
    assert a["verified"] is True and a["device_revoked"] is True
    relay.proc.wait_for("checkin=%s: its device %s is revoked since it "
                        "started" % (cid, env.device_id), "stderr", 5)
    relay.proc.wait_for(r"checkin missed checkin=%s .*device_revoked=1"
                        % cid, "stderr", 5)
    ck, nalerts, recs = released_record(redis, env, cid, "alert.accepted")
    assert ck["result"] == "raised" and nalerts == 1
    (rec,) = [x for x in recs if x["action"] == "alert.accepted"]
    assert rec["object"] == "alert:" + a["alert_id"]
    assert rec["reason"] == "checkin device_revoked"
    assert rec["actor"] == "device:" + env.device_id
    assert not [x for x in recs if x["action"] == "alert.refused" and
                x["object"] == "checkin:" + cid]
    # the revoked device itself is still refused: nothing new from it
    rc, out, err = lab.send(env, "--type", "panic", "--message",
                            "nieuw", timeout=60)
    assert rc != 0 and "relay error revoked" in err, err
    time.sleep(2)
    assert len(recv.alerts()) == 1


@pytest.mark.hard_timeout(60)
def test_a_removed_device_s_checkin_raises_nothing(lab):
    """The device is removed from the signed directory while its
    check-in runs: at the release nothing is raised, the check-in ends
    as "unknown_device", and the audit log records the refusal."""
    env, redis, relay, recv, cid, release = \
        checkin_then_directory(lab, "removed")
    relay.proc.wait_for("checkin=%s: its device is no longer enrolled" % cid,
                        "stderr", release - time.time() + 5)
    time.sleep(2)
    assert recv.alerts() == []
    ck, nalerts, recs = released_record(redis, env, cid, "alert.refused")
    assert ck["result"] == "unknown_device" and "envelope" not in ck
    assert nalerts == 0
    (rec,) = [x for x in recs if x["action"] == "alert.refused"]
    assert rec["object"] == "checkin:" + cid
    assert rec["reason"] == "unknown_device"
    assert rec["actor"] == "device:" + env.device_id
