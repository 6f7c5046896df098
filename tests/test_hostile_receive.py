"""`alertctl receive` under a flood of idle connections: what anyone on
the network can make the contact point's webhook endpoint hold is
bounded, and the relay's signed webhook still gets in.

Before, the endpoint took any number of connections and kept each for as
long as its peer liked: one client could take its descriptors, and the
alerts no longer reached the contact point.  Now it runs under
common/http_guard.c, as alertconsole's and alertrelayd's listeners do
(--max-connections, --max-per-address, --request-timeout), and at the cap
a newcomer closes an unfinished connection of the address holding the
most.  Real attackers on real sockets (loopback addresses 127.0.0.x are
distinct sources, and so are the /64s of an IPv6 /48 routed to loopback;
the relay and our own POSTs come from 127.0.0.1),
against a real `alertctl receive`, and for the webhook a real relay and
Redis."""

import os
import socket
import time

import pytest

import harness
from harness import wait_until
from helpers import send_ok
from test_hostile_unauth import Holder, loopback_48
from test_receiver import RID, make_webhook, post

pytestmark = pytest.mark.needs("alertctl")

SLACK = 6  # descriptors beyond the cap: being shut, or just accepted


def fds(proc):
    return len(os.listdir("/proc/%d/fd" % proc.popen.pid))


def hold(holder, seconds, check):
    """Calls check() every 0.1 s for `seconds` while holder runs."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        check()
        time.sleep(0.1)


def printed_within(recv, n, headers, body, seconds=5):
    t0 = time.monotonic()
    assert post(recv.port, headers, body) == 200
    recv.wait_alerts(n, timeout=seconds)
    return time.monotonic() - t0


@pytest.mark.hard_timeout(90)
def test_one_address_holds_at_most_its_share(lab):
    env = lab.env()
    recv = lab.receiver(env, RID)
    base = fds(recv.proc)
    holder = Holder(recv.port, sources=1, per_source=200, seconds=30).start()
    try:
        wait_until(lambda: holder.total() >= 32, 10,
                   what="the attacker holds its 32")
        most = [0]

        def check():
            most[0] = max(most[0], fds(recv.proc))
        hold(holder, 3, check)
        # 32 per address (the default), not 200
        assert most[0] <= base + 32 + SLACK, (base, most[0])
        headers, body, _ = make_webhook(env)
        assert printed_within(recv, 1, headers, body) < 5
    finally:
        holder.finish()
    recv.proc.wait_for("reason=max_connections_per_address", "stderr", 10)


@pytest.mark.hard_timeout(120)
def test_many_addresses_fill_the_cap_and_webhooks_still_get_in(lab):
    cap, per = 16, 4
    env = lab.env()
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, RID, extra=["--max-connections", str(cap),
                                         "--max-per-address", str(per)])
    base = fds(recv.proc)
    # 10 addresses x 4 = 40 wanted, 16 places: every place held, and
    # every place taken again as soon as one is closed
    holder = Holder(recv.port, sources=10, per_source=per, seconds=60).start()
    try:
        # every place held: each newcomer now closes another's
        recv.proc.wait_for("closed_for_newcomer=1", "stderr", 10)
        most = [0]

        def check():
            most[0] = max(most[0], fds(recv.proc))
        hold(holder, 2, check)
        assert most[0] <= base + cap + SLACK, (base, most[0])
        # correctly signed POSTs from an address of their own, in turn
        for i in range(3):
            headers, body, _ = make_webhook(env)
            assert printed_within(recv, i + 1, headers, body) < 5
            check()
        # the real relay's signed webhook, well within its retry window
        alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message",
                                 "Hulp nodig", "--timeout", "20")
        t0 = time.monotonic()
        out = recv.wait_alerts(4, timeout=20)
        assert [a["alert_id"] for a in out][-1] == alert_id
        assert out[-1]["verified"] is True
        assert time.monotonic() - t0 < 15
        check()
        assert most[0] <= base + cap + SLACK, (base, most[0])
        # the attacker's connections are the ones closed
        assert holder.closed_by_relay > 0
    finally:
        holder.finish()


@pytest.mark.parametrize("args, words", [
    (["--max-connections", "1"], "--max-connections must be 2 to 100000"),
    (["--max-per-address", "0"], "--max-per-address must be 1 to 100000"),
    (["--request-timeout", "301"], "--request-timeout must be 1 to 300"),
    (["--request-timeout", "tien"], "--request-timeout must be 1 to 300"),
])
def test_limits_out_of_range_are_refused(args, words):
    cp = harness.run([harness.alertctl_bin(), "receive"] + args, timeout=10)
    assert cp.returncode == 2, cp
    assert words in cp.stderr, cp.stderr


def still_open(s):
    """True while the peer has neither closed nor reset s."""
    s.settimeout(0.3)
    try:
        return s.recv(100) != b""
    except socket.timeout:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False


def held_request(src, port):
    """A connection from src whose request never ends: closable."""
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"POST /hook HTTP/1.1\r\n")
    return s


@pytest.mark.hard_timeout(60)
def test_a_refused_newcomer_closes_nobody(lab):
    """Three senders each hold an unfinished request of the four places;
    another address connects again and again: its first takes the fourth
    place, the others are refused by the per-address cap, and a refused
    connection makes no place, so none of the three is closed.  Before,
    each accepted connection at the cap closed someone's before the
    address checks refused it."""
    env = lab.env()
    recv = lab.receiver(env, RID, extra=["--max-connections", "4",
                                         "--max-per-address", "1"])
    legit = [held_request("127.0.0.%d" % (2 + i), recv.port)
             for i in range(3)]
    time.sleep(0.3)
    extra = []
    for _ in range(6):
        s = socket.socket()
        s.bind(("127.0.0.9", 0))
        s.connect(("127.0.0.1", recv.port))
        extra.append(s)
        time.sleep(0.1)
    recv.proc.wait_for("reason=max_connections_per_address", "stderr", 15)
    time.sleep(0.5)
    try:
        assert [still_open(s) for s in legit] == [True] * 3
        assert "closed_for_newcomer" not in recv.proc.text("stderr")
    finally:
        for s in legit + extra:
            s.close()


@pytest.mark.hard_timeout(120)
def test_many_64s_of_one_48_give_way_as_one(lab):
    """An attacker with one IPv6 /48 holds the cap from twice as many /64s
    as places, one connection each (each source far below
    --max-per-address), and reopens what is closed.  A sender from
    127.0.0.2 holds two unfinished requests.  Newcomers close the /48's
    connections, which together hold the most: the signed POSTs from
    127.0.0.1 are printed at once, and 127.0.0.2's two connections stay.
    Without the /48 grouping each /64 held one, fewer than 127.0.0.2's
    two, whose connections were the first to go."""
    cap = 8
    with loopback_48() as prefix:
        env = lab.env()
        port = env.recipient(RID).webhook_port
        recv = lab.receiver(env, RID, extra=[
            "--listen", "[::]:%d" % port, "--max-connections", str(cap),
            "--max-per-address", "4", "--request-timeout", "120"])
        legit = [held_request("127.0.0.2", port) for _ in range(2)]
        time.sleep(0.3)
        addrs = ["%s:%x::1" % (prefix, i) for i in range(2 * cap)]
        holder = Holder(port, 0, 1, addrs=addrs, target="::1").start()
        try:
            # every place held: each newcomer now closes another's
            recv.proc.wait_for("closed_for_newcomer=1", "stderr", 10)
            wait_until(lambda: holder.closed_by_relay >= 2 * cap, 10,
                       what="the attacker's connections closed in turn")
            for i in range(3):
                headers, body, _ = make_webhook(env)
                assert printed_within(recv, i + 1, headers, body) < 5
            assert [still_open(s) for s in legit] == [True, True]
        finally:
            holder.finish()
            for s in legit:
                s.close()
