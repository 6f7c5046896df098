"""A check-in request (extend, done, a done under duress) whose device
disconnects before Redis answers is still logged and audited, and a
duress done still gives its duress warning (docs/RELIABILITY.md, "what
the relay did ... whether or not its device is still there").  Real
redis-server (writes held with CLIENT PAUSE WRITE, or a replica
SIGSTOPped so that WAIT holds the answer), the real relay, a device
speaking the protocol by hand and alertctl receive.  A stop waits for
such a request as for an alert or a cancel (tests/test_replicas_stop.py).

Before: the connection's end cancelled the request; Redis ended or
extended the check-in (a duress done released the alarm) and the relay
logged and audited nothing of it, the duress warning included."""

import contextlib
import json
import re
import signal
import time

import pytest

import harness
import proto
from harness_sms import device_session
from test_checkin import SIGCTX_CHECKIN
from test_replicas_stop import WAITING, audit_actions
from test_replicas_wait import replicated_env, stopped
from test_sentinel import start_replica

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

MESSAGE = "Huisbezoek Kerkstraat 3"


def at(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() + seconds))


def checkin_frame(key, device_id, cid, op, **fields):
    body = dict(checkin_id=cid, created_at=proto.rfc3339_now(),
                device_id=device_id, op=op, v=1, **fields)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return {"type": "checkin", "checkin": proto.b64e(raw),
            "checkin_sig": proto.b64e(key.sign(SIGCTX_CHECKIN + raw).signature)}


def timer_frame(env, key, cid, op, deadline_s=300, release_s=360):
    """A start or extend, with its alert prepared for release_at: sealed
    to every recipient and signed, as alertctl checkin prepares it."""
    release = at(release_s)
    aid = proto.new_alert_id()
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    alert, _, _ = proto.build_alert(key, env.device_id, pks,
                                    alert_type="missed_checkin",
                                    message=MESSAGE, alert_id=aid,
                                    created_at=release)
    f = checkin_frame(key, env.device_id, cid, op, alert_id=aid,
                      deadline=at(deadline_s), release_at=release)
    f["envelope"], f["sig"] = alert["envelope"], alert["sig"]
    return f, aid


def started(env, key):
    """A check-in started by a device that stays for the answer."""
    cid = proto.new_alert_id()
    s = device_session(env)
    try:
        frame, _ = timer_frame(env, key, cid, "start")
        answer = s.request(frame, ("checkin", "error"))
        assert answer == {"type": "checkin", "checkin_id": cid,
                          "state": "active"}, answer
    finally:
        s.close()
    return cid


@contextlib.contextmanager
def writes_held(port):
    """Redis runs no write (nor any script) until the block ends; it
    still answers the relay's PINGs, so the relay keeps its connections
    (its [redis] timeout is longer than the hold)."""
    r = harness.Resp(port)
    r("CLIENT", "PAUSE", "10000", "WRITE")
    try:
        yield r
    finally:
        r("CLIENT", "UNPAUSE")
        r.close()


def script_held(r):
    """A script of the relay's waits in Redis (held by the pause)."""
    return any(re.search(r"flags=\S*b.* cmd=eval", line)
               for line in r("CLIENT", "LIST").splitlines())


def closed_count(relay):
    return len(re.findall(r"conn \d+ closed", relay.proc.text("stderr")))


def gone_while_held(env, relay, r, frame):
    """frame sent by a device that disconnects while Redis holds every
    write (writes_held's r): its script waits in Redis once the relay
    saw the connection close."""
    s = device_session(env)
    before = closed_count(relay)
    s.c.send_frame(frame)
    harness.wait_until(lambda: script_held(r), 10,
                       what="the relay's script held by Redis")
    s.close()
    harness.wait_until(lambda: closed_count(relay) > before, 10,
                       what="the relay to see the device go")


def sent_and_gone(env, relay, frame):
    """The same; Redis runs the script then."""
    with writes_held(env.redis_port) as r:
        gone_while_held(env, relay, r, frame)


def audit_of(env, cid):
    """The relay's audit records of check-in cid."""
    stream = "alertrelay:audit:" + env.relay["instance_id"]
    return [x for x in (json.loads(f["r"]) for _, f in
                        harness.Resp(env.redis_port).xrange(stream))
            if x["object"] == "checkin:" + cid]


def audited(env, cid, action, reason=None):
    """The one record of action on check-in cid: ok, by the device,
    from its address over TLS."""
    def have():
        return [x for x in audit_of(env, cid) if x["action"] == action]
    harness.wait_until(have, 10, what="%s of %s audited: %s" % (
        action, cid, audit_of(env, cid)))
    (rec,) = have()
    assert (rec["result"], rec.get("reason"), rec["actor"],
            rec["channel"]) == ("ok", reason, "device:" + env.device_id,
                                "tls"), rec
    assert rec["address"].startswith("127.0.0.1"), rec
    return rec


def checkin_hash(env, cid):
    return harness.Resp(env.redis_port).hgetall(
        "%s:checkin:%s" % (env.redis["prefix"], cid))


def gone_env(lab):
    env = lab.env()
    env.redis["timeout"] = 30
    env.write_relay_conf()
    return env


@pytest.mark.hard_timeout(90)
def test_extend_and_done_whose_device_went_away_are_recorded(lab):
    env = gone_env(lab)
    lab.redis(env)
    relay = lab.relay(env, debug=True)
    key = proto.device_signing_key(env.device_key)
    cid = started(env, key)
    audited(env, cid, "checkin.start")
    # extend: Redis moves the deadline, the device long gone
    frame, aid = timer_frame(env, key, cid, "extend", 600, 660)
    sent_and_gone(env, relay, frame)
    relay.proc.wait_for(r"info: checkin extend checkin=%s device=%s "
                        r"result=ok device_gone=1$" % (cid, env.device_id),
                        timeout=10)
    audited(env, cid, "checkin.extend")
    assert checkin_hash(env, cid)["alert_id"] == aid
    # done: the check-in ends, nothing is raised
    sent_and_gone(env, relay, checkin_frame(key, env.device_id, cid, "done"))
    relay.proc.wait_for(r"info: checkin done checkin=%s device=%s "
                        r"result=ok device_gone=1$" % (cid, env.device_id),
                        timeout=10)
    audited(env, cid, "checkin.done")
    assert checkin_hash(env, cid)["state"] == "done"
    assert "checkin duress" not in relay.log()


@pytest.mark.hard_timeout(90)
def test_a_duress_done_whose_device_went_away_still_warns(lab):
    env = gone_env(lab)
    lab.redis(env)
    relay = lab.relay(env, debug=True)
    recv = lab.receiver(env, "contactpunt")
    key = proto.device_signing_key(env.device_key)
    cid = started(env, key)
    sent_and_gone(env, relay,
                  checkin_frame(key, env.device_id, cid, "done", duress=1))
    relay.proc.wait_for(r"warning: checkin duress checkin=%s device=%s "
                        r"device_gone=1: done under duress; the alert is "
                        r"released now$" % (cid, env.device_id), timeout=10)
    relay.proc.wait_for(r"info: checkin done checkin=%s device=%s "
                        r"result=ok device_gone=1$" % (cid, env.device_id),
                        timeout=10)
    audited(env, cid, "checkin.duress", "done")
    assert not [x for x in audit_of(env, cid)
                if x["action"] == "checkin.done"], audit_of(env, cid)
    # the alarm goes out as duress, at once
    (got,) = recv.wait_alerts(1, timeout=10)
    assert (got["type"], got["duress"], got["alert_type"],
            got["message"]) == ("alert.duress", True, "missed_checkin",
                                MESSAGE), got
    assert MESSAGE not in relay.log()


def replicated_stack(lab):
    """A master and its replica (WAIT would wait 30 s on its own), and
    the relay."""
    env = lab.env()
    replicated_env(lab, env, 30)
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env, debug=True)
    return env, replica, relay


def done_waiting_and_gone(env, relay, key, cid):
    """A done the master made, waiting for WAIT (the replica stopped by
    the caller), whose device then disconnects."""
    s = device_session(env)
    before = closed_count(relay)
    s.c.send_frame(checkin_frame(key, env.device_id, cid, "done"))
    relay.proc.wait_for(r"checkin done checkin=%s device=%s result=ok$"
                        % (cid, env.device_id), timeout=10)
    s.close()
    harness.wait_until(lambda: closed_count(relay) > before, 10,
                       what="the relay to see the device go")


@pytest.mark.hard_timeout(120)
def test_a_checkin_of_a_device_gone_is_recorded_before_the_stop(lab):
    """SIGTERM while that done waits for WAIT, then the replica resumes:
    the stop waits for it (stopjobs.h), and checkin.done is audited
    before relay.stop."""
    env, replica, relay = replicated_stack(lab)
    key = proto.device_signing_key(env.device_key)
    cid = started(env, key)
    with stopped(replica):
        done_waiting_and_gone(env, relay, key, cid)
        relay.proc.signal(signal.SIGTERM)
        relay.proc.wait_for(WAITING, "stderr", 10)
    assert relay.proc.wait_exit(20) == 0, relay.log()[-3000:]
    recs = audit_actions(env)
    record = ("checkin.done", "checkin:" + cid, "ok")
    assert record in recs, recs
    assert recs.index(record) < [r[0] for r in recs].index("relay.stop"), \
        recs
    assert "not on enough replicas" not in relay.log(), relay.log()[-3000:]


@pytest.mark.hard_timeout(120)
def test_a_checkin_of_a_device_gone_pending_at_exit_is_ended(lab):
    """The same, the replica stopped until the relay exits: past the
    stop's bound (3 s) the request is ended at the exit, said in the
    log, not audited, and freed (the ASan build checks for leaks and
    use after free at the exit)."""
    env, replica, relay = replicated_stack(lab)
    key = proto.device_signing_key(env.device_key)
    cid = started(env, key)
    with stopped(replica):
        done_waiting_and_gone(env, relay, key, cid)
        assert relay.stop(timeout=20) == 0, relay.log()[-3000:]
    assert re.search(r"warning: checkin done checkin=%s device=%s "
                     r"device_gone=1: not on enough replicas: " %
                     (cid, env.device_id), relay.log()), relay.log()[-3000:]
    assert ("checkin.done", "checkin:" + cid, "ok") not in \
        audit_actions(env)
