"""Whose word `alertctl receive` says a cancel or an acknowledgement is
(docs/SECURITY.md, "Whoever takes over the relay host"): it checks the
device's signed cancel and the recipient's signed acknowledgement
statement as alertconsole does (client/notice_verify.c, shared), and
marks the ones only the relay vouches for, in the JSON line
("vouched_by") and on the --pretty card (Dutch, English).  A cancel
signed by a device the directory lists as revoked counts as the relay's
word, whenever it was made.  Real processes: a real relay, `alertctl
send` and `alertctl cancel`, `alertctl receive`; webhooks made in Python
for what a relay taken over would send.  Before this, receive printed
every cancel and acknowledgement alike, without "vouched_by": every test
here fails on that code."""

import json

import nacl.signing
import pytest

import harness
from harness import alertctl_bin
from harness_proc import Proc
from helpers import device_key, send_ok
from test_console import resign
from test_console_notice import alertctl, b64, signed_cancel, statement
from test_receiver import RID, make_webhook, post

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def notice_body(env, kind, aid, extra=None):
    o = {"type": kind, "alert_id": aid, "recipient_id": RID,
         "device_id": env.device_id, "acknowledged_by": "Piket-1"}
    o.update(extra or {})
    return json.dumps(o).encode()


def hook_notice(env, port, kind, aid, msg_id, extra=None):
    b = notice_body(env, kind, aid, extra)
    assert post(port, resign(env, b, msg_id), b) == 200


def line_of(recv, aid, kind):
    harness.wait_until(
        lambda: any(l["alert_id"] == aid and l["type"] == kind
                    for l in recv.alerts()), 20,
        what="%s of %s from receive" % (kind, aid))
    return [l for l in recv.alerts()
            if l["alert_id"] == aid and l["type"] == kind][-1]


def with_sign_key(lab):
    """An environment with a signed directory that names the recipient's
    key for acknowledgement statements."""
    env = lab.env()
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    return env, sk


@pytest.mark.hard_timeout(120)
def test_real_cancel_is_the_devices_word(lab):
    """`alertctl cancel` through a real relay: the alert.cancelled that
    reaches `alertctl receive` carries the device's signed cancel, and
    the line says so."""
    env, _ = with_sign_key(lab)
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, RID)
    aid, _, _ = send_ok(lab, env, "--type", "panic", "--timeout", "20")
    recv.wait_alerts(1, timeout=20)
    assert alertctl(env, "cancel", aid).startswith("cancelled")
    line = line_of(recv, aid, "alert.cancelled")
    assert line["vouched_by"] == "device", line
    assert "duress" not in line, line


@pytest.mark.hard_timeout(90)
def test_relay_word_is_marked_in_the_line(lab):
    """What a relay taken over can send with the webhook secret alone: a
    bare cancel or acknowledgement, one signed with a key of its own, a
    duress cancel passed off as a real one.  The first four are the
    relay's word; the duress one is the device's and says duress; a
    statement the recipient signed, and the device's own cancel, are
    theirs."""
    env, sk = with_sign_key(lab)
    recv = lab.receiver(env, RID)
    forger = nacl.signing.SigningKey.generate()
    dev = device_key(env)
    h = "%064x" % 1
    cases = [
        ("alert.acknowledged", lambda a: {}, ("relay", None, False)),
        ("alert.cancelled", lambda a: {}, ("relay", None, False)),
        ("alert.cancelled", lambda a: signed_cancel(forger, env, a),
         ("relay", None, False)),
        ("alert.acknowledged", lambda a: {"statement": statement(forger, a, h)},
         ("relay", None, False)),
        ("alert.cancelled", lambda a: signed_cancel(dev, env, a, duress=1),
         ("device", None, True)),
        ("alert.acknowledged",
         lambda a: {"statement": statement(sk, a, h, by="Jan Smit")},
         ("recipient", "Jan Smit", False)),
        ("alert.cancelled", lambda a: signed_cancel(dev, env, a),
         ("device", None, False)),
        # the device's cancel of another alert, passed on for this one
        ("alert.cancelled", lambda a: signed_cancel(dev, env, "0" * 32),
         ("relay", None, False)),
    ]
    got = []
    for i, (kind, extra, want) in enumerate(cases):
        aid = "%032x" % (i + 1)
        hook_notice(env, recv.port, kind, aid, "msg_n%d" % i, extra(aid))
        line = line_of(recv, aid, kind)
        got.append((line["vouched_by"], line.get("signed_by"),
                    line.get("duress", False)))
    assert got == [c[2] for c in cases], got


def card_receiver(lab, env, language):
    """`alertctl receive --pretty` in language, keys from the signed
    directory."""
    r = env.recipient(RID)
    port = harness.free_port()
    argv = [alertctl_bin(), "receive", "--listen", "127.0.0.1:%d" % port,
            "--secret", r.secret_file, "--key", r.key, "--directory",
            str(env.directory), "--org-key", env.org.public_key, "--pretty"]
    p = Proc(argv, "receive-card-%s" % language, lab.logdir,
             env={"LANGUAGE": language})
    lab.things.append(p)
    p.start()
    p.wait_for(r"listening on|luistert op", "stderr", 10)
    return p, port


@pytest.mark.parametrize("language,words", [
    ("nl", ["INGETROKKEN VOLGENS DE RELAY (niet ondertekend door het "
            "apparaat): het alarm is NIET voorbij",
            "OPGEPAKT door Piket-1, VOLGENS DE RELAY (geen ondertekende "
            "bevestiging)",
            "Gecontroleerd: nee: alleen het woord van de relay",
            "INGETROKKEN door het apparaat",
            "Gecontroleerd: ja, ondertekend door het apparaat",
            "OPGEPAKT door Jan Smit - alarm van",
            "Gecontroleerd: ja, ondertekend door wie het oppakte"]),
    ("en", ["CANCELLED ACCORDING TO THE RELAY (not signed by the device): "
            "the alarm is NOT over",
            "TAKEN by Piket-1, ACCORDING TO THE RELAY (no signed "
            "acknowledgement)",
            "Checked:       no: only the relay's word",
            "CANCELLED by the device",
            "Checked:       yes, signed by the device",
            "TAKEN by Jan Smit - alarm of",
            "Checked:       yes, signed by the recipient who took it"]),
])
@pytest.mark.hard_timeout(60)
def test_relay_word_is_marked_on_the_card(lab, language, words):
    """The card says whose word it is, in the reader's language."""
    env, sk = with_sign_key(lab)
    p, port = card_receiver(lab, env, language)
    dev = device_key(env)
    a = ["%032x" % i for i in range(1, 5)]
    hook_notice(env, port, "alert.cancelled", a[0], "msg_c0")
    hook_notice(env, port, "alert.acknowledged", a[1], "msg_a1")
    hook_notice(env, port, "alert.cancelled", a[2], "msg_c2",
                signed_cancel(dev, env, a[2]))
    hook_notice(env, port, "alert.acknowledged", a[3], "msg_a3",
                {"statement": statement(sk, a[3], "%064x" % 1,
                                        by="Jan Smit")})
    harness.wait_until(lambda: "".join(p.snapshot("stdout")).count(
        "alert_id:") == 4, 10, what="four cards")
    text = "\n".join(p.snapshot("stdout"))
    for w in words:
        assert w in text, (w, text)


@pytest.mark.hard_timeout(60)
def test_cancel_from_a_device_revoked_since_is_the_relays_word(lab):
    """The device's signed cancel counts while the directory lists the
    device as active; once a new directory revokes it (lost or stolen:
    its key may be a thief's, who signs whatever created_at he likes),
    the same kind of cancel, and even one dated before the revocation,
    is the relay's word."""
    env, _ = with_sign_key(lab)
    recv = lab.receiver(env, RID)
    dev = device_key(env)
    early = signed_cancel(dev, env, "%032x" % 2)  # made before revocation
    hook_notice(env, recv.port, "alert.cancelled", "%032x" % 1, "msg_1",
                signed_cancel(dev, env, "%032x" % 1))
    assert line_of(recv, "%032x" % 1, "alert.cancelled")["vouched_by"] == \
        "device"
    env.sign_directory(2, revoked=[env.device_id])
    hook_notice(env, recv.port, "alert.cancelled", "%032x" % 2, "msg_2",
                early)
    hook_notice(env, recv.port, "alert.cancelled", "%032x" % 3, "msg_3",
                signed_cancel(dev, env, "%032x" % 3))
    assert [line_of(recv, "%032x" % i, "alert.cancelled")["vouched_by"]
            for i in (2, 3)] == ["relay", "relay"]
