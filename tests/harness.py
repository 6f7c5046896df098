"""Test harness for alertrelay: real processes on private loopback ports.

Tests import everything from here; the code lives in these modules, all
re-exported by this one:

  harness_proc   Proc (a child process with line readers, bounded waits,
                 stop/kill), run, on_terminal (a program on a pty),
                 free_port, wait_until
  harness_redis  RedisServer (a private redis-server, AOF, appendfsync
                 always) and Resp (a tiny RESP client, no python3-redis)
  harness_env    Env and Recipient (keys, certificate, configuration
                 files), make_cert, openssl_pin, write_secret
  harness_http   WebhookRecorder (a Python HTTP receiver that answers as
                 told and records every attempt: headers, body, signature
                 check), https_request, http_request
  harness_sms    DeviceSession (a RawClient that keeps pushed receipts),
                 SmsClock (when each SMS reached the phones), the SMS texts

Here, with everything that runs alertrelayd or alertctl or reads
DAEMON_USER (tests monkeypatch harness.alertrelayd_bin, alertctl_bin and
DAEMON_USER, so whatever reads them must stay in this module):

  make_env       keys, certificate, configuration files in a directory
                 (scripts/dev-setup uses the same code: dev_setup_main)
  Relay          alertrelayd: start, wait for ready, kill -9, restart
  Receiver       `alertctl receive` with its JSON lines
  Lab            everything one test started, stopped at teardown
  sms_stack      redis + Kannel + alertrelayd with the ack listener, SMS
                 recipients and escalation policies (SmsStack)

Every wait has a timeout and every loop a bound.  Only processes started
here are ever signalled, by PID.
"""

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness_env import (DEVICE_ALIAS, DEVICE_ID, RECIPIENTS, Env, Recipient,
                         _check, _ini_keys, _py_keygen, _write_secret,
                         make_cert, new_token, openssl_pin, secret_mode_ok,
                         write_secret)
from harness_http import (WebhookRecorder, http_request, https_request,
                          tls13_context)
from harness_proc import (_HANDED_OUT, _STARTED, _STARTED_LOCK, Proc,
                          ProcessExited, _ephemeral_range, free_port,
                          free_ports, on_terminal, run, run_cpu,
                          stop_all_started, traced_env, wait_until)
from harness_redis import RedisError, RedisServer, Resp
from harness_sms import (SIGCTX_CANCEL, SMS_FROM, SMS_NUMBERS, SMS_TYPES,
                         DeviceSession, SmsClock, cancel_frame, device_session,
                         sms_alert_text, sms_cancelled_rx, sms_confirmed_text,
                         sms_hhmm, sms_taken_rx)

# Everything tests and scripts may take from here, whichever module it
# lives in (the underscore names too: tests use some of them).
__all__ = [
    # harness_proc
    "_HANDED_OUT", "_STARTED", "_STARTED_LOCK", "Proc", "ProcessExited",
    "_ephemeral_range", "free_port", "free_ports", "on_terminal", "run", "run_cpu", "stop_all_started", "traced_env", "wait_until",
    # harness_redis
    "RedisError", "RedisServer", "Resp",
    # harness_env
    "DEVICE_ALIAS", "DEVICE_ID", "RECIPIENTS", "Env", "Recipient", "_check",
    "_ini_keys", "_py_keygen", "_write_secret", "make_cert", "new_token",
    "openssl_pin", "secret_mode_ok", "write_secret",
    # harness_http
    "WebhookRecorder", "http_request", "https_request", "tls13_context",
    # harness_sms
    "SIGCTX_CANCEL", "SMS_FROM", "SMS_NUMBERS", "SMS_TYPES", "DeviceSession",
    "SmsClock", "cancel_frame", "device_session", "sms_alert_text",
    "sms_cancelled_rx", "sms_confirmed_text", "sms_hhmm", "sms_taken_rx",
    # this module
    "ROOT", "SANITIZER_MARKS", "build_dir", "alertrelayd_bin", "alertctl_bin",
    "keygen", "pin_of", "default_keygen", "DAEMON_USER", "hand_to_daemon_user",
    "make_env", "Relay", "Receiver", "Lab", "SmsStack", "sms_stack",
    "dev_setup_main",
]

ROOT = Path(__file__).resolve().parent.parent

# alertctl speaks Dutch unless told otherwise (common/i18n.h).  The suite's
# tests check alertctl's English messages (the msgids) on purpose, so every
# process they start gets LANGUAGE=en; test_words.py runs alertctl in Dutch
# (and English) by passing its own environment.
os.environ["LANGUAGE"] = "en"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "UndefinedBehaviorSanitizer")


def build_dir():
    return Path(os.environ.get("ALERTRELAY_BUILD", ROOT / "build"))


def alertrelayd_bin():
    return str(build_dir() / "alertrelayd")


def alertctl_bin():
    return str(build_dir() / "alertctl")


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


# ---------------------------------------------------------------- relay


def wait_redis_ready(proc, timeout):
    """Waits until the relay holds both Redis connections it needs before it
    takes requests (commands and dispatch): the first "redis connected" line
    alone leaves a moment in which the relay answers 503."""
    for name in ("commands", "dispatch"):
        proc.wait_for(r"redis connected \(%s\)" % name, "stderr", timeout)


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
            wait_redis_ready(self.proc, timeout)
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
                 secret=None, devices=None, keys=None, extra=()):
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
        argv += list(extra)
        self.proc = Proc(argv, "receive-%s" % rid, logdir)

    def start(self, timeout=10):
        self.proc.start()
        self.proc.wait_for(r"listening on|luistert op", "stderr", timeout)
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
              extra_devices=None, start=True, report_url=None, ack=None):
    """redis + Kannel (bearerbox, smsbox, fakesmsc) + alertrelayd with the
    ack listener (HTTPS and plain), a Kannel gateway whose sms-service
    get-url points at the daemon, webhook recorders for every recipient,
    an SMS number for those in `sms` and an ack token for those in
    `tokens`.  policies: {name: {"types": ..., "tier": [...], ...}}.
    recorders: {rid: WebhookRecorder keywords}.  report_url: the
    gateway's report_url (delivery reports); "relay" for the daemon's own
    plain listener, None for none.  ack: more [ack] keys."""
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
    env.ack.update(ack or {})
    env.delivery.setdefault("timezone", "Europe/Amsterdam")
    env.gateways = {"kannel": {
        "type": "kannel", "url": k.sendsms_url, "username": k.username,
        "password_file": env.dir / "kannel.pass", "from": SMS_FROM,
        "mo_token_file": env.dir / "kannel.mo"}}
    if report_url:
        env.gateways["kannel"]["report_url"] = (
            "http://127.0.0.1:%d/v1/sms/kannel/report" % plain_port
            if report_url == "relay" else report_url)
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
