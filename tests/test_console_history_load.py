"""alertconsole with a long history (issue 12 review, console/console_db.c,
console/console_export.c): the queue lists every open alert and only the
CONSOLE_DB_CLOSED_SHOWN (50) newest closed ones, so an old open alert is
never pushed out by later closed ones and a night's history does not make
every page load open every alert again; a database of before the table of
open alerts gets it filled once at start; an export is sent in chunks
(HTTP/1.1 chunked, a few alerts per turn of the event loop), whole and
valid in JSON and CSV, and a browser that leaves half-way leaves the
console answering."""

import csv
import http.client
import io
import json
import sqlite3
import time

import pytest

import harness
from test_console import Console, OPERATOR, RID, make_webhook

pytestmark = pytest.mark.needs("alertconsole")

SUPER = "Kees Bakker"
CLOSED_SHOWN = 50


def alert_in(env, c, **kw):
    headers, body, inner = make_webhook(env, RID, **kw)
    assert c.hook(headers, body) == 200
    return inner["alert_id"]


@pytest.fixture
def sup(lab):
    env = lab.env()
    c = Console(lab, env).start()
    c.add_user(SUPER, role="supervisor")
    c.login(SUPER)
    return env, c


def close(c, aid):
    assert c.post("/api/alert/%s/close" % aid,
                  {"outcome": "test", "note": ""}) == (200, {"outcome": "test"})


@pytest.mark.hard_timeout(120)
def test_queue_keeps_old_open_alerts_and_only_the_newest_closed(sup):
    env, c = sup
    old = alert_in(env, c, alert_type="panic", message="de oudste")
    closed = []
    for _ in range(CLOSED_SHOWN + 5):
        aid = alert_in(env, c, alert_type="test")
        close(c, aid)
        closed.append(aid)
    new = alert_in(env, c, alert_type="threat")
    listed = {a["alert_id"]: a for a in c.alerts()}
    assert listed[old]["state"] == "open" and listed[old]["message"] == \
        "de oudste"
    assert new in listed
    shown = [a for a in listed if a in closed]
    # the newest closed ones, not the five oldest
    assert sorted(shown) == sorted(closed[-CLOSED_SHOWN:])
    assert len(listed) == CLOSED_SHOWN + 2
    # an older closed alert is still one click away
    status, _, raw = c.get("/api/alert/%s" % closed[0])
    assert status == 200 and json.loads(raw)["state"] == "closed"


def test_a_database_of_before_gets_its_open_alerts(lab):
    env = lab.env()
    c = Console(lab, env).start()
    c.add_user(SUPER, role="supervisor")
    c.login(SUPER)
    keep = alert_in(env, c, alert_type="panic")
    gone = alert_in(env, c, alert_type="test")
    close(c, gone)
    c.proc.stop()
    d = sqlite3.connect(str(c.state / "console.db"))
    try:
        d.execute("DROP TABLE open_alert")
        d.execute("PRAGMA user_version = 0")
        d.commit()
    finally:
        d.close()
    c.start()
    c.cookie = None
    c.login(SUPER)
    states = {a["alert_id"]: a["state"] for a in c.alerts()}
    assert states == {keep: "open", gone: "closed"}
    d = sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                        uri=True)
    try:
        assert d.execute("PRAGMA user_version").fetchone()[0] == 1
        assert [r for r, in d.execute("SELECT alert_id FROM open_alert")] \
            == [keep]
    finally:
        d.close()


def export(c, query):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    try:
        conn.request("GET", "/api/export?" + query, headers=c.auth())
        r = conn.getresponse()
        return r.status, r.getheader("Transfer-Encoding"), r.read()
    finally:
        conn.close()


@pytest.mark.hard_timeout(120)
def test_export_of_many_alerts_is_chunked_and_whole(sup):
    env, c = sup
    ids = [alert_in(env, c, alert_type="test", message="nr %d" % i)
           for i in range(45)]
    close(c, ids[0])
    now = int(time.time())
    q = "from=%d&to=%d" % (now - 120, now + 60)
    status, te, raw = export(c, q + "&format=json")
    assert status == 200 and te == "chunked"
    out = json.loads(raw)
    assert out["exported_by"] == SUPER
    assert [a["alert_id"] for a in out["alerts"]] == ids
    assert [a["message"] for a in out["alerts"]] == \
        ["nr %d" % i for i in range(45)]
    assert out["alerts"][0]["timeline"][-1]["kind"] == "closed"
    status, te, raw = export(c, q + "&format=csv")
    assert status == 200 and te == "chunked"
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert rows[0][0] == "alert_id" and all(len(r) == 9 for r in rows)
    assert {r[0] for r in rows[1:]} == set(ids)
    # an empty period is still a whole document
    status, te, raw = export(c, "from=%d&to=%d&format=json" % (now + 60,
                                                                 now + 120))
    assert status == 200 and json.loads(raw)["alerts"] == []


@pytest.mark.hard_timeout(120)
def test_a_browser_leaving_an_export_half_way(sup):
    env, c = sup
    for i in range(60):
        alert_in(env, c, alert_type="test", message="x" * 1500)
    now = int(time.time())
    for _ in range(5):
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
        conn.request("GET", "/api/export?from=%d&to=%d&format=json"
                     % (now - 120, now + 60), headers=c.auth())
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Transfer-Encoding") == \
            "chunked"
        r.read(100)
        conn.close()
    # still answering, and still whole for the next one
    harness.wait_until(lambda: c.get("/api/session")[0] == 200, 5,
                       what="the console after the dropped exports")
    status, _, raw = export(c, "from=%d&to=%d&format=json" % (now - 120,
                                                                now + 60))
    assert status == 200 and len(json.loads(raw)["alerts"]) == 60
    assert c.proc.running()
