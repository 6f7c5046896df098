"""SMS texts in words people understand (issue 13): Dutch by default
from templates ([delivery] language, sms_template_*), replies OK/ACK/JA
<ref> with any case and punctuation, a confirmation to whoever took the
alert by SMS, "opgepakt door ..." to the others reached, one hint on how
to reply to any other text (never twice within sms_hint_interval, never
to a text that looks like one of ours), English with language = en, and
-t refusing a bad template with its key.  Real alertrelayd, redis-server
and Kannel (bearerbox, smsbox, fakesmsc): the SMS the phones get are
captured, the replies injected (harness.sms_stack)."""

import re
import time

import pytest

import harness
from harness import (SMS_NUMBERS, sms_alert_text, sms_confirmed_text,
                     sms_stack, sms_taken_rx)

CP, OC = SMS_NUMBERS["contactpunt"], SMS_NUMBERS["oncall-1"]
CP_ALIAS, OC_ALIAS = "Contactpunt", "Dienstdoende-1"
BOTH = "0 contactpunt:webhook contactpunt:sms oncall-1:sms"
HINT_NL = ("Niet begrepen. Om een alarm op te pakken: antwoord OK en de "
           "referentie uit het alarm, bijvoorbeeld OK K7Q2M9XD.")
HINT_EN = ("Not understood. To take an alert, reply OK and the reference in "
           "the alert, for example OK K7Q2M9XD.")


def policies(*tiers):
    return {"default": {"types": "panic threat test", "tier": list(tiers),
                        "repeat": 0, "max_age": 3600}}


def is_alert_sms(m):
    return m.text.startswith(("ALARM ", "ALERT "))


def not_alert(m):
    return not is_alert_sms(m)


def dashed(ref):
    return ref[:4] + "-" + ref[4:]


@pytest.mark.hard_timeout(120)
def test_dutch_alert_ja_ref_confirmed_and_others_told(lab):
    """The default: a Dutch SMS to both phones; "Ja, <ref with a dash>!"
    from one of them takes the alert; that phone is told it worked, the
    other who was reached is told who took it."""
    st = sms_stack(lab, policies(BOTH))
    s = st.session()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    want = sms_alert_text("panic", harness.DEVICE_ALIAS, ref, acc["received_at"])
    assert want.startswith("ALARM PANIEK - Burgemeester-A - ")
    for to in (CP, OC):
        (_, m), = st.sms.wait(1, to=to, timeout=10)
        assert m.text == want, m.text

    assert st.sms_reply("oncall-1", "Ja, %s!" % dashed(ref.lower())) == 200
    harness.wait_until(lambda: st.alert_hash(aid).get("state") == "acknowledged",
                       5, what="state acknowledged")
    h = st.alert_hash(aid)
    assert h["acked_by"] == OC_ALIAS and h["acked_channel"] == "sms", h
    (_, ok), = st.sms.wait(1, to=OC, pred=not_alert)
    assert ok.text == sms_confirmed_text(ref), ok.text
    (_, told), = st.sms.wait(1, to=CP, pred=not_alert)
    assert re.fullmatch(sms_taken_rx(ref, OC_ALIAS), told.text), told.text
    # each phone got exactly the alert and one follow-up
    time.sleep(1)
    assert len(st.sms.snapshot(to=CP)) == 2 and len(st.sms.snapshot(to=OC)) == 2


@pytest.mark.hard_timeout(120)
def test_ok_ref_lower_case_with_full_stop_acknowledges(lab):
    """"ok <ref>." as a person types it on a phone."""
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms"))
    s = st.session()
    acc = s.send_alert("threat")
    aid, ref = acc["alert_id"], acc["ref"]
    (_, m), = st.sms.wait(1, to=CP, timeout=10)
    assert m.text.startswith("ALARM DREIGING - "), m.text
    assert st.sms_reply("contactpunt", "ok %s." % ref.lower()) == 200
    r = s.wait_receipt(aid, "acknowledged", timeout=5)
    assert r["by"] == CP_ALIAS and r["channel"] == "sms", r
    (_, ok), = st.sms.wait(1, to=CP, pred=not_alert)
    assert ok.text == sms_confirmed_text(ref), ok.text


@pytest.mark.hard_timeout(120)
def test_other_text_gets_one_hint_and_echoes_get_none(lab):
    """Any other text from a recipient's phone gets one short SMS on how
    to reply; a second within the interval gets none; a text that looks
    like one of our own SMS (a phone or gateway echoing it) gets none, so
    two machines can never answer each other."""
    st = sms_stack(lab, policies(BOTH))
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    st.sms.wait(1, to=CP, timeout=10)
    st.sms.wait(1, to=OC, timeout=10)

    assert st.sms_reply("contactpunt", "wat moet ik doen?") == 404
    (_, hint), = st.sms.wait(1, to=CP, pred=not_alert)
    assert hint.text == HINT_NL, hint.text
    assert st.sms_reply("contactpunt", "hallo??") == 404
    # oncall-1's phone echoes our texts back: no answer to either
    assert st.sms_reply("oncall-1", HINT_NL) == 404
    (_, alert_oc), = st.sms.snapshot(to=OC)
    assert st.sms_reply("oncall-1", alert_oc.text) == 404
    assert st.alert_hash(aid)["state"] == "open"
    # none of those got an answer: not "none within a short sleep" but
    # none before later SMS the same way.  contactpunt now takes the
    # alert: oncall-1's first SMS other than the alert is the notice
    # that it was taken, contactpunt's are its one hint and then the
    # confirmation
    ref = acc["ref"]
    assert st.sms_reply("contactpunt", "OK %s" % ref) == 200
    (_, taken), = st.sms.wait(1, to=OC, pred=not_alert)
    assert re.fullmatch(harness.sms_taken_rx(ref, CP_ALIAS), taken.text), \
        "an answer to an echo: %r" % taken.text
    st.sms.wait(2, to=CP, pred=not_alert)
    assert [m.text for _, m in st.sms.snapshot(to=CP, pred=not_alert)] == [
        HINT_NL, sms_confirmed_text(ref)]
    log = st.relay.log()
    assert "hint sent recently" in log and "looks like one of ours" in log
    assert "wat moet ik doen" not in log, "a reply's text was logged"


@pytest.mark.hard_timeout(120)
def test_english_texts_and_a_configured_template(lab):
    """language = en gives the English texts; a configured template
    (here the confirmation) replaces its built-in one."""
    st = sms_stack(lab, policies(BOTH), delivery={
        "language": "en",
        "sms_template_confirmed": "Taken at {time}: alert {ref} is yours."})
    s = st.session()
    acc = s.send_alert("panic")
    ref = acc["ref"]
    want = sms_alert_text("panic", harness.DEVICE_ALIAS, ref,
                          acc["received_at"], language="en")
    assert want.startswith("ALERT PANIC - Burgemeester-A - ")
    (_, m), = st.sms.wait(1, to=CP, timeout=10)
    assert m.text == want, m.text
    st.sms.wait(1, to=OC, timeout=10)
    assert st.sms_reply("contactpunt", "what?") == 404
    (_, hint), = st.sms.wait(1, to=CP, pred=not_alert)
    assert hint.text == HINT_EN, hint.text
    assert st.sms_reply("contactpunt", "ACK %s" % ref) == 200
    (_, ok), = st.sms.wait(2, to=CP, pred=not_alert)[1:]
    assert re.fullmatch(r"Taken at \d\d:\d\d: alert %s is yours\." % ref,
                        ok.text), ok.text
    (_, told), = st.sms.wait(1, to=OC, pred=not_alert)
    assert re.fullmatch(sms_taken_rx(ref, CP_ALIAS, "en"), told.text), told.text


def _check(lab, tmp_path, key, value):
    env = lab.env(delivery={key: value})
    env.write_relay_conf()
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", env.relay_conf],
                     timeout=30)
    return cp.returncode, cp.stdout + cp.stderr


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("key,value,why", [
    ("sms_template_raised", "ALARM {type} {ref} {where}", "unknown placeholder"),
    ("sms_template_acknowledged", "Alarm {ref} door {by} " + "x" * 140,
     "too long"),
    ("sms_template_cancelled", "Alarm {ref} ingetrokken \u20ac", "GSM-7"),
    ("sms_template_escalated", "ALARM {type} {alias}", "has no {ref}"),
    ("sms_template_hint", "Antwoord OK {ref}", "unknown placeholder"),
    ("sms_template_confirmed", "Bevestigd {alias} {ref}", "may use {time} {ref}"),
    ("language", "de", "nl or en"),
])
def test_check_refuses_bad_templates_naming_the_key(lab, tmp_path, key, value,
                                                    why):
    rc, out = _check(lab, tmp_path, key, value)
    assert rc != 0, out
    assert "[delivery] %s" % key in out and why in out, out


@pytest.mark.hard_timeout(60)
def test_check_refuses_a_template_line_inih_would_cut(lab, tmp_path):
    """A line longer than the configuration reader's buffer is refused
    as such (with its line), not read in pieces."""
    rc, out = _check(lab, tmp_path, "sms_template_raised",
                     "ALARM {ref} " + "\u00e9" * 100)
    assert rc != 0, out
    assert "line longer than 199 bytes" in out, out


@pytest.mark.hard_timeout(60)
def test_check_accepts_a_good_template(lab, tmp_path):
    rc, out = _check(lab, tmp_path, "sms_template_raised",
                     "PIKET {type} {alias} {time} ref {ref}, ronde {tier}. "
                     "Antwoord OK {ref}.")
    assert rc == 0, out
