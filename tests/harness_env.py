"""Test harness, setup files: Recipient and Env (keys, certificate and
both configuration files; make_env in tests/harness.py fills one in),
the relay certificate and its pin, keys made in Python, secret files.
scripts/dev-setup uses the same code.  Part of tests/harness.py, which
re-exports everything here.
"""

import copy
import os
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness_proc import free_port, run

DEVICE_ID = "mayor-a"
DEVICE_ALIAS = "Burgemeester-A"
RECIPIENTS = [("contactpunt", "Contactpunt"), ("oncall-1", "Dienstdoende-1")]


@dataclass
class Recipient:
    id: str
    alias: str
    key: Path
    pub: Path
    public_key: str
    secret_file: Path
    webhook_port: int
    webhook_path: str = "/hook"

    @property
    def secret_text(self):
        return self.secret_file.read_text().strip()

    @property
    def webhook_url(self):
        return "http://127.0.0.1:%d%s" % (self.webhook_port, self.webhook_path)


def _ini_keys(keys):
    """key = value lines; a list value gives the key once per item
    (tier = ... lines of a policy)."""
    out = []
    for k, v in keys.items():
        for one in (v if isinstance(v, (list, tuple)) else [v]):
            out.append("%s = %s" % (k, one))
    return out


@dataclass
class Env:
    dir: Path
    relay_port: int
    redis_port: int
    cert: Path
    tls_key: Path
    pin: str
    device_id: str
    device_key: Path
    device_pub: Path
    device_public_key: str
    devices_dir: Path
    recipients: dict
    relay_conf: Path
    client_conf: Path
    relay: dict = field(default_factory=dict)
    redis: dict = field(default_factory=dict)
    delivery: dict = field(default_factory=dict)
    extra_devices: dict = field(default_factory=dict)
    # Optional sections; when empty nothing is written for them.
    ack: dict = field(default_factory=dict)  # [ack] listen, listen_plain
    gateways: dict = field(default_factory=dict)  # name -> {key: value|[values]}
    recipient_extra: dict = field(default_factory=dict)  # rid -> {key: value}
    policies: dict = field(default_factory=dict)  # name -> {key: value|[values]}
    sections: dict = field(default_factory=dict)  # [name] -> {key: value}
    # Directory mode (docs/DIRECTORY.md): set by use_directory().
    org: object = None  # orgdir.Org
    directory: Path = None  # the relay's signed directory file
    client_directory: Path = None  # the client's cache of it
    # Signed acknowledgements (test_signed_ack.py): rid -> base64 Ed25519
    # sign_key, did -> base64 X25519 box_key, put in the directory.
    sign_keys: dict = field(default_factory=dict)
    box_keys: dict = field(default_factory=dict)

    def recipient(self, rid):
        return self.recipients[rid]

    def directory_payload(self, version, revoked=(), recipients=None,
                          keys=None, retired=None, pins=None, removed=()):
        """The payload for this environment's device(s) and recipients.
        keys: rid -> substitute public key; retired: did -> list of
        {public_key, until}; removed: device ids left out."""
        import orgdir
        devices = {self.device_id: (self.device_public_key, DEVICE_ALIAS)}
        devices.update(self.extra_devices)
        devs = []
        for did, (pk, alias) in sorted(devices.items()):
            if did in removed:
                continue
            e = {"id": did, "alias": alias, "public_key": pk,
                 "status": "revoked" if did in revoked else "active"}
            if retired and did in retired:
                e["retired_keys"] = retired[did]
            if did in self.box_keys:
                e["box_key"] = self.box_keys[did]
            devs.append(e)
        rcps = []
        for rid in (recipients or list(self.recipients)):
            r = self.recipients[rid]
            e = {"id": rid, "alias": r.alias,
                 "public_key": (keys or {}).get(rid, r.public_key),
                 "channels": {"webhook": r.webhook_url}}
            if rid in self.sign_keys:
                e["sign_key"] = self.sign_keys[rid]
            rcps.append(e)
        return orgdir.payload(version, devs, rcps,
                              relays=["127.0.0.1:%d" % self.relay_port],
                              pins=pins or [self.pin])

    def sign_directory(self, version, signer=None, path=None, **kw):
        """Writes a signed directory (by the org, or by signer) to path
        (default: the relay's) and returns its text."""
        text = (signer or self.org).sign(self.directory_payload(version, **kw))
        path = Path(path or self.directory)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return text

    def use_directory(self, version=1, **kw):
        """Switches both configurations to a signed directory."""
        import orgdir
        self.org = self.org or orgdir.Org()
        self.directory = self.dir / "directory.signed"
        self.client_directory = self.dir / "client-directory.signed"
        self.sign_directory(version, **kw)
        self.write_relay_conf()
        self.write_client_conf()

    def another_instance(self, instance_id):
        """A copy for another alertrelayd on the same Redis and recipients,
        with its own instance_id, port and configuration file (written)."""
        other = copy.copy(self)
        other.relay = dict(self.relay, instance_id=instance_id)
        other.relay_port = free_port()
        other.relay["listen"] = "127.0.0.1:%d" % other.relay_port
        other.relay_conf = self.dir / ("%s.conf" % instance_id)
        other.write_relay_conf(other.relay_conf)
        return other

    def write_relay_conf(self, path=None):
        path = Path(path or self.relay_conf)
        lines = ["; alertrelayd configuration written by the test harness",
                 "[relay]"]
        lines += ["%s = %s" % kv for kv in self.relay.items()]
        lines += ["", "[redis]"]
        lines += ["%s = %s" % kv for kv in self.redis.items()]
        lines += ["", "[delivery]"]
        lines += ["%s = %s" % kv for kv in self.delivery.items()]
        if self.ack:
            lines += ["", "[ack]"]
            lines += ["%s = %s" % kv for kv in self.ack.items()]
        if self.directory is not None:
            lines[2:2] = ["directory = %s" % self.directory,
                          "org_key = %s" % self.org.public_key]
        devices = {self.device_id: (self.device_public_key, DEVICE_ALIAS)}
        devices.update(self.extra_devices)
        for did, (pk, alias) in devices.items():
            if self.directory is not None:
                break  # devices come from the directory
            lines += ["", "[device %s]" % did, "public_key = %s" % pk,
                      "alias = %s" % alias]
        for name, keys in self.gateways.items():
            lines += ["", "[gateway %s]" % name] + _ini_keys(keys)
        for r in self.recipients.values():
            if self.directory is not None:
                lines += ["", "[recipient %s]" % r.id,
                          "webhook_secret_file = %s" % r.secret_file]
            else:
                lines += ["", "[recipient %s]" % r.id, "alias = %s" % r.alias,
                          "public_key = %s" % r.public_key,
                          "webhook_url = %s" % r.webhook_url,
                          "webhook_secret_file = %s" % r.secret_file]
            lines += _ini_keys(self.recipient_extra.get(r.id, {}))
        for name, keys in self.policies.items():
            lines += ["", "[policy %s]" % name] + _ini_keys(keys)
        for name, keys in self.sections.items():
            lines += ["", "[%s]" % name] + _ini_keys(keys)
        path.write_text("\n".join(lines) + "\n")
        return path

    def write_client_conf(self, path=None, device_id=None, device_key=None,
                          recipients=None, relay_port=None, pin=None,
                          outbox=True):
        """outbox: True for DIR/outbox, a path, or False for none (then
        alertctl falls back to ~/.local/state)."""
        path = Path(path or self.client_conf)
        lines = ["; alertctl configuration written by the test harness",
                 "[client]",
                 "relay = 127.0.0.1:%d" % (relay_port or self.relay_port),
                 "relay_pin = %s" % (pin or self.pin),
                 "device_id = %s" % (device_id or self.device_id),
                 "device_key = %s" % (device_key or self.device_key)]
        if outbox is True:
            outbox = self.dir / "outbox"
        if outbox:
            lines.append("outbox = %s" % outbox)
        if self.directory is not None:
            lines += ["org_key = %s" % self.org.public_key,
                      "directory = %s" % self.client_directory]
            path.write_text("\n".join(lines) + "\n")
            return path
        for rid in (recipients or list(self.recipients)):
            lines += ["", "[recipient %s]" % rid,
                      "public_key = %s" % self.recipients[rid].public_key]
        path.write_text("\n".join(lines) + "\n")
        return path


def _check(cp, what):
    if cp.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s%s" % (
            what, cp.returncode, cp.stdout, cp.stderr))
    return cp


def make_cert(d):
    cert, key = Path(d) / "relay.crt", Path(d) / "relay.key"
    old = os.umask(0o077)
    try:
        _check(run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "365",
                    "-subj", "/CN=alertrelay-dev",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]),
               "openssl req")
    finally:
        os.umask(old)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def openssl_pin(cert):
    """base64 SHA-256 of the certificate's SubjectPublicKeyInfo."""
    cp = subprocess.run(
        "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER"
        " | openssl dgst -sha256 -binary | base64" % cert,
        shell=True, capture_output=True, text=True, timeout=20)
    _check(cp, "pin via openssl")
    return cp.stdout.strip()


def _write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def _py_keygen(kind, target):
    import base64
    import nacl.public
    import nacl.signing
    b64 = lambda b: base64.b64encode(bytes(b)).decode()  # noqa: E731
    if kind == "device":
        sk = nacl.signing.SigningKey.generate()
        pk = bytes(sk.verify_key)
        _write_secret(str(target) + ".key", b64(bytes(sk) + pk))
    elif kind == "recipient":
        sk = nacl.public.PrivateKey.generate()
        pk = bytes(sk.public_key)
        _write_secret(str(target) + ".key", b64(bytes(sk)))
    else:  # webhook-secret
        _write_secret(str(target), "whsec_" + b64(os.urandom(32)))
        return None
    Path(str(target) + ".pub").write_text(b64(pk) + "\n")
    return b64(pk)


def secret_mode_ok(path):
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def write_secret(path, text):
    """text in path with mode 0600 (created or overwritten)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return Path(path)


def new_token():
    import secrets
    return secrets.token_urlsafe(24)
