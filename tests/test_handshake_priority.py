"""Handshakes at a lower loop priority than authenticated traffic
(daemon/conn_priority.h): devices reconnecting in waves are all served,
and the relay's loop is not broken by them.

Before the fix, a connection was moved to the default priority when it
authenticated.  libevent 2.1's bufferevent_priority_set() also moves the
bufferevent's deferred callback, even while it waits in the loop's active
queue (queued there when the hello frame left the output); libevent then
unlinks it from the wrong queue, and callbacks queued later are lost for
good while the loop believes they are pending.  The relay then spun at
100% CPU with nothing to do (the loop never sleeps while callbacks are
pending), and the callbacks lost are whichever are queued next at the
wrong place: handshakes, the valve's canary, and in the order traced by
hand also a paused connection's resume or reads
(tests/test_hostile_conn.py, test_paused_connection_resumes_once_read
failed now and then on a loaded machine).  Waves of devices connecting at
once make the authentication of a device come before its deferred
callback ran; 50 waves of 20 left the relay spinning in 8 runs of 8
before the fix (10 waves of 100: 4 of 10).

A connection is again moved when it authenticates (it stays behind the
rest until then, so that a thousand auth frames in a reconnect storm do
not hold up an alert), now safely: a device connection has no write
callback until it closes, so the hello frame queues no deferred callback
(conn_priority.h); these waves check that too."""

import os
import socket
import struct
import threading
import time

import pytest

import proto
from helpers import authed, device_key, raw_client, recipient_pks

pytestmark = pytest.mark.needs("alertrelayd")

MiB = 1024 * 1024
WAVES, WAVE = 50, 20
# The "devices" of a wave are sessions of the one test device: the cap on
# sessions per device (test_limits.py) is lifted with the connection rate.


def wave(env, n):
    """n devices connect at once, authenticate and are answered a ping;
    returns what went wrong, one entry per device that was not served."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        try:
            barrier.wait(20)
            with authed(env, timeout=20) as c:
                results[i] = c.request({"type": "ping"}, timeout=20)
        except Exception as e:  # noqa: BLE001 (reported below)
            results[i] = repr(e)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return [r for r in results if r != {"type": "pong"}]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paused_then_read(env):
    """A device sends 16 MiB of pings without reading (so the relay
    pauses it), then reads: every ping is answered, and the same
    session takes an alert (as in test_hostile_conn.py)."""
    ping = struct.pack(">I", 15) + b'{"type":"ping"}'
    pong = struct.pack(">I", 15) + b'{"type":"pong"}'
    with authed(env) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        data = ping * (16 * MiB // len(ping))
        sent, end = 0, time.monotonic() + 4
        c.sock.settimeout(0.5)
        while sent < len(data) and time.monotonic() < end:
            try:
                sent += c.sock.send(data[sent:sent + 16378])
            except socket.timeout:
                continue
        assert sent % len(ping) == 0 and 2 * MiB < sent < len(data), sent
        want = pong * (sent // len(ping))
        got = c._read_exact(len(want), time.monotonic() + 30)
        assert got == want, "pongs missing or out of order"
        frame, _, aid = proto.build_alert(device_key(env), env.device_id,
                                          recipient_pks(env))
        f = c.request(frame, timeout=10)
        assert f.get("type") == "accepted" and f.get("alert_id") == aid, f


@pytest.mark.hard_timeout(240)
def test_waves_of_reconnecting_devices_leave_the_loop_whole(lab):
    """50 waves of 20 devices connecting at once: each device is
    authenticated and answered.  Then the relay, with nothing to do,
    sleeps (before the fix it spun at 100% CPU: callbacks lost in its
    loop), and a paused connection resumes once read."""
    env, _, relay, _ = lab.stack(relay={"device_conn_rate": 10000,
                                        "device_conn_burst": 10000,
                                        "max_sessions_per_device": 1000,
                                        "send_timeout": 20})
    bad = []
    for _ in range(WAVES):
        bad += wave(env, WAVE)
        if bad:
            break
    assert not bad, "%d devices not served: %s" % (len(bad), bad[:3])
    time.sleep(0.5)  # the last connections' closes
    c0 = cpu_seconds(relay.proc.pid)
    time.sleep(2)
    idle = cpu_seconds(relay.proc.pid) - c0
    assert idle < 0.5, "an idle relay used %.2f s of CPU in 2 s" % idle
    paused_then_read(env)
    assert "peer does not read" not in relay.proc.text()
    assert "priority not raised" not in relay.proc.text()


@pytest.mark.hard_timeout(120)
def test_a_crowd_beyond_an_accept_batch_is_all_served(lab):
    """The listener pauses after LISTEN_BATCH (64) accepts in one go and
    goes on at the handshakes' priority (daemon/listener.c): 300 devices
    connecting at once are all accepted, authenticated and answered, and
    a device connecting after them still is (the listener was resumed).

    All 300 come from 127.0.0.1, and a slow relay (ASan on a loaded
    machine) may hold more than max_unauthenticated_per_address (256)
    of them before the first authenticate: that cap is tested in
    test_limits.py, so here it is lifted like the connection rate."""
    env, _, relay, _ = lab.stack(relay={"device_conn_rate": 10000,
                                        "device_conn_burst": 10000,
                                        "max_sessions_per_device": 1000,
                                        "max_unauthenticated_per_address":
                                        1000,
                                        "send_timeout": 20})
    bad = wave(env, 300)
    assert not bad, "%d devices not served: %s" % (len(bad), bad[:3])
    assert wave(env, 1) == []


PING = struct.pack(">I", 15) + b'{"type":"ping"}'


def pump(env, stop):
    """An authenticated device that sends pings as fast as it can and
    reads the pongs: with a few of these the relay's default queue is
    never empty, and the handshakes' priority never gets a turn."""
    with authed(env, timeout=20) as c:
        c.sock.settimeout(0.5)

        def drain():
            while not stop.is_set():
                try:
                    c.sock.recv(1 << 20)
                except socket.timeout:
                    pass
                except OSError:
                    return

        reader = threading.Thread(target=drain)
        reader.start()
        # send() and an offset, not sendall(): a sendall() cut by the
        # timeout would leave half a frame, and the relay would close
        # the pump as a bad peer (then nothing starves)
        chunk = memoryview(PING * 4000)
        off = 0
        while not stop.is_set():
            try:
                off = (off + c.sock.send(chunk[off:])) % len(chunk)
            except socket.timeout:
                continue
            except OSError:
                break
        reader.join(5)


@pytest.mark.hard_timeout(120)
def test_the_valve_lets_a_device_authenticate_under_sustained_load(lab):
    """A device that finished its handshake before the load began waits
    to authenticate at the handshakes' priority (conn_priority.h).  While
    six devices keep the default queue busy, that priority gets no turn:
    the valve raises the waiting connection, and the device is ready
    while the load goes on.  Without the valve covering connections past
    their handshake, the auth frame would not be read while the load
    lasts, which is until the answer came: auth_timeout (5 s) ends the
    wait with a timeout instead."""
    env, _, relay, _ = lab.stack(debug=True, relay={"auth_timeout": 5,
                                                    "send_timeout": 20})
    waiting = raw_client(env, timeout=20)
    assert waiting.hello().get("type") == "hello"
    stop = threading.Event()
    pumps = [threading.Thread(target=pump, args=(env, stop))
             for _ in range(6)]
    for t in pumps:
        t.start()
    try:
        time.sleep(1.5)  # the load is on
        ready = waiting.auth(env.device_id, device_key(env))
    finally:
        stop.set()
        for t in pumps:
            t.join(10)
        waiting.close()
    assert ready.get("type") == "ready", ready
    relay.proc.wait_for("connections raised to the default priority",
                        timeout=5)
