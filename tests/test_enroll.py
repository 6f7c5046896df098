"""The administrator's directory and enrollment: alertctl org, device,
recipient, directory, enroll and reload, as real processes.

Signed directories are checked here independently of the C code: the
Ed25519 signature with PyNaCl over b"alertrelay directory v1\\n" and the
payload bytes as carried (docs/DIRECTORY.md).
"""

import calendar
import json
import os
import stat
import time

import nacl.exceptions
import nacl.public
import nacl.signing
import pytest

import harness
import proto

pytestmark = pytest.mark.needs("alertctl")

SIGCTX = b"alertrelay directory v1\n"
RELAYS = ["relay-a.example.nl:7443", "[::1]:7443"]


def new_pin():
    return proto.b64e(os.urandom(32))


PIN = new_pin()


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


class Ctl:
    """alertctl to completion; stderr kept for the sanitizer check."""

    def __init__(self, lab):
        self.lab = lab

    def __call__(self, *args, env=None, timeout=20):
        argv = [harness.alertctl_bin()] + [str(a) for a in args]
        cp = harness.run(argv, timeout=timeout, env=env)
        self.lab.short_runs.append((argv, cp.stderr))
        return cp

    def ok(self, *args, **kw):
        cp = self(*args, **kw)
        assert cp.returncode == 0, "alertctl %s: exit %d\n%s%s" % (
            " ".join(map(str, args)), cp.returncode, cp.stdout, cp.stderr)
        return cp

    def fails(self, rc, *args, **kw):
        cp = self(*args, **kw)
        assert cp.returncode == rc, "alertctl %s: exit %d, want %d\n%s%s" % (
            " ".join(map(str, args)), cp.returncode, rc, cp.stdout, cp.stderr)
        return cp


@pytest.fixture
def ctl(lab):
    return Ctl(lab)


@pytest.fixture
def org(tmp_path, ctl):
    d = tmp_path / "org"
    ctl.ok("org", "init", "--org", d, "--relay", RELAYS[0], "--relay",
           RELAYS[1], "--pin", PIN)
    return d


def source(org):
    return json.loads((org / "directory.json").read_text())


def org_pub(org):
    return (org / "org.pub").read_text().strip()


def entry(org, which, id_):
    found = [e for e in source(org)[which] if e["id"] == id_]
    assert len(found) == 1, (which, id_, source(org))
    return found[0]


def read_bundle(path):
    return json.loads(path.read_text())


def bundle_signing_key(b):
    """The bundle's 64-byte secret key (seed || pk), checked whole."""
    raw = proto.b64d(b["device_key"])
    assert len(raw) == 64
    sk = nacl.signing.SigningKey(raw[:32])
    assert bytes(sk.verify_key) == raw[32:], "pk half does not match the seed"
    return sk


def verified_payload(path, org_pub_b64):
    """The payload of a signed directory, its signature checked here."""
    doc = json.loads(path.read_text())
    assert doc["alertrelay_directory"] == 1
    payload = proto.b64d(doc["payload"])
    sig = proto.b64d(doc["signature"])
    vk = nacl.signing.VerifyKey(proto.b64d(org_pub_b64))
    vk.verify(SIGCTX + payload, sig)
    # the context is part of what is signed: without it, no match
    with pytest.raises(nacl.exceptions.BadSignatureError):
        vk.verify(payload, sig)
    return payload, json.loads(payload)


# ---------------------------------------------------------------- org


def test_org_init(tmp_path, ctl):
    d = tmp_path / "a" / "org"
    cp = ctl.ok("org", "init", "--org", d, "--relay", RELAYS[0], "--pin", PIN)
    assert mode(d) == 0o700
    assert mode(d / "org.key") == 0o600
    pub = org_pub(d)
    assert cp.stdout.splitlines()[0] == pub, "prints the org public key first"
    sk = proto.device_signing_key(d / "org.key")  # checks the pk half
    assert bytes(sk.verify_key) == proto.b64d(pub)
    src = source(d)
    assert src["version"] == 0
    assert src["relays"] == [RELAYS[0]] and src["relay_pins"] == [PIN]
    assert src["devices"] == [] and src["recipients"] == []
    # never a second organisation over the first
    key_before = (d / "org.key").read_bytes()
    cp = ctl.fails(1, "org", "init", "--org", d)
    assert "already exists" in cp.stderr
    assert (d / "org.key").read_bytes() == key_before


def test_org_init_checks_relays_and_pins(tmp_path, ctl):
    d = tmp_path / "org"
    ctl.fails(2, "org", "init", "--org", d, "--relay", "no-port")
    ctl.fails(2, "org", "init", "--org", d, "--pin", "not-a-pin")
    ctl.fails(2, "org", "init", "--org", d, "--pin", PIN, "--pin", PIN)
    assert not (d / "org.key").exists()


def test_org_from_environment(tmp_path, ctl):
    d = tmp_path / "envorg"
    ctl.ok("org", "init", env={"ALERTCTL_ORG": str(d)})
    assert (d / "org.key").exists()
    cp = ctl.ok("org", "show", env={"ALERTCTL_ORG": str(d)})
    assert "organisation key: %s" % org_pub(d) in cp.stdout


def test_org_set_and_show(org, ctl):
    nxt = new_pin()
    cp = ctl.ok("org", "set", "--org", org, "--pin", PIN, "--pin", nxt)
    src = source(org)
    assert src["relay_pins"] == [PIN, nxt]
    assert src["relays"] == RELAYS, "relays not given stay as they are"
    ctl.fails(2, "org", "set", "--org", org)
    ctl.fails(2, "org", "set", "--org", org, "--relay", "host:99999")
    assert source(org) == src
    cp = ctl.ok("org", "show", "--org", org)
    assert "version last signed: 0 (never signed)" in cp.stdout
    assert "relay pins: %s, %s" % (PIN, nxt) in cp.stdout


# ---------------------------------------------------------------- devices


def test_device_add_writes_bundle(org, ctl):
    cp = ctl.ok("device", "add", "Burgemeester A", "--org", org)
    path = org / "devices" / "burgemeester-a.bundle"
    assert str(path) in cp.stdout and "directory sign" in cp.stdout
    assert mode(path) == 0o600
    b = read_bundle(path)
    assert b["alertrelay_enrollment"] == 1
    assert b["device_id"] == "burgemeester-a"
    assert b["alias"] == "Burgemeester A"
    assert b["relays"] == RELAYS and b["relay_pins"] == [PIN]
    assert b["org_key"] == org_pub(org)
    sk = bundle_signing_key(b)
    dev = entry(org, "devices", "burgemeester-a")
    assert dev["alias"] == "Burgemeester A" and dev["status"] == "active"
    assert proto.b64d(dev["public_key"]) == bytes(sk.verify_key)
    # a character outside [a-z0-9._-], even of several bytes, is one '-'
    ctl.ok("device", "add", "Wethouder Müller", "--org", org)
    assert (org / "devices" / "wethouder-m-ller.bundle").exists()


def test_device_add_refusals(org, tmp_path, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    before = source(org)
    cp = ctl.fails(1, "device", "add", "MAYOR", "--org", org)
    assert "already exists" in cp.stderr
    ctl.fails(1, "device", "add", "x", "--id", "-bad", "--org", org)
    ctl.fails(2, "device", "add", "a" * 65, "--org", org)
    # -o never overwrites
    out = tmp_path / "taken.bundle"
    out.write_text("keep me")
    ctl.fails(1, "device", "add", "Other", "-o", out, "--org", org)
    assert out.read_text() == "keep me"
    assert source(org) == before, "a refused add changes nothing"
    # no relays or pins: no bundle
    bare = tmp_path / "bare"
    ctl.ok("org", "init", "--org", bare)
    cp = ctl.fails(1, "device", "add", "Mayor", "--org", bare)
    assert "org init" in cp.stderr or "org set" in cp.stderr
    assert list((bare / "devices").iterdir()) == []


@pytest.mark.parametrize("args,message", [
    (("device", "frob"), "unknown subcommand 'frob'"),
    (("device", "add"), "add takes an alias"),
    (("device", "list", "extra"), "list takes no argument"),
    (("device", "revoke", "x", "--id", "y"), "--id is for add"),
    (("device", "revoke", "x", "-o", "out"), "-o is for add and rotate"),
    (("recipient", "frob"), "unknown subcommand 'frob'"),
    (("recipient", "rotate"), "rotate takes a recipient id"),
    (("recipient", "rotate", "x", "--sms", "+31600000000"),
     "--id, --webhook and --sms are for add"),
])
def test_subcommand_usage_errors(org, ctl, args, message):
    """A wrong subcommand or argument count exits 2, saying what is wrong,
    before anything in the organisation is touched."""
    before = source(org)
    cp = ctl.fails(2, *args, "--org", org)
    assert message in cp.stderr, cp.stderr
    assert source(org) == before


def test_device_rotate(org, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    path = org / "devices" / "mayor.bundle"
    old = read_bundle(path)
    old_pk = entry(org, "devices", "mayor")["public_key"]
    t0 = int(time.time())
    ctl.ok("device", "rotate", "mayor", "--org", org)
    new = read_bundle(path)
    assert mode(path) == 0o600
    assert new["device_key"] != old["device_key"]
    dev = entry(org, "devices", "mayor")
    assert proto.b64d(dev["public_key"]) == bytes(bundle_signing_key(new).verify_key)
    assert [r["public_key"] for r in dev["retired_keys"]] == [old_pk]
    until = calendar.timegm(time.strptime(dev["retired_keys"][0]["until"],
                                          "%Y-%m-%dT%H:%M:%SZ"))
    # a day ahead: a check-in running across the rotation still verifies
    # (its alert is signed with the old key and dated at its release)
    assert t0 + 86400 - 2 <= until <= time.time() + 86400 + 2
    # at most 8 retired keys, the oldest dropped
    seen = [old_pk, dev["public_key"]]
    for _ in range(8):
        ctl.ok("device", "rotate", "mayor", "--org", org)
        seen.append(entry(org, "devices", "mayor")["public_key"])
    retired = [r["public_key"] for r in entry(org, "devices", "mayor")["retired_keys"]]
    assert retired == seen[-9:-1]
    ctl.fails(1, "device", "rotate", "nobody", "--org", org)


def test_device_revoke_in_next_signed_directory(org, ctl):
    ctl.ok("device", "add", "Mayor A", "--org", org)
    ctl.ok("device", "add", "Mayor B", "--org", org)
    ctl.ok("recipient", "add", "Contactpunt", "--webhook",
           "https://incident.example.nl/hook", "--org", org)
    ctl.ok("directory", "sign", "--org", org)
    _, p = verified_payload(org / "directory.signed", org_pub(org))
    assert {d["id"]: d["status"] for d in p["devices"]} == {
        "mayor-a": "active", "mayor-b": "active"}
    cp = ctl.ok("device", "revoke", "mayor-a", "--org", org)
    cp = ctl.ok("directory", "sign", "--org", org)
    assert cp.stdout.splitlines()[0] == (
        "signed directory version 2: 2 devices (1 revoked), 1 recipients")
    _, p = verified_payload(org / "directory.signed", org_pub(org))
    assert {d["id"]: d["status"] for d in p["devices"]} == {
        "mayor-a": "revoked", "mayor-b": "active"}
    ctl.fails(1, "device", "revoke", "nobody", "--org", org)
    cp = ctl.ok("device", "list", "--org", org)
    assert cp.stdout.splitlines() == ["mayor-a\tMayor A\trevoked",
                                      "mayor-b\tMayor B\tactive"]
    ctl.fails(1, "device", "rotate", "mayor-a", "--org", org)


# ---------------------------------------------------------------- recipients


def test_recipient_add_and_rotate(org, ctl):
    ctl.ok("recipient", "add", "Contactpunt", "--webhook",
           "https://incident.example.nl/hook", "--sms", "+31612345678",
           "--org", org)
    key, pub = org / "recipients" / "contactpunt.key", org / "recipients" / "contactpunt.pub"
    assert mode(key) == 0o600
    sk = proto.recipient_private_key(key)
    assert bytes(sk.public_key) == proto.read_keyfile(pub)
    r = entry(org, "recipients", "contactpunt")
    assert r["alias"] == "Contactpunt"
    assert r["channels"] == {"webhook": "https://incident.example.nl/hook",
                             "sms": "+31612345678"}
    assert proto.b64d(r["public_key"]) == bytes(sk.public_key)
    old_text = key.read_text()

    ctl.ok("recipient", "rotate", "contactpunt", "--org", org)
    kept = [p for p in key.parent.iterdir()
            if p.name.startswith("contactpunt.key.")]
    assert len(kept) == 1 and kept[0].name[len("contactpunt.key."):].isdigit()
    assert kept[0].read_text() == old_text, "the old key is kept as it was"
    assert mode(kept[0]) == 0o600
    new_sk = proto.recipient_private_key(key)
    assert key.read_text() != old_text
    r = entry(org, "recipients", "contactpunt")
    assert proto.b64d(r["public_key"]) == bytes(new_sk.public_key)
    assert proto.read_keyfile(pub) == bytes(new_sk.public_key)
    # what was sealed to the old key still opens with the kept file
    box = nacl.public.SealedBox(sk.public_key).encrypt(b"earlier alert")
    assert nacl.public.SealedBox(proto.recipient_private_key(kept[0])).decrypt(box) == b"earlier alert"


def test_recipient_refusals_and_remove(org, ctl):
    ctl.fails(2, "recipient", "add", "Nobody", "--org", org)
    # an implausible number (a national one is taken: test_contactpoint.py)
    cp = ctl.fails(2, "recipient", "add", "Bad", "--sms", "061234567",
                   "--org", org)
    assert "+31612345678" in cp.stderr
    assert not (org / "recipients" / "bad.key").exists(), "no key left behind"
    ctl.ok("recipient", "add", "Oncall", "--sms", "+31612345678", "--org", org)
    cp = ctl.ok("recipient", "list", "--org", org)
    assert cp.stdout.splitlines() == ["oncall\tOncall\tsms +31612345678"]
    ctl.ok("recipient", "remove", "oncall", "--org", org)
    assert source(org)["recipients"] == []
    assert (org / "recipients" / "oncall.key").exists(), "key files stay"
    ctl.fails(1, "recipient", "remove", "oncall", "--org", org)


# ---------------------------------------------------------------- signing


def test_directory_sign_verifies_and_counts_versions(org, tmp_path, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    ctl.ok("recipient", "add", "Contactpunt", "--webhook",
           "https://incident.example.nl/hook", "--org", org)
    out = tmp_path / "published.signed"
    cp = ctl.ok("directory", "sign", "--org", org, "-o", out)
    assert cp.stdout.splitlines()[0] == (
        "signed directory version 1: 1 devices (0 revoked), 1 recipients")
    assert out.read_bytes() == (org / "directory.signed").read_bytes()
    assert mode(org / "directory.signed") == 0o644
    raw, p = verified_payload(org / "directory.signed", org_pub(org))
    assert p["version"] == 1 and source(org)["version"] == 1
    assert time.strptime(p["issued_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert p["relays"] == RELAYS and p["relay_pins"] == [PIN]
    assert [d["id"] for d in p["devices"]] == ["mayor"]
    assert [r["id"] for r in p["recipients"]] == ["contactpunt"]
    # compact, keys sorted
    assert raw == json.dumps(p, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode()
    for n in (2, 3):
        ctl.ok("directory", "sign", "--org", org)
        _, p = verified_payload(org / "directory.signed", org_pub(org))
        assert p["version"] == n and source(org)["version"] == n
    cp = ctl.ok("org", "show", "--org", org)
    assert "version last signed: 3" in cp.stdout
    assert "unsigned changes: no" in cp.stdout
    ctl.ok("device", "add", "Second", "--org", org)
    cp = ctl.ok("org", "show", "--org", org)
    assert "unsigned changes: yes" in cp.stdout


def test_directory_sign_refuses_invalid_source(org, ctl):
    ctl.ok("directory", "sign", "--org", org)
    signed = (org / "directory.signed").read_bytes()
    src = source(org)
    src["devices"].append({"id": "x", "alias": "X", "public_key": "AAAA",
                           "status": "active"})
    (org / "directory.json").write_text(json.dumps(src))
    cp = ctl.fails(1, "directory", "sign", "--org", org)
    assert "public_key" in cp.stderr
    assert (org / "directory.signed").read_bytes() == signed
    assert source(org)["version"] == 1, "no version spent on a refusal"


def test_directory_show(org, tmp_path, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    ctl.ok("recipient", "add", "Contactpunt", "--sms", "+31612345678",
           "--org", org)
    ctl.ok("directory", "sign", "--org", org)
    signed = org / "directory.signed"
    cp = ctl.ok("directory", "show", signed, "--org", org)
    assert "directory version 1," in cp.stdout
    assert "device mayor (Mayor): active" in cp.stdout
    assert "recipient contactpunt (Contactpunt): sms +31612345678" in cp.stdout
    cp = ctl.ok("directory", "show", signed, "--org-key", org_pub(org))
    assert "signature ok" in cp.stdout

    # a flipped byte in the payload
    doc = json.loads(signed.read_text())
    payload = bytearray(proto.b64d(doc["payload"]))
    i = payload.index(b"Mayor")
    payload[i] ^= 0x20  # "Mayor" -> "mayor": still valid JSON
    doc["payload"] = proto.b64e(bytes(payload))
    tampered = tmp_path / "tampered.signed"
    tampered.write_text(json.dumps(doc))
    cp = ctl.fails(1, "directory", "show", tampered, "--org", org)
    assert "signature does not verify" in cp.stderr
    assert cp.stdout == ""

    # the right file with another organisation's key
    other = proto.b64e(bytes(nacl.signing.SigningKey.generate().verify_key))
    cp = ctl.fails(1, "directory", "show", signed, "--org-key", other)
    assert "signature does not verify" in cp.stderr
    ctl.fails(2, "directory", "show", signed, "--org-key", "short")
    ctl.fails(2, "directory", "show", signed, "--org", org, "--org-key",
              org_pub(org))


# ---------------------------------------------------------------- enroll


def test_enroll_writes_config_and_key(org, tmp_path, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    bundle = org / "devices" / "mayor.bundle"
    b = read_bundle(bundle)
    conf_dir = tmp_path / "home" / "conf"
    cp = ctl.ok("enroll", bundle, "--dir", conf_dir)
    assert cp.stdout.splitlines()[0] == "enrolled as mayor (Mayor); relays %s" % (
        ", ".join(RELAYS))
    conf, key = conf_dir / "alertctl.conf", conf_dir / "device.key"
    assert mode(conf_dir) == 0o700
    assert mode(conf) == 0o600 and mode(key) == 0o600
    assert proto.read_keyfile(key) == proto.b64d(b["device_key"])
    proto.device_signing_key(key)  # a whole 64-byte key, as keygen writes
    lines = [l.strip() for l in conf.read_text().splitlines()]
    assert "[client]" in lines
    assert ["relay = %s" % r for r in RELAYS] == [l for l in lines if l.startswith("relay =")]
    assert "relay_pin = %s" % PIN in lines
    assert "device_id = mayor" in lines
    assert "device_key = device.key" in lines
    assert "org_key = %s" % org_pub(org) in lines

    # never over an existing enrollment without --force
    before = (conf.read_bytes(), key.read_bytes())
    ctl.ok("device", "rotate", "mayor", "--org", org)
    cp = ctl.fails(1, "enroll", bundle, "--dir", conf_dir)
    assert "--force" in cp.stderr
    assert (conf.read_bytes(), key.read_bytes()) == before
    ctl.ok("enroll", bundle, "--dir", conf_dir, "--force")
    assert key.read_bytes() != before[1]
    assert proto.read_keyfile(key) == proto.b64d(read_bundle(bundle)["device_key"])
    assert mode(conf) == 0o600 and mode(key) == 0o600


def test_enrolled_configuration_is_accepted(tmp_path, ctl):
    """alertctl reads what enroll wrote: with nothing listening on the
    relay, status fails on the connection, not on the configuration
    (which, broken on purpose, is reported)."""
    org = tmp_path / "org"
    relay = "127.0.0.1:%d" % harness.free_port()
    ctl.ok("org", "init", "--org", org, "--relay", relay, "--pin", PIN)
    ctl.ok("device", "add", "Mayor", "--org", org)
    conf = tmp_path / "conf" / "alertctl.conf"
    ctl.ok("enroll", org / "devices" / "mayor.bundle", "-c", conf)
    alert_id = proto.new_alert_id()
    cp = ctl.fails(1, "-c", conf, "status", alert_id, "--timeout", "1")
    assert str(conf) not in cp.stderr and relay in cp.stderr, cp.stderr
    conf.write_text(conf.read_text() + "bogus = 1\n")
    cp = ctl.fails(1, "-c", conf, "status", alert_id, "--timeout", "1")
    assert str(conf) in cp.stderr and "bogus" in cp.stderr


def test_enroll_default_path(org, tmp_path, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    home = tmp_path / "home"
    home.mkdir()
    ctl.ok("enroll", org / "devices" / "mayor.bundle",
           env={"HOME": str(home), "ALERTCTL_CONF": ""})
    d = home / ".config" / "alertrelay"
    assert mode(d / "alertctl.conf") == 0o600
    assert mode(d / "device.key") == 0o600


def test_enroll_refuses_readable_bundle(org, tmp_path, ctl):
    ctl.ok("device", "add", "Mayor", "--org", org)
    bundle = org / "devices" / "mayor.bundle"
    os.chmod(bundle, 0o644)
    conf_dir = tmp_path / "conf"
    cp = ctl.fails(1, "enroll", bundle, "--dir", conf_dir)
    assert "644" in cp.stderr and "chmod 600" in cp.stderr
    assert not conf_dir.exists()


@pytest.mark.parametrize("damage", ["pk_half", "no_pins", "bad_relay",
                                    "bad_id", "format"])
def test_enroll_refuses_bad_bundle(org, tmp_path, ctl, damage):
    ctl.ok("device", "add", "Mayor", "--org", org)
    b = read_bundle(org / "devices" / "mayor.bundle")
    if damage == "pk_half":
        raw = bytearray(proto.b64d(b["device_key"]))
        raw[40] ^= 1
        b["device_key"] = proto.b64e(bytes(raw))
    elif damage == "no_pins":
        b["relay_pins"] = []
    elif damage == "bad_relay":
        b["relays"] = ["relay.example.nl:7443\nrelay_pin = x"]
    elif damage == "bad_id":
        b["device_id"] = "../mayor"
    else:
        b["alertrelay_enrollment"] = 2
    path = tmp_path / "damaged.bundle"
    path.write_text(json.dumps(b))
    os.chmod(path, 0o600)
    conf_dir = tmp_path / "conf"
    ctl.fails(1, "enroll", path, "--dir", conf_dir)
    assert not (conf_dir / "alertctl.conf").exists()
    assert not (conf_dir / "device.key").exists()


# ---------------------------------------------------------------- reload


def test_reload_without_relay_fails_clearly(ctl):
    port = harness.free_port()
    t0 = time.monotonic()
    cp = ctl.fails(1, "reload", "--admin", "127.0.0.1:%d" % port)
    assert time.monotonic() - t0 < 10
    assert "cannot reach" in cp.stderr and "127.0.0.1:%d" % port in cp.stderr
    assert cp.stdout == ""
    ctl.fails(2, "reload", "--admin", "not an address")
