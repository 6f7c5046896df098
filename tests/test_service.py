"""alertrelayd as a service: the systemd unit and its sandbox, `make
install`/`uninstall`, versions, `alertrelayd -t`, the admin listener
(/metrics parsed by a real Prometheus parser, /healthz), sd_notify,
journald priority prefixes, and logs that are key=value and hold no
secrets.

Real processes and a real redis-server, as everywhere in this suite.
Needs systemd-analyze (Debian package systemd) and prometheus_client
(Debian package python3-prometheus-client).
"""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest

import harness
import proto
from harness import Proc, free_port, wait_until
from helpers import ACCEPTED_RX, authed, raw_client, send_ok

ROOT = harness.ROOT
UNIT = ROOT / "systemd" / "alertrelayd.service"
VERSION = "0.1.0"


def out_of(cp):
    return cp.stdout + cp.stderr


# ---------------------------------------------------------------- systemd unit


def systemd_analyze():
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail("systemd-analyze is not installed (Debian package systemd)",
                    pytrace=False)
    return exe


def unit_settings(path):
    """[(section, key, value)] of a unit file, in order (keys repeat)."""
    out, section = [], None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


@pytest.mark.hard_timeout(120)
def test_unit_security_exposure(tmp_path):
    """`systemd-analyze security --offline=true` on a copy of the unit:
    overall exposure 2.0 or lower."""
    unit = tmp_path / "alertrelayd.service"
    shutil.copyfile(UNIT, unit)
    cp = harness.run([systemd_analyze(), "security", "--offline=true",
                      "--no-pager", unit], timeout=90,
                     env={"SYSTEMD_COLORS": "0"})
    text = out_of(cp)
    assert cp.returncode == 0, "systemd-analyze security: exit %d\n%s" % (
        cp.returncode, text)
    m = re.search(r"Overall exposure level for alertrelayd\.service: "
                  r"(\d+(?:\.\d+)?)", text)
    assert m, "no overall exposure in:\n" + text
    exposure = float(m.group(1))
    assert exposure <= 2.0, "exposure %.1f > 2.0:\n%s" % (
        exposure, "\n".join(l for l in text.splitlines() if "\u2717" in l))


def test_unit_directives():
    """What the issue asks of the unit beyond the exposure score."""
    s = unit_settings(UNIT)
    svc = {}
    for section, k, v in s:
        if section == "Service":
            svc.setdefault(k, []).append(v)
    one = {k: v[-1] for k, v in svc.items()}
    assert one.get("Type") == "notify"
    assert re.match(r"^\d+s?$", one.get("WatchdogSec", "")), one.get("WatchdogSec")
    assert "-HUP" in one.get("ExecReload", "") and "$MAINPID" in one["ExecReload"]
    assert one.get("Restart") == "on-failure"
    assert re.search(r"/alertrelayd -f\b", one.get("ExecStart", ""))
    assert re.search(r"/alertrelayd -t\b", one.get("ExecStartPre", ""))
    assert one.get("User") and one["User"] != "root"
    assert one.get("ProtectSystem") == "strict"
    assert one.get("NoNewPrivileges") == "yes"
    assert one.get("CapabilityBoundingSet", "x") == ""
    assert one.get("StateDirectory")
    assert svc.get("LoadCredential"), "no LoadCredential= for the secret keys"
    for k in ("ProtectHome", "PrivateTmp", "PrivateDevices",
              "RestrictAddressFamilies", "SystemCallFilter",
              "MemoryDenyWriteExecute", "LockPersonality",
              "RestrictNamespaces"):
        assert k in svc, "unit lacks %s=" % k
    assert "@system-service" in " ".join(svc["SystemCallFilter"])
    # the sysusers snippet creates the user the unit runs as
    sysusers = (ROOT / "systemd" / "alertrelay.sysusers").read_text()
    assert re.search(r"^u\s+%s\s" % re.escape(one["User"]), sysusers, re.M)


# ---------------------------------------------------------------- make install


def make_install(dest, target="install"):
    """`make install DESTDIR=dest PREFIX=/usr` of the binaries under test.
    `-o all`: install what ALERTRELAY_BUILD holds instead of rebuilding
    (the build itself is every other test's business, and other work in
    the tree must not be compiled in the middle of a test)."""
    argv = ["make", "-C", ROOT, "--no-print-directory", "-o", "all",
            "BUILD=%s" % harness.build_dir(), "DESTDIR=%s" % dest,
            "PREFIX=/usr", target]
    cp = harness.run(argv, timeout=120)
    assert cp.returncode == 0, "%s: exit %d\n%s" % (
        " ".join(map(str, argv)), cp.returncode, out_of(cp))
    return cp


INSTALLED = {
    "usr/sbin/alertrelayd": 0o755,
    "usr/bin/alertctl": 0o755,
    "usr/share/man/man1/alertctl.1": 0o644,
    "usr/share/man/man5/alertrelayd.conf.5": 0o644,
    "usr/share/man/man8/alertrelayd.8": 0o644,
    "usr/lib/systemd/system/alertrelayd.service": 0o644,
    "usr/lib/sysusers.d/alertrelay.conf": 0o644,
    "usr/lib/tmpfiles.d/alertrelay.conf": 0o644,
    "etc/alertrelay/alertrelayd.conf": 0o640,
    "usr/share/doc/alertrelay/alertrelay-rules.yml": 0o644,
    "usr/sbin/alertconsole": 0o755,
    "usr/share/man/man8/alertconsole.8": 0o644,
    "usr/lib/systemd/system/alertconsole.service": 0o644,
    "usr/share/alertconsole/static/index.html": 0o644,
    "usr/share/alertconsole/static/app.js": 0o644,
    "usr/share/alertconsole/static/style.css": 0o644,
    "etc/alertconsole/console.conf": 0o640,
    "usr/lib/systemd/user/alertctl-watch.service": 0o644,
}


@pytest.mark.hard_timeout(120)
def test_make_install_layout(tmp_path):
    dest = tmp_path / "dest"
    make_install(dest)
    for rel, mode in INSTALLED.items():
        p = dest / rel
        assert p.is_file(), "make install did not install %s" % rel
        assert stat.S_IMODE(p.stat().st_mode) == mode, (
            "%s: mode %o, want %o" % (rel, stat.S_IMODE(p.stat().st_mode), mode))
    assert (dest / "usr/sbin/alertrelayd").read_bytes() == \
        (harness.build_dir() / "alertrelayd").read_bytes()
    assert (dest / "usr/share/man/man1/alertctl.1").read_text() == \
        (ROOT / "man/alertctl.1").read_text()
    assert (dest / "etc/alertrelay/alertrelayd.conf").read_text() == \
        (ROOT / "conf/alertrelayd.conf").read_text()
    # the configuration directory is not for everyone
    assert stat.S_IMODE((dest / "etc/alertrelay").stat().st_mode) & 0o007 == 0
    # the unit names the installed paths, and nothing of /usr/local is left
    unit = dest / "usr/lib/systemd/system/alertrelayd.service"
    settings = {k: v for s, k, v in unit_settings(unit) if s == "Service"}
    assert settings["ExecStart"].split()[0] == "/usr/sbin/alertrelayd", settings
    assert settings["ExecStartPre"].split()[0] == "/usr/sbin/alertrelayd"
    assert "-c /etc/alertrelay/alertrelayd.conf" in settings["ExecStart"]
    assert "/usr/local" not in unit.read_text()
    # the official's supervised connection, a user unit (issue 14)
    unit = dest / "usr/lib/systemd/user/alertctl-watch.service"
    settings = {k: v for s, k, v in unit_settings(unit) if s == "Service"}
    assert settings["ExecStart"].split()[:3] == [
        "/usr/bin/alertctl", "watch", "--supervise"], settings
    assert "/usr/local" not in unit.read_text()
    # the installed programs run and are what they claim
    for prog, arg in (("usr/sbin/alertrelayd", "-V"), ("usr/bin/alertctl", "--version")):
        cp = harness.run([dest / prog, arg], timeout=10)
        assert cp.returncode == 0 and cp.stdout == "%s %s\n" % (
            Path(prog).name, VERSION), out_of(cp)


@pytest.mark.hard_timeout(120)
def test_make_install_keeps_existing_config(tmp_path):
    dest = tmp_path / "dest"
    make_install(dest)
    conf = dest / "etc/alertrelay/alertrelayd.conf"
    mine = conf.read_text() + "\n; edited by the administrator\n"
    conf.write_text(mine)
    os.chmod(conf, 0o600)
    make_install(dest)
    assert conf.read_text() == mine, "make install overwrote the configuration"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


@pytest.mark.hard_timeout(120)
def test_make_uninstall_keeps_config(tmp_path):
    dest = tmp_path / "dest"
    make_install(dest)
    conf = dest / "etc/alertrelay/alertrelayd.conf"
    conf.write_text(conf.read_text() + "\n; local change\n")
    mine = conf.read_text()
    make_install(dest, "uninstall")
    for rel in INSTALLED:
        if rel.startswith("etc/"):
            continue
        assert not (dest / rel).exists(), "make uninstall left %s" % rel
    assert conf.read_text() == mine, "make uninstall touched the configuration"


@pytest.mark.hard_timeout(120)
def test_installed_unit_verifies(tmp_path):
    """`systemd-analyze verify` of the installed unit, offline.

    verify checks that every Exec*= binary exists, on the host.  With
    --root=DESTDIR it looks for everything inside DESTDIR instead, and then
    fails on what a DESTDIR never holds (/bin/kill of ExecReload=,
    sysinit.target and the other units the service depends on).  So the
    installed unit is verified with its /usr/sbin/alertrelayd rewritten to
    DESTDIR/usr/sbin/alertrelayd (the installed binary), everything else
    unchanged, and MANPATH pointing at the installed man pages so that its
    Documentation=man:... entries are checked against them.  verify exits 0
    even on parse warnings, so its output must be empty too."""
    dest = tmp_path / "dest"
    make_install(dest)
    installed = dest / "usr/lib/systemd/system/alertrelayd.service"
    vdir = tmp_path / "verify"
    vdir.mkdir()
    unit = vdir / "alertrelayd.service"
    text = installed.read_text()
    assert "/usr/sbin/alertrelayd" in text
    unit.write_text(text.replace("/usr/sbin/alertrelayd",
                                 str(dest / "usr/sbin/alertrelayd")))
    env = {"MANPATH": str(dest / "usr/share/man"), "SYSTEMD_COLORS": "0",
           "SYSTEMD_LOG_COLOR": "0"}
    cp = harness.run([systemd_analyze(), "verify", unit], timeout=90, env=env)
    assert cp.returncode == 0 and out_of(cp).strip() == "", (
        "systemd-analyze verify: exit %d\n%s" % (cp.returncode, out_of(cp)))
    # and verify does notice a broken unit (the check is not a no-op)
    unit.write_text(unit.read_text().replace("Type=notify", "Type=notifyy"))
    cp = harness.run([systemd_analyze(), "verify", unit], timeout=90, env=env)
    assert "notifyy" in out_of(cp), out_of(cp)


@pytest.mark.hard_timeout(120)
def test_installed_daemon_accepts_an_alert(lab, tmp_path):
    """The installed alertrelayd and alertctl, run from DESTDIR, carry an
    alert: accepted by the relay and stored in Redis."""
    dest = tmp_path / "dest"
    make_install(dest)
    env = lab.env()
    redis = lab.redis(env)
    daemon = lab.spawn([dest / "usr/sbin/alertrelayd", "-f", "-c", env.relay_conf],
                       "installed-alertrelayd")
    daemon.wait_for(r"listening on 127\.0\.0\.1:%d" % env.relay_port, timeout=15)
    daemon.wait_for(r"redis connected", timeout=15)
    cp = harness.run([dest / "usr/bin/alertctl", "-c", env.client_conf, "send",
                      "--type", "test", "--message", "geinstalleerd",
                      "--timeout", "20"], timeout=40)
    lines = cp.stdout.splitlines()
    assert cp.returncode == 0, out_of(cp)
    m = ACCEPTED_RX.match(lines[-1])
    assert m, lines
    r = redis.client()
    ids = [f.get("alert_id") for _, f in r.xrange("alertrelay:alerts")]
    assert ids == [m.group(1)]
    assert daemon.running()


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize("argv,name", [
    (("alertrelayd", "-V"), "alertrelayd"),
    (("alertctl", "--version"), "alertctl"),
    (("alertctl", "-V"), "alertctl"),
])
def test_version(argv, name):
    prog = harness.build_dir() / argv[0]
    if not os.access(prog, os.X_OK):
        pytest.fail("not built: %s" % prog, pytrace=False)
    cp = harness.run([prog] + list(argv[1:]), timeout=10)
    assert cp.returncode == 0, out_of(cp)
    assert cp.stdout == "%s %s\n" % (name, VERSION), repr(cp.stdout)


# ---------------------------------------------------------------- alertrelayd -t


def config_test(conf):
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", conf], timeout=20)
    return cp.returncode, out_of(cp)


def conf_with(env, tmp_path, edit, name="test.conf"):
    """The env's relay configuration passed through edit(lines) -> lines."""
    lines = env.write_relay_conf(tmp_path / name).read_text().splitlines()
    lines = edit(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def set_key(section, key, value):
    """An edit: key = value in [section], replacing the key if present."""
    def edit(lines):
        out, cur, done = [], None, False
        for line in lines:
            m = re.match(r"^\[(.*)\]$", line)
            if m:
                if cur == section and not done:
                    out.append("%s = %s" % (key, value))
                    done = True
                cur = m.group(1)
            elif cur == section and re.match(r"^%s\s*=" % key, line):
                if not done:
                    out.append("%s = %s" % (key, value))
                    done = True
                continue
            out.append(line)
        if not done:
            if cur != section:
                out.append("[%s]" % section)
            out.append("%s = %s" % (key, value))
        return out
    return edit


def drop_key(section, key):
    def edit(lines):
        out, cur = [], None
        for line in lines:
            m = re.match(r"^\[(.*)\]$", line)
            if m:
                cur = m.group(1)
            elif cur == section and re.match(r"^%s\s*=" % key, line):
                continue
            out.append(line)
        return out
    return edit


def line_of(path, text):
    return path.read_text().splitlines().index(text) + 1


@pytest.mark.needs("alertrelayd", "alertctl")
def test_config_test_ok(lab, tmp_path):
    env = lab.env()
    rc, out = config_test(env.relay_conf)
    assert rc == 0, out
    assert "configuration OK" in out and str(env.relay_conf) in out, out


@pytest.mark.needs("alertrelayd", "alertctl")
@pytest.mark.hard_timeout(60)
def test_config_test_unknown_key(lab, tmp_path):
    env = lab.env()
    conf = conf_with(env, tmp_path, set_key("delivery", "retry_forever", "yes"))
    n = line_of(conf, "retry_forever = yes")
    rc, out = config_test(conf)
    assert rc == 1, out
    assert "%s:%d:" % (conf, n) in out and "retry_forever" in out, out
    assert "configuration OK" not in out
    # and the daemon does not start with it either
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", conf], "alertrelayd-unknown")
    assert p.wait_exit(10) == 1, p.tail()
    assert "retry_forever" in p.text()


@pytest.mark.needs("alertrelayd", "alertctl")
@pytest.mark.parametrize("key,value", [
    ("max_frame", "lots"), ("max_frame", "100"), ("auth_timeout", "10s"),
    ("max_connections", "0"), ("auth_timeout", "99999999999999999999999"),
])
def test_config_test_bad_integer(lab, tmp_path, key, value):
    env = lab.env()
    conf = conf_with(env, tmp_path, set_key("relay", key, value))
    n = line_of(conf, "%s = %s" % (key, value))
    rc, out = config_test(conf)
    assert rc == 1, out
    assert "%s:%d:" % (conf, n) in out and key in out, out


@pytest.mark.needs("alertrelayd", "alertctl")
@pytest.mark.parametrize("key", ["tls_cert", "tls_key"])
def test_config_test_missing_required_key(lab, tmp_path, key):
    env = lab.env()
    conf = conf_with(env, tmp_path, drop_key("relay", key))
    rc, out = config_test(conf)
    assert rc == 1, out
    assert str(conf) in out and key in out and "required" in out, out


@pytest.mark.needs("alertrelayd", "alertctl")
@pytest.mark.parametrize("which", ["tls_key", "webhook_secret"])
def test_config_test_refuses_readable_secret(lab, tmp_path, which):
    env = lab.env()
    path = env.tls_key if which == "tls_key" else \
        env.recipient("contactpunt").secret_file
    os.chmod(path, 0o644)
    rc, out = config_test(env.relay_conf)
    assert rc == 1, out
    assert str(path) in out, "the message does not name %s:\n%s" % (path, out)
    assert "configuration OK" not in out
    os.chmod(path, 0o600)
    rc, out = config_test(env.relay_conf)
    assert rc == 0, out


@pytest.mark.needs("alertrelayd", "alertctl")
@pytest.mark.parametrize("address", ["localhost:6379", "127.0.0.1", "127.0.0.1:notaport",
                                     "127.0.0.1:70000"])
def test_config_test_bad_redis_address(lab, tmp_path, address):
    env = lab.env()
    conf = conf_with(env, tmp_path, set_key("redis", "address", address))
    rc, out = config_test(conf)
    assert rc == 1, out
    assert str(conf) in out and "address" in out, out


@pytest.mark.needs("alertrelayd", "alertctl")
@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("section,key,value", [
    ("admin", "listen", "0.0.0.0:%d"),
    ("relay", "listen", "localhost:%d"),
    ("relay", "user", "no-such-user-alertrelay"),
], ids=["admin-not-loopback", "listen-by-name", "unknown-user"])
def test_config_test_catches_what_start_refuses(lab, tmp_path, section, key, value):
    """A configuration the daemon refuses to start with must not pass -t
    (the unit's ExecStartPre= runs -t; sysadmins run it before a restart)."""
    if key == "user" and os.geteuid() != 0:
        pytest.skip("user = only matters when started as root")
    env = lab.env()
    if "%d" in value:
        value = value % free_port()
    conf = conf_with(env, tmp_path, set_key(section, key, value))
    # the premise: the daemon does refuse it
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", conf], "alertrelayd-refused")
    rc = p.wait_exit(10)
    assert rc is not None and rc != 0, "alertrelayd started with [%s] %s = %s" % (
        section, key, value)
    rc, out = config_test(conf)
    assert rc == 1, ("alertrelayd -t passes [%s] %s = %s, which the daemon "
                     "refuses at start:\n%s\n--- the daemon said:\n%s"
                     % (section, key, value, out, p.text()))
    assert str(conf) in out and key in out, out


# ---------------------------------------------------------------- admin listener


def with_admin(env):
    """Appends [admin] listen = 127.0.0.1:<free port>; returns the port."""
    port = free_port()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % port)
    return port


def http_get(port, path, method="GET", timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, \
            r.read().decode("utf-8", "replace")
    finally:
        c.close()


def scrape(port):
    """{(sample name, frozenset(labels)): value} and the families, parsed
    by prometheus_client's text parser."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        pytest.fail("python3-prometheus-client is not installed", pytrace=False)
    status, headers, body = http_get(port, "/metrics")
    assert status == 200, (status, body)
    assert headers.get("content-type", "").startswith("text/plain; version=0.0.4"), headers
    families = list(text_string_to_metric_families(body))
    samples = {}
    for fam in families:
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, {f.name: f for f in families}


def val(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%s; have %s" % (
        name, labels, sorted(k[0] for k in samples))
    return samples[key]


def wait_metric(port, name, want, timeout=15, **labels):
    def ok():
        s, _ = scrape(port)
        return val(s, name, **labels) == want
    wait_until(ok, timeout, interval=0.1,
               what="%s%s == %s" % (name, labels, want))


def admin_stack(lab, recipients=("contactpunt",), receivers=True):
    env = lab.env()
    port = with_admin(env)
    env.write_client_conf(recipients=list(recipients))
    redis = lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"admin listening on 127\.0\.0\.1:%d" % port, timeout=10)
    recv = {rid: lab.receiver(env, rid) for rid in recipients} if receivers else {}
    return env, port, redis, relay, recv


@pytest.mark.hard_timeout(90)
def test_metrics_after_one_alert(lab):
    env, port, redis, relay, recv = admin_stack(lab)
    s, fams = scrape(port)
    for fam in fams.values():
        assert fam.documentation, "%s has no HELP" % fam.name
    assert fams["alertrelay_alerts_accepted"].type == "counter"
    assert fams["alertrelay_delivery_latency_seconds"].type == "histogram"
    assert fams["alertrelay_redis_up"].type == "gauge"
    assert val(s, "alertrelay_alerts_accepted_total", duplicate="false") == 0
    assert val(s, "alertrelay_refused_total", reason="bad_frame") == 0
    wait_metric(port, "alertrelay_redis_up", 1)

    alert_id, _, _ = send_ok(lab, env, "--type", "test", "--message", "metrics")
    got = recv["contactpunt"].wait_alerts(1)
    assert got[0]["alert_id"] == alert_id
    wait_metric(port, "alertrelay_deliveries_total", 1, channel="webhook",
                result="ok")
    s, _ = scrape(port)
    assert val(s, "alertrelay_alerts_received_total") == 1
    assert val(s, "alertrelay_alerts_accepted_total", duplicate="false") == 1
    assert val(s, "alertrelay_alerts_accepted_total", duplicate="true") == 0
    assert val(s, "alertrelay_deliveries_total", channel="webhook", result="retry") == 0
    assert val(s, "alertrelay_deliveries_total", channel="webhook", result="dropped") == 0
    assert val(s, "alertrelay_delivery_latency_seconds_count") == 1
    assert val(s, "alertrelay_delivery_latency_seconds_bucket", le="+Inf") == 1
    assert 0 < val(s, "alertrelay_delivery_latency_seconds_sum") < 30
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in s.items()
                     if k[0] == "alertrelay_delivery_latency_seconds_bucket")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets), buckets
    assert val(s, "alertrelay_redis_up") == 1
    for reason in ("bad_frame", "auth_failed", "conflict", "unavailable"):
        assert val(s, "alertrelay_refused_total", reason=reason) == 0

    # the same alert again (same id, same content): a duplicate
    rc, lines, err = lab.send(env, "--type", "test", "--message", "metrics",
                              "--alert-id", alert_id)
    assert rc == 0 and lines[-1].endswith("(duplicate)"), (lines, err)
    wait_metric(port, "alertrelay_alerts_accepted_total", 1, duplicate="true")

    # a malformed frame is counted as refused: bad_frame
    with raw_client(env) as c:
        c.hello()
        c.send_frame(b"this is not json")
        f = c.recv_frame()
        assert f["type"] == "error" and f["code"] == "bad_frame", f
    wait_metric(port, "alertrelay_refused_total", 1, reason="bad_frame")
    s, _ = scrape(port)
    assert val(s, "alertrelay_alerts_accepted_total", duplicate="false") == 1
    assert val(s, "alertrelay_deliveries_total", channel="webhook", result="ok") == 1


ISSUE_FAMILIES = [
    # received / accepted / refused by reason
    "alertrelay_alerts_received", "alertrelay_alerts_accepted",
    "alertrelay_refused",
    # deliveries by channel and result, latency histogram
    "alertrelay_deliveries", "alertrelay_delivery_latency_seconds",
    # escalations, acknowledgements
    "alertrelay_escalations", "alertrelay_acknowledgements",
    # queue depth and oldest pending age, connected devices
    "alertrelay_queue_depth", "alertrelay_oldest_pending_seconds",
    "alertrelay_devices_connected",
    # TLS handshakes, Redis state, spool size
    "alertrelay_tls_handshakes", "alertrelay_redis_up",
    "alertrelay_spool_bytes",
]


@pytest.mark.hard_timeout(60)
def test_metrics_families_and_connection_gauges(lab):
    """Every family the issue names is exposed; the connection gauges
    follow an authenticated session."""
    env, port, redis, relay, _ = admin_stack(lab, receivers=False)
    s, fams = scrape(port)
    missing = [f for f in ISSUE_FAMILIES if f not in fams]
    assert not missing, "missing metric families: %s" % missing
    assert val(s, "alertrelay_devices_connected") == 0
    c = authed(env)
    try:
        wait_metric(port, "alertrelay_devices_connected", 1)
        wait_metric(port, "alertrelay_connections", 1)
    finally:
        c.close()
    wait_metric(port, "alertrelay_devices_connected", 0)
    wait_metric(port, "alertrelay_connections", 0)


@pytest.mark.hard_timeout(60)
def test_metrics_tls_handshakes(lab):
    """alertrelay_tls_handshakes_total counts completed handshakes as ok
    and a TLS 1.2 client's as failed."""
    env, port, redis, relay, _ = admin_stack(lab, receivers=False)
    with raw_client(env) as c:
        assert c.hello()["type"] == "hello"
    with pytest.raises((ssl.SSLError, ConnectionError, proto.Closed)):
        c = raw_client(env, tls_max=ssl.TLSVersion.TLSv1_2)
        c.hello()
    wait_metric(port, "alertrelay_tls_handshakes_total", 1, result="failed")
    wait_metric(port, "alertrelay_tls_handshakes_total", 1, timeout=5,
                result="ok")


@pytest.mark.hard_timeout(90)
def test_healthz_follows_redis(lab):
    env, port, redis, relay, _ = admin_stack(lab, receivers=False)
    status, _, body = http_get(port, "/healthz")
    assert (status, body.strip()) == (200, "ok"), (status, body)
    assert http_get(port, "/no-such-page")[0] == 404
    assert http_get(port, "/metrics", method="POST")[0] == 405

    assert redis.stop() == 0

    def unhealthy():
        st, _, b = http_get(port, "/healthz")
        return (st, b) if st != 200 else None
    st, b = wait_until(unhealthy, 15, interval=0.1, what="/healthz != 200")
    assert st == 503 and "redis" in b, (st, b)
    wait_metric(port, "alertrelay_redis_up", 0)

    redis.start()
    wait_until(lambda: http_get(port, "/healthz")[0] == 200, 20, interval=0.2,
               what="/healthz 200 after redis is back")
    wait_metric(port, "alertrelay_redis_up", 1)


@pytest.mark.parametrize("addr", ["0.0.0.0", "[::]"])
@pytest.mark.needs("alertrelayd", "alertctl")
def test_admin_must_be_loopback(lab, addr):
    env = lab.env()
    port = free_port()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = %s:%d\n" % (addr, port))
    lab.redis(env)
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
                  "alertrelayd-admin")
    rc = p.wait_exit(10)
    assert rc is not None, "alertrelayd runs with [admin] listen = %s:%d" % (addr, port)
    assert rc != 0
    assert "loopback" in p.text(), p.text()
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0


# ---------------------------------------------------------------- sd_notify


class NotifySocket:
    """An AF_UNIX datagram socket like systemd's NOTIFY_SOCKET; records
    (monotonic time, message) of every datagram."""

    def __init__(self):
        # short path: sun_path holds 108 bytes; readable by the user the
        # daemon drops to
        self.dir = Path(tempfile.mkdtemp(prefix="arn-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.path = str(self.dir / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                for m in data.decode("utf-8", "replace").split("\n"):
                    if m:
                        self.msgs.append((time.monotonic(), m))

    def snapshot(self):
        with self.lock:
            return list(self.msgs)

    def has(self, msg):
        return [t for t, m in self.snapshot() if m == msg]

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.hard_timeout(90)
def test_sd_notify(lab):
    """READY=1 only once Redis is connected, STATUS= lines, WATCHDOG=1
    every WATCHDOG_USEC/2, STOPPING=1 on SIGTERM."""
    env = lab.env()
    ns = NotifySocket()
    lab.things.append(ns)
    p = Proc([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
             "alertrelayd-notify", lab.logdir,
             env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
    lab.things.append(p)
    p.start()
    # Redis is not running yet: listening, watchdog alive, but not ready
    p.wait_for(r"listening on 127\.0\.0\.1:%d" % env.relay_port, timeout=15)
    wait_until(lambda: len(ns.has("WATCHDOG=1")) >= 2, 5,
               what="WATCHDOG=1 while waiting for redis")
    time.sleep(1.0)
    assert not ns.has("READY=1"), "READY=1 before redis is up: %s" % ns.snapshot()
    assert "redis connected" not in p.text()

    redis = lab.redis(env)
    assert redis
    wait_until(lambda: ns.has("READY=1"), 15, what="READY=1")
    p.wait_for(r"redis connected", timeout=15)
    statuses = [m for _, m in ns.snapshot() if m.startswith("STATUS=")]
    assert statuses and all(len(m) > len("STATUS=") for m in statuses), statuses
    assert any("accepting" in m for m in statuses), statuses

    # the watchdog keeps pinging at about 200 ms
    start = time.monotonic()
    time.sleep(2.0)
    pings = [t for t in ns.has("WATCHDOG=1") if start <= t <= start + 2.0]
    assert 5 <= len(pings) <= 20, "%d WATCHDOG=1 in 2 s" % len(pings)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < 0.4, "watchdog gap %.3f s >= WATCHDOG_USEC" % max(gaps)

    # redis lost: the status says so
    n = len(ns.snapshot())
    assert redis.stop() == 0
    wait_until(lambda: any(m.startswith("STATUS=") and "redis" in m
                           for _, m in ns.snapshot()[n:]), 10,
               what="STATUS= about redis")

    p.signal(signal.SIGTERM)
    assert p.wait_exit(15) == 0, p.tail()
    # sent before the exit; the socket is read on a thread of its own
    wait_until(lambda: ns.has("STOPPING=1"), 10,
               what="STOPPING=1: %s" % ns.snapshot()[-10:])


def test_watchdog_not_for_another_pid(lab):
    """WATCHDOG_PID names another process: the daemon must not ping."""
    env = lab.env()
    ns = NotifySocket()
    lab.things.append(ns)
    p = Proc([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
             "alertrelayd-notify", lab.logdir,
             env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "200000",
                  "WATCHDOG_PID": "1"})
    lab.things.append(p)
    p.start()
    p.wait_for(r"listening on", timeout=15)
    time.sleep(1.0)
    assert not ns.has("WATCHDOG=1"), ns.snapshot()


# ---------------------------------------------------------------- logging


@pytest.mark.hard_timeout(60)
def test_journald_priority_prefixes(lab):
    """With JOURNAL_STREAM set, every stderr line starts with <N>: <6> for
    info, <4> for warnings."""
    env = lab.env()
    redis = lab.redis(env)
    p = Proc([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
             "alertrelayd-journal", lab.logdir, env={"JOURNAL_STREAM": "1:1"})
    lab.things.append(p)
    p.start()
    p.wait_for(r"^<6>.*listening on 127\.0\.0\.1:%d" % env.relay_port, timeout=15)
    p.wait_for(r"^<6>.*redis connected", timeout=15)
    assert redis.stop() == 0
    p.wait_for(r"^<4>.*redis .*connection lost", timeout=15)
    p.signal(signal.SIGTERM)
    assert p.wait_exit(15) == 0
    lines = [l for l in p.snapshot("stderr") if l]
    bad = [l for l in lines if not re.match(r"^<[0-7]>\S", l)]
    assert not bad, "lines without a <N> prefix:\n" + "\n".join(bad)
    # no timestamp: journald adds its own
    assert not any(re.match(r"^<\d>\d{4}-\d\d-\d\dT", l) for l in lines)


@pytest.mark.hard_timeout(60)
def test_stderr_without_journal_has_no_prefixes(lab):
    """The contrast: without JOURNAL_STREAM the lines carry a timestamp and
    the level as a word, no <N>."""
    env = lab.env()
    lab.redis(env)
    p = Proc([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
             "alertrelayd-plain", lab.logdir)
    lab.things.append(p)
    # Proc passes on this process's environment (set when pytest itself
    # runs under systemd): take JOURNAL_STREAM out for the start
    saved = os.environ.pop("JOURNAL_STREAM", None)
    try:
        p.start()
    finally:
        if saved is not None:
            os.environ["JOURNAL_STREAM"] = saved
    m = p.wait_for(r"listening on", timeout=15)
    line = m.string
    assert not line.startswith("<"), line
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z alertrelayd\[\d+\]: info: ",
                    line), line


@pytest.mark.hard_timeout(90)
def test_logs_are_key_value_and_hold_no_secrets(lab):
    """At debug level: the alert's events carry alert=, device=,
    recipient=, channel=, result=, latency_ms= fields; the message text,
    the webhook secrets and the device's secret key never appear."""
    marker = "geheim-%s" % os.urandom(8).hex()
    env, redis, relay, recv = lab.stack(debug=True, receivers=("contactpunt", "oncall-1"))
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message",
                             "Man bij de deur %s" % marker)
    for rid in ("contactpunt", "oncall-1"):
        got = recv[rid].wait_alerts(1)
        assert got[0]["message"].endswith(marker)
    for rid in ("contactpunt", "oncall-1"):
        relay.proc.wait_for(r"delivery alert=%s recipient=%s channel=webhook "
                            r"result=ok status=200 attempt=\d+ latency_ms=\d+"
                            % (alert_id, rid), timeout=15)
    relay.proc.wait_for(r"alert accepted alert=%s device=%s relay_id=\S+ "
                        r"duplicate=0" % (alert_id, env.device_id), timeout=5)
    relay.stop()
    log = relay.log()
    assert "debug:" in log, "the relay did not log at debug level"

    # every line about this alert names it as a field, never bare
    for line in log.splitlines():
        if alert_id in line:
            assert re.search(r"\balert=%s\b" % alert_id, line), line

    secrets = {"message marker": marker}
    for rid in ("contactpunt", "oncall-1"):
        text = env.recipient(rid).secret_text
        secrets["webhook secret of " + rid] = text
        secrets["webhook key of " + rid] = text[len("whsec_"):]
        secrets["recipient key of " + rid] = env.recipient(rid).key.read_text().strip()
    dev = env.device_key.read_text().strip()
    secrets["device key file"] = dev
    secrets["device seed"] = proto.b64e(proto.b64d(dev)[:32])
    secrets["device seed (hex)"] = proto.b64d(dev)[:32].hex()
    tls = [l for l in env.tls_key.read_text().splitlines()
           if l and not l.startswith("-----")]
    secrets["TLS key"] = max(tls, key=len)
    for what, s in secrets.items():
        assert s and s not in log, "%s appears in the relay's log" % what
