"""The first attempt of an alert's first notifications is made with the
alert as the relay accepted it, without reading it back from Redis
(daemon/dispatch_fresh.h, issue 16: one Redis round trip less between a
press and the webhook).  What it sends must be exactly what the Redis path
sends: a retry reads Redis, so the first attempt and the retry of one
notification must carry the same bytes."""

import json

import pytest

from helpers import send_ok
from test_service import admin_stack, scrape, val, wait_metric

FRESH = "alertrelay_deliveries_from_memory_total"
RECIPIENTS = ("contactpunt", "oncall-1")


@pytest.mark.hard_timeout(90)
def test_first_attempt_from_memory_is_what_redis_gives(lab):
    """Both recipients refuse the first attempt: the first body comes from
    memory (the counter says so), the retry's from Redis (script_meta),
    and the two are byte for byte the same, with every member a
    receiver needs (the sealed box, the envelope hash a signed
    acknowledgement names, the reference for SMS replies)."""
    env, port, redis, relay, _ = admin_stack(lab, recipients=RECIPIENTS,
                                             receivers=False)
    recs = {rid: lab.recorder_for(env, rid, statuses=[500])
            for rid in RECIPIENTS}
    s, _ = scrape(port)
    assert val(s, FRESH) == 0
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message",
                             "voordeur", "--timeout", "20")
    h = redis.client().hgetall("alertrelay:alert:" + alert_id)
    for rid, rec in recs.items():
        first, retry = rec.wait_attempts(2, timeout=20)[:2]
        assert [first["status"], retry["status"]] == [500, 200]
        assert first["body"] == retry["body"], rid
        b = json.loads(first["body"])
        assert b["type"] == "alert.raised" and b["alert_id"] == alert_id
        assert b["ciphertext"] == h["ct:" + rid]
        assert b["envelope_sha256"] == h["envelope_hash"]
        assert b["ref"] == h["ref"]
        assert b["received_at"] == h["received_at"]
        assert b["drill"] is False and "duress" not in b
    # one first attempt per recipient from memory; the retries read Redis
    wait_metric(port, FRESH, len(RECIPIENTS))

