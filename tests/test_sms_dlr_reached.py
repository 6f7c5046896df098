"""After an SMS delivery report said "not delivered": a later SMS to that
recipient that goes through reaches them, against real Kannel (bearerbox,
smsbox, fakesmsc), a real relay and redis-server.

What a report said is kept per alert and recipient (smsreport:<rid>), not
per SMS.  Each new SMS asking for reports forgets what the last one's
report said, so that one the gateway takes clears the recipient's
unreached entry and gets its "handed to the gateway" receipt; a
"delivered" report clears the entry too (an SMS the gateway queued that
reached the phone after all); and after `alertctl deadletter replay`, the
replayed SMS going through lets later tiers send to that recipient again.

Kannel's reports go to test_sms_dlr's ReportCatcher; the test sends them
on to the relay itself, as test_sms_dlr does.  All three fail on the code
before them: the unreached entry stayed ("NOT REACHED" for good), the
second SMS's receipt was left out, and the replayed recipient was
skipped by every later tier."""

import time
import urllib.parse

import pytest

from harness import SMS_NUMBERS, sms_stack, wait_until
from test_sms_dlr import (CP, POLICIES, admin_ctl,  # noqa: F401
                          catcher, delivery, post_report)
from test_sms_queued import status


def unreached(st, aid):
    c = st.r()
    try:
        return c.hgetall("%s:unreached:%s" % (st.prefix, aid))
    finally:
        c.close()


def now_unreached(st, aid):
    """The lines of `alertctl status` naming who is not reached now (the
    history's own lines start with their time)."""
    return [line for line in status(st, aid).splitlines()
            if line.startswith("NOT REACHED")]


def report_for(catcher, rid, n=1):
    """Kannel's n-th report for recipient rid, once it came."""
    def found():
        reps = [dict(urllib.parse.parse_qsl(q)) for q in catcher.queries]
        reps = [r for r in reps if r.get("r") == rid]
        return reps[n - 1] if len(reps) >= n else None
    return wait_until(found, 20, what="Kannel's report %d for %s" % (n, rid))


def fail_first_sms(st, s, aid, catcher):
    """The contact point's first SMS reported not delivered: the failed
    receipt's index in the session's frames."""
    rep = report_for(catcher, "contactpunt")
    assert post_report(st, dict(rep, type="2"))[0] == 200
    r = s.wait_receipt(aid, "failed", timeout=10, recipient=CP)
    return s.frames.index(r)


AGAIN = {"default": {"types": "panic threat",
                     "tier": ["0 contactpunt:sms", "3 *"],
                     "max_age": 3600},
         "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


@pytest.mark.hard_timeout(90)
def test_next_sms_after_failed_report_reaches(lab, catcher):
    st = sms_stack(lab, AGAIN, delivery=delivery(), report_url=catcher.url)
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    i = fail_first_sms(st, s, aid, catcher)
    assert "contactpunt|sms" in unreached(st, aid)
    # tier 1 (everyone) sends the contact point a second SMS, taken
    wait_until(lambda: st.kannel.sendsms_to(SMS_NUMBERS["contactpunt"]) == 2,
               15, what="the second SMS")
    s.wait(lambda f: f.get("type") == "receipt" and
           f.get("alert_id") == aid and f.get("event") == "delivered" and
           f.get("recipient") == CP and f.get("confirmed") is False,
           timeout=10, what="the second SMS's receipt", take=False,
           start=i + 1)
    wait_until(lambda: "contactpunt|sms" not in unreached(st, aid), 5,
               what="the contact point no longer unreached")
    assert now_unreached(st, aid) == []


@pytest.mark.hard_timeout(120)
def test_delivered_report_for_queued_sms_reaches(lab, catcher):
    st = sms_stack(lab, POLICIES, delivery=delivery(),
                   report_url=catcher.url)
    st.kannel.stop_phones()
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    r = s.wait_receipt(aid, "failed", timeout=10, recipient=CP)
    assert "queued" in r["reason"], r
    s.wait_receipt(aid, "failed", timeout=10, recipient="Dienstdoende-1")
    assert {"contactpunt|sms", "oncall-1|sms"} <= set(unreached(st, aid))
    # the link back: Kannel sends what it kept, and reports each
    st.kannel.start_phones()
    rep = report_for(catcher, "contactpunt")
    report_for(catcher, "oncall-1")
    assert rep["type"] == "1", rep
    assert post_report(st, rep)[0] == 200  # the contact point's alone
    s.wait_receipt(aid, "delivered", timeout=10, recipient=CP,
                   confirmed=True)
    wait_until(lambda: "contactpunt|sms" not in unreached(st, aid), 5,
               what="the contact point no longer unreached")
    assert "oncall-1|sms" in unreached(st, aid)
    (line,) = now_unreached(st, aid)
    assert line.startswith("NOT REACHED: Dienstdoende-1 by sms"), line


REPLAY_TIER2_S = 15
REPLAY = {"default": {"types": "panic threat",
                      "tier": ["0 contactpunt:sms", "2 oncall-1:sms",
                               "%d *" % REPLAY_TIER2_S],
                      "max_age": 3600},
          "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


@pytest.mark.hard_timeout(120)
def test_replayed_sms_lets_later_tiers_send(lab, catcher):
    st = sms_stack(lab, REPLAY, delivery=delivery(), report_url=catcher.url,
                   start=False)
    ctl = admin_ctl(st)
    s = st.session()
    t0 = time.monotonic()
    aid = s.send_alert("panic")["alert_id"]
    fail_first_sms(st, s, aid, catcher)
    (did, d), = wait_until(
        lambda: [e for e in st.deadletters()
                 if e[1].get("recipient_id") == "contactpunt"], 5,
        what="the dead letter")
    rep = ctl("deadletter", "replay", did)
    assert rep.returncode == 0, rep.stderr
    # the replayed SMS goes through (Kannel takes it, and reports it)
    report_for(catcher, "contactpunt", 2)
    wait_until(lambda: st.relay.proc.text("stderr").count(
        "recipient=contactpunt channel=sms result=ok") == 2, 5,
        what="the replayed SMS taken")
    assert time.monotonic() - t0 < REPLAY_TIER2_S - 2, "too slow to tell"
    # tier 2 (everyone) sends the contact point its third SMS
    wait_until(lambda: st.alert_hash(aid).get("tier") == "2",
               REPLAY_TIER2_S + 10, what="tier 2")
    wait_until(lambda: st.kannel.sendsms_to(SMS_NUMBERS["contactpunt"]) == 3,
               10, what="tier 2's SMS to the contact point")
