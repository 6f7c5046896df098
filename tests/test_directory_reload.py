"""A client that runs for a long time uses the newer directory it verified
(docs/DIRECTORY.md): `alertctl button`, `alertctl watch` and a program on
libalertclient take the relay pins, the recipients and their own status
from it at their next connection and their next sealing, as a process
started after it would.  Real alertrelayd, redis-server, `alertctl
receive`, and the certificate rotation as README.md and DIRECTORY.md
describe it: `org set --pin OLD --pin NEW`, sign, the devices connect
once, then the certificate is switched.

Before: the directory was verified and kept in the cache, but the running
process went on with what it had loaded at its start.  After the switch
the button logged "relay key does not match relay_pin" for ever, although
that pin was in the directory it had just kept, and a panic pressed then
was never delivered; an alert sealed after a recipient was replaced went
to the old one, and the relay refused it."""

import json
import os
import subprocess

import pytest

import harness
import orgdir
import test_button as tb
import test_libalertclient as tl
from harness import make_cert, openssl_pin

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

VERIFIED = r"directory version 3 verified and kept"
MISMATCH = "does not match relay_pin"


def next_certificate(env):
    """The relay's next certificate and key, and their pin."""
    d = env.dir / "next"
    d.mkdir()
    cert, key = make_cert(d)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(d)
    return cert, key, openssl_pin(cert)


def rotation_stack(lab):
    """The device holds directory 2, with the current pin only; the relay
    serves 3, which announces the next pin beside it (`org set --pin OLD
    --pin NEW`, `directory sign`, reload: done)."""
    env = lab.env()
    cert, key, pin = next_certificate(env)
    env.use_directory(2)
    env.sign_directory(2, path=env.client_directory)
    env.sign_directory(3, pins=[env.pin, pin])
    lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    return env, relay, recv, (cert, key)


def start_on(lab, env, cert, key):
    """The relay started on the next certificate: only its pin matches."""
    env.relay["tls_cert"], env.relay["tls_key"] = cert, key
    env.write_relay_conf()
    return lab.relay(env)


def switch_certificate(lab, env, relay, cert, key):
    """Restarted, so that every device connects anew."""
    relay.stop()
    return start_on(lab, env, cert, key)


def sealed_to(env, aid):
    e = json.loads((env.dir / "outbox" / (aid + ".json")).read_text())
    return sorted(r["id"] for r in json.loads(e["envelope"])["recipients"])


@pytest.mark.hard_timeout(150)
def test_button_pressed_after_the_certificate_switch_is_delivered(
        lab, tmp_path):
    env, relay, recv, (cert, key) = rotation_stack(lab)
    button = tb.Button(tmp_path / "event0")
    tb.add_button(env, button.path)
    p = tb.start_button(lab, env)
    # the devices connect once
    p.wait_for(VERIFIED, "stderr", 20)
    p.wait_for(r"button: connected to", "stderr", 10)

    switch_certificate(lab, env, relay, cert, key)
    button.press(tb.HOLD + 0.4)
    p.wait_for(r"alert %s: accepted by the relay" % tb.ID_RX, "stdout", 30)
    (aid,) = tb.raised(p)
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == tb.MESSAGE
    assert MISMATCH not in p.text("stderr"), p.tail()
    assert p.running()
    button.close()


@pytest.mark.hard_timeout(150)
def test_button_seals_to_the_recipients_of_the_newer_directory(lab, tmp_path):
    """Directory 2 (the device's) lists contactpunt; 3 (the relay's) has
    oncall-1 in its place, and the relay no longer knows contactpunt.  The
    button verified 3 when it connected: the next hold is sealed to
    oncall-1 and delivered, not refused as sealed to nobody the relay
    knows."""
    env = lab.env()
    env.use_directory(2, recipients=["contactpunt"])
    env.sign_directory(2, recipients=["contactpunt"],
                       path=env.client_directory)
    del env.recipients["contactpunt"]
    env.sign_directory(3, recipients=["oncall-1"])
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "oncall-1")
    button = tb.Button(tmp_path / "event0")
    tb.add_button(env, button.path)
    p = tb.start_button(lab, env)
    p.wait_for(VERIFIED, "stderr", 20)
    p.wait_for(r"button: connected to", "stderr", 10)

    button.press(tb.HOLD + 0.4)
    p.wait_for(r"alert %s: accepted by the relay" % tb.ID_RX, "stdout", 20)
    (aid,) = tb.raised(p)
    assert sealed_to(env, aid) == ["oncall-1"]
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == tb.MESSAGE
    assert "refused" not in tb.out(p), p.tail()
    button.close()


@pytest.mark.hard_timeout(150)
def test_watch_delivers_the_outbox_after_the_certificate_switch(lab):
    """An alert left in the outbox while the relay was down for the switch
    goes out through the running watch once the relay is back on its next
    certificate."""
    env, relay, recv, (cert, key) = rotation_stack(lab)
    argv = [harness.alertctl_bin(), "-c", env.client_conf, "watch",
            "--interval", "2", "--dead-after", "6"]
    w = harness.Proc(argv, "watch", lab.logdir, env={"LANGUAGE": "en"})
    lab.things.append(w)
    w.start()
    w.wait_for(VERIFIED, "stderr", 20)

    relay.stop()
    rc, lines, err = lab.send(env, "--type", "panic", "--message",
                              "tijdens de wissel", "--timeout", "2")
    assert rc == 1, (lines, err)
    aid = lines[0].split("=", 1)[1]
    start_on(lab, env, cert, key)

    w.wait_for(r"^accepted alert_id=%s " % aid, "stdout", 30)
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == "tijdens de wissel"
    assert MISMATCH not in w.text("stderr"), w.tail()
    assert w.running()


@pytest.mark.hard_timeout(200)
def test_libalertclient_sends_after_the_certificate_switch(lab, tmp_path):
    """One ar_client: its first ar_send verifies directory 3; after the
    switch (said on the program's stdin) its second ar_send, on the same
    client, is accepted."""
    env, relay, recv, (cert, key) = rotation_stack(lab)
    exe = tl.lib_check(tmp_path)
    p = harness.Proc([exe, "rotate", env.client_conf], "lib_rotate",
                     lab.logdir, stdin=subprocess.PIPE)
    lab.things.append(p)
    p.start()
    p.wait_for(r"^first ended: status 0$", "stdout", 40)
    # kept: the library logs only warnings
    assert orgdir.read_payload(
        env.client_directory.read_text())["version"] == 3

    switch_certificate(lab, env, relay, cert, key)
    p.popen.stdin.write(b"switched\n")
    p.popen.stdin.flush()
    assert p.wait_exit(60) == 0, p.text("stdout") + p.text("stderr")
    out = p.text("stdout")
    assert "second ended: status 0" in out and "0 failed" in out, out
    assert recv.wait_alerts(2, timeout=20)
