"""alertconsole, the contact point's console (issue 12, first slice), with
real processes: a real relay delivers a real `alertctl send` to it, and
webhooks made in Python (tests/proto.py, as in test_receiver.py) are bent
one way at a time.  What it must show: every webhook body is committed to
SQLite before the 2xx, sealed (the message is not in the database file);
/api/alerts opens it on request; a second delivery of the same alert is
not shown twice; a SIGKILL after the 2xx loses nothing; a forged or
replayed webhook is refused or marked as `alertctl receive` does.
The page's API needs an operator's login (test_console_ops.py tests
that); Console.login() makes one with `alertconsole user add`."""

import http.client
import json
import os
import pwd
import signal
import sqlite3
import time

import pytest

import harness
import proto
from helpers import send_ok
from test_receiver import make_webhook, post

pytestmark = pytest.mark.needs("alertrelayd", "alertctl", "alertconsole")

RID = "contactpunt"
MESSAGE = "Man met mes bij de voordeur, Dorpsstraat 12"
STATIC = harness.ROOT / "console" / "static"
OPERATOR = "Jan de Vries"
PASSWORD = "correct horse battery staple"


def console_bin():
    return str(harness.build_dir() / "alertconsole")


class Console:
    """alertconsole for the given recipients of env, on its own port."""

    def __init__(self, lab, env, rids=(RID,), port=None, listen=None,
                 extra=None, rcpt_extra=None):
        self.lab, self.env = lab, env
        self.port = port or harness.free_port()
        self.listen = listen or "127.0.0.1:%d" % self.port
        self.state = lab.tmp / "console-state"
        self.conf = lab.tmp / "console.conf"
        self.proc = None
        self.cookie = self.csrf = None
        self.users = set()
        lines = ["[console]", "listen = %s" % self.listen,
                 "state_dir = %s" % self.state, "static_dir = %s" % STATIC]
        if os.geteuid() == 0:
            # started as root it drops to this user before opening its
            # state, which that user must own (systemd's StateDirectory=)
            lines.append("user = %s" % harness.DAEMON_USER)
            self.state.mkdir(mode=0o700, exist_ok=True)
            harness.hand_to_daemon_user(self.state)
        if env.directory is not None:
            lines += ["directory = %s" % env.directory,
                      "org_key = %s" % env.org.public_key]
        else:
            lines.append("devices = %s" % env.devices_dir)
        lines += ["%s = %s" % kv for kv in (extra or {}).items()]
        for rid in rids:
            r = env.recipient(rid)
            lines += ["", "[recipient %s]" % rid, "key = %s" % r.key,
                      "webhook_secret_file = %s" % r.secret_file]
            lines += ["%s = %s" % kv
                      for kv in (rcpt_extra or {}).get(rid, {}).items()]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout=10):
        self.proc = self.lab.spawn([console_bin(), "-c", self.conf],
                                   "alertconsole")
        self.proc.wait_for(r"alertconsole ready", "stderr", timeout)
        return self

    def user(self, *args, password=PASSWORD):
        """alertconsole user ARGS, the password on stdin."""
        return harness.run([console_bin(), "-c", self.conf, "user"] +
                           list(args), input=password + "\n", timeout=30)

    def add_user(self, name=OPERATOR, role="operator", password=PASSWORD):
        if name not in self.users:
            cp = self.user("add", name, "--role", role, password=password)
            assert cp.returncode == 0, cp.stderr
            self.users.add(name)

    def login_session(self, name=OPERATOR, password=PASSWORD, conn=None):
        """POST /api/login: (status, cookie, body)."""
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=30)
        try:
            c.request("POST", "/api/login", json.dumps(
                {"name": name, "password": password}),
                {"Content-Type": "application/json"})
            r = c.getresponse()
            body = r.read()
            # the session's (a login sets a device cookie too)
            value = next((v.split(";")[0]
                          for v in r.msg.get_all("Set-Cookie") or []
                          if v.startswith("alertconsole_session=")), None)
            return r.status, value, (json.loads(body) if body else {})
        finally:
            if conn is None:
                c.close()

    def login(self, name=OPERATOR, password=PASSWORD):
        self.add_user(name, password=password)
        status, cookie, body = self.login_session(name, password)
        assert status == 200, (status, body)
        self.cookie, self.csrf = cookie, body["csrf"]
        return self

    def auth(self):
        """The headers of a logged-in operator's request."""
        if self.cookie is None:
            self.login()
        return {"Cookie": self.cookie}

    def get(self, path, headers=None):
        if headers is None:
            headers = self.auth() if path.startswith("/api/") else {}
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def post(self, path, body=None, headers=None, csrf=True):
        h = dict(self.auth())
        h["Content-Type"] = "application/json"
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request("POST", path, json.dumps(body or {}), h)
            r = c.getresponse()
            data = r.read()
            try:
                return r.status, json.loads(data)
            except ValueError:
                return r.status, data
        finally:
            c.close()

    def alerts(self):
        status, headers, body = self.get("/api/alerts")
        assert status == 200, (status, body)
        assert headers["Content-Type"] == "application/json"
        return json.loads(body)["alerts"]

    def wait_alerts(self, n, timeout=15):
        harness.wait_until(lambda: len(self.alerts()) >= n, timeout,
                           what="%d alert(s) in /api/alerts" % n)
        return self.alerts()

    def rows(self):
        """The webhook rows, read with Python's sqlite3 (WAL: a reader sees
        what was committed)."""
        db = sqlite3.connect("file:%s?mode=ro" % (self.state / "console.db"),
                             uri=True)
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(
                "SELECT * FROM webhook ORDER BY id")]
        finally:
            db.close()

    def db_bytes(self):
        return b"".join(p.read_bytes() for p in self.state.iterdir()
                        if p.name.startswith("console.db"))

    def hook(self, headers, body, rid=RID):
        return post(self.port, headers, body, path="/hook/" + rid)


def resign(env, body, msg_id, rid=RID, ts=None):
    """Fresh, validly signed headers for a body (what a relay retry, or
    anyone holding the webhook secret, can make)."""
    ts = str(int(time.time()) if ts is None else ts)
    key = proto.whsec_key(env.recipients[rid].secret_text)
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": proto.webhook_signature(key, msg_id, ts, body),
            "content-type": "application/json"}


@pytest.fixture
def solo(lab):
    """The console alone, with the keys of a test environment."""
    env = lab.env()
    return env, Console(lab, env).start()


@pytest.mark.hard_timeout(90)
def test_relayed_alert_is_stored_sealed_and_shown_decrypted(lab):
    env = lab.env()
    port = harness.free_port()  # first: the directory names the URL
    env.recipient(RID).webhook_port = port
    env.recipient(RID).webhook_path = "/hook/" + RID
    env.use_directory()  # aliases come from the signed directory
    console = Console(lab, env, port=port)
    redis = lab.redis(env)
    lab.relay(env)
    console.start()
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message", MESSAGE,
                             "--lat", "52.0907", "--lon", "5.1214",
                             "--accuracy", "15", "--timeout", "20")
    out = console.wait_alerts(1, timeout=20)
    assert len(out) == 1, out
    a = out[0]
    assert a["alert_id"] == alert_id
    assert a["type"] == "panic"
    assert a["message"] == MESSAGE
    assert a["device_alias"] == harness.DEVICE_ALIAS
    assert a["state"] == "open"
    assert a["location"]["lat"] == pytest.approx(52.0907, abs=1e-6)
    assert a["location"]["lon"] == pytest.approx(5.1214, abs=1e-6)
    assert a["location"]["accuracy_m"] == pytest.approx(15)
    assert 0 <= a["age_s"] < 60
    assert a["stale"] is False
    # stored as received, sealed: the ciphertext is there, the text is not
    rows = console.rows()
    assert [r["alert_id"] for r in rows] == [alert_id]
    body = json.loads(rows[0]["body"])
    assert body["alert_id"] == alert_id and body["ciphertext"]
    raw = console.db_bytes()
    assert alert_id.encode() in raw
    assert MESSAGE.encode() not in raw
    assert b"Dorpsstraat" not in raw
    assert b"52.0907" not in raw
    # the relay heard 2xx: marked delivered, no retry
    r = redis.client()
    harness.wait_until(lambda: ("delivered:" + RID) in
                       r.hgetall("alertrelay:alert:" + alert_id), 10,
                       what="delivered mark")


def test_page_and_api_carry_the_security_headers(solo):
    env, console = solo
    for path, ctype in (("/", "text/html"), ("/app.js", "text/javascript"),
                        ("/style.css", "text/css"), ("/api/alerts",
                                                     "application/json")):
        status, headers, body = console.get(path)
        assert status == 200, path
        assert headers["Content-Type"].startswith(ctype), (path, headers)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
    status, _, body = console.get("/")
    assert b'lang="nl"' in body and b"Meldingen" in body
    # no inline script or style, nothing from elsewhere
    assert b"<script>" not in body and b"style=" not in body
    assert b"http://" not in body and b"https://" not in body
    # no other file is reachable
    for path in ("/../console.conf", "/console/static/app.js", "/etc/passwd",
                 "/%2e%2e/console.conf"):
        assert console.get(path)[0] == 404, path


def test_queue_shows_the_tier_reached(solo):
    """How far the relay escalated an alert: tier 0 when it came, the
    tier of the relay's alert.escalated once it went further."""
    env, console = solo
    headers, body, inner = make_webhook(env, RID, message=MESSAGE,
                                        outer={"tier": 0})
    assert console.hook(headers, body) == 200
    assert console.alerts()[0]["tier"] == 0
    o = json.loads(body)
    o.update({"type": "alert.escalated", "tier": 2})
    body2 = json.dumps(o, separators=(",", ":")).encode()
    assert console.hook(resign(env, body2, "msg_tier2"), body2) == 200
    out = console.alerts()
    assert [a["alert_id"] for a in out] == [inner["alert_id"]]
    assert out[0]["tier"] == 2


def test_duplicate_delivery_is_not_shown_twice(solo):
    env, console = solo
    headers, body, inner = make_webhook(env, RID, message=MESSAGE)
    assert console.hook(headers, body) == 200
    # the relay's retry of the same webhook: answered, not stored again
    assert console.hook(headers, body) == 200
    # the same alert again under a new webhook id (a later tier, a replay)
    assert console.hook(resign(env, body, "msg_again"), body) == 200
    out = console.alerts()
    assert [a["alert_id"] for a in out] == [inner["alert_id"]]
    assert out[0]["message"] == MESSAGE
    rows = console.rows()
    assert [(r["webhook_id"], r["repeat"]) for r in rows] == [
        (headers["webhook-id"], 0), ("msg_again", 1)]
    console.proc.wait_for("already received", "stderr", 15)


def test_sigkill_after_2xx_loses_nothing(solo):
    env, console = solo
    sent = []
    for t in ("panic", "threat", "test"):
        headers, body, inner = make_webhook(env, RID, alert_type=t,
                                            message="bericht " + t)
        assert console.hook(headers, body) == 200
        sent.append((headers, body, inner))
    console.proc.kill()  # SIGKILL: no shutdown code runs
    console.start()
    out = console.alerts()
    # all three, sorted by priority: panic, threat, test
    assert [a["type"] for a in out] == ["panic", "threat", "test"]
    assert [a["message"] for a in out] == ["bericht panic", "bericht threat",
                                           "bericht test"]
    # after the restart a retry is still known, a replay still a repeat
    headers, body, inner = sent[0]
    assert console.hook(headers, body) == 200
    assert console.hook(resign(env, body, "msg_replay"), body) == 200
    assert len(console.alerts()) == 3
    assert [r["repeat"] for r in console.rows()] == [0, 0, 0, 1]


def test_forged_and_replayed_webhooks(solo):
    env, console = solo
    # a wrong webhook secret
    headers, body, _ = make_webhook(env, RID,
                                    secret="whsec_" + "QUFB" * 11 + "QQ==")
    assert console.hook(headers, body) == 401
    # a captured webhook replayed after its time
    headers, body, _ = make_webhook(env, RID, ts=int(time.time()) - 3600)
    assert console.hook(headers, body) == 400
    # a body changed after signing
    headers, body, _ = make_webhook(env, RID)
    assert console.hook(headers, body.replace(b"panic", b"test ")) in (400, 401)
    # sealed for another recipient, or signed by another device
    headers, body, _ = make_webhook(env, RID, outer={"recipient_id": "oncall-1"})
    assert console.hook(headers, body) == 422
    assert console.rows() == []
    assert console.alerts() == []
    # a genuine alert replayed long after it was made: shown, marked
    old = "2020-01-01T00:00:00Z"
    headers, body, inner = make_webhook(env, RID, inner={"created_at": old},
                                        outer={"created_at": old})
    assert console.hook(headers, body) == 200
    out = console.alerts()
    assert len(out) == 1 and out[0]["stale"] is True
    # a webhook for a recipient the console does not hold
    headers, body, _ = make_webhook(env, RID)
    assert console.hook(headers, body, rid="oncall-1") == 404
    assert console.get("/hook/" + RID)[0] == 404


def test_alert_from_a_revoked_device_is_marked(lab):
    """The queue marks an alert whose device the signed directory (as it
    is now) lists as revoked: lost or stolen, call back."""
    env = lab.env()
    env.use_directory(1)
    c = Console(lab, env).start()
    headers, body, inner = make_webhook(env, RID)
    assert c.hook(headers, body) == 200
    (a,) = c.alerts()
    assert a["device_revoked"] is False
    env.sign_directory(2, revoked=[env.device_id])
    (a,) = c.alerts()
    assert a["alert_id"] == inner["alert_id"] and a["device_revoked"] is True


def test_alert_made_in_the_future_is_marked_early(lab):
    env = lab.env()
    c = Console(lab, env).start()
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                          time.gmtime(time.time() + 600))
    headers, body, _ = make_webhook(env, RID, inner={"created_at": later},
                                    outer={"created_at": later})
    assert c.hook(headers, body) == 200
    headers, body, _ = make_webhook(env, RID)
    assert c.hook(headers, body) == 200
    assert sorted(a["early"] for a in c.alerts()) == [False, True]


def refused_start(console):
    cp = harness.run([console_bin(), "-c", console.conf], timeout=10)
    assert cp.returncode != 0
    return cp.stderr


def test_non_loopback_listen_needs_tls_and_client_certificates(lab):
    """Off loopback the page would show alerts to the network: plain HTTP
    is refused there, and so is TLS without client certificates (the
    console has no operator accounts yet)."""
    env = lab.env()
    port = harness.free_port()
    err = refused_start(Console(lab, env, listen="0.0.0.0:%d" % port))
    assert "not a loopback address" in err
    assert "set tls_cert, tls_key and tls_client_ca" in err
    err = refused_start(Console(lab, env, listen="0.0.0.0:%d" % port, extra={
        "tls_cert": env.cert, "tls_key": env.tls_key}))
    assert "not a loopback address" in err


def https(port, ctx):
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                       context=ctx)


def test_tls_listener_with_client_certificates(lab):
    """With tls_cert, tls_key and tls_client_ca a non-loopback address is
    allowed: HTTPS only (TLS 1.3), and only for a client showing a
    certificate from tls_client_ca."""
    import ssl
    env = lab.env()
    port = harness.free_port()
    # the test certificate is self-signed: it is its own CA
    console = Console(lab, env, port=port, listen="0.0.0.0:%d" % port,
                      extra={"tls_cert": env.cert, "tls_key": env.tls_key,
                             "tls_client_ca": env.cert})
    console.start()
    headers, body, inner = make_webhook(env, RID, message=MESSAGE)
    ctx = ssl.create_default_context(cafile=str(env.cert))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(env.cert), str(env.tls_key))
    c = https(port, ctx)
    c.request("POST", "/hook/" + RID, body, headers)
    r = c.getresponse()
    r.read()
    assert r.status == 200
    assert c.sock.version() == "TLSv1.3"
    c.close()
    c = https(port, ctx)  # one request per connection (http_guard)
    c.request("GET", "/api/alerts")
    r = c.getresponse()
    r.read()
    assert r.status == 401  # the certificate opens the door, not the page
    c.close()
    console.add_user()
    c = https(port, ctx)
    status, cookie, _ = console.login_session(conn=c)
    assert status == 200 and cookie
    c.close()
    c = https(port, ctx)  # one request per connection
    c.request("GET", "/api/alerts", headers={"Cookie": cookie})
    r = c.getresponse()
    assert [a["message"] for a in json.loads(r.read())["alerts"]] == [MESSAGE]
    c.close()
    # without a client certificate: no answer
    bare = ssl.create_default_context(cafile=str(env.cert))
    bare.check_hostname = False
    c = https(port, bare)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError,
                        http.client.HTTPException)):
        c.request("GET", "/api/alerts")
        c.getresponse().read()
    c.close()
    # plain HTTP gets no answer there either
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        console.get("/api/alerts")


def test_event_stream_pushes_new_alerts(solo):
    """GET /api/events: a heartbeat at once (then every 5 s), and an
    "alerts" event with the alert id as soon as a webhook is committed;
    no alert content on the stream.

    Pushed at once, not held for the next heartbeat: no wall-clock bound
    (speed is `make bench`'s), but the order of the stream itself.  The
    heartbeats come from one timer, every CONSOLE_EVENTS_HEARTBEAT_MS
    (5 s).  Right after a timed heartbeat two webhooks go in, the second
    only once the first one's event came; both events then come before
    the next heartbeat.  A console that sent alert events at its
    heartbeat ticks could not put two of them, the second caused after
    the first was out, between the same two heartbeats.  The only bound
    is that period: the test has one heartbeat interval for two
    webhooks.  The stream's socket timeout is two intervals, after which
    the page (stream.js) takes a silent stream for dead."""
    env, console = solo
    period_s = 5  # CONSOLE_EVENTS_HEARTBEAT_MS
    c = http.client.HTTPConnection("127.0.0.1", console.port,
                                   timeout=2 * period_s)
    c.request("GET", "/api/events", headers=console.auth())
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Type") == "text/event-stream"
    assert "default-src 'self'" in r.getheader("Content-Security-Policy")

    def next_event():
        lines = []
        while True:
            line = r.fp.readline().decode()
            if line in ("\n", "\r\n") and lines:
                return dict(l.rstrip("\n").split(": ", 1) for l in lines
                            if ": " in l)
            if line.strip():
                lines.append(line)

    assert next_event()["event"] == "heartbeat"  # at once, on opening
    assert next_event()["event"] == "heartbeat"  # the timer's: a new period
    for message in (MESSAGE, "tweede"):
        headers, body, inner = make_webhook(env, RID, message=message)
        assert console.hook(headers, body) == 200
        assert next_event() == {"event": "alerts",
                                "data": '"%s"' % inner["alert_id"]}, (
            "the alert event came after a heartbeat, not at once")
    assert next_event()["event"] == "heartbeat"  # and the timer goes on
    c.close()
    # the console noticed the page went, and still serves others
    assert sorted(a["message"] for a in console.alerts()) == sorted(
        [MESSAGE, "tweede"])


def test_webhooks_on_their_own_listener(lab):
    """webhook_listen: the relay may reach the webhooks over the network
    (TLS, authenticated by their signatures) while the page stays on
    loopback (HTTPS too: tls_cert is for both); the page's API is not
    served there, nor webhooks on the page's listener."""
    import ssl
    env = lab.env()
    hport = harness.free_port()
    err = refused_start(Console(lab, env, extra={
        "webhook_listen": "0.0.0.0:%d" % hport}))
    assert "webhook_listen = 0.0.0.0:%d: not a loopback address" % hport in err
    assert "set tls_cert and tls_key" in err
    console = Console(lab, env, extra={
        "webhook_listen": "0.0.0.0:%d" % hport, "tls_cert": env.cert,
        "tls_key": env.tls_key}).start()
    headers, body, inner = make_webhook(env, RID, message=MESSAGE)
    ctx = ssl.create_default_context(cafile=str(env.cert))
    ctx.check_hostname = False
    page = https(console.port, ctx)
    page.request("POST", "/hook/" + RID, body, headers)
    r = page.getresponse()
    r.read()
    assert r.status == 404  # not on the page's listener
    c = https(hport, ctx)  # no client certificate needed here
    c.request("POST", "/hook/" + RID, body, headers)
    r = c.getresponse()
    r.read()
    assert r.status == 200
    c.close()
    c = https(hport, ctx)  # one request per connection (http_guard)
    c.request("GET", "/api/alerts")
    r = c.getresponse()
    r.read()
    assert r.status == 405
    c.close()
    page.close()
    console.add_user()
    page = https(console.port, ctx)  # one request per connection
    status, cookie, _ = console.login_session(conn=page)
    assert status == 200
    page.close()
    page = https(console.port, ctx)
    page.request("GET", "/api/alerts", headers={"Cookie": cookie})
    r = page.getresponse()
    assert [a["message"] for a in json.loads(r.read())["alerts"]] == [MESSAGE]
    page.close()


def test_relay_notices_change_the_state(solo):
    """alert.acknowledged and alert.cancelled with no signature of the
    device or a recipient (the relay's word, signed as webhooks only,
    no content) are stored and shown as the relay's word: the alerts
    stay open, the alarm on (test_console_notice.py has the signed
    ones); a notice is answered, stored once, and never makes an
    alert."""
    env, console = solo
    alerts = {}
    for t in ("panic", "threat"):
        headers, body, inner = make_webhook(env, RID, alert_type=t)
        assert console.hook(headers, body) == 200
        alerts[t] = inner["alert_id"]
    for t, kind in (("panic", "alert.acknowledged"),
                    ("threat", "alert.cancelled")):
        body = json.dumps({"type": kind, "alert_id": alerts[t],
                           "recipient_id": RID}).encode()
        assert console.hook(resign(env, body, "msg_%s_%s" % (kind, t)),
                            body) == 200
    # a notice about an alert never received makes no alert
    body = json.dumps({"type": "alert.cancelled", "alert_id": "ab" * 16,
                       "recipient_id": RID}).encode()
    assert console.hook(resign(env, body, "msg_orphan"), body) == 200
    states = {a["type"]: (a["state"], a["notices"]["acknowledged"],
                          a["notices"]["cancelled"])
              for a in console.alerts()}
    assert states == {"panic": ("open", "relay", None),
                      "threat": ("open", None, "relay")}
    assert sorted(r["type"] for r in console.rows()) == [
        "alert.acknowledged", "alert.cancelled", "alert.cancelled",
        "alert.raised", "alert.raised"]


@pytest.mark.hard_timeout(90)
def test_missed_checkin_of_a_device_revoked_since_rings_marked(lab):
    """A device starts a check-in and is revoked (lost, stolen: perhaps
    taken from the official) before its deadline.  The relay raises the
    alarm at its time all the same, and the console shows it open,
    waiting for a person (the page rings), marked revoked.  Before, the
    relay dropped it and the console showed nothing."""
    env = lab.env()
    env.sections = {"checkin": {"remind_before": 2}}
    port = harness.free_port()  # first: the directory names the URL
    env.recipient(RID).webhook_port = port
    env.recipient(RID).webhook_path = "/hook/" + RID
    env.use_directory()
    console = Console(lab, env, port=port)
    lab.redis(env)
    relay = lab.relay(env)
    console.start()
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "checkin", "start", "--minutes", "0.05", "--grace",
                      "0.02", "--message", MESSAGE], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    env.sign_directory(2, revoked=[env.device_id])
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"configuration reloaded", timeout=10)
    (a,) = console.wait_alerts(1, timeout=30)
    assert a["type"] == "missed_checkin"
    assert a["message"] == MESSAGE
    assert a["state"] == "open"
    assert a["device_revoked"] is True
    status, _, body = console.get("/api/alerts")
    assert status == 200 and json.loads(body)["waiting"] >= 1, body
