"""alertconsole's device cookies (OWASP's defence against lockout denial
of service).  Ten wrong passwords locked an operator's account for
everyone: whoever could reach the login page and guess a name (j.jansen)
could keep the night shift out of the console, and the 423 of a locked
account told them which names were real.  Now a browser that logged in
before shows its device cookie and passes the lock strangers caused,
while a fresh client is refused; its own wrong passwords lock only that
cookie; a forged, altered or other operator's cookie gives nothing; a
new password or removal voids it; and a locked name answers exactly as a
name nobody has.  Real alertconsole, real HTTP from several loopback
addresses.  Each test fails on the old code (423, no device cookie)."""

import http.client
import json
import re
import sqlite3
import threading
import time

import pytest

from test_console import Console, OPERATOR, PASSWORD

pytestmark = pytest.mark.needs("alertconsole")

SECOND = "Fatima el Amrani"
WRONG = "geraden wachtwoord"
STRANGER, BROWSER, FRESH = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def login(c, name, password, cookies=None, source=BROWSER):
    """POST /api/login from source with cookies {name: value}: (status,
    body, {cookie name: (value, attributes)} set by the answer, headers
    but Date)."""
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30,
                                      source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if cookies:
        headers["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    try:
        conn.request("POST", "/api/login", json.dumps(
            {"name": name, "password": password}), headers)
        r = conn.getresponse()
        raw = r.read()
        set_cookies = {}
        for line in r.msg.get_all("Set-Cookie") or []:
            kv, _, attrs = line.partition(";")
            k, _, v = kv.partition("=")
            set_cookies[k] = (v, attrs)
        rest = sorted((k, v) for k, v in r.getheaders() if k != "Date")
        return r.status, (json.loads(raw) if raw else {}), set_cookies, rest
    finally:
        conn.close()


def device_cookie(set_cookies):
    """The device cookie an answer set: {name: value}."""
    dev = {k: v for k, (v, _) in set_cookies.items()
           if k.startswith("alertconsole_device_")}
    assert len(dev) == 1, set_cookies
    return dev


def trusted_login(c, name=OPERATOR, password=PASSWORD):
    status, body, set_cookies, _ = login(c, name, password)
    assert status == 200, body
    return device_cookie(set_cookies)


def lock(c, name, password=WRONG, times=10):
    """A stranger's wrong passwords, enough to lock the account."""
    for _ in range(times):
        assert login(c, name, password, source=STRANGER)[0] == 401


def console(lab, **extra):
    conf = {"login_lockout": "600", "login_addr_max": "1000"}
    conf.update(extra)
    c = Console(lab, lab.env(), extra=conf).start()
    c.add_user()
    return c


def failed_count(c, name):
    with sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                         uri=True) as d:
        return d.execute("SELECT failed FROM operator WHERE name = ?",
                         (name,)).fetchone()[0]


def test_strangers_lock_out_fresh_clients_not_the_operators_browser(lab):
    c = console(lab)
    status, _, set_cookies, _ = login(c, OPERATOR, PASSWORD)
    assert status == 200
    dev = device_cookie(set_cookies)
    (name, value), = dev.items()
    attrs = set_cookies[name][1]
    # long-lived, never readable by the page, sent to the login only
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs
    assert "Path=/api/login" in attrs and "Max-Age=31536000" in attrs
    assert "Secure" not in attrs  # plain HTTP on loopback, as the session
    # the secret: made at the first start, for the console's user alone
    key = c.state / "device.key"
    assert key.stat().st_mode & 0o777 == 0o600

    lock(c, OPERATOR)
    c.proc.wait_for(r'login failed from %s operator="%s": account locked '
                    r'for 600 s$' % (re.escape(STRANGER), OPERATOR),
                    "stderr", 5)
    # a client that never logged in: refused, even with the password
    assert login(c, OPERATOR, PASSWORD, source=FRESH)[:2] == (
        401, {"error": "bad"})
    # the operator's own browser: in, and told about the lock
    status, body, set_cookies, _ = login(c, OPERATOR, PASSWORD, dev)
    assert status == 200 and body["locked_for_others"] is True
    session = set_cookies["alertconsole_session"][0]
    c.cookie = "alertconsole_session=" + session
    assert c.get("/api/session")[0] == 200
    c.proc.wait_for(r'login operator="%s" from %s device=trusted '
                    r'account_locked_s=\d+$' % (OPERATOR,
                                                re.escape(BROWSER)),
                    "stderr", 5)
    # the lock for the others stands; no cookie in the log
    assert login(c, OPERATOR, PASSWORD, source=FRESH)[0] == 401
    log = c.proc.text("stderr")
    assert value not in log and set_cookies[name][0] not in log
    assert PASSWORD not in log and key.read_text().strip() not in log


def test_a_trusted_browsers_own_wrong_passwords_lock_only_its_cookie(lab):
    c = console(lab, login_max_fail="3")
    dev = trusted_login(c)
    other = trusted_login(c)  # a second browser of the operator's
    for _ in range(3):
        assert login(c, OPERATOR, WRONG, dev)[:2] == (401, {"error": "bad"})
    c.proc.wait_for(r'login failed from %s operator="%s" device=trusted: '
                    r'device locked for 600 s$' % (re.escape(BROWSER),
                                                   OPERATOR), "stderr", 5)
    # the account is not locked, nor counted against
    assert failed_count(c, OPERATOR) == 0
    status, _, set_cookies, _ = login(c, OPERATOR, PASSWORD, source=FRESH)
    assert status == 200
    # the locked cookie is an untrusted client's now: a stranger locks
    # the account, and that cookie no longer passes
    lock(c, OPERATOR, times=3)
    assert login(c, OPERATOR, PASSWORD, dev)[0] == 401
    # the other browser's cookie does
    status, body, _, _ = login(c, OPERATOR, PASSWORD, other)
    assert status == 200 and body["locked_for_others"] is True


def altered(value, at):
    flip = "0" if value[at] != "0" else "1"
    return value[:at] + flip + value[at + 1:]


def test_forged_altered_or_other_operators_cookie_gives_no_exemption(lab):
    c = console(lab)
    c.add_user(SECOND)
    (name, value), = trusted_login(c).items()
    (name2, value2), = trusted_login(c, SECOND).items()
    assert name != name2
    lock(c, OPERATOR)
    tries = {
        "id altered": {name: altered(value, 0)},
        "time altered": {name: altered(value, 64 + 15)},
        "mac altered": {name: altered(value, len(value) - 1)},
        "cut short": {name: value[:-2]},
        "made up": {name: "ab" * (len(value) // 2)},
        "the other's under this name": {name: value2},
        "the other's own": {name2: value2},
    }
    for what, cookies in tries.items():
        assert login(c, OPERATOR, PASSWORD, cookies)[:2] == (
            401, {"error": "bad"}), what
    # the genuine one does
    assert login(c, OPERATOR, PASSWORD, {name: value})[0] == 200


def test_a_new_password_or_removal_voids_the_device_cookie(lab):
    c = console(lab)
    c.add_user(SECOND)
    first, second = trusted_login(c), trusted_login(c)
    lock(c, OPERATOR)
    assert login(c, OPERATOR, PASSWORD, first)[0] == 200
    # a new password: the cookies of the old one are void
    new = "een heel ander wachtwoord"
    assert c.user("passwd", OPERATOR, password=new).returncode == 0
    lock(c, OPERATOR)
    assert login(c, OPERATOR, new, second)[:2] == (401, {"error": "bad"})

    # removed and added again, same name and password: void too
    dev = trusted_login(c, SECOND)
    lock(c, SECOND)
    dev = device_cookie(login(c, SECOND, PASSWORD, dev)[2])
    assert c.user("remove", SECOND).returncode == 0
    cp = c.user("add", SECOND)
    assert cp.returncode == 0, cp.stderr
    lock(c, SECOND)
    assert login(c, SECOND, PASSWORD, dev)[:2] == (401, {"error": "bad"})


def test_a_locked_name_answers_as_a_name_nobody_has(lab):
    c = console(lab, login_addr_max="5", login_max_fail="3")
    lock(c, OPERATOR, times=3)
    answers = {}
    for i, name in enumerate([OPERATOR, "Niemand Bekend"]):
        source = "127.0.0.%d" % (20 + i)
        # the right password, a wrong one, and on until the address's
        # limit: the same answers, byte for byte
        answers[name] = [
            login(c, name, pw, source=source)
            for pw in [PASSWORD, WRONG, WRONG, WRONG, WRONG, PASSWORD]]
    locked, nobody = answers.values()
    assert locked == nobody, (locked, nobody)
    assert [a[0] for a in locked] == [401] * 5 + [429]
    assert locked[0][1] == {"error": "bad"}


def test_a_login_checked_while_the_password_changed_is_refused(lab):
    """Review rv-n2: a login with the old password whose check was under
    way when `user passwd` committed got a session (passwd had just
    ended the old ones) and a device cookie made over the NEW hash.  The
    check now counts only against the hash it was checked against.  The
    login is held in the console's one password-check queue behind
    twenty wrong logins (each from its own address) while passwd runs."""
    c = console(lab)
    queued = []

    def wrong(i):
        queued.append(login(c, "Onbekend %d" % i, WRONG,
                            source="127.0.1.%d" % (i + 1))[0])
    flood = [threading.Thread(target=wrong, args=(i,)) for i in range(20)]
    for t in flood:
        t.start()
    time.sleep(0.3)  # the wrong ones are queued first
    got = {}

    def old():
        got["answer"] = login(c, OPERATOR, PASSWORD)
        got["at"] = time.monotonic()
    t = threading.Thread(target=old)
    t.start()
    new = "een heel ander wachtwoord"
    assert c.user("passwd", OPERATOR, password=new).returncode == 0
    changed = time.monotonic()
    t.join(60)
    for f in flood:
        f.join(60)
    assert queued == [401] * 20, queued
    # what this test is about: the old password's check ended after the
    # new password was in
    assert got["at"] > changed, "the login was checked before passwd ended"
    status, body, cookies, _ = got["answer"]
    assert (status, body) == (401, {"error": "bad"}), got
    assert not any(k.startswith("alertconsole_") for k in cookies), cookies
    assert login(c, OPERATOR, new)[0] == 200
