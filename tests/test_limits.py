"""Abuse limits (issue 4): connections per source address (token
bucket), a cap on connections not yet authenticated, and alerts per
device.  A flood from one address does not stop a device elsewhere from
getting its alert accepted."""

import socket
import threading
import time

import pytest

import proto
from harness import device_session, wait_until
from helpers import authed, device_key, parse_send, recipient_pks

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def served_again(attempt, what):
    """Retries attempt() for up to 5 s while the relay turns it away:
    the relay frees a closed connection's place when it reads the close,
    which a slow relay may do after the next connection came."""
    def ok():
        try:
            attempt()
            return True
        except (ConnectionError, OSError, TimeoutError, proto.Closed):
            return False
    wait_until(ok, 5, interval=0.1, what=what)


def ping_authed(env):
    with authed(env) as c:
        assert c.request({"type": "ping"}) == {"type": "pong"}


def hello_from(env, source):
    with proto.RawClient(env.relay_port, timeout=3, source=source) as c:
        assert c.hello()["type"] == "hello"


def flood(port, n, stop, closed_early, held=None):
    """n plain TCP connections from 127.0.0.2 as fast as possible, held
    open; then counts those the relay closed at once.  held, a list:
    gets every connection made."""
    socks = [] if held is None else held
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        try:
            s.connect(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            closed_early.append(1)
            s.close()
    time.sleep(0.5)
    for s in socks:
        s.settimeout(0.05)
        try:
            if s.recv(1) == b"":
                closed_early.append(1)
        except socket.timeout:
            pass  # held open by the relay (TLS handshake pending)
        except OSError:
            closed_early.append(1)
    stop.wait(20)
    for s in socks:
        s.close()


@pytest.mark.hard_timeout(60)
def test_flood_from_one_address_does_not_stop_a_device(lab):
    # auth_timeout is the bound on the device's send below: short, for
    # a tight bound
    auth_s = 5
    env, *_ = lab.stack(receivers=("contactpunt",),
                        relay={"conn_rate": 5, "conn_burst": 10,
                               "auth_timeout": auth_s})
    stop, closed, held = threading.Event(), [], []
    t = threading.Thread(target=flood,
                         args=(env.relay_port, 60, stop, closed, held))
    t_flood = time.monotonic()  # before the flood's first connection
    t.start()
    try:
        time.sleep(1)
        p = lab.send_proc(env, "--type", "panic", "--timeout", "10")
        p.wait_for(r"^accepted ", "stdout", timeout=30)
        t_acc = time.monotonic()
        still_open = any(peer_open(s) for s in list(held))
        rc = p.wait_exit(30)
        lines, err = p.snapshot("stdout"), p.text("stderr")
        assert rc == 0, (lines, err)
        assert parse_send(lines)[1], lines
        # Not behind the flood: a bound by a configured period and
        # orders, not a wall-clock bound (speed is `make bench`'s).
        # Accepted before auth_timeout, measured from before the flood's
        # first connection, could have cut any connection of the flood
        # the relay took (each waits for its TLS handshake until then),
        # at alertctl's first attempt, while some of them are still
        # open: a device let in only as the flood gave way would come
        # after them, or fail its attempt and retry.
        assert t_acc - t_flood < auth_s, "accepted %.2fs after the flood " \
            "began, past auth_timeout (%d s)" % (t_acc - t_flood, auth_s)
        attempts = [l for l in lines if l.startswith("connecting to ")]
        assert len(attempts) == 1, (lines, err)
        assert "retrying" not in err and "next relay" not in err, err
        assert still_open, "the device got in only once the flood was cut"
    finally:
        stop.set()
        t.join(30)
    assert len(closed) >= 30, "most of the flood is refused at once: %d" % len(closed)


def peer_open(s):
    """The relay has not closed s (no end of file, no reset); a peek
    that leaves s as it is, for a thread that also reads it."""
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except (BlockingIOError, socket.timeout):  # nothing to read yet
        return True
    except OSError:
        return False


def idle_from(env, source):
    """TLS up and the hello read, never authenticates."""
    c = proto.RawClient(env.relay_port, timeout=5, source=source)
    c.hello()
    return c


def still_open(c):
    return not c.expect_closed(timeout=0.5)


@pytest.mark.hard_timeout(60)
def test_cap_on_unauthenticated_connections(lab):
    """At max_unauthenticated a newcomer is not refused (every device is
    unauthenticated when it arrives): the oldest connection of the source
    holding the most is closed to make room, not the oldest of all; among
    sources holding as many, the one that came to hold that many first
    gives way.  Before, the newcomer was refused."""
    env, *_ = lab.stack(relay={"max_unauthenticated": 3, "auth_timeout": 10})
    oldest = idle_from(env, "127.0.0.3")
    a1, a2 = idle_from(env, "127.0.0.2"), idle_from(env, "127.0.0.2")
    try:
        # the device takes a place: 127.0.0.2 holds the most, a1 goes
        with authed(env) as c:
            assert c.request({"type": "ping"}) == {"type": "pong"}
            assert a1.expect_closed(timeout=3), "a1 still open"
            assert still_open(oldest) and still_open(a2)
            # authenticated, it holds no place: room for one more
            b = idle_from(env, "127.0.0.4")
            assert still_open(oldest) and still_open(a2)
            # one each now: 127.0.0.3 has held its one the longest
            with idle_from(env, "127.0.0.5"):
                assert oldest.expect_closed(timeout=3), "oldest still open"
                assert still_open(a2) and still_open(b)
            b.close()
    finally:
        for c in (oldest, a1, a2):
            c.close()


@pytest.mark.hard_timeout(60)
def test_max_connections_makes_room_from_unauthenticated_ones_only(lab):
    """At max_connections a newcomer takes the place of an unauthenticated
    connection; with none left, it is refused: authenticated devices are
    never closed for it."""
    env, *_ = lab.stack(relay={"max_connections": 3, "auth_timeout": 10})
    d1, d2 = authed(env), authed(env)
    idle = idle_from(env, "127.0.0.2")
    try:
        with authed(env) as c:  # takes the idle one's place
            assert c.request({"type": "ping"}) == {"type": "pong"}
            assert idle.expect_closed(timeout=3), "idle one still open"
            with pytest.raises((ConnectionError, OSError, TimeoutError,
                                proto.Closed)):
                idle_from(env, "127.0.0.3")
        for d in (d1, d2):
            assert d.request({"type": "ping"}) == {"type": "pong"}
    finally:
        for c in (d1, d2, idle):
            c.close()


@pytest.mark.hard_timeout(60)
def test_cap_on_unauthenticated_connections_per_address(lab):
    env, *_ = lab.stack(relay={"max_unauthenticated_per_address": 3,
                               "auth_timeout": 5})
    idle = [proto.RawClient(env.relay_port, source="127.0.0.2")
            for _ in range(3)]
    for c in idle:
        c.hello()  # TLS up, never authenticates
    # a fourth from that address is turned away ...
    with pytest.raises((ConnectionError, OSError, TimeoutError)):
        proto.RawClient(env.relay_port, timeout=3, source="127.0.0.2").hello()
    # ... while other addresses are served
    with authed(env) as c:
        assert c.request({"type": "ping"}) == {"type": "pong"}
    # authenticated connections do not count against the address
    done = [authed(env) for _ in range(4)]
    for c in done:
        c.close()
    for c in idle:
        c.close()
    served_again(lambda: hello_from(env, "127.0.0.2"),
                 "room again once they are gone")


@pytest.mark.hard_timeout(30)
def test_sessions_per_device_are_limited_but_not_by_impostors(lab):
    import nacl.signing
    env, *_ = lab.stack(relay={"device_conn_rate": 6, "device_conn_burst": 3})
    impostor = nacl.signing.SigningKey.generate()
    for _ in range(5):  # attempts in its name without its key count for nothing
        with proto.RawClient(env.relay_port) as c:
            c.hello()
            assert c.auth(env.device_id, impostor)["code"] == "auth_failed"
    for _ in range(3):
        with authed(env) as c:
            assert c.request({"type": "ping"}) == {"type": "pong"}
    with proto.RawClient(env.relay_port) as c:
        c.hello()
        ans = c.auth(env.device_id, device_key(env))
        assert ans.get("code") == "rate_limited", ans
        assert c.expect_closed(timeout=3)


@pytest.mark.hard_timeout(60)
def test_a_device_holds_at_most_max_sessions_per_device(lab):
    """A stolen key could take every place of max_connections, one
    session at a time.  At max_sessions_per_device (3 here) a new session
    closes the device's oldest (superseded); the others, and the newest,
    go on; another device is not touched."""
    import nacl.signing
    other = "mayor-b"
    other_key = nacl.signing.SigningKey.generate()
    env = lab.env(relay={"max_sessions_per_device": 3})
    env.extra_devices[other] = (proto.b64e(bytes(other_key.verify_key)),
                                "Tweede")
    env.write_relay_conf()
    env, *_ = lab.stack(env=env)
    theirs = device_session(env, device_id=other,
                                     signing_key=other_key)
    held = []
    try:
        for _ in range(3):
            held.append(device_session(env))
        newest = device_session(env)
        held.append(newest)
        oldest = held[0]
        err = oldest.c.recv_frame(timeout=5)
        assert err.get("type") == "error" and \
            err.get("code") == "superseded", err
        assert oldest.c.expect_closed(timeout=3)
        for s in held[1:]:
            assert s.c.request({"type": "ping"}) == {"type": "pong"}
        assert theirs.c.request({"type": "ping"}) == {"type": "pong"}
    finally:
        for s in held + [theirs]:
            s.c.close()


@pytest.mark.hard_timeout(30)
def test_alerts_per_device_are_limited(lab):
    env, *_ = lab.stack(relay={"alert_rate": 6, "alert_burst": 2})
    key = device_key(env)

    def frame():
        return proto.build_alert(key, env.device_id, recipient_pks(env))[0]

    def answer(c, obj):
        c.send_frame(obj)
        f = c.recv_frame(5)
        while f.get("type") == "receipt":  # events of earlier alerts
            f = c.recv_frame(5)
        return f

    with authed(env) as c:
        for i in range(2):
            f = answer(c, frame())
            assert f["type"] == "accepted", f
        f = answer(c, frame())
        assert f["type"] == "error" and f["code"] == "rate_limited", f
        # the connection stays usable
        assert answer(c, {"type": "ping"}) == {"type": "pong"}


@pytest.mark.hard_timeout(30)
def test_alerts_per_source_address_are_limited_across_its_devices(lab):
    import nacl.signing
    env = lab.env(relay={"addr_alert_rate": 6, "addr_alert_burst": 3})
    other = nacl.signing.SigningKey.generate()
    env.extra_devices["mayor-b"] = (proto.b64e(bytes(other.verify_key)), "B")
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)

    def session(device_id, key, source):
        c = proto.RawClient(env.relay_port, source=source)
        c.hello()
        assert c.auth(device_id, key)["type"] == "ready"
        return c

    def answer(c, key, device_id):
        c.send_frame(proto.build_alert(key, device_id, recipient_pks(env))[0])
        f = c.recv_frame(5)
        while f.get("type") == "receipt":  # events of earlier alerts
            f = c.recv_frame(5)
        return f

    a = session(env.device_id, device_key(env), "127.0.0.2")
    b = session("mayor-b", other, "127.0.0.2")
    try:
        # three from the address, whichever device: then it is refused
        assert answer(a, device_key(env), env.device_id)["type"] == "accepted"
        assert answer(a, device_key(env), env.device_id)["type"] == "accepted"
        assert answer(b, other, "mayor-b")["type"] == "accepted"
        f = answer(b, other, "mayor-b")
        assert f["type"] == "error" and f["code"] == "rate_limited", f
        # another address is not held up by it
        with session(env.device_id, device_key(env), "127.0.0.3") as c:
            assert answer(c, device_key(env), env.device_id)["type"] == \
                "accepted"
    finally:
        a.close()
        b.close()


@pytest.mark.hard_timeout(30)
def test_replayed_old_envelope_and_future_clock_are_refused(lab):
    """A captured envelope replayed long after (created_at beyond
    max_alert_age) creates nothing; so does one from a clock far ahead."""
    import datetime
    env, redis, _, _ = lab.stack(relay={"max_alert_age": 3600,
                                        "max_clock_skew": 60})
    key = device_key(env)
    now = datetime.datetime.now(datetime.timezone.utc)
    old = (now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ahead = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = redis.client()
    with authed(env) as c:
        frame, _, aid = proto.build_alert(key, env.device_id,
                                          recipient_pks(env), created_at=old)
        f = c.request(frame)
        assert f["type"] == "error" and f["code"] == "stale", f
        assert not r("EXISTS", "alertrelay:alert:%s" % aid)
        frame, _, aid = proto.build_alert(key, env.device_id,
                                          recipient_pks(env), created_at=ahead)
        f = c.request(frame)
        assert f["type"] == "error" and f["code"] == "bad_envelope", f
        assert "future" in f["message"]
        assert not r("EXISTS", "alertrelay:alert:%s" % aid)
        frame, _, aid = proto.build_alert(key, env.device_id, recipient_pks(env))
        assert c.request(frame)["type"] == "accepted"


def _limits_of(pid):
    for line in open("/proc/%d/limits" % pid):
        if line.startswith("Max open files"):
            return [int(x) for x in line.split()[3:5]]
    raise AssertionError("no Max open files in /proc/%d/limits" % pid)


@pytest.mark.hard_timeout(30)
def test_open_files_limit_is_raised_for_max_connections(lab):
    from harness import alertrelayd_bin
    env = lab.env(relay={"max_connections": 3000})
    lab.redis(env)
    p = lab.spawn(["prlimit", "--nofile=256:8192", alertrelayd_bin(), "-c",
                   env.relay_conf, "-f"], "alertrelayd")
    p.wait_for(r"open files limit raised to 4024", "stderr", 10)
    assert _limits_of(p.popen.pid) == [4024, 8192]
    p.stop()
    # a hard limit below what max_connections needs: said, not hidden
    p = lab.spawn(["prlimit", "--nofile=256:2048", alertrelayd_bin(), "-c",
                   env.relay_conf, "-f"], "alertrelayd-low")
    # ... with what it needs beside what it got
    p.wait_for(r"open files: need \d+ .*hard limit 2048", "stderr", 10)
    assert _limits_of(p.popen.pid)[0] == 2048
