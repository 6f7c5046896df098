"""Whose word the console's alert state is (docs/SECURITY.md, "Whoever
takes over the relay host"): the relay keeps the device's signed cancel
and passes it on in alert.cancelled and alert.duress, and the signed
acknowledgement statement in alert.acknowledged; alertconsole checks them
with the keys it holds.  A cancel or acknowledgement that only the
webhook secret vouches for (a relay taken over holds it) is shown as the
relay's word, and the alert stays open and unclaimed, the alarm on.
Real processes: a real relay, `alertctl send` and `alertctl cancel`, and
webhooks made in Python for what a relay taken over would send."""

import base64
import csv
import io
import json
import time

import nacl.signing
import pytest

import harness
import proto
from helpers import device_key, send_ok
from test_console import RID, Console, resign
from test_receiver import make_webhook

pytestmark = pytest.mark.needs("alertrelayd", "alertctl", "alertconsole")

PIN, DURESS = "47119305", "80802461"
SIGCTX_ACK = b"alertrelay ack statement v1\n"


def b64(b):
    return base64.b64encode(bytes(b)).decode()


def alertctl(env, *args, input=None):
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf] +
                     list(args), timeout=30, input=input)
    assert cp.returncode == 0, (args, cp.stdout, cp.stderr)
    return cp.stdout


def one(console, aid):
    status, _, raw = console.get("/api/alert/%s" % aid)
    assert status == 200, (status, raw)
    return json.loads(raw)


def wait_notice(console, aid, what, word, timeout=20):
    harness.wait_until(
        lambda: one(console, aid).get("notices", {}).get(what) == word,
        timeout, what="%s by %s in the console" % (what, word))
    return one(console, aid)


def rows_of(console, aid, kind):
    return [json.loads(r["body"]) for r in console.rows()
            if r["alert_id"] == aid and r["type"] == kind]


@pytest.mark.hard_timeout(150)
def test_device_cancel_and_duress_reach_the_console_signed(lab):
    """A real cancel and a real duress cancel, sent by `alertctl cancel`
    through a real relay: the console gets the device's signed cancel
    and shows each as the device's, not the relay's."""
    env = lab.env()
    port = harness.free_port()
    env.recipient(RID).webhook_port = port
    env.recipient(RID).webhook_path = "/hook/" + RID
    env.use_directory()
    console = Console(lab, env, port=port)
    lab.redis(env)
    lab.relay(env)
    console.start()
    real, _, _ = send_ok(lab, env, "--type", "panic", "--message", "voordeur",
                         "--timeout", "20")
    console.wait_alerts(1, timeout=20)
    assert alertctl(env, "cancel", real).startswith("cancelled")
    a = wait_notice(console, real, "cancelled", "device")
    assert a["state"] == "cancelled" and a["duress"] is False, a
    body, = rows_of(console, real, "alert.cancelled")
    signed = json.loads(base64.b64decode(body["cancel"]))
    assert signed["alert_id"] == real and body["cancel_sig"], body
    assert ("cancelled", "device") in [(e["kind"], e["actor"])
                                       for e in a["timeline"]], a
    # under duress (PINs set): the device's v2 cancel with its flag
    alertctl(env, "pincode", "set", input="%s\n%s\n" % (PIN, DURESS))
    forced, _, _ = send_ok(lab, env, "--type", "threat", "--timeout", "20")
    console.wait_alerts(2, timeout=20)
    alertctl(env, "cancel", forced, input=DURESS + "\n")
    a = wait_notice(console, forced, "duress", "device")
    assert a["duress"] is True and a["state"] == "open", a
    assert a["owner"] is None and a["notices"]["cancelled"] is None, a
    body = rows_of(console, forced, "alert.duress")[0]
    assert json.loads(base64.b64decode(body["cancel"]))["duress"] == 1


def statement(sk, alert_id, env_hash, by="Piket-1"):
    """A signed acknowledgement statement (docs/PROTOCOL.md)."""
    st = {"v": "1", "alert_id": alert_id, "envelope_sha256": env_hash,
          "recipient": RID, "by": by,
          "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
          "kind": "acknowledged"}
    canon = ("v=1\nalert_id=%s\nenvelope_sha256=%s\nrecipient=%s\nby=%s\n"
             "at=%s\nkind=acknowledged\noutcome=\nmessage=\n" % (
                 alert_id, env_hash, RID, by, st["at"])).encode()
    st["sig"] = b64(sk.sign(SIGCTX_ACK + canon).signature)
    return st


def signed_cancel(sk, env, aid, duress=None, device_id=None):
    """The cancel frame's members, signed with sk (v1, or v2 with the
    duress flag) as device_id (env's device by default)."""
    c = {"alert_id": aid, "created_at": proto.rfc3339_now(),
         "device_id": device_id or env.device_id, "v": 1}
    ctx = b"alertrelay cancel v1\n"
    if duress is not None:
        c.update(v=2, duress=duress)
        ctx = b"alertrelay cancel v2\n"
    raw = json.dumps(c, separators=(",", ":"), sort_keys=True).encode()
    return {"cancel": b64(raw), "cancel_sig": b64(sk.sign(ctx + raw).signature)}


def other_device(env):
    """Another enrolled device (mayor-b), whose signed cancel a relay
    taken over may hold: its signing key."""
    other = nacl.signing.SigningKey.generate()
    env.extra_devices["mayor-b"] = (b64(other.verify_key), "Wethouder-B")
    return other


def panics(env, console, n):
    """n panic alerts delivered, alert i naming the envelope "%064x" % i:
    their ids."""
    aids = []
    for i in range(n):
        h, body, inner = make_webhook(env, RID, alert_type="panic",
                                      outer={"envelope_sha256": "%064x" % i})
        assert console.hook(h, body) == 200
        aids.append(inner["alert_id"])
    return aids


def send_notices(env, console, aids, notices, prefix):
    """Notice i, (kind, extra members), about alert aids[i], signed as
    anyone holding the webhook secret signs it."""
    for i, (kind, extra) in enumerate(notices):
        o = {"type": kind, "alert_id": aids[i], "recipient_id": RID}
        o.update(extra)
        b = json.dumps(o).encode()
        assert console.hook(resign(env, b, "%s%d" % (prefix, i)), b) == 200


@pytest.mark.hard_timeout(90)
def test_relay_word_does_not_end_the_alarm(lab):
    """What a relay taken over can send with the webhook secret alone: a
    bare cancel or acknowledgement, one signed with a key of its own, a
    duress cancel passed off as a real one.  Each is shown as the
    relay's word; the alert stays open and unclaimed.  A statement the
    recipient signed, and the device's own cancel, count."""
    env = lab.env()
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    console = Console(lab, env).start()
    aids = panics(env, console, 7)
    forger = nacl.signing.SigningKey.generate()
    dev = device_key(env)
    notices = [
        ("alert.acknowledged", {"acknowledged_by": "Piket-1"}),
        ("alert.cancelled", {}),
        ("alert.cancelled", signed_cancel(forger, env, aids[2])),
        ("alert.acknowledged", {"acknowledged_by": "Piket-1", "statement":
                                statement(forger, aids[3], "%064x" % 3)}),
        ("alert.cancelled", signed_cancel(dev, env, aids[4], duress=1)),
        ("alert.acknowledged", {"acknowledged_by": "Piket-1", "statement":
                                statement(sk, aids[5], "%064x" % 5)}),
        ("alert.cancelled", signed_cancel(dev, env, aids[6])),
    ]
    send_notices(env, console, aids, notices, "msg_n")
    got = {a["alert_id"]: a for a in console.alerts()}
    seen = [(got[x]["state"], got[x]["duress"], got[x]["notices"],
             got[x]["acked_by"], got[x]["relay_acked_by"]) for x in aids]
    n = {"cancelled": None, "acknowledged": None, "duress": None}
    assert seen == [
        ("open", False, dict(n, acknowledged="relay"), None, "Piket-1"),
        ("open", False, dict(n, cancelled="relay"), None, None),
        ("open", False, dict(n, cancelled="relay"), None, None),
        ("open", False, dict(n, acknowledged="relay"), None, "Piket-1"),
        # a duress cancel sent as alert.cancelled: still duress
        ("open", True, dict(n, duress="device"), None, None),
        ("acknowledged", False, dict(n, acknowledged="signed"), "Piket-1",
         None),
        ("cancelled", False, dict(n, cancelled="device"), None, None),
    ], seen
    # the timeline says whose word
    kinds = [(e["kind"], e["actor"]) for e in one(console, aids[1])["timeline"]]
    assert kinds[-1] == ("cancelled_relay", "relay"), kinds
    # a bare alert.duress: shown as duress anyway, as the relay's word
    h, body, inner = make_webhook(env, RID, alert_type="threat")
    assert console.hook(h, body) == 200
    o = json.loads(body)
    o.update(type="alert.duress", duress=True, duress_at=proto.rfc3339_now())
    b = json.dumps(o).encode()
    assert console.hook(resign(env, b, "msg_duress"), b) == 200
    a = one(console, inner["alert_id"])
    assert a["duress"] is True and a["state"] == "open", a
    assert a["notices"]["duress"] == "relay", a
    # unclaimed: an operator can still claim the relay-cancelled one
    console.login()
    assert console.post("/api/alert/%s/claim" % aids[1])[0] == 200


CAP = 8  # CONSOLE_NOTICE_RELAY_MAX


@pytest.mark.hard_timeout(120)
def test_a_flood_of_notices_is_bounded_and_a_signed_ack_still_counts(lab):
    """What a relay taken over can send with the webhook secret alone, as
    often as it likes: acknowledgements with statements signed by a key
    of its own (each its own body and webhook-id), one bare cancel
    replayed, a copy of the recipient's genuine signature under a statement
    it changed, and the genuine signed acknowledgement replayed in other
    wrappings.  The console stores at most CAP notices of one alert and
    type that only the relay vouches for, each body once and each genuine
    signature once, and says it left the rest out: each queue load reads
    and checks those rows and no more.  The genuine signed acknowledgement,
    sent after all the junk, is stored and counts.  Before, every notice
    was stored, read and checked on every queue load."""
    env = lab.env()
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    console = Console(lab, env, extra={"conn_rate": "0"}).start()
    aid, = panics(env, console, 1)
    genuine = statement(sk, aid, "%064x" % 0)
    changed = dict(genuine, by="Niemand")  # its signature no longer holds
    forger = nacl.signing.SigningKey.generate()
    junk = [("alert.acknowledged", {"acknowledged_by": "Piket-1",
                                    "statement": changed})]
    junk += [("alert.acknowledged", {"acknowledged_by": "x%d" % i,
                                     "statement": statement(
                                         forger, aid, "%064x" % 0,
                                         by="x%d" % i)})
             for i in range(3 * CAP)]
    junk += [("alert.cancelled", {})] * (2 * CAP)
    send_notices(env, console, [aid] * len(junk), junk, "msg_junk")
    assert len(rows_of(console, aid, "alert.acknowledged")) == CAP
    assert len(rows_of(console, aid, "alert.cancelled")) == 1
    a = one(console, aid)
    assert a["state"] == "open" and a["notices"]["acknowledged"] == "relay"
    # the genuine one after all that, and replays of it rewrapped
    real = [("alert.acknowledged", {"acknowledged_by": by,
                                    "statement": genuine})
            for by in ("Piket-1", "Piket-2", "Piket-3")]
    send_notices(env, console, [aid] * len(real), real, "msg_real")
    acks = rows_of(console, aid, "alert.acknowledged")
    assert len(acks) == CAP + 1, len(acks)
    assert acks[-1]["statement"] == genuine
    a = one(console, aid)
    assert a["state"] == "acknowledged", a
    assert (a["notices"]["acknowledged"], a["acked_by"]) == ("signed",
                                                            "Piket-1"), a
    assert a["time_to_ack_s"] is not None, a
    # each left out said so (within the log budget)
    console.proc.wait_for(r"notice alert\.acknowledged of alert %s left "
                          r"out: the relay's word only" % aid, "stderr", 10)
    console.proc.wait_for(r"notice alert\.cancelled of alert %s left "
                          r"out: stored already" % aid, "stderr", 10)


TIERS = 64  # CONSOLE_NOTICE_TIERS_MAX


def alarm_as(env, console, body, kind, msg_id, **extra):
    """body (an alarm's webhook, with its sealed alert) sent again as kind
    (alert.duress, alert.escalated) with extra members, signed as anyone
    holding the webhook secret signs it."""
    o = json.loads(body)
    o.update(type=kind, **extra)
    b = json.dumps(o).encode()
    assert console.hook(resign(env, b, msg_id), b) == 200
    return b


@pytest.mark.hard_timeout(150)
def test_a_flood_of_duress_and_escalation_replays_is_bounded(lab):
    """What anyone holding the webhook secret (or replaying its webhooks
    while their signature is fresh) can send as often as it likes, each
    under a webhook id of its own: the relay's alert.duress replayed
    (the same body), alert.duress bodies that differ in what only the
    relay vouches for (a member receivers ignore), and alert.escalated of one tier replayed, then of
    ever more tiers.  The console stores the first duress alarm, each
    body once and at most CAP of the relay's word; each tier once and at
    most TIERS tiers; the device's signed duress cancel, sent after all
    that, is stored and counts, its replays rewrapped are not.  The
    alert shows duress and its tier throughout, and its page (and the
    queue) stays small.  Before, every one was stored: each queue load
    read them all."""
    env = lab.env()
    console = Console(lab, env, extra={"conn_rate": "0"}).start()
    h, body, inner = make_webhook(env, RID, alert_type="panic",
                                  outer={"tier": 0})
    assert console.hook(h, body) == 200
    aid = inner["alert_id"]
    first = dict(duress=True, duress_at=proto.rfc3339_now(), tier=0)
    # each kind of flood kept to what the log's budget (20 lines in 10 s)
    # still shows line by line
    for i in range(4):
        alarm_as(env, console, body, "alert.duress", "msg_dup%d" % i,
                 **first)
    assert len(rows_of(console, aid, "alert.duress")) == 1
    a = one(console, aid)
    assert (a["duress"], a["state"], a["notices"]["duress"]) == (
        True, "open", "relay"), a
    for i in range(CAP + 3):
        alarm_as(env, console, body, "alert.duress", "msg_var%d" % i,
                 duress=True, duress_at=proto.rfc3339_now(), tier=0,
                 seq=i)
    assert len(rows_of(console, aid, "alert.duress")) == CAP
    # one tier replayed: stored once
    for i in range(4):
        alarm_as(env, console, body, "alert.escalated", "msg_t1_%d" % i,
                 tier=1)
    assert len(rows_of(console, aid, "alert.escalated")) == 1
    assert one(console, aid)["tier"] == 1
    # ever more tiers: each once, TIERS of them
    for t in range(2, TIERS + 4):
        alarm_as(env, console, body, "alert.escalated", "msg_tn%d" % t,
                 tier=t)
    esc = rows_of(console, aid, "alert.escalated")
    assert sorted(e["tier"] for e in esc) == list(range(1, TIERS + 1))
    a = one(console, aid)
    assert (a["tier"], a["duress"], a["state"]) == (TIERS, True, "open"), a
    # the device's own duress cancel after all that: stored, and counts;
    # rewrapped (another tier, another time) it adds nothing
    signed = signed_cancel(device_key(env), env, aid, duress=1)
    for i in range(3):
        alarm_as(env, console, body, "alert.duress", "msg_signed%d" % i,
                 duress=True, duress_at=proto.rfc3339_now(), tier=0,
                 seq=100 + i, **signed)
    duress = rows_of(console, aid, "alert.duress")
    assert len(duress) == CAP + 1 and duress[-1]["cancel_sig"] == \
        signed["cancel_sig"], len(duress)
    a = one(console, aid)
    assert (a["duress"], a["notices"]["duress"], a["tier"]) == (
        True, "device", TIERS), a
    # what a page load reads and sends stays small: the raised alert,
    # CAP + 1 duress alarms and TIERS escalations in its timeline
    assert len(a["timeline"]) == 1 + CAP + 1 + TIERS, len(a["timeline"])
    status, _, raw = console.get("/api/alert/%s" % aid)
    assert status == 200 and len(raw) < 64 * 1024, len(raw)
    console.proc.wait_for(r"notice alert\.duress of alert %s left out: "
                          r"stored already" % aid, "stderr", 10)
    console.proc.wait_for(r"notice alert\.duress of alert %s left out: "
                          r"the relay's word only" % aid, "stderr", 10)
    console.proc.wait_for(r"notice alert\.escalated of alert %s left out: "
                          r"its tier stored already" % aid, "stderr", 10)
    console.proc.wait_for(r"notice alert\.escalated of alert %s left out: "
                          r"enough tiers of it stored" % aid, "stderr", 10)


@pytest.mark.hard_timeout(90)
def test_a_duress_alarm_past_the_bound_still_reopens_a_closed_alert(lab):
    """The bound never costs a duress alarm that raises the alarm again:
    once CAP duress alarms of the relay's word are stored and an operator
    closed the alert, a new one through the alert's own hook is stored
    and reopens it (console_db_upgrade6.c); the same one replayed after
    the next closure adds nothing, and a further new one while the alert
    is open is left out."""
    from test_console_retention import close
    env = lab.env()
    console = Console(lab, env, extra={"conn_rate": "0"}).start()
    h, body, inner = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, body) == 200
    aid = inner["alert_id"]
    for i in range(CAP):
        alarm_as(env, console, body, "alert.duress", "msg_d%d" % i,
                 duress=True, duress_at=proto.rfc3339_now(), tier=i)
    close(console, aid)
    assert one(console, aid)["state"] == "closed"
    again = alarm_as(env, console, body, "alert.duress", "msg_reopen",
                     duress=True, duress_at=proto.rfc3339_now(), tier=99)
    assert len(rows_of(console, aid, "alert.duress")) == CAP + 1
    a = one(console, aid)
    assert (a["state"], a["closed"], a["duress"]) == ("open", False, True), a
    assert "reopened" in [e["kind"] for e in a["timeline"]], a
    alarm_as(env, console, body, "alert.duress", "msg_more",
             duress=True, duress_at=proto.rfc3339_now(), tier=100)
    assert len(rows_of(console, aid, "alert.duress")) == CAP + 1
    close(console, aid)
    assert console.hook(resign(env, again, "msg_reopen_again"), again) == 200
    assert len(rows_of(console, aid, "alert.duress")) == CAP + 1
    assert one(console, aid)["state"] == "closed"


@pytest.mark.hard_timeout(90)
def test_another_recipients_copies_do_not_use_up_the_alerts_own(lab):
    """Review rv-n2: the bound counted and compared an alert's notices
    whatever recipient they came for, while the page reads only its own
    recipient's.  The relay sends each notice to every recipient, so
    oncall-1's copy of the genuine signed acknowledgement, arriving
    first, left contactpunt's copy out as "stored already" (the alert
    stayed unacknowledged), and junk sent with oncall-1's secret alone
    used up the relay's-word places of contactpunt's alert."""
    env = lab.env()
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    console = Console(lab, env, rids=(RID, "oncall-1"),
                      extra={"conn_rate": "0"}).start()
    aid, = panics(env, console, 1)
    genuine = statement(sk, aid, "%064x" % 0)

    def ack(rid, msg_id, **extra):
        o = {"type": "alert.acknowledged", "alert_id": aid,
             "recipient_id": rid}
        o.update(extra)
        b = json.dumps(o).encode()
        assert console.hook(resign(env, b, msg_id, rid=rid), b,
                            rid=rid) == 200

    for i in range(CAP):
        ack("oncall-1", "msg_other_junk%d" % i, acknowledged_by="x%d" % i)
    ack("oncall-1", "msg_other_real", acknowledged_by="Piket-1",
        statement=genuine)
    # the relay's word through the alert's own hook is still stored
    ack(RID, "msg_own_relay", acknowledged_by="Piket-2")
    a = one(console, aid)
    assert (a["state"], a["notices"]["acknowledged"]) == ("open", "relay"), a
    # and so is the genuine acknowledgement, which then counts
    ack(RID, "msg_own_real", acknowledged_by="Piket-1", statement=genuine)
    a = one(console, aid)
    assert a["state"] == "acknowledged", a
    assert (a["notices"]["acknowledged"], a["acked_by"]) == ("signed",
                                                            "Piket-1"), a
    assert "left out" not in console.proc.text("stderr")


@pytest.mark.hard_timeout(150)
def test_signed_ack_comes_back_with_its_statement(lab):
    """An operator acknowledges in the console (signed with the
    recipient's ack_sign_key) through a real relay; the relay's
    alert.acknowledged back to the console carries that statement, and
    the console counts it as signed."""
    env = lab.env()
    port, ack_port = harness.free_port(), harness.free_port()
    env.recipient(RID).webhook_port = port
    env.recipient(RID).webhook_path = "/hook/" + RID
    env.ack = {"listen": "127.0.0.1:%d" % ack_port}
    token = harness.write_secret(env.dir / "cp.ack", harness.new_token())
    env.recipient_extra[RID] = {"ack_token_file": token}
    env.policies = {"default": {"types": "panic threat test",
                                "tier": ["0 %s:webhook" % RID]}}
    sk = nacl.signing.SigningKey.generate()
    keyfile = harness.write_secret(env.dir / "cp.sign.key",
                                   b64(bytes(sk) + bytes(sk.verify_key)))
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory(1)
    console = Console(lab, env, port=port, rcpt_extra={RID: {
        "ack_url": "https://127.0.0.1:%d" % ack_port,
        "ack_token_file": token, "ack_pin": env.pin,
        "ack_sign_key": keyfile}})
    lab.redis(env)
    lab.relay(env).proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" %
                                 ack_port, "stderr", 10)
    console.start()
    console.login()
    aid, _, _ = send_ok(lab, env, "--type", "panic", "--timeout", "20")
    console.wait_alerts(1, timeout=20)
    status, body = console.post("/api/alert/%s/ack" % aid)
    assert status == 200, body
    harness.wait_until(lambda: rows_of(console, aid, "alert.acknowledged"),
                       15, what="the relay's alert.acknowledged")
    body, = rows_of(console, aid, "alert.acknowledged")
    assert body["statement"]["alert_id"] == aid and "attested" not in body
    a = one(console, aid)
    assert a["notices"]["acknowledged"] == "signed", a
    assert a["state"] == "acknowledged", a


def scraped_console(lab, env):
    """The recipient's signing key in a signed directory, and a console
    with metrics_listen: (key, console, metrics port)."""
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    mport = harness.free_port()
    console = Console(lab, env, extra={
        "metrics_listen": "127.0.0.1:%d" % mport}).start()
    return sk, console, mport


@pytest.mark.hard_timeout(90)
def test_metrics_count_relay_word_as_waiting(lab):
    """/metrics counts as the page does: an alert whose cancel or
    acknowledgement only the relay vouches for is still waiting, and
    that acknowledgement is no time to ack; a signed one is.  Once a new
    directory revokes the device, its signed cancel no longer takes the
    alert either (docs/SECURITY.md, "A cancel from a revoked device")."""
    from test_console_ops import ACK, scrape
    env = lab.env()
    sk, console, mport = scraped_console(lab, env)
    aids = []
    for i in range(5):
        h, body, inner = make_webhook(env, RID, alert_type="panic")
        assert console.hook(h, body) == 200
        aids.append(inner["alert_id"])
    dev = device_key(env)
    forger = nacl.signing.SigningKey.generate()
    notices = [
        ("alert.acknowledged", {"acknowledged_by": "Piket-1"}),
        ("alert.cancelled", signed_cancel(forger, env, aids[1])),
        ("alert.acknowledged", {"acknowledged_by": "Piket-1", "statement":
                                statement(sk, aids[2], "%064x" % 2)}),
        ("alert.cancelled", signed_cancel(dev, env, aids[3])),
    ]
    send_notices(env, console, aids, notices, "msg_m")
    states = [one(console, a)["state"] for a in aids]
    assert states == ["open", "open", "acknowledged", "cancelled", "open"]
    # each alert's own time to ack counts as the histogram does: the
    # relay's word is none (before, the page counted it)
    acked = [one(console, a)["time_to_ack_s"] is not None for a in aids]
    assert acked == [False, False, True, False, False], acked
    m = scrape(mport)[1]
    # the relay's ack and cancel, and the untouched one: waiting
    assert m["alertconsole_alerts_waiting"] == "3", m
    assert m[ACK + "_count"] == "1", m
    # read again from the database at start: the same
    console.proc.stop()
    console.start()
    m = scrape(mport)[1]
    assert (m["alertconsole_alerts_waiting"], m[ACK + "_count"]) == (
        "3", "1"), m
    # the device revoked since: its cancel no longer counts
    env.sign_directory(2, revoked=[env.device_id])
    assert one(console, aids[3])["notices"]["cancelled"] == "relay"
    assert one(console, aids[3])["state"] == "open"
    assert scrape(mport)[1]["alertconsole_alerts_waiting"] == "4"


@pytest.mark.hard_timeout(90)
def test_metrics_check_a_cancel_against_the_alerts_own_device(lab):
    """What a relay taken over may hold: another enrolled device's signed
    cancel for this alert id, and the recipient's signed acknowledgement
    of another envelope.  The page and the timeline show both as the
    relay's word, the alerts open, no time to ack; the waiting count
    (/metrics and /api/alerts) counts them as waiting too.  Before, the
    count checked the cancel against any device and the acknowledgement
    against no envelope, and took both alerts from it while the page
    showed them open; and the timeline took them as signed."""
    from test_console_ops import scrape
    env = lab.env()
    other = other_device(env)
    sk, console, mport = scraped_console(lab, env)
    aids = panics(env, console, 2)
    send_notices(env, console, aids, [
        ("alert.cancelled", signed_cancel(other, env, aids[0],
                                          device_id="mayor-b")),
        ("alert.acknowledged", {"acknowledged_by": "Piket-1", "statement":
                                statement(sk, aids[1], "%064x" % 9)}),
    ], "msg_o")
    for aid, what in zip(aids, ("cancelled", "acknowledged")):
        a = one(console, aid)
        assert a["state"] == "open" and a["notices"][what] == "relay", a
    # the timeline too: the relay's word, never "cancelled by the
    # device" nor a signed acknowledgement (before, its entry took any
    # enrolled device's cancel and a statement of any envelope)
    kinds = [[(e["kind"], e["actor"]) for e in one(console, aid)["timeline"]
              if e["kind"] not in ("webhook", "received")] for aid in aids]
    assert kinds == [[("cancelled_relay", "relay")],
                     [("acknowledged_relay", "Piket-1")]], kinds
    assert one(console, aids[1])["time_to_ack_s"] is None
    assert scrape(mport)[1]["alertconsole_alerts_waiting"] == "2"
    console.login()
    status, _, raw = console.get("/api/alerts")
    assert status == 200 and json.loads(raw)["waiting"] == 2, raw


@pytest.mark.hard_timeout(90)
def test_signed_ack_is_credited_to_its_signer(lab):
    """A statement the recipient signed as "Piket-1", passed on by the
    relay with an acknowledged_by of its own: the card, the alert page's
    timeline and the CSV export all credit the signer, and the relay's
    text is nowhere (before, the timeline and the export credited
    whatever name the relay wrote)."""
    env = lab.env()
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    console = Console(lab, env).start()
    aid, = panics(env, console, 1)
    relay_text = "Burgemeester zelf (relay text)"
    send_notices(env, console, [aid], [
        ("alert.acknowledged", {"acknowledged_by": relay_text, "statement":
                                statement(sk, aid, "%064x" % 0)}),
    ], "msg_s")
    a = one(console, aid)
    assert a["acked_by"] == "Piket-1", a
    assert a["notices"]["acknowledged"] == "signed", a
    acks = [(e["kind"], e["actor"]) for e in a["timeline"]
            if e["kind"].startswith("acknowledged")]
    assert acks == [("acknowledged", "Piket-1")], a["timeline"]
    status, _, raw = console.get("/api/export?alert=%s&format=csv" % aid)
    assert status == 200, raw
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert [r[7] for r in rows if r[6] == "acknowledged"] == ["Piket-1"]
    assert relay_text not in raw.decode()
    status, _, raw = console.get("/api/export?alert=%s&format=json" % aid)
    assert status == 200 and relay_text not in raw.decode()


@pytest.mark.hard_timeout(90)
def test_relay_reference_is_shown_only_when_well_formed(lab):
    """The relay's "ref" (only the webhook secret vouches for it) is shown
    when it is a reference (docs/PROTOCOL.md: 8 letters of
    23456789ABCDEFGHJKLMNPQRSTUVWXYZ); anything else, such as a
    100,049-character "reference" that tells the operators not to call
    back, is shown as none, in the queue and the export, and logged
    without its content (before, it came back whole)."""
    env = lab.env()
    console = Console(lab, env).start()
    long_ref = "GEANNULEERD DOOR BURGEMEESTER - NIET TERUGBELLEN" + "x" * 100000
    refs = ["K7Q2M9XD", long_ref, "k7q2m9xd", "K7Q2M9X0", "K7Q2M9X",
            "K7Q2M9XDA", ["K7Q2M9XD"], 12345678]
    aids = []
    for ref in refs:
        h, body, inner = make_webhook(env, RID, outer={"ref": ref})
        assert console.hook(h, body) == 200
        aids.append(inner["alert_id"])
    got = {a["alert_id"]: a["ref"] for a in console.alerts()}
    shown = [got[x] if not isinstance(got[x], str) else got[x][:60]
             for x in aids]
    assert shown == ["K7Q2M9XD"] + [None] * 7, shown
    status, _, raw = console.get("/api/alerts")
    assert status == 200 and b"GEANNULEERD" not in raw
    status, _, raw = console.get("/api/export?alert=%s&format=json" % aids[1])
    assert status == 200 and b"GEANNULEERD" not in raw
    assert json.loads(raw)["alerts"][0]["ref"] is None
    console.proc.wait_for(r"webhook for alert %s: its reference is not 8 "
                          r"letters" % aids[1], timeout=10)
    assert "GEANNULEERD" not in console.proc.text()


@pytest.mark.hard_timeout(90)
def test_relay_acknowledged_by_is_shown_only_as_a_name(lab):
    """The relay's acknowledged_by (its unsigned word of who acknowledged,
    the alias the directory gives) is shown, in the queue, on the alert's
    page, in its timeline and in the export, only when it is a name as
    the relay writes them (1 to 131 bytes, "NAME (alias)" the longest,
    no control character);
    anything else, such as a 100,016-character name that tells the
    operators not to call back, is shown as "?" and logged without its
    content.  Before, the queue showed its first 128 bytes (possibly cut
    inside a character) and the timeline and export all of it."""
    env = lab.env()
    console = Console(lab, env).start()
    long_by = "NIET TERUGBELLEN" + "x" * 100000
    named = "N" * 64 + " (" + "A" * 64 + ")"
    bys = ["Piket-1", named, long_by, "P" * 132, "Piket\n1", "",
           ["Piket-1"], 7]
    aids = panics(env, console, len(bys))
    send_notices(env, console, aids, [
        ("alert.acknowledged", {"acknowledged_by": by}) for by in bys],
        "msg_by")
    got = {a["alert_id"]: a["relay_acked_by"] for a in console.alerts()}
    shown = [got[x] for x in aids]
    assert shown == ["Piket-1", named] + ["?"] * 6, [
        s[:70] for s in shown]
    actors = [[e["actor"] for e in one(console, x)["timeline"]
               if e["kind"] == "acknowledged_relay"] for x in aids]
    assert actors == [["Piket-1"], [named]] + [["?"]] * 6, [
        [s[:70] for s in a] for a in actors]
    for path in ("/api/alerts", "/api/alert/%s" % aids[2],
                 "/api/export?alert=%s&format=json" % aids[2],
                 "/api/export?alert=%s&format=csv" % aids[2]):
        status, _, raw = console.get(path)
        assert status == 200 and b"TERUGBELLEN" not in raw, (path,
                                                               len(raw))
    console.proc.wait_for(r"webhook for alert %s: its acknowledged_by is "
                          r"not a name" % aids[2], timeout=10)
    assert "TERUGBELLEN" not in console.proc.text()


def bare_duress(env, console, body, rid, msg_id, **extra):
    """A bare alert.duress (no content) about the alert of body, an
    alarm's webhook body, posted to rid's hook with rid's secret."""
    o = json.loads(body)
    o.pop("ciphertext")
    o.update(type="alert.duress", recipient_id=rid, duress=True,
             duress_at=proto.rfc3339_now(), **extra)
    b = json.dumps(o).encode()
    assert console.hook(resign(env, b, msg_id, rid=rid), b, rid=rid) == 200


@pytest.mark.hard_timeout(90)
def test_notices_through_another_recipients_hook_leave_the_alert(lab):
    """A console serving contactpunt and oncall-1: a bare alert.duress and
    an alert.acknowledged about contactpunt's alert, sent with
    oncall-1's webhook secret alone, change nothing about it (no
    duress, no relay's acknowledgement, no tier, nothing in its
    timeline).  The same notices through contactpunt's own hook do
    show, as the relay's word.  Before, the first two did too."""
    env = lab.env()
    console = Console(lab, env, rids=(RID, "oncall-1")).start()
    h, body, inner = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, body) == 200
    aid = inner["alert_id"]

    def notices(rid, prefix):
        bare_duress(env, console, body, rid, prefix + "d", tier=3)
        b = json.dumps({"type": "alert.acknowledged", "alert_id": aid,
                        "recipient_id": rid,
                        "acknowledged_by": "Piket-1"}).encode()
        assert console.hook(resign(env, b, prefix + "a", rid=rid), b,
                            rid=rid) == 200

    notices("oncall-1", "msg_other")
    a = one(console, aid)
    n = {"cancelled": None, "acknowledged": None, "duress": None}
    assert (a["state"], a["duress"], a["notices"], a["relay_acked_by"],
            a["tier"]) == ("open", False, n, None, 0), a
    assert [e["kind"] for e in a["timeline"]] == ["received"], a["timeline"]
    (q,) = [x for x in console.alerts() if x["alert_id"] == aid]
    assert q["duress"] is False and q["relay_acked_by"] is None, q
    # through the alert's own hook: the relay's word, shown so
    notices(RID, "msg_own")
    a = one(console, aid)
    assert (a["duress"], a["notices"]["duress"], a["relay_acked_by"],
            a["tier"]) == (True, "relay", "Piket-1", 3), a
    assert [e["kind"] for e in a["timeline"]] == [
        "received", "relay", "acknowledged_relay"], a["timeline"]


@pytest.mark.hard_timeout(90)
def test_another_recipients_duress_does_not_reopen_a_closed_alert(lab):
    """The same console: contactpunt's alert, closed by an operator, and
    a bare alert.duress about it through oncall-1's hook: it stays
    closed, no duress, nothing reopened.  Through contactpunt's own
    hook the duress alarm reopens it (console_db_upgrade6.c's
    webhook_duress_reopens).  Before, the first reopened it too and
    dropped its claim."""
    from test_console_retention import close
    env = lab.env()
    console = Console(lab, env, rids=(RID, "oncall-1")).start()
    h, body, inner = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, body) == 200
    aid = inner["alert_id"]
    close(console, aid)
    bare_duress(env, console, body, "oncall-1", "msg_reopen_other")
    a = one(console, aid)
    assert (a["state"], a["closed"], a["duress"]) == ("closed", True,
                                                      False), a
    assert "reopened" not in [e["kind"] for e in a["timeline"]], a
    bare_duress(env, console, body, RID, "msg_reopen_own")
    a = one(console, aid)
    assert (a["state"], a["closed"], a["duress"]) == ("open", False,
                                                      True), a
    assert "reopened" in [e["kind"] for e in a["timeline"]], a
