"""The running alertconsole cannot change its own schema
(console/console_db_lock.c): once its start has set up and upgraded the
database, an SQLite authorizer refuses DROP, CREATE, ALTER, ATTACH and
every pragma but the few the console reads, so that a bug or an SQL
injection in the running console cannot take away the timeline's
append-only triggers.  Proved on the real binary: the console is run
under gdb, stopped at its event loop (after its start), and statements
are put to its own database handle as an injected statement would be.
Fails on the code of before (every statement but the DELETE succeeds and
the trigger is gone)."""

import re
import shutil
import sqlite3

import pytest

import harness
from test_console import Console, console_bin

pytestmark = [pytest.mark.needs("alertconsole"),
              pytest.mark.skipif(shutil.which("gdb") is None,
                                 reason="needs gdb")]

SQLITE_OK, SQLITE_AUTH, SQLITE_CONSTRAINT = 0, 23, 19

# what a bent statement might try, and what SQLite must answer
STATEMENTS = [
    ("DROP TRIGGER timeline_no_delete", SQLITE_AUTH),
    ("DROP TRIGGER timeline_no_update", SQLITE_AUTH),
    ("ALTER TABLE timeline RENAME TO timeline_old", SQLITE_AUTH),
    ("DROP INDEX webhook_device", SQLITE_AUTH),
    ("CREATE TABLE evil (x)", SQLITE_AUTH),
    ("CREATE TEMP TRIGGER evil AFTER INSERT ON timeline BEGIN SELECT 1;"
     " END", SQLITE_AUTH),
    ("PRAGMA writable_schema=ON", SQLITE_AUTH),
    ("PRAGMA journal_mode=OFF", SQLITE_AUTH),
    ("PRAGMA secure_delete=OFF", SQLITE_AUTH),
    ("PRAGMA user_version=99", SQLITE_AUTH),
    ("ATTACH DATABASE ':memory:' AS evil", SQLITE_AUTH),
    ("VACUUM", SQLITE_AUTH),
    # rows still go through the triggers, reads still work
    ("DELETE FROM timeline", SQLITE_CONSTRAINT),
    ("SELECT count(*) FROM timeline", SQLITE_OK),
    ("PRAGMA data_version", SQLITE_OK),
    ("PRAGMA incremental_vacuum(1)", SQLITE_OK),
]


def schema(c):
    db = sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                         uri=True)
    try:
        return {(t, n) for t, n in db.execute(
            "SELECT type, name FROM sqlite_schema")}, db.execute(
                "PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


@pytest.mark.hard_timeout(180)
def test_running_console_cannot_change_its_schema(lab):
    env = lab.env()
    c = Console(lab, env)
    # a first start sets the schema up (and proves the lock lets it)
    c.start()
    assert len(c.alerts()) == 0
    c.proc.stop()
    before = schema(c)
    assert ("trigger", "timeline_no_delete") in before[0]

    argv = ["gdb", "-q", "-nx", "-batch", "-ex", "set breakpoint pending on",
            "-ex", "break console_http_run", "-ex", "run"]
    for sql, _ in STATEMENTS:
        argv += ["-ex", 'print (int)sqlite3_exec(console_db_sqlite(h->c->db)'
                 ', "%s", 0, 0, 0)' % sql]
    argv += ["-ex", "kill", "--args", console_bin(), "-c", str(c.conf)]
    cp = harness.run(argv, timeout=150, env=harness.traced_env())
    out = cp.stdout + cp.stderr
    assert "Breakpoint 1, " in cp.stdout, out
    got = [int(v) for v in re.findall(r"^\$\d+ = (-?\d+)$", cp.stdout,
                                      re.M)]
    assert got == [rc for _, rc in STATEMENTS], out
    assert "the schema is locked" in out
    assert schema(c) == before

    # and the console starts again on it, as it was
    c.start()
    assert len(c.alerts()) == 0
