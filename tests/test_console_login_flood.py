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
import time
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
