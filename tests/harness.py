"""Test harness for alertrelay: real processes on private loopback ports.

  Proc           a child process with line readers, bounded waits, stop/kill
  RedisServer    a private redis-server (AOF, appendfsync always)
  Resp           a tiny RESP client (no python3-redis needed)
  Env / make_env keys, certificate, configuration files (scripts/dev-setup
                 uses the same code)
  Relay          alertrelayd: start, wait for ready, kill -9, restart
  Receiver       `alertctl receive` with its JSON lines
  WebhookRecorder a Python HTTP receiver that answers as told and records
                 every attempt (headers, body, signature check)
  Lab            everything one test started, stopped at teardown
  sms_stack      redis + Kannel + alertrelayd with the ack listener, SMS
                 recipients and escalation policies (SmsStack); with
                 DeviceSession (a RawClient that keeps pushed receipts)
                 and SmsClock (when each SMS reached the phones)

Every wait has a timeout and every loop a bound.  Only processes started
here are ever signalled, by PID.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE_ID = "mayor-a"
DEVICE_ALIAS = "Burgemeester-A"
RECIPIENTS = [("contactpunt", "Contactpunt"), ("oncall-1", "Dienstdoende-1")]
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "UndefinedBehaviorSanitizer")


def build_dir():
    return Path(os.environ.get("ALERTRELAY_BUILD", ROOT / "build"))


def alertrelayd_bin():
    return str(build_dir() / "alertrelayd")


def alertctl_bin():
    return str(build_dir() / "alertctl")


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_HANDED_OUT = set()  # ports given by free_port() in this run, never twice


def free_port():
    """A port nothing listens on right now, outside the kernel's ephemeral range.

    Binding to port 0 would pick from the ephemeral range, which every outgoing
    connection (curl, TLS clients, Redis clients) also draws its local port
    from: between this call and the server's bind, a client can take the port
    and the server fails with "Address already in use". Ports below the range
    are never handed out implicitly, so only explicit binds compete for them.
    Each port is handed out once per run, so two servers never get the same.
    """
    lo, _ = _ephemeral_range()
    first, last = (20000, lo - 1) if lo > 21000 else (1024, 65535)
    pick = random.SystemRandom()
    for _ in range(2000):
        port = pick.randint(first, last)
        if port in _HANDED_OUT:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port found in %d..%d" % (first, last))


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until true; returns its value or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- processes

_STARTED = []  # every Proc ever started, for the end-of-session safety net
_STARTED_LOCK = threading.Lock()


def stop_all_started():
    with _STARTED_LOCK:
        procs = list(_STARTED)
    for p in procs:
        p.stop(timeout=3)


class ProcessExited(Exception):
    pass


class Proc:
    """A child process whose stdout and stderr are read line by line into
    memory and into log files."""

    def __init__(self, argv, name, logdir, env=None, stdin=subprocess.DEVNULL):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.logdir = Path(logdir)
        self.env = env
        self.stdin = stdin
        self.popen = None
        self.lines = {"stdout": [], "stderr": []}
        self.cond = threading.Condition()
        self.threads = []
        self.paused = False

    def start(self):
        self.logdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.popen = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, stdin=self.stdin,
                                      env=env, start_new_session=True)
        with _STARTED_LOCK:
            _STARTED.append(self)
        for stream in ("stdout", "stderr"):
            t = threading.Thread(target=self._reader, args=(stream,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _reader(self, stream):
        f = getattr(self.popen, stream)
        path = self.logdir / ("%s.%s.log" % (self.name, stream))
        with open(path, "ab") as log:
            for raw in iter(f.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self.cond:
                    self.lines[stream].append(line)
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def text(self, stream="stderr"):
        with self.cond:
            return "\n".join(self.lines[stream])

    def snapshot(self, stream):
        with self.cond:
            return list(self.lines[stream])

    def wait_for(self, pattern, stream="stderr", timeout=10, start=0):
        """Waits for a line matching pattern (from line index start);
        returns the match.  Raises if the process exits first or on timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                lines = self.lines[stream]
                while i < len(lines):
                    m = rx.search(lines[i])
                    if m:
                        return m
                    i += 1
                if self.popen.poll() is not None and all(
                        not t.is_alive() for t in self.threads):
                    raise ProcessExited("%s exited (%s) before /%s/ on %s:\n%s" % (
                        self.name, self.popen.returncode, pattern, stream,
                        self.tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%s: no /%s/ on %s within %ss:\n%s" % (
                        self.name, pattern, stream, timeout, self.tail()))
                self.cond.wait(min(left, 0.2))

    def wait_exit(self, timeout):
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self.threads:
            t.join(2)
        return rc

    def signal(self, sig):
        if self.running():
            os.kill(self.popen.pid, sig)

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def kill(self):
        """SIGKILL and reap."""
        if self.popen is None:
            return None
        self.signal(signal.SIGKILL)
        return self.wait_exit(10)

    def stop(self, timeout=5):
        """SIGTERM, SIGKILL after timeout; returns the exit status."""
        if self.popen is None:
            return None
        if self.running():
            if self.paused:
                self.resume()
            self.signal(signal.SIGTERM)
            rc = self.wait_exit(timeout)
            if rc is not None:
                return rc
            self.signal(signal.SIGKILL)
        return self.wait_exit(10)

    def tail(self, n=40):
        out = []
        for stream in ("stderr", "stdout"):
            lines = self.snapshot(stream)
            if lines:
                out.append("--- %s %s (last %d of %d lines)" % (
                    self.name, stream, min(n, len(lines)), len(lines)))
                out.extend(lines[-n:])
        return "\n".join(out)


def run(argv, timeout=30, env=None, input=None):
    """Runs a short command to completion; never longer than timeout."""
    full = dict(os.environ)
    if env:
        full.update(env)
    return subprocess.run([str(a) for a in argv], capture_output=True,
                          timeout=timeout, env=full, input=input, text=True)


# ---------------------------------------------------------------- redis


class RedisError(Exception):
    pass


class Resp:
    """Minimal RESP2 client, enough for the tests' reads."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise RedisError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("unexpected reply %r" % line)

    # conveniences
    def xrange(self, key):
        """[(id, {field: value})]"""
        return [(eid, dict(zip(kv[::2], kv[1::2])))
                for eid, kv in (self("XRANGE", key, "-", "+") or [])]

    def hgetall(self, key):
        kv = self("HGETALL", key) or []
        return dict(zip(kv[::2], kv[1::2]))

    def dump_all_text(self):
        """Every key and every value in the database, as one string
        (for checks that some text was never stored)."""
        parts = []
        for key in self("KEYS", "*"):
            parts.append(key)
            kind = self("TYPE", key)
            if kind == "string":
                parts.append(self("GET", key) or "")
            elif kind == "hash":
                parts.extend(self("HGETALL", key))
            elif kind == "list":
                parts.extend(self("LRANGE", key, 0, -1))
            elif kind == "set":
                parts.extend(self("SMEMBERS", key))
            elif kind == "zset":
                parts.extend(self("ZRANGE", key, 0, -1))
            elif kind == "stream":
                for eid, fields in self.xrange(key):
                    parts.append(eid)
                    for k, v in fields.items():
                        parts.extend((k, v))
        return "\n".join(str(p) for p in parts)


class RedisServer:
    def __init__(self, workdir, port=None, name="redis"):
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.name = name
        self.proc = None
        self.procs = []

    def start(self, timeout=10):
        argv = ["redis-server", "--port", self.port, "--bind", "127.0.0.1",
                "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--dir", self.dir, "--daemonize", "no",
                "--logfile", "", "--protected-mode", "yes"]
        self.proc = Proc(argv, self.name, self.dir.parent / "logs").start()
        self.procs.append(self.proc)
        self.proc.wait_for(r"Ready to accept connections", "stdout", timeout)
        wait_until(self._pings, timeout, what="redis PING")
        return self

    def _pings(self):
        try:
            c = Resp(self.port, timeout=1)
            try:
                return c("PING") == "PONG"
            finally:
                c.close()
        except OSError:
            return False

    def client(self):
        return Resp(self.port)

    def stop(self):
        return self.proc.stop() if self.proc else None

    def kill(self):
        return self.proc.kill() if self.proc else None

    def pause(self):
        self.proc.pause()

    def resume(self):
        self.proc.resume()


# ---------------------------------------------------------------- setup


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
    # Directory mode (docs/DIRECTORY.md): set by use_directory().
    org: object = None  # orgdir.Org
    directory: Path = None  # the relay's signed directory file
    client_directory: Path = None  # the client's cache of it

    def recipient(self, rid):
        return self.recipients[rid]

    def directory_payload(self, version, revoked=(), recipients=None,
                          keys=None, retired=None, pins=None):
        """The payload for this environment's device(s) and recipients.
        keys: rid -> substitute public key; retired: did -> list of
        {public_key, until}."""
        import orgdir
        devices = {self.device_id: (self.device_public_key, DEVICE_ALIAS)}
        devices.update(self.extra_devices)
        devs = []
        for did, (pk, alias) in sorted(devices.items()):
            e = {"id": did, "alias": alias, "public_key": pk,
                 "status": "revoked" if did in revoked else "active"}
            if retired and did in retired:
                e["retired_keys"] = retired[did]
            devs.append(e)
        rcps = []
        for rid in (recipients or list(self.recipients)):
            r = self.recipients[rid]
            rcps.append({"id": rid, "alias": r.alias,
                         "public_key": (keys or {}).get(rid, r.public_key),
                         "channels": {"webhook": r.webhook_url}})
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


def keygen(kind, target, how):
    """kind: device|recipient|webhook-secret; returns the public key text."""
    if how == "python":
        return _py_keygen(kind, target)
    _check(run([alertctl_bin(), "keygen", kind, target]), "alertctl keygen " + kind)
    if kind == "webhook-secret":
        return None
    return Path(str(target) + ".pub").read_text().strip()


def pin_of(cert, how):
    if how == "python":
        return openssl_pin(cert)
    return _check(run([alertctl_bin(), "pin", cert]), "alertctl pin").stdout.strip()


def default_keygen():
    """alertctl's keygen when alertctl exists, else the same formats from
    Python (so the daemon's tests do not wait for the client)."""
    return "alertctl" if os.access(alertctl_bin(), os.X_OK) else "python"


DAEMON_USER = "nobody"


def hand_to_daemon_user(d):
    """Makes d readable by DAEMON_USER, as /etc/alertrelay is by the
    service user: the tree is chowned to it, and the directories above
    it get the search bit only (nothing becomes listable)."""
    import pwd
    pw = pwd.getpwnam(DAEMON_USER)
    d = Path(d).resolve()
    for root, dirs, files in os.walk(d):
        for name in [root] + [os.path.join(root, f) for f in dirs + files]:
            os.chown(name, pw.pw_uid, pw.pw_gid)
    for parent in d.parents:
        if parent == Path("/tmp") or parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, (mode & 0o7777) | 0o001)


def make_env(d, relay_port=None, redis_port=None, webhook_ports=None,
             how=None, relay=None, delivery=None, redis_prefix="alertrelay"):
    """Creates keys, certificate and both configuration files in d."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    how = how or default_keygen()
    webhook_ports = list(webhook_ports or [])
    cert, tls_key = make_cert(d)
    pin = pin_of(cert, how)
    device_pk = keygen("device", d / DEVICE_ID, how)
    devices = d / "devices"
    devices.mkdir(exist_ok=True)
    shutil.copyfile(d / (DEVICE_ID + ".pub"), devices / (DEVICE_ID + ".pub"))
    recipients = {}
    for i, (rid, alias) in enumerate(RECIPIENTS):
        pk = keygen("recipient", d / rid, how)
        keygen("webhook-secret", d / (rid + ".whsec"), how)
        port = webhook_ports[i] if i < len(webhook_ports) else free_port()
        recipients[rid] = Recipient(rid, alias, d / (rid + ".key"),
                                    d / (rid + ".pub"), pk, d / (rid + ".whsec"),
                                    port)
    env = Env(dir=d, relay_port=relay_port or free_port(),
              redis_port=redis_port or free_port(), cert=cert, tls_key=tls_key,
              pin=pin, device_id=DEVICE_ID, device_key=d / (DEVICE_ID + ".key"),
              device_pub=d / (DEVICE_ID + ".pub"), device_public_key=device_pk,
              devices_dir=devices, recipients=recipients,
              relay_conf=d / "alertrelayd.conf", client_conf=d / "alertctl.conf")
    env.relay = {"listen": "127.0.0.1:%d" % env.relay_port,
                 "instance_id": "relay-a", "tls_cert": cert, "tls_key": tls_key,
                 "max_frame": 65536, "auth_timeout": 10, "log_level": "info",
                 # tests send bursts from one address and one device; the
                 # limits have their own tests (test_limits.py)
                 "conn_rate": 0, "alert_rate": 0, "device_conn_rate": 0,
                 "addr_alert_rate": 0}
    if os.geteuid() == 0:
        # alertrelayd refuses to stay root: it drops to this user once its
        # ports are bound and keys loaded, and re-reads files as that user
        # when reloading.
        env.relay["user"] = DAEMON_USER
        hand_to_daemon_user(d)
    env.relay.update(relay or {})
    env.redis = {"address": "127.0.0.1:%d" % env.redis_port,
                 "prefix": redis_prefix}
    env.delivery = {"connect_timeout": 5, "request_timeout": 10,
                    "retry_initial_ms": 500, "retry_max_ms": 30000}
    env.delivery.update(delivery or {})
    env.write_relay_conf()
    env.write_client_conf()
    return env


def secret_mode_ok(path):
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


# ---------------------------------------------------------------- relay


class Relay:
    def __init__(self, env, logdir, debug=False, name="alertrelayd"):
        self.env = env
        self.logdir = logdir
        self.debug = debug
        self.name = name
        self.procs = []
        self.proc = None

    def start(self, timeout=15, wait_redis=True):
        argv = [alertrelayd_bin(), "-c", self.env.relay_conf,
                "-d" if self.debug else "-f"]
        self.proc = Proc(argv, "%s.%d" % (self.name, len(self.procs)),
                         self.logdir).start()
        self.procs.append(self.proc)
        self.proc.wait_for(r"listening on 127\.0\.0\.1:%d" % self.env.relay_port,
                           "stderr", timeout)
        if wait_redis:
            self.proc.wait_for(r"redis connected", "stderr", timeout)
        return self

    restart = start

    def kill9(self):
        return self.proc.kill()

    def stop(self, timeout=10):
        return self.proc.stop(timeout)

    def log(self):
        """Everything every incarnation wrote (stdout and stderr)."""
        return "\n".join(p.text("stderr") + "\n" + p.text("stdout")
                         for p in self.procs)


# ---------------------------------------------------------------- receivers


class Receiver:
    """`alertctl receive` for one recipient."""

    def __init__(self, env, rid, logdir, pretty=False, port=None, key=None,
                 secret=None, devices=None, keys=None):
        r = env.recipient(rid)
        self.port = port or r.webhook_port
        self.rid = rid
        argv = [alertctl_bin(), "receive", "--listen", "127.0.0.1:%d" % self.port,
                "--secret", secret or r.secret_file]
        for k in (keys or [key or r.key]):
            argv += ["--key", k]
        if env.directory is not None and devices is None:
            # device keys from the signed directory, as the relay's
            argv += ["--directory", env.directory,
                     "--org-key", env.org.public_key]
        else:
            argv += ["--devices", devices or env.devices_dir]
        if pretty:
            argv.append("--pretty")
        self.proc = Proc(argv, "receive-%s" % rid, logdir)

    def start(self, timeout=10):
        self.proc.start()
        self.proc.wait_for(r"listening on", "stderr", timeout)
        return self

    def alerts(self):
        return [json.loads(l) for l in self.proc.snapshot("stdout") if l.strip()]

    def wait_alerts(self, n, timeout=15):
        wait_until(lambda: len(self.proc.snapshot("stdout")) >= n, timeout,
                   what="%d alert line(s) from receive-%s:\n%s" % (
                       n, self.rid, self.proc.tail()))
        return self.alerts()

    def stop(self):
        return self.proc.stop()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port


class WebhookRecorder:
    """A webhook receiver in Python: answers with `statuses` in turn (then
    `default`), optionally after `delays` seconds, and records every attempt."""

    def __init__(self, secret_text, statuses=(), default=200, delays=(),
                 port=0):
        from proto import whsec_key
        self.key = whsec_key(secret_text)
        self.statuses = list(statuses)
        self.default = default
        self.delays = list(delays)
        self.attempts = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 1 << 20))
                with rec.lock:
                    i = len(rec.attempts)
                    status = rec.statuses[i] if i < len(rec.statuses) else rec.default
                    delay = rec.delays[i] if i < len(rec.delays) else 0
                    rec.attempts.append(rec._record(self, body, status))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    def _record(self, handler, body, status):
        from proto import webhook_verify
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        return {"time": time.monotonic(), "path": handler.path,
                "headers": headers, "body": body, "json": parsed,
                "sig_ok": webhook_verify(self.key, headers, body),
                "status": status}

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def snapshot(self):
        with self.lock:
            return list(self.attempts)

    def wait_attempts(self, n, timeout=15):
        wait_until(lambda: len(self.snapshot()) >= n, timeout,
                   what="%d webhook attempt(s) (have %d)" % (n, len(self.snapshot())))
        return self.snapshot()


# ---------------------------------------------------------------- lab


class Lab:
    """What one test starts; close() stops it all, in reverse order."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.logdir = self.tmp / "logs"
        self.things = []
        self.short_runs = []  # (argv, stderr) of commands run to completion

    def env(self, **kw):
        return make_env(self.tmp / "env", **kw)

    def redis(self, env=None, **kw):
        r = RedisServer(self.tmp, port=env.redis_port if env else None, **kw)
        self.things.append(r)
        return r.start()

    def relay(self, env, debug=False, start=True):
        r = Relay(env, self.logdir, debug=debug)
        self.things.append(r)
        return r.start() if start else r

    def receiver(self, env, rid, **kw):
        r = Receiver(env, rid, self.logdir, **kw)
        self.things.append(r)
        return r.start()

    def recorder(self, secret_text, **kw):
        r = WebhookRecorder(secret_text, **kw)
        self.things.append(r)
        return r.start()

    def recorder_for(self, env, rid, **kw):
        """A WebhookRecorder on the port env's relay config names for rid."""
        r = env.recipient(rid)
        return self.recorder(r.secret_text, port=r.webhook_port, **kw)

    def stack(self, env=None, debug=False, receivers=(), **envkw):
        """redis + relay (+ alertctl receive for the named recipients)."""
        env = env or self.env(**envkw)
        redis = self.redis(env)
        relay = self.relay(env, debug=debug)
        recv = {rid: self.receiver(env, rid) for rid in receivers}
        return env, redis, relay, recv

    def spawn(self, argv, name):
        p = Proc(argv, name, self.logdir)
        self.things.append(p)
        return p.start()

    def send_proc(self, env, *args, conf=None, name="send"):
        argv = [alertctl_bin(), "-c", conf or env.client_conf, "send"] + list(args)
        return self.spawn(argv, name)

    def send(self, env, *args, conf=None, timeout=30):
        """alertctl send to completion; returns (rc, stdout lines, stderr)."""
        argv = [alertctl_bin(), "-c", conf or env.client_conf, "send"] + list(args)
        cp = run(argv, timeout=timeout)
        self.short_runs.append((argv, cp.stderr))
        self.logdir.mkdir(parents=True, exist_ok=True)
        with open(self.logdir / "send.log", "a") as f:
            f.write("$ %s\n[exit %d]\n%s--- stderr\n%s\n" % (
                " ".join(map(str, argv)), cp.returncode, cp.stdout, cp.stderr))
        return cp.returncode, cp.stdout.splitlines(), cp.stderr

    def procs(self):
        out = []
        for t in self.things:
            if isinstance(t, Proc):
                out.append(t)
            elif isinstance(t, (RedisServer, Relay)):
                out.extend(t.procs)
            elif isinstance(t, Receiver):
                out.append(t.proc)
        return out

    def logs(self, n=60):
        return "\n".join(p.tail(n) for p in self.procs() if p.popen)

    def sanitizer_reports(self):
        bad = []
        for p in self.procs():
            if p.popen is None:
                continue
            text = p.text("stderr")
            if any(m in text for m in SANITIZER_MARKS):
                bad.append("%s:\n%s" % (p.name, p.tail(80)))
        for argv, err in self.short_runs:
            if any(m in err for m in SANITIZER_MARKS):
                bad.append("%s:\n%s" % (" ".join(map(str, argv)), err[-6000:]))
        return bad

    def close(self):
        for t in reversed(self.things):
            try:
                t.stop()
            except Exception as e:  # keep stopping the others
                print("harness: stopping %r: %s" % (t, e))


# ---------------------------------------------------------------- escalation
#
# Helpers for the tests of recipients, SMS, escalation and
# acknowledgements: a stack with Kannel (tests/kannel.py) as the SMS
# gateway, the ack listener, policies; a device session that keeps the
# receipts the relay pushes; timestamps of the SMS the phones receive.

SMS_FROM = "+3197010000000"  # the gateway's number
SMS_NUMBERS = {"contactpunt": "+31600000001", "oncall-1": "+31600000002"}


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


class SmsClock:
    """Records when each SMS first showed up at the phones (fakesmsc),
    polling every 20 ms in a thread: [(monotonic time, Sms)]."""

    def __init__(self, kannel, interval=0.02):
        self.kannel = kannel
        self.interval = interval
        self.seen = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self.stopping.is_set():
            msgs = self.kannel.mt_messages()
            now = time.monotonic()
            with self.lock:
                for m in msgs[len(self.seen):]:
                    self.seen.append((now, m))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)

    def snapshot(self, to=None, pred=None):
        with self.lock:
            out = list(self.seen)
        return [(t, m) for t, m in out
                if (to is None or m.receiver == to) and (pred is None or pred(m))]

    def wait(self, n=1, to=None, pred=None, timeout=15):
        """The first n (time, Sms) to `to` matching pred, within timeout."""
        wait_until(lambda: len(self.snapshot(to, pred)) >= n, timeout,
                   interval=0.02,
                   what="%d SMS to %s (have %s)" % (
                       n, to or "anyone",
                       [(m.receiver, m.text) for _, m in self.snapshot()]))
        return self.snapshot(to, pred)[:n]


class DeviceSession:
    """A RawClient after ready that keeps every frame the relay sends, so
    answers can be waited for while receipts keep arriving."""

    def __init__(self, client, env, device_id=None, signing_key=None):
        self.c = client
        self.env = env
        self.device_id = device_id or env.device_id
        self.key = signing_key
        self.frames = []
        self.taken = set()

    def _match(self, pred, take, start=0):
        for i, f in enumerate(self.frames):
            if i >= start and i not in self.taken and pred(f):
                if take:
                    self.taken.add(i)
                return f
        return None

    def wait(self, pred, timeout=10, what="frame", take=True, start=0):
        """The first frame (from index start) not yet taken that
        matches pred."""
        from proto import Closed
        deadline = time.monotonic() + timeout
        while True:
            f = self._match(pred, take, start)
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s within %ss; frames: %s" % (
                    what, timeout, self.frames))
            try:
                self.frames.append(self.c.recv_frame(min(left, 0.5)))
            except TimeoutError:
                pass
            except Closed as e:
                raise Closed("%s; waiting for %s; frames: %s" % (
                    e, what, self.frames))

    def drain(self, seconds):
        """Reads whatever comes for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.frames.append(self.c.recv_frame(
                    max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                pass
        return self.frames

    def receipts(self, alert_id, event=None):
        return [f for f in self.frames if f.get("type") == "receipt" and
                f.get("alert_id") == alert_id and
                (event is None or f.get("event") == event)]

    def wait_receipt(self, alert_id, event, timeout=10, **members):
        def pred(f):
            return (f.get("type") == "receipt" and
                    f.get("alert_id") == alert_id and f.get("event") == event
                    and all(f.get(k) == v for k, v in members.items()))
        return self.wait(pred, timeout, what="receipt %s %s %s" % (
            event, alert_id, members), take=False)

    def request(self, frame, answer_types, timeout=10):
        """Sends frame; returns the first later frame whose type is one
        of answer_types (receipts in between are kept)."""
        mark = len(self.frames)
        self.c.send_frame(frame)
        return self.wait(lambda f: f.get("type") in answer_types, timeout,
                         what="answer %s to %s" % (answer_types,
                                                   frame.get("type")),
                         start=mark)

    def send_alert(self, alert_type="panic", message=None, recipients=None,
                   timeout=10):
        """A new alert through this session; returns the accepted frame
        (alert_id, relay_id, ref, ...)."""
        from proto import b64d, build_alert
        pks = {rid: b64d(self.env.recipients[rid].public_key)
               for rid in (recipients or list(self.env.recipients))}
        frame, _, alert_id = build_alert(self.key, self.device_id, pks,
                                         alert_type=alert_type,
                                         message=message)
        acc = self.request(frame, ("accepted", "error"), timeout)
        assert acc.get("type") == "accepted" and acc.get("alert_id") == alert_id, acc
        return acc

    def cancel(self, alert_id, created_at=None, timeout=10):
        """A signed cancel; returns the relay's answer (cancelled or
        error)."""
        return self.request(cancel_frame(self.key, self.device_id, alert_id,
                                         created_at),
                            ("cancelled", "error"), timeout)

    def close(self):
        self.c.close()


SIGCTX_CANCEL = b"alertrelay cancel v1\n"


def cancel_frame(signing_key, device_id, alert_id, created_at=None):
    """{"type":"cancel","cancel":B64(CANCEL_JSON),"sig":B64(SIG)} as in
    docs/PROTOCOL.md: compact JSON with sorted keys, signed with the
    cancel context."""
    from proto import b64e, rfc3339_now
    body = json.dumps({"alert_id": alert_id,
                       "created_at": created_at or rfc3339_now(),
                       "device_id": device_id, "v": 1},
                      separators=(",", ":"), sort_keys=True).encode()
    sig = signing_key.sign(SIGCTX_CANCEL + body).signature
    return {"type": "cancel", "cancel": b64e(body), "sig": b64e(sig)}


def device_session(env, device_id=None, key_path=None, signing_key=None,
                   timeout=10):
    """hello/auth/ready as the enrolled device (or another one)."""
    from proto import RawClient, device_signing_key
    key = signing_key or device_signing_key(key_path or env.device_key)
    did = device_id or env.device_id
    c = RawClient(env.relay_port, timeout=timeout)
    try:
        c.hello()
        ready = c.auth(did, key)
        assert ready.get("type") == "ready" and ready.get("device_id") == did, ready
    except Exception:
        c.close()
        raise
    return DeviceSession(c, env, did, key)


def tls13_context(cafile):
    """Client context for the ack listener: TLS 1.3 only, trusting only
    the relay's own certificate, hostname (IP SAN) checked."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile=str(cafile))
    ctx.check_hostname = True
    return ctx


def https_request(port, method, path, headers=None, body=None, cafile=None,
                  timeout=10, context=None):
    """One HTTPS request to 127.0.0.1:port; returns (status, parsed JSON
    or None, raw body, TLS version, the peer's DER certificate)."""
    import http.client
    ctx = context or tls13_context(cafile)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                       context=ctx)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        version = conn.sock.version()
        peer = conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return resp.status, parsed, raw, version, peer


def http_request(port, method, path, timeout=10):
    """One plain HTTP request to 127.0.0.1:port: (status, JSON or None)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, None


@dataclass
class SmsStack:
    env: Env
    redis: "RedisServer"
    relay: "Relay"
    kannel: object
    sms: SmsClock
    recorders: dict  # rid -> WebhookRecorder
    ack_port: int
    plain_port: int
    mo_token: str
    tokens: dict  # rid -> ack token
    token_files: dict  # rid -> Path

    @property
    def prefix(self):
        return self.env.redis["prefix"]

    def r(self):
        return self.redis.client()

    def alert_hash(self, alert_id):
        c = self.r()
        try:
            return c.hgetall("%s:alert:%s" % (self.prefix, alert_id))
        finally:
            c.close()

    def events(self, alert_id):
        c = self.r()
        try:
            return [json.loads(e) for e in
                    c("LRANGE", "%s:events:%s" % (self.prefix, alert_id), 0, -1)]
        finally:
            c.close()

    def timers(self):
        """{member: score} of the timers zset."""
        c = self.r()
        try:
            kv = c("ZRANGE", self.prefix + ":timers", 0, -1, "WITHSCORES") or []
        finally:
            c.close()
        return {m: int(float(s)) for m, s in zip(kv[::2], kv[1::2])}

    def deadletters(self):
        c = self.r()
        try:
            return c.xrange(self.prefix + ":deadletter")
        finally:
            c.close()

    def ack(self, alert_id, token, **kw):
        """POST /v1/alerts/ID/ack with a Bearer token: (status, JSON)."""
        headers = {"Content-Length": "0"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        st, body, _, _, _ = https_request(
            self.ack_port, "POST", "/v1/alerts/%s/ack" % alert_id,
            headers=headers, body=b"", cafile=self.env.cert, **kw)
        return st, body

    def mo_requests(self):
        """What smsbox's get-url calls to the daemon got back, from its
        access log: [(sender, HTTP status)]."""
        path = self.kannel.dir / "smsbox-access.log"
        if not path.exists():
            return []
        rx = re.compile(r"SMS HTTP-request sender:(\S+) .* reply: (\d+) ")
        return [(m.group(1), int(m.group(2)))
                for m in map(rx.search, path.read_text(errors="replace")
                             .splitlines()) if m]

    def sms_reply(self, rid_or_number, text, timeout=15):
        """An SMS from a phone to the gateway's number, through Kannel;
        returns the HTTP status the daemon answered smsbox's get-url
        with (once smsbox logged it)."""
        number = SMS_NUMBERS.get(rid_or_number, rid_or_number)
        before = len(self.mo_requests())
        self.kannel.inject_mo(number, SMS_FROM, text)
        wait_until(lambda: len(self.mo_requests()) > before, timeout,
                   what="smsbox to call the daemon's get-url:\n%s" %
                   self.kannel.smsbox.tail(10))
        sender, status = self.mo_requests()[before]
        assert sender == number, (sender, number)
        return status

    def webhooks(self, rid, type_=None, alert_id=None):
        """Recorded webhook attempts to rid (JSON bodies), optionally of
        one event type and alert."""
        return [a for a in self.recorders[rid].snapshot()
                if (type_ is None or (a["json"] or {}).get("type") == type_)
                and (alert_id is None or
                     (a["json"] or {}).get("alert_id") == alert_id)]

    def wait_webhook(self, rid, type_, alert_id, n=1, timeout=15):
        wait_until(lambda: len(self.webhooks(rid, type_, alert_id)) >= n,
                   timeout, interval=0.02,
                   what="%d %s webhook(s) to %s (have %s)" % (
                       n, type_, rid,
                       [(a["json"] or {}).get("type")
                        for a in self.recorders[rid].snapshot()]))
        return self.webhooks(rid, type_, alert_id)

    def session(self, **kw):
        return device_session(self.env, **kw)


def sms_stack(lab, policies, delivery=None, relay=None, recorders=None,
              sms=("contactpunt", "oncall-1"), tokens=("contactpunt",),
              extra_devices=None, start=True):
    """redis + Kannel (bearerbox, smsbox, fakesmsc) + alertrelayd with the
    ack listener (HTTPS and plain), a Kannel gateway whose sms-service
    get-url points at the daemon, webhook recorders for every recipient,
    an SMS number for those in `sms` and an ack token for those in
    `tokens`.  policies: {name: {"types": ..., "tier": [...], ...}}.
    recorders: {rid: WebhookRecorder keywords}."""
    import kannel as kannel_mod
    missing = kannel_mod.available()
    if missing:
        raise RuntimeError("Kannel " + missing)
    env = lab.env(delivery=delivery, relay=relay)
    recs = {}
    for rid, r in env.recipients.items():
        recs[rid] = lab.recorder(r.secret_text, **(recorders or {}).get(rid, {}))
        r.webhook_port = recs[rid].port
    ack_port, plain_port = free_port(), free_port()
    mo_token = new_token()
    k = kannel_mod.Kannel(
        lab.tmp / "kannel", lab.logdir, register=lab.things.append,
        # the MO token as the password of HTTP Basic (Kannel sends
        # user:password@ of a get-url so), never in the query string
        mo_url="http://kannel:%s@127.0.0.1:%d/v1/sms/kannel?from=%%p&text=%%a"
        % (mo_token, plain_port))
    write_secret(env.dir / "kannel.pass", k.password)
    write_secret(env.dir / "kannel.mo", mo_token)
    env.ack = {"listen": "127.0.0.1:%d" % ack_port,
               "listen_plain": "127.0.0.1:%d" % plain_port}
    env.delivery.setdefault("timezone", "Europe/Amsterdam")
    env.gateways = {"kannel": {
        "type": "kannel", "url": k.sendsms_url, "username": k.username,
        "password_file": env.dir / "kannel.pass", "from": SMS_FROM,
        "mo_token_file": env.dir / "kannel.mo"}}
    toks, token_files = {}, {}
    for rid in env.recipients:
        extra = {}
        if rid in sms:
            extra.update(sms=SMS_NUMBERS[rid], sms_gateway="kannel")
        if rid in tokens:
            toks[rid] = new_token()
            token_files[rid] = write_secret(env.dir / ("%s.ack" % rid), toks[rid])
            extra["ack_token_file"] = token_files[rid]
        env.recipient_extra[rid] = extra
    env.policies = policies
    env.extra_devices.update(extra_devices or {})
    if os.geteuid() == 0:
        hand_to_daemon_user(env.dir)
    env.write_relay_conf()
    k.start()
    clock = SmsClock(k).start()
    lab.things.append(clock)
    redis = lab.redis(env)
    rl = lab.relay(env, start=False)
    if start:
        rl.start()
        rl.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % plain_port,
                         "stderr", 10)
    return SmsStack(env, redis, rl, k, clock, recs, ack_port, plain_port,
                    mo_token, toks, token_files)


SMS_TYPES = {"nl": {"panic": "PANIEK", "threat": "DREIGING", "test": "TEST"},
             "en": {"panic": "PANIC", "threat": "THREAT", "test": "TEST"}}


def sms_hhmm(rfc3339, tz="Europe/Amsterdam"):
    """HH:MM of an RFC 3339 UTC time, in tz, as the SMS texts show it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    t = datetime.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
    return t.strftime("%H:%M")


def sms_alert_text(alert_type, alias, ref, received_at,
                   tz="Europe/Amsterdam", escalated=False, language="nl"):
    """The SMS an alert gives with the built-in templates, written from
    the issue: metadata only, Dutch unless language = en."""
    head = "%s %s - %s - %s - ref %s." % (
        "ALARM" if language == "nl" else "ALERT",
        SMS_TYPES[language].get(alert_type, alert_type.upper()), alias,
        sms_hhmm(received_at, tz), ref)
    if language == "nl":
        return head + "%s Antwoord OK %s als u het oppakt." % (
            " Nog niet opgepakt." if escalated else "", ref)
    return head + "%s Reply OK %s if you take it." % (
        " Not taken yet." if escalated else "", ref)


def sms_taken_rx(ref, by, language="nl"):
    """What the others reached are sent when by took the alert."""
    if language == "nl":
        return r"Alarm %s is opgepakt door %s \(\d\d:\d\d\)\. U hoeft niets " \
               r"te doen\." % (ref, re.escape(by))
    return r"Alert %s was taken by %s \(\d\d:\d\d\)\. No action needed\." % (
        ref, re.escape(by))


def sms_confirmed_text(ref, language="nl"):
    """What the one who took the alert by SMS is sent."""
    if language == "nl":
        return "Bevestigd: u hebt alarm %s opgepakt." % ref
    return "Confirmed: you have taken alert %s." % ref


def sms_cancelled_rx(ref, language="nl"):
    if language == "nl":
        return r"Alarm %s is ingetrokken \(\d\d:\d\d\)\. U hoeft niets te " \
               r"doen\." % ref
    return r"Alert %s was cancelled \(\d\d:\d\d\)\. No action needed\." % ref


# ---------------------------------------------------------------- dev-setup


def dev_setup_main(argv):
    import argparse
    ap = argparse.ArgumentParser(
        prog="dev-setup",
        description="Create keys, a relay certificate and configuration for "
                    "a local alertrelay (relay, one device, two recipients).")
    ap.add_argument("dir")
    ap.add_argument("--relay-port", type=int, default=7443)
    ap.add_argument("--redis-port", type=int, default=6379)
    ap.add_argument("--webhook-port", type=int, nargs="+", action="extend",
                    default=[], help="one per recipient (contactpunt, oncall-1)")
    ap.add_argument("--python-keygen", action="store_true",
                    help="generate keys with PyNaCl instead of alertctl")
    a = ap.parse_args(argv)
    ports = list(a.webhook_port) or [8081]
    while len(ports) < len(RECIPIENTS):
        ports.append(ports[-1] + 1)
    d = Path(a.dir)
    if (d / "alertrelayd.conf").exists():
        ap.error("%s already holds a setup; use an empty directory" % d)
    how = "python" if a.python_keygen else "alertctl"
    if how == "alertctl" and not os.access(alertctl_bin(), os.X_OK):
        ap.error("%s not found: build first (make) or set ALERTRELAY_BUILD"
                 % alertctl_bin())
    env = make_env(d, relay_port=a.relay_port, redis_port=a.redis_port,
                   webhook_ports=ports, how=how)
    (d / "redis").mkdir(exist_ok=True)
    print("dev-setup: created in %s" % d)
    print("  relay       %s  (127.0.0.1:%d, pin %s)" % (env.relay_conf,
                                                       env.relay_port, env.pin))
    print("  redis       127.0.0.1:%d, data in %s" % (env.redis_port, d / "redis"))
    print("  device      %s  key %s" % (env.device_id, env.device_key))
    print("  client      %s" % env.client_conf)
    for r in env.recipients.values():
        print("  recipient   %-12s key %s  secret %s  webhook %s" % (
            r.id, r.key, r.secret_file, r.webhook_url))
    print("  devices dir %s" % env.devices_dir)
    return 0
