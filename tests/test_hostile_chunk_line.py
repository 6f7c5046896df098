"""A chunked request whose chunk-size line never ends, against every HTTP
listener behind common/http_guard.c: the relay's [ack] listen (HTTPS) and
listen_plain, its [admin] listen, alertconsole's listener and `alertctl
receive`.  libevent 2.1.12 reads a chunk's size line without a length
limit (the request line and headers have one), so hex digits without a
line end piled up in the listener's memory until the request deadline,
scanned again at every read: one connection made the relay hold 70 MB
and burn a core, four made it 148 MB (review rv-listen, finding 1).  Now
the guard shuts a connection that holds more unparsed input than one
whole request (headers plus body limit).

Each attack sends the headers, then digits, from its own loopback
address, with the request deadline set far beyond the test so that only
the new bound can close it.  Real processes, real sockets."""

import socket
import ssl
import threading
import time

import pytest

import harness
from test_console import Console
from test_hostile_guard import connect, http_stack, metric, request

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

DEADLINE = 60  # request_timeout: far beyond what a test waits
SEND_CAP = 64 << 20  # what an attacker sends at most
SEND_SECONDS = 8  # and for how long
CLOSED_BY = 8 << 20  # a bounded listener has closed well before this


def digits_forever(port, path, src, tls=False):
    """Headers of a chunked POST, then digits without a line end until
    the listener closes (or the cap).  Returns (bytes sent, closed)."""
    s = connect(port, src, timeout=5)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    sent, block = 0, b"1" * 65536
    t0 = time.monotonic()
    try:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" % (path.encode(), port))
        while sent < SEND_CAP and time.monotonic() - t0 < SEND_SECONDS:
            s.sendall(block)
            sent += len(block)
    except OSError:
        return sent, True
    finally:
        s.close()
    return sent, False


def attack(port, path, srcs, tls=False):
    """One attacker per source address at once; their results."""
    out = [None] * len(srcs)

    def one(i):
        out[i] = digits_forever(port, path, srcs[i], tls)

    ts = [threading.Thread(target=one, args=(i,), daemon=True)
          for i in range(len(srcs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(SEND_SECONDS + 10)
    return out


def assert_cut(results):
    for sent, closed in results:
        assert closed, "the listener held the connection after %d MB" % (
            sent >> 20)
        assert sent < CLOSED_BY, "closed only after %d MB" % (sent >> 20)


def srcs(base, n=4):
    return ["127.0.0.%d" % (base + i) for i in range(n)]


@pytest.mark.hard_timeout(120)
def test_relay_listeners_cut_an_endless_chunk_size_line(lab):
    limits = {"request_timeout": DEADLINE}
    env, relay, ports = http_stack(lab, ack=limits, admin=limits)
    s = harness.device_session(env)
    for name, port, path, tls, base in (
            ("ack", ports["ack"], "/v1/ack", True, 10),
            ("ack_plain", ports["ack_plain"], "/v1/sms/x", False, 20),
            ("admin", ports["admin"], "/reload", False, 30)):
        results = attack(port, path, srcs(base), tls)
        assert_cut(results)
        assert metric(ports["admin"], "alertrelay_connections_refused_total",
                      listener=name, reason="request_too_large") == 4
        # the relay still serves: a panic is accepted, health answers
        s.send_alert("panic")  # asserts it was accepted
        assert b" 200 " in request(ports["admin"]).split(b"\r\n")[0]
    relay.proc.wait_for(r"reason=request_too_large", "stderr", 15)


@pytest.mark.hard_timeout(120)
@pytest.mark.needs("alertconsole")
def test_console_cuts_an_endless_chunk_size_line(lab):
    env = lab.env()
    c = Console(lab, env, extra={"request_timeout": DEADLINE}).start()
    assert_cut(attack(c.port, "/hook/contactpunt", srcs(40)))
    status, _, _ = c.get("/")
    assert status in (200, 302, 303), status
    c.proc.wait_for(r"reason=request_too_large", "stderr", 15)


@pytest.mark.hard_timeout(120)
def test_receive_cuts_an_endless_chunk_size_line(lab):
    env = lab.env()
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt",
                        extra=("--request-timeout", str(DEADLINE)))
    assert_cut(attack(recv.port, "/hook", srcs(50)))
    # it still takes a real alert
    s = harness.device_session(env)
    aid = s.send_alert("panic")["alert_id"]
    (got,) = recv.wait_alerts(1, timeout=10)
    assert got["alert_id"] == aid
