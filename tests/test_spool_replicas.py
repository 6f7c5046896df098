"""The local spool and [redis] min_replicas (review rv-edges, findings 1
and 3): an alert the spool took counts as moved into Redis only once the
replicas hold it, as one Redis took directly counts as accepted only then;
and a check-in released under duress that goes through the spool reaches
its recipients as alert.duress, marked, as it would from Redis.  A replica
SIGSTOPped (lagging) makes WAIT fail.  And (review rv-m3) such an alert,
in the master but not yet on the replica, is not sent again from the
spool after a restart: Redis holds it, and may have cancelled it.  Real
redis-server processes (a master and its replica), the real relay,
alertctl and webhook receivers.  All fail on the old code."""

import contextlib
import os
import time

import pytest

import harness
from helpers import parse_send
from test_checkin_pin import ctl, start, PIN, DURESS
from test_sentinel import start_replica
from test_spool import spool_env

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

ALARMS = ("alert.raised", "alert.escalated", "alert.duress")


def replica_env(lab):
    """A spool, a master, a replica that must hold every alert."""
    env, spool = spool_env(lab)
    lab.redis(env)
    port = start_replica(lab, env, env.redis_port)
    replica = next(p for p in lab.things if getattr(p, "name", "") ==
                   "redis-replica")
    env.redis["min_replicas"] = 1
    env.redis["timeout"] = 1
    env.write_relay_conf()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % env.admin_port)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    return env, spool, port, replica


@contextlib.contextmanager
def lagging(replica):
    """The replica stopped (it reads nothing), continued on the way out."""
    replica.pause()
    try:
        yield
    finally:
        replica.resume()


def alert_state(port, aid):
    return harness.Resp(port)("HGET", "alertrelay:alert:%s" % aid, "state")


@pytest.mark.hard_timeout(120)
def test_spooled_alert_leaves_the_spool_only_once_replicas_hold_it(lab):
    env, spool, replica_port, replica = replica_env(lab)
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    relay = lab.relay(env)
    with lagging(replica):
        rc, lines, err = lab.send(env, "--type", "panic", "--message",
                                  "achterstand", "--timeout", "30")
        aid, acc = parse_send(lines)
        assert rc == 0 and acc, (lines, err)
        assert acc.group(2).startswith("spool-"), lines
        # the master takes it from the spool, the replica cannot: WAIT
        # fails and the spool keeps it (before: "spool emptied")
        relay.proc.wait_for(r"spool: moving alert=%s into redis failed .*"
                            r"replica" % aid, timeout=15)
        harness.wait_until(lambda: alert_state(env.redis_port, aid), 5,
                           what="the alert on the master")
        # its first tier went out from the spool, which holds it still
        for rid, rec in recs.items():
            harness.wait_until(lambda: alarms({rid: rec}), 10,
                               what="the alarm delivered to %s" % rid)
        assert aid in (spool / "spool.log").read_text()
        assert "spool emptied" not in relay.log()
    # the replica catches up: the next attempt's WAIT succeeds, and only
    # then does the spool let the alert go
    harness.wait_until(lambda: alert_state(replica_port, aid) == "open", 15,
                       what="the alert on the replica")
    relay.proc.wait_for(r"spool emptied", timeout=20)
    assert os.path.getsize(spool / "spool.log") == 0
    harness.wait_until(lambda: "moved into redis" in relay.log(), 10,
                       what="the move logged")


def alarms(recs):
    return [a["json"] for rec in recs.values() for a in rec.snapshot()
            if 200 <= a["status"] < 300 and a["json"].get("type") in ALARMS]


@pytest.mark.hard_timeout(150)
def test_duress_checkin_through_the_spool_is_alert_duress(lab):
    env, spool, replica_port, replica = replica_env(lab)
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    relay = lab.relay(env)
    cp = ctl(lab, env, "pincode", "set", input="%s\n%s\n" % (PIN, DURESS),
             timeout=60)
    assert cp.returncode == 0, cp.stderr
    start(lab, env)
    with lagging(replica):
        # the check-in's end waits for the replica as well; what matters
        # here is the alarm it releases, which WAIT sends to the spool
        ctl(lab, env, "checkin", "done", input=DURESS + "\n", timeout=60)
        relay.proc.wait_for(r"accepted into the local spool", timeout=20)
        # Redis's copy and the spool's, each to every recipient of the
        # duress alarm
        harness.wait_until(lambda: len(alarms(recs)) >= 2, 20,
                           what="the duress alarm from Redis and the spool")
    got = alarms(recs)
    aids = {a["alert_id"] for a in got}
    assert len(aids) == 1, got
    for a in got:
        # before: the spool's copy was an ordinary alert.raised, tier 0,
        # without the duress mark
        assert a["type"] == "alert.duress", a
        assert a.get("duress") is True, a
        assert a.get("duress_at"), a
    harness.wait_until(lambda: "checkin duress" in relay.log(), 10,
                       what="the duress check-in logged")


CANCEL_POL = {"default": {"types": "panic threat test",
                          "tier": ["0 contactpunt:webhook oncall-1:webhook"],
                          "max_age": 3600}}


def raised(rec, aid):
    return [a for a in rec.snapshot()
            if (a["json"] or {}).get("alert_id") == aid and
            a["json"].get("type") in ALARMS]


@pytest.mark.hard_timeout(150)
def test_restart_does_not_resend_a_spooled_alert_redis_holds(lab):
    """Review rv-m3: an alert in the master, but not on the replica, stays
    in the spool; cancelled there meanwhile, a restart must not send its
    first tier again from the spool (before: oncall-1, down until then,
    got alert.raised of the cancelled alert)."""
    env, spool = spool_env(lab, policies=CANCEL_POL)
    lab.redis(env)
    start_replica(lab, env, env.redis_port)
    replica = next(p for p in lab.things if getattr(p, "name", "") ==
                   "redis-replica")
    env.redis["min_replicas"] = 1
    env.redis["timeout"] = 1
    env.sections["delivery"] = {"max_attempts": 2}
    env.write_relay_conf()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % env.admin_port)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    cp = lab.recorder_for(env, "contactpunt")
    relay = lab.relay(env)
    with lagging(replica):
        rc, lines, err = lab.send(env, "--type", "panic", "--message",
                                  "ingetrokken", "--timeout", "30")
        aid, acc = parse_send(lines)
        assert rc == 0 and acc and acc.group(2).startswith("spool-"), lines
        harness.wait_until(lambda: raised(cp, aid), 10, what="cp's alarm")
        relay.proc.wait_for(r"spool: moving alert=%s into redis failed .*"
                            r"replica" % aid, timeout=15)
        relay.proc.wait_for(r"alert=%s recipient=oncall-1 .*result=failed"
                            % aid, timeout=20)
        ctl(lab, env, "cancel", aid, "--timeout", "3")
        harness.wait_until(
            lambda: alert_state(env.redis_port, aid) == "cancelled", 10,
            what="the alert cancelled on the master")
        assert aid in (spool / "spool.log").read_text()
        oc = lab.recorder_for(env, "oncall-1")
        relay.stop()
        relay = lab.relay(env)
        relay.proc.wait_for(r"spool: moving alert=%s into redis failed"
                            % aid, timeout=15)
        # what a start sends from the spool goes out at once, before
        # the move's first WAIT (1 s) ends: 3 s more leave it time
        time.sleep(3)
        assert raised(oc, aid) == [], raised(oc, aid)
        assert alert_state(env.redis_port, aid) == "cancelled"
