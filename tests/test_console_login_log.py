"""What failed logins cost alertconsole's log (review rv-listen).  Each
failed or refused login was one line, with no budget: 912 lines in 6 s
from two loopback addresses, and more with more addresses (a log that
fills the disk is itself a denial of service).  Now those lines are on the
budget of refused requests (20 per 10 s, then one line saying how many
were left out), while a wrong password for an operator's own account is
always logged with its name (at most login_max_fail of them before the
account locks), and the operator still logs in.  Fails on the old code."""

import http.client
import re
import time

import pytest

import harness
from test_console import Console, OPERATOR, PASSWORD

pytestmark = pytest.mark.needs("alertconsole")

SOURCES = ["127.0.0.%d" % i for i in range(2, 6)]
PER_SOURCE = 50
LEFT_OUT = re.compile(r"log: (\d+) lines about refused requests left out")


def login_from(c, source, name, password):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30,
                                      source_address=(source, 0))
    try:
        return c.login_session(name, password, conn=conn)[0]
    finally:
        conn.close()


def login_lines(c):
    """The console's log lines about failed or refused logins."""
    return [l for l in c.proc.text("stderr").splitlines()
            if "login failed" in l or "login refused" in l]


def left_out(c):
    return sum(int(m.group(1))
               for m in LEFT_OUT.finditer(c.proc.text("stderr")))


@pytest.mark.hard_timeout(120)
def test_failed_logins_from_many_addresses_log_a_few_lines(lab):
    env = lab.env()
    c = Console(lab, env, extra={"login_addr_max": "3",
                                 "login_lockout": "60",
                                 "conn_burst": "1000"}).start()
    c.add_user()
    t0 = time.monotonic()
    statuses = []
    for i in range(PER_SOURCE):
        for src in SOURCES:
            statuses.append(login_from(c, src, "Onbekend %d" % i,
                                       "geraden wachtwoord"))
    flood_s = time.monotonic() - t0
    assert statuses.count(401) == 3 * len(SOURCES), statuses
    assert statuses.count(429) == len(statuses) - 3 * len(SOURCES)

    # the operator's own account, while the budget is spent: its wrong
    # password is logged with its name, and the right one still works
    assert login_from(c, "127.0.0.10", OPERATOR, "verkeerd wachtwoord") == 401
    c.proc.wait_for(r'login failed from 127\.0\.0\.10 operator="%s"$'
                    % OPERATOR, "stderr", 15)
    assert login_from(c, "127.0.0.10", OPERATOR, PASSWORD) == 200

    # 20 lines per 10 s; the flood may straddle two windows (its lines are
    # all in: the operator's line above came after them)
    said = [l for l in login_lines(c) if "operator=" not in l]
    windows = 1 + int(flood_s // 10) + 1
    assert 0 < len(said) <= 20 * windows, "%d lines in %.1f s:\n%s" % (
        len(said), flood_s, "\n".join(said[:40]))

    # once the window is over (it started at the latest with the flood's
    # last refusal), the next refusal brings the count of the lines left
    # out: with those said, every refusal is accounted for
    time.sleep(10.5)
    assert login_from(c, "127.0.0.11", "Onbekend", "x" * 12) == 401
    harness.wait_until(lambda: left_out(c) > 0 and
                       len([l for l in login_lines(c)
                            if "operator=" not in l]) > len(said),
                       10, what="the left-out line and the next refusal")
    said = [l for l in login_lines(c) if "operator=" not in l]
    assert len(said) + left_out(c) == len(statuses) + 1, (
        len(said), left_out(c), len(statuses))


@pytest.mark.hard_timeout(60)
def test_the_failure_that_locks_an_account_says_so(lab):
    env = lab.env()
    c = Console(lab, env, extra={"login_max_fail": "2",
                                 "login_lockout": "60"}).start()
    c.add_user()
    assert c.login_session(OPERATOR, "verkeerd wachtwoord")[0] == 401
    assert c.login_session(OPERATOR, "verkeerd wachtwoord")[0] == 401
    c.proc.wait_for(r'login failed from 127\.0\.0\.1 operator="%s": '
                    r'account locked for 60 s$' % OPERATOR, "stderr", 15)
    assert c.login_session(OPERATOR, PASSWORD)[0] == 401
    c.proc.wait_for(r"login refused: account locked, from 127\.0\.0\.1",
                    "stderr", 15)
    lines = [l for l in c.proc.text("stderr").splitlines()
             if "operator=" in l]
    assert len(lines) == 2, lines
