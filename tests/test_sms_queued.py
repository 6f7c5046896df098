"""What an SMS gateway's "yes" means, against real Kannel (bearerbox,
smsbox, fakesmsc), a real relay and redis-server.

With the phones' SMS centre link down for real (their fakesmsc stopped),
Kannel still answers sendsms with HTTP 202, but "3: Queued for later
delivery" instead of "0: Accepted for delivery".  Such an SMS reached
nobody: the recipient is not marked delivered, the device is told NOT
REACHED instead of "delivered", the next tier comes at once (not when
its delay is up), and the relay does not send it again (each resend
would queue one more copy); once the link is back Kannel sends the one
it kept, and a reply to it acknowledges.  An SMS Kannel accepted is told
as handed to the gateway, not as delivered: no delivery report says the
phone got it.

Both tests fail on the old code: it took any 2xx as delivered
("delivered to Contactpunt by sms", `delivered:contactpunt`, tier 0
until its delay).  The queued SMS is logged in one line (result=queued);
the code before that also logged it as result=given_up."""

import time

import pytest

import harness
from harness import SMS_NUMBERS, sms_stack, wait_until

CP = "Contactpunt"
# Tier 1's delay: long, so that "brought forward" (within seconds of the
# alert, FORWARD_S) is told clearly from "at its time"; the test never
# waits for it.
TIER1_S = 120
FORWARD_S = TIER1_S / 12
POLICIES = {"default": {"types": "panic threat",
                        "tier": ["0 contactpunt:sms",
                                 "%d oncall-1:sms" % TIER1_S],
                        "max_age": 3600},
            "test": {"types": "test", "tier": "0 contactpunt:webhook"}}
DELIVERY = {"retry_initial_ms": 200, "retry_max_ms": 600, "max_attempts": 3}


def status(st, aid, language="en"):
    cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                      "status", aid], env={"LANGUAGE": language})
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


@pytest.mark.hard_timeout(120)
def test_queued_sms_is_not_delivered(lab):
    st = sms_stack(lab, POLICIES, delivery=DELIVERY)
    st.kannel.stop_phones()
    s = st.session()
    t0 = time.monotonic()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]

    r = s.wait_receipt(aid, "failed", timeout=10, recipient=CP)
    assert r["channel"] == "sms" and "queued" in r["reason"], r
    # the next tier brought forward: there within a twelfth of the
    # delay it would otherwise have waited (TIER1_S after the alert), so
    # at once, not at its time nor at some later look at the timers.  A
    # bound by the configured delay, not a wall-clock one (speed is
    # `make bench`'s)
    wait_until(lambda: st.alert_hash(aid).get("tier") == "1",
               FORWARD_S + 5, what="tier 1 brought forward")
    assert time.monotonic() - t0 < FORWARD_S, \
        "tier 1 only %.1fs after the alert (due at %d s)" % (
            time.monotonic() - t0, TIER1_S)
    s.wait_receipt(aid, "failed", timeout=10, recipient="Dienstdoende-1")
    time.sleep(3 * DELIVERY["retry_max_ms"] / 1000)  # room for resends

    h = st.alert_hash(aid)
    assert not [k for k in h if k.startswith("delivered:")], h
    assert h.get("ndelivered") == "0", h
    assert not [e for e in st.events(aid) if e["event"] == "delivered"]
    assert not s.receipts(aid, "delivered")
    en, nl = status(st, aid), status(st, aid, "nl")
    assert "NOT REACHED: %s by sms" % CP in en, en
    assert "delivered to" not in en and "afgeleverd" not in nl, (en, nl)
    log = st.relay.proc.text("stderr")
    assert "recipient=contactpunt channel=sms result=queued" in log
    # one line for the one queued SMS, not a second "given_up" one
    lines = [l for l in log.splitlines() if "delivery alert=%s recipient="
             "contactpunt channel=sms" % aid in l]
    assert len(lines) == 1 and "result=queued" in lines[0], lines
    assert "channel=sms result=ok" not in log
    # not sent again: Kannel holds the one copy
    assert st.kannel.sendsms_to(SMS_NUMBERS["contactpunt"]) == 1
    assert st.kannel.sendsms_to(SMS_NUMBERS["oncall-1"]) == 1

    # the link back: what Kannel kept goes out, once each
    st.kannel.start_phones()
    wait_until(lambda: len(st.kannel.mt_messages()) >= 2, 20,
               what="the queued SMS at the phones")
    time.sleep(1)
    got = sorted(m.receiver for m in st.kannel.mt_messages())
    assert got == sorted(SMS_NUMBERS.values()), got
    assert all(ref in m.text for m in st.kannel.mt_messages())
    # a reply to the SMS that came late counts
    assert st.sms_reply("contactpunt", "OK " + ref) == 200
    s.wait_receipt(aid, "acknowledged", timeout=10, by=CP)
    assert st.alert_hash(aid)["state"] == "acknowledged"


@pytest.mark.hard_timeout(90)
def test_accepted_sms_is_handed_on_not_delivered(lab):
    st = sms_stack(lab, POLICIES, delivery=DELIVERY)
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    st.kannel.wait_mt(1)
    r = s.wait_receipt(aid, "delivered", timeout=10, recipient=CP)
    assert r["channel"] == "sms" and r["confirmed"] is False, r
    en, nl = status(st, aid), status(st, aid, "nl")
    assert ("handed to the gateway for %s by sms (1 of 1), not confirmed "
            "delivered" % CP) in en, en
    assert ("aan de gateway gegeven voor %s via sms (1 van 1), aflevering "
            "niet bevestigd" % CP) in nl, nl
    assert "delivered to" not in en and "afgeleverd bij" not in nl
    assert st.alert_hash(aid).get("tier") == "0"
    assert "recipient=contactpunt channel=sms result=ok" in \
        st.relay.proc.text("stderr")


# The shipped policy's shape: every tier and a repeat.
REPEATING = {"default": {"types": "panic threat",
                         "tier": ["0 contactpunt", "60 oncall-1", "180 *"],
                         "repeat": 300, "max_age": 3600},
             "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


@pytest.mark.hard_timeout(120)
def test_queued_sms_does_not_fire_every_tier_and_repeat(lab):
    """Each queued SMS brings the next tier forward once: contact point
    queued -> tier 1, on-call queued -> tier 2 (everyone), and there it
    stays until its repeat (300 s).  A later tier sends no SMS again to
    a number the gateway holds one for.  The code before this test
    brought the next tier forward at every failure and a tier resent
    the SMS: tier 13, 13 SMS per number and 13 webhooks each in 10 s."""
    st = sms_stack(lab, REPEATING, delivery=DELIVERY)
    st.kannel.stop_phones()
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    wait_until(lambda: st.alert_hash(aid).get("tier") == "2", 15,
               what="tiers 1 and 2 brought forward by the queued SMS")
    time.sleep(5)  # a loop would have fired many more tiers by now
    h = st.alert_hash(aid)
    assert h["tier"] == "2" and h["state"] == "open", h
    for rid in ("contactpunt", "oncall-1"):
        assert st.kannel.sendsms_to(SMS_NUMBERS[rid]) == 1, rid
    escalated = [e for e in st.events(aid) if e["event"] == "escalated"]
    assert len(escalated) == 2, escalated
    # the webhooks of tiers 0 and 2 to the contact point, 1 and 2 to the
    # on-call: one each, not one per loop
    assert len(st.webhooks("contactpunt")) == 2, st.webhooks("contactpunt")
    assert len(st.webhooks("oncall-1")) == 2, st.webhooks("oncall-1")
