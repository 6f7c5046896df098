"""A queued SMS of an alert held in the local spool (Redis down), against
real Kannel (its phones' fakesmsc stopped for real), a real relay and a
redis-server stopped for real.

Kannel answers "3: Queued for later delivery": it keeps the SMS and
sends it once its link is back.  When the alert moves into Redis, that
recipient must not be sent the SMS again (Kannel would queue a second
copy): they are marked not reached (queued) as the relay does with Redis
up (test_sms_queued.py), the next tier comes at once, and a reply to the
SMS that Kannel kept acknowledges.

Fails on the old code: the spool counted the queued SMS as a failure,
and moving the alert into Redis sent it once more (two sendsms requests
for the first recipient at Kannel)."""

import os
import time

import pytest

import harness
from harness import SMS_NUMBERS, sms_stack, wait_until
from helpers import parse_send
from test_sms_queued import CP, DELIVERY, POLICIES, TIER1_S

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def spooling_sms_stack(lab):
    """sms_stack with a spool_dir, started."""
    st = sms_stack(lab, POLICIES, delivery=DELIVERY, start=False)
    spool = st.env.dir / "spool"
    spool.mkdir()
    st.env.relay["spool_dir"] = spool
    st.env.write_relay_conf()
    if os.geteuid() == 0:  # the daemon drops root: let it write there
        harness.hand_to_daemon_user(st.env.dir)
    st.relay.start()
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % st.plain_port,
                           "stderr", 10)
    return st, spool


def move_into_redis(st, spool, aid):
    """Redis started again: the alert moves in, the spool empties, and
    the next tier comes at once (its SMS queued too)."""
    st.redis.start()
    wait_until(lambda: st.alert_hash(aid).get("state") == "open", 20,
               what="the alert moved into Redis")
    wait_until(lambda: os.path.getsize(spool / "spool.log") == 0, 10,
               what="the spool emptied")
    wait_until(lambda: st.alert_hash(aid).get("tier") == "1", 10,
               what="tier 1 brought forward")
    wait_until(lambda: st.kannel.sendsms_to(SMS_NUMBERS["oncall-1"]) == 1,
               10, what="tier 1's SMS at Kannel")
    time.sleep(3 * DELIVERY["retry_max_ms"] / 1000)  # room for resends


@pytest.mark.hard_timeout(150)
def test_queued_sms_from_the_spool_is_not_sent_again(lab):
    st, spool = spooling_sms_stack(lab)
    cp_number = SMS_NUMBERS["contactpunt"]
    st.kannel.stop_phones()
    st.redis.kill()
    t0 = time.monotonic()
    rc, lines, err = lab.send(st.env, "--type", "panic", "--message",
                              "spooled, queued", "--timeout", "20")
    assert rc == 0, (lines, err)
    aid, acc = parse_send(lines)
    assert acc.group(2).startswith("spool-"), acc.group(2)
    wait_until(lambda: st.kannel.sendsms_to(cp_number) == 1, 15,
               what="the spooled SMS at Kannel")
    wait_until(lambda: "channel=sms result=queued" in
               st.relay.proc.text("stderr"), 10, what="queued logged")

    move_into_redis(st, spool, aid)
    # the next tier at once, as with Redis up
    assert time.monotonic() - t0 < TIER1_S
    # Kannel holds the one copy
    assert st.kannel.sendsms_to(cp_number) == 1

    h = st.alert_hash(aid)
    assert h.get("ndelivered") == "0", h
    assert not [k for k in h if k.startswith("delivered:")], h
    failed = [e for e in st.events(aid) if e["event"] == "failed"
              and e["recipient"] == CP]
    assert len(failed) == 1 and "queued" in failed[0]["reason"], failed
    un = st.r()("HGET", "%s:unreached:%s" % (st.prefix, aid),
                "contactpunt|sms")
    assert un and '"queued":true' in un, un

    # the link back: what Kannel kept goes out, once; a reply counts
    st.kannel.start_phones()
    wait_until(lambda: [m for m in st.kannel.mt_messages()
                        if m.receiver == cp_number], 20,
               what="the queued SMS at the phone")
    assert st.sms_reply("contactpunt", "OK " + h["ref"]) == 200
    wait_until(lambda: st.alert_hash(aid)["state"] == "acknowledged", 10,
               what="acknowledged by the reply")
    assert st.alert_hash(aid)["acked_by"] == CP


@pytest.mark.hard_timeout(150)
def test_queued_sms_in_the_spool_survives_a_killed_relay(lab):
    """The spool's "queued" record is read back after SIGKILL: the
    restarted relay does not send the SMS again, nor does Redis."""
    st, spool = spooling_sms_stack(lab)
    cp_number = SMS_NUMBERS["contactpunt"]
    st.kannel.stop_phones()
    st.redis.kill()
    rc, lines, err = lab.send(st.env, "--type", "panic", "--message",
                              "spooled, queued, killed", "--timeout", "20")
    assert rc == 0, (lines, err)
    aid, acc = parse_send(lines)
    wait_until(lambda: "channel=sms result=queued" in
               st.relay.proc.text("stderr"), 15, what="queued logged")
    recs = [l for l in open(spool / "spool.log")]
    assert any('"op":"queued"' in l.replace(" ", "") for l in recs), recs
    st.relay.kill9()
    st.relay.restart(wait_redis=False)
    time.sleep(3 * DELIVERY["retry_max_ms"] / 1000)  # room for a resend
    assert st.kannel.sendsms_to(cp_number) == 1

    move_into_redis(st, spool, aid)
    assert st.kannel.sendsms_to(cp_number) == 1
    assert st.alert_hash(aid).get("ndelivered") == "0"
