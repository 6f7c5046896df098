"""The contact point's side of issue 13: every webhook event names the
alert's reference and the device's alias; `alertctl ack REF` and
`alertctl inbox` with a [contactpoint] section in alertctl.conf; the
receiver's alarm card in Dutch and English with a fixed timezone; phone
numbers normalised or refused; `send --wait ack` saying what it waits
for.  Real alertrelayd, redis-server, Kannel and alertctl processes."""

import datetime
import json
import os
import re
import time
import zoneinfo

import pytest

import harness
import proto
from harness import alertctl_bin, sms_stack, wait_until
from helpers import device_key, recipient_pks

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

DEVICE_ALIAS = "Burgemeester-A"
CP_ALIAS = "Contactpunt"
BOTH = ("contactpunt", "oncall-1")


def policies(*tiers):
    return {"default": {"types": "panic threat", "tier": list(tiers),
                        "repeat": 0, "max_age": 3600},
            "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


def cp_conf(st, path, rid, url=True, extra=""):
    """A contact point's alertctl.conf: only [contactpoint]."""
    lines = ["[contactpoint]"]
    if url:
        lines.append("ack_url = https://127.0.0.1:%d" % st.ack_port)
    lines += ["relay_pin = %s" % st.env.pin,
              "token_file = %s" % st.token_files[rid],
              "timezone = Europe/Amsterdam"]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def ctl(lab, *args, env=None, timeout=30):
    argv = [alertctl_bin()] + [str(a) for a in args]
    # the contact point's people read Dutch (the harness runs the rest of
    # the suite with LANGUAGE=en); English where a test says so
    e = {"LANGUAGE": "nl"}
    e.update(env or {})
    cp = harness.run(argv, timeout=timeout, env=e)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def hooks_of(st, rid, aid):
    return [h["json"] for h in st.recorders[rid].snapshot()
            if (h["json"] or {}).get("alert_id") == aid]


# ================================================ webhooks: ref and alias


@pytest.mark.hard_timeout(120)
def test_every_webhook_event_carries_ref_and_device_alias(lab):
    st = sms_stack(lab, policies("0 contactpunt:webhook",
                                 "1 oncall-1:webhook"), tokens=BOTH)
    s = st.session()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    st.wait_webhook("contactpunt", "alert.raised", aid)
    st.wait_webhook("oncall-1", "alert.escalated", aid)
    status, body = st.ack(aid, st.tokens["contactpunt"])
    assert status == 200, body
    st.wait_webhook("contactpunt", "alert.acknowledged", aid)
    st.wait_webhook("oncall-1", "alert.acknowledged", aid)
    acc2 = s.send_alert("threat")
    st.wait_webhook("contactpunt", "alert.raised", acc2["alert_id"])
    s.cancel(acc2["alert_id"])
    st.wait_webhook("contactpunt", "alert.cancelled", acc2["alert_id"])

    seen = set()
    for rid in BOTH:
        for a, r in ((aid, ref), (acc2["alert_id"], acc2["ref"])):
            for h in hooks_of(st, rid, a):
                assert h["ref"] == r, h
                assert h["device_alias"] == DEVICE_ALIAS, h
                seen.add(h["type"])
    assert seen == {"alert.raised", "alert.escalated", "alert.acknowledged",
                    "alert.cancelled"}, seen


# ===================================== ack by reference, inbox, [contactpoint]


@pytest.mark.hard_timeout(120)
def test_ack_by_ref_and_inbox_with_contactpoint_config(lab):
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms",
                                 "60 oncall-1:webhook"), tokens=BOTH)
    s = st.session()
    # sealed to the contact point only: oncall-1 is not on it at all
    acc = s.send_alert("panic", recipients=["contactpunt"])
    aid, ref = acc["alert_id"], acc["ref"]
    other = s.send_alert("threat")
    st.wait_webhook("contactpunt", "alert.raised", aid)
    st.wait_webhook("contactpunt", "alert.raised", other["alert_id"])
    conf = cp_conf(st, lab.tmp / "cp.conf", "contactpunt")
    oc_conf = cp_conf(st, lab.tmp / "oc.conf", "oncall-1")

    # the inbox: both alerts, newest first, open, no content
    cp = ctl(lab, "-c", conf, "inbox", "--json")
    assert cp.returncode == 0, cp.stderr
    inbox = json.loads(cp.stdout)
    assert [a["ref"] for a in inbox] == [other["ref"], ref], inbox
    a = inbox[1]
    assert a["alert_id"] == aid and a["state"] == "open", a
    assert a["alert_type"] == "panic" and a["tier"] == 0, a
    assert a["device_alias"] == DEVICE_ALIAS and "acknowledged_by" not in a
    assert "message" not in a and "ciphertext" not in a
    # bounded; -c also after the command
    cp = ctl(lab, "inbox", "--json", "--limit", "1", "-c", conf)
    assert [x["ref"] for x in json.loads(cp.stdout)] == [other["ref"]]
    # oncall-1 was sent neither (its tier is at 60 s)
    cp = ctl(lab, "-c", oc_conf, "inbox", "--json")
    assert cp.returncode == 0 and json.loads(cp.stdout) == [], cp.stdout

    # ... nor may it take the one it is not on by its reference: the
    # same 404 as no alert
    cp = ctl(lab, "-c", oc_conf, "ack", ref)
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert st.alert_hash(aid)["state"] == "open"

    # the reference as typed from a phone: lower case, split in halves
    typed = ref[:4].lower() + "-" + ref[4:].lower()
    cp = ctl(lab, "-c", conf, "ack", typed, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    assert "acknowledged %s as %s (first)" % (ref, CP_ALIAS) in cp.stdout
    assert "alert_id=%s" % aid in cp.stdout
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and h["acked_channel"] == "https"
    # in Dutch
    cp = ctl(lab, "-c", conf, "ack", ref)
    assert cp.returncode == 0, cp.stderr
    assert "al opgepakt" in cp.stdout, cp.stdout

    # the inbox says who took it, in a table for people
    cp = ctl(lab, "-c", conf, "inbox", env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    line = [l for l in cp.stdout.splitlines() if l.startswith(ref)]
    assert line and CP_ALIAS in line[0] and "PANIC" in line[0], cp.stdout
    # local time with its zone: in English year-month-day, in Dutch
    # day-month-year (common/ltime.c)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T", line[0]), line
    assert "alertctl ack REF" in cp.stdout
    cp = ctl(lab, "-c", conf, "inbox")
    assert "PANIEK" in cp.stdout and "OPGEPAKT DOOR" in cp.stdout, cp.stdout
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d CES?T", cp.stdout), \
        cp.stdout

    # a drill is listed as one (the merge with drills)
    rc, out, err = lab.send(st.env, "--type", "panic", "--drill")
    assert rc == 0, (out, err)
    drill_id = re.search(r"^alert_id=([0-9a-f]{32})$", "\n".join(out),
                         re.M).group(1)
    st.wait_webhook("contactpunt", "alert.raised", drill_id)
    cp = ctl(lab, "-c", conf, "inbox", "--json")
    inbox = json.loads(cp.stdout)
    assert [(a["alert_id"], a["drill"]) for a in inbox][:2] == [
        (drill_id, True), (other["alert_id"], False)], inbox
    cp = ctl(lab, "-c", conf, "inbox")
    drill_ref = inbox[0]["ref"]
    line = [l for l in cp.stdout.splitlines() if l.startswith(drill_ref)]
    assert line and line[0].endswith("OEFENING"), cp.stdout

    # a token the relay does not know: nothing listed
    bad = harness.write_secret(lab.tmp / "bad.ack", "y" * 32)
    cp = ctl(lab, "-c", conf, "inbox", "--token-file", bad)
    assert cp.returncode == 1 and cp.stdout == "", cp.stdout
    for tok in st.tokens.values():
        assert all(tok not in e for _, e in lab.short_runs)


def test_ack_without_a_relay_says_where_to_set_it(lab, tmp_path):
    conf = tmp_path / "alertctl.conf"
    conf.write_text("[contactpoint]\ntimezone = Europe/Amsterdam\n")
    cp = ctl(lab, "-c", conf, "ack", "K7Q2M9XD", env={"LANGUAGE": "en"})
    assert cp.returncode == 2, cp.stderr
    assert "[contactpoint]" in cp.stderr and "ack_url" in cp.stderr
    cp = ctl(lab, "-c", conf, "ack", "K7Q2", env={"LANGUAGE": "en"})
    assert cp.returncode == 2 and "K7Q2M9XD" in cp.stderr, cp.stderr
    conf.write_text("[contactpoint]\nack_ur = https://x:1\n")
    cp = ctl(lab, "-c", conf, "ack", "K7Q2M9XD")
    assert cp.returncode != 0 and "ack_ur" in cp.stderr, cp.stderr


# ================================================ the receiver's alarm card


def card_webhook(env, ref, message, location, rid="contactpunt",
                 event="alert.raised", extra=None):
    """A webhook as the relay sends it, with its ref and device_alias."""
    alert_id = proto.new_alert_id()
    created_at = proto.rfc3339_now()
    i = proto.inner_alert(alert_id, env.device_id, "panic", created_at,
                          message, location)
    ct = proto.seal(i, device_key(env), recipient_pks(env)[rid])
    o = json.loads(proto.webhook_body(alert_id, env.device_id, "panic",
                                      created_at, rid, ct))
    o.update({"ref": ref, "device_alias": DEVICE_ALIAS, "type": event},
             **(extra or {}))
    body = json.dumps(o, separators=(",", ":")).encode()
    msg_id = "msg_" + alert_id + "_" + event
    ts = str(int(time.time()))
    key = proto.whsec_key(env.recipients[rid].secret_text)
    headers = {"webhook-id": msg_id, "webhook-timestamp": ts,
               "webhook-signature": proto.webhook_signature(key, msg_id, ts,
                                                            body),
               "content-type": "application/json"}
    return headers, body, alert_id, created_at


def post(port, headers, body):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/hook", body, headers)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def start_card_receiver(lab, env, language, zone, pretty=True):
    r = env.recipient("contactpunt")
    port = harness.free_port()
    argv = [alertctl_bin(), "receive", "--listen", "127.0.0.1:%d" % port,
            "--secret", r.secret_file, "--key", r.key,
            "--devices", env.devices_dir, "--timezone", zone]
    if pretty:
        argv.append("--pretty")
    old = os.environ.get("LANGUAGE")
    os.environ["LANGUAGE"] = language
    try:
        p = lab.spawn(argv, "receive-card-%s" % language)
    finally:
        if old is None:
            os.environ.pop("LANGUAGE")
        else:
            os.environ["LANGUAGE"] = old
    p.wait_for(r"listening on|luistert op", "stderr", 10)
    return p, port


@pytest.mark.parametrize("language,zone,words", [
    ("nl", "Europe/Amsterdam",
     ["ALARM PANIEK - Burgemeester-A", "Referentie:", "Bericht:",
      "Locatie:", "Oppakken:", "binnen 15 m", "s geleden)"]),
    ("en", "America/New_York",
     ["ALARM PANIC - Burgemeester-A", "Reference:", "Message:", "Location:",
      "Take it:", "within 15 m", "s ago)"]),
])
def test_alarm_card(lab, language, zone, words):
    env = lab.env()
    p, port = start_card_receiver(lab, env, language, zone)
    ref = "K7Q2M9XD"
    loc = {"lat": 52.0907, "lon": 5.1214, "accuracy_m": 15}
    headers, body, aid, created = card_webhook(
        env, ref, "Man bij de voordeur\x1b[31m\x07", loc)
    assert post(port, headers, body) == 200
    wait_until(lambda: "alert_id:" in "\n".join(p.snapshot("stdout")), 10,
               what="the card")
    card = "\n".join(p.snapshot("stdout"))
    for w in words:
        assert w in card, (w, card)
    # the command that takes it, with the reference
    assert re.search(r"alertctl ack %s$" % ref, card, re.M), card
    # the message, with what could drive the terminal made harmless
    assert "Man bij de voordeur?[31m?" in card and "\x1b" not in card
    assert "https://www.openstreetmap.org/?mlat=52.090700&mlon=5.121400" \
        "#map=17/52.090700/5.121400" in card, card
    # local time in the chosen zone, with the zone's abbreviation
    t = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ") \
        .replace(tzinfo=datetime.timezone.utc) \
        .astimezone(zoneinfo.ZoneInfo(zone))
    # Dutch day-month-year, English year-month-day (common/ltime.c)
    fmt = "%d-%m-%Y %H:%M:%S " if language == "nl" else "%Y-%m-%d %H:%M:%S "
    assert t.strftime(fmt) + t.tzname() in card, card
    assert created not in card  # no UTC time for people

    # the notice when someone took it
    headers, body, aid2, _ = card_webhook(
        env, ref, None, None, event="alert.acknowledged",
        extra={"acknowledged_by": "Piket-1",
               "acknowledged_at": created})
    o = json.loads(body)
    o.pop("ciphertext", None)
    body = json.dumps(o).encode()
    key = proto.whsec_key(env.recipients["contactpunt"].secret_text)
    headers["webhook-signature"] = proto.webhook_signature(
        key, headers["webhook-id"], headers["webhook-timestamp"], body)
    assert post(port, headers, body) == 200
    taken = "OPGEPAKT door Piket-1" if language == "nl" else "TAKEN by Piket-1"
    wait_until(lambda: taken in "\n".join(p.snapshot("stdout")), 10,
               what="the notice: " + "\n".join(p.snapshot("stdout")))


def signed_notice(env, o, rid="contactpunt"):
    """A notice without content (no ciphertext), signed as the relay
    signs webhooks."""
    body = json.dumps(o, separators=(",", ":")).encode()
    msg_id = "msg_" + o["alert_id"] + "_" + o["type"]
    ts = str(int(time.time()))
    key = proto.whsec_key(env.recipients[rid].secret_text)
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": proto.webhook_signature(key, msg_id, ts,
                                                         body),
            "content-type": "application/json"}, body


def test_card_of_a_drill_and_of_a_device_gone_silent(lab):
    """The merge of drills and supervision into the card: a drill says
    OEFENING before anything that reads as an alarm; device.offline and
    device.online name the device by its alias, with when it was last
    seen in local time."""
    env = lab.env()
    p, port = start_card_receiver(lab, env, "nl", "Europe/Amsterdam")
    headers, body, aid, _ = card_webhook(env, "K7Q2M9XD", "Oefening", None)
    o = json.loads(body)
    # the drill flag signed inside the sealed alert, and on the webhook
    i = proto.inner_alert(aid, env.device_id, "panic", o["created_at"],
                          "Oefening", None)
    i["drill"] = True
    o["ciphertext"] = proto.seal(i, device_key(env),
                                 recipient_pks(env)["contactpunt"])
    o["drill"] = True
    headers, body = signed_notice(env, o)
    assert post(port, headers, body) == 200
    wait_until(lambda: "ALARM PANIEK" in "\n".join(p.snapshot("stdout")), 10,
               what="the drill's card")
    card = "\n".join(p.snapshot("stdout"))
    assert card.index("OEFENING") < card.index("ALARM PANIEK"), card

    last_seen = "2026-11-29T02:47:12Z"  # 03:47:12 CET
    for event, words in (("device.offline", "APPARAAT OFFLINE"),
                         ("device.online", "APPARAAT WEER ONLINE")):
        o = {"type": event, "alert_id": proto.new_alert_id(),
             "recipient_id": "contactpunt", "device_id": env.device_id,
             "device_alias": DEVICE_ALIAS, "created_at": proto.rfc3339_now(),
             "received_at": proto.rfc3339_now(), "last_seen": last_seen,
             "interval_s": "60", "drill": False}
        headers, body = signed_notice(env, o)
        assert post(port, headers, body) == 200
        line = "%s (niet op tijd iets van gehoord): %s" % (words, DEVICE_ALIAS) \
            if event == "device.offline" else "%s: %s" % (words, DEVICE_ALIAS)
        wait_until(lambda: line in "\n".join(p.snapshot("stdout")), 10,
                   what=event + ": " + "\n".join(p.snapshot("stdout")))
    card = "\n".join(p.snapshot("stdout"))
    assert re.search(r"Laatst gezien: +29-11-2026 03:47:12 CET$", card, re.M), \
        card


@pytest.mark.parametrize("conf,abbr", [
    ("[client]\ntimezone = Asia/Kolkata\n", "IST"),
    ("[client]\ntimezone = Asia/Kolkata\n"
     "[contactpoint]\ntimezone = America/New_York\n", "ES?T"),
    ("[contactpoint]\n", "CES?T"),
])
def test_card_zone_contactpoint_then_client_then_amsterdam(lab, tmp_path,
                                                           conf, abbr):
    """Without --timezone the card's zone is [contactpoint]'s, else
    [client]'s (the one zone of the official's times), else
    Europe/Amsterdam."""
    env = lab.env()
    r = env.recipient("contactpunt")
    path = tmp_path / "alertctl.conf"
    path.write_text(conf)
    port = harness.free_port()
    p = lab.spawn([alertctl_bin(), "-c", str(path), "receive", "--listen",
                   "127.0.0.1:%d" % port, "--secret", r.secret_file,
                   "--key", r.key, "--devices", env.devices_dir, "--pretty"],
                  "receive-zone")
    p.wait_for(r"listening on|luistert op", "stderr", 10)
    headers, body, _, _ = card_webhook(env, "K7Q2M9XD", "Hulp", None)
    assert post(port, headers, body) == 200
    wait_until(lambda: "alert_id:" in "\n".join(p.snapshot("stdout")), 10,
               what="the card")
    card = "\n".join(p.snapshot("stdout"))
    assert re.search(r"\d\d:\d\d:\d\d %s \(" % abbr, card), card


def test_json_line_carries_ref_and_device_alias(lab):
    env = lab.env()
    p, port = start_card_receiver(lab, env, "nl", "Europe/Amsterdam",
                                  pretty=False)
    headers, body, aid, _ = card_webhook(env, "K7Q2M9XD", "Hulp", None)
    assert post(port, headers, body) == 200
    wait_until(lambda: p.snapshot("stdout"), 10, what="the JSON line")
    a = json.loads(p.snapshot("stdout")[0])
    assert a["alert_id"] == aid and a["ref"] == "K7Q2M9XD", a
    assert a["device_alias"] == DEVICE_ALIAS, a


# ================================================ phone numbers


@pytest.mark.parametrize("written,e164", [
    ("06 1234 5678", "+31612345678"),
    ("+31 6 12345678", "+31612345678"),
    ("0031-6-1234-5678", "+31612345678"),
    ("(010) 123 4567", "+31101234567"),
    ("+32 470 12 34 56", "+32470123456"),
])
def test_phone_numbers_are_normalised_saying_so(lab, tmp_path, written, e164):
    org = tmp_path / "org"
    cp = ctl(lab, "org", "init", "--org", org, "--relay", "127.0.0.1:7443",
             "--pin", proto.b64e(os.urandom(32)))
    assert cp.returncode == 0, cp.stderr
    cp = ctl(lab, "recipient", "add", "Piket 1", "--id", "piket-1",
             "--sms", written, "--org", org, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    assert "phone number '%s' taken as %s" % (written, e164) in cp.stdout
    # SMS only: no key to hand over, and how it takes an alarm
    assert "no key to hand over" in cp.stdout, cp.stdout
    assert "give it to the contact point" not in cp.stdout
    assert "replying OK" in cp.stdout
    cp = ctl(lab, "recipient", "list", "--json", "--org", org)
    assert cp.returncode == 0, cp.stderr
    (r,) = json.loads(cp.stdout)["recipients"]
    assert r["id"] == "piket-1" and r["channels"] == {"webhook": None,
                                                       "sms": e164}, r
    # in Dutch by default
    cp = ctl(lab, "recipient", "add", "Piket 2", "--id", "piket-2",
             "--sms", written, "--org", org)
    assert "telefoonnummer '%s' genoteerd als %s" % (written, e164) \
        in cp.stdout, cp.stdout


def test_implausible_phone_numbers_refused_with_an_example(lab, tmp_path):
    org = tmp_path / "org"
    ctl(lab, "org", "init", "--org", org, "--relay", "127.0.0.1:7443",
        "--pin", proto.b64e(os.urandom(32)))
    for bad in ("06 1234 567", "+31 6 1234 56789", "612345678", "+1 23",
                "06-CALL-ME", "+123456789012345678"):
        cp = ctl(lab, "recipient", "add", "Piket", "--sms", bad, "--org", org,
                 env={"LANGUAGE": "en"})
        assert cp.returncode == 2, (bad, cp.stdout, cp.stderr)
        assert "+31612345678 (or 06 1234 5678)" in cp.stderr, cp.stderr
    cp = ctl(lab, "recipient", "list", "--json", "--org", org)
    assert json.loads(cp.stdout) == {"recipients": []}
    # a webhook recipient has a key to hand over
    cp = ctl(lab, "recipient", "add", "Contactpunt", "--webhook",
             "https://cp.example.nl/hook", "--sms", "+31612345678", "--org",
             org, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    assert "taken as" not in cp.stdout  # already E.164
    assert "give it to the contact point" in cp.stdout, cp.stdout


def test_relay_config_takes_national_numbers(lab):
    env = lab.env()
    env.recipient_extra["contactpunt"] = {"sms": "06 1234 5678",
                                          "sms_gateway": "gw"}
    env.gateways = {"gw": {"type": "http", "url": "http://127.0.0.1:9/x",
                           "body": "to={to}&text={text}",
                           "from": "+3197010000000"}}
    env.write_relay_conf()
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                      env.relay_conf], timeout=20)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 0 and "configuration OK" in cp.stdout, out
    assert "sms '06 1234 5678' taken as +31612345678" in out, out
    env.recipient_extra["contactpunt"]["sms"] = "06 1234"
    env.write_relay_conf()
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                      env.relay_conf], timeout=20)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0 and "for example +31612345678" in out, out


# ================================================ send --wait ack


@pytest.mark.hard_timeout(60)
def test_send_wait_ack_says_what_it_waits_for_and_ends_at_max_age(lab):
    env = lab.env()
    env.policies = {"default": {"types": "panic threat test",
                                "tier": ["0 contactpunt:webhook"],
                                "max_age": 4}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    lab.recorder_for(env, "contactpunt")
    t0 = time.monotonic()
    os.environ["LANGUAGE"], old = "en", os.environ.get("LANGUAGE")
    try:
        p = lab.send_proc(env, "--type", "panic", "--wait", "ack")
    finally:
        if old is None:
            os.environ.pop("LANGUAGE")
        else:
            os.environ["LANGUAGE"] = old
    m = p.wait_for(r"^alert_id=([0-9a-f]{32})$", "stdout", timeout=15)
    p.wait_for(r"^waiting until a person takes alert %s \(at most 1 min\); "
               r"Ctrl-C stops waiting, the alert stays open$" % m.group(1),
               "stdout", timeout=10)
    # no --wait-timeout: bounded by the policy's max_age (4 s), not forever
    rc = p.wait_exit(20)
    assert rc == 4, (rc, p.tail())
    assert time.monotonic() - t0 < 15
    assert "not acknowledged within 4 s" in p.text("stderr"), p.tail()


# ================================================ follow-up SMS (Kannel)


def not_alert_sms(m):
    return not m.text.startswith(("ALARM ", "ALERT "))


@pytest.mark.hard_timeout(120)
def test_confirmation_sms_is_retried_when_the_gateway_fails(lab):
    """The confirmation to whoever took an alert by SMS goes through the
    same retries as other SMS: with Kannel's smsbox frozen the first
    attempt times out, and once it is back the phone gets it."""
    import http.client
    import urllib.parse
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms"),
                   delivery={"request_timeout": 2, "retry_initial_ms": 500})
    s = st.session()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    cp_number = harness.SMS_NUMBERS["contactpunt"]
    st.sms.wait(1, to=cp_number, timeout=10)

    st.kannel.smsbox.pause()
    try:
        # the reply as smsbox would pass it on, straight to the relay
        c = http.client.HTTPConnection("127.0.0.1", st.plain_port, timeout=10)
        c.request("POST", "/v1/sms/kannel",
                  urllib.parse.urlencode({"from": cp_number,
                                          "text": "OK " + ref}),
                  {"X-Alertrelay-Token": st.mo_token,
                   "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == 200, r.status
        assert st.alert_hash(aid)["state"] == "acknowledged"
        wait_until(lambda: "sms notice kind=confirmed recipient=contactpunt "
                   "result=retry" in st.relay.log(), 15,
                   what="a failed first attempt")
    finally:
        st.kannel.smsbox.resume()
    (_, ok), = st.sms.wait(1, to=cp_number, pred=not_alert_sms, timeout=20)
    assert ok.text == harness.sms_confirmed_text(ref), ok.text
    # the line comes through a pipe, after the gateway's answer
    st.relay.proc.wait_for(r"sms notice kind=confirmed recipient=contactpunt "
                           r"result=ok status=\d+ attempt=[2-9]", "stderr",
                           10)


@pytest.mark.hard_timeout(120)
def test_https_ack_by_ref_tells_the_others_by_sms(lab):
    """An acknowledgement over HTTPS (alertctl ack REF) sends "opgepakt
    door <name>" to the others reached by SMS, as one by SMS does."""
    st = sms_stack(lab, policies("0 contactpunt:webhook oncall-1:sms"),
                   tokens=("contactpunt",))
    s = st.session()
    acc = s.send_alert("panic")
    ref = acc["ref"]
    oc = harness.SMS_NUMBERS["oncall-1"]
    st.sms.wait(1, to=oc, timeout=10)
    conf = cp_conf(st, lab.tmp / "cp.conf", "contactpunt")
    cp = ctl(lab, "-c", conf, "ack", ref)
    assert cp.returncode == 0, cp.stderr
    (_, told), = st.sms.wait(1, to=oc, pred=not_alert_sms, timeout=15)
    assert re.fullmatch(harness.sms_taken_rx(ref, CP_ALIAS), told.text), \
        told.text


def test_org_key_is_the_key_or_a_file_holding_it(lab, tmp_path):
    org = tmp_path / "org"
    cp = ctl(lab, "org", "init", "--org", org, "--relay", "127.0.0.1:7443",
             "--pin", proto.b64e(os.urandom(32)))
    assert cp.returncode == 0, cp.stderr
    ctl(lab, "recipient", "add", "Contactpunt", "--webhook",
        "https://cp.example.nl/hook", "--org", org)
    signed = tmp_path / "directory.signed"
    cp = ctl(lab, "directory", "sign", "--org", org, "-o", signed)
    assert cp.returncode == 0, cp.stderr
    key = (org / "org.pub").read_text().strip()
    for given in (key, str(org / "org.pub")):
        cp = ctl(lab, "directory", "show", signed, "--org-key", given)
        assert cp.returncode == 0, (given, cp.stderr)
        assert "contactpunt" in cp.stdout
    cp = ctl(lab, "directory", "show", signed, "--org-key",
             str(tmp_path / "missing.pub"))
    assert cp.returncode == 2, cp.stderr


def test_an_alias_the_tools_would_show_as_a_question_mark_is_refused(
        lab, tmp_path):
    """A recipient's alias with a bidi override, an isolate or a C1
    control: refused when added (the relay would write it into every
    acknowledgement's "NAME (alias)", and alertctl and the console show
    such a name as "?"); an alias with accents is taken.  Before, only
    C0 controls and DEL were refused."""
    org = tmp_path / "org"
    ctl(lab, "org", "init", "--org", org, "--relay", "127.0.0.1:7443",
        "--pin", proto.b64e(os.urandom(32)))
    for bad in ("Piket \u202eNWB", "Piket\u2066 1", "Piket\u0085"):
        cp = ctl(lab, "recipient", "add", bad, "--sms", "+31612345678",
                 "--org", org, env={"LANGUAGE": "en"})
        assert cp.returncode == 2 and "bidi" in cp.stderr, (bad, cp.stderr)
    cp = ctl(lab, "recipient", "list", "--json", "--org", org)
    assert json.loads(cp.stdout) == {"recipients": []}
    cp = ctl(lab, "recipient", "add", "Piket Zoë", "--sms", "+31612345678",
             "--org", org, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
