"""alertconsole against hostile clients on its listener (bounded in count
and time, on 127.0.0.1): oversized bodies and headers, garbage, idle
connections and too many event streams neither crash it, nor block it,
nor put anything into its database."""

import http.client
import socket
import time

import pytest

import harness
from test_console import Console, RID, make_webhook

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


def test_idle_connections_do_not_block_others(console):
    env, c = console
    idle = [socket.create_connection(("127.0.0.1", c.port)) for _ in range(30)]
    try:
        t0 = time.monotonic()
        headers, body, _ = make_webhook(env, RID)
        assert c.hook(headers, body) == 200
        assert len(c.alerts()) == 1
        assert time.monotonic() - t0 < 2
    finally:
        for s in idle:
            s.close()


def test_event_streams_are_bounded(console):
    env, c = console
    streams = []
    try:
        for _ in range(64):
            s = http.client.HTTPConnection("127.0.0.1", c.port, timeout=5)
            s.request("GET", "/api/events", headers=c.auth())
            r = s.getresponse()
            assert r.status == 200
            streams.append(s)
        s = http.client.HTTPConnection("127.0.0.1", c.port, timeout=5)
        s.request("GET", "/api/events", headers=c.auth())
        assert s.getresponse().status == 503
        s.close()
        streams.pop().close()
        harness.wait_until(lambda: _stream_ok(c.port, c.auth()), 5,
                           what="a free slot")
        # the console still answers the rest of the world
        assert c.alerts() == []
    finally:
        for s in streams:
            s.close()


def _stream_ok(port, headers):
    s = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        s.request("GET", "/api/events", headers=headers)
        return s.getresponse().status == 200
    finally:
        s.close()
