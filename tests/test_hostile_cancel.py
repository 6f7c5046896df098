"""What a stolen device can make the relay write by cancelling an alert
it cancelled before (daemon/conn_cancel.c, daemon/conn_refuse.h).

Such a cancel does nothing and is answered "cancelled" as the first was:
a device that lost its answer asks again and must hear it.  Before, each
was a Redis script, a log line and an audit record, with no budget and
no close: 8,000 frames on 4 sessions made 8,003 records and 7,999 lines
in 2.2 s.  Now it counts as a refusal towards closing the connection
(too_many_refusals after 256 in 10 s), its line and record are written
for the first of a session and then within the device's budget of
refusals said one by one, the rest counted into one line and one record,
and alertrelay_cancel_repeats_total counts every one.  A duress cancel and
the own PIN's are closed alike.

Each test here fails on the relay before that change."""

import json

import nacl.signing
import pytest

import proto
from harness import free_port, wait_until
from helpers import device_key, recipient_pks
import test_hostile_refusals as refusals
from test_hostile_refusals import (REFUSE_MAX, SAID_BURST, audit, codes,
                                   count_of, flood, log_lines, session)
from test_hostile_unauth import metric

pytestmark = pytest.mark.needs("alertrelayd")

CONNS = 3  # sessions of the stolen device, one after the other


def stack(lab):
    """redis + a relay with an admin listener for /metrics and a second
    device, mayor-b, whose alerts must be accepted meanwhile."""
    env = lab.env()
    other = nacl.signing.SigningKey.generate()
    env.extra_devices["mayor-b"] = (proto.b64e(bytes(other.verify_key)), "B")
    for rid in env.recipients:
        lab.recorder_for(env, rid)
    env.write_relay_conf()
    admin = free_port()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % admin)
    redis = lab.redis(env)
    relay = lab.relay(env)
    return env, redis.client(), relay, other, admin


def cancel_frame(key, device_id, aid, duress=None):
    """A signed cancel: v1, or v2 with the duress flag (docs/PROTOCOL.md,
    "Cancel v2")."""
    c = {"alert_id": aid, "created_at": proto.rfc3339_now(),
         "device_id": device_id, "v": 1}
    ctx = b"alertrelay cancel v1\n"
    if duress is not None:
        c.update(v=2, duress=duress)
        ctx = b"alertrelay cancel v2\n"
    raw = json.dumps(c, separators=(",", ":"), sort_keys=True).encode()
    return {"type": "cancel", "cancel": proto.b64e(raw),
            "sig": proto.b64e(key.sign(ctx + raw).signature)}


def cancelled_alert(env, key, duress=None):
    """A new alert of env's device, cancelled once: its id and the
    signed cancel, to send again."""
    with session(env, env.device_id, key, source="127.0.0.2") as c:
        frame, _, aid = proto.build_alert(key, env.device_id,
                                          recipient_pks(env))
        assert c.answer(frame)["type"] == "accepted"
        cancel = cancel_frame(key, env.device_id, aid, duress)
        f = c.answer(cancel)  # its receipt skipped
        assert f == {"type": "cancelled", "alert_id": aid}, f
    return aid, cancel


class Presser(refusals.Presser):
    """mayor-b presses while the flood goes on: each of its alerts must
    be accepted (how fast is bench's to say, not a test's)."""

    def check(self):
        self.join(60)
        assert not self.errors, self.errors
        assert len(self.took) == self.presses, self.took


@pytest.mark.hard_timeout(120)
def test_repeated_cancel_of_a_cancelled_alert_is_bounded_and_closed(lab):
    """The same signed cancel of an alert already cancelled, piped 3000
    times on each of three sessions: each session hears "cancelled" 256
    times, then too_many_refusals, and is closed.  The audit stream and
    the log grow by a few entries; the ones said one by one, the counts
    of the summaries and of the closes add up to every repeat, as
    alertrelay_cancel_repeats_total does; mayor-b's alerts are accepted
    meanwhile.  Before, no session was closed and each repeat was a
    record and a line."""
    env, r, relay, key_b, admin = stack(lab)
    key = device_key(env)
    aid, cancel = cancelled_alert(env, key)
    wait_until(lambda: any(x["action"] == "alert.cancel"
                           for x in audit(r, env)), 10,
               what="the cancel's record")
    records0, lines0 = len(audit(r, env)), len(log_lines(relay))
    repeats0 = metric(admin, "alertrelay_cancel_repeats_total")

    presser = Presser(env, key_b, presses=5, every=0.5)
    presser.start()
    repeated = 0
    for i in range(CONNS):
        with session(env, env.device_id, key, source="127.0.0.2") as c:
            answers, closed = flood(c, cancel, 3000)
        got = codes(answers)
        assert closed, "connection %d not closed after %s" % (i, got)
        assert got == {"cancelled": REFUSE_MAX, "too_many_refusals": 1}, got
        assert all(f == {"type": "cancelled", "alert_id": aid}
                   for f in answers[:-1]), answers[:3]
        repeated += len(answers)
    presser.check()

    assert metric(admin, "alertrelay_cancel_repeats_total") - repeats0 == \
        repeated
    # each close is said as it closes, with what was counted
    wait_until(lambda: sum("too_many_refusals" in l
                           for l in log_lines(relay)[lines0:]) == CONNS,
               10, what="the closes in the log")
    new = audit(r, env)[records0:]
    lines = log_lines(relay)[lines0:]
    mine = [x for x in new if x["actor"] == "device:" + env.device_id]
    one_by_one = [x for x in mine if x["action"] == "alert.cancel"]
    closes = [x for x in mine if x.get("reason", "").startswith(
        "too_many_refusals")]
    summaries = [x for x in mine if x.get("reason", "").startswith(
        "suppressed ")]
    assert all(x["result"] == "refused" and x["reason"] == "already" and
               x["object"] == "alert:" + aid for x in one_by_one), one_by_one
    # the first of each session, the device's first ones (and one more
    # per 10 s) one by one, as many lines
    assert SAID_BURST + CONNS <= len(one_by_one) <= SAID_BURST + CONNS + 2, \
        mine
    said = [l for l in lines if "result=already" in l]
    assert len(said) == len(one_by_one), said
    assert len(closes) == CONNS, mine
    assert all("last=already" in x["reason"] and
               count_of(x["reason"], "n") == REFUSE_MAX + 1
               for x in closes), closes
    # the rest counted: the numbers add up to every repeat
    counted = sum(count_of(x["reason"], "already") for x in summaries)
    counted += sum(count_of(x["reason"], "already") for x in closes)
    assert len(one_by_one) + counted + CONNS == repeated, (repeated, mine)
    # bounded: per session its authentication, its close and a summary
    assert len(new) <= 3 * CONNS + SAID_BURST + 40, len(new)
    assert len(lines) <= 3 * CONNS + SAID_BURST + 40, lines[-40:]


@pytest.mark.hard_timeout(120)
def test_repeated_duress_cancel_is_closed_as_the_own_pins(lab):
    """An alert cancelled with the own PIN (v2, duress 0) and one
    cancelled with the duress PIN (v2, duress 1), each cancel sent again
    3000 times on a session of its own: the device hears the same
    answers, 256 "cancelled" then too_many_refusals, and both sessions
    are closed (docs/SECURITY.md, "Duress": the two look alike on the
    device).  The duress alarm goes on.  Before, neither was closed."""
    env, r, relay, _, admin = stack(lab)
    key = device_key(env)
    heard = {}
    for duress in (0, 1):
        aid, cancel = cancelled_alert(env, key, duress)
        with session(env, env.device_id, key, source="127.0.0.2") as c:
            answers, closed = flood(c, cancel, 3000)
        assert closed, codes(answers)
        heard[duress] = [dict(f, alert_id=None) for f in answers]
        if duress:
            duress_aid = aid
    assert codes(heard[0]) == {"cancelled": REFUSE_MAX,
                               "too_many_refusals": 1}, codes(heard[0])
    assert heard[0] == heard[1]
    h = r.hgetall("alertrelay:alert:" + duress_aid)
    assert h.get("duress") == "1" and h.get("state") == "open", h
