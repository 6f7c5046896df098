"""alertconsole's exports (console/console_export.c), at their edges: a
period of more alerts than the old cap of 2000 comes out whole (paged by
row id, no list of the period held); an export past export_timeout is
cut off without its last chunk, and beyond max_exports another is
answered 503 with Retry-After in the operator's language; an unknown
alert is 404 with nothing recorded; HEAD answers the headers only and
opens nothing; the period's timeline row says which period; a
cross-site request is refused (and the session cookie is SameSite=Strict
anyway).  A browser that stops reading and then leaves is in
test_console_history_load.py."""

import csv
import http.client
import io
import json
import socket
import sqlite3
import time

import pytest

from test_console import Console, OPERATOR, PASSWORD, RID, make_webhook

pytestmark = pytest.mark.needs("alertconsole")

OLD_CAP = 2000


def stuff_alerts(env, c, n, message=None):
    """n alerts put straight into the stopped console's database, as its
    webhook handler stores them (the webhook row and its timeline row;
    the triggers do the rest), fast; the console started again and
    logged in.  Their ids, oldest first."""
    c.proc.stop()
    now = int(time.time())
    ids = []
    d = sqlite3.connect(str(c.state / "console.db"))
    try:
        for i in range(n):
            headers, body, inner = make_webhook(
                env, RID, alert_type="test",
                message=message if message is not None else "nr %d" % i)
            aid = inner["alert_id"]
            cur = d.execute(
                "INSERT INTO webhook (stored_at, webhook_id, recipient_id,"
                " type, alert_id, shown_key, is_alert, repeat, stale, body)"
                " VALUES (?, ?, ?, 'alert.raised', ?, ?, 1, 0, 0, ?)",
                (now, headers["webhook-id"], RID, aid, "stuffed:" + aid,
                 body))
            d.execute("INSERT INTO timeline (alert_id, at, kind, actor,"
                      " detail) VALUES (?, ?, 'webhook', 'relay', ?)",
                      (aid, now, str(cur.lastrowid)))
            ids.append(aid)
        d.commit()
    finally:
        d.close()
    c.start()
    c.cookie = None
    c.login(c.who)
    return ids


def console(lab, **extra):
    env = lab.env()
    c = Console(lab, env, extra={k: str(v) for k, v in extra.items()})
    c.start()
    c.who = OPERATOR
    c.login(OPERATOR)
    return env, c


def period(pad=300):
    now = int(time.time())
    return "from=%d&to=%d" % (now - pad, now + pad)


def export(c, query, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=60)
    try:
        h = dict(c.auth())
        h.update(headers or {})
        conn.request(method, "/api/export?" + query, headers=h)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def exported_rows(c):
    with sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                         uri=True) as d:
        return d.execute("SELECT alert_id, actor, detail FROM timeline WHERE"
                         " kind = 'exported' ORDER BY id").fetchall()


@pytest.mark.hard_timeout(180)
def test_a_period_of_more_than_the_old_cap_is_exported_whole(lab):
    env, c = console(lab)
    ids = stuff_alerts(env, c, OLD_CAP + 7)
    status, headers, raw = export(c, period() + "&format=json")
    assert status == 200 and headers["Transfer-Encoding"] == "chunked"
    out = json.loads(raw)
    got = [a["alert_id"] for a in out["alerts"]]
    assert len(got) == OLD_CAP + 7, "%d of %d" % (len(got), OLD_CAP + 7)
    assert got == ids
    assert [a["message"] for a in out["alerts"][-3:]] == \
        ["nr %d" % i for i in range(OLD_CAP + 4, OLD_CAP + 7)]
    c.proc.wait_for(r"export done operator=\"%s\" alerts=%d " %
                    (OPERATOR, OLD_CAP + 7), timeout=10)
    status, _, raw = export(c, period() + "&format=csv")
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert status == 200 and {r[0] for r in rows[1:]} == set(ids)


def stalled_reader(c, query):
    """A browser with a small receive buffer that asks for an export,
    takes the first bytes and then stops reading."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", c.port))
    s.sendall(("GET /api/export?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Cookie: %s\r\n\r\n" % (query, c.port, c.cookie)).encode())
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return s


@pytest.mark.hard_timeout(180)
def test_export_time_limit_and_the_cap_on_exports_at_once(lab):
    env, c = console(lab, export_timeout=3, max_exports=1)
    stuff_alerts(env, c, 1200, message='"' * 4000)
    mark = len(c.proc.text().splitlines())
    s = stalled_reader(c, period() + "&format=json")
    try:
        c.proc.wait_for(r"export started operator=", timeout=15, start=mark)
        # the one export there may be is under way: another is refused,
        # in words the operator reads, with when to try again
        status, h, raw = export(c, period() + "&format=csv")
        assert status == 503 and h["Retry-After"] == "30"
        assert h["Content-Type"].startswith("text/plain")
        assert h["Content-Language"] == "nl"
        assert "te veel exports" in raw.decode()
        status, h, raw = export(c, period(), headers={
            "Accept-Language": "en-GB,en;q=0.8"})
        assert status == 503 and h["Content-Language"] == "en"
        assert "Too many exports" in raw.decode()
        c.proc.wait_for(r"export refused operator=\"%s\" reason=max_exports"
                        % OPERATOR, timeout=5, start=mark)
        # cut off at the time limit: logged, and the download never ends
        # with the last chunk (a short export must not look whole)
        m = c.proc.wait_for(r"export ended early operator=\"%s\" "
                            r"reason=timeout alerts=(\d+) " % OPERATOR,
                            timeout=15, start=mark)
        assert int(m.group(1)) < 1200
        s.settimeout(10)
        data = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
        assert not data.endswith(b"\r\n0\r\n\r\n")
    finally:
        s.close()
    # the slot is free again (an hour without alerts: the 1200 would take
    # longer than export_timeout to write out on a loaded machine, and cut
    # off, as above)
    now = int(time.time())
    status, _, raw = export(c, "from=%d&to=%d&format=csv" % (now - 7200,
                                                             now - 3600))
    assert status == 200, raw[:200]


def test_unknown_alert_head_period_record_and_other_sites(lab):
    env, c = console(lab)
    headers, body, inner = make_webhook(env, RID, alert_type="panic")
    assert c.hook(headers, body) == 200
    aid = inner["alert_id"]
    # a well-formed id of no alert: 404, and nothing on the record
    status, _, raw = export(c, "alert=%s&format=json" % ("0" * 32))
    assert status == 404 and json.loads(raw)["error"] == "no such alert"
    assert export(c, "alert=unknown&format=json")[0] == 404
    assert exported_rows(c) == []
    # HEAD: the download's headers, nothing opened, nothing recorded
    mark = len(c.proc.text().splitlines())
    status, h, raw = export(c, "alert=%s&format=csv" % aid, method="HEAD")
    assert status == 200 and raw == b""
    assert h["Content-Type"].startswith("text/csv")
    assert h["Content-Disposition"].startswith("attachment;")
    assert export(c, "alert=%s&format=csv" % ("0" * 32),
                  method="HEAD")[0] == 404
    assert exported_rows(c) == []
    assert "export started" not in "\n".join(
        c.proc.text().splitlines()[mark:])
    # a period's row says which period
    frm, to = 1767225600, 1767312000  # 2026-01-01 and -02, UTC
    status, _, raw = export(c, "from=%d&to=%d&format=json" % (frm, to))
    assert status == 200 and json.loads(raw)["alerts"] == []
    assert exported_rows(c) == [
        ("*", OPERATOR, "json from=2026-01-01T00:00:00Z "
                        "to=2026-01-02T00:00:00Z")]
    # another site's page cannot have a logged-in browser export: the
    # cookie is SameSite=Strict (a cross-site request comes without it,
    # 401), and one that came with it is refused by where it came from
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    try:
        conn.request("POST", "/api/login", json.dumps(
            {"name": OPERATOR, "password": PASSWORD}),
            {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        assert "SameSite=Strict" in r.getheader("Set-Cookie")
    finally:
        conn.close()
    for bad in ({"Sec-Fetch-Site": "cross-site"},
                {"Origin": "http://evil.example"},
                {"Sec-Fetch-Site": "same-site"}):
        status, _, raw = export(c, "alert=%s&format=json" % aid,
                                headers=bad)
        assert status == 403 and json.loads(raw)["error"] == "cross-origin"
    assert export(c, "alert=%s&format=json" % aid,
                  headers={"Cookie": ""})[0] == 401
    assert len(exported_rows(c)) == 1
    # from the console's own page, or typed in: as before
    for fine in ({"Sec-Fetch-Site": "same-origin"},
                 {"Sec-Fetch-Site": "none"}):
        assert export(c, "alert=%s&format=json" % aid,
                      headers=fine)[0] == 200
    assert [r[0] for r in exported_rows(c)] == ["*", aid, aid]

