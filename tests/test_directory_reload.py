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

import hashlib
import json
import os
import re
import subprocess

import pytest

import harness
import orgdir
import test_button as tb
import test_libalertclient as tl
from harness import make_cert, openssl_pin
from helpers import alert_hash, join_oncall_2

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


def envelope(env, aid):
    e = json.loads((env.dir / "outbox" / (aid + ".json")).read_text())
    return json.loads(e["envelope"])


def envelope_hash(env, aid):
    """sha256 of the envelope's bytes as the outbox keeps them, as the
    relay records it (envelope_hash)."""
    e = json.loads((env.dir / "outbox" / (aid + ".json")).read_text())
    return hashlib.sha256(e["envelope"].encode()).hexdigest()


def sealed_to(env, aid):
    return sorted(r["id"] for r in envelope(env, aid)["recipients"])


ID_RX = r"[0-9a-f]{32}"
RESEALED = r"alert %s: not at a relay yet; sealed again, same alert_id, " \
    r"to directory version 3, verified since it was sealed to version 2"


def reshuffle_stack(lab):
    """The device and the relay hold directory 2 (contactpunt, oncall-1);
    the relay is down.  Returns a function that, meanwhile, has the
    organisation sign 3, where contactpunt has left and oncall-2 joined,
    starts the relay on it and oncall-2's receiver, and returns that."""
    env = lab.env()
    env.use_directory(2)
    env.sign_directory(2, path=env.client_directory)
    lab.redis(env)
    # contactpunt's endpoint, still up: it must hear nothing of the alert
    gone = lab.recorder_for(env, "contactpunt")

    def reshuffle():
        del env.recipients["contactpunt"]
        join_oncall_2(env)
        recv = lab.receiver(env, "oncall-2")
        relay = lab.relay(env)
        return relay, recv
    return env, gone, reshuffle


def assert_resealed(env, relay, recv, gone, aid, message, before):
    """Same alert_id and created_at, sealed to directory 3 alone: the new
    recipient opens it, the one that left gets nothing and has no box in
    what went out."""
    after = envelope(env, aid)
    assert sorted(r["id"] for r in after["recipients"]) == \
        ["oncall-1", "oncall-2"]
    assert (after["alert_id"], after["created_at"]) == \
        (before["alert_id"], before["created_at"])
    assert (env.dir / "outbox" / (aid + ".accepted")).exists()
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == message
    assert a["created_at"] == before["created_at"]
    # the relay got no box for contactpunt to leave out
    assert "no longer in the directory" not in relay.proc.text("stderr")
    assert gone.snapshot() == []


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


@pytest.mark.hard_timeout(150)
def test_button_alert_kept_offline_goes_sealed_to_the_newer_directory(
        lab, tmp_path):
    """Held while the relay is down: sealed to directory 2's contactpunt
    and oncall-1, kept in the outbox.  Meanwhile contactpunt leaves (its
    key may be in the wrong hands) and oncall-2 joins: directory 3.  The
    button verifies 3 when the relay is back and sends the alert sealed
    to oncall-1 and oncall-2, same alert_id and time: oncall-2 opens it,
    contactpunt has no box in it.  Before: it went as sealed at the
    press, readable by contactpunt's key, and oncall-2 got nothing."""
    env, gone, reshuffle = reshuffle_stack(lab)
    button = tb.Button(tmp_path / "event0")
    tb.add_button(env, button.path)
    p = tb.start_button(lab, env)
    button.press(tb.HOLD + 0.4)
    p.wait_for(r"not connected to a relay right now", "stdout", 10)
    (aid,) = tb.raised(p)
    before = envelope(env, aid)
    assert sealed_to(env, aid) == ["contactpunt", "oncall-1"]

    relay, recv = reshuffle()
    p.wait_for(r"alert %s: accepted by the relay" % aid, "stdout", 30)
    assert_resealed(env, relay, recv, gone, aid, tb.MESSAGE, before)
    assert p.wait_for(RESEALED % aid, "stderr", 10)
    assert tb.raised(p) == [aid]
    button.close()


@pytest.mark.hard_timeout(150)
def test_send_waiting_for_a_relay_seals_to_the_newer_directory(lab):
    """The same for `alertctl send` (libalertclient's ar_send): sealed
    and kept while no relay answers, and sealed again to directory 3 by
    the session that verified it, before it goes out.  Before: sent as
    sealed, since one of its recipients was left (only an envelope with
    none left was sealed again)."""
    env, gone, reshuffle = reshuffle_stack(lab)
    p = lab.send_proc(env, "--type", "panic", "--message", "verschoven",
                      "--timeout", "60")
    p.wait_for(r"^alert_id=", "stdout", timeout=10)
    aid = p.snapshot("stdout")[0].split("=", 1)[1]
    before = envelope(env, aid)
    assert sealed_to(env, aid) == ["contactpunt", "oncall-1"]

    relay, recv = reshuffle()
    assert p.wait_exit(60) == 0, p.text()
    assert any(l.startswith("accepted alert_id=%s " % aid)
               for l in p.snapshot("stdout")), p.text()
    assert_resealed(env, relay, recv, gone, aid, "verschoven", before)
    assert p.wait_for(RESEALED % aid, "stderr", 10)


def block_outbox(env, tmp_path):
    """The client configuration's outbox cannot be made: a regular file
    where its parent should be (tests may run as root, for whom a
    read-only directory is no obstacle)."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the outbox's parent should be\n")
    env.write_client_conf(outbox=blocker / "outbox")


@pytest.mark.hard_timeout(150)
def test_send_whose_outbox_failed_still_seals_to_the_newer_directory(
        lab, tmp_path):
    """The outbox cannot keep the alert (no entry, so no other process
    can have its bytes), and no relay answers: the send that holds it in
    memory seals it again to directory 3 when a session verified that,
    before it goes.  Before, only an alert with an outbox entry this
    process held was sealed again: this one went sealed to directory 2,
    and oncall-2 never got it."""
    env, gone, reshuffle = reshuffle_stack(lab)
    block_outbox(env, tmp_path)
    p = lab.send_proc(env, "--type", "panic", "--message", "zonder outbox",
                      "--timeout", "60")
    p.wait_for(r"^alert_id=", "stdout", timeout=10)
    aid = p.snapshot("stdout")[0].split("=", 1)[1]
    p.wait_for(r"alert not stored in the outbox", "stderr", timeout=10)

    relay, recv = reshuffle()
    assert p.wait_exit(60) == 0, p.text()
    assert any(l.startswith("accepted alert_id=%s " % aid)
               for l in p.snapshot("stdout")), p.text()
    assert p.wait_for(RESEALED % aid, "stderr", 10)
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == "zonder outbox"
    assert "no longer in the directory" not in relay.proc.text("stderr")
    assert gone.snapshot() == []


@pytest.mark.hard_timeout(150)
def test_button_alert_not_kept_goes_sealed_to_the_newer_directory(lab,
                                                                  tmp_path):
    """The same for the button: held while the relay is down and the
    outbox cannot keep it, the alert lives in the button's memory only,
    and goes sealed to directory 3 once a session verified it.  Before,
    it went sealed to directory 2: oncall-2 never got it."""
    env, gone, reshuffle = reshuffle_stack(lab)
    block_outbox(env, tmp_path)
    button = tb.Button(tmp_path / "event0")
    tb.add_button(env, button.path)
    p = tb.start_button(lab, env)
    button.press(tb.HOLD + 0.4)
    p.wait_for(r"not connected to a relay right now", "stdout", 10)
    p.wait_for(r"alert not stored in the outbox", "stderr", 10)
    (aid,) = tb.raised(p)

    relay, recv = reshuffle()
    p.wait_for(r"alert %s: accepted by the relay" % aid, "stdout", 30)
    assert p.wait_for(RESEALED % aid, "stderr", 10)
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == tb.MESSAGE
    assert "no longer in the directory" not in relay.proc.text("stderr")
    assert gone.snapshot() == []
    button.close()


@pytest.mark.hard_timeout(150)
def test_watch_leaves_an_alert_a_live_send_holds(lab):
    """`alertctl watch` runs beside `send` (as the README advises) and
    sends what other alertctl processes left unsent.  While send lives it
    holds its alert's outbox entry (flock), so watch leaves it: only send
    sends it, sealed again to directory 3, and it is accepted.  Before,
    watch sent the old sealing first; send then sealed it again and the
    relay answered "conflict": ALARM NOT DELIVERED, exit 1, for an alert
    the relay had, and an outbox entry unlike what the relay kept."""
    env, gone, reshuffle = reshuffle_stack(lab)
    watch = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf,
                       "watch"], "watch")
    p = lab.send_proc(env, "--type", "panic", "--message", "naast watch",
                      "--timeout", "60")
    p.wait_for(r"^alert_id=", "stdout", timeout=10)
    aid = p.snapshot("stdout")[0].split("=", 1)[1]
    before = envelope(env, aid)
    relay, recv = reshuffle()
    assert p.wait_exit(60) == 0, p.text()
    assert any(l.startswith("accepted alert_id=%s " % aid)
               for l in p.snapshot("stdout")), p.text()
    assert "conflict" not in p.text() + relay.proc.text("stderr")
    assert_resealed(env, relay, recv, gone, aid, "naast watch", before)
    assert watch.running(), watch.tail()
    # the relay keeps exactly the envelope the outbox has
    h = alert_hash(lab, env, aid)
    assert h["envelope_hash"] == envelope_hash(env, aid), (h, aid)


@pytest.mark.hard_timeout(90)
def test_checkin_alert_goes_sealed_to_the_relays_newer_directory(lab):
    """`alertctl checkin start` seals the alert the relay raises on
    silence to the directory the device holds (2), then connects and
    verifies the relay's 3 (contactpunt left, oncall-2 joined).  Sealed
    again to 3 before it goes, same alert_id and release time: at the
    release oncall-2 opens it, and the relay kept no box for
    contactpunt.  Before: the relay held it for the release sealed to
    contactpunt and oncall-1, and oncall-2 was never alerted."""
    env, gone, reshuffle = reshuffle_stack(lab)
    env.sections = {"checkin": {"remind_before": 1}}
    relay, recv = reshuffle()
    argv = [harness.alertctl_bin(), "-c", env.client_conf, "checkin",
            "start", "--minutes", "0.05", "--grace", "0.02",
            "--message", "huisbezoek"]
    cp = harness.run(argv, timeout=30)
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_type"] == "missed_checkin"
    assert a["message"] == "huisbezoek" and a["verified"] is True
    assert "no longer known" not in relay.proc.text("stderr")
    assert gone.snapshot() == []
    assert re.search(RESEALED % ID_RX, cp.stderr), cp.stderr
