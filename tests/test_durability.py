"""Accepted means durable: the alert is in Redis before the device hears
"accepted", resends are deduplicated, and a relay killed with SIGKILL
delivers after its restart."""

import re
import time

import pytest

import harness
from helpers import (ACCEPTED_RX, authed, deliveries_added, device_key,
                     device_verify_key,
                     recipient_pks, recipient_sk, send_ok, still,
                     stream_alert_ids)
import proto


@pytest.mark.hard_timeout(60)
def test_accepted_only_after_redis_has_it(lab):
    env, redis, relay, _ = lab.stack()
    rec = lab.recorder_for(env, "contactpunt")
    redis.pause()
    send = lab.send_proc(env, "--type", "panic", "--message", "wacht op redis",
                         "--timeout", "30")
    m = send.wait_for(r"^alert_id=([0-9a-f]{32})$", "stdout", timeout=10)
    alert_id = m.group(1)
    time.sleep(2.5)
    assert not any(l.startswith("accepted") for l in send.snapshot("stdout")), \
        "client saw accepted while Redis was stopped: %s" % send.snapshot("stdout")
    assert send.running(), "alertctl send gave up within 2.5s of a stalled Redis"
    redis.resume()
    acc = send.wait_for(ACCEPTED_RX.pattern, "stdout", timeout=25)
    assert acc.group(1) == alert_id
    assert send.wait_exit(10) == 0
    r = redis.client()
    entries = r.xrange("alertrelay:alerts")
    assert [(eid, f["alert_id"]) for eid, f in entries] == [(acc.group(2), alert_id)]
    got = rec.wait_attempts(1, timeout=20)
    assert got[0]["json"]["alert_id"] == alert_id and got[0]["sig_ok"]


@pytest.mark.needs("alertrelayd")
@pytest.mark.hard_timeout(60)
def test_raw_accepted_only_after_redis_has_it(lab):
    """The same at the protocol level, without the client's retries."""
    env, redis, relay, _ = lab.stack()
    frame, _, alert_id = proto.build_alert(device_key(env), env.device_id,
                                           recipient_pks(env), alert_type="panic")
    with authed(env) as c:
        redis.pause()
        c.send_frame(frame)
        try:
            early = c.recv_frame(timeout=2.5)
        except TimeoutError:
            early = None
        if early is not None:  # "unavailable" is allowed, accepted is not
            redis.resume()
            assert early["type"] == "error" and early["code"] == "unavailable", early
            return
        redis.resume()
        acc = c.recv_frame(timeout=20)
    assert acc["type"] == "accepted" and acc["alert_id"] == alert_id, acc
    assert stream_alert_ids(redis.client(), env) == [alert_id]


@pytest.mark.hard_timeout(60)
def test_resend_with_alert_id_is_a_duplicate(lab):
    """`alertctl send --alert-id ID` with the same alert sends the stored
    envelope (outbox) again: the relay says duplicate, with the same
    relay_id, and nothing is stored or delivered twice."""
    env, redis, relay, _ = lab.stack()
    recs = [lab.recorder_for(env, rid) for rid in env.recipients]
    args = ["--type", "panic", "--message", "eenmaal", "--lat", "52.37",
            "--lon", "4.89", "--timeout", "20"]
    alert_id, relay_id, _ = send_ok(lab, env, *args)
    outbox = env.dir / "outbox"
    assert (outbox / (alert_id + ".json")).is_file(), sorted(outbox.iterdir())
    for rec in recs:
        rec.wait_attempts(1, timeout=20)
    again, relay_id2, lines = send_ok(lab, env, *args, "--alert-id", alert_id)
    assert again == alert_id and relay_id2 == relay_id
    assert lines[-1].endswith(" (duplicate)"), lines
    r = redis.client()
    assert stream_alert_ids(r, env) == [alert_id]
    assert deliveries_added(r, env) == 2
    for rec in recs:
        assert still(lambda: len(rec.snapshot()), 2.0) == [1]


@pytest.mark.hard_timeout(60)
def test_alert_id_reused_for_another_alert_is_refused(lab):
    """The same --alert-id with a different message is a different
    envelope: the relay answers conflict, the client exits 1, the first
    alert stays as it was."""
    env, redis, relay, _ = lab.stack()
    rec = lab.recorder_for(env, "contactpunt")
    alert_id, _, _ = send_ok(lab, env, "--type", "threat", "--message", "eerste")
    rc, lines, err = lab.send(env, "--type", "threat", "--message", "andere",
                              "--alert-id", alert_id, "--timeout", "10")
    assert rc == 1, (lines, err)
    assert not any(l.startswith("accepted") for l in lines)
    assert "conflict" in err.lower(), err
    assert stream_alert_ids(redis.client(), env) == [alert_id]
    got = rec.wait_attempts(1, timeout=20)
    assert still(lambda: len(rec.snapshot()), 1.5) == [1]
    inner = proto.open_sealed(got[0]["json"]["ciphertext"],
                              recipient_sk(env, "contactpunt"),
                              device_verify_key(env))
    assert inner["message"] == "eerste"


@pytest.mark.hard_timeout(90)
def test_sigkill_after_accept_then_restart_delivers(lab):
    """Accepted while the receiver is down; the relay dies by SIGKILL; the
    receiver comes up; the restarted relay (same instance_id) delivers it,
    once."""
    env = lab.env(delivery={"retry_initial_ms": 200, "retry_max_ms": 1000,
                            "connect_timeout": 2, "request_timeout": 3})
    redis = lab.redis(env)
    relay = lab.relay(env)
    alert_id, relay_id, _ = send_ok(lab, env, "--type", "panic", "--message",
                                    "na de crash", "--timeout", "20")
    time.sleep(0.5)  # let a delivery attempt fail (nothing listens)
    assert relay.kill9() == -9
    r = redis.client()
    assert stream_alert_ids(r, env) == [alert_id]
    assert not any(k.startswith("delivered:") for k in
                   r.hgetall("alertrelay:alert:" + alert_id))
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    time.sleep(1.0)
    assert all(rec.snapshot() == [] for rec in recs.values())  # nobody else sends
    relay.restart()
    for rid, rec in recs.items():
        a = rec.wait_attempts(1, timeout=30)[0]
        assert a["sig_ok"] and a["status"] == 200
        assert a["json"]["alert_id"] == alert_id
        inner = proto.open_sealed(a["json"]["ciphertext"], recipient_sk(env, rid),
                                  device_verify_key(env))
        assert inner["message"] == "na de crash"
    harness.wait_until(lambda: all(
        "delivered:" + rid in r.hgetall("alertrelay:alert:" + alert_id)
        for rid in recs), 10, what="delivered marks")
    for rec in recs.values():
        assert still(lambda: len(rec.snapshot()), 2.0) == [1]


@pytest.mark.hard_timeout(90)
def test_redis_crash_loses_nothing_accepted(lab):
    """Redis killed with SIGKILL right after "accepted" and restarted from
    its AOF: the alert is still there and gets delivered."""
    env = lab.env(delivery={"retry_initial_ms": 200, "retry_max_ms": 1000})
    redis = lab.redis(env)
    relay = lab.relay(env)
    alert_id, relay_id, _ = send_ok(lab, env, "--type", "panic", "--timeout", "20")
    assert redis.kill() == -9
    redis.start()
    r = redis.client()
    assert stream_alert_ids(r, env) == [alert_id]
    rec = lab.recorder_for(env, "contactpunt")
    a = rec.wait_attempts(1, timeout=40)
    assert a[0]["json"]["alert_id"] == alert_id
    assert relay.proc.running()
    # and the relay serves new alerts on the new Redis connection
    alert2, _, _ = send_ok(lab, env, "--type", "test", "--timeout", "20")
    assert rec.wait_attempts(2, timeout=30)[1]["json"]["alert_id"] == alert2


@pytest.mark.hard_timeout(60)
def test_send_waits_for_a_relay_that_comes_up(lab):
    """The relay is down when the button is pressed; alertctl keeps trying
    within --timeout and gets the alert accepted once the relay is up."""
    env = lab.env()
    redis = lab.redis(env)
    send = lab.send_proc(env, "--type", "panic", "--message", "later",
                         "--timeout", "30")
    send.wait_for(r"^alert_id=", "stdout", timeout=10)
    time.sleep(2)
    assert send.running(), send.tail()
    lab.relay(env)
    acc = send.wait_for(ACCEPTED_RX.pattern, "stdout", timeout=25)
    assert send.wait_exit(10) == 0
    assert stream_alert_ids(redis.client(), env) == [acc.group(1)]


@pytest.mark.hard_timeout(90)
def test_redis_down_then_back(lab):
    """Redis is down (not just slow): the relay answers unavailable or
    holds the alert unconfirmed, the client retries, and the alert is
    accepted once Redis is back."""
    env = lab.env()
    redis = lab.redis(env)
    lab.relay(env)
    assert redis.stop() == 0
    send = lab.send_proc(env, "--type", "panic", "--message", "redis weg",
                         "--timeout", "45")
    send.wait_for(r"^alert_id=", "stdout", timeout=10)
    time.sleep(3)
    assert not any(l.startswith("accepted") for l in send.snapshot("stdout"))
    redis.start()
    acc = send.wait_for(ACCEPTED_RX.pattern, "stdout", timeout=40)
    assert send.wait_exit(10) == 0
    assert stream_alert_ids(redis.client(), env) == [acc.group(1)]


@pytest.mark.hard_timeout(60)
def test_receiver_down_then_up(lab):
    """Nothing listens at the webhook URL at first (connection refused);
    the relay keeps retrying and delivers once the receiver is up."""
    env = lab.env(delivery={"retry_initial_ms": 200, "retry_max_ms": 1000})
    env, redis, relay, _ = lab.stack(env)
    alert_id, _, _ = send_ok(lab, env, "--type", "threat", "--message", "straks")
    time.sleep(2)
    rec = lab.recorder_for(env, "contactpunt")
    a = rec.wait_attempts(1, timeout=15)[0]
    assert a["json"]["alert_id"] == alert_id and a["sig_ok"]
    assert still(lambda: len(rec.snapshot()), 1.5) == [1]


@pytest.mark.hard_timeout(60)
def test_scripts_sent_by_sha_and_again_whole_after_script_flush(lab):
    """The relay sends a script whole once per connection, then by its
    SHA-1; if Redis forgets its scripts (SCRIPT FLUSH), the next alert is
    still accepted and stored, sent whole again."""
    env, redis, relay, _ = lab.stack()
    s = harness.device_session(env)
    first = s.send_alert("test")
    r = redis.client()
    info = r("INFO", "commandstats")
    assert "cmdstat_eval:" in info
    before = r("INFO", "commandstats")
    second = s.send_alert("test")
    after = r("INFO", "commandstats")

    def calls(info, cmd):
        m = re.search(r"cmdstat_%s:calls=(\d+)" % cmd, info)
        return int(m.group(1)) if m else 0
    assert calls(after, "evalsha") > calls(before, "evalsha")
    assert r("SCRIPT", "FLUSH") == "OK"
    third = s.send_alert("test")
    ids = [a["alert_id"] for a in (first, second, third)]
    assert stream_alert_ids(r, env) == ids
    for aid in ids:
        assert r.hgetall("alertrelay:alert:" + aid)["state"] == "open"
