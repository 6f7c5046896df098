"""Who may do what to an alert in alertconsole (console/console_hold.c),
over HTTP against a real console with two operators and a supervisor:
only the holder or a supervisor closes, and only once (409 "closed"
after); nobody releases, claims, acknowledges or takes over a closed
alert; a note on a closed alert is a supervisor's correction only; a
supervisor takes an alert over from its holder and the timeline says
from whom; an operator cannot, nor a supervisor what they hold already;
a failed lookup of the closure is a 500, not "open".  And the queue's own table of open
alerts: a closed alert leaves it, an old open one stays in the queue
however much history follows, and the one-alert and queue queries use
their indexes (EXPLAIN QUERY PLAN on the console's own database)."""

import json
import sqlite3

import pytest

from test_console import Console, OPERATOR, RID, make_webhook, resign

pytestmark = pytest.mark.needs("alertconsole")

SECOND = "Fatima el Amrani"
SUPER = "Kees Bakker"


def alert_in(env, console, **kw):
    headers, body, inner = make_webhook(env, RID, **kw)
    assert console.hook(headers, body) == 200
    return inner["alert_id"]


def session(c, name, role="operator"):
    """Another logged-in browser on the same console."""
    s = Console.__new__(Console)
    s.__dict__.update(c.__dict__)
    s.cookie = None
    s.add_user(name, role=role)
    s.login(name)
    c.users.add(name)
    return s


def timeline(c, aid):
    status, _, raw = c.get("/api/alert/%s" % aid)
    assert status == 200, raw
    return [(e["kind"], e["actor"], e["detail"])
            for e in json.loads(raw)["timeline"]]


@pytest.fixture
def three(lab):
    env = lab.env()
    c = Console(lab, env).start()
    a = session(c, OPERATOR)
    b = session(c, SECOND)
    s = session(c, SUPER, role="supervisor")
    return env, c, a, b, s


CLOSE = {"outcome": "handled", "note": "gebeld"}


def test_only_the_holder_or_a_supervisor_closes_and_only_once(three):
    env, c, a, b, s = three
    aid = alert_in(env, c, alert_type="panic")
    url = "/api/alert/%s/" % aid
    # nobody holds it: an operator must claim it first
    assert b.post(url + "close", CLOSE) == (
        403, {"error": "not_holder", "owner": None})
    assert a.post(url + "claim")[0] == 200
    # someone else's: not the second operator's to close or release
    assert b.post(url + "close", CLOSE) == (
        403, {"error": "not_holder", "owner": OPERATOR})
    assert b.post(url + "release") == (
        403, {"error": "not_holder", "owner": OPERATOR})
    assert a.post(url + "close", CLOSE) == (200, {"outcome": "handled"})
    # once: a second closure, by anyone, is refused
    for who in (a, b, s):
        assert who.post(url + "close", {"outcome": "test", "note": ""}) == (
            409, {"error": "closed"})
    # and nothing else changes a closed alert
    assert a.post(url + "release") == (409, {"error": "closed"})
    assert b.post(url + "claim") == (409, {"error": "closed"})
    assert b.post(url + "ack") == (409, {"error": "closed"})
    assert s.post(url + "takeover") == (409, {"error": "closed"})
    assert b.post(url + "note", {"text": "nog iets"}) == (
        409, {"error": "closed"})
    # a supervisor's correction is a new row after the closure
    assert s.post(url + "note", {"text": "Correctie: politie gebeld"})[0] == 200
    tl = timeline(c, aid)
    assert [k for k, _, _ in tl].count("closed") == 1, tl
    assert tl[-2:] == [("closed", OPERATOR, "handled: gebeld"),
                       ("note", SUPER, "Correctie: politie gebeld")]
    a_ = [x for x in c.alerts() if x["alert_id"] == aid][0]
    assert a_["state"] == "closed" and a_["outcome"] == "handled"
    assert a_["owner"] == OPERATOR


def test_a_supervisor_takes_over_and_closes(three):
    env, c, a, b, s = three
    aid = alert_in(env, c, alert_type="threat")
    url = "/api/alert/%s/" % aid
    assert a.post(url + "claim")[0] == 200
    # an operator cannot take it from a colleague
    assert b.post(url + "takeover") == (403, {"error": "supervisor"})
    assert s.post(url + "takeover") == (200, {"owner": SUPER,
                                              "from": OPERATOR})
    assert [x["owner"] for x in c.alerts() if x["alert_id"] == aid] == [SUPER]
    assert timeline(c, aid)[-1] == ("taken_over", SUPER, OPERATOR)
    # the former holder no longer closes it; the supervisor does
    assert a.post(url + "close", CLOSE) == (
        403, {"error": "not_holder", "owner": SUPER})
    assert s.post(url + "close", CLOSE)[0] == 200
    # a supervisor may close another's alert without taking it over
    aid2 = alert_in(env, c, alert_type="panic")
    assert b.post("/api/alert/%s/claim" % aid2)[0] == 200
    assert s.post("/api/alert/%s/close" % aid2,
                  {"outcome": "false_alarm", "note": ""}) == (
        200, {"outcome": "false_alarm"})
    tl = timeline(c, aid2)
    assert tl[-1] == ("closed", SUPER, "false_alarm")
    # taking over an unclaimed alert is a claim
    aid3 = alert_in(env, c, alert_type="test")
    assert s.post("/api/alert/%s/takeover" % aid3) == (
        200, {"owner": SUPER, "from": None})
    assert timeline(c, aid3)[-1] == ("claimed", SUPER, "")
    # taking over what one holds already: 409, nothing on the record and
    # no "taken over ... from" oneself in the log
    n = len(timeline(c, aid3))
    mark = len(c.proc.text().splitlines())
    assert s.post("/api/alert/%s/takeover" % aid3) == (409,
                                                       {"error": "yours"})
    assert len(timeline(c, aid3)) == n
    assert "taken over alert=%s" % aid3 not in "\n".join(
        c.proc.text().splitlines()[mark:])


def test_a_database_error_on_the_closure_is_a_500(three):
    """When the lookup of an alert's closure fails, the console says so
    (500, a log line) and changes nothing; it took the failure for "not
    closed", and a supervisor could take over a closed alert.  The
    closure row is made unreadable from outside: the timeline becomes a
    view whose detail of a closure raises an error (SQLite's integer
    overflow), while every other row reads and inserts as before."""
    env, c, a, b, s = three
    aid = alert_in(env, c, alert_type="panic")
    url = "/api/alert/%s/" % aid
    assert a.post(url + "claim")[0] == 200
    assert a.post(url + "close", CLOSE)[0] == 200
    d = sqlite3.connect(str(c.state / "console.db"))
    try:
        d.executescript("""
            ALTER TABLE timeline RENAME TO timeline_kept;
            CREATE VIEW timeline AS SELECT id, alert_id, at, kind, actor,
              CASE WHEN kind = 'closed' THEN abs(-9223372036854775808)
              ELSE detail END AS detail FROM timeline_kept;
            CREATE TRIGGER timeline_in INSTEAD OF INSERT ON timeline BEGIN
              INSERT INTO timeline_kept (alert_id, at, kind, actor, detail)
              VALUES (NEW.alert_id, NEW.at, NEW.kind, NEW.actor,
                      NEW.detail); END;
        """)
    finally:
        d.close()
    mark = len(c.proc.text().splitlines())
    for who, action in ((s, "takeover"), (b, "claim"), (a, "release"),
                        (s, "close")):
        got = who.post(url + action, CLOSE if action == "close" else {})
        assert got == (500, {"error": "db"}), (action, got)
    c.proc.wait_for(r"alert=%s: the database failed: 500" % aid, start=mark)
    with db(c) as ro:
        assert ro.execute("SELECT name FROM claim WHERE alert_id = ?",
                          (aid,)).fetchall() == [(OPERATOR,)]
        assert ro.execute("SELECT kind FROM timeline_kept WHERE alert_id ="
                          " ? AND kind IN ('taken_over', 'claimed',"
                          " 'released', 'closed')", (aid,)).fetchall() == [
            ("claimed",), ("closed",)]


def db(c):
    return sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                           uri=True)


def test_closed_alerts_leave_the_open_table_and_the_queue_stays_whole(three):
    env, c, a, b, s = three
    first = alert_in(env, c, alert_type="panic")
    closed = []
    for i in range(3):
        headers, body, inner = make_webhook(env, RID, alert_type="test")
        assert c.hook(headers, body) == 200
        aid = inner["alert_id"]
        assert s.post("/api/alert/%s/close" % aid,
                      {"outcome": "test", "note": ""})[0] == 200
        closed.append(aid)
    # a later delivery of a closed alert (the relay's next tier) does
    # not open it again
    o = json.loads(body)
    o.update({"type": "alert.escalated", "tier": 1})
    body2 = json.dumps(o, separators=(",", ":")).encode()
    assert c.hook(resign(env, body2, "msg_tier1"), body2) == 200
    with db(c) as d:
        open_ids = {r for r, in d.execute("SELECT alert_id FROM open_alert")}
    assert open_ids == {first}
    ids = {x["alert_id"]: x["state"] for x in c.alerts()}
    assert ids[first] == "open"
    assert all(ids[x] == "closed" for x in closed)


QUERIES = {
    # as console_db.c and console_work.c write them: the one-alert lookup,
    # one alert's closure (through timeline_alert, not every closure), and
    # the queue's
    "one": ("SELECT w.id FROM webhook w WHERE w.id = (SELECT MIN(id) FROM "
            "webhook WHERE alert_id = ?1 AND is_alert = 1)", ("x" * 32,)),
    "closure": ("SELECT detail FROM timeline WHERE alert_id = ?1 AND "
                "+kind = 'closed' AND id > (SELECT COALESCE(MAX(r.id), 0) "
                "FROM timeline r WHERE r.alert_id = ?1 AND +r.kind = "
                "'reopened') ORDER BY id DESC LIMIT 1", ("x" * 32,)),
    "newest closed": ("SELECT alert_id FROM timeline WHERE kind = 'closed' "
                      "ORDER BY id DESC LIMIT 50", ()),
    # the queue's bound: the longest-waiting open alerts in the index's
    # order (no sort of the whole table), and the open duress alarms
    # from the index of duress notices (not every webhook)
    "open": ("SELECT first_id FROM open_alert ORDER BY first_id LIMIT ?1",
             (500,)),
    "duress": ("SELECT o.first_id FROM webhook n JOIN open_alert o ON "
               "o.alert_id = n.alert_id WHERE n.type = 'alert.duress' AND "
               "n.recipient_id = (SELECT f.recipient_id FROM webhook f "
               "WHERE f.id = o.first_id)", ()),
    # the alerts waiting for a person first (console_db.h's
    # CONSOLE_DB_WAITING, also the metrics' gauge): the open alerts in
    # the index's order, each tested through one alert's indexes
    "waiting": ("SELECT first_id FROM open_alert o WHERE (NOT EXISTS "
                "(SELECT 1 FROM claim c WHERE c.alert_id = o.alert_id) AND "
                "NOT EXISTS (SELECT 1 FROM webhook n WHERE n.alert_id = "
                "o.alert_id AND n.type IN ('alert.acknowledged', "
                "'alert.cancelled') AND n.recipient_id = (SELECT "
                "f.recipient_id FROM webhook f WHERE f.id = o.first_id) AND "
                "notice_signed(n.id, n.recipient_id, n.type, n.body, "
                "(SELECT f.body FROM webhook f WHERE f.id = o.first_id)) "
                "AND NOT EXISTS (SELECT 1 FROM webhook d WHERE d.alert_id = "
                "o.alert_id AND +d.type = 'alert.duress' AND d.recipient_id "
                "= n.recipient_id AND (n.type = 'alert.cancelled' OR d.id > "
                "n.id))) AND NOT EXISTS (SELECT "
                "1 FROM timeline t WHERE t.alert_id = o.alert_id AND +t.kind "
                "IN ('closed', 'acknowledged') AND t.id > (SELECT "
                "COALESCE(MAX(r.id), 0) FROM timeline r WHERE r.alert_id = "
                "o.alert_id AND +r.kind = 'reopened'))) ORDER BY first_id "
                "LIMIT ?1", (500,)),
    # console_offline.c: the devices offline now, from one row per device
    "offline": ("SELECT recipient_id, device_id, last_seen, since FROM "
                "device_state WHERE offline = 1 ORDER BY since LIMIT ?1",
                (100,)),
    # console_notice_cap.c: the notices of one alert and type, on the
    # arrival of another
    "notice_cap": ("SELECT body FROM webhook WHERE alert_id = ?1 AND "
                   "type = ?2 AND recipient_id = ?3 ORDER BY id",
                   ("x" * 32, "alert.acknowledged", "contactpunt")),
    # console_metrics.c: one alert's ends, after each commit about it
    "metrics": ("SELECT (SELECT COUNT(*) FROM webhook WHERE alert_id = ?1 "
                "AND +is_alert = 1), (SELECT MIN(stored_at) FROM webhook "
                "WHERE alert_id = ?1 AND +is_alert = 1), (SELECT COUNT(*) "
                "FROM timeline WHERE alert_id = ?1 AND +kind = 'claimed'), "
                "(SELECT MIN(at) FROM timeline WHERE alert_id = ?1 AND "
                "+kind = 'claimed'), (SELECT COUNT(*) FROM timeline WHERE "
                "alert_id = ?1 AND +kind = 'acknowledged') + (SELECT "
                "COUNT(*) FROM webhook WHERE alert_id = ?1 AND +type = "
                "'alert.acknowledged'), (SELECT MIN(t) FROM (SELECT at AS t "
                "FROM timeline WHERE alert_id = ?1 AND +kind = "
                "'acknowledged' UNION ALL SELECT stored_at FROM webhook "
                "WHERE alert_id = ?1 AND +type = 'alert.acknowledged'))",
                ("x" * 32,)),
}


def test_per_request_queries_use_indexes(solo_console):
    c = solo_console
    with db(c) as d:
        # the console's own (console_notice.c), only planned here
        d.create_function("notice_signed", 5, lambda *a: 0)
        for name, (sql, args) in QUERIES.items():
            plan = " / ".join(r[3] for r in d.execute(
                "EXPLAIN QUERY PLAN " + sql, args))
            if name == "open":
                assert "COVERING INDEX open_alert_first" in plan, plan
                assert "TEMP B-TREE" not in plan, plan
                continue
            if name == "duress":
                assert "USING INDEX webhook_duress" in plan, plan
            if name == "waiting":
                # no sort of the open alerts: stops at the bound
                assert "SCAN o USING INDEX open_alert_first" in plan, plan
                assert "TEMP B-TREE" not in plan, plan
                assert plan.count("SCAN") == 1, plan
                assert plan.count("(alert_id=?") == 5, plan
                assert "(rowid=?)" in plan, plan
                continue
            assert "SCAN webhook" not in plan and \
                "SCAN timeline" not in plan, (name, plan)
            assert "USING" in plan and "INDEX" in plan, (name, plan)
            if name == "notice_cap":
                assert "TEMP B-TREE" not in plan, plan
            if name in ("one", "closure", "notice_cap"):
                assert "(alert_id=?)" in plan, (name, plan)
            if name == "offline":
                # no scan at all, and no sort: the index's order
                assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
                assert "device_state_offline (offline=?)" in plan, plan
            if name == "metrics":
                # every part through an index on the one alert
                assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), \
                    plan
                assert plan.count("(alert_id=?)") == 8, plan


@pytest.fixture
def solo_console(lab):
    env = lab.env()
    return Console(lab, env).start()


def test_statements_are_prepared_once(three):
    """The queries of each request are prepared once per database handle
    and reused (reset, bindings cleared), not compiled again for every
    page load, claim and closure: the console says at its end how many
    it kept and how often they served."""
    env, c, a, b, s = three
    ids = [alert_in(env, c, alert_type="panic") for _ in range(5)]
    for aid in ids:
        assert a.post("/api/alert/%s/claim" % aid)[0] == 200
        assert a.post("/api/alert/%s/note" % aid, {"text": "gebeld"})[0] \
            == 200
        assert len(c.alerts()) == 5
        assert timeline(c, aid)[-1][0] == "note"
        assert a.post("/api/alert/%s/close" % aid, CLOSE)[0] == 200
    c.proc.stop()
    m = c.proc.wait_for(r"database closed: statements=(\d+) prepared once,"
                        r" used (\d+) times", timeout=5)
    kept, used = int(m.group(1)), int(m.group(2))
    assert kept <= 40, m.group(0)
    # 5 alerts x (webhook, claim, note, queue, alert page, closure), each
    # several statements
    assert used >= 10 * kept, m.group(0)
