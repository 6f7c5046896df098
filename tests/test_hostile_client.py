"""Issue 10, the client's side: attacks on `alertctl receive` and on a
newly enrolled device, with real processes.

Replays: anyone holding a recipient's webhook secret (or a relay in an
attacker's hands) can take a genuine delivery it once saw and send it
again with fresh, validly signed Standard Webhooks headers (a new
webhook-id, the current timestamp).  The receiver must not show it as a
new alert, neither at once nor after a restart, and must mark (or refuse)
an alert whose signed created_at is old.

Rollback: a device enrolled from a bundle made at directory version N
must refuse a relay that serves it an older, properly signed directory
on its very first contact."""

import json
import os
import time

import pytest

import harness
import proto
from harness import alertctl_bin, wait_until
from helpers import parse_send, still, enrollment_bundle
from test_receiver import make_webhook, post

pytestmark = pytest.mark.needs("alertctl")

RID = "contactpunt"


def receiver(lab, env, state_dir=None, name="receive", extra=()):
    """alertctl receive on a free port, with --state-dir when given."""
    r = env.recipient(RID)
    port = harness.free_port()
    argv = [alertctl_bin(), "receive", "--listen", "127.0.0.1:%d" % port,
            "--secret", r.secret_file, "--key", r.key,
            "--devices", env.devices_dir] + list(extra)
    if state_dir is not None:
        argv += ["--state-dir", state_dir]
    p = lab.spawn(argv, name)
    p.wait_for("listening on|luistert op", "stderr", timeout=10)
    p.port = port
    return p


def alerts(p):
    return [json.loads(l) for l in p.snapshot("stdout") if l.strip()]


def wait_lines(p, n, timeout=10):
    wait_until(lambda: len(p.snapshot("stdout")) >= n, timeout,
               what="%d line(s) from %s:\n%s" % (n, p.name, p.text()))
    return alerts(p)


def fresh_headers(env, body, msg_id=None):
    """What an attacker holding the webhook secret sends: new id, now."""
    msg_id = msg_id or "msg_replay_%s" % os.urandom(6).hex()
    ts = str(int(time.time()))
    key = proto.whsec_key(env.recipients[RID].secret_text)
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": proto.webhook_signature(key, msg_id, ts, body),
            "content-type": "application/json"}


def capture_genuine_delivery(lab):
    """A real relay delivers a real `alertctl send` to a recorder."""
    env = lab.env()
    rec = lab.recorder_for(env, RID)
    lab.redis(env)
    lab.relay(env)
    rc, out, err = lab.send(env, "--type", "panic", "--message", "Help, front door")
    assert rc == 0, err
    aid, accepted = parse_send(out)
    assert accepted, out
    wait_until(lambda: any(a["json"] and a["json"].get("alert_id") == aid
                           for a in rec.attempts), 15, what="the delivery")
    got = [a for a in rec.attempts if a["json"]["alert_id"] == aid][0]
    assert got["sig_ok"]
    return env, aid, got["headers"], got["body"]


def test_replayed_webhook_with_fresh_headers_is_a_repeat(lab, tmp_path):
    env, aid, headers, body = capture_genuine_delivery(lab)
    state = tmp_path / "state"
    rx = receiver(lab, env, state, name="receive-1")
    # the genuine delivery, as the relay sent it: a new alert
    assert post(rx.port, headers, body) == 200
    first = wait_lines(rx, 1)[0]
    assert first["alert_id"] == aid and first["repeat"] is False
    assert first["stale"] is False and first["verified"] is True
    # the same bytes, new webhook-id and timestamp, validly signed
    assert post(rx.port, fresh_headers(env, body), body) == 200
    again = wait_lines(rx, 2)[1]
    assert again["alert_id"] == aid
    assert again["repeat"] is True, "a replay was shown as a new alert"
    # relabelled as an escalation to a later tier: still the same alert
    o = json.loads(body)
    o.update(type="alert.escalated", tier=3)
    body2 = json.dumps(o, separators=(",", ":")).encode()
    assert post(rx.port, fresh_headers(env, body2), body2) == 200
    third = wait_lines(rx, 3)[2]
    assert third["type"] == "alert.escalated" and third["repeat"] is True
    # remembered on disk, one key a line after the header
    lines = (state / "shown").read_text().splitlines()
    assert lines == ["alertrelay-shown 1", "alert:" + aid]
    assert os.stat(state / "shown").st_mode & 0o077 == 0

    # after a restart, with the same state directory
    rx.stop()
    rx2 = receiver(lab, env, state, name="receive-2")
    assert post(rx2.port, fresh_headers(env, body), body) == 200
    after = wait_lines(rx2, 1)[0]
    assert after["alert_id"] == aid
    assert after["repeat"] is True, "a replay after a restart was shown as new"
    # a new alert is still new
    h, b, inner = make_webhook(env)
    assert post(rx2.port, h, b) == 200
    new = wait_lines(rx2, 2)[1]
    assert new["alert_id"] == inner["alert_id"] and new["repeat"] is False


def test_replay_pretty_says_repeat(lab, tmp_path, monkeypatch):
    # the alarm card as the contact point reads it: in Dutch (the harness
    # runs the rest of the suite in English)
    monkeypatch.setenv("LANGUAGE", "nl")
    env = lab.env()
    rx = receiver(lab, env, tmp_path / "state", extra=["--pretty"])
    h, b, _ = make_webhook(env)
    assert post(rx.port, h, b) == 200
    # the alarm card (tests/test_contactpoint.py)
    wait_until(lambda: any(l.startswith("ALARM PANIEK") for l in rx.snapshot("stdout")),
               10, what="the alert")
    assert post(rx.port, fresh_headers(env, b), b) == 200
    wait_until(lambda: any(l.startswith("HERHALING") for l in rx.snapshot("stdout")),
               10, what="the repeat")
    assert sum(l.startswith("ALARM") for l in rx.snapshot("stdout")) == 1


def _old(minutes):
    t = time.gmtime(time.time() - minutes * 60)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


def test_old_created_at_is_marked_stale(lab, tmp_path):
    env = lab.env()
    rx = receiver(lab, env, tmp_path / "state")
    old = _old(20)  # beyond the default --max-age of 10 minutes
    h, b, _ = make_webhook(env, inner={"created_at": old},
                           outer={"created_at": old})
    assert post(rx.port, h, b) == 200
    a = wait_lines(rx, 1)[0]
    assert a["stale"] is True and a["repeat"] is False
    assert 1190 <= a["age_s"] <= 1300
    # a fresh one is not
    h, b, _ = make_webhook(env)
    assert post(rx.port, h, b) == 200
    assert wait_lines(rx, 2)[1]["stale"] is False


def test_old_created_at_is_refused_when_asked(lab, tmp_path):
    env = lab.env()
    rx = receiver(lab, env, tmp_path / "state",
                  extra=["--max-age", "300", "--old", "refuse"])
    old = _old(6)
    h, b, _ = make_webhook(env, inner={"created_at": old},
                           outer={"created_at": old})
    assert post(rx.port, h, b) == 422
    assert still(lambda: len(rx.snapshot("stdout")), 0.5) == [0]
    rx.wait_for(r"created_at older than --max-age", "stderr", 10)


def test_repeated_notice_is_marked(lab, tmp_path):
    env = lab.env()
    rx = receiver(lab, env, tmp_path / "state")
    aid = proto.new_alert_id()
    body = json.dumps({"type": "alert.acknowledged", "alert_id": aid,
                       "recipient_id": RID, "acknowledged_by": "oncall-1",
                       "acknowledged_at": proto.rfc3339_now()}).encode()
    assert post(rx.port, fresh_headers(env, body), body) == 200
    assert post(rx.port, fresh_headers(env, body), body) == 200
    a, b = wait_lines(rx, 2)
    assert a["repeat"] is False and b["repeat"] is True


def test_memory_is_bounded_oldest_first(lab, tmp_path):
    env = lab.env()
    state = tmp_path / "state"
    rx = receiver(lab, env, state, extra=["--remember", "2"])
    sent = []
    for _ in range(5):
        h, b, inner = make_webhook(env)
        assert post(rx.port, h, b) == 200
        sent.append(b)
    wait_lines(rx, 5)
    # the file never holds more than twice the bound
    assert len((state / "shown").read_text().splitlines()) <= 1 + 2 * 2
    # the newest is still known, the oldest was forgotten
    for b in (sent[-1], sent[0]):
        assert post(rx.port, fresh_headers(env, b), b) == 200
    a = wait_lines(rx, 7)
    assert a[5]["repeat"] is True and a[6]["repeat"] is False


def test_damaged_state_file_is_reported_not_fatal(lab, tmp_path):
    env = lab.env()
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    h, b, inner = make_webhook(env)
    aid = inner["alert_id"]
    (state / "shown").write_bytes(
        b"alertrelay-shown 1\nalert:" + aid.encode() + b"\n\x00\xff garbage\n"
        + b"alert:" + b"x" * 40 + b"\nalert:0123")  # and a torn last line
    rx = receiver(lab, env, state)
    rx.wait_for(r"is damaged", "stderr", 10)
    assert (state / "shown.corrupt").exists()
    # what could be read is still remembered
    assert post(rx.port, h, b) == 200
    assert wait_lines(rx, 1)[0]["repeat"] is True
    # and the file is whole again
    assert (state / "shown").read_text().splitlines() == [
        "alertrelay-shown 1", "alert:" + aid]
    rx.stop()
    # a file that is not ours at all: reported, set aside, not a crash
    (state / "shown").write_bytes(os.urandom(3000))
    rx = receiver(lab, env, state, name="receive-b")
    rx.wait_for(r"is damaged", "stderr", 10)
    h, b, _ = make_webhook(env)
    assert post(rx.port, h, b) == 200
    assert wait_lines(rx, 1)[0]["repeat"] is False


def test_two_receivers_cannot_share_a_state_dir(lab, tmp_path):
    env = lab.env()
    state = tmp_path / "state"
    receiver(lab, env, state)
    r = env.recipient(RID)
    cp = harness.run([alertctl_bin(), "receive", "--listen", "127.0.0.1:0",
                      "--secret", r.secret_file, "--key", r.key,
                      "--devices", env.devices_dir, "--state-dir", state],
                     timeout=10)
    assert cp.returncode != 0
    assert "another receiver uses this --state-dir" in cp.stderr


# ------------------------------------------------ enrollment and rollback


def _device_send(conf, home, *args):
    env = dict(HOME=str(home), XDG_STATE_HOME=str(home / "state"))
    return harness.run([alertctl_bin(), "-c", conf, "send"] + list(args),
                       timeout=30, env=env)


@pytest.mark.needs("alertrelayd")
def test_new_device_refuses_an_older_directory_on_first_contact(lab, tmp_path):
    env = lab.env()
    env.use_directory(5)
    v5 = env.directory.read_text()
    # the bundle is made at version 5 ...
    bundle = enrollment_bundle(env, v5, tmp_path / "device.bundle")
    dev = tmp_path / "device"
    cp = harness.run([alertctl_bin(), "enroll", bundle, "--dir", dev],
                     timeout=20)
    assert cp.returncode == 0, cp.stderr
    assert "directory version 5 kept" in cp.stdout
    assert (dev / "directory.signed").read_text() == v5
    assert "directory = directory.signed" in (dev / "alertctl.conf").read_text()
    # ... and the relay serves version 4, properly signed by the
    # organisation (an old file restored, or a relay in an attacker's
    # hands that wants the device to seal to a recipient key since
    # rotated away)
    env.sign_directory(4)
    redis = lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"directory_version=4", "stderr", timeout=10)
    cp = _device_send(dev / "alertctl.conf", tmp_path, "--type", "panic",
                      "--message", "first alert", "--timeout", "3")
    assert cp.returncode != 0, cp.stdout
    assert "REFUSED the directory" in cp.stderr and "rollback" in cp.stderr, \
        cp.stderr
    assert (dev / "directory.signed").read_text() == v5
    assert redis.client()("KEYS", "*:alert:*") == []

    # an up-to-date relay works, and a newer directory is taken
    relay.stop()
    redis.client()("DEL", "alertrelay:directory_version")
    env.sign_directory(6)
    lab.relay(env).proc.wait_for(r"directory_version=6", "stderr", timeout=10)
    cp = _device_send(dev / "alertctl.conf", tmp_path, "--type", "test",
                      "--timeout", "10")
    assert cp.returncode == 0, cp.stderr
    aid, accepted = parse_send(cp.stdout.splitlines())
    assert accepted, cp.stdout
    assert (dev / "directory.signed").read_text() == env.directory.read_text()


def test_enroll_refuses_a_bundle_whose_directory_is_forged(lab, tmp_path):
    import orgdir
    env = lab.env()
    env.use_directory(3)
    forged = env.sign_directory(3, signer=orgdir.Org(),
                                path=tmp_path / "forged.signed")
    bundle = enrollment_bundle(env, forged, tmp_path / "device.bundle")
    cp = harness.run([alertctl_bin(), "enroll", bundle, "--dir",
                      tmp_path / "device"], timeout=20)
    assert cp.returncode != 0
    assert "the directory it carries" in cp.stderr, cp.stderr
    assert not (tmp_path / "device" / "alertctl.conf").exists()


def test_bundles_carry_the_newest_signed_directory(lab, tmp_path):
    """The administrator's own commands: `device add` puts the last signed
    directory in the bundle, `directory sign` brings the waiting bundles
    up to the version it signs."""
    org = tmp_path / "org"
    pin = proto.b64e(os.urandom(32))

    def ctl(*args):
        cp = harness.run([alertctl_bin()] + [str(a) for a in args], timeout=20)
        assert cp.returncode == 0, cp.stderr
        return cp

    def carried(name):
        b = json.loads((org / "devices" / (name + ".bundle")).read_text())
        return b.get("directory")

    import orgdir
    ctl("org", "init", "--org", org, "--relay", "127.0.0.1:7443", "--pin", pin)
    ctl("recipient", "add", "Contactpunt", "--id", "contactpunt", "--org", org,
        "--webhook", "http://127.0.0.1:9/hook")
    ctl("device", "add", "Burgemeester-A", "--id", "mayor-a", "--org", org)
    assert carried("mayor-a") is None  # nothing signed yet
    cp = ctl("directory", "sign", "--org", org)
    assert "1 enrollment bundle(s)" in cp.stdout
    assert orgdir.read_payload(carried("mayor-a"))["version"] == 1
    ctl("device", "add", "Burgemeester-B", "--id", "mayor-b", "--org", org)
    assert orgdir.read_payload(carried("mayor-b"))["version"] == 1
    ctl("directory", "sign", "--org", org)
    for name in ("mayor-a", "mayor-b"):
        text = carried(name)
        assert text.strip() == (org / "directory.signed").read_text().strip()
        assert orgdir.read_payload(text)["version"] == 2
        assert os.stat(org / "devices" / (name + ".bundle")).st_mode & 0o077 == 0


def test_new_device_seals_its_first_alert_before_any_relay(lab, tmp_path):
    """With the bundle's directory the device knows whom to seal to before
    it has ever reached a relay: the alert waits sealed in its outbox."""
    env = lab.env()
    env.use_directory(2)
    bundle = enrollment_bundle(env, env.directory.read_text(), tmp_path / "device.bundle")
    dev = tmp_path / "device"
    cp = harness.run([alertctl_bin(), "enroll", bundle, "--dir", dev],
                     timeout=20)
    assert cp.returncode == 0, cp.stderr
    # no relay is running
    cp = _device_send(dev / "alertctl.conf", tmp_path, "--type", "test",
                      "--message", "offline", "--timeout", "1")
    assert cp.returncode != 0
    aid, _ = parse_send(cp.stdout.splitlines())
    entry = tmp_path / "state" / "alertrelay" / "outbox" / (aid + ".json")
    assert entry.exists(), cp.stderr
    envelope = json.loads(json.loads(entry.read_text())["envelope"])
    assert sorted(r["id"] for r in envelope["recipients"]) == sorted(env.recipients)
