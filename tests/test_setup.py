"""alertctl keygen / pin and scripts/dev-setup."""

import base64
import os
import shutil
import stat
import sys

import nacl.bindings

import pytest

import harness
import proto

pytestmark = pytest.mark.needs("alertctl")

DENY = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "deny_syscalls.py")


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_keygen_device(tmp_path, lab):
    cp = harness.run([harness.alertctl_bin(), "keygen", "device", tmp_path / "d"])
    assert cp.returncode == 0, cp.stderr
    key, pub = tmp_path / "d.key", tmp_path / "d.pub"
    assert mode(key) == 0o600
    pk = pub.read_text().strip()
    assert pk in cp.stdout, "keygen must print the public key"
    assert len(proto.b64d(pk)) == 32
    sk = proto.device_signing_key(key)  # checks the pk half of a 64-byte key
    assert bytes(sk.verify_key) == proto.b64d(pk)
    # never overwrites a key
    before = key.read_bytes()
    cp = harness.run([harness.alertctl_bin(), "keygen", "device", tmp_path / "d"])
    assert cp.returncode != 0 and key.read_bytes() == before


def test_keygen_recipient(tmp_path, lab):
    cp = harness.run([harness.alertctl_bin(), "keygen", "recipient", tmp_path / "r"])
    assert cp.returncode == 0, cp.stderr
    pk = (tmp_path / "r.pub").read_text().strip()
    assert pk in cp.stdout
    assert mode(tmp_path / "r.key") == 0o600
    sk = proto.recipient_private_key(tmp_path / "r.key")
    assert bytes(sk.public_key) == proto.b64d(pk)
    assert nacl.bindings.crypto_scalarmult_base(bytes(sk)) == proto.b64d(pk)


def test_keygen_webhook_secret(tmp_path, lab):
    f = tmp_path / "x.whsec"
    cp = harness.run([harness.alertctl_bin(), "keygen", "webhook-secret", f])
    assert cp.returncode == 0, cp.stderr
    assert mode(f) == 0o600
    text = f.read_text().strip()
    assert text.startswith("whsec_") and len(proto.whsec_key(text)) >= 24
    g = tmp_path / "y.whsec"
    harness.run([harness.alertctl_bin(), "keygen", "webhook-secret", g])
    assert g.read_text() != f.read_text()


@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
def test_a_key_file_is_never_left_cut_short(tmp_path, lab):
    """alertctl keygen killed between creating a key file and writing it
    (under gdb, at the fchmod that comes first): nothing under the key's
    name, so a second run makes it whole; before, an empty file was left
    there, which every program refuses until someone removes it (the
    console's device.key: the console would not start)."""
    f = tmp_path / "x.whsec"
    cp = harness.run(["gdb", "-q", "-nx", "-batch", "-ex", "set breakpoint "
                      "pending on", "-ex", "break fchmod", "-ex", "run",
                      "-ex", "kill", "--args", harness.alertctl_bin(),
                      "keygen", "webhook-secret", str(f)], timeout=120)
    assert "Breakpoint 1, " in cp.stdout, cp.stdout + cp.stderr
    assert not f.exists(), f.read_bytes()
    cp = harness.run([harness.alertctl_bin(), "keygen", "webhook-secret", f])
    assert cp.returncode == 0, cp.stderr
    assert mode(f) == 0o600 and f.read_text().startswith("whsec_")
    # and an existing key is still never overwritten
    before = f.read_text()
    cp = harness.run([harness.alertctl_bin(), "keygen", "webhook-secret", f])
    assert cp.returncode != 0 and "already exists" in cp.stderr, cp.stderr
    assert f.read_text() == before

@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
@pytest.mark.parametrize("kind", ["device", "recipient"])
def test_a_pair_cut_short_is_completed_from_its_key(tmp_path, lab, kind):
    """alertctl keygen killed (under gdb) between a pair's two files: the
    .key is there, the .pub not.  The next keygen refuses and names
    --complete (an administrator who removed a .pub to rotate the key
    must not get the old key back), and keygen --complete completes the
    pair from that key (never shown to anyone) and prints the public
    key; the .key is not touched.  Before, the only way on was to remove
    the key by hand.  A file of another kind under the .key's name is
    left as it is."""
    prefix = tmp_path / "p"
    key, pub = tmp_path / "p.key", tmp_path / "p.pub"
    cp = harness.run(["gdb", "-q", "-nx", "-batch", "-ex", "set breakpoint "
                      "pending on", "-ex", "break keyfile_write", "-ex", "run",
                      "-ex", "continue", "-ex", "kill", "--args",
                      harness.alertctl_bin(), "keygen", kind, str(prefix)],
                     timeout=120)
    assert cp.stdout.count("Breakpoint 1, ") == 2, cp.stdout + cp.stderr
    assert key.exists() and not pub.exists()
    before = key.read_bytes()
    cp = harness.run([harness.alertctl_bin(), "keygen", kind, prefix],
                     env={"LANGUAGE": "en"})
    assert cp.returncode != 0 and "--complete" in cp.stderr, cp.stderr
    assert not pub.exists() and key.read_bytes() == before
    cp = harness.run([harness.alertctl_bin(), "keygen", kind, "--complete",
                      prefix], env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    pk = pub.read_text().strip()
    assert cp.stdout.strip() == pk and key.read_bytes() == before
    if kind == "device":
        assert bytes(proto.device_signing_key(key).verify_key) == \
            proto.b64d(pk)
    else:
        sk = proto.recipient_private_key(key)
        assert bytes(sk.public_key) == proto.b64d(pk)
    # the pair whole: never overwritten, with --complete neither
    for extra in ([], ["--complete"]):
        cp = harness.run([harness.alertctl_bin(), "keygen", kind] + extra +
                         [prefix])
        assert cp.returncode != 0 and key.read_bytes() == before
        assert pub.read_text().strip() == pk
    # a key of the other kind under the name: left as it is, refused
    other = tmp_path / "o"
    harness.run([harness.alertctl_bin(), "keygen",
                 "recipient" if kind == "device" else "device", other])
    os.rename(tmp_path / "o.key", tmp_path / "q.key")
    theirs = (tmp_path / "q.key").read_bytes()
    cp = harness.run([harness.alertctl_bin(), "keygen", kind, "--complete",
                      tmp_path / "q"], env={"LANGUAGE": "en"})
    assert cp.returncode != 0 and "bytes" in cp.stderr, cp.stderr
    assert not (tmp_path / "q.pub").exists()
    assert (tmp_path / "q.key").read_bytes() == theirs
    if kind == "device":
        # 64 bytes whose seed does not give their public half: no
        # device key, though of its size
        fake = tmp_path / "f.key"
        fake.write_text(base64.b64encode(os.urandom(64)).decode() + "\n")
        fake.chmod(0o600)
        cp = harness.run([harness.alertctl_bin(), "keygen", kind,
                          "--complete", tmp_path / "f"],
                         env={"LANGUAGE": "en"})
        assert cp.returncode != 0, cp.stderr
        assert "not a key of this kind" in cp.stderr, cp.stderr
        assert not (tmp_path / "f.pub").exists()
    # --complete only for key pairs
    cp = harness.run([harness.alertctl_bin(), "keygen", "webhook-secret",
                      "--complete", tmp_path / "w"])
    assert cp.returncode == 2 and not (tmp_path / "w").exists(), cp.stderr


def test_a_file_a_crash_left_beside_a_key_is_no_obstacle(tmp_path, lab):
    """Review rv-n3: the file written beside a key was named after the
    PID, and a crash's leftover stopped the key being written when the
    PID came again (always 1 in a container), with "File exists" for a
    key that did not exist.  alertctl run as PID 1 of a new PID
    namespace (unshare, as root) beside a leftover "x.whsec.new-1"."""
    f = tmp_path / "x.whsec"
    (tmp_path / "x.whsec.new-1").write_text("")
    probe = harness.run(["unshare", "-pf", "--mount-proc", "true"])
    if probe.returncode != 0:
        pytest.skip("cannot make a PID namespace here: " + probe.stderr)
    cp = harness.run(["unshare", "-pf", "--mount-proc",
                      harness.alertctl_bin(), "keygen", "webhook-secret",
                      str(f)])
    assert cp.returncode == 0, cp.stderr
    assert f.read_text().startswith("whsec_") and mode(f) == 0o600

@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
@pytest.mark.parametrize("skip", [0, 1], ids=["key", "certificate"])
def test_relay_cert_files_are_never_left_cut_short(tmp_path, lab, skip):
    """alertctl keygen relay-cert killed (under gdb) at the first write to
    a file, the key's, or at the second, the certificate's: no file under
    either name that is not whole; before, an empty relay.key (or
    relay.crt) was left there, which the relay does not start on.  Killed
    at the key, a second run makes both; an existing file is still never
    overwritten."""
    prefix = tmp_path / "relay"
    key, crt = tmp_path / "relay.key", tmp_path / "relay.crt"
    # The system call, not the function: ASan's interceptor of write()
    # would be a second breakpoint location for the same write.  Each
    # call stops at its entry and its return.
    cp = harness.run(["gdb", "-q", "-nx", "-batch", "-ex", "catch syscall "
                      "write", "-ex", "condition 1 $rdi > 2", "-ex",
                      "ignore 1 %d" % (2 * skip), "-ex", "run", "-ex", "kill",
                      "--args", harness.alertctl_bin(), "keygen",
                      "relay-cert", str(prefix)], timeout=120)
    assert "Catchpoint 1 (call to syscall write)" in cp.stdout, \
        cp.stdout + cp.stderr
    assert not crt.exists(), crt.read_bytes()
    if skip:
        # the key was whole when it took its name
        assert mode(key) == 0o600
        assert harness.run(["openssl", "pkey", "-in", key, "-noout"]
                           ).returncode == 0
        return
    assert not key.exists(), key.read_bytes()
    cp = harness.run([harness.alertctl_bin(), "keygen", "relay-cert", prefix])
    assert cp.returncode == 0, cp.stderr
    assert mode(key) == 0o600 and mode(crt) == 0o644
    assert cp.stdout.strip() == harness.openssl_pin(crt)
    before = key.read_bytes(), crt.read_bytes()
    cp = harness.run([harness.alertctl_bin(), "keygen", "relay-cert", prefix])
    assert cp.returncode != 0 and "relay.key: File exists" in cp.stderr
    assert (key.read_bytes(), crt.read_bytes()) == before


def deny(*rules):
    """argv that runs what follows with those calls failing (a file system
    without them), or skips the test where seccomp cannot be had."""
    probe = harness.run([sys.executable, DENY, *rules, "--", "/bin/true"])
    if probe.returncode == 77:
        pytest.skip("no seccomp filter here: " + probe.stderr)
    return [sys.executable, DENY, *rules, "--"]


def test_keygen_without_hard_links(tmp_path, lab):
    """On a file system without hard links (vfat: link() says EPERM) a key
    is renamed into place without replacing (renameat2 RENAME_NOREPLACE),
    as crash-safe as a link; before, keygen failed there.  Where rename
    cannot refuse to replace either, keygen fails with ENOTSUP and leaves
    nothing, rather than write the key in place."""
    nolink = deny("EPERM", "link,linkat")
    cp = harness.run(nolink + [harness.alertctl_bin(), "keygen", "device",
                               tmp_path / "d"])
    assert cp.returncode == 0, cp.stderr
    assert mode(tmp_path / "d.key") == 0o600 and mode(tmp_path / "d.pub") == 0o644
    sk = proto.device_signing_key(tmp_path / "d.key")
    assert bytes(sk.verify_key) == proto.b64d(cp.stdout.strip())
    cp = harness.run(nolink + [harness.alertctl_bin(), "keygen", "relay-cert",
                               tmp_path / "relay"])
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == harness.openssl_pin(tmp_path / "relay.crt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "d.key", "d.pub", "relay.crt", "relay.key"]
    f = tmp_path / "x.whsec"
    cp = harness.run(deny("EPERM", "link,linkat", "EINVAL", "renameat2") +
                     [harness.alertctl_bin(), "keygen", "webhook-secret", f])
    assert cp.returncode != 0 and "x.whsec: Operation not supported" in \
        cp.stderr, cp.stderr
    assert not list(tmp_path.glob("*x.whsec*"))


@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
def test_a_key_pair_is_made_whole_when_its_directory_cannot_be_synced(
        tmp_path, lab):
    """The sync of the directory after d.key took its name fails (gdb
    turns that fsync's descriptor into -1: EBADF): the key is there,
    whole, so keygen warns and goes on to write d.pub.  Before, it failed
    after the key was in place and wrote no d.pub, and every later run
    said d.key already exists: the pair was never made."""
    cp = harness.run(["gdb", "-q", "-nx", "-batch", "-ex", "catch syscall "
                      "fsync", "-ex", "ignore 1 2", "-ex", "run", "-ex",
                      "set $rdi = -1", "-ex", "delete", "-ex", "continue",
                      "--args", harness.alertctl_bin(), "keygen", "device",
                      str(tmp_path / "d")], timeout=120)
    assert "Catchpoint 1 (call to syscall fsync)" in cp.stdout, \
        cp.stdout + cp.stderr
    assert "d.key is written, but its directory could not be synced" in \
        cp.stdout + cp.stderr
    pk = (tmp_path / "d.pub").read_text().strip()
    assert pk in cp.stdout
    sk = proto.device_signing_key(tmp_path / "d.key")
    assert bytes(sk.verify_key) == proto.b64d(pk)


def test_pin_matches_openssl(tmp_path, lab):
    cert, _ = harness.make_cert(tmp_path)
    cp = harness.run([harness.alertctl_bin(), "pin", cert])
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == harness.openssl_pin(cert)
    cp = harness.run([harness.alertctl_bin(), "pin", tmp_path / "missing.crt"])
    assert cp.returncode != 0


def test_dev_setup(tmp_path, lab):
    d = tmp_path / "dev"
    cp = harness.run([harness.ROOT / "scripts" / "dev-setup", d, "--relay-port",
                      "17443", "--redis-port", "16379", "--webhook-port",
                      "18081", "18082"])
    assert cp.returncode == 0, cp.stdout + cp.stderr
    for secret in ("relay.key", "mayor-a.key", "contactpunt.key",
                   "oncall-1.key", "contactpunt.whsec", "oncall-1.whsec"):
        assert mode(d / secret) == 0o600, secret
    assert (d / "devices" / "mayor-a.pub").read_text() == (d / "mayor-a.pub").read_text()
    relay_conf = (d / "alertrelayd.conf").read_text()
    client_conf = (d / "alertctl.conf").read_text()
    assert "listen = 127.0.0.1:17443" in relay_conf
    assert "address = 127.0.0.1:16379" in relay_conf
    assert "webhook_url = http://127.0.0.1:18081/hook" in relay_conf
    assert "webhook_url = http://127.0.0.1:18082/hook" in relay_conf
    assert "relay = 127.0.0.1:17443" in client_conf
    assert "relay_pin = %s" % harness.openssl_pin(d / "relay.crt") in client_conf
    for rid in ("contactpunt", "oncall-1"):
        pk = (d / (rid + ".pub")).read_text().strip()
        assert relay_conf.count(pk) == 1 and client_conf.count(pk) == 1
    # refuses to overwrite a setup
    cp = harness.run([harness.ROOT / "scripts" / "dev-setup", d])
    assert cp.returncode != 0
    assert mode(d / "relay.key") == 0o600


@pytest.mark.needs("alertrelayd", "alertctl")
def test_relay_refuses_readable_secret_files(lab):
    """tls_key and webhook secrets must be 0600, or the relay does not start."""
    env = lab.env()
    for f in (env.tls_key, env.recipients["contactpunt"].secret_file):
        os.chmod(f, 0o644)
        p = harness.Proc([harness.alertrelayd_bin(), "-c", env.relay_conf, "-f"],
                         "alertrelayd-refuse", lab.logdir)
        lab.things.append(p)
        p.start()
        rc = p.wait_exit(10)
        assert rc not in (None, 0), "relay started with %s mode 0644" % f.name
        assert f.name in p.text("stderr"), p.text("stderr")
        os.chmod(f, 0o600)
