"""Webhook delivery against a receiver in Python that fails on purpose
(harness.WebhookRecorder): Standard Webhooks signatures, retries with the
same webhook-id until a 2xx, then no more; an answer with a long body
(webhook or SMS gateway) is cut, and its status still counts."""

import json
import time

import pytest

import harness
import proto
from helpers import device_verify_key, recipient_sk, send_ok, stream_alert_ids

FAST = {"retry_initial_ms": 300, "retry_max_ms": 1500, "connect_timeout": 2,
        "request_timeout": 3}


def stack_with_recorders(lab, statuses=None, delays=None, delivery=FAST):
    """Relay whose recipients point at WebhookRecorders (which must exist
    before the configuration, so their ports are known)."""
    pre = lab.env(delivery=delivery)
    recs = {}
    for rid, r in pre.recipients.items():
        recs[rid] = lab.recorder(r.secret_text,
                                 statuses=(statuses or {}).get(rid, ()),
                                 delays=(delays or {}).get(rid, ()))
        r.webhook_port = recs[rid].port
    pre.write_relay_conf()
    env, redis, relay, _ = lab.stack(pre)
    return env, redis, relay, recs


def check_webhook(env, rid, attempt, alert_id, message):
    h, body = attempt["headers"], attempt["json"]
    assert attempt["path"] == "/hook"
    assert attempt["sig_ok"], "bad webhook signature: %s" % h
    assert h.get("content-type", "").startswith("application/json")
    ts = int(h["webhook-timestamp"])
    assert abs(ts - time.time()) < 120
    assert body["type"] == "alert.raised"
    assert body["alert_id"] == alert_id and body["recipient_id"] == rid
    assert body["device_id"] == env.device_id
    inner = proto.open_sealed(body["ciphertext"], recipient_sk(env, rid),
                              device_verify_key(env))
    assert inner["message"] == message
    for k in ("alert_id", "device_id", "alert_type", "created_at"):
        assert inner[k] == body[k], k


@pytest.mark.hard_timeout(60)
def test_retries_until_2xx_then_stops(lab):
    env, redis, relay, recs = stack_with_recorders(
        lab, statuses={"contactpunt": [500, 500]})
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message",
                             "drie pogingen", "--timeout", "20")
    attempts = recs["contactpunt"].wait_attempts(3, timeout=20)
    assert [a["status"] for a in attempts] == [500, 500, 200]
    ids = {a["headers"]["webhook-id"] for a in attempts}
    assert len(ids) == 1, "webhook-id changed between retries: %s" % ids
    for a in attempts:
        check_webhook(env, "contactpunt", a, alert_id, "drie pogingen")
    assert attempts[1]["json"] == attempts[0]["json"], "body changed on retry"
    # backing off, not hammering
    assert attempts[2]["time"] - attempts[0]["time"] >= 0.25
    time.sleep(4)  # > retry_max_ms twice over: nothing more may come
    assert len(recs["contactpunt"].snapshot()) == 3
    # the other recipient got it once, on the first try
    other = recs["oncall-1"].snapshot()
    assert len(other) == 1 and other[0]["status"] == 200
    assert other[0]["headers"]["webhook-id"] not in ids
    r = redis.client()
    h = r.hgetall("alertrelay:alert:" + alert_id)
    assert "delivered:contactpunt" in h and "delivered:oncall-1" in h
    assert int(h["delivered:contactpunt"]) > 1_600_000_000_000
    pending = r("XPENDING", "alertrelay:deliveries", "dispatch")
    assert pending[0] == 0, "deliveries left pending: %s" % pending


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("statuses", [[404], [400, 503], [302]],
                         ids=["404", "400-503", "302"])
def test_any_non_2xx_is_retried(lab, statuses):
    env, redis, relay, recs = stack_with_recorders(
        lab, statuses={"contactpunt": statuses})
    alert_id, _, _ = send_ok(lab, env, "--type", "test", "--message", "x",
                             "--timeout", "20")
    n = len(statuses) + 1
    attempts = recs["contactpunt"].wait_attempts(n, timeout=20)
    assert [a["status"] for a in attempts] == statuses + [200]
    time.sleep(2.5)
    assert len(recs["contactpunt"].snapshot()) == n


@pytest.mark.hard_timeout(60)
def test_slow_receiver_times_out_and_is_retried(lab):
    # request_timeout is 3 (FAST); the first answer comes after 20 s
    env, redis, relay, recs = stack_with_recorders(
        lab, delays={"contactpunt": [20]})
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message", "traag",
                             "--timeout", "20")
    attempts = recs["contactpunt"].wait_attempts(2, timeout=25)
    # an order, not a wall-clock bound (speed is `make bench`'s): the
    # retry came while the first answer was still held back
    answered = attempts[0].get("answered")
    assert answered is None or attempts[1]["time"] < answered, \
        "the relay waited for the slow answer instead of request_timeout"
    assert attempts[0]["headers"]["webhook-id"] == attempts[1]["headers"]["webhook-id"]
    r = redis.client()
    harness.wait_until(lambda: "delivered:contactpunt" in
                       r.hgetall("alertrelay:alert:" + alert_id), 15,
                       what="delivered:contactpunt")


@pytest.mark.hard_timeout(60)
def test_failing_recipient_does_not_delay_the_other(lab):
    env, redis, relay, recs = stack_with_recorders(
        lab, statuses={"contactpunt": [500] * 100})
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--timeout", "20")
    got = recs["oncall-1"].wait_attempts(1, timeout=10)
    assert got[0]["status"] == 200
    # not delayed by the failing one: an order, not a wall-clock bound
    # (speed is `make bench`'s).  oncall-1 had its notification before
    # contactpunt's third attempt, two backoffs (retry_initial_ms 300,
    # then 600) after its first; a relay that tried one recipient until
    # it gave up before the next would come after all of them
    failing = recs["contactpunt"].wait_attempts(3, timeout=10)
    assert got[0]["time"] < failing[2]["time"], (
        "oncall-1 only after contactpunt's retries",
        got[0]["time"] - failing[0]["time"])
    # contactpunt keeps being retried, with backoff (not more than ~1/300ms)
    time.sleep(3)
    n = len(recs["contactpunt"].snapshot())
    assert 2 <= n <= 12, "%d attempts in ~3s" % n
    h = redis.client().hgetall("alertrelay:alert:" + alert_id)
    assert "delivered:oncall-1" in h and "delivered:contactpunt" not in h


@pytest.mark.hard_timeout(60)
def test_many_alerts_each_delivered_once(lab):
    env, redis, relay, recs = stack_with_recorders(lab)
    ids = [send_ok(lab, env, "--type", "test", "--message", "nr %d" % i,
                   "--timeout", "20")[0] for i in range(5)]
    for rec in recs.values():
        attempts = rec.wait_attempts(5, timeout=20)
        assert sorted(a["json"]["alert_id"] for a in attempts) == sorted(ids)
    time.sleep(1.5)
    assert all(len(rec.snapshot()) == 5 for rec in recs.values())
    assert stream_alert_ids(redis.client(), env) == ids
    assert all(json.loads(a["body"])["type"] == "alert.raised"
               for rec in recs.values() for a in rec.snapshot())


@pytest.mark.hard_timeout(90)
def test_hanging_receiver_holds_up_only_its_own_deliveries(lab):
    """40 alerts at once while one receiver hangs on its first 16 requests:
    the relay runs at most 16 requests to one origin and queues the rest
    (left to curl, its pending list made a burst cost n squared), the other
    receiver gets all 40 meanwhile, and once the hung requests time out the
    queue drains and every alert reaches the hanging one too."""
    env, redis, relay, recs = stack_with_recorders(
        lab, delays={"contactpunt": [10] * 16},
        delivery=dict(FAST, request_timeout=8))
    s = harness.device_session(env)
    ids = [s.send_alert("test", message="burst %d" % i)["alert_id"]
           for i in range(40)]
    fast = recs["oncall-1"].wait_attempts(40, timeout=10)
    assert sorted(a["json"]["alert_id"] for a in fast) == sorted(ids)
    assert all(a["status"] == 200 and a["sig_ok"] for a in fast)
    recs["contactpunt"].wait_attempts(16, timeout=5)
    time.sleep(1.0)  # still hung: nothing more went to that origin
    hung = recs["contactpunt"].snapshot()
    assert len(hung) == 16, "%d requests at once to one origin" % len(hung)
    r = redis.client()
    for aid in ids:
        harness.wait_until(lambda: "delivered:contactpunt" in
                           r.hgetall("alertrelay:alert:" + aid), 30,
                           what="delivered:contactpunt for " + aid)
    done = {a["json"]["alert_id"] for a in recs["contactpunt"].snapshot()
            if a["status"] == 200}
    assert done == set(ids)


@pytest.mark.hard_timeout(120)
@pytest.mark.parametrize("down", ["500", "unreachable"])
def test_receiver_down_holds_back_no_new_alert(lab, down):
    """One receiver down (answering 500, or nothing listening) with
    max_inflight = 3 and max_attempts = 1: what waits to be retried to it
    is bounded apart from what is being made, so every new alert's first
    tier still reaches the healthy receiver at once (it stopped at the
    third alert when they shared max_inflight); those that find no room to
    wait in memory stay pending in Redis, one per alert, and go through
    once the receiver is back."""
    n = 8
    env = lab.env(delivery=dict(FAST, max_inflight=3, max_attempts=1,
                                claim_idle_ms=2000))
    healthy = lab.recorder_for(env, "oncall-1")
    down_rec = (lab.recorder_for(env, "contactpunt", default=500)
                if down == "500" else None)
    redis = lab.redis(env)
    lab.relay(env)
    s = harness.device_session(env)
    t0 = time.monotonic()
    ids = [s.send_alert("panic", message="nr %d" % i)["alert_id"]
           for i in range(n)]
    got = healthy.wait_attempts(n, timeout=15)
    assert sorted(a["json"]["alert_id"] for a in got) == sorted(ids)
    assert all(a["status"] == 200 and a["json"]["tier"] == 0 for a in got)
    assert max(a["time"] for a in got) - t0 < 15
    r = redis.client()
    # one notification per alert still pending for the receiver that is
    # down, not one per retry or repeat
    harness.wait_until(lambda: r("XLEN", "alertrelay:deliveries") == n, 10,
                       what="%d deliveries pending" % n)
    time.sleep(3)  # retries and takeovers of those left in Redis meanwhile
    assert r("XLEN", "alertrelay:deliveries") == n
    if down == "500":
        down_rec.default = 200
    else:
        down_rec = lab.recorder_for(env, "contactpunt")
    for aid in ids:
        harness.wait_until(lambda: "delivered:contactpunt" in
                           r.hgetall("alertrelay:alert:" + aid), 30,
                           what="delivered:contactpunt for " + aid)
    ok = [a["json"]["alert_id"] for a in down_rec.snapshot()
          if a["status"] == 200]
    assert sorted(ok) == sorted(ids), "each alert once, once back: %s" % ok
    assert r("XLEN", "alertrelay:deliveries") == 0


LONG_ANSWER = b"<html>" + b"x" * 20000 + b"</html>"  # over the 16 KiB read


@pytest.mark.hard_timeout(60)
def test_long_answer_body_is_cut_and_its_status_counts(lab):
    """A receiver that answers with a 20 kB page: the relay reads 16 KiB
    of it and takes the status, so a 500 is retried and the 200 that
    follows is a delivery, once.  Before the fix every such answer was a
    transfer error: retried for ever, never delivered."""
    pre = lab.env(delivery=FAST)
    recs = {}
    for rid, r in pre.recipients.items():
        recs[rid] = lab.recorder(r.secret_text, answer=LONG_ANSWER,
                                 statuses=[500] if rid == "contactpunt"
                                 else [])
        r.webhook_port = recs[rid].port
    pre.write_relay_conf()
    env, redis, relay, _ = lab.stack(pre)
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message", "x",
                             "--timeout", "20")
    attempts = recs["contactpunt"].wait_attempts(2, timeout=20)
    assert [a["status"] for a in attempts] == [500, 200]
    r = redis.client()
    harness.wait_until(lambda: "delivered:contactpunt" in
                       r.hgetall("alertrelay:alert:" + alert_id), 10,
                       what="the delivery recorded")
    time.sleep(3.5)  # > retry_max_ms twice over: nothing more may come
    assert len(recs["contactpunt"].snapshot()) == 2
    assert len(recs["oncall-1"].snapshot()) == 1
    h = r.hgetall("alertrelay:alert:" + alert_id)
    assert "delivered:oncall-1" in h, h
    assert r.hgetall("alertrelay:unreached:" + alert_id) == {}


@pytest.mark.hard_timeout(60)
def test_sms_gateway_long_answer_sends_one_sms(lab):
    """An HTTP SMS gateway that answers 200 with a 20 kB page sent the SMS:
    one request, delivered, no second SMS.  Before the fix each answer
    was a failure and the phone got an SMS every retry."""
    pre = lab.env(delivery=FAST)
    for rid, r in pre.recipients.items():
        r.webhook_port = lab.recorder(r.secret_text).port
    gw = lab.recorder(pre.recipients["contactpunt"].secret_text,
                      answer=LONG_ANSWER)
    pre.gateways = {"web": {"type": "http",
                            "url": "http://127.0.0.1:%d/send" % gw.port,
                            "body": "to={to}&text={text}"}}
    pre.recipient_extra["contactpunt"] = {"sms": "+31600000001",
                                          "sms_gateway": "web"}
    pre.policies = {"default": {"types": "panic threat",
                                "tier": ["0 contactpunt:sms"], "repeat": 0,
                                "max_age": 3600}}
    pre.write_relay_conf()
    env, redis, relay, _ = lab.stack(pre)
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message", "x",
                             "--timeout", "20")
    gw.wait_attempts(1, timeout=15)
    r = redis.client()
    harness.wait_until(lambda: "delivered:contactpunt" in
                       r.hgetall("alertrelay:alert:" + alert_id), 10,
                       what="the SMS recorded as delivered")
    time.sleep(3.5)
    assert len(gw.snapshot()) == 1, gw.snapshot()
    assert r.hgetall("alertrelay:unreached:" + alert_id) == {}
