"""A duress cancel of an alert closed so long ago that the retention sweep
has taken its ciphertexts and its SMS reference has expired (review of
the life cycle, finding 1).  The alarm must still reach people: the relay
sends alert.duress without content (the routing metadata only, like a
notice), gives the alert a live reference again, and the receivers show
it as a duress alarm without content, in Dutch by default.  A duress
notification that cannot be made at all is a dead letter.  Real
alertrelayd, redis-server, alertctl cancel and alertctl receive.

Before the fix the relay dropped every alert.duress ("no ciphertext for
this recipient"), nothing marked it, the reference no longer answered,
`alertctl receive` refused a body without ciphertext (400), and a
duress notification whose recipient a reload removed was dropped."""

import json
import re
import signal
import time

import pytest

import harness
from harness import wait_until
from test_contactpoint import post, start_card_receiver
from test_duress import DURESS, PIN
from test_retention import PFX, SHORT, Stack

pytestmark = pytest.mark.needs("alertctl")

# the content goes 2 s after the close, the reference 1 s after it; the
# rest stays, so the alert can be reopened
RETENTION = dict(SHORT, alert_history=120, device_index=120, sms_references=1)


def cancel(st, aid, pin):
    return harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                        "cancel", aid], timeout=30, input=pin + "\n")


def delivered_with_pins(st):
    """PINs set on the device, an alert sent and delivered: its id."""
    cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                      "pincode", "set"], timeout=30,
                     input="%s\n%s\n" % (PIN, DURESS))
    assert cp.returncode == 0, cp.stderr
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    s.wait_receipt(aid, "delivered", timeout=10)
    return aid


def swept_and_cancelled_under_duress(lab):
    """An alert sent, cancelled for real, swept, its reference expired,
    then cancelled with the duress PIN: (stack, alert id, its ref, the
    number of webhooks each recipient had before the duress)."""
    st = Stack(lab, retention=RETENTION)
    r = st.r()
    aid = delivered_with_pins(st)
    assert cancel(st, aid, PIN).returncode == 0
    ak = PFX + "alert:" + aid
    ref = r("HGET", ak, "ref")
    wait_until(lambda: not [f for f in r.hgetall(ak) if f.startswith("ct:")]
               and not r("EXISTS", PFX + "ref:" + ref), 10,
               what="ciphertexts swept and the reference expired")
    before = {rid: len(rec.snapshot()) for rid, rec in st.recs.items()}
    cp = cancel(st, aid, DURESS)
    # the device sees what a second real cancel shows
    assert (cp.returncode, cp.stdout) == (0, "cancelled %s\n" % aid), cp
    h = r.hgetall(ak)
    assert h["state"] == "open" and h["duress"] == "1", h
    return st, aid, ref, before


def duress_webhooks(st, rid, since):
    return [a for a in st.recs[rid].snapshot()[since:]
            if a["json"] and a["json"].get("type") == "alert.duress"]


@pytest.mark.hard_timeout(120)
def test_duress_after_the_content_sweep_still_reaches_people(lab):
    st, aid, ref, before = swept_and_cancelled_under_duress(lab)
    r = st.r()
    for rid in st.recs:
        wait_until(lambda: duress_webhooks(st, rid, before[rid]), 10,
                   what="alert.duress to %s" % rid)
        (w,) = duress_webhooks(st, rid, before[rid])[:1]
        o = w["json"]
        assert w["sig_ok"], w
        assert "ciphertext" not in o, o
        assert o["duress"] is True and o["duress_at"], o
        assert (o["alert_id"], o["ref"], o["device_id"], o["alert_type"]) \
            == (aid, ref, st.env.device_id, "panic"), o
        assert o["recipient_id"] == rid, o
    # the reference answers again, for as long as the alarm is open
    assert r("GET", PFX + "ref:" + ref) == aid
    assert r("TTL", PFX + "ref:" + ref) == -1
    log = st.relay.log()
    assert "no ciphertext" not in log, log
    assert r("XLEN", PFX + "deadletter") == 0


@pytest.mark.hard_timeout(120)
def test_receivers_show_a_duress_alarm_without_content(lab):
    """The relay's own webhook, as it sent it, to `alertctl receive`: a
    JSON line for programs, and a card in Dutch (English with LANGUAGE)
    that says duress, that the content is no longer kept, and how to take
    it."""
    st, aid, ref, before = swept_and_cancelled_under_duress(lab)
    wait_until(lambda: duress_webhooks(st, "contactpunt",
                                       before["contactpunt"]), 10,
               what="alert.duress to contactpunt")
    w = duress_webhooks(st, "contactpunt", before["contactpunt"])[0]
    headers = {k: w["headers"][k] for k in ("webhook-id", "webhook-timestamp",
                                            "webhook-signature")}
    headers["content-type"] = "application/json"

    p, port = start_card_receiver(lab, st.env, "nl", "Europe/Amsterdam",
                                  pretty=False)
    assert post(port, headers, w["body"]) == 200
    wait_until(lambda: p.snapshot("stdout"), 10, what="the JSON line")
    line = json.loads(p.snapshot("stdout")[0])
    assert (line["type"], line["alert_id"], line["ref"]) == (
        "alert.duress", aid, ref), line
    assert line["duress"] is True and line["duress_at"], line
    assert "message" not in line, line

    for lang, words in (
            ("nl", ["DWANG - onder dwang ingetrokken: het alarm is NIET "
                    "voorbij", "ALARM PANIEK", "niet meer bewaard door de "
                    "relay", "Oppakken:", "alertctl ack " + ref]),
            ("en", ["DURESS - cancelled under duress: the alarm is NOT over",
                    "ALARM PANIC", "no longer kept by the relay",
                    "Take it:", "alertctl ack " + ref])):
        p, port = start_card_receiver(lab, st.env, lang, "Europe/Amsterdam")
        assert post(port, headers, w["body"]) == 200
        wait_until(lambda: words[-1] in "\n".join(p.snapshot("stdout")), 10,
                   what="the card: " + "\n".join(p.snapshot("stdout")))
        card = "\n".join(p.snapshot("stdout"))
        for word in words:
            assert word in card, (word, card)
        assert card.index(words[0]) < card.index(words[1]), card


@pytest.mark.hard_timeout(60)
def test_an_alarm_event_without_content_is_still_refused(lab):
    """Only a duress alarm may come without its sealed alert: the same
    body without "duress": true (or as alert.raised) is refused, as
    before."""
    from test_contactpoint import signed_notice
    env = lab.env()
    p, port = start_card_receiver(lab, env, "nl", "Europe/Amsterdam",
                                  pretty=False)
    o = {"type": "alert.duress", "alert_id": "a" * 32,
         "recipient_id": "contactpunt", "device_id": env.device_id,
         "alert_type": "panic", "created_at": "2026-11-30T08:00:00Z",
         "received_at": "2026-11-30T08:00:01Z", "drill": False,
         "ref": "K7Q2M9XD", "tier": 0}
    for changed in ({}, {"type": "alert.raised", "duress": True}):
        headers, body = signed_notice(env, dict(o, **changed))
        assert post(port, headers, body) == 400
    headers, body = signed_notice(env, dict(o, duress=True))
    assert post(port, headers, body) == 200
    time.sleep(0.2)
    assert len(p.snapshot("stdout")) == 1


@pytest.mark.hard_timeout(120)
def test_duress_alarm_that_cannot_be_made_is_a_dead_letter(lab):
    """A duress notification still being retried when a reload takes its
    recipient away: a dead letter, its recipient marked unreached (not
    dropped without a trace, as before)."""
    st = Stack(lab)
    r = st.r()
    aid = delivered_with_pins(st)
    st.recs["oncall-1"].default = 500  # from now on it fails
    before = len(st.recs["oncall-1"].snapshot())
    assert cancel(st, aid, DURESS).returncode == 0
    wait_until(lambda: duress_webhooks(st, "oncall-1", before), 10,
               what="a first alert.duress attempt to oncall-1")
    # the reload: oncall-1's section gone, the rest as it was
    text = st.env.relay_conf.read_text()
    text = re.sub(r"\n\[recipient oncall-1\]\n(?:[^\[\n][^\n]*\n)*", "\n",
                  text)
    assert "oncall-1" not in text
    st.env.relay_conf.write_text(text)
    n = len(st.relay.proc.snapshot("stderr"))
    st.relay.proc.signal(signal.SIGHUP)
    st.relay.proc.wait_for(r"configuration reloaded", "stderr", timeout=10,
                           start=n)

    def dead():
        return [f for _, f in r.xrange(PFX + "deadletter")
                if f.get("alert_id") == aid]
    wait_until(dead, 20, what="the duress notification's dead letter")
    (d,) = dead()
    assert (d["recipient_id"], d["channel"], d["event"]) == (
        "oncall-1", "webhook", "alert.duress"), d
    assert d["reason"] == "recipient has no webhook any more", d
    u = json.loads(r("HGET", PFX + "unreached:" + aid, "oncall-1|webhook"))
    assert u["retrying"] is False, u
    assert r("HGET", PFX + "alert:" + aid, "state") == "open"
