"""What a stolen or malicious enrolled device, or anyone who reaches the
device port, can make the relay write by being refused (daemon/
conn_refuse.h, daemon/conn_authfail.h).

Before, every refusal that keeps the connection (rate_limited, stale,
no_directory, ...) was one audit record in Redis and one log line, with
no budget: one session piping a valid alert frame for 10 s made 437,798
records and as many lines.  {"type":"supervise","interval":0} fired a
Redis script nobody waited for and a log line per frame.  Every refused
authentication was a record, limited only by the connection rate per
address.  Now a connection refused more than 256 times in 10 s is closed
(one line, one record, with the counts), the first refusals of a device
are logged and audited one by one and the rest counted into one line and
one record, supervise requests are limited and wait for Redis one at a
time, and refused authentications beyond the first few of a source are
counted into one record per source and minute.  Meanwhile another device
gets its alerts accepted, and a device that presses repeatedly within
the alert rate limit is not hurt.

Each test here fails on the relay before that change."""

import json
import re
import signal
import ssl
import struct
import threading
import time

import nacl.signing
import pytest

import proto
from harness import wait_until
from helpers import device_key, recipient_pks

pytestmark = pytest.mark.needs("alertrelayd")

REFUSE_MAX = 256  # CONN_REFUSE_MAX: refusals per 10 s, then closed
SAID_BURST = 10  # CONN_REFUSE_SAID_BURST: said one by one per device


def stack(lab, relay=None):
    """redis + a relay with a second device, mayor-b, and webhook
    recorders that take every delivery (so the log is about devices)."""
    env = lab.env(relay=relay or {})
    other = nacl.signing.SigningKey.generate()
    env.extra_devices["mayor-b"] = (proto.b64e(bytes(other.verify_key)), "B")
    for rid in env.recipients:
        lab.recorder_for(env, rid)
    env.write_relay_conf()
    redis = lab.redis(env)
    relay = lab.relay(env)
    return env, redis.client(), relay, other


def session(env, device_id, key, source="127.0.0.1", timeout=10):
    c = proto.RawClient(env.relay_port, source=source, timeout=timeout)
    c.hello()
    ready = c.auth(device_id, key)
    assert ready.get("type") == "ready", ready
    return c


def framed(obj):
    p = json.dumps(obj).encode()
    return struct.pack(">I", len(p)) + p


def flood(c, obj, n, batch=64, timeout=20):
    """Sends obj n times, batch frames at a time, and reads the answers
    to each batch (receipts of earlier alerts are not answers).  Returns
    (answers, closed): closed when the relay ended the connection."""
    raw = framed(obj)
    answers = []
    deadline = time.monotonic() + timeout
    sent = 0
    try:
        while sent < n:
            k = min(batch, n - sent)
            c.send_raw(raw * k)
            sent += k
            got = 0
            while got < k:
                f = c.recv_frame(max(0.1, deadline - time.monotonic()))
                if f.get("type") != "receipt":
                    answers.append(f)
                    got += 1
    except (proto.Closed, ConnectionError, ssl.SSLError, OSError):
        return answers, True
    except TimeoutError:
        return answers, False
    return answers, c.expect_closed(timeout=2)


def codes(answers):
    out = {}
    for f in answers:
        k = f.get("code") if f.get("type") == "error" else f.get("type")
        out[k] = out.get(k, 0) + 1
    return out


def audit(r, env):
    stream = "alertrelay:audit:" + env.relay["instance_id"]
    return [json.loads(f["r"]) for _, f in r.xrange(stream)]


def log_lines(relay):
    return relay.proc.snapshot("stderr")


def count_of(reason, key):
    m = re.search(r"\b%s=(\d+)\b" % key, reason or "")
    return int(m.group(1)) if m else 0


class Presser(threading.Thread):
    """mayor-b, from another address, presses every `every` s while the
    flood goes on: each alert must be accepted within 3 s."""

    def __init__(self, env, key, presses, every):
        super().__init__(daemon=True)
        self.env, self.key = env, key
        self.presses, self.every = presses, every
        self.took, self.errors = [], []

    def run(self):
        try:
            with session(self.env, "mayor-b", self.key,
                         source="127.0.0.3") as c:
                for _ in range(self.presses):
                    frame, _, aid = proto.build_alert(
                        self.key, "mayor-b", recipient_pks(self.env))
                    t0 = time.monotonic()
                    f = c.answer(frame, timeout=10)
                    self.took.append(time.monotonic() - t0)
                    if f.get("type") != "accepted" or \
                            f.get("alert_id") != aid:
                        self.errors.append(f)
                    time.sleep(self.every)
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))

    def check(self):
        self.join(30)
        assert not self.errors, self.errors
        assert len(self.took) == self.presses, self.took
        assert max(self.took) < 3, "alert accepted after %.1f s" % max(
            self.took)


@pytest.mark.hard_timeout(120)
def test_flood_of_rate_limited_alerts_is_closed_and_bounded(lab):
    """A device past its alert rate limit pipes the same valid alert
    frame.  Its connection is closed after 256 refusals with
    too_many_refusals; it connects again and again for a few seconds.
    The audit stream and the log grow by a few entries per connection,
    the counts they give add up to the refusals the device got, and
    mayor-b's alerts are accepted meanwhile.  Before, the connection
    stayed open and each refusal was a record and a line."""
    env, r, relay, key_b = stack(lab, {"alert_rate": 1, "alert_burst": 5})
    key = device_key(env)
    pks = recipient_pks(env)
    with session(env, env.device_id, key, source="127.0.0.2") as c:
        for _ in range(5):  # its burst, accepted
            frame, _, _ = proto.build_alert(key, env.device_id, pks)
            assert c.answer(frame)["type"] == "accepted"
    wait_until(lambda: any(x["action"] == "delivery" for x in audit(r, env)),
               10, what="deliveries of the accepted alerts")
    time.sleep(1)
    records0, lines0 = len(audit(r, env)), len(log_lines(relay))
    frame, _, _ = proto.build_alert(key, env.device_id, pks)

    presser = Presser(env, key_b, presses=5, every=0.5)
    presser.start()
    conns, refused = 0, 0
    t_end = time.monotonic() + 4
    while time.monotonic() < t_end and conns < 12:
        with session(env, env.device_id, key, source="127.0.0.2") as c:
            conns += 1
            answers, closed = flood(c, frame, 3000)
        got = codes(answers)
        assert closed, "connection %d not closed after %s" % (conns, got)
        assert got.get("rate_limited", 0) == REFUSE_MAX, got
        assert answers[-1]["code"] == "too_many_refusals", answers[-1]
        refused += got["rate_limited"] + 1
    presser.check()
    time.sleep(1)

    new = audit(r, env)[records0:]
    lines = log_lines(relay)[lines0:]
    mine = [x for x in new if x["actor"] == "device:" + env.device_id and
            x["action"] in ("device.refused", "alert.refused")]
    one_by_one = [x for x in mine if x.get("reason", "") == "rate_limited"]
    closes = [x for x in mine if x.get("reason", "").startswith("too_many_refusals")]
    # the first ones (and one more per 10 s) one by one
    assert SAID_BURST <= len(one_by_one) <= SAID_BURST + 2, mine
    assert len(closes) == conns, mine
    assert all(count_of(x.get("reason", ""), "n") == REFUSE_MAX + 1 and
               "window_s=10 last=rate_limited" in x.get("reason", "")
               for x in closes), closes
    # the rest counted: the numbers add up to the refusals answered
    counted = sum(count_of(x.get("reason", ""), "n") for x in mine
                  if x.get("reason", "").startswith("suppressed "))
    counted += sum(count_of(x.get("reason", ""), "suppressed")
                   for x in closes)
    assert len(one_by_one) + counted == refused - conns, (refused, mine)
    # bounded: per connection its auth, its close, and mayor-b's alerts
    assert len(new) <= 3 * conns + SAID_BURST + 40, len(new)
    assert len(lines) <= 3 * conns + SAID_BURST + 40, lines[-40:]
    assert sum("too_many_refusals" in l for l in lines) == conns
    assert not any(re.search(r"device=mayor-b\): ", l) for l in lines)


@pytest.mark.hard_timeout(90)
def test_supervise_stop_flood_is_limited_serialised_and_closed(lab):
    """{"type":"supervise","interval":0} piped 3000 times.  Before, each
    frame was an EVALSHA nobody waited for and a log line (1.37 million
    of each in 10 s).  Now they are limited per device and answered in
    order once Redis has done each; past the limit they are refused, and
    after 256 refusals the connection is closed.  Redis runs a bounded
    number of scripts, the log grows by a bounded number of lines, and
    mayor-b's alerts are accepted meanwhile."""
    env, r, relay, key_b = stack(lab)
    key = device_key(env)

    def scripts():
        info = r("INFO", "commandstats")
        if isinstance(info, bytes):
            info = info.decode()
        return sum(int(m.group(1)) for m in re.finditer(
            r"cmdstat_eval(?:sha)?:calls=(\d+)", info))

    time.sleep(1)
    t0, base = time.monotonic(), scripts()
    time.sleep(2)
    idle_rate = (scripts() - base) / (time.monotonic() - t0)
    lines0 = len(log_lines(relay))
    presser = Presser(env, key_b, presses=4, every=0.5)
    presser.start()
    t0, base = time.monotonic(), scripts()
    with session(env, env.device_id, key, source="127.0.0.2") as c:
        answers, closed = flood(c, {"type": "supervise", "interval": 0},
                                3000)
    got = codes(answers)
    presser.check()
    assert closed, got
    assert answers[-1]["code"] == "too_many_refusals", answers[-1]
    assert got.get("rate_limited", 0) == REFUSE_MAX, got
    stopped = got.get("supervised", 0)
    assert 25 <= stopped <= 40, got
    # answered in order, the limit's burst first
    assert all(f["type"] == "supervised" and f["interval"] == 0
               for f in answers[:25]), answers[:25]
    time.sleep(0.5)
    ran = scripts() - base - idle_rate * (time.monotonic() - t0)
    assert ran <= stopped + 60, "%d scripts for %d stops" % (ran, stopped)
    lines = log_lines(relay)[lines0:]
    ended = [l for l in lines if "ended by the device" in l]
    assert len(ended) == stopped, ended[-5:]
    assert len(lines) <= stopped + SAID_BURST + 40, lines[-40:]


@pytest.mark.hard_timeout(120)
def test_failed_authentications_are_aggregated_per_source(lab):
    """40 addresses each fail to authenticate 10 times (an unknown device,
    or the enrolled device without its key).  Before, each failure was
    an audit record (400 here; about 4,000 a second from 40 addresses).
    Now the first two of each address, at most 20 in all, are recorded
    one by one with the device they claimed, the rest counted into one
    record per address, written at the end of the minute or when the
    relay stops: the numbers add up to every refusal.  An enrolled device
    gets its alert accepted meanwhile."""
    env, r, relay, key_b = stack(lab)
    sources = ["127.0.1.%d" % i for i in range(1, 41)]
    impostor = nacl.signing.SigningKey.generate()
    errors, failed = [], []

    def attack(batch):
        for src in batch:
            for i in range(10):
                try:
                    with proto.RawClient(env.relay_port, source=src,
                                         timeout=10) as c:
                        c.hello()
                        did = env.device_id if i % 2 else "intruder-%d" % i
                        f = c.auth(did, impostor)
                except (OSError, proto.Closed, TimeoutError) as e:
                    errors.append(repr(e))  # turned away: not counted
                    continue
                # an unknown id is answered as a wrong key; the audit
                # below keeps which it was
                if f.get("code") == "auth_failed":
                    failed.append(src)
                else:
                    errors.append(f)

    records0 = len(audit(r, env))
    threads = [threading.Thread(target=attack, args=(sources[i::8],))
               for i in range(8)]
    for t in threads:
        t.start()
    presser = Presser(env, key_b, presses=3, every=0.5)
    presser.start()
    for t in threads:
        t.join(90)
    presser.check()
    assert len(failed) >= 390 and len(errors) <= 10, errors[:5]
    relay.proc.signal(signal.SIGTERM)
    assert relay.proc.wait_exit(20) == 0

    new = audit(r, env)[records0:]
    refused = [x for x in new if x["action"] == "device.auth" and
               x["result"] == "refused"]
    one_by_one = [x for x in refused
                  if not x.get("reason", "").startswith("aggregate")]
    aggregate = [x for x in refused if x.get("reason", "").startswith("aggregate")]
    assert len(one_by_one) <= 20, len(one_by_one)
    assert {x.get("reason", "") for x in one_by_one} <= {"unknown_device",
                                                 "auth_failed"}
    assert all(x["actor"] in ("device:" + env.device_id,
                              "device:intruder-0", "device:intruder-2",
                              "device:intruder-4", "device:intruder-6",
                              "device:intruder-8") for x in one_by_one)
    total = len(one_by_one) + sum(count_of(x.get("reason", ""), "n")
                                  for x in aggregate)
    assert total == len(failed), (len(failed), len(one_by_one),
                                  [x.get("reason", "") for x in aggregate])
    assert sum(count_of(x.get("reason", ""), "unknown_device") +
               count_of(x.get("reason", ""), "auth_failed")
               for x in aggregate) == total - len(one_by_one)
    assert len(aggregate) <= 41, len(aggregate)
    named = [x for x in aggregate if "sources=unnamed" not in x.get("reason", "")]
    assert all(x["address"] in sources for x in named), named[:3]
    # recorded before the relay's last record, under its signature
    actions = [x["action"] for x in new]
    assert actions.index("relay.stop") > max(
        i for i, x in enumerate(new) if x in aggregate)


@pytest.mark.hard_timeout(60)
def test_device_refused_a_few_times_is_told_and_recorded_one_by_one(lab):
    """An official who presses repeatedly past the alert rate limit: the
    refusals keep the connection, the first ten are logged and audited
    one by one, the next two are counted and said in one line and one
    record when the session ends, and once the limit allows the next
    alert is accepted on the same connection.  Before, there was no
    summary: every refusal was its own line and record."""
    env, r, relay, _ = stack(lab, {"alert_rate": 30, "alert_burst": 2})
    key = device_key(env)
    pks = recipient_pks(env)
    records0 = len(audit(r, env))
    with session(env, env.device_id, key) as c:
        for _ in range(2):
            frame, _, _ = proto.build_alert(key, env.device_id, pks)
            assert c.answer(frame)["type"] == "accepted"
        for _ in range(SAID_BURST + 2):
            frame, _, _ = proto.build_alert(key, env.device_id, pks)
            f = c.answer(frame)
            assert f["type"] == "error" and f["code"] == "rate_limited", f
        assert c.answer({"type": "ping"}) == {"type": "pong"}
        time.sleep(2.2)  # one alert every 2 s
        frame, _, _ = proto.build_alert(key, env.device_id, pks)
        assert c.answer(frame)["type"] == "accepted"
    relay.proc.wait_for(r"device=%s\): refusals suppressed n=2 "
                        r"rate_limited=2$" % env.device_id, timeout=5)
    told = [l for l in log_lines(relay)
            if re.search(r"device=%s\): rate_limited: " % env.device_id, l)]
    assert len(told) == SAID_BURST, told
    summary = "suppressed n=2 rate_limited=2"
    wait_until(lambda: any(x.get("reason") == summary
                           for x in audit(r, env)[records0:]), 5,
               what="the summary record")
    refused = [x for x in audit(r, env)[records0:]
               if x["action"] == "device.refused"]
    assert [x.get("reason", "") for x in refused] == \
        ["rate_limited"] * SAID_BURST + [summary]
    assert all(x["actor"] == "device:" + env.device_id and
               x["object"] == "device:" + env.device_id for x in refused)
