"""Heartbeats from the relay's side: an idle device is pinged every
[relay] keepalive seconds, and a device that stays silent for three times
that is dropped as a dead path (issue 5)."""

import time

import pytest

from helpers import authed

pytestmark = pytest.mark.needs("alertrelayd")


@pytest.mark.hard_timeout(40)
def test_idle_device_is_pinged_and_a_silent_one_dropped(lab):
    env, *_ = lab.stack(relay={"keepalive": 1})
    with authed(env) as c:
        t0 = time.monotonic()
        assert c.recv_frame(timeout=5) == {"type": "ping"}
        assert 0.5 < time.monotonic() - t0 < 3
        # no answer: the relay gives up after about three intervals
        f = None
        while True:
            f = c.recv_frame(timeout=6)
            if f.get("type") != "ping":
                break
        assert f.get("type") == "error" and f.get("code") == "timeout", f
        assert time.monotonic() - t0 < 6
        assert c.expect_closed(5)


@pytest.mark.hard_timeout(40)
def test_a_device_that_answers_stays_connected(lab):
    env, *_ = lab.stack(relay={"keepalive": 1})
    with authed(env) as c:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 6:
            f = c.recv_frame(timeout=5)
            assert f == {"type": "ping"}, f
            c.send_frame({"type": "pong"})
        c.send_frame({"type": "ping"})
        f = c.recv_frame(timeout=5)
        while f == {"type": "ping"}:  # the relay's own, crossing ours
            c.send_frame({"type": "pong"})
            f = c.recv_frame(timeout=5)
        assert f == {"type": "pong"}, f
