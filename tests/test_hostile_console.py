"""alertconsole against hostile clients on its listener (bounded in count
and time, on 127.0.0.1): oversized bodies and headers, garbage, idle
connections and too many event streams neither crash it, nor block it,
nor put anything into its database."""

import http.client
import socket
import time

import pytest

import harness
from test_console import Console, RID, make_webhook, refused_start

pytestmark = pytest.mark.needs("alertconsole")


@pytest.fixture
def console(lab):
    env = lab.env()
    return env, Console(lab, env).start()


def raw(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end: what it answered is below
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def test_oversized_and_malformed_requests(console):
    env, c = console
    headers, body, _ = make_webhook(env, RID)
    big = body[:-1] + b',"pad":"' + b"x" * (300 * 1024) + b'"}'
    head = "".join("%s: %s\r\n" % kv for kv in headers.items())
    out = raw(c.port, b"POST /hook/%s HTTP/1.1\r\nHost: x\r\n%s"
              b"Content-Length: %d\r\n\r\n" % (RID.encode(), head.encode(),
                                                len(big)) + big)
    assert out.startswith(b"HTTP/1.1 413"), out[:100]
    # headers beyond 16 KiB
    out = raw(c.port, b"GET /api/alerts HTTP/1.1\r\nHost: x\r\nX-A: " +
              b"a" * 20000 + b"\r\n\r\n")
    assert not out.startswith(b"HTTP/1.1 200")
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n",
                 b"POST /hook/" + RID.encode() + b" HTTP/1.1\r\n"
                 b"Content-Length: -5\r\n\r\n",
                 b"GET /%%%% HTTP/1.1\r\n\r\n"):
        raw(c.port, junk)
    assert c.proc.running()
    assert c.alerts() == [] and c.rows() == []


def still_open(s):
    """s, a connection to the console that sent nothing it could answer,
    has not been closed by it: nothing to read, no end of file."""
    s.setblocking(False)
    try:
        return s.recv(1) == b"never"  # data or b"": answered or closed
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def test_idle_connections_do_not_block_others(lab):
    """Thirty connections that send nothing: a webhook and the queue are
    served while the console still holds every one of them, so it did
    not wait them out (request_timeout, 10 s here, cuts them).  An order,
    not a wall-clock bound: speed is `make bench`'s."""
    env = lab.env()
    c = Console(lab, env, extra={"request_timeout": 10}).start()
    idle = [socket.create_connection(("127.0.0.1", c.port)) for _ in range(30)]
    try:
        headers, body, _ = make_webhook(env, RID)
        assert c.hook(headers, body) == 200
        assert len(c.alerts()) == 1
        assert all(still_open(s) for s in idle), \
            "served only once idle connections were cut"
    finally:
        for s in idle:
            s.close()


LIMITS = {"max_connections": 24, "max_connections_per_address": 8,
          "request_timeout": 2, "max_event_streams": 12,
          "max_event_streams_per_address": 6}


@pytest.fixture
def capped(lab):
    """The console with small limits, so that tests reach them quickly."""
    env = lab.env()
    return env, Console(lab, env, extra=LIMITS).start()


def stream(c, source="127.0.0.1"):
    """An operator's event stream from source: (connection, status)."""
    s = http.client.HTTPConnection("127.0.0.1", c.port, timeout=5,
                                   source_address=(source, 0))
    s.request("GET", "/api/events", headers=c.auth())
    return s, s.getresponse().status


def still_serving(env, c, n_alerts, held=()):
    """A webhook is taken and the page and the queue are served while
    the connections held (the attacker's, unanswered) are all still
    open: the console served them meanwhile, not once it had cut or
    answered the held ones (at request_timeout).  An order, not a
    wall-clock bound: speed is `make bench`'s."""
    headers, body, _ = make_webhook(env, RID)
    assert c.hook(headers, body) == 200
    status, _, page = c.get("/")
    assert status == 200 and b"Meldingen" in page
    assert len(c.alerts()) == n_alerts
    assert all(still_open(s) for s in held), \
        "served only once the held connections were cut"


@pytest.mark.hard_timeout(60)
def test_event_streams_are_bounded(capped):
    """max_event_streams_per_address from one address, max_event_streams
    in all: the next one is answered 503; a closed one frees its slot."""
    env, c = capped
    streams = []
    try:
        for _ in range(6):
            s, status = stream(c)
            assert status == 200
            streams.append(s)
        s, status = stream(c)
        assert status == 503  # 7th from 127.0.0.1
        s.close()
        for _ in range(6):
            s, status = stream(c, "127.0.0.2")
            assert status == 200
            streams.append(s)
        for _ in range(20):
            s, status = stream(c, "127.0.0.3")
            assert status == 503  # 13th in all
            s.close()
        # refusals in a loop make one log line, not one each
        c.proc.wait_for("refused event streams", timeout=15)
        assert c.proc.text("stderr").count("refused event streams") == 1
        still_serving(env, c, 1)
        streams.pop().close()
        harness.wait_until(lambda: _stream_ok(c, "127.0.0.3"), 5,
                           what="a free slot")
    finally:
        for s in streams:
            s.close()
    assert c.proc.running()


def _stream_ok(c, source="127.0.0.1"):
    s, status = stream(c, source)
    s.close()
    return status == 200


def slow(source, port, data=b"POST /hook/x HTTP/1.1\r\nHost: x\r\n"):
    s = socket.socket()
    s.settimeout(5)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(data)
    return s


def closed_by_peer(s, timeout):
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.mark.hard_timeout(60)
def test_slow_clients_are_capped_per_address_and_cut_at_the_deadline(capped):
    """A peer that sends a request a byte at a time (slowloris) holds at
    most max_connections_per_address connections, each at most
    request_timeout seconds; webhooks and the page go on meanwhile."""
    env, c = capped
    deadline = LIMITS["request_timeout"]
    held = [slow("127.0.0.2", c.port) for _ in range(8)]
    try:
        extra = slow("127.0.0.2", c.port)
        # the 9th from that address is closed at once, not at its
        # deadline: while the eight before it, whose deadlines come
        # first, are all still open.  An order, not a wall-clock bound
        # (speed is `make bench`'s).
        assert closed_by_peer(extra, 3 * deadline)
        assert all(still_open(s) for s in held), \
            "the 9th closed only at the deadline"
        extra.close()
        still_serving(env, c, 1, held)
        # the held ones are cut at the deadline, trickle or not: each
        # goes on sending a byte every quarter of request_timeout, which
        # would keep a connection whose timer every byte armed anew open
        # for good; the deadline counts from the start.  The bound is the
        # configured deadline (three of them), not the machine's speed.
        t_trickle = time.monotonic()
        while (any(still_open(s) for s in held)
               and time.monotonic() - t_trickle < 3 * deadline):
            for s in held:
                if still_open(s):
                    try:
                        s.sendall(b"X")
                    except OSError:
                        pass
            time.sleep(deadline / 4)
        assert not any(still_open(s) for s in held), \
            "a trickling connection held past its deadline"
    finally:
        for s in held:
            s.close()
    # the refusal is logged as the socket closes: wait for the line
    # rather than race the log reader (ASan, CI)
    c.proc.wait_for("reason=max_connections_per_address", timeout=15)
    c.proc.wait_for("reason=request_timeout", timeout=5)
    still_serving(env, c, 2)


@pytest.mark.hard_timeout(60)
def test_connection_cap_from_many_addresses(lab):
    """max_connections unfinished requests from as many addresses, with a
    request deadline far away: a webhook and the page get in at once,
    each newcomer closing an unfinished connection of the address holding
    the most; an operator's event stream open meanwhile is never closed
    for it.  Before, newcomers waited in the kernel's backlog until the
    deadline (here 30 s) freed a place."""
    env = lab.env()
    c = Console(lab, env, extra=dict(LIMITS, request_timeout=30)).start()
    ops, status = stream(c)
    assert status == 200
    held = []
    try:
        # every place, with the event stream; all at once, so that the
        # console meets them in one round, too new to judge: the first
        # of them that can be closed must still make the place
        for i in range(23):
            s = socket.socket()
            s.settimeout(5)
            s.bind(("127.0.1.%d" % (i + 1), 0))
            s.connect(("127.0.0.1", c.port))
            held.append(s)
        for s in held:
            s.sendall(b"GET /")
        time.sleep(0.5)
        for _ in range(3):
            headers, body, _ = make_webhook(env, RID)
            assert c.hook(headers, body) == 200
            status, _, page = c.get("/")
            assert status == 200 and b"Meldingen" in page
        # served before the deadline: an order, not a wall-clock bound
        # (speed is `make bench`'s).  Each newcomer closed one held
        # connection at most; the others are still open, which they
        # would not be had the newcomers waited for the deadline to free
        # a place (it closes every one of them)
        still = sum(still_open(s) for s in held)
        assert still >= 1, "served only once the held ones were cut"
        assert len(c.alerts()) == 3
        closed = len(held) - still
        assert closed >= 1, closed
        c.proc.wait_for("closed_for_newcomer=1", timeout=15)
        # the operator's stream is still open and still pushes
        ops.sock.settimeout(5)
        headers, body, _ = make_webhook(env, RID)
        assert c.hook(headers, body) == 200
        assert ops.sock.recv(65536), "event stream closed"
    finally:
        for s in held:
            s.close()
        ops.close()


@pytest.mark.hard_timeout(60)
def test_event_streams_are_no_reason_to_close_their_address(lab):
    """An office (127.0.0.1) holds three operators' event streams and one
    unfinished request, newer than the attacker's one-per-address
    connections that hold the other places.  Newcomers close the
    attacker's (or answered ones): only connections that could be closed
    count, so the office holds one like each attacker's address, and the
    oldest give way first.  Before, the office held four and lost its
    request to the first newcomer."""
    env = lab.env()
    c = Console(lab, env, extra=dict(LIMITS, request_timeout=30)).start()
    ops = [stream(c) for _ in range(3)]
    assert [st for _, st in ops] == [200] * 3
    attackers = [slow("127.0.1.%d" % (i + 1), c.port, b"GET /")
                 for i in range(20)]
    time.sleep(0.3)
    office = slow("127.0.0.1", c.port, b"GET /")  # 24 of 24
    time.sleep(0.3)
    try:
        for _ in range(5):  # newcomers
            headers, body, _ = make_webhook(env, RID)
            assert c.hook(headers, body) == 200
        c.proc.wait_for("closed_for_newcomer=1", timeout=15)
        assert not closed_by_peer(office, 0.5), "the office's request"
        assert sum(closed_by_peer(s, 0.1) for s in attackers) >= 1
    finally:
        for s in attackers + [office]:
            s.close()
        for s, _ in ops:
            s.close()


def answer(s, timeout):
    """What came back before the console closed s (None: still open)."""
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except (ConnectionResetError, BrokenPipeError):
        return out
    except socket.timeout:
        return None


@pytest.mark.hard_timeout(90)
def test_oversized_bodies_do_not_stop_webhooks(capped):
    """Bodies over the limit, whole or chunked, are answered 413; one
    announced as a gigabyte and left hanging is cut at the request
    deadline; forty of them, twenty at a time from other addresses,
    neither crash the console (they did: see console_listener.c) nor stop
    webhooks and the page from going on meanwhile."""
    env, c = capped
    big = b"x" * (300 * 1024)
    out = raw(c.port, b"POST /hook/%s HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: %d\r\n\r\n" % (RID.encode(), len(big)) + big)
    assert out.startswith(b"HTTP/1.1 413"), out[:60]
    out = raw(c.port, b"POST /hook/%s HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" % RID.encode() +
              (b"10000\r\n" + b"x" * 65536 + b"\r\n") * 5 + b"0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413"), out[:60]
    lie = (b"POST /hook/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
           b"\r\n" % (RID.encode(), 10**9) + b"x" * 65536)
    stored = 0
    for _ in range(2):
        t_held = time.monotonic()
        held = [slow("127.0.0.%d" % (2 + i % 4), c.port, lie)
                for i in range(20)]
        try:
            still_serving(env, c, stored + 1, held)
            stored += 1
            # none is held for the gigabyte it announced: each is
            # answered or closed, at its deadline at the latest.  The
            # wait is that configured deadline (three of them, counted
            # from the first one's start), not the machine's speed.
            end = t_held + 3 * LIMITS["request_timeout"]
            for s in held:
                out = answer(s, max(0.1, end - time.monotonic()))
                assert out is not None and not out.startswith(
                    b"HTTP/1.1 200"), "held past its deadline"
        finally:
            for s in held:
                s.close()
    assert c.proc.running()
    assert len(c.rows()) == 2


def _get(port, path, host, method="GET", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host)
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_another_host_is_refused_dns_rebinding(lab):
    """A page elsewhere whose name now points at 127.0.0.1 (DNS
    rebinding) reaches the console as Host evil.example: it gets 421,
    before any login is tried or page served; the console's own address,
    localhost and the names of server_name are served; webhooks are
    taken whatever the Host (their signatures say who sent them)."""
    env = lab.env()
    c = Console(lab, env, extra={"server_name": "console.example.nl",
                                 "login_addr_max": "2"}).start()
    c.add_user()
    own = "127.0.0.1:%d" % c.port
    for host in ("evil.example:%d" % c.port, "evil.example",
                 "127.0.0.2:%d" % c.port, "127.0.0.1:1", ""):
        assert _get(c.port, "/login.html", host)[0] == 421, host
        # many wrong passwords through the rebound name: none counted
        for _ in range(3):
            status, body = _get(c.port, "/api/login", host, "POST",
                                b'{"name":"x","password":"yyyyyyyyyyyy"}')
            assert status == 421 and b"misdirected" in body, (host, status)
    for host in (own, "localhost:%d" % c.port, "LOCALHOST",
                 "console.example.nl", "Console.Example.NL:443"):
        assert _get(c.port, "/login.html", host)[0] == 200, host
    # the address was never counted: the right password is taken
    assert c.login_session()[0] == 200
    headers, body, _ = make_webhook(env, RID)
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    try:
        conn.putrequest("POST", "/hook/" + RID, skip_host=True)
        conn.putheader("Host", "relay-saw-this-name.example")
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    c.proc.wait_for(r"421 for another Host", "stderr", 15)
    # logged once in 10 s, not once a request
    assert c.proc.text("stderr").count("421 for another Host") == 1


def test_server_name_must_be_host_names(lab):
    env = lab.env()
    c = Console(lab, env, extra={"server_name": "ok.example bad/name"})
    assert "server_name" in refused_start(c)
