"""A location update, the end of a supervision and a supervised device's
deadline written as it comes back online, whose device disconnects
before Redis answers, are still logged, with device_gone=1
(docs/RELIABILITY.md, "what the relay did ... whether or not its device
is still there").  Real redis-server (writes held with CLIENT PAUSE
WRITE), the real relay and a device speaking the protocol by hand.  A
stop waits for both as for a check-in (stopjobs.h).

Before: the connection's end cancelled the request; Redis stored the
update (or removed the device's deadline, or sent device.online) and the
relay logged nothing of it."""

import json
import re
import signal
import struct

import pytest

import harness
import proto
from harness_sms import device_session
from test_checkin_gone import (closed_count, gone_env, gone_while_held,
                               script_held, sent_and_gone, writes_held)
from test_follow import location_frame
from test_replicas_stop import WAITING

pytestmark = pytest.mark.needs("alertrelayd")


def redis_client(env):
    return harness.Resp(env.redis_port)


def gone_stack(lab):
    env = gone_env(lab)
    lab.redis(env)
    return env, lab.relay(env, debug=True)


def an_update(env):
    """An alert sent by a device that stays for the answer, and a
    location update of it."""
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    s = device_session(env)
    try:
        aid = s.send_alert("panic")["alert_id"]
    finally:
        s.close()
    key = proto.device_signing_key(env.device_key)
    return aid, location_frame(key, env.device_id, aid, "panic", pks)


def located(env, aid):
    """The line of update 1 of aid, from a device gone."""
    return (r"info: location alert=%s device=%s seq=1 sent=\d+ "
            r"device_gone=1$" % (aid, env.device_id))


def stored(env, aid):
    """Update 1's sealed boxes are in the alert's hash."""
    return "ct:@1" in redis_client(env)("HKEYS", "%s:alert:%s" % (
        env.redis["prefix"], aid))


def supervise(env, interval):
    """A supervision declared by a device that stays for the answer."""
    s = device_session(env)
    try:
        answer = s.request({"type": "supervise", "interval": interval},
                           ("supervised", "error"))
        assert answer["type"] == "supervised", answer
    finally:
        s.close()


@pytest.mark.hard_timeout(90)
def test_a_location_update_whose_device_went_away_is_logged(lab):
    env, relay = gone_stack(lab)
    aid, frame = an_update(env)
    sent_and_gone(env, relay, frame)
    relay.proc.wait_for(located(env, aid), timeout=10)
    assert stored(env, aid)
    assert "52.0907" not in relay.log()


@pytest.mark.hard_timeout(90)
def test_a_supervision_end_whose_device_went_away_is_logged(lab):
    env, relay = gone_stack(lab)
    r = redis_client(env)
    supervised = "%s:supervised" % env.redis["prefix"]
    supervise(env, 60)
    harness.wait_until(lambda: r("ZSCORE", supervised, env.device_id), 10,
                       what="the device's deadline in Redis")
    sent_and_gone(env, relay, {"type": "supervise", "interval": 0})
    relay.proc.wait_for(r"info: supervision device=%s ended by the device "
                        r"device_gone=1$" % env.device_id, timeout=10)
    assert r("ZSCORE", supervised, env.device_id) is None
    assert r("EXISTS", "%s:supervise:%s" % (env.redis["prefix"],
                                            env.device_id)) == 0


@pytest.mark.hard_timeout(90)
def test_a_stop_waits_for_a_location_update_of_a_device_gone(lab):
    """SIGTERM while Redis holds the update of a device gone: the stop
    waits for it (stopjobs.h) as for a check-in, and its line comes
    before the relay exits.  Before, nothing was pending: the relay
    exited without a line of it."""
    env, relay = gone_stack(lab)
    aid, frame = an_update(env)
    with writes_held(env.redis_port) as r:
        gone_while_held(env, relay, r, frame)
        relay.proc.signal(signal.SIGTERM)
        relay.proc.wait_for(WAITING, "stderr", 10)
    assert relay.proc.wait_exit(20) == 0, relay.log()[-3000:]
    assert re.search(located(env, aid), relay.log(), re.M), \
        relay.log()[-3000:]
    assert stored(env, aid)


def offline_stack(lab):
    """A relay (supervision min_interval and grace 1 s) whose device,
    supervised once, is declared offline: (env, relay)."""
    env = gone_env(lab)
    env.sections = {"supervision": {"min_interval": 1, "grace": 1}}
    env.write_relay_conf()
    lab.redis(env)
    relay = lab.relay(env, debug=True)
    supervise(env, 1)
    relay.proc.wait_for(r"supervision device=%s state=offline"
                        % env.device_id, timeout=10)
    return env, relay


def frames(*objs):
    """objs as frames in one write: one TLS record, which the relay
    reads and handles at once, in order."""
    return b"".join(struct.pack(">I", len(p)) + p
                    for p in (json.dumps(o).encode() for o in objs))


@pytest.mark.hard_timeout(90)
def test_a_device_back_online_that_went_away_is_logged(lab):
    """Declared offline, the device supervises again and hangs up while
    Redis holds the write of its deadline (supervise_conn_seen): the
    relay logs it back online all the same, as Redis sends
    device.online.  Before, that line and its count were lost."""
    env, relay = offline_stack(lab)
    sent_and_gone(env, relay, {"type": "supervise", "interval": 1})
    relay.proc.wait_for(r"info: supervision device=%s state=online "
                        r"device_gone=1$" % env.device_id, timeout=10)
    assert redis_client(env)("HGET", "%s:supervise:%s" % (
        env.redis["prefix"], env.device_id), "state") == "online"


@pytest.mark.hard_timeout(90)
def test_a_deadline_write_of_a_device_that_ended_it_and_went_away(lab):
    """Declared offline, the device supervises again and, in the same
    write, ends the supervision; it hangs up while Redis holds the write
    of its deadline (device.online) and the end: both lines say
    device_gone=1, as a job's do (conn_job.c), and the deadline is gone.
    Before: the supervision ended by the device took the deadline's
    write off its connection, which then never heard that the device
    went, and logged "state=online" without device_gone=1."""
    env, relay = offline_stack(lab)
    r = redis_client(env)
    with writes_held(env.redis_port) as held:
        s = device_session(env)
        before = closed_count(relay)
        s.c.send_raw(frames({"type": "supervise", "interval": 1},
                            {"type": "supervise", "interval": 0}))
        # answered before Redis: both frames were handled by then
        s.wait(lambda f: f.get("type") == "supervised" and
               f.get("interval") == 1, what="supervised")
        harness.wait_until(lambda: script_held(held), 10,
                           what="the deadline's write held by Redis")
        s.close()
        harness.wait_until(lambda: closed_count(relay) > before, 10,
                           what="the relay to see the device go")
    relay.proc.wait_for(r"info: supervision device=%s state=online "
                        r"device_gone=1$" % env.device_id, timeout=10)
    relay.proc.wait_for(r"info: supervision device=%s ended by the device "
                        r"device_gone=1$" % env.device_id, timeout=10)
    assert r("ZSCORE", "%s:supervised" % env.redis["prefix"],
             env.device_id) is None


def unrepr(s):
    """The text of one argument as Redis's MONITOR quotes it
    (sdscatrepr)."""
    out, i = bytearray(), 0
    simple = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, '"': 34, "\\": 92}
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
        elif s[i + 1] == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(simple[s[i + 1]])
            i += 2
    return out.decode()


def monitored_eval(mon, mark):
    """The script texts of the EVALs MONITOR shows up to marker mark."""
    texts = []
    while True:
        line = mon._read()
        if mark in line:
            return texts
        if ' lua] ' in line:
            continue
        args = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        if args and args[0].upper() == "EVAL":
            texts.append(unrepr(args[1]))


@pytest.mark.hard_timeout(90)
def test_a_supervision_asked_again_while_a_write_is_resent_is_written(lab):
    """supervise 30, supervise 0 and supervise 5 in one write, with
    Redis knowing the end's script but not the deadline's (SCRIPT
    FLUSH, then the end's loaded again): the deadline's EVALSHA comes
    back NOSCRIPT and is sent again as EVAL after the end, whose answer
    lets the third frame in while that write is under way; so the
    third's own write waits (one at a time) and is made when the resent
    one is answered: the deadline in Redis is the 5 s one, without
    another frame from the device.  Fails on the old code: its write was
    skipped until the device's next frame; Redis kept the resent write
    of the 30 s one, after the end."""
    env = gone_env(lab)
    env.sections = {"supervision": {"min_interval": 1}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env, debug=True)
    r = redis_client(env)
    sk = "%s:supervise:%s" % (env.redis["prefix"], env.device_id)
    mon = redis_client(env)
    s = device_session(env)
    try:
        # each script once, as EVAL: their texts, from MONITOR
        assert mon("MONITOR") == "OK"
        s.request({"type": "supervise", "interval": 30}, ("supervised",))
        harness.wait_until(lambda: r("HGET", sk, "interval") == "30", 10,
                           what="the first deadline")
        s.request({"type": "supervise", "interval": 0}, ("supervised",))
        mark = "rvfix-%s" % harness.new_token()[:12]
        r("ECHO", mark)
        stop = [t for t in monitored_eval(mon, mark)
                if "K('supervised'), a.dev)\n" in t and "ZREM" in t
                and "ZADD" not in t and "offline" not in t]
        assert len(stop) == 1
        mon.close()
        mon = None
        assert r("EXISTS", sk) == 0
        assert r("SCRIPT", "FLUSH") == "OK"
        r("SCRIPT", "LOAD", stop[0])
        s.c.send_raw(frames({"type": "supervise", "interval": 30},
                            {"type": "supervise", "interval": 0},
                            {"type": "supervise", "interval": 5}))
        s.wait(lambda f: f.get("type") == "supervised" and
               f.get("interval") == 5, what="the third answer")
        harness.wait_until(lambda: r("HGET", sk, "interval") == "5", 10,
                           what="the 5 s deadline written")
    finally:
        s.close()
        if mon is not None:
            mon.close()
        r.close()
