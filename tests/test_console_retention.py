"""alertconsole's retention and erasure (console/console_retention*.c,
console/console_forget.c): with [retention] periods of seconds a closed
alert's webhooks go after alert_content and its timeline and claim after
alert_history, while an older open alert keeps everything; SQLite's
triggers refuse a direct DELETE of a young closed alert's timeline (and of
an open alert's webhooks), a backdated closure and a change to the
retention log; every sweep step and every change of the periods is in
retention_log; `alertconsole forget DEVICE --by NAME` erases one device's
alerts, notices and state and nothing of another's, refuses while one of
them is open unless --force, runs beside the running console and is
recorded without the device; a sweep of thousands of alerts goes in
bounded steps while the console answers its queue and takes webhooks.
All of it fails on the code of before (no [retention] section: the console
refuses its configuration; no forget command)."""

import json
import os
import sqlite3
import time

import pytest

import harness
import proto
from harness_env import _py_keygen
from test_console import (Console, OPERATOR, RID, console_bin, make_webhook,
                          resign)
from test_console_export import stuff_alerts
from test_console_history_load import device_notice

pytestmark = pytest.mark.needs("alertconsole")

SUPER = "Kees Bakker"
ADMIN = "FG gemeente"


def console(lab, env=None, extra=None, **retention):
    """A console with [retention] periods in seconds, a supervisor in."""
    env = env or lab.env()
    c = Console(lab, env, extra=extra)
    conf = {"sweep_interval": 1}
    conf.update(retention)
    c.conf.write_text(c.conf.read_text() + "\n[retention]\n" + "".join(
        "%s = %s\n" % kv for kv in conf.items()))
    c.start()
    c.add_user(SUPER, role="supervisor")
    c.login(SUPER)
    return env, c


def alert_in(env, c, **kw):
    headers, body, inner = make_webhook(env, RID, **kw)
    assert c.hook(headers, body) == 200
    return inner["alert_id"]


def close(c, aid):
    assert c.post("/api/alert/%s/claim" % aid)[0] == 200
    assert c.post("/api/alert/%s/close" % aid,
                  {"outcome": "test", "note": ""})[0] == 200


def db(c, write=False):
    return sqlite3.connect("file:%s?mode=%s" % (
        c.state / "console.db", "rw" if write else "ro"), uri=True,
        timeout=10)


def counts(c, aid):
    with db(c) as d:
        return tuple(d.execute("SELECT COUNT(*) FROM %s WHERE alert_id = ?"
                               % t, (aid,)).fetchone()[0]
                     for t in ("webhook", "timeline", "claim"))


def log_rows(c, what=None):
    with db(c) as d:
        return [dict(zip(("at", "by", "what", "rows", "detail"), r))
                for r in d.execute("SELECT at, by, what, rows, detail FROM"
                                   " retention_log ORDER BY id")
                if what is None or r[2] == what]


@pytest.mark.hard_timeout(90)
def test_closed_alerts_go_after_their_periods_open_ones_stay(lab):
    env, c = console(lab, alert_content=3, alert_history=6, device_state=6,
                     sessions=1, extra={"session_idle": "10"})
    # an operator who logs in and goes: the session ends after 10 s idle
    c.add_user(OPERATOR)
    assert c.login_session(OPERATOR)[0] == 200
    now = proto.rfc3339_now()
    device_notice(env, c, "device.offline", "a" * 32, now, now)
    old_open = alert_in(env, c, alert_type="panic", message="nog open")
    gone = alert_in(env, c, alert_type="test")
    close(c, gone)
    assert counts(c, gone)[0] == 1 and counts(c, gone)[2] == 1
    time.sleep(1)
    young = alert_in(env, c, alert_type="threat")
    close(c, young)
    # the content first, the timeline and the claim still there
    harness.wait_until(lambda: counts(c, gone)[0] == 0, 15,
                       what="the closed alert's webhooks swept")
    w, t, cl = counts(c, gone)
    assert t >= 3 and cl == 1, (w, t, cl)
    # a closure made just now is young whatever the machine's load (the
    # earlier one may be past alert_content by now)
    fresh = alert_in(env, c, alert_type="threat")
    close(c, fresh)
    # a young closure's timeline stays: SQLite refuses, whatever asks
    with db(c, write=True) as d:
        for sql, why in (
                ("DELETE FROM timeline WHERE alert_id = ?", "append-only"),
                ("DELETE FROM claim WHERE alert_id = 'x' OR alert_id = ?",
                 None),
                ("DELETE FROM webhook WHERE alert_id = ?", "webhooks are kept"),
                ("INSERT INTO timeline (alert_id, at, kind, actor) VALUES"
                 " (?, 1000, 'closed', 'x')", "a closure is dated now")):
            if why is None:
                continue
            for aid in (fresh, old_open):
                with pytest.raises(sqlite3.DatabaseError, match=why):
                    d.execute(sql, (aid,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            d.execute("DELETE FROM retention_log")
    # then the history
    harness.wait_until(lambda: counts(c, gone) == (0, 0, 0), 15,
                       what="the closed alert's timeline swept")
    # the old open alert keeps everything, however old
    w, t, _ = counts(c, old_open)
    assert w == 1 and t >= 1
    listed = {a["alert_id"]: a for a in c.alerts()}
    assert listed[old_open]["state"] == "open"
    assert listed[old_open]["message"] == "nog open"
    assert gone not in listed
    for aid in (young, fresh):
        harness.wait_until(lambda: counts(c, aid) == (0, 0, 0), 15,
                           what="the younger closed alerts swept in turn")
    assert counts(c, old_open)[0] == 1
    # the device's state and notice, the supervisor's login: gone too

    def others():
        with db(c) as d:
            return d.execute(
                "SELECT (SELECT COUNT(*) FROM device_state), (SELECT COUNT(*)"
                " FROM webhook WHERE type = 'device.offline'), (SELECT"
                " COUNT(*) FROM timeline WHERE alert_id = '*')").fetchone()
    harness.wait_until(lambda: others() == (0, 0, 0), 15,
                       what="device state, notice and login swept")
    # the idle operator's session goes 10 + 1 s after its last request;
    # the supervisor's, in use, stays

    def sessions():
        with db(c) as d:
            return sorted(n for n, in d.execute("SELECT name FROM session"))
    harness.wait_until(lambda: sessions() == [SUPER], 20,
                       what="the ended session swept")
    # each step recorded: what, how many rows, by the sweep; no ids
    log = log_rows(c)
    assert log[0]["what"] == "setting" and log[0]["detail"] == \
        "alert_content=3 alert_history=6 device_state=6"
    content = [r for r in log if r["what"] == "alert_content"]
    history = [r for r in log if r["what"] == "alert_history"]
    assert sum(r["rows"] for r in content) >= 2
    assert sum(r["rows"] for r in history) >= 8
    assert all(r["by"] == "retention" for r in content + history)
    assert {"logins", "device_notices", "device_state", "sessions"} <= {
        r["what"] for r in log}
    assert all(gone not in r["detail"] and young not in r["detail"]
               for r in log)
    c.proc.wait_for(r"retention: sweep done, \d+ row\(s\) removed")
    # a change of the periods behind the console's back is recorded
    with db(c, write=True) as d:
        d.execute("UPDATE retention_setting SET alert_history = 1")
    assert log_rows(c, "setting")[-1]["detail"] == \
        "alert_content=3 alert_history=1 device_state=6"


@pytest.mark.hard_timeout(60)
def test_a_replace_cannot_remove_an_append_only_row(lab):
    """INSERT OR REPLACE / REPLACE INTO with the id of an existing row is
    a delete that fires no delete trigger (recursive_triggers is off):
    refused on the timeline, the webhooks and retention_log, the row
    left as it was.  Before the fix each went through."""
    env, c = console(lab)
    aid = alert_in(env, c, alert_type="panic", message="blijft")
    harness.wait_until(lambda: log_rows(c), 15, what="the first sweep")
    with db(c) as d:
        tid = d.execute("SELECT MIN(id) FROM timeline WHERE alert_id = ?",
                        (aid,)).fetchone()[0]
        wid = d.execute("SELECT MIN(id) FROM webhook WHERE alert_id = ?",
                        (aid,)).fetchone()[0]
        lid = d.execute("SELECT MIN(id) FROM retention_log").fetchone()[0]
        before = [d.execute("SELECT * FROM %s WHERE id = ?" % t,
                            (i,)).fetchone()
                  for t, i in (("timeline", tid), ("webhook", wid),
                               ("retention_log", lid))]
    attempts = (
        ("INSERT OR REPLACE INTO timeline (id, alert_id, at, kind, actor)"
         " VALUES (?, 'x', 1, 'note', 'x')", tid, "append-only"),
        ("REPLACE INTO timeline (id, alert_id, at, kind, actor)"
         " VALUES (?, 'x', 1, 'note', 'x')", tid, "append-only"),
        ("REPLACE INTO webhook (id, stored_at, webhook_id, recipient_id,"
         " type, alert_id, shown_key, is_alert, repeat, stale, body)"
         " VALUES (?, 1, 'x', 'x', 'x', 'x', 'x', 0, 0, 0, x'00')", wid,
         "webhooks are kept"),
        ("INSERT OR REPLACE INTO retention_log (id, at, by, what, rows)"
         " VALUES (?, 1, 'x', 'x', 0)", lid, "append-only"),
    )
    with db(c, write=True) as d:
        for sql, rowid, why in attempts:
            with pytest.raises(sqlite3.DatabaseError, match=why):
                d.execute(sql, (rowid,))
    with db(c) as d:
        assert before == [d.execute("SELECT * FROM %s WHERE id = ?" % t,
                                    (i,)).fetchone()
                          for t, i in (("timeline", tid), ("webhook", wid),
                                       ("retention_log", lid))]
    assert {a["alert_id"]: a for a in c.alerts()}[aid]["message"] == "blijft"


@pytest.mark.hard_timeout(90)
def test_a_late_position_of_a_closed_alert_goes_too(lab):
    """A position (alert.location) stored after the sweep's cursor passed
    its alert's closure goes by alert_content as the rest did; before
    the fix it stayed until alert_history or a restart."""
    from test_console_view import location_update
    env, c = console(lab, alert_content=2, alert_history=3600)
    headers, body, inner = make_webhook(env, RID, alert_type="panic",
                                        message="later")
    assert c.hook(headers, body) == 200
    aid = inner["alert_id"]
    close(c, aid)
    harness.wait_until(lambda: counts(c, aid)[0] == 0, 15,
                       what="the closed alert's webhooks swept")
    headers, body, _ = location_update(
        env, inner, {"lat": 52.1, "lon": 5.1, "accuracy_m": 10},
        proto.rfc3339_now())
    assert c.hook(headers, body) == 200
    assert counts(c, aid)[0] == 1
    harness.wait_until(lambda: counts(c, aid)[0] == 0, 15,
                       what="the late position swept")
    assert counts(c, aid)[1] >= 4


def notice_as(env, c, kind, event_id):
    """A device notice as the relay signs it, with the given id."""
    now = proto.rfc3339_now()
    b = json.dumps({"type": kind, "alert_id": event_id, "recipient_id": RID,
                    "device_id": env.device_id, "created_at": now,
                    "received_at": now, "last_seen": now,
                    "alert_type": "missed_checkin", "drill": False},
                   separators=(",", ":")).encode()
    assert c.hook(resign(env, b, "msg_%s_%s" % (kind, proto.new_alert_id())),
                  b) == 200


@pytest.mark.hard_timeout(90)
def test_device_notices_go_by_device_state_and_only_notices(lab):
    """device_state sweeps each device notice, device.checkin_failed too,
    but not a notice made up with a closed alert's id (one its content
    period already emptied of webhooks): that alert's timeline waits for
    alert_history.  The device's state goes by when the console last
    heard of it, through an index.  Before the fix the checkin_failed
    notice stayed for ever and the made-up one took the timeline."""
    env, c = console(lab, alert_content=1, alert_history=3600,
                     device_state=3)
    aid = alert_in(env, c, alert_type="test", message="afgehandeld")
    close(c, aid)
    harness.wait_until(lambda: counts(c, aid)[0] == 0, 15,
                       what="the closed alert's webhooks swept")
    timeline = counts(c, aid)[1]
    assert timeline >= 3
    failed = proto.new_alert_id()
    notice_as(env, c, "device.checkin_failed", failed)
    notice_as(env, c, "device.offline", aid)
    notice_as(env, c, "device.offline", proto.new_alert_id())
    with db(c) as d:
        assert d.execute("SELECT COUNT(*) FROM device_state").fetchone()[0] \
            == 1

    def left():
        with db(c) as d:
            return d.execute(
                "SELECT (SELECT COUNT(*) FROM webhook WHERE type IN"
                " ('device.offline', 'device.checkin_failed') AND"
                " alert_id <> ?), (SELECT COUNT(*) FROM timeline WHERE"
                " alert_id = ?), (SELECT COUNT(*) FROM device_state)",
                (aid, failed)).fetchone()
    harness.wait_until(lambda: left() == (0, 0, 0), 20,
                       what="the notices and the device's state swept")
    # the alert's timeline and claim stay (the made-up notice's webhook
    # goes by alert_content, as any webhook of the closed alert)
    assert counts(c, aid)[1:] == (timeline + 1, 1), counts(c, aid)
    with db(c, write=True) as d:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            d.execute("DELETE FROM timeline WHERE alert_id = ?", (aid,))
        plan = " / ".join(r[3] for r in d.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM device_state WHERE"
            " heard_at <= 1 ORDER BY heard_at LIMIT 50"))
        assert "device_state_heard" in plan and "TEMP" not in plan, plan


@pytest.mark.hard_timeout(60)
def test_alert_history_0_only_with_alert_content_0(lab):
    """alertconsole(8): alert_history may be 0 (for ever) only if
    alert_content is too; before the fix the console took alert_history
    = 0 with a content period."""
    from test_console import refused_start
    env = lab.env()
    for extra, ok in (("alert_history = 0\n", False),
                      ("alert_content = 0\n", False),
                      ("alert_content = 0\nalert_history = 0\n", True),
                      ("alert_content = 20\nalert_history = 10\n", False)):
        c = Console(lab, env)
        c.conf.write_text(c.conf.read_text() + "\n[retention]\n" + extra)
        if ok:
            c.start()
            c.proc.stop()
        else:
            assert "alert_content and alert_history must both be 0 or" \
                in refused_start(c), extra


def second_device(env, name="dev-tweede-00000000000000000000"):
    """Another enrolled device: its key pair in the console's devices
    directory."""
    assert env.directory is None
    _py_keygen("device", env.devices_dir / name)
    key = proto.device_signing_key(env.devices_dir / (name + ".key"))
    return name, key


def alert_of(env, c, dev, key, **kw):
    ids = {"device_id": dev}
    return alert_in(env, c, signer=key, inner=ids, outer=ids, **kw)


def forget(c, dev, *extra, by=ADMIN):
    return harness.run([console_bin(), "-c", c.conf, "forget", dev, "--by",
                        by] + list(extra), timeout=30)


@pytest.mark.hard_timeout(90)
def test_forget_erases_one_device_and_nothing_of_another(lab):
    env, c = console(lab)
    other, key = second_device(env)
    mine_closed = alert_in(env, c, alert_type="test", message="van mij")
    close(c, mine_closed)
    mine_open = alert_in(env, c, alert_type="panic", message="open van mij")
    theirs_closed = alert_of(env, c, other, key, alert_type="test")
    close(c, theirs_closed)
    theirs_open = alert_of(env, c, other, key, alert_type="panic",
                           message="van de ander")
    now = proto.rfc3339_now()
    device_notice(env, c, "device.offline", env.device_id, now, now)
    device_notice(env, c, "device.offline", other, now, now)
    before_theirs = [counts(c, a) for a in (theirs_closed, theirs_open)]
    with db(c) as d:
        total = d.execute("SELECT COUNT(*) FROM webhook").fetchone()[0]
    # an open alert: nothing without --force
    cp = forget(c, env.device_id)
    assert cp.returncode == 1 and cp.stdout == ""
    assert "1 alert(s) of device %s are still open: nothing erased" % \
        env.device_id in cp.stderr
    with db(c) as d:
        assert d.execute("SELECT COUNT(*) FROM webhook").fetchone()[0] == \
            total
    assert log_rows(c, "erasure") == []
    # with --force, beside the running console
    cp = forget(c, env.device_id, "--force")
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.startswith("Device %s erased: 2 alert(s), 3 webhook(s),"
                                % env.device_id), cp.stdout
    assert "1 claim(s), 1 device state(s)." in cp.stdout
    for aid in (mine_closed, mine_open):
        assert counts(c, aid) == (0, 0, 0)
    with db(c) as d:
        assert d.execute("SELECT COUNT(*) FROM webhook WHERE CAST(body AS"
                         " TEXT) LIKE ?", ("%" + env.device_id + "%",)
                         ).fetchone()[0] == 0
        assert [r for r, in d.execute("SELECT device_id FROM device_state"
                                      )] == [other]
        assert [r for r, in d.execute("SELECT alert_id FROM open_alert")] \
            == [theirs_open]
    # nothing of the other device
    assert [counts(c, a) for a in (theirs_closed, theirs_open)] == \
        before_theirs
    listed = {a["alert_id"]: a for a in c.alerts()}
    assert set(listed) == {theirs_closed, theirs_open}
    assert listed[theirs_open]["message"] == "van de ander"
    # recorded: by whom, how many; not whose
    (rec,) = log_rows(c, "erasure")
    assert rec["by"] == ADMIN and rec["rows"] > 0
    assert rec["detail"].startswith("alerts=2 open=1 webhooks=3 ")
    assert env.device_id not in json.dumps(log_rows(c))
    # the console goes on taking this device's new alerts
    again = alert_in(env, c, alert_type="test")
    assert again in {a["alert_id"] for a in c.alerts()}
    # bad input is refused with a usage error
    assert forget(c, "../x").returncode == 2
    assert harness.run([console_bin(), "-c", c.conf, "forget",
                        env.device_id]).returncode == 2


@pytest.mark.hard_timeout(90)
def test_forget_erases_an_alert_whose_content_went(lab):
    """Between alert_content and alert_history a closed alert's webhooks,
    which name its device, are gone: forget still finds the alert
    (alert_device) and erases its timeline and claim, and the notices of
    the device of every type.  Before the fix its timeline survived."""
    env, c = console(lab, alert_content=1, alert_history=3600)
    aid = alert_in(env, c, alert_type="test", message="weg")
    close(c, aid)
    harness.wait_until(lambda: counts(c, aid)[0] == 0, 15,
                       what="the closed alert's webhooks swept")
    w, t, cl = counts(c, aid)
    assert t >= 3 and cl == 1, (w, t, cl)
    now = proto.rfc3339_now()
    device_notice(env, c, "device.checkin_failed", env.device_id, now, now)
    cp = forget(c, env.device_id)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.startswith("Device %s erased: 1 alert(s), 1 webhook(s),"
                                % env.device_id), cp.stdout
    assert counts(c, aid) == (0, 0, 0)
    with db(c) as d:
        assert d.execute("SELECT COUNT(*) FROM webhook").fetchone()[0] == 0
        assert d.execute("SELECT COUNT(*) FROM alert_device"
                         ).fetchone()[0] == 0
        assert d.execute("SELECT COUNT(*) FROM timeline WHERE alert_id <>"
                         " '*'").fetchone()[0] == 0


def state_files(c):
    """console.db and its -wal and -shm, by name: what a backup copies."""
    return {p.name: p.read_bytes() for p in c.state.iterdir()
            if p.name.startswith("console.db")}


@pytest.mark.hard_timeout(90)
def test_forget_leaves_no_erased_note_in_the_files(lab):
    """An operator's note and closure remark, erased by `forget --force`
    beside the running console, are in none of console.db, -wal and -shm
    at once (the console's own sweep far off: forget's truncating
    checkpoint does it), nor after the console writes again.  Before the
    fix their bytes stayed in console.db-wal until a clean stop."""
    env, c = console(lab, sweep_interval=3600)
    marker = "NOTITIE-%s" % os.urandom(12).hex()
    remark = "SLUIT-%s" % os.urandom(12).hex()
    aid = alert_in(env, c, alert_type="panic", message="met notitie")
    assert c.post("/api/alert/%s/claim" % aid)[0] == 200
    assert c.post("/api/alert/%s/note" % aid, {"text": marker})[0] == 200
    assert c.post("/api/alert/%s/close" % aid,
                  {"outcome": "test", "note": remark})[0] == 200
    # later writes and a passive checkpoint left them before the fix
    alert_in(env, c, alert_type="test")
    with db(c, write=True) as d:
        d.execute("PRAGMA wal_checkpoint(PASSIVE)")
    files = state_files(c)
    assert any(marker.encode() in b for b in files.values()), list(files)
    cp = forget(c, env.device_id, "--force")
    assert cp.returncode == 0, cp.stderr
    assert c.proc.running()
    for name, data in state_files(c).items():
        for m in (marker, remark):
            assert m.encode() not in data, (m, name)
    # the console goes on, and writing again brings nothing back
    again = alert_in(env, c, alert_type="test")
    assert again in {a["alert_id"] for a in c.alerts()}
    for name, data in state_files(c).items():
        assert marker.encode() not in data and remark.encode() not in data, \
            name


@pytest.mark.hard_timeout(240)
def test_a_big_sweep_goes_in_steps_while_the_queue_answers(lab):
    env = lab.env()
    c = Console(lab, env).start()
    c.who = OPERATOR
    n = 3000
    stuff_alerts(env, c, n)
    c.proc.stop()
    now = int(time.time())
    stuffed = " FROM webhook WHERE shown_key LIKE 'stuffed:%'"
    with db(c, write=True) as d:  # each claimed and closed now
        for kind, detail in (("claimed", ""), ("closed", "test: ")):
            d.execute("INSERT INTO timeline (alert_id, at, kind, actor,"
                      " detail) SELECT alert_id, ?, ?, ?, ?" + stuffed,
                      (now, kind, OPERATOR, detail))
        d.execute("INSERT INTO claim SELECT alert_id, ?, ?" + stuffed,
                  (OPERATOR, now))
    c.conf.write_text(c.conf.read_text() + "\n[retention]\nalert_content = 1"
                      "\nalert_history = 1\nsweep_interval = 1\n")
    c.start()
    c.login(OPERATOR)
    open_one = alert_in(env, c, alert_type="panic", message="blijft")
    slowest = 0.0
    hooks = []

    def left():  # of the stuffed closed alerts
        with db(c) as d:
            return d.execute(
                "SELECT (SELECT COUNT(*) FROM webhook WHERE shown_key LIKE"
                " 'stuffed:%') + (SELECT COUNT(*) FROM timeline WHERE actor"
                " <> 'relay' AND kind <> 'login') + (SELECT COUNT(*) FROM"
                " claim)").fetchone()[0]
    deadline = time.monotonic() + 120
    while left() > 0 and time.monotonic() < deadline:
        time.sleep(0.1)  # under the console's 50 connections a second
        t0 = time.monotonic()
        assert open_one in {a["alert_id"] for a in c.alerts()}
        slowest = max(slowest, time.monotonic() - t0)
        if len(hooks) < 5:
            t0 = time.monotonic()
            hooks.append(alert_in(env, c, alert_type="test"))
            slowest = max(slowest, time.monotonic() - t0)
    assert left() == 0
    m = c.proc.wait_for(r"retention: sweep done, (\d+) row\(s\) removed in"
                        r" (\d+) step\(s\), the longest ([\d.]+) ms")
    removed, steps, longest = int(m.group(1)), int(m.group(2)), \
        float(m.group(3))
    print("swept %d rows in %d steps, the longest %.1f ms; the slowest "
          "answer meanwhile %.3f s" % (removed, steps, longest, slowest))
    assert removed >= n * 5
    # bounded: 50 alerts a step, so at least n/50 steps per class
    assert steps >= 2 * n // 50
    assert slowest < 1.0
    assert counts(c, open_one)[0] == 1
    assert all(a in {x["alert_id"] for x in c.alerts()} for a in hooks)
    history = log_rows(c, "alert_history")
    assert len(history) >= n // 50 and all(r["rows"] <= 50 * 5
                                           for r in history)


@pytest.mark.hard_timeout(60)
def test_a_version_4_database_gets_the_retention_tables(lab):
    """A database of before (user_version 4: no retention tables, the
    timeline's trigger refusing every DELETE) gets them once at start,
    and its closed alerts are swept by their periods."""
    env, c = console(lab)
    aid = alert_in(env, c, alert_type="test")
    close(c, aid)
    c.proc.stop()
    with db(c, write=True) as d:
        d.executescript("""
            DROP TRIGGER webhook_no_delete; DROP TRIGGER timeline_no_delete;
            DROP TRIGGER erasing_recorded; DROP TRIGGER timeline_closed_now;
            DROP TRIGGER retention_setting_new;
            DROP TRIGGER retention_setting_changed;
            DROP TRIGGER retention_setting_kept;
            DROP TRIGGER retention_log_no_update;
            DROP TRIGGER retention_log_no_delete;
            DROP TABLE retention_setting; DROP TABLE retention_log;
            DROP TABLE erasing; DROP INDEX webhook_notice;
            DROP TRIGGER webhook_duress_reopens;
            DROP TRIGGER timeline_no_replace; DROP TRIGGER webhook_no_replace;
            DROP TRIGGER webhook_names_device; DROP TABLE alert_device;
            DROP INDEX device_state_heard;
            ALTER TABLE device_state DROP COLUMN heard_at;
            CREATE TRIGGER timeline_no_delete BEFORE DELETE ON timeline
              BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;
            PRAGMA user_version = 4;""")
    c.conf.write_text(c.conf.read_text().replace(
        "[retention]\n", "[retention]\nalert_content = 1\n"
        "alert_history = 2\n"))
    c.start()
    with db(c) as d:
        assert d.execute("PRAGMA user_version").fetchone()[0] == 7
        names = {n for n, in d.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"webhook_duress_reopens", "timeline_no_replace",
                "webhook_no_replace", "retention_log_no_replace"} <= names
    harness.wait_until(lambda: counts(c, aid) == (0, 0, 0), 15,
                       what="the closed alert swept after the upgrade")
    assert [r["detail"] for r in log_rows(c, "setting")] == [
        "alert_content=1 alert_history=2 device_state=7776000"]
