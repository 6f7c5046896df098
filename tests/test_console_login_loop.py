"""alertconsole checks passwords (Argon2id, about 0.1 s each) on a worker
thread, not on its event loop: while a dozen wrong logins are under way
a webhook is still taken at once; a flood of logins beyond the worker's
bounded queue is refused with 503 instead of piling up."""

import http.client
import json
import socket
import sqlite3
import threading
import time

import pytest

import harness
from test_console import Console, OPERATOR, PASSWORD, RID, make_webhook

pytestmark = pytest.mark.needs("alertconsole")


def flood(c, n, results):
    """n wrong logins, each from its own thread, two from each address
    (the most of one address that wait for their check): (status,
    finished at)."""
    def one(i):
        conn = http.client.HTTPConnection(
            "127.0.0.1", c.port, timeout=30,
            source_address=("127.0.5.%d" % (i // 2 + 1), 0))
        try:
            status = c.login_session("Onbekend %d" % i, "geraden wachtwoord",
                                     conn=conn)[0]
        finally:
            conn.close()
        results.append((status, time.monotonic()))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def join(threads):
    for t in threads:
        t.join(60)
        assert not t.is_alive()


def test_webhook_answered_while_logins_are_checked(lab):
    """Orders, not a wall-clock bound (speed is `make bench`'s): two
    dozen wrong logins from a dozen addresses (one Argon2id check after
    another on the worker) are under way; three webhooks, one after the other, are all
    answered while most of the logins still wait for their answer.  On
    the loop, a check would hold every request behind it: the webhooks
    would come after the checks the console had read before them, most
    of the two dozen."""
    n = 24  # within the worker's queue (CONSOLE_PWCHECK_MAX, 32)
    env = lab.env()
    c = Console(lab, env, extra={"login_addr_max": "1000"}).start()
    c.add_user()
    results = []
    threads = flood(c, n, results)
    time.sleep(0.15)  # the logins have reached the console
    for i in range(3):
        headers, body, inner = make_webhook(env, RID)
        assert c.hook(headers, body) == 200
        answered = time.monotonic()
    join(threads)
    assert len(results) == n
    assert all(s == 401 for s, _ in results), results
    before = sum(1 for _, at in results if at < answered)
    assert before < n // 2, "%d of %d logins answered before the last " \
        "webhook" % (before, n)
    assert len(c.alerts()) == 3
    # the right password still works
    assert c.login_session(OPERATOR, PASSWORD)[0] == 200


def test_a_flood_of_logins_is_refused_not_queued(lab):
    env = lab.env()
    c = Console(lab, env, extra={"login_addr_max": "1000",
                                 "max_connections_per_address": "200",
                                 "conn_burst": "1000"}).start()
    results = []
    join(flood(c, 60, results))
    statuses = [s for s, _ in results]
    assert len(statuses) == 60
    assert set(statuses) <= {401, 503}, statuses
    assert 503 in statuses and 401 in statuses
    c.proc.wait_for("too many logins waiting", "stderr", 15)
    # and once the queue drained, logins are checked again
    harness.wait_until(
        lambda: c.login_session("Onbekend", "x" * 12)[0] == 401, 10,
        what="a login checked again")


def test_clients_that_leave_before_the_answer(lab):
    env = lab.env()
    c = Console(lab, env, extra={"login_addr_max": "1000"}).start()
    c.add_user()
    body = json.dumps({"name": OPERATOR, "password": "geraden wachtwoord"})
    req = ("POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
           % (len(body), body)).encode()
    for i in range(8):  # from 8 addresses: one's share is two checks
        with socket.create_connection(
                ("127.0.0.1", c.port), 5,
                source_address=("127.0.5.%d" % (i + 1), 0)) as s:
            s.sendall(req)
        # closed at once: the check goes on, the answer has no one to go to
    # each wrong password still counts (8 of the 10 that lock)
    harness.wait_until(lambda: db_failed(c) == 8, 10,
                       what="eight failures counted")
    assert c.proc.popen.poll() is None
    assert c.login_session(OPERATOR, PASSWORD)[0] == 200


def db_failed(c):
    d = sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                        uri=True)
    try:
        return d.execute("SELECT failed FROM operator WHERE name = ?",
                         (OPERATOR,)).fetchone()[0]
    finally:
        d.close()
