"""A relay stopped (SIGTERM) while a device's cancel or alert waits for
Redis's WAIT ([redis] min_replicas = 1, the replica SIGSTOPped): the
stop waits for it, up to 3 s (STOPJOBS_WAIT_MS), so that what the master
did is logged and audited before relay.stop; past that bound the relay
exits all the same and the job's outcome is left unknown, as before.
Real redis-server processes (master and replica), alertrelayd and
alertctl.

Before the fix the stop did not wait: the cancel's line came at exit,
"unconfirmed", after the audit log had closed (no alert.cancel record),
and an alert's "accepted" was never logged or audited."""

import json
import re
import signal

import pytest

import harness
from test_replicas_wait import (alert_id_of, replicated_env, send, state_is,
                                stopped)
from test_sentinel import start_replica

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

WAITING = r"stopping: pending=1 alerts, cancels, check-ins, location " \
          r"updates, supervision ends or acknowledgements \(or timers " \
          r"and deadline writes\) wait for Redis; their answer is " \
          r"awaited up to 3000 ms"


def audit_actions(env):
    """(action, object, result) of the relay's records, in order."""
    stream = "alertrelay:audit:" + env.relay["instance_id"]
    return [(x["action"], x["object"], x["result"]) for x in
            (json.loads(f["r"]) for _, f in
             harness.Resp(env.redis_port).xrange(stream))]


def stack(lab):
    env = lab.env()
    replicated_env(lab, env, 30)  # WAIT would wait 30 s on its own
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env)
    return env, replica, relay


def stop(relay):
    """SIGTERM, and the relay's word that it is stopping (the old code's
    too, which then did not wait)."""
    relay.proc.signal(signal.SIGTERM)
    relay.proc.wait_for(r"info: shutting down", "stderr", 10)


def recorded_before_exit(env, relay, p, line, record):
    """The relay, its replica back, exits 0 (p, the client, killed
    then) with line (a regex, a whole line's end) logged before its
    last lines, record audited before relay.stop, and having said that
    it waited."""
    rc = relay.proc.wait_exit(20)
    p.kill()
    log = relay.log()
    assert rc == 0, log[-3000:]
    m = re.search(r"^.*%s$" % line, log, re.M)
    assert m, log[-3000:]
    assert log.index(m.group(0)) < log.index("deliveries finished"), \
        log[-3000:]
    recs = audit_actions(env)
    assert record in recs, recs
    assert recs.index(record) < [r[0] for r in recs].index("relay.stop"), \
        recs
    assert re.search(WAITING, log), log[-3000:]


@pytest.mark.hard_timeout(120)
def test_cancel_waiting_for_wait_is_recorded_before_the_stop(lab):
    env, replica, relay = stack(lab)
    aid = send(lab, env, "x")
    with stopped(replica):
        p = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf,
                       "cancel", aid, "--timeout", "30"], "cancel")
        state_is(env.redis_port, aid, "cancelled")
        stop(relay)
    # the replica back within the bound: WAIT answers, the stop goes on
    recorded_before_exit(env, relay, p, r"alert cancelled alert=%s "
                         r"device=\S+ result=cancelled" % aid,
                         ("alert.cancel", "alert:" + aid, "ok"))


def send_waiting(lab, env):
    """alertctl send, its alert stored on the master and waiting for
    WAIT (the replica stopped by the caller): the alert id."""
    p = lab.send_proc(env, "--type", "panic", "--message", "x",
                      "--timeout", "60")
    aid = alert_id_of(p)
    state_is(env.redis_port, aid, "open")
    return p, aid


@pytest.mark.hard_timeout(120)
def test_alert_waiting_for_wait_is_recorded_before_the_stop(lab):
    env, replica, relay = stack(lab)
    with stopped(replica):
        p, aid = send_waiting(lab, env)
        stop(relay)
    recorded_before_exit(env, relay, p, r"info: alert accepted alert=%s "
                         r"device=\S+ .* device_gone=1" % aid,
                         ("alert.accepted", "alert:" + aid, "ok"))
    assert "outcome=unknown" not in relay.log()


@pytest.mark.hard_timeout(120)
def test_stop_waits_no_longer_than_its_bound(lab):
    """The replica stays stopped: 3 s after the stop the relay says how
    many jobs had no answer and exits (not at shutdown_timeout, 10 s),
    relay.stop recorded; the alert's outcome is unknown, as before."""
    env, replica, relay = stack(lab)
    with stopped(replica):
        p, aid = send_waiting(lab, env)
        relay.proc.signal(signal.SIGTERM)
        relay.proc.wait_for(WAITING, "stderr", 10)
        rc = relay.proc.wait_exit(20)
    p.kill()
    log = relay.log()
    assert rc == 0, log[-3000:]
    assert re.search(r"warning: stopping: pending=1 alerts, cancels, "
                     r"check-ins, location updates, supervision ends or "
                     r"acknowledgements \(or timers and deadline "
                     r"writes\) had no answer from "
                     r"Redis within 3000 ms", log), log[-3000:]
    assert "shutdown_timeout reached" not in log, log[-3000:]
    assert re.search(r"alert alert=%s device=\S+ device_gone=1 "
                     r"outcome=unknown: the relay stopped first$" % aid,
                     log, re.M), log[-3000:]
    recs = audit_actions(env)
    assert "relay.stop" in [r[0] for r in recs], recs
    assert ("alert.accepted", "alert:" + aid, "ok") not in recs, recs
