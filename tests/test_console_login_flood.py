"""alertconsole's login under a flood from many addresses: what one
address may try is counted per source (an IPv4 address, an IPv6 /48) in
places that a flood of other sources cannot take from it, and only once
a request is a login; the password checks are shared fairly between
sources, and a browser that logged in before (a valid device cookie)
has checks of its own, served first.  Real alertconsole, real HTTP from
many loopback addresses (127.0.0.x are distinct sources)."""

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness
from test_console import Console, OPERATOR, PASSWORD
from test_hostile_unauth import IP_FREEBIND, loopback_48

pytestmark = pytest.mark.needs("alertconsole")

WRONG = json.dumps({"name": "j.jansen", "password": "geraden wachtwoord"})


def post(port, source, body, cookies=None, host="127.0.0.1"):
    """POST /api/login from source: (status, {cookie: value} set)."""
    conn = http.client.HTTPConnection(host, port, timeout=60,
                                      source_address=(source, 0))
    if ":" in source:  # an address of a /48 routed to loopback
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        s.bind((source, 0))
        s.settimeout(60)
        s.connect((host, port))
        conn.sock = s
    headers = {"Content-Type": "application/json"}
    if cookies:
        headers["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    try:
        conn.request("POST", "/api/login", body, headers)
        r = conn.getresponse()
        r.read()
        set_cookies = {}
        for line in r.msg.get_all("Set-Cookie") or []:
            k, _, v = line.partition(";")[0].partition("=")
            set_cookies[k] = v
        return r.status, set_cookies
    finally:
        conn.close()


def status(port, source, body=WRONG, **kw):
    return post(port, source, body, **kw)[0]


def others(n, first=20):
    """n loopback addresses apart from the tests' own."""
    return ["127.0.%d.%d" % (first + i // 250, i % 250 + 1)
            for i in range(n)]


def test_junk_from_many_sources_does_not_wipe_a_count(lab):
    """An address at login_addr_max stays refused after a malformed
    request from each of 300 other addresses (no password checked, 400).
    Before, a request took a place before its body was read, and the
    257th source took the oldest: the attacker's count was gone."""
    c = Console(lab, lab.env(), extra={"login_addr_max": 3}).start()
    attacker = "127.0.9.1"
    assert [status(c.port, attacker) for _ in range(5)] == \
        [401, 401, 401, 429, 429]
    with ThreadPoolExecutor(8) as pool:
        junk = list(pool.map(lambda s: status(c.port, s, "{"), others(300)))
    assert set(junk) == {400}
    assert [status(c.port, attacker) for _ in range(2)] == [429, 429]


@pytest.mark.hard_timeout(300)
def test_failures_of_many_sources_do_not_wipe_a_count(lab):
    """257 other addresses each fail one real login (a password checked
    for each) while the attacker's window runs: its place is not given
    to any of them, it stays refused.  Before, the 257th took the oldest
    place, the attacker's."""
    c = Console(lab, lab.env(), extra={"login_addr_max": 3}).start()
    attacker = "127.0.9.1"
    assert [status(c.port, attacker) for _ in range(4)] == \
        [401, 401, 401, 429]
    with ThreadPoolExecutor(4) as pool:
        failed = list(pool.map(lambda s: status(c.port, s), others(257)))
    assert set(failed) == {401}
    assert status(c.port, attacker) == 429


def test_the_64s_of_one_48_are_one_source(lab):
    """Failures from three /64s of one IPv6 /48 count together: a fourth
    /64 of it is refused (429) at login_addr_max = 3, while an address
    elsewhere still gets its password checked.  Before, each /64 was a
    source of its own (a site has 65536 of them)."""
    with loopback_48() as prefix:
        port = harness.free_port()
        Console(lab, lab.env(), port=port, listen="[::1]:%d" % port,
                extra={"login_addr_max": 3}).start()
        statuses = [status(port, "%s:%x::1" % (prefix, i), host="::1")
                    for i in range(4)]
        assert statuses == [401, 401, 401, 429]
        assert status(port, "::1", host="::1") == 401


def raw_login(body):
    return ("POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n%s" % (len(body), body)).encode()


def answer_status(s):
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_one_source_has_two_checks_waiting_at_most(lab):
    """Ten wrong logins from one address reach the console together (the
    last byte of each sent at once): two wait for their check, the other
    eight are refused 503 at once, and each refusal counts against the
    address as a failure would, so with the two checked it is at
    login_addr_max = 10 (429) while another address still gets its
    password checked.  Before,
    all ten were queued (the queue held 32 from anyone) and checked."""
    c = Console(lab, lab.env(), extra={"login_addr_max": 10}).start()
    req = raw_login(WRONG)
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", c.port), 30,
                                     source_address=("127.0.9.5", 0))
        s.sendall(req[:-1])
        socks.append(s)
    for s in socks:
        s.sendall(req[-1:])
    statuses = sorted(answer_status(s) for s in socks)
    for s in socks:
        s.close()
    assert statuses.count(503) >= 6 and set(statuses) <= {401, 503}, \
        statuses
    # 2 checked and 8 refused: 10; the 2 checked alone would get a check
    assert status(c.port, "127.0.9.5") == 429
    assert status(c.port, "127.0.9.6") == 401


@pytest.mark.hard_timeout(180)
def test_a_trusted_browser_logs_in_during_a_flood(lab):
    """Wrong passwords for the operator's own account from 16 addresses,
    three connections each, keep the checks of other logins full (503s)
    and lock the account; no limit per address stops them
    (login_addr_max = 100000: an attacker with as many addresses as it
    takes).  Meanwhile the operator's browser that logged in before (its
    device cookie) logs in each of five times, the flood still going on
    after the last.  Before, every login shared one queue and the
    operator's got 503 (21 of 21 in the review)."""
    c = Console(lab, lab.env(), extra={"login_addr_max": 100000}).start()
    c.add_user()
    right = json.dumps({"name": OPERATOR, "password": PASSWORD})
    st, cookies = post(c.port, "127.0.7.1", right)
    assert st == 200
    device = {k: v for k, v in cookies.items()
              if k.startswith("alertconsole_device_")}
    assert len(device) == 1
    wrong = json.dumps({"name": OPERATOR, "password": "geraden wachtwoord"})
    stop = threading.Event()
    seen = []
    lock = threading.Lock()

    def attacker(source):
        while not stop.is_set():
            try:
                st = status(c.port, source, wrong)
            except OSError:
                continue
            with lock:
                seen.append(st)

    flood = [threading.Thread(target=attacker, args=("127.0.6.%d" % (i + 1),))
             for i in range(16) for _ in range(3)]
    for t in flood:
        t.start()
    try:
        harness.wait_until(lambda: 503 in seen, 60,
                           what="the flood filling the checks")
        got = []
        for _ in range(5):
            st, cookies = post(c.port, "127.0.7.1", right, cookies=device)
            got.append(st)
            device = {k: v for k, v in cookies.items()
                      if k.startswith("alertconsole_device_")} or device
        with lock:
            mark = len(seen)
        harness.wait_until(lambda: 503 in seen[mark:], 60,
                           what="the flood still refused after the logins")
    finally:
        stop.set()
        for t in flood:
            t.join(60)
    assert got == [200] * 5, got
    assert set(seen) <= {401, 503}, set(seen)
