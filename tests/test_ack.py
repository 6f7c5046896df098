"""Acknowledgements (issue 3, docs/PROTOCOL.md): HTTPS POST
/v1/alerts/{id}/ack with a recipient's token, SMS replies `ACK <ref>` (OK, JA)
through Kannel's sms-service get-url, and what the device sees of it all
(receipts, status, list, watch).  Real alertrelayd, redis-server, Kannel
(bearerbox, smsbox, fakesmsc) and Python webhook receivers
(harness.sms_stack)."""

import http.client
import json
import os
import re
import ssl
import time
import urllib.parse

import nacl.signing
import pytest

import harness
import proto
from harness import SMS_NUMBERS, sms_stack, wait_until

CP, OC = SMS_NUMBERS["contactpunt"], SMS_NUMBERS["oncall-1"]
CP_ALIAS, OC_ALIAS = "Contactpunt", "Dienstdoende-1"
BOTH = ("contactpunt", "oncall-1")


def policies(*tiers, repeat=0):
    return {"default": {"types": "panic threat", "tier": list(tiers),
                        "repeat": repeat, "max_age": 3600},
            "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


TIERS = ("0 contactpunt:webhook contactpunt:sms oncall-1:webhook",
         "3 oncall-1:sms")


def acks(st, alert_id):
    return [e for e in st.events(alert_id) if e["event"] == "acknowledged"]


def is_alert_sms(m):
    return m.text.startswith("ALARM ")


def alertctl_has(cmd):
    cp = harness.run([harness.alertctl_bin(), cmd, "--help"], timeout=10)
    return cp.returncode == 0


def need_alertctl(cmd):
    if not alertctl_has(cmd):
        pytest.skip("alertctl %s --help fails: subcommand not there yet" % cmd)


def wait_receipts(s, alert_id, event, n, timeout=10):
    """Until the session has n receipts of event for alert_id."""
    deadline = time.monotonic() + timeout
    while len(s.receipts(alert_id, event)) < n:
        if time.monotonic() > deadline:
            raise TimeoutError("%d %s receipts for %s; frames: %s" % (
                n, event, alert_id, s.frames))
        s.drain(0.1)
    return s.receipts(alert_id, event)


def tier0_reached(st, s, acc, n=3):
    """Waits until the n notifications of tier 0 are recorded as made."""
    wait_receipts(s, acc["alert_id"], "delivered", n)
    wait_until(lambda: st.alert_hash(acc["alert_id"]).get("ndelivered") == str(n),
               5, what="ndelivered=%d" % n)


# ================================================================ HTTPS


@pytest.mark.hard_timeout(90)
def test_https_ack_first_stops_escalation_later_ones_recorded(lab):
    # tier 1 at 6 s: room for tier 0 and the ack before it, on a loaded
    # machine too
    st = sms_stack(lab, policies(TIERS[0], "6 oncall-1:sms"), tokens=BOTH)
    s = st.session()
    t_send = time.monotonic()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    tier0_reached(st, s, acc)

    status, body = st.ack(aid, st.tokens["contactpunt"])
    assert status == 200, body
    assert body == {"alert_id": aid, "state": "acknowledged", "first": True,
                    "by": CP_ALIAS}, body
    assert time.monotonic() - t_send < 5.8, "too slow to ack before tier 1"
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and h["acked_by"] == CP_ALIAS, h
    assert h["acked_channel"] == "https"
    assert [m for m in st.timers() if m.startswith(aid)] == []
    r = s.wait_receipt(aid, "acknowledged", timeout=5)
    assert r["by"] == CP_ALIAS and r["channel"] == "https", r
    # everyone reached hears of it: both webhooks and the contact's phone
    for rid in BOTH:
        (hook,) = st.wait_webhook(rid, "alert.acknowledged", aid)
        assert hook["sig_ok"] and hook["json"]["acknowledged_by"] == CP_ALIAS
        assert hook["json"]["ref"] == ref and hook["json"]["recipient_id"] == rid
    (_, sms), = st.sms.wait(1, to=CP, pred=lambda m: not is_alert_sms(m))
    assert re.fullmatch(harness.sms_taken_rx(ref, CP_ALIAS), sms.text), sms.text

    # a second acknowledgement, by the same person (answered, counted
    # only: test_ack_repeat_flood.py) and by another (recorded)
    status, body = st.ack(aid, st.tokens["contactpunt"])
    assert status == 200 and body["first"] is False, body
    assert body["alert_id"] == aid and body["state"] == "acknowledged"
    status, body = st.ack(aid, st.tokens["oncall-1"])
    assert status == 200 and body["first"] is False, body
    evs = acks(st, aid)
    assert [(e["by"], e["first"]) for e in evs] == [
        (CP_ALIAS, True), (OC_ALIAS, False)], evs
    assert st.alert_hash(aid)["ack_repeats"] == "1"
    assert all(e["channel"] == "https" for e in evs)
    h = st.alert_hash(aid)
    assert h["acked_by"] == CP_ALIAS, "a later ack replaced the first"

    # escalation stopped: oncall-1's SMS (due at 6 s) never comes, and
    # later acks announce nothing again
    time.sleep(max(0.0, t_send + 6 + 2.5 - time.monotonic()))
    assert st.sms.snapshot(to=OC) == []
    assert [e for e in st.events(aid) if e["event"] == "escalated"] == []
    for rid in BOTH:
        assert len(st.webhooks(rid, "alert.acknowledged")) == 1
    assert len(st.sms.snapshot(to=CP)) == 2
    assert st.alert_hash(aid)["state"] == "acknowledged"


def _nothing_changed(st, s, aid):
    h = st.alert_hash(aid)
    assert h["state"] == "open", h
    assert "acked_by" not in h
    assert acks(st, aid) == []
    assert s.receipts(aid, "acknowledged") == []
    for rid in BOTH:
        assert st.webhooks(rid, "alert.acknowledged") == []
    # no one heard of an acknowledgement (hints on how to reply may go)
    assert [m for _, m in st.sms.snapshot()
            if m.text.startswith(("Alarm ", "Bevestigd"))] == []


@pytest.mark.hard_timeout(90)
def test_https_ack_refusals_change_nothing(lab):
    st = sms_stack(lab, policies(*TIERS), tokens=BOTH)
    s = st.session()
    t_send = time.monotonic()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    tier0_reached(st, s, acc)
    events_before = st.events(aid)

    good = st.tokens["contactpunt"]
    for token in ("not-a-token-of-anyone-at-all", good[:-1], good + "x",
                  good.upper() if good.upper() != good else good.lower(), ""):
        status, body = st.ack(aid, token)
        assert status == 401, (token, status, body)
    status, _ = st.ack(aid, None)  # no Authorization at all
    assert status == 401
    for auth in ("Basic " + good, good, "Bearer", "Token " + good):
        st_, _, _, _, _ = harness.https_request(
            st.ack_port, "POST", "/v1/alerts/%s/ack" % aid,
            headers={"Authorization": auth, "Content-Length": "0"}, body=b"",
            cafile=st.env.cert)
        assert st_ == 401, auth
    # the token in the query or the body does not count either
    st_, _, _, _, _ = harness.https_request(
        st.ack_port, "POST", "/v1/alerts/%s/ack?token=%s" % (aid, good),
        headers={"Content-Length": str(len(good))}, body=good.encode(),
        cafile=st.env.cert)
    assert st_ == 401

    # unknown alerts: 404 (a valid token, an id nobody sent)
    status, body = st.ack(os.urandom(16).hex(), good)
    assert status == 404, body
    status, _ = st.ack("not-an-alert-id", good)
    assert status == 404
    # GET is not an acknowledgement
    st_, _, _, _, _ = harness.https_request(
        st.ack_port, "GET", "/v1/alerts/%s/ack" % aid,
        headers={"Authorization": "Bearer " + good}, cafile=st.env.cert)
    assert st_ in (404, 405)

    _nothing_changed(st, s, aid)
    assert st.events(aid) == events_before
    # escalation carries on: oncall-1's SMS comes at 3 s
    (t_oc, m), = st.sms.wait(1, to=OC, timeout=8)
    assert is_alert_sms(m) and t_oc - t_send >= 2.95
    assert st.alert_hash(aid)["state"] == "open"
    assert "acknowledged alert=%s" % aid not in st.relay.log()
    for token in (good, st.tokens["oncall-1"]):
        assert token not in st.relay.log()


def _ack_body(st, aid, token, body):
    """POST /v1/alerts/ID/ack with body (bytes, sent as they are)."""
    return harness.https_request(
        st.ack_port, "POST", "/v1/alerts/%s/ack" % aid,
        headers={"Authorization": "Bearer " + token,
                 "Content-Type": "application/json",
                 "Content-Length": str(len(body))},
        body=body, cafile=st.env.cert)[:2]


BY_REFUSED = {"error": "by must be 1 to 64 bytes without control "
                       "characters, bidi overrides or isolates",
              "code": "bad_name"}


@pytest.mark.hard_timeout(90)
def test_https_ack_by_the_relays_tools_would_hide_is_refused(lab):
    """A `by` that alertctl and alertconsole would show as "?" (a bidi
    override or isolate, a C1 control: client/out.c's rule, now
    common/text_char.c) is refused at intake with 400, and the alert
    stays open: before, it was stored and nobody could see who took the
    alarm.  Invalid UTF-8 (raw bytes in the body) is refused by jansson's
    parse.  A Dutch name with accents is taken, whole."""
    st = sms_stack(lab, policies(*TIERS), tokens=BOTH)
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    tier0_reached(st, s, acc)
    good = st.tokens["contactpunt"]

    for name in ("Jan\u202e de Vries",  # RIGHT-TO-LEFT OVERRIDE
                 "\u2066Jan\u2069",  # LEFT-TO-RIGHT ISOLATE .. POP
                 "Jan\u0085de Vries",  # NEXT LINE, a C1 control
                 "Jan\u009b31m",  # CSI, a C1 control
                 "Jan\u007f",  # DEL
                 "x" * 65):
        status, body = _ack_body(st, aid, good,
                                 json.dumps({"by": name}).encode())
        assert (status, body) == (400, BY_REFUSED), (name, status, body)
    # the same as UTF-8 bytes rather than a JSON escape
    status, body = _ack_body(st, aid, good, json.dumps(
        {"by": "Jan\u202e de Vries"}, ensure_ascii=False).encode())
    assert (status, body) == (400, BY_REFUSED), body
    for raw in (b'{"by":"Jan\xff"}',  # never in UTF-8
                b'{"by":"Jan\xc2"}',  # a character cut short
                b'{"by":"Jan\xc0\xaf"}',  # overlong "/"
                b'{"by":"Jan\xed\xa0\x80"}'):  # a surrogate
        status, body = _ack_body(st, aid, good, raw)
        assert (status, body) == (400, {
            "error": 'body must be {"by":NAME} in UTF-8'}), (raw, body)
    _nothing_changed(st, s, aid)
    assert "acknowledged alert=%s" % aid not in st.relay.log()

    name = "Zo\u00eb Het\u00e9 (\u00e9\u00eb)"  # "Zoë Heté (éë)"
    status, body = _ack_body(st, aid, good, json.dumps({"by": name}).encode())
    assert status == 200, body
    assert body["first"] is True and body["by"] == "%s (%s)" % (
        name, CP_ALIAS), body
    assert st.alert_hash(aid)["acked_by"] == "%s (%s)" % (name, CP_ALIAS)
    r = s.wait_receipt(aid, "acknowledged", timeout=5)
    assert r["by"] == "%s (%s)" % (name, CP_ALIAS), r


@pytest.mark.hard_timeout(90)
def test_https_ack_after_cancel_is_409(lab):
    st = sms_stack(lab, policies(*TIERS), tokens=BOTH)
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    tier0_reached(st, s, acc)
    assert s.cancel(aid) == {"type": "cancelled", "alert_id": aid}
    status, body = st.ack(aid, st.tokens["contactpunt"])
    # why, for programs (alertconsole), and the text of before
    assert (status, body) == (409, {"error": "alert was cancelled",
                                    "code": "cancelled"})
    h = st.alert_hash(aid)
    assert h["state"] == "cancelled" and "acked_by" not in h, h
    assert acks(st, aid) == []
    # the cancel's webhooks go out after its answer: wait for them, then
    # give a late acknowledgement notice the time to show up
    for rid in BOTH:
        st.wait_webhook(rid, "alert.cancelled", aid)
    time.sleep(1)
    for rid in BOTH:
        assert st.webhooks(rid, "alert.acknowledged") == []
        assert len(st.webhooks(rid, "alert.cancelled")) == 1
    assert s.receipts(aid, "acknowledged") == []


@pytest.mark.hard_timeout(60)
def test_ack_listener_is_tls13_with_the_relay_cert(lab):
    st = sms_stack(lab, policies(*TIERS), tokens=BOTH)
    s = st.session()
    aid = s.send_alert("threat")["alert_id"]
    # verified against the relay's certificate (and its IP SAN) only
    status, body, _, version, peer = harness.https_request(
        st.ack_port, "POST", "/v1/alerts/%s/ack" % aid,
        headers={"Authorization": "Bearer " + st.tokens["oncall-1"],
                 "Content-Length": "0"}, body=b"", cafile=st.env.cert)
    assert status == 200 and body["by"] == OC_ALIAS, body
    assert version == "TLSv1.3"
    assert peer == ssl.PEM_cert_to_DER_cert(st.env.cert.read_text())
    pem = lab.tmp / "peer.pem"
    pem.write_text(ssl.DER_cert_to_PEM_cert(peer))
    assert harness.openssl_pin(pem) == st.env.pin
    # TLS 1.2 is not offered
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionError)):
        harness.https_request(st.ack_port, "POST", "/v1/alerts/%s/ack" % aid,
                              headers={"Content-Length": "0"}, body=b"",
                              context=ctx)
    # plain HTTP on the TLS port gets nowhere
    try:
        code, _ = harness.http_request(st.ack_port, "POST",
                                       "/v1/alerts/%s/ack" % aid, timeout=3)
    except (OSError, http.client.HTTPException):
        code = None
    assert code is None or code >= 400, code
    assert [e["by"] for e in acks(st, aid)] == [OC_ALIAS]


@pytest.mark.hard_timeout(90)
def test_alertctl_ack(lab):
    need_alertctl("ack")
    st = sms_stack(lab, policies(*TIERS), tokens=BOTH)
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    tier0_reached(st, s, acc)
    url = "https://127.0.0.1:%d" % st.ack_port

    def ack(alert_id, token_file, *extra):
        argv = [harness.alertctl_bin(), "ack", alert_id, "--url", url,
                "--token-file", token_file] + list(extra or ["--pin", st.env.pin])
        cp = harness.run(argv, timeout=30, env={"LANGUAGE": "en"})
        lab.short_runs.append((argv, cp.stderr))
        return cp

    wrong = harness.write_secret(lab.tmp / "wrong.ack", "x" * 32)
    cp = ack(aid, wrong)
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert st.alert_hash(aid)["state"] == "open"
    cp = ack(os.urandom(16).hex(), st.token_files["contactpunt"])
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    # a pin that is not the relay's: refused before any request
    cp = ack(aid, st.token_files["contactpunt"], "--pin",
             proto.b64e(os.urandom(32)))
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert st.alert_hash(aid)["state"] == "open"

    cp = ack(aid, st.token_files["contactpunt"])
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    assert "acknowledged %s as %s" % (aid, CP_ALIAS) in cp.stdout, cp.stdout
    assert "(first)" in cp.stdout, cp.stdout
    r = s.wait_receipt(aid, "acknowledged", timeout=5)
    assert r["by"] == CP_ALIAS and r["channel"] == "https"
    cp = ack(aid, st.token_files["oncall-1"], "--cacert", str(st.env.cert))
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    assert "(already acknowledged)" in cp.stdout, cp.stdout
    assert [e["first"] for e in acks(st, aid)] == [True, False]
    for rid in BOTH:
        assert st.tokens[rid] not in cp.stdout + cp.stderr


# ================================================================ SMS replies


@pytest.mark.hard_timeout(120)
def test_sms_replies_refused_change_nothing(lab):
    """An unknown reference, an unknown number, a recipient who was not
    sent that reference by SMS, a text that is not ACK <ref>, a bad token:
    all refused, the alert stays open and keeps escalating.  Then the
    right reply (in lower case) from the right phone acknowledges it."""
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms",
                                 "6 oncall-1:sms"), tokens=BOTH)
    s = st.session()
    t_send = time.monotonic()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    st.sms.wait(1, to=CP, timeout=5)
    tier0_reached(st, s, acc, n=2)

    # oncall-1 is a recipient with an SMS number, but was not sent this ref
    assert st.sms_reply("oncall-1", "ACK %s" % ref) == 404
    assert time.monotonic() - t_send < 6, "too slow: tier 1 came first"
    # an unknown reference (0 is not in the reference alphabet)
    assert st.sms_reply("contactpunt", "ACK 0000") == 404
    # an unknown number
    assert st.sms_reply("+31699999999", "ACK %s" % ref) == 404
    # not ACK <ref>; the text is not logged
    assert st.sms_reply("contactpunt", "HELP SECRETWORD %s" % ref) == 404
    assert st.sms_reply("contactpunt", "ACK %s please" % ref) == 404
    assert "SECRETWORD" not in st.relay.log()

    # the right number and ref with a bad or missing token, straight at
    # the daemon (on both listeners)
    def q(**kw):
        return "/v1/sms/kannel?" + urllib.parse.urlencode(kw)
    for path in (q(**{"from": CP, "text": "ACK " + ref, "token": "x" * 32}),
                 q(**{"from": CP, "text": "ACK " + ref,
                      "token": st.mo_token[:-1]}),
                 q(**{"from": CP, "text": "ACK " + ref}),
                 q(**{"from": CP, "text": "ACK " + ref,
                      "token": st.tokens["contactpunt"]})):
        code, _ = harness.http_request(st.plain_port, "GET", path)
        assert code == 403, (path, code)
        code, _, _, _, _ = harness.https_request(st.ack_port, "GET", path,
                                                 cafile=st.env.cert)
        assert code == 403, (path, code)
    # an unknown gateway
    code, _ = harness.http_request(
        st.plain_port, "GET", q(**{"from": CP, "text": "ACK " + ref,
                                   "token": st.mo_token}).replace(
            "/kannel?", "/twilio?"))
    assert code == 404

    _nothing_changed(st, s, aid)
    # the replies that were not OK <ref> got one hint on how to reply
    # (Dutch by default), not one each: the alert and that hint
    st.sms.wait(1, to=CP, pred=lambda m: m.text.startswith("Niet begrepen"))
    # (no more than that one, and none to oncall-1: checked below before
    # later SMS, not after a short sleep)
    # escalation continues: oncall-1 at 6 s
    (t_oc, m), = st.sms.wait(1, to=OC, timeout=10)
    assert is_alert_sms(m) and t_oc - t_send >= 5.95
    _nothing_changed(st, s, aid)

    # the control: the right reply acknowledges (any case, any spacing)
    assert st.sms_reply("contactpunt", "  ack   %s " % ref.lower()) == 200
    r = s.wait_receipt(aid, "acknowledged", timeout=5)
    assert r["by"] == CP_ALIAS and r["channel"] == "sms"
    assert st.alert_hash(aid)["state"] == "acknowledged"
    # the refused replies got one hint, to contactpunt, and nothing
    # else: the SMS the acknowledgement gives, sent after every one of
    # them was answered, come first (an order, not "nothing within a
    # short sleep").  Counted per phone, each in its own order, and
    # every SMS counted, the alert's too: contactpunt got the one alert
    # SMS (a refused reply that sent it again fails here), the one hint,
    # the confirmation; oncall-1 its tier's alert SMS, then only the
    # acknowledgement's notice
    not_alert = lambda m: not is_alert_sms(m)  # noqa: E731
    st.sms.wait(2, to=CP, pred=not_alert)
    cp = [m.text for _, m in st.sms.snapshot(CP)]
    assert len(cp) == 3 and cp[0].startswith("ALARM ") and \
        ("ref %s." % ref) in cp[0] and cp[1].startswith("Niet begrepen") and \
        cp[2] == harness.sms_confirmed_text(ref), cp
    (_, taken), = st.sms.wait(1, to=OC, pred=not_alert)
    oc = [m.text for _, m in st.sms.snapshot(OC)]
    assert len(oc) == 2 and oc[0].startswith("ALARM ") and \
        ("ref %s." % ref) in oc[0] and oc[1] == taken.text, oc
    assert re.fullmatch(harness.sms_taken_rx(ref, CP_ALIAS), taken.text), \
        "oncall-1 got an answer to its refused reply: %r" % taken.text
    # now oncall-1 was sent the ref by SMS: its ACK counts, as a later one
    assert st.sms_reply("oncall-1", "ACK %s" % ref) == 200
    assert [(e["by"], e["first"]) for e in acks(st, aid)] == [
        (CP_ALIAS, True), (OC_ALIAS, False)]
    assert st.mo_token not in st.relay.log()


def alarm_by_sms(st, rid, number):
    """A panic alert whose SMS to rid, at number, is out and recorded:
    (session, alert id, reference)."""
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    st.sms.wait(1, to=number, timeout=10)
    wait_until(lambda: "delivered:" + rid in st.alert_hash(aid), 10,
               what="the SMS recorded")
    return s, aid, acc["ref"]


@pytest.mark.hard_timeout(120)
def test_sms_reply_from_a_dutch_national_number(lab):
    """A gateway that passes the sender as a Dutch national number
    (0600000001) names the recipient configured as +31600000001: the
    sender is made E.164 as the configured numbers are (phone_normalise).
    Before the fix it was an unknown number (404) and the alert stayed
    open."""
    st = sms_stack(lab, policies("0 contactpunt:sms"), tokens=())
    s, aid, ref = alarm_by_sms(st, "contactpunt", CP)

    national = "0" + CP[len("+31"):]
    assert st.sms_reply(national, "OK %s" % ref) == 200
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and h["acked_rid"] == "contactpunt", h
    assert h["acked_channel"] == "sms", h


@pytest.mark.hard_timeout(120)
def test_sms_reply_from_a_number_two_recipients_share(lab):
    """contactpunt and oncall-1 share one phone (a duty phone), contactpunt
    first in the configuration; only oncall-1 is sent the alarm by SMS.
    The reply from that phone is oncall-1's: the alert is acknowledged by
    oncall-1, who gets the confirmation.  Before the fix the number was
    taken as contactpunt's alone, who was not sent the reference: 404,
    the alert stayed open."""
    st = sms_stack(lab, policies("0 oncall-1:sms"), tokens=(), start=False)
    st.env.recipient_extra["oncall-1"]["sms"] = CP
    st.env.write_relay_conf()
    st.relay.start()
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d"
                           % st.plain_port, "stderr", 10)
    s, aid, ref = alarm_by_sms(st, "oncall-1", CP)

    assert st.sms_reply(CP, "OK %s" % ref) == 200
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged", h
    assert (h["acked_rid"], h["acked_by"]) == ("oncall-1", OC_ALIAS), h
    r = s.wait_receipt(aid, "acknowledged", timeout=5)
    assert r["by"] == OC_ALIAS and r["channel"] == "sms", r
    # the one who took it hears that it worked, on that phone
    st.sms.wait(1, to=CP, pred=lambda m: m.text.startswith("Bevestigd")
                and ref in m.text, timeout=10)
    # a later reply from the phone is the same recipient's, again: a
    # repeat, logged but no event (test_ack_repeat_flood.py)
    assert st.sms_reply(CP, "OK %s" % ref) == 200
    st.relay.proc.wait_for(r"acknowledged alert=%s recipient=oncall-1 "
                           r"channel=sms first=0" % aid)
    assert [(e["by"], e["first"]) for e in acks(st, aid)] == [
        (OC_ALIAS, True)]
    assert st.alert_hash(aid)["ack_repeats"] == "1"


# ================================================================ status, list


def _other_device(lab):
    key = nacl.signing.SigningKey.generate()
    return key, {"mayor-b": (proto.b64e(bytes(key.verify_key)), "Burgemeester-B")}


@pytest.mark.hard_timeout(90)
def test_status_list_watch_and_privacy(lab):
    other_key, extra = _other_device(lab)
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms",
                                 "2 oncall-1:sms"), extra_devices=extra)
    s = st.session()
    a1 = s.send_alert("panic")
    aid = a1["alert_id"]
    s.wait_receipt(aid, "escalated", timeout=8, tier=1)
    wait_receipts(s, aid, "delivered", 3, timeout=8)
    status, body = st.ack(aid, st.tokens["contactpunt"])
    assert status == 200 and body["first"] is True, body
    s.wait_receipt(aid, "acknowledged", timeout=5)

    ans = s.request({"type": "status", "alert_id": aid}, ("status", "error"))
    assert ans["type"] == "status", ans
    assert ans["alert_id"] == aid and ans["state"] == "acknowledged"
    assert ans["alert_type"] == "panic" and ans["ref"] == a1["ref"]
    assert ans["received_at"] == a1["received_at"] and ans["created_at"]
    names = [e["event"] for e in ans["events"]]
    assert names == ["accepted", "delivered", "delivered", "escalated",
                     "delivered", "acknowledged"], ans["events"]
    assert ans["events"][3]["tier"] == 1
    assert ans["events"][4]["recipient"] == OC_ALIAS
    assert ans["events"][4]["channel"] == "sms"
    assert ans["events"][5]["by"] == CP_ALIAS
    ats = [e["at"] for e in ans["events"]]
    assert ats == sorted(ats), ats
    # the same event objects as the receipts that were pushed
    pushed = [{k: v for k, v in f.items() if k not in ("type", "alert_id")}
              for f in s.receipts(aid)]
    canon = lambda evs: sorted(json.dumps(e, sort_keys=True) for e in evs)  # noqa: E731
    assert canon(pushed) == canon(ans["events"])

    a2 = s.send_alert("test")
    a3 = s.send_alert("threat")
    ans = s.request({"type": "list"}, ("list", "error"))
    assert ans["type"] == "list", ans
    got = [(a["alert_id"], a["alert_type"], a["state"], a["ref"])
           for a in ans["alerts"]]
    assert got == [(a3["alert_id"], "threat", "open", a3["ref"]),
                   (a2["alert_id"], "test", "open", a2["ref"]),
                   (aid, "panic", "acknowledged", a1["ref"])], got
    assert all(a["created_at"] for a in ans["alerts"])
    ans = s.request({"type": "list", "limit": 2}, ("list", "error"))
    assert [a["alert_id"] for a in ans["alerts"]] == [a3["alert_id"],
                                                      a2["alert_id"]]

    # another device sees none of it, and cannot cancel it
    o = st.session(device_id="mayor-b", signing_key=other_key)
    for frame in ({"type": "status", "alert_id": aid},
                  {"type": "watch", "alert_id": a3["alert_id"]}):
        ans = o.request(frame, ("status", "error"))
        assert ans["type"] == "error" and ans["code"] == "unknown_alert", ans
    ans = o.request({"type": "list"}, ("list", "error"))
    assert ans == {"type": "list", "alerts": []}, ans
    ans = o.cancel(a3["alert_id"])
    assert ans["type"] == "error" and ans["code"] == "unknown_alert", ans
    assert o.request({"type": "ping"}, ("pong", "error")) == {"type": "pong"}
    assert st.alert_hash(a3["alert_id"])["state"] == "open"

    # watch from a new connection: status first, then new receipts
    w = st.session()
    ans = w.request({"type": "watch", "alert_id": a3["alert_id"]},
                    ("status", "error"))
    assert ans["type"] == "status" and ans["state"] == "open", ans
    status, _ = st.ack(a3["alert_id"], st.tokens["contactpunt"])
    assert status == 200
    r = w.wait_receipt(a3["alert_id"], "acknowledged", timeout=5)
    assert r["by"] == CP_ALIAS
    o.drain(0.5)
    assert [f for f in o.frames if f.get("type") == "receipt"] == [], o.frames

    # alertctl status/list show the same, where they exist
    if alertctl_has("status"):
        cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                          "status", aid, "--json"], timeout=20)
        lab.short_runs.append((["alertctl", "status"], cp.stderr))
        assert cp.returncode == 0, (cp.stdout, cp.stderr)
        j = json.loads(cp.stdout.strip().splitlines()[-1])
        assert j["state"] == "acknowledged" and j["ref"] == a1["ref"], j
        assert [e["event"] for e in j["events"]] == names
        cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                          "status", aid], timeout=20)
        assert cp.returncode == 0 and "acknowledged" in cp.stdout, cp.stdout
        assert CP_ALIAS in cp.stdout, cp.stdout
    if alertctl_has("list"):
        cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                          "list", "--json"], timeout=20)
        lab.short_runs.append((["alertctl", "list"], cp.stderr))
        assert cp.returncode == 0, (cp.stdout, cp.stderr)
        j = json.loads(cp.stdout.strip().splitlines()[-1])
        assert [a["alert_id"] for a in j["alerts"]] == [
            a3["alert_id"], a2["alert_id"], aid], j
        cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf,
                          "list"], timeout=20)
        assert cp.returncode == 0, (cp.stdout, cp.stderr)
        lines = [l for l in cp.stdout.splitlines() if l.strip()]
        order = [next((i for i, l in enumerate(lines) if a in l), None)
                 for a in (a3["alert_id"], a2["alert_id"], aid)]
        assert None not in order and order == sorted(order), cp.stdout


@pytest.mark.hard_timeout(90)
@pytest.mark.parametrize("endpoint", [{"delays": [4]},
                                      {"statuses": [500] * 4}],
                         ids=["slow", "retrying"])
def test_ack_reaches_notifications_in_flight(lab, endpoint):
    """The contact point acknowledges while oncall-1's webhook is still
    on its way (a slow endpoint, or one being retried): if oncall-1 ends
    up with the alert, it must also hear that it was acknowledged.

    oncall-1's webhook is answered 200 about 4 s after the alert (after
    4 s, or at the 5th attempt): time enough for the contact point's SMS
    through Kannel and its ACK on a slow machine; tier 1 (6 s) comes
    after it, and the acknowledgement must keep it from being sent."""
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms "
                                 "oncall-1:webhook", "6 oncall-1:sms"),
                   delivery={"retry_initial_ms": 500, "retry_max_ms": 1000},
                   recorders={"oncall-1": endpoint})
    s = st.session()
    acc = s.send_alert("panic")
    aid = acc["alert_id"]
    st.wait_webhook("oncall-1", "alert.raised", aid, timeout=5)
    st.sms.wait(1, to=CP, timeout=5)
    assert not [e for e in st.events(aid) if e["event"] == "delivered" and
                e["recipient"] == OC_ALIAS]
    assert st.sms_reply("contactpunt", "ACK %s" % acc["ref"]) == 200
    st.wait_webhook("contactpunt", "alert.acknowledged", aid)
    time.sleep(7)  # past oncall-1's 200 and past tier 1
    def got():
        return [(a["json"]["type"], a["status"])
                for a in st.webhooks("oncall-1")]
    if ("alert.raised", 200) in got():
        # the notice may still be on its way on a loaded machine
        try:
            wait_until(lambda: ("alert.acknowledged", 200) in got(), 15,
                       what="alert.acknowledged at oncall-1")
        except TimeoutError:
            raise AssertionError(
                "oncall-1's webhook got the alert (answered 200 after the "
                "ack) but never alert.acknowledged: %s; events: %s"
                % (got(), st.events(aid)))
    assert st.sms.snapshot(to=OC) == []
