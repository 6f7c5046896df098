"""alertrelayd tells the people who run it the truth (issue 11, items 5-7):

- Redis down at start is logged at once, with its address and the error,
  then once per 30 s with a count; STATUS= says what the relay waits for;
  READY=1 waits for Redis unless a spool can take alerts meanwhile.
- A reload that changes what only a restart can apply is refused as a
  whole and names those settings (log, POST /reload, alertctl reload).
- `alertrelayd -t` run as root reports a missing `user =` and every file
  the relay reads again once it is that user but cannot, with the fix;
  fatal lines carry their reason (the open-files warning, which now says
  what it needs, is checked in test_limits.py).

Real processes and a real redis-server; the -t checks need root (the
suite runs as root) and use harness.DAEMON_USER as the service user.
"""

import os
import pwd
import re
import signal
import time

import nacl.signing
import pytest

import harness
import proto
from harness import Proc, free_port, wait_until, write_secret
from helpers import authed, device_key, raw_client
from test_hostile_ack import plain
from test_service import NotifySocket

pytestmark = pytest.mark.needs("alertrelayd")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def notify_relay(lab, env, name="alertrelayd-ops"):
    ns = NotifySocket()
    lab.things.append(ns)
    p = Proc([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf], name,
             lab.logdir, env={"NOTIFY_SOCKET": ns.path})
    lab.things.append(p)
    p.start()
    return p, ns


def statuses(ns):
    return [m for _, m in ns.snapshot() if m.startswith("STATUS=")]


# ---------------------------------------------------------------- item 5


@pytest.mark.hard_timeout(120)
def test_redis_down_at_start_is_logged_at_once_then_rate_limited(lab):
    """No Redis at start, no spool: within a second the log names the
    address and the error; STATUS= says the relay waits for Redis; no
    READY=1.  Retries (every 5 s at most) are summed up once per 30 s,
    with a count.  Redis comes: the log says connected, READY=1.
    Before: nothing was logged until Redis came (the failures were at
    debug level), and STATUS= said nothing until then."""
    env = lab.env()
    addr = "127.0.0.1:%d" % env.redis_port
    p, ns = notify_relay(lab, env)
    t0 = time.monotonic()
    p.wait_for(r"redis commands: cannot connect to %s: .*refused.*; retrying"
               % re.escape(addr), timeout=10)
    assert time.monotonic() - t0 < 5
    wait_until(lambda: any("waiting for Redis at %s" % addr in m
                           for m in statuses(ns)), 5, what="STATUS= waiting")
    assert not ns.has("READY=1"), ns.snapshot()

    # the summary line comes after 30 s, with a count; nothing in between
    p.wait_for(r"redis commands: still cannot connect to %s: .*attempts=\d+"
               % re.escape(addr), timeout=45)
    log = p.text()
    for conn in ("commands", "dispatch", "receipts"):
        n = len(re.findall(r"redis %s: (still )?cannot connect" % conn, log))
        assert 1 <= n <= 2, "%d lines for %s in ~30 s:\n%s" % (n, conn, log)
    assert not ns.has("READY=1")

    lab.redis(env)
    p.wait_for(r"redis connected \(commands\) to %s after \d+ failed attempts"
               % re.escape(addr), timeout=15)
    wait_until(lambda: ns.has("READY=1"), 10, what="READY=1")
    wait_until(lambda: any("accepting alerts" in m for m in statuses(ns)), 5,
               what="STATUS= accepting")


@pytest.mark.hard_timeout(60)
def test_ready_at_once_with_a_spool_while_redis_is_down(lab):
    """With spool_dir the relay takes alerts while Redis is down, so it is
    ready as soon as it listens, and STATUS= says it waits for Redis.
    Before: READY=1 waited for Redis, with a spool too (a start failed
    by TimeoutStartSec= although alerts could be accepted)."""
    env = lab.env()
    spool = env.dir / "spool"
    spool.mkdir()
    env.relay["spool_dir"] = spool
    env.write_relay_conf()
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    p, ns = notify_relay(lab, env)
    wait_until(lambda: ns.has("READY=1"), 10, what="READY=1 with a spool")
    assert "redis connected" not in p.text()
    assert any("waiting for Redis at 127.0.0.1:%d" % env.redis_port in m and
               "spool" in m for m in statuses(ns)), statuses(ns)
    lab.redis(env)
    p.wait_for(r"redis connected \(commands\)", timeout=15)
    wait_until(lambda: any("accepting alerts" in m for m in statuses(ns)), 5,
               what="STATUS= accepting")
    assert len(ns.has("READY=1")) == 1


# ---------------------------------------------------------------- item 6


def admin_conf(env, port, token_path):
    """env's configuration, rewritten, with an [admin] section."""
    env.write_relay_conf()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                % (port, token_path))
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)


@pytest.mark.hard_timeout(90)
def test_reload_refuses_what_only_a_restart_applies(lab):
    """A new listen address and Redis prefix, together with a new device:
    SIGHUP and POST /reload are refused, naming the two settings, and
    nothing changes (the device stays unknown, the old port answers).
    Reverting them lets the same reload through.  Before: the reload
    reported success (the new device was taken, the listen change was
    silently not applied)."""
    env = lab.env()
    port = free_port()
    tok = harness.new_token()
    token = write_secret(env.dir / "admin.token", tok)
    admin_conf(env, port, token)
    lab.redis(env)
    relay = lab.relay(env)
    auth = {"Authorization": "Bearer " + tok}

    newkey = nacl.signing.SigningKey.generate()
    env.extra_devices["mayor-b"] = (proto.b64e(bytes(newkey.verify_key)), "B")
    old_listen = env.relay["listen"]
    env.relay["listen"] = "127.0.0.1:%d" % free_port()
    env.redis["prefix"] = "elsewhere"
    admin_conf(env, port, token)

    n = len(relay.proc.snapshot("stderr"))
    relay.proc.signal(signal.SIGHUP)
    line = relay.proc.wait_for(r"reload refused", timeout=10, start=n).string
    want = "restart needed for: [relay] listen, [redis] prefix"
    assert want in line, line
    status, body = plain(port, "POST", "/reload", headers=auth, body=b"")
    assert status == 409 and want in body, (status, body)
    cp = harness.run([harness.alertctl_bin(), "reload", "--admin",
                      "127.0.0.1:%d" % port, "--token-file", token], timeout=30)
    assert cp.returncode != 0 and want in cp.stderr, cp.stdout + cp.stderr
    # the relay's own lines for the three (SIGHUP, POST, alertctl) in
    # before looking for a reload taken
    harness.wait_until(lambda: len([l for l in relay.proc.snapshot("stderr")[n:]
                                    if "reload refused" in l]) >= 3, 10,
                       what="three reloads refused in the log")
    assert "reloaded" not in relay.log()
    with raw_client(env) as c:  # env.relay_port: the old port
        # not enrolled: answered as a wrong key (docs/PROTOCOL.md)
        assert c.auth("mayor-b", newkey)["code"] == "auth_failed"

    # only what a reload can apply: taken
    env.relay["listen"] = old_listen
    env.redis["prefix"] = "alertrelay"
    admin_conf(env, port, token)
    status, body = plain(port, "POST", "/reload", headers=auth, body=b"")
    assert status == 200 and '"ok":true' in body, body
    with raw_client(env) as c:
        assert c.auth("mayor-b", newkey)["type"] == "ready"


@pytest.mark.hard_timeout(60)
def test_reload_applies_new_rate_limits(lab):
    """Rates and bursts are tuning knobs one turns during an attack: a
    reload applies them (sessions per device here).  Before: the token
    buckets kept the values of the start, while the reload said
    "reloaded"."""
    env, redis, relay, _ = lab.stack()
    assert env.relay["device_conn_rate"] == 0  # no limit at start
    env.relay.update({"device_conn_rate": 6, "device_conn_burst": 3})
    env.write_relay_conf()
    n = len(relay.proc.snapshot("stderr"))
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"configuration reloaded", timeout=10, start=n)
    for _ in range(3):
        with authed(env) as c:
            assert c.request({"type": "ping"}) == {"type": "pong"}
    with raw_client(env) as c:
        ans = c.auth(env.device_id, device_key(env))
        assert ans.get("code") == "rate_limited", ans


# ---------------------------------------------------------------- item 7


def config_test(conf, env=None):
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", conf],
                     timeout=20, env=env)
    return cp.returncode, cp.stdout + cp.stderr


def root_owned(path, mode=0o600):
    os.chown(path, 0, 0)
    os.chmod(path, mode)


def daemon_owned(path):
    pw = pwd.getpwnam(harness.DAEMON_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)


@needs_root
def test_config_test_as_root_wants_a_user(lab):
    """Started as root without `user =` the relay refuses to run; -t says
    so.  Before: -t printed "configuration OK"."""
    env = lab.env()
    del env.relay["user"]
    env.write_relay_conf()
    rc, out = config_test(env.relay_conf)
    assert rc == 1, out
    assert "user is not set" in out and "configuration OK" not in out, out


@needs_root
@pytest.mark.parametrize("which", ["webhook_secret", "tls_key", "admin_token",
                                   "configuration", "tls_cert"])
def test_config_test_checks_files_as_the_service_user(lab, which):
    """A file the relay reads again at every reload, readable by root
    only: -t fails, naming the file, the user and the fix (for secrets,
    also cred:NAME with LoadCredential=); readable by the user: OK.
    Before: "configuration OK", and every reload then failed."""
    env = lab.env()
    if which == "admin_token":
        token = write_secret(env.dir / "admin.token", harness.new_token())
        daemon_owned(token)
        with open(env.relay_conf, "a") as f:
            f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                    % (free_port(), token))
    path = {"webhook_secret": env.recipient("contactpunt").secret_file,
            "tls_key": env.tls_key, "admin_token": env.dir / "admin.token",
            "configuration": env.relay_conf, "tls_cert": env.cert}[which]
    rc, out = config_test(env.relay_conf)
    assert rc == 0, out
    mode = os.stat(path).st_mode & 0o777
    root_owned(path, 0o600)
    rc, out = config_test(env.relay_conf)
    assert rc == 1, out
    user = harness.DAEMON_USER
    lines = [l for l in out.splitlines() if str(path) in l and "cannot read" in l]
    assert lines, out
    line = lines[0]
    assert "user %s" % user in line and "reload" in line, line
    if which in ("webhook_secret", "tls_key", "admin_token"):
        assert "chown %s %s" % (user, path) in line and "chmod 600" in line, line
        assert "LoadCredential=" in line and "cred:NAME" in line, line
    else:
        assert "chgrp %s %s" % (user, path) in line, line
    assert "configuration OK" not in out
    daemon_owned(path)
    os.chmod(path, mode)
    rc, out = config_test(env.relay_conf)
    assert rc == 0, out


@needs_root
def test_config_test_checks_the_spool_dir_and_the_start_says_why(lab):
    """A spool_dir only root can write: -t fails (the start would), and the
    start's last line says why it exits.  Before: -t said OK and the start
    ended on "cannot use spool_dir DIR" without the reason."""
    env = lab.env()
    spool = env.dir / "spool"
    spool.mkdir()
    env.relay["spool_dir"] = spool
    env.write_relay_conf()
    root_owned(spool, 0o700)
    rc, out = config_test(env.relay_conf)
    assert rc == 1, out
    assert re.search(r"%s: \[relay\] spool_dir: user %s cannot write to it"
                     % (re.escape(str(spool)), harness.DAEMON_USER), out), out
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
                  "alertrelayd-spool")
    # 78: what no restart changes (alertrelayd(8), EXIT STATUS)
    assert p.wait_exit(15) == 78
    last = [l for l in p.snapshot("stderr") if l][-1]
    assert "fatal:" in last and "cannot use spool_dir" in last, last
    assert "Permission denied" in last, last
    daemon_owned(spool)
    rc, out = config_test(env.relay_conf)
    assert rc == 0, out


@needs_root
def test_start_as_root_warns_of_a_file_a_reload_cannot_read(lab):
    """The start as root reads everything as root and runs; the file a
    reload will not be able to read is named in a warning at once."""
    env = lab.env()
    secret = env.recipient("oncall-1").secret_file
    root_owned(secret)
    lab.redis(env)
    relay = lab.relay(env)
    assert re.search(r"warning: %s: \[recipient oncall-1\] webhook_secret_file: "
                     r"user %s cannot read it" % (re.escape(str(secret)),
                                                  harness.DAEMON_USER),
                     relay.log()), relay.log()


@needs_root
@pytest.mark.parametrize("key", ["webhook_secret_file", "ack_token_file",
                                 "token_file", "tls_key"])
def test_file_keys_accept_a_credential(lab, key, tmp_path):
    """cred:NAME is $CREDENTIALS_DIRECTORY/NAME (systemd's LoadCredential=),
    for every *_file key and the TLS key; -t as root checks it like any
    file."""
    env = lab.env()
    creds = env.dir / "creds"
    creds.mkdir()
    text = env.relay_conf.read_text()
    if key == "webhook_secret_file":
        src = env.recipient("contactpunt").secret_file
        text = text.replace("webhook_secret_file = %s" % src,
                            "webhook_secret_file = cred:cp.whsec")
        os.rename(src, creds / "cp.whsec")
    elif key == "tls_key":
        text = text.replace("tls_key = %s" % env.tls_key, "tls_key = cred:tls")
        os.rename(env.tls_key, creds / "tls")
    elif key == "ack_token_file":
        write_secret(creds / "ack", harness.new_token())
        text = text.replace("[recipient contactpunt]",
                            "[recipient contactpunt]\nack_token_file = cred:ack")
    else:
        write_secret(creds / "admin", harness.new_token())
        text += "\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = cred:admin\n" % (
            free_port())
    assert "cred:" in text
    env.relay_conf.write_text(text)
    harness.hand_to_daemon_user(env.dir)
    rc, out = config_test(env.relay_conf, env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert rc == 0, out
    rc, out = config_test(env.relay_conf, env={"CREDENTIALS_DIRECTORY": ""})
    assert rc == 1 and "LoadCredential=" in out, out
    # only root can read the credential: -t says so
    for f in creds.iterdir():
        root_owned(f)
    rc, out = config_test(env.relay_conf, env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert rc == 1 and "cannot read it" in out, out


@needs_root
def test_fatal_lines_carry_their_reason(lab):
    """The last line of a start that fails says why: a configuration
    error, no user as root.  Before: "exiting" alone, or the error only
    on lines above."""
    env = lab.env()
    text = env.relay_conf.read_text()
    env.relay_conf.write_text(text + "\n[delivery]\nno_such_key = 1\n")
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
                  "alertrelayd-badconf")
    assert p.wait_exit(10) == 1
    last = [l for l in p.snapshot("stderr") if l][-1]
    assert "fatal:" in last and "no_such_key" in last, last

    del env.relay["user"]
    env.write_relay_conf()
    lab.redis(env)
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
                  "alertrelayd-nouser")
    assert p.wait_exit(10) == 1
    last = [l for l in p.snapshot("stderr") if l][-1]
    assert "fatal:" in last and "refusing to run as root" in last, last
