"""alertconsole frees the event stream of a page that vanished without
closing (a NAT or firewall that dropped its state, a change of Wi-Fi or
VPN: its packets are silently lost), within about 30 s, so that such
drops do not fill max_event_streams_per_address and get an office's
new streams refused.  The loss is real: an nftables table of the test's
own drops the console's packets to one stream's client port, and the
console's kernel retransmits into the void as it would over a network.
Skipped without nft (Debian's nftables) or when the kernel refuses the
table."""

import http.client
import os
import shutil
import subprocess
import time

import pytest

import harness
from test_console import Console, console_bin
from test_console_stream_session import Stream

pytestmark = pytest.mark.needs("alertconsole")

PER_ADDRESS = 2
# TCP_USER_TIMEOUT is 30 s (console_events.c) after the first
# unacknowledged heartbeat, which goes out within 5 s of the drop; the
# old code kept the stream until tcp_retries2 gave up (about 15 minutes).
FREED_WITHIN = 60


def nft(script):
    return subprocess.run(["nft", "-f", "-"], input=script, text=True,
                          capture_output=True, timeout=10)


class Blackhole:
    """An nftables table of this test's own dropping, on arrival, the
    packets from the console's port to one client port.  Dropped in the
    input hook (loopback traffic passes it), after the console's kernel
    sent them, as a firewall on the way would: dropped in output, the
    sender's own kernel would know of the loss."""

    PREFIX = "alertrelay_test_"

    def __init__(self, server_port, client_port):
        self.sweep()
        self.table = "%s%d" % (self.PREFIX, os.getpid())
        cp = nft("""
table inet %(t)s {
    chain in {
        type filter hook input priority -10; policy accept;
        iif "lo" ip saddr 127.0.0.1 ip daddr 127.0.0.1 tcp sport %(s)d tcp dport %(c)d drop
    }
}
""" % {"t": self.table, "s": server_port, "c": client_port})
        if cp.returncode != 0:
            pytest.skip("the kernel refused the test's nftables table: %s"
                        % cp.stderr.strip()[-300:])

    @classmethod
    def sweep(cls):
        """Removes the tables of earlier runs whose process is gone (a
        run killed before its finally): left behind, each would go on
        dropping loopback packets to a port a later program may use."""
        cp = subprocess.run(["nft", "list", "tables"], text=True,
                            capture_output=True, timeout=10)
        for line in cp.stdout.splitlines():
            words = line.split()
            if len(words) != 3 or not words[2].startswith(cls.PREFIX):
                continue
            pid = words[2][len(cls.PREFIX):]
            if pid.isdigit() and not os.path.exists("/proc/" + pid):
                nft("delete table inet %s\n" % words[2])

    def remove(self):
        cp = nft("delete table inet %s\n" % self.table)
        assert cp.returncode == 0, cp.stderr


def opens(console):
    """A new stream is accepted (then closed)."""
    c = http.client.HTTPConnection("127.0.0.1", console.port, timeout=10)
    try:
        c.request("GET", "/api/events", headers={"Cookie": console.cookie})
        return c.getresponse().status == 200
    finally:
        c.close()


@pytest.mark.hard_timeout(150)
def test_a_vanished_page_s_stream_frees_its_slot(lab):
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    env = lab.env()
    console = Console(lab, env, extra={
        "max_event_streams_per_address": str(PER_ADDRESS)})
    # -v: the close of a stream is a debug line
    console.proc = lab.spawn([console_bin(), "-v", "-c", console.conf],
                             "alertconsole")
    console.proc.wait_for(r"alertconsole ready", "stderr", 10)
    console.login()
    streams = []
    hole = None
    try:
        for _ in range(PER_ADDRESS):
            streams.append(Stream(console, console.cookie))  # 200
            assert streams[-1].next()["event"] == "heartbeat"
        assert not opens(console)  # 503: the address holds its cap
        dead, live = streams
        hole = Blackhole(console.port, dead.c.sock.getsockname()[1])
        t0 = time.monotonic()
        harness.wait_until(lambda: opens(console), FREED_WITHIN,
                           interval=1, what="the dead stream's slot freed")
        freed = time.monotonic() - t0
        # not before its heartbeats went unacknowledged for a while: a
        # short loss is survived (the kernel's 30 s, less a heartbeat)
        assert freed > 20, freed
        # logged as the end of a stream (no other stream closed before)
        m = console.proc.wait_for(r"event stream closed after (\d+) s")
        assert int(m.group(1)) > 20, m.group(0)
        assert console.cookie.split("=", 1)[1] not in console.proc.text()
        # only the dead one went: the live one still holds its slot ...
        keep = Stream(console, console.cookie)  # 200
        try:
            assert not opens(console)
        finally:
            keep.close()
        # ... and still carries heartbeats (past those that waited)
        while True:
            t1 = time.monotonic()
            assert live.next()["event"] == "heartbeat"
            if time.monotonic() - t1 > 0.5:
                break  # one it waited for: sent just now
    finally:
        if hole is not None:
            hole.remove()
        for s in streams:
            s.close()
    assert console.proc.running()
