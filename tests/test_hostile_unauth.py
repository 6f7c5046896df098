"""Connections that never authenticate, held from several addresses, do
not keep devices out.

Every device is unauthenticated when it arrives.  Before, a newcomer
found at max_unauthenticated was refused: max_unauthenticated /
max_unauthenticated_per_address sources (40 at the defaults) holding
plain TCP connections, and opening new ones as the relay closed them at
auth_timeout, kept every device out for as long as they went on.  Now a
newcomer takes the place of the oldest unauthenticated connection of the
source holding the most, within the IPv4 address or IPv6 /48 holding
the most (daemon/conn_unauth.h).  Real attackers on real sockets against
a real relay and Redis; loopback addresses 127.0.0.x are distinct
sources, and so are the /64s of an IPv6 /48 routed to loopback."""

import contextlib
import os
import random
import subprocess

import http.client
import re
import select
import socket
import threading
import time

import pytest

import proto
import harness
from harness import alertrelayd_bin, free_port, wait_until
from helpers import authed, device_key, parse_send, recipient_pks

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

CAP = 40  # max_unauthenticated
PER_ADDRESS = 8  # max_unauthenticated_per_address
REFILL_EVERY = 0.02  # an attacker's source opens at most 50 a second
IP_FREEBIND = 15  # linux/in.h; binds an IPv6 socket to any address too


class Holder:
    """Plain TCP connections to the device port that never send a byte:
    `per_source` from each of `sources` loopback addresses, each opened
    again as soon as the relay closes it.  Bounded: at most that many
    sockets, one new one per source every REFILL_EVERY, for at most
    `seconds`.  `addrs` instead of loopback addresses: IPv6 addresses
    (routed to loopback) connecting to `target`."""

    def __init__(self, port, sources, per_source, seconds=60, addrs=None,
                 target="127.0.0.1"):
        self.port = port
        self.target = target
        self.per_source = per_source
        self.sources = addrs or ["127.0.0.%d" % (2 + i)
                                 for i in range(sources)]
        self.end = time.monotonic() + seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.held = {s: 0 for s in self.sources}
        self.closed_by_relay = 0
        self.threads = [threading.Thread(target=self.run, args=(s,))
                        for s in self.sources]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def total(self):
        with self.lock:
            return sum(self.held.values())

    def _open(self, source):
        v6 = ":" in source
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
        try:
            if v6:
                s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            s.bind((source, 0))
            s.settimeout(0.5)
            s.connect((self.target, self.port))
            s.setblocking(False)
            return s
        except OSError:
            s.close()
            return None

    @staticmethod
    def _readable(socks):
        """poll, not select: in a long test run descriptors pass 1024,
        which select() cannot take."""
        p = select.poll()
        by_fd = {s.fileno(): s for s in socks}
        for fd in by_fd:
            p.register(fd, select.POLLIN)
        return [by_fd[fd] for fd, _ in p.poll(REFILL_EVERY * 1000)]

    def run(self, source):
        socks = []
        while not self.stop.is_set() and time.monotonic() < self.end:
            if len(socks) < self.per_source:
                s = self._open(source)
                if s is not None:
                    socks.append(s)
            if socks:
                r = self._readable(socks)
            else:
                r = []
                self.stop.wait(REFILL_EVERY)
            gone = 0
            for s in r:
                try:
                    if s.recv(1) != b"":
                        continue  # the relay never writes first; ignore
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                s.close()
                socks.remove(s)
                gone += 1
            with self.lock:
                self.held[source] = len(socks)
                self.closed_by_relay += gone
        for s in socks:
            s.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)


def attack_stack(lab):
    admin = free_port()
    env = lab.env(relay={"max_unauthenticated": CAP,
                         "max_unauthenticated_per_address": PER_ADDRESS,
                         "auth_timeout": 10})
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % admin)
    lab.redis(env)
    relay = lab.relay(env)
    return env, relay, admin


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, "%s not in /metrics" % name
    return int(m.group(1))


def panic_sent(lab, env, within):
    t0 = time.monotonic()
    rc, lines, err = lab.send(env, "--type", "panic", "--timeout", "10")
    took = time.monotonic() - t0
    assert rc == 0, "alertctl send failed under the attack: %s %s" % (
        lines, err)
    assert parse_send(lines)[1], lines
    assert took < within, "the panic alert took %.1f s" % took


def alert_on_a_new_session(env, within):
    t0 = time.monotonic()
    with authed(env, timeout=within) as c:
        frame, _, aid = proto.build_alert(device_key(env), env.device_id,
                                          recipient_pks(env))
        f = c.answer(frame, timeout=within)
    took = time.monotonic() - t0
    assert f.get("type") == "accepted" and f.get("alert_id") == aid, f
    assert took < within, "connected and accepted only after %.1f s" % took


@pytest.mark.hard_timeout(120)
@pytest.mark.parametrize("sources,per_source", [(5, 8), (20, 2)])
def test_held_unauthenticated_connections_do_not_keep_a_device_out(
        lab, sources, per_source):
    """sources x per_source = max_unauthenticated: the attacker fills the
    cap and refills it as the relay closes its connections.  A device's
    panic alert (alertctl send, and a session by hand) is accepted within
    5 s, three times over; the attacker's connections are the ones
    closed, counted in alertrelay_unauthenticated_evicted_total and
    logged within the unauthenticated peers' budget.  Before, every
    attempt was refused (reason=max_connections limit=40)."""
    env, relay, admin = attack_stack(lab)
    before = len(relay.proc.text("stderr").splitlines())
    attacker = Holder(env.relay_port, sources, per_source).start()
    try:
        wait_until(lambda: attacker.total() >= CAP, 10,
                   what="the attacker holding all %d places" % CAP)
        time.sleep(1)
        for _ in range(3):
            # it holds the places again (the device's are free once it
            # authenticated)
            wait_until(lambda: attacker.total() >= CAP - 2, 3,
                       what="the attacker holding the places again")
            panic_sent(lab, env, within=5)
            alert_on_a_new_session(env, within=5)
            time.sleep(1)
        evicted = metric(admin, "alertrelay_unauthenticated_evicted_total")
    finally:
        attacker.finish()
    # it was the attacker's connections that went: every place the
    # device took, and whatever the attacker took back from itself
    assert evicted >= 6, evicted
    assert attacker.closed_by_relay >= 6, attacker.closed_by_relay
    log = relay.proc.text("stderr").splitlines()[before:]
    made_room = [l for l in log if "closed to make room" in l]
    assert made_room, "no eviction logged:\n%s" % "\n".join(log[-30:])
    assert all("127.0.0.1:" not in l for l in made_room), made_room
    # 20 lines per 10 s window; the attack spans at most three windows
    assert len(made_room) <= 60, len(made_room)
    assert not any("reason=max_connections count" in l for l in log), log


@pytest.mark.hard_timeout(60)
def test_a_source_at_its_cap_takes_no_place_and_a_newcomer_stays(lab):
    """With the cap full, a ninth connection from a source that holds
    max_unauthenticated_per_address is refused and closes nothing; a
    connection from a sixth source takes the place of one of the
    attacker's, and is not itself closed while the attacker goes on
    opening connections in the places it loses."""
    env, relay, admin = attack_stack(lab)
    attacker = Holder(env.relay_port, 5, PER_ADDRESS).start()
    try:
        wait_until(lambda: attacker.total() >= CAP, 10,
                   what="the attacker holding all %d places" % CAP)
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(3)
        try:
            s.connect(("127.0.0.1", env.relay_port))
            closed = s.recv(1) == b""
        except ConnectionError:
            closed = True
        except socket.timeout:
            closed = False
        finally:
            s.close()
        assert closed, "a ninth from 127.0.0.2 was let in"
        time.sleep(0.3)
        assert attacker.closed_by_relay == 0
        assert metric(admin, "alertrelay_unauthenticated_evicted_total") == 0
        newcomer = proto.RawClient(env.relay_port, timeout=5,
                                   source="127.0.0.7")
        with newcomer:
            assert newcomer.hello()["type"] == "hello"
            wait_until(lambda: attacker.closed_by_relay >= 1, 5,
                       what="one of the attacker's connections closed")
            time.sleep(2)  # the attacker takes places back from itself
            assert not newcomer.expect_closed(timeout=1), \
                "the newcomer's connection was closed"
            assert metric(
                admin, "alertrelay_unauthenticated_evicted_total") >= 1
    finally:
        attacker.finish()
    log = relay.proc.text("stderr")
    assert "reason=max_connections_per_address" in log, log[-3000:]


@contextlib.contextmanager
def loopback_48():
    """A random /48 of fd00::/8 routed to loopback, so that a socket may
    bind any address in it (IP_FREEBIND); the route is gone afterwards.
    Skips where that is not allowed (not root, no IPv6)."""
    r = random.getrandbits(40)
    prefix = "fd%02x:%04x:%04x" % (r >> 32, (r >> 16) & 0xffff, r & 0xffff)
    route = ["ip", "-6", "route", "add", "local", prefix + "::/48",
             "dev", "lo"]
    if os.geteuid() != 0 or subprocess.run(
            route, capture_output=True).returncode != 0:
        pytest.skip("cannot route an IPv6 /48 to loopback here")
    try:
        yield prefix
    finally:
        route[3] = "del"
        subprocess.run(route, capture_output=True)


def dual_stack_relay(lab):
    """The attack stack with the device listener on [::]: IPv6 attackers
    reach it on ::1, alertctl on 127.0.0.1 (one IPv4 source)."""
    admin = free_port()
    env = lab.env(relay={"max_unauthenticated": CAP,
                         "max_unauthenticated_per_address": PER_ADDRESS,
                         "auth_timeout": 10})
    env.relay["listen"] = "[::]:%d" % env.relay_port
    env.write_relay_conf()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % admin)
    lab.redis(env)
    p = lab.spawn([alertrelayd_bin(), "-f", "-c", env.relay_conf],
                  "alertrelayd-dualstack")
    p.wait_for(r"listening on \[::\]:%d" % env.relay_port, "stderr", 15)
    harness.wait_redis_ready(p, 15)
    return env, p, admin


@pytest.mark.hard_timeout(120)
def test_many_64s_of_one_48_do_not_keep_a_device_out(lab):
    """An attacker with one IPv6 /48 holds the cap from twice as many
    /64s as places, one connection each, and opens a new one as soon as
    the relay closes one.  Before, each /64 held as many as the device's
    source (one), so the device's connection was closed in its turn,
    max_unauthenticated newcomers later, within its handshake: every
    panic failed.  Now the /48 holds the most and gives way: the panic
    alert is accepted within 5 s, three times over."""
    with loopback_48() as prefix:
        env, relay, admin = dual_stack_relay(lab)
        addrs = ["%s:%x::1" % (prefix, i) for i in range(2 * CAP)]
        attacker = Holder(env.relay_port, 0, 1, addrs=addrs,
                          target="::1").start()
        try:
            # the cap is full: the attacker's newcomers close its own
            wait_until(lambda: metric(
                admin, "alertrelay_unauthenticated_evicted_total") >= CAP,
                10, what="the attacker filling the cap")
            time.sleep(1)
            for _ in range(3):
                panic_sent(lab, env, within=5)
                alert_on_a_new_session(env, within=5)
                time.sleep(0.5)
        finally:
            attacker.finish()
    log = relay.text("stderr")
    made_room = [l for l in log.splitlines()
                 if "closed to make room for a new connection" in l]
    # the attacker's /48 gave way, never the device's 127.0.0.1
    assert made_room and all("its /48" in l for l in made_room), made_room
