"""The organisation's signed directory (docs/DIRECTORY.md) at the relay
and on the device: forged and rolled-back directories are refused by
both; revocation disconnects a device at once; rotation keeps alerts in
flight.  Directories are signed here with PyNaCl (tests/orgdir.py), an
implementation independent of alertctl's."""

import json
import signal
import time

import pytest

import orgdir
from harness import alertctl_bin, alertrelayd_bin, run
from helpers import authed, parse_send, raw_client

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def reload_and_wait(relay, what):
    n = len(relay.proc.snapshot("stderr"))
    relay.proc.signal(signal.SIGHUP)
    return relay.proc.wait_for(what, "stderr", timeout=10, start=n).string


def directory_stack(lab, version=1, receivers=("contactpunt",), **kw):
    env = lab.env()
    env.use_directory(version, **kw)
    redis = lab.redis(env)
    relay = lab.relay(env)
    recv = {rid: lab.receiver(env, rid) for rid in receivers}
    return env, redis, relay, recv


def test_alert_sealed_to_directory_recipients_reaches_them(lab):
    env, redis, relay, recv = directory_stack(lab)
    relay.proc.wait_for(r"directory_version=1", "stderr", timeout=10)
    rc, out, err = lab.send(env, "--type", "panic", "--message", "help")
    assert rc == 0, err
    aid, acc = parse_send(out)
    assert acc, out
    # the client fetched and kept the signed directory, byte for byte
    assert env.client_directory.read_text() == env.directory.read_text()
    alerts = recv["contactpunt"].wait_alerts(1)
    assert alerts[0]["alert_id"] == aid
    assert alerts[0]["message"] == "help"


def test_relay_refuses_to_start_with_a_directory_signed_by_another_key(lab):
    env = lab.env()
    env.use_directory(1)
    env.sign_directory(2, signer=orgdir.Org())  # the org_key stays the real one
    lab.redis(env)
    proc = lab.spawn([alertrelayd_bin(), "-c", env.relay_conf, "-f"],
                     "alertrelayd")
    assert proc.wait_exit(10) not in (None, 0)
    assert "does not verify with the organisation key" in proc.text()
    # and so does the check mode
    cp = run([alertrelayd_bin(), "-t", "-c", str(env.relay_conf)])
    assert cp.returncode != 0
    assert "does not verify" in cp.stdout + cp.stderr


def test_relay_refuses_a_tampered_or_unsigned_directory(lab):
    env = lab.env()
    env.use_directory(1)
    good = env.directory.read_text()
    # a recipient key swapped in the payload, the signature left alone
    env.directory.write_text(orgdir.tamper(good, lambda p: p["recipients"][0]
                                           .update(public_key=orgdir.b64(bytes(32)))))
    cp = run([alertrelayd_bin(), "-t", "-c",
              str(env.relay_conf)])
    assert cp.returncode != 0 and "does not verify" in cp.stdout + cp.stderr
    # the bare payload, never signed
    env.directory.write_text(json.dumps(orgdir.read_payload(good)))
    cp = run([alertrelayd_bin(), "-t", "-c",
              str(env.relay_conf)])
    assert cp.returncode != 0 and "not a signed directory" in cp.stdout + cp.stderr


def test_relay_reload_refuses_rollback_and_takes_a_newer_version(lab):
    env, redis, relay, _ = directory_stack(lab, version=5, receivers=())
    relay.proc.wait_for(r"directory_version=5", "stderr", timeout=10)
    env.sign_directory(4)
    line = reload_and_wait(relay, r"reload refused")
    assert "older than version 5" in line
    # the same version with other content is refused too
    env.sign_directory(5, revoked=[env.device_id])
    line = reload_and_wait(relay, r"reload refused")
    assert "every change needs a new version" in line
    with authed(env) as c:
        d = c.request({"type": "directory", "have": 0})
        assert d["version"] == 5
        assert orgdir.read_payload(d["signed"])["version"] == 5
    env.sign_directory(6)
    reload_and_wait(relay, r"directory_version=6")
    with authed(env) as c:
        # what the device has already is not sent again
        assert c.request({"type": "directory", "have": 6}) == {
            "type": "directory", "version": 6}


def _attacker_relay(lab, env, attacker):
    """The relay as an attacker who took it over would run it: its
    org_key replaced, the directory re-signed with the attacker's key and
    contactpunt's key swapped for the attacker's."""
    import nacl.public
    evil = nacl.public.PrivateKey.generate()
    env.org, real = attacker, env.org
    env.sign_directory(7, keys={"contactpunt": orgdir.b64(evil.public_key)})
    env.write_relay_conf()
    env.org = real
    env.write_client_conf()
    return evil


def test_client_refuses_a_directory_from_a_compromised_relay(lab):
    env = lab.env()
    env.use_directory(1)
    _attacker_relay(lab, env, orgdir.Org())
    redis = lab.redis(env)
    lab.relay(env)
    rc, out, err = lab.send(env, "--type", "panic", "--message", "secret",
                            "--timeout", "3")
    assert rc != 0
    assert "REFUSED the directory" in err
    assert "does not verify with the organisation key" in err
    # nothing was sealed or sent, nothing was kept
    assert not env.client_directory.exists()
    assert redis.client()("KEYS", "*:alert:*") == []


def test_client_refuses_a_rolled_back_directory(lab):
    env, redis, relay, _ = directory_stack(lab, version=3, receivers=())
    rc, out, err = lab.send(env, "--type", "test")
    assert rc == 0, err
    kept = env.client_directory.read_text()
    # the relay goes back to version 2, properly signed by the
    # organisation (an old file restored), and restarts; as a relay in an
    # attacker's hands, it also forgets the version it recorded in Redis
    relay.stop()
    redis.client()("DEL", "alertrelay:directory_version")
    env.sign_directory(2)
    lab.relay(env)
    rc, out, err = lab.send(env, "--type", "test", "--timeout", "3")
    assert rc != 0
    assert "REFUSED the directory" in err and "rollback" in err
    assert env.client_directory.read_text() == kept


def test_client_refuses_a_tampered_cache(lab):
    env, redis, relay, _ = directory_stack(lab, receivers=())
    rc, out, err = lab.send(env, "--type", "test")
    assert rc == 0, err
    env.client_directory.write_text(orgdir.tamper(
        env.client_directory.read_text(), lambda p: p.update(version=99)))
    rc, out, err = lab.send(env, "--type", "test", "--timeout", "3")
    assert rc != 0
    assert "REFUSED the cached directory" in err


def test_revocation_closes_the_connection_at_the_reload(lab):
    """The reload that revokes a device closes its open connection then,
    not when the relay next hears from it or pings it.  The device sends
    nothing, and the relay's keepalive (its only reason to write) is 60 s
    here: a relay that noticed at its next ping would be silent that
    long.  The wait is a sixth of that configured period, a behaviour
    check, not a speed assertion (speed is `make bench`'s)."""
    keepalive = 60
    env = lab.env(relay={"keepalive": keepalive})
    env.use_directory(1)
    # contactpunt's webhook is down: the alert accepted now is delivered
    # only after the revocation
    redis = lab.redis(env)
    relay = lab.relay(env)
    rc, out, err = lab.send(env, "--type", "panic", "--message", "before")
    assert rc == 0, err
    aid, acc = parse_send(out)
    assert acc
    c = authed(env)
    try:
        env.sign_directory(2, revoked=[env.device_id])
        relay.proc.signal(signal.SIGHUP)
        t0 = time.monotonic()
        # the first frame after the reload, and the last
        frame = c.recv_frame(timeout=keepalive / 6)
        assert frame["type"] == "error" and frame["code"] == "revoked", frame
        assert c.expect_closed(
            timeout=max(0.01, keepalive / 6 - (time.monotonic() - t0)))
    finally:
        c.close()
    # it cannot come back, and cannot send
    with raw_client(env) as c2:
        c2.hello()
        ans = c2.auth(env.device_id, __import__("helpers").device_key(env))
        assert ans["type"] == "error" and ans["code"] == "revoked", ans
    rc, out, err = lab.send(env, "--type", "panic", "--timeout", "3")
    assert rc != 0 and "revoked" in err
    assert "not accepted within" not in err  # refused for good, not retried
    # the alert accepted before the revocation still reaches the recipient
    recv = lab.receiver(env, "contactpunt")
    alerts = recv.wait_alerts(1, timeout=30)
    assert alerts[0]["alert_id"] == aid
    assert alerts[0]["message"] == "before"


def _rotate_device(env):
    """A new key for the device; the old one retired as of now (the
    directory's until) and the old key file kept for the test."""
    import nacl.signing
    import proto
    old_sk = proto.device_signing_key(env.device_key)
    new_sk = nacl.signing.SigningKey.generate()
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
    retired = {env.device_id: [{"public_key": env.device_public_key,
                                "until": until}]}
    env.device_public_key = orgdir.b64(new_sk.verify_key)
    return old_sk, new_sk, retired


def test_device_key_rotation_keeps_alerts_signed_with_the_old_key(lab):
    import proto
    from helpers import recipient_pks
    env, redis, relay, recv = directory_stack(lab)
    old_sk, new_sk, retired = _rotate_device(env)
    # an alert the device sealed and signed before the rotation, still in
    # its outbox
    frame, _, aid = proto.build_alert(old_sk, env.device_id,
                                      recipient_pks(env), "panic", "queued")
    env.sign_directory(2, retired=retired)
    reload_and_wait(relay, r"directory_version=2")
    # the old key no longer authenticates a session
    with raw_client(env) as c:
        c.hello()
        ans = c.auth(env.device_id, old_sk)
        assert ans.get("code") == "auth_failed", ans
    with raw_client(env) as c:
        c.hello()
        assert c.auth(env.device_id, new_sk)["type"] == "ready"
        assert c.request(frame)["type"] == "accepted"
        # an envelope made with the old key after its retirement is forged
        late = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                             time.gmtime(time.time() + 5))
        forged, _, _ = proto.build_alert(old_sk, env.device_id,
                                         recipient_pks(env), "panic", "x",
                                         created_at=late)
        ans = c.request(forged)
        while ans["type"] == "receipt":  # the first alert's, meanwhile
            ans = c.recv_frame()
        assert ans.get("code") == "bad_signature", ans
    # the receiver checks the old signature against the directory too
    alerts = recv["contactpunt"].wait_alerts(1)
    assert alerts[0]["alert_id"] == aid and alerts[0]["message"] == "queued"


def test_recipient_key_rotation_old_key_still_opens_in_flight_alerts(lab):
    import nacl.public
    import proto
    from helpers import recipient_pks
    env, redis, relay, _ = directory_stack(lab, receivers=())
    r = env.recipient("contactpunt")
    # sealed to the old key and accepted, then the key is rotated
    with authed(env) as c:
        frame, _, aid1 = proto.build_alert(
            proto.device_signing_key(env.device_key), env.device_id,
            recipient_pks(env), "panic", "sealed to the old key")
        assert c.request(frame)["type"] == "accepted"
    new = nacl.public.PrivateKey.generate()
    newkey = env.dir / "contactpunt-2.key"
    from harness import write_secret
    write_secret(newkey, orgdir.b64(new))
    env.sign_directory(2, keys={"contactpunt": orgdir.b64(new.public_key)})
    reload_and_wait(relay, r"directory_version=2")
    # the device picks up version 2 and seals to the new key
    rc, out, err = lab.send(env, "--type", "panic", "--message", "new key")
    assert rc == 0, err
    aid2, _ = parse_send(out)
    sealed_to = orgdir.read_payload(env.client_directory.read_text())
    assert sealed_to["version"] == 2
    # the contact point runs receive with both keys: both open
    recv = lab.receiver(env, "contactpunt", keys=[newkey, r.key])
    alerts = {a["alert_id"]: a["message"] for a in recv.wait_alerts(2)}
    assert alerts == {aid1: "sealed to the old key", aid2: "new key"}


def test_receiver_refuses_a_forged_directory(lab):
    env = lab.env()
    env.use_directory(1)
    env.sign_directory(2, signer=orgdir.Org())
    from harness import Receiver
    recv = Receiver(env, "contactpunt", lab.logdir)
    lab.things.append(recv)
    recv.proc.start()
    assert recv.proc.wait_exit(10) not in (None, 0)
    assert "REFUSED the directory" in recv.proc.text()


def test_next_relay_pin_announced_in_the_directory_lets_devices_follow(lab):
    from harness import make_cert, openssl_pin
    env = lab.env()
    nextdir = env.dir / "next"
    nextdir.mkdir()
    cert_b, key_b = make_cert(nextdir)
    pin_b = openssl_pin(cert_b)
    env.use_directory(1, pins=[env.pin, pin_b])
    redis = lab.redis(env)
    relay = lab.relay(env)
    rc, out, err = lab.send(env, "--type", "test")
    assert rc == 0, err
    # the certificate is replaced; the device's enrollment knew only the
    # old pin
    relay.stop()
    from harness import hand_to_daemon_user
    import os
    if os.geteuid() == 0:
        hand_to_daemon_user(nextdir)
    env.relay["tls_cert"], env.relay["tls_key"] = cert_b, key_b
    env.write_relay_conf()
    relay = lab.relay(env)
    rc, out, err = lab.send(env, "--type", "test")
    assert rc == 0, err
    # a device that never saw the directory is not let through
    stranger = env.dir / "stranger.conf"
    env.write_client_conf(stranger)
    text = stranger.read_text().replace(str(env.client_directory),
                                        str(env.dir / "stranger.signed"))
    stranger.write_text(text)
    rc, out, err = lab.send(env, "--type", "test", "--timeout", "3",
                            conf=stranger)
    assert rc != 0 and "pin" in err.lower()


def test_relay_refuses_to_start_with_a_directory_older_than_redis_has_seen(lab):
    env, redis, relay, _ = directory_stack(lab, version=3, receivers=())
    relay.proc.wait_for(r"directory_version=3", "stderr", timeout=10)
    wait = __import__("harness").wait_until
    wait(lambda: redis.client()("GET", "alertrelay:directory_version") == "3",
         10, what="version 3 recorded in Redis")
    relay.stop()
    # an old, properly signed file is put back and the relay restarted
    env.sign_directory(2)
    proc = lab.spawn([alertrelayd_bin(), "-c", env.relay_conf, "-f"],
                     "alertrelayd-old")
    assert proc.wait_exit(15) == 1
    assert "older than version 3 that relays of this organisation" in \
        proc.text()
    assert redis.client()("GET", "alertrelay:directory_version") == "3"
