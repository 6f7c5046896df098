"""alertconsole's operators at the HTTP level (issue 12, items 3, 4, 7):
accounts made with `alertconsole user` (Argon2id, password from stdin),
logins and sessions (HttpOnly SameSite=Strict cookie, idle timeout,
logout), the CSRF token and the same-origin check on every POST, locks
after ten wrong passwords and a limit per address; claims (first wins,
the second hears the owner's name, 409), release, notes, closure, the
append-only timeline, export as JSON and CSV, /metrics; and acknowledging
from the console through a real relay's ack listener, which stops the
escalation (the next tier's webhook never comes) and tells the sender
the operator's name (`alertctl send --wait ack`)."""

import base64
import csv
import http.client
import io
import json
import re
import shutil
import sqlite3
import threading
import time

import nacl.signing
import pytest

import harness
from test_console import (Console, OPERATOR, PASSWORD, RID, make_webhook,
                          resign)

pytestmark = pytest.mark.needs("alertconsole")

SECOND = "Fatima el Amrani"


@pytest.fixture
def solo(lab):
    env = lab.env()
    return env, Console(lab, env).start()


def alert_in(env, console, **kw):
    headers, body, inner = make_webhook(env, RID, **kw)
    assert console.hook(headers, body) == 200
    return inner["alert_id"]


def db(console):
    return sqlite3.connect("file:%s?mode=ro" % (console.state / "console.db"),
                           uri=True)


def test_user_commands(solo):
    env, c = solo
    cp = c.user("add", OPERATOR, "--role", "supervisor")
    assert cp.returncode == 0, cp.stderr
    # the password never on the command line: only stdin or the terminal
    assert PASSWORD not in " ".join(cp.args)
    assert c.user("add", OPERATOR).returncode != 0  # exists already
    cp = c.user("add", "Kort", password="kort")
    assert cp.returncode != 0 and "at least 10" in cp.stderr
    assert c.user("add", " spatie", password=PASSWORD).returncode == 2
    # names the relay would refuse in an acknowledgement's "by": a bidi
    # override, a bidi isolate, a C1 control (fails on the old code)
    for bad in ("Jan \u202eseirV ed", "Jan\u2066 de Vries", "Jan\u0085"):
        cp = c.user("add", bad, password=PASSWORD)
        assert cp.returncode == 2 and "bidi" in cp.stderr, (bad, cp.stderr)
    assert c.user("add", "Zoë Heté", password=PASSWORD).returncode == 0
    assert c.user("remove", "Zoë Heté").returncode == 0
    assert c.user("add", SECOND).returncode == 0
    out = c.user("list").stdout.splitlines()
    assert sorted(out) == sorted(["%s\tsupervisor\t-\tactive" % OPERATOR,
                                  "%s\toperator\t-\tactive" % SECOND])
    # Argon2id hashes, no password in the database
    with db(c) as d:
        hashes = [h for h, in d.execute("SELECT hash FROM operator")]
    assert all(h.startswith("$argon2id$") for h in hashes), hashes
    assert PASSWORD.encode() not in c.db_bytes()
    # a new password: the old one no longer works
    assert c.login_session(OPERATOR)[0] == 200
    assert c.user("passwd", OPERATOR,
                  password="een ander wachtwoord").returncode == 0
    assert c.login_session(OPERATOR)[0] == 401
    assert c.login_session(OPERATOR, "een ander wachtwoord")[0] == 200
    assert c.user("remove", SECOND).returncode == 0
    assert c.login_session(SECOND)[0] == 401
    assert c.user("remove", SECOND).returncode != 0


def test_names_made_before_the_rule_are_warned_of(solo):
    """An account whose name has a bidi override (made before user add
    refused such names; written here into the database behind the
    console's back): the relay refuses it in an acknowledgement, so the
    console warns at its start, counting such accounts without naming
    them (the characters would turn the log line around)."""
    env, c = solo
    assert c.user("add", SECOND).returncode == 0
    c.proc.stop()
    bad = "Jan \u202eseirV ed"
    with sqlite3.connect(str(c.state / "console.db")) as d:
        d.execute("UPDATE operator SET name = ? WHERE name = ?",
                  (bad, SECOND))
    c.start()
    c.proc.wait_for(r"operators=1 have a name with a bidi override",
                    "stderr", 10)
    assert "\u202e" not in c.proc.text("stderr")


def test_login_logout_and_idle_timeout(lab):
    env = lab.env()
    c = Console(lab, env, extra={"session_idle": "10"}).start()
    # nothing of the API without a login
    assert c.get("/api/alerts", headers={})[0] == 401
    assert c.get("/api/events", headers={})[0] == 401
    assert c.get("/api/session", headers={})[0] == 401
    # the page and the login page are there (they hold no alert)
    assert c.get("/login.html")[0] == 200
    c.add_user()
    assert c.login_session(OPERATOR, "verkeerd wachtwoord")[0] == 401
    assert c.login_session("Niemand", PASSWORD)[0] == 401
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    conn.request("POST", "/api/login", json.dumps(
        {"name": OPERATOR, "password": PASSWORD}),
        {"Content-Type": "application/json"})
    r = conn.getresponse()
    body = json.loads(r.read())
    # the session's own cookie (the device cookie comes too:
    # test_console_device_cookie.py)
    cookie, = [v for v in r.msg.get_all("Set-Cookie")
               if v.startswith("alertconsole_session=")]
    conn.close()
    assert r.status == 200 and body["name"] == OPERATOR
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    # no lifetime fixed at login: the console ends the session after
    # session_idle without a request (below), never a busy one
    assert "Max-Age" not in cookie and "Expires" not in cookie
    assert r.getheader("Content-Security-Policy").startswith(
        "default-src 'self'")
    value = cookie.split(";")[0].split("=", 1)[1]
    # the database holds a hash of the session id, not the id
    assert value.encode() not in c.db_bytes()
    c.cookie, c.csrf = "alertconsole_session=" + value, body["csrf"]
    status, _, who = c.get("/api/session")
    assert status == 200 and json.loads(who)["name"] == OPERATOR
    # in use: the idle time starts again at each request
    for _ in range(3):
        time.sleep(4)
        assert c.get("/api/alerts")[0] == 200
    # idle longer than session_idle: logged out
    time.sleep(11)
    assert c.get("/api/alerts")[0] == 401
    # logout ends the session at once
    c.login()
    assert c.post("/api/logout")[0] == 200
    assert c.get("/api/alerts")[0] == 401
    assert c.get("/api/session")[0] == 401
    # log lines come through a pipe, after the answers
    c.proc.wait_for('logout operator="%s"' % re.escape(OPERATOR), "stderr", 15)
    log = c.proc.text("stderr")
    assert 'login operator="%s"' % OPERATOR in log
    assert 'logout operator="%s"' % OPERATOR in log
    assert PASSWORD not in log and value not in log


def test_ten_wrong_passwords_lock_the_account(lab):
    env = lab.env()
    c = Console(lab, env, extra={"login_lockout": "4"}).start()
    c.add_user()
    c.add_user(SECOND)
    for _ in range(10):
        assert c.login_session(OPERATOR, "geraden wachtwoord")[0] == 401
    # now even the right password is refused, for a while, from a
    # client that never logged in (the answer of a wrong password: a
    # locked account tells nobody the name is an operator's)
    status, _, body = c.login_session(OPERATOR, PASSWORD)
    assert status == 401 and body == {"error": "bad"}
    # others can still log in
    assert c.login_session(SECOND)[0] == 200
    time.sleep(4.5)
    assert c.login_session(OPERATOR, PASSWORD)[0] == 200
    with db(c) as d:
        assert d.execute("SELECT failed FROM operator WHERE name = ?",
                         (OPERATOR,)).fetchone() == (0,)


def test_failed_logins_are_limited_per_address(lab):
    env = lab.env()
    c = Console(lab, env, extra={"login_addr_max": "5",
                                 "login_lockout": "60"}).start()
    c.add_user()
    for i in range(5):
        assert c.login_session("Onbekend %d" % i, "x" * 12)[0] == 401
    # this address has had its share: refused before any password check
    assert c.login_session(OPERATOR, PASSWORD)[0] == 429
    # the log line comes through a pipe, after the answer
    c.proc.wait_for(r"too many failures from 127\.0\.0\.1", "stderr", 15)


def test_an_address_refused_for_failures_may_log_in_again_later(lab):
    """The failures of an address are counted over login_lockout
    seconds: once that is over, its right password is taken again (the
    count never ended before, refusing the address until a restart)."""
    env = lab.env()
    c = Console(lab, env, extra={"login_addr_max": "3",
                                 "login_lockout": "3"}).start()
    c.add_user()
    for i in range(3):
        assert c.login_session("Onbekend %d" % i, "x" * 12)[0] == 401
    assert c.login_session(OPERATOR, PASSWORD)[0] == 429
    time.sleep(1.5)
    # still within the window: refusals do not end it sooner
    assert c.login_session(OPERATOR, PASSWORD)[0] == 429
    time.sleep(2.5)
    assert c.login_session(OPERATOR, PASSWORD)[0] == 200
    # and a new window counts afresh
    for i in range(3):
        assert c.login_session("Onbekend %d" % i, "x" * 12)[0] == 401
    assert c.login_session(OPERATOR, PASSWORD)[0] == 429


def test_post_without_csrf_or_from_elsewhere_is_refused(solo):
    env, c = solo
    aid = alert_in(env, c)
    c.login()
    url = "/api/alert/%s/claim" % aid
    # no token, a wrong one
    assert c.post(url, csrf=False) == (403, {"error": "csrf"})
    assert c.post(url, headers={"X-CSRF-Token": "0" * 64})[0] == 403
    # the token, but from another origin (a page elsewhere the operator
    # has open: the cookie is SameSite=Strict, and this is the next wall)
    assert c.post(url, headers={"Origin": "http://evil.example"}) == (
        403, {"error": "cross-origin"})
    assert c.post(url, headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert c.post(url, headers={"Origin": "null"})[0] == 403
    # a login from another origin too (login CSRF)
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    conn.request("POST", "/api/login", json.dumps(
        {"name": OPERATOR, "password": PASSWORD}),
        {"Content-Type": "application/json", "Origin": "http://evil.example"})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 403 and r.getheader("Set-Cookie") is None
    # nothing changed
    assert c.alerts()[0]["owner"] is None
    # from the page itself: taken
    host = "127.0.0.1:%d" % c.port
    assert c.post(url, headers={"Origin": "http://" + host,
                                "Sec-Fetch-Site": "same-origin"}) == (
        200, {"owner": OPERATOR})
    # GET changes nothing and cannot claim
    assert c.get(url)[0] == 404
    # security headers on the answers to refused requests too
    status, headers, _ = c.get("/api/alerts", headers={})
    assert status == 401
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_first_claim_wins(solo):
    env, c = solo
    aid = alert_in(env, c, alert_type="panic")
    a = c.login()
    b = Console.__new__(Console)
    b.__dict__.update(c.__dict__)
    b.cookie = None
    b.login(SECOND)
    results = {}
    go = threading.Barrier(2)

    def claim(who, con):
        go.wait(5)
        results[who] = con.post("/api/alert/%s/claim" % aid)

    threads = [threading.Thread(target=claim, args=(w, con))
               for w, con in ((OPERATOR, a), (SECOND, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(s for s, _ in results.values())
    assert statuses == [200, 409], results
    winner = [w for w, (s, _) in results.items() if s == 200][0]
    loser = [w for w, (s, _) in results.items() if s == 409][0]
    assert results[loser][1] == {"error": "claimed", "owner": winner}
    assert results[winner][1] == {"owner": winner}
    # the queue says who
    assert c.alerts()[0]["owner"] == winner
    assert c.alerts()[0]["time_to_claim_s"] >= 0
    # the loser cannot release it; the winner can, then the other takes it
    lc = a if loser == OPERATOR else b
    wc = b if lc is a else a
    assert lc.post("/api/alert/%s/release" % aid)[0] == 403  # not_holder (console_hold.c)
    assert wc.post("/api/alert/%s/release" % aid)[0] == 200
    assert lc.post("/api/alert/%s/claim" % aid) == (200, {"owner": loser})
    # an unknown alert, a bad id
    assert a.post("/api/alert/%s/claim" % ("ab" * 16))[0] == 404
    assert a.post("/api/alert/xyz/claim")[0] == 404
    with db(c) as d:
        rows = d.execute("SELECT kind, actor FROM timeline WHERE alert_id = ?"
                         " ORDER BY id", (aid,)).fetchall()
    assert rows == [("webhook", "relay"), ("claimed", winner), ("released", winner),
                    ("claimed", loser)]


def test_supervisor_may_release_anyones_claim(solo):
    env, c = solo
    aid = alert_in(env, c)
    c.add_user(SECOND, role="supervisor")
    c.login()
    assert c.post("/api/alert/%s/claim" % aid)[0] == 200
    c.cookie = None
    c.login(SECOND)
    assert c.post("/api/alert/%s/release" % aid)[0] == 200
    tl = json.loads(c.get("/api/alert/%s" % aid)[2])["timeline"]
    assert [(e["kind"], e["actor"], e["detail"]) for e in tl[-1:]] == [
        ("released", SECOND, OPERATOR)]


def test_notes_closure_and_the_timeline(solo):
    env, c = solo
    aid = alert_in(env, c, alert_type="threat", message="Auto voor de deur")
    c.login()
    assert c.post("/api/alert/%s/claim" % aid)[0] == 200
    assert c.post("/api/alert/%s/note" % aid,
                  {"text": "Gebeld, geen gehoor"})[0] == 200
    assert c.post("/api/alert/%s/note" % aid,
                  {"text": "Correctie: wel gehoor, alles goed"})[0] == 200
    assert c.post("/api/alert/%s/note" % aid, {"text": ""})[0] == 400
    assert c.post("/api/alert/%s/close" % aid,
                  {"outcome": "kapot", "note": ""})[0] == 400
    assert c.post("/api/alert/%s/close" % aid,
                  {"outcome": "false_alarm", "note": "buurman"}) == (
        200, {"outcome": "false_alarm"})
    # the relay's later notice is stored and shown too, as the relay's
    # word (no device signature)
    body = json.dumps({"type": "alert.cancelled", "alert_id": aid,
                       "recipient_id": RID}).encode()
    assert c.hook(resign(env, body, "msg_cancel"), body) == 200
    status, _, raw = c.get("/api/alert/%s" % aid)
    a = json.loads(raw)
    assert status == 200 and a["message"] == "Auto voor de deur"
    assert a["state"] == "closed" and a["outcome"] == "false_alarm"
    assert [(e["kind"], e["actor"]) for e in a["timeline"]] == [
        ("received", "relay"), ("claimed", OPERATOR), ("note", OPERATOR),
        ("note", OPERATOR), ("closed", OPERATOR),
        ("cancelled_relay", "relay")]
    assert a["timeline"][4]["detail"] == "false_alarm: buurman"
    # closed: nobody claims it any more
    c.post("/api/alert/%s/release" % aid)
    assert c.post("/api/alert/%s/claim" % aid) == (409, {"error": "closed"})
    # append-only, in the database itself
    d = sqlite3.connect(str(c.state / "console.db"))
    try:
        for sql in ("UPDATE timeline SET detail = 'weg'",
                    "DELETE FROM timeline"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                d.execute(sql)
    finally:
        d.close()


def test_export_json_and_csv(solo):
    env, c = solo
    evil = '=HYPERLINK("http://evil.example","klik"), "quote"\nline'
    aid = alert_in(env, c, alert_type="panic", message=evil)
    other = alert_in(env, c, alert_type="test", message="+31 6 proef")
    c.login()
    assert c.post("/api/alert/%s/claim" % aid)[0] == 200
    assert c.post("/api/alert/%s/note" % aid, {"text": "@SUM(A1)"})[0] == 200
    status, headers, raw = c.get("/api/export?alert=%s&format=json" % aid)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert headers["Content-Disposition"].startswith("attachment;")
    out = json.loads(raw)
    assert out["exported_by"] == OPERATOR
    (a,) = out["alerts"]
    assert a["alert_id"] == aid and a["message"] == evil
    # the export is on the record before a byte of it is sent (it is
    # streamed in chunks: a browser that leaves half-way was still seen)
    assert [e["kind"] for e in a["timeline"]] == ["received", "claimed",
                                                  "note", "exported"]
    status, headers, raw = c.get("/api/export?alert=%s&format=csv" % aid)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert rows[0] == ["alert_id", "type", "device", "created_at", "message",
                       "at", "kind", "actor", "detail"]
    # received, claimed, the note, the JSON export before and this one
    assert [r[6] for r in rows[1:]] == ["received", "claimed", "note",
                                        "exported", "exported"], rows
    # quoted as one cell each, and no cell starts a formula
    assert all(len(r) == 9 for r in rows)
    assert rows[1][4] == "'" + evil
    assert rows[3][8] == "'@SUM(A1)"
    for r in rows[1:]:
        for cell in r:
            assert cell[:1] not in ("=", "+", "-", "@"), cell
    # a period: both alerts
    now = int(time.time())
    status, _, raw = c.get("/api/export?from=%d&to=%d&format=json"
                           % (now - 60, now + 60))
    assert sorted(x["alert_id"] for x in json.loads(raw)["alerts"]) == \
        sorted([aid, other])
    status, _, raw = c.get("/api/export?from=%d&to=%d&format=csv"
                           % (now - 60, now + 60))
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert "'+31 6 proef" in [r[4] for r in rows]
    assert c.get("/api/export?from=%d&to=%d" % (now + 60, now + 120))[0] == 200
    assert c.get("/api/export")[0] == 400
    assert c.get("/api/export?alert=%s" % aid, headers={})[0] == 401
    # every export is on record, with who
    with db(c) as d:
        n = d.execute("SELECT COUNT(*) FROM timeline WHERE kind = 'exported'"
                      " AND actor = ?", (OPERATOR,)).fetchone()[0]
    assert n == 5


def scrape(mport):
    """GET /metrics: the text, and its samples by name."""
    conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=10)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        assert r.status == 200
        text = r.read().decode()
    finally:
        conn.close()
    return text, dict(l.rsplit(" ", 1) for l in text.splitlines()
                      if not l.startswith("#"))


def promtool_check(text):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian's prometheus, in "
                    "scripts/install-deps.sh)", pytrace=False)
    cp = harness.run([promtool, "check", "metrics"], timeout=30, input=text)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def moved(before, after):
    """The samples that changed, by how much, but the sums (seconds: a
    claim may fall in the next second); those within 0..10 (the first
    bucket)."""
    for k in after:
        if k.endswith("_sum"):
            assert 0 <= int(after[k]) - int(before[k]) <= 10, (k, before,
                                                                 after)
    return {k: int(after[k]) - int(before[k]) for k in after
            if after[k] != before.get(k) and not k.endswith("_sum")}


def one_more(name):
    """What one observation of a few seconds moves in histogram name."""
    return {name + "_count": 1, name + '_bucket{le="+Inf"}': 1,
            **{name + '_bucket{le="%d"}' % b: 1
               for b in (10, 30, 60, 120, 300, 600, 1800)}}


def notice(env, c, kind, aid, msg_id, sk=None):
    """The relay's notice (alert.acknowledged, ...) of alert aid, signed
    as the relay signs it; with sk, carrying the acknowledgement
    statement the recipient signed with it (else only the relay's word,
    which the metrics do not count as an acknowledgement)."""
    o = {"type": kind, "alert_id": aid, "recipient_id": RID,
         "acknowledged_by": "Jan (sms)"}
    if sk is not None:
        from test_console_notice import statement
        o["statement"] = statement(sk, aid, "0" * 64, by="Jan")
    b = json.dumps(o).encode()
    assert c.hook(resign(env, b, msg_id), b) == 200


CLAIM = "alertconsole_time_to_claim_seconds"
ACK = "alertconsole_time_to_ack_seconds"


@pytest.mark.hard_timeout(90)
def test_metrics(lab):
    """The counts and histograms are kept in memory (read from the
    database once at start, moved at each delivery, claim and
    acknowledgement as it commits): each alert counts once, a restart
    shows the same figures, and promtool takes the text."""
    env = lab.env()
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = base64.b64encode(bytes(sk.verify_key)).decode()
    env.use_directory()
    mport = harness.free_port()
    c = Console(lab, env, extra={
        "metrics_listen": "127.0.0.1:%d" % mport}).start()
    c.add_user("Kees Bakker", role="supervisor")
    a1 = alert_in(env, c)
    a2 = alert_in(env, c)

    def metrics():
        return scrape(mport)[1]

    m = metrics()
    assert m["alertconsole_alerts_waiting"] == "2"
    assert m["alertconsole_alerts_total"] == "2"
    assert m[CLAIM + "_count"] == "0"
    c.login()
    assert c.post("/api/alert/%s/claim" % a1)[0] == 200
    m2 = metrics()
    assert moved(m, m2) == {"alertconsole_alerts_waiting": -1,
                            **one_more(CLAIM)}
    # a scrape with nothing new is the same answer
    m = m2
    assert metrics() == m
    # a second claim of the same alert (after a release) is not a new
    # time to claim; the second alert's is
    assert c.post("/api/alert/%s/release" % a1)[0] == 200
    assert c.post("/api/alert/%s/claim" % a1)[0] == 200
    assert metrics() == m
    assert c.post("/api/alert/%s/claim" % a2)[0] == 200
    m2 = metrics()
    assert m2["alertconsole_alerts_waiting"] == "0"
    assert m2[CLAIM + "_count"] == "2"
    assert int(m2[CLAIM + "_sum"]) <= 10
    # acknowledged elsewhere (the relay's notice with the recipient's
    # signed statement): one time to ack; the relay's repeat of the
    # notice is not a second, nor is its word alone
    m = m2
    notice(env, c, "alert.acknowledged", a2, "msg_ack2", sk)
    notice(env, c, "alert.acknowledged", a2, "msg_ack2_again", sk)
    notice(env, c, "alert.acknowledged", a2, "msg_ack2_relay")
    m2 = metrics()
    assert moved(m, m2) == one_more(ACK)
    # a notice that comes before its alert: counted when the alert comes,
    # and a second delivery of that alert is not a second alert
    m = m2
    h3, b3, inner3 = make_webhook(env, RID, alert_type="panic")
    notice(env, c, "alert.acknowledged", inner3["alert_id"], "msg_ack3", sk)
    assert metrics() == m
    assert c.hook(h3, b3) == 200
    o = json.loads(b3)
    o.update(type="alert.escalated", tier=1)
    b3b = json.dumps(o, separators=(",", ":")).encode()
    assert c.hook(resign(env, b3b, "msg_tier1"), b3b) == 200
    m2 = metrics()
    assert moved(m, m2) == {"alertconsole_alerts_total": 1, **one_more(ACK)}
    # a supervisor's take-over of an alert nobody held is its claim
    m = m2
    a4 = alert_in(env, c)
    c.cookie = None
    c.login("Kees Bakker")
    assert c.post("/api/alert/%s/takeover" % a4)[0] == 200
    m2 = metrics()
    assert m2["alertconsole_alerts_total"] == "4"
    assert int(m2[CLAIM + "_count"]) == int(m[CLAIM + "_count"]) + 1
    assert c.post("/api/alert/%s/close" % a4,
                  {"outcome": "test", "note": ""})[0] == 200
    text, before = scrape(mport)
    promtool_check(text)
    # a restart reads the same figures from the database
    c.proc.stop()
    c.start()
    text2, after = scrape(mport)
    assert after == before
    assert text2 == text
    # a scrape reads no history: a claim written behind the console's
    # back (not through it) shows only once a restart reads the history
    with sqlite3.connect(str(c.state / "console.db")) as d:
        d.execute("INSERT INTO timeline (alert_id, at, kind, actor) "
                  "SELECT alert_id, MIN(stored_at), 'claimed', 'elders' "
                  "FROM webhook WHERE alert_id = ? AND is_alert = 1",
                  (inner3["alert_id"],))
    assert scrape(mport)[1] == after
    c.proc.stop()
    c.start()
    assert moved(after, scrape(mport)[1]) == one_more(CLAIM)
    # not on the page's listener, and nothing else on this one
    assert c.get("/metrics")[0] == 404
    conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=10)
    conn.request("GET", "/api/alerts")
    assert conn.getresponse().status == 404
    conn.close()


class RelayStack:
    pass


def relay_stack(lab, second_tier_s=5):
    """A real relay (Redis, the ack listener on HTTPS) whose default
    policy reaches the console (tier 0, its webhook) and then oncall-1 (a
    WebhookRecorder) after second_tier_s; the console holds the contact
    point's ack token and the relay's pin.  The console is not started."""
    st = RelayStack()
    st.env = env = lab.env()
    port = harness.free_port()
    env.recipient(RID).webhook_port = port
    env.recipient(RID).webhook_path = "/hook/" + RID
    st.oncall = lab.recorder(env.recipient("oncall-1").secret_text)
    env.recipient("oncall-1").webhook_port = st.oncall.port
    st.ack_port = harness.free_port()
    env.ack = {"listen": "127.0.0.1:%d" % st.ack_port}
    st.token = harness.new_token()
    token_file = harness.write_secret(env.dir / "contactpunt.ack", st.token)
    env.recipient_extra[RID] = {"ack_token_file": token_file}
    env.policies = {
        "default": {"types": "panic threat",
                    "tier": ["0 %s:webhook" % RID,
                             "%d oncall-1:webhook" % second_tier_s]},
        "test": {"types": "test", "tier": "0 %s:webhook" % RID}}
    env.write_relay_conf()
    st.mport = harness.free_port()
    st.console = Console(lab, env, port=port, extra={
        "metrics_listen": "127.0.0.1:%d" % st.mport}, rcpt_extra={RID: {
        "ack_url": "https://127.0.0.1:%d" % st.ack_port,
        "ack_token_file": token_file, "ack_pin": env.pin}})
    st.redis = lab.redis(env)
    st.relay = lab.relay(env)
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % st.ack_port,
                           "stderr", 10)
    return st


@pytest.mark.hard_timeout(120)
def test_ack_in_the_console_stops_escalation(lab):
    """The relay's ack listener (HTTPS, pinned) takes the console's
    acknowledgement with the operator's name: the second tier (a webhook
    recorder, due 5 s after the alert) never comes, the relay's state is
    acknowledged by the operator, and the sender's `alertctl send --wait
    ack` prints the operator's name."""
    st = relay_stack(lab)
    env, console, redis, relay = st.env, st.console, st.redis, st.relay
    oncall, ack_port, token = st.oncall, st.ack_port, st.token
    console.start()
    console.login()
    t_send = time.monotonic()
    p = lab.send_proc(env, "--type", "panic", "--message", "Hulp nodig",
                      "--wait", "ack", "--wait-timeout", "40",
                      "--timeout", "20")
    m = p.wait_for(r"^alert_id=([0-9a-f]{32})$", "stdout", timeout=15)
    aid = m.group(1)
    harness.wait_until(lambda: any(a["alert_id"] == aid
                                   for a in console.alerts()), 10,
                       what="the alert in the console")
    status, body = console.post("/api/alert/%s/ack" % aid)
    assert status == 200, body
    assert time.monotonic() - t_send < 4, "too slow to mean anything"
    r = redis.client()
    h = r.hgetall("alertrelay:alert:" + aid)
    assert h["state"] == "acknowledged", h
    assert h["acked_by"] == "%s (%s)" % (OPERATOR, "Contactpunt"), h
    rc = p.wait_exit(15)
    out = p.snapshot("stdout")
    assert rc == 0, (out, p.text())
    assert any("acknowledged" in l and OPERATOR in l for l in out), out
    # the console shows it: held and acknowledged by the operator
    a = [x for x in console.alerts() if x["alert_id"] == aid][0]
    assert a["owner"] == OPERATOR and a["acked_by"] == OPERATOR
    assert a["time_to_ack_s"] is not None
    m = scrape(st.mport)[1]
    assert m[ACK + "_count"] == "1" and m[CLAIM + "_count"] == "1", m
    # the second tier, due at 5 s, never comes
    time.sleep(max(0.0, t_send + 5 + 2.5 - time.monotonic()))
    assert oncall.snapshot() == [], oncall.snapshot()
    # the relay's own notice of the acknowledgement, if it came, is
    # not a second one
    assert scrape(st.mport)[1][ACK + "_count"] == "1"
    # the relay takes a name only as {"by": one line of text}
    ctx = harness.tls13_context(str(env.cert))
    for bad in (b'{"by":"a\nb"}', b'{"by":5}', b'[]', b'{"by":""}',
                b'{"by":"%s"}' % (b"x" * 65), b"by=Jan"):
        conn = http.client.HTTPSConnection("127.0.0.1", ack_port, timeout=10,
                                           context=ctx)
        conn.request("POST", "/v1/alerts/%s/ack" % aid, bad, {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        conn.close()
        assert r.status == 400, (bad, r.status)
    assert redis.client().hgetall("alertrelay:alert:" + aid)["acked_by"] == \
        "%s (Contactpunt)" % OPERATOR
    # no alert content in either log
    assert "Hulp nodig" not in relay.proc.text("stderr")
    assert "Hulp nodig" not in console.proc.text("stderr")


def test_ack_without_an_ack_url(solo):
    env, c = solo
    aid = alert_in(env, c)
    c.login()
    assert c.post("/api/alert/%s/ack" % aid) == (501, {"error": "no ack_url"})


def test_ack_when_the_relay_does_not_answer(lab):
    """A relay that is down: the operator hears so (504) within the
    connect timeout, and the console serves everyone meanwhile (the
    request runs on the event loop, not in it)."""
    env = lab.env()
    tok = harness.write_secret(env.dir / "t.ack", harness.new_token())
    c = Console(lab, env, rcpt_extra={RID: {
        "ack_url": "https://127.0.0.1:%d/" % harness.free_port(),
        "ack_token_file": tok, "ack_pin": env.pin}}).start()
    aid = alert_in(env, c)
    c.login()
    assert c.post("/api/alert/%s/ack" % aid) == (504, {"error": "unreachable"})
    a = c.alerts()[0]
    assert a["acked_by"] is None and a["owner"] == OPERATOR


def test_user_add_as_root_without_user_becomes_the_state_owner(lab):
    """Under systemd's DynamicUser= the configuration names no user: run
    as root, `alertconsole user add` works as the state directory's owner
    (the database stays the console's), reached from inside the
    directory (systemd keeps it behind /var/lib/private, 0700)."""
    import os
    import pwd
    if os.geteuid() != 0:
        pytest.skip("needs root")
    env = lab.env()
    c = Console(lab, env)
    c.conf.write_text("\n".join(l for l in c.conf.read_text().splitlines()
                                if not l.startswith("user = ")) + "\n")
    private = lab.tmp / "private"
    private.mkdir(mode=0o700)
    state = private / "console"
    state.mkdir(mode=0o700)
    harness.hand_to_daemon_user(state)
    c.conf.write_text(c.conf.read_text().replace(
        "state_dir = %s" % c.state, "state_dir = %s" % state))
    cp = c.user("add", OPERATOR)
    assert cp.returncode == 0, cp.stderr
    owner = pwd.getpwnam(harness.DAEMON_USER).pw_uid
    files = list(state.iterdir())
    assert files and all(f.stat().st_uid == owner for f in files), files
    assert c.user("list").stdout.startswith(OPERATOR + "\t")
