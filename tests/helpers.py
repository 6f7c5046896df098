"""Small helpers shared by the test modules."""

import json
import os
import re
import socket
import time

import nacl.public
import nacl.signing

import harness
import proto

ACCEPTED_RX = re.compile(
    r"^accepted alert_id=([0-9a-f]{32}) relay_id=(\S+?)( \(duplicate\))?$")


def device_key(env):
    return proto.device_signing_key(env.device_key)


def device_verify_key(env):
    return nacl.signing.VerifyKey(proto.b64d(env.device_public_key))


def recipient_pks(env, ids=None):
    return {rid: proto.b64d(env.recipients[rid].public_key)
            for rid in (ids or env.recipients)}


def recipient_sk(env, rid):
    return proto.recipient_private_key(env.recipients[rid].key)


def raw_client(env, **kw):
    return proto.RawClient(env.relay_port, **kw)


def authed(env, timeout=5):
    """A RawClient that completed hello/auth/ready as the enrolled device."""
    c = raw_client(env, timeout=timeout)
    hello = c.hello()
    assert hello.get("type") == "hello", hello
    ready = c.auth(env.device_id, device_key(env))
    assert ready == {"type": "ready", "device_id": env.device_id} or (
        ready.get("type") == "ready" and ready.get("device_id") == env.device_id), ready
    return c


def parse_send(lines):
    """(alert_id from the first line, accepted match or None)."""
    assert lines, "alertctl send printed nothing on stdout"
    m = re.match(r"^alert_id=([0-9a-f]{32})$", lines[0])
    assert m, "first line is not alert_id=<32 hex>: %r" % lines[0]
    acc = None
    for l in lines:
        acc = ACCEPTED_RX.match(l) or acc
    return m.group(1), acc


def send_ok(lab, env, *args, **kw):
    """alertctl send that must be accepted; returns (alert_id, relay_id, lines)."""
    rc, lines, err = lab.send(env, *args, **kw)
    assert rc == 0, "alertctl send exit %d\nstdout: %s\nstderr: %s" % (
        rc, lines, err)
    alert_id, acc = parse_send(lines)
    assert acc, "no 'accepted alert_id=... relay_id=...' line: %r" % lines
    assert acc.group(1) == alert_id, (alert_id, acc.group(0))
    assert lines[-1] == acc.group(0), "accepted must be the last line: %r" % lines
    return alert_id, acc.group(2), lines


def stream_alert_ids(r, env):
    prefix = env.redis["prefix"]
    return [f.get("alert_id") for _, f in r.xrange(prefix + ":alerts")]


def deliveries_added(r, env):
    """How many delivery entries were ever added (delivered ones may be
    deleted from the stream, so XLEN is not the count)."""
    info = r("XINFO", "STREAM", env.redis["prefix"] + ":deliveries")
    return int(dict(zip(info[::2], info[1::2]))["entries-added"])


def still(pred_value, seconds, interval=0.1):
    """Samples a value for `seconds`; returns every distinct value seen."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = pred_value()
        if v not in seen:
            seen.append(v)
        time.sleep(interval)
    return seen


def loads_lines(lines):
    return [json.loads(l) for l in lines if l.strip()]


__all__ = ["harness", "proto"]


def enrollment_bundle(env, directory_text, path):
    """An enrollment bundle as `alertctl device add` writes it for env's
    device: relay, pin, organisation key and the signed directory."""
    b = {"alertrelay_enrollment": 1, "device_id": env.device_id,
         "alias": harness.DEVICE_ALIAS,
         "device_key": env.device_key.read_text().strip(),
         "relays": ["127.0.0.1:%d" % env.relay_port],
         "relay_pins": [env.pin], "org_key": env.org.public_key,
         "directory": directory_text}
    path.write_text(json.dumps(b, indent=1))
    os.chmod(path, 0o600)
    return path


class AdminStack:
    """redis + a relay with an [admin] listener and its token, for the
    tests of the administrator's commands (audit, retention)."""

    def start_admin(self, lab, env, sections=""):
        """Appends [admin] (a fresh token in admin.token) and the config
        text sections to the relay's configuration, then starts redis and
        the relay and waits for the admin listener."""
        self.admin_port = harness.free_port()
        self.token = harness.new_token()
        self.token_file = harness.write_secret(env.dir / "admin.token",
                                               self.token)
        with open(env.relay_conf, "a") as f:
            f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                    % (self.admin_port, self.token_file) + sections)
        if os.geteuid() == 0:
            harness.hand_to_daemon_user(env.dir)
        self.env = env
        self.lab = lab
        self.redis = lab.redis(env)
        self.relay = lab.relay(env)
        self.relay.proc.wait_for(r"admin listening", timeout=10)

    def r(self):
        return self.redis.client()

    def ctl(self, *args, admin=True):
        argv = [harness.alertctl_bin(), "-c", self.env.client_conf] + \
            list(args)
        if admin:
            argv += ["--admin", "127.0.0.1:%d" % self.admin_port,
                     "--token-file", str(self.token_file)]
        cp = harness.run(argv, timeout=30)
        self.lab.short_runs.append((argv, cp.stderr))
        return cp


def alert_hash(lab, env, aid):
    """The alert's hash in the Redis the test started, as a dict."""
    redis = [t for t in lab.things if isinstance(t, harness.RedisServer)][0]
    c = redis.client()
    try:
        h = c("HGETALL", "%s:alert:%s" % (env.redis["prefix"], aid))
    finally:
        c.close()
    return dict(zip(h[::2], h[1::2]))


def join_oncall_2(env):
    """The organisation signs directory 3, where oncall-2 (a new key and
    webhook secret) has joined the recipients left in env, and the relay's
    configuration follows it."""
    how = harness.default_keygen()
    pk = harness.keygen("recipient", env.dir / "oncall-2", how)
    harness.keygen("webhook-secret", env.dir / "oncall-2.whsec", how)
    env.recipients["oncall-2"] = harness.Recipient(
        "oncall-2", "Dienstdoende-2", env.dir / "oncall-2.key",
        env.dir / "oncall-2.pub", pk, env.dir / "oncall-2.whsec",
        harness.free_port())
    env.sign_directory(3)
    env.write_relay_conf()
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)


def reload_one_relay(env, relay):
    """The client's directory follows the relay's (version 3), and one
    relay is reloaded with it (SIGHUP), not any other: that one is behind
    (tests/test_checkin_stale_relay.py, test_delivery_stale_relay.py)."""
    import signal
    env.sign_directory(3, path=env.client_directory)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    n = len(relay.proc.snapshot("stderr"))
    os.kill(relay.proc.pid, signal.SIGHUP)
    relay.proc.wait_for("configuration reloaded", "stderr", 10, start=n)


def shut(socks):
    """Shuts each socket both ways (whatever state it is in): a thread
    blocked reading it wakes, and its peer sees the close."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pipe(src, dst, chunks=None):
    """One direction of a TCP proxy in a test: copies src to dst (each
    piece also appended to chunks, if given) until either ends, then
    shuts both, so that the other direction ends too."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if chunks is not None:
                chunks.append(data)
            dst.sendall(data)
    except OSError:
        pass
    shut((src, dst))
