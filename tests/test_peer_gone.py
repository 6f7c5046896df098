"""A device that goes away without ending its TLS session (a phone that
lost the network, 10,000 devices dropped at once in make bench's
reconnect storm) is closed, and nothing is written back to it.

Before, OpenSSL answered the end of the stream with a fatal alert
(unexpected EOF): a write to a socket whose peer is gone, and a reset
from the peer's kernel, for each device; in the reconnect storm that
was more than half of reading 10,000 ends of file, in front of the
alerts of the devices still connected (common/tls.c,
SSL_OP_IGNORE_UNEXPECTED_EOF).  The test half-closes the TCP connection
without close_notify and reads what comes back as raw bytes: before,
an encrypted alert record (24 bytes); now the relay's end of file and
nothing else."""

import os
import socket
import time

import pytest

from harness import wait_until
from helpers import authed, raw_client

pytestmark = pytest.mark.needs("alertrelayd")


def cut_and_read(c, timeout=5):
    """Ends c's TCP stream without close_notify; returns the raw bytes
    the relay wrote before it closed its end (None: it did not close)."""
    # SSLSocket.shutdown() drops the TLS state: no close_notify is sent,
    # and recv() reads the socket itself from then on
    c.sock.shutdown(socket.SHUT_WR)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = c.sock.recv(4096)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    return None


@pytest.mark.hard_timeout(40)
def test_an_authenticated_device_that_vanishes_gets_nothing_back(lab):
    env, *_ = lab.stack()
    c = authed(env)
    try:
        assert cut_and_read(c) == b""
    finally:
        c.close()
    # and the relay goes on serving the device when it comes back
    with authed(env) as again:
        assert again.request({"type": "ping"}) == {"type": "pong"}


@pytest.mark.hard_timeout(40)
def test_a_device_that_vanishes_before_authenticating_gets_nothing_back(lab):
    env, *_ = lab.stack()
    c = raw_client(env)
    try:
        assert c.hello().get("type") == "hello"
        assert cut_and_read(c) == b""
    finally:
        c.close()


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@pytest.mark.hard_timeout(60)
def test_every_way_out_gives_the_socket_back(lab):
    """The relay frees a connection's TLS object and closes its socket
    itself (daemon/conn.c, conn_free), not libevent: after sessions that
    end every way (closed cleanly, cut without close_notify, refused at
    authentication, cut during the handshake), the relay holds as many
    descriptors as before."""
    env, _, relay, _ = lab.stack()
    pid = relay.proc.pid
    with authed(env) as c:  # everything the first session sets up
        assert c.request({"type": "ping"}) == {"type": "pong"}
    time.sleep(0.5)  # its socket freed by the reaper
    before = open_fds(pid)
    for _ in range(20):
        with authed(env) as c:  # clean close (close_notify)
            c.request({"type": "ping"})
        c = authed(env)
        cut_and_read(c)  # gone without close_notify
        c.close()
        c = raw_client(env)
        c.hello()
        c.send_frame({"type": "auth", "device_id": env.device_id,
                      "sig": "AAAA"})  # refused: closed by the relay
        assert c.expect_closed(5)
        c.close()
        s = socket.create_connection(("127.0.0.1", env.relay_port))
        s.sendall(b"\x16\x03\x01\x00\x05hello")  # a broken handshake
        s.close()
    wait_until(lambda: open_fds(pid) <= before, 10,
               what="the relay back at %d descriptors" % before)
