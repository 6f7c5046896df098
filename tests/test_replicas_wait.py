"""[redis] min_replicas at the edges (review rv-edges, findings 2 and 4):
WAIT holds up no other command, so a replica that stops answering does
not make the relay drop its connections to a healthy master; and a
device's cancel, a duress cancel and a person's acknowledgement (HTTPS
and SMS) are answered only once a replica has them, "unavailable" (503)
if not, so a failover cannot undo what someone was told.  Real
redis-server processes (master, replica, sentinel), the real relay,
alertctl and Kannel."""

import contextlib
import json
import os
import re
import signal
import time
from types import SimpleNamespace

import pytest

import harness
from helpers import parse_send
from test_ack import CP, alarm_by_sms, policies
from test_duress import DURESS, PIN, set_pins
from test_sentinel import master_port, start_replica, start_sentinel

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

ALERT = "alertrelay:alert:%s"


@contextlib.contextmanager
def stopped(port):
    """The redis-server on port, SIGSTOPped: its kernel still takes what
    the master sends, it acknowledges nothing."""
    info = harness.Resp(port)("INFO", "server")
    pid = int(info.split("process_id:")[1].split()[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def replicated_env(lab, env):
    env.redis["min_replicas"] = 1
    env.redis["timeout"] = 1
    env.write_relay_conf()


def ctl(env, *args, input=None):
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf]
                     + [str(a) for a in args], timeout=30, input=input)
    return cp.returncode, cp.stdout, cp.stderr


def alike(a, aid_a, b, aid_b):
    """Two runs of alertctl the same to the person at the device: exit
    status, stdout, and the lines of stderr.  Retries come after a random
    pause, as many as fit in the time, so the retry lines are left out,
    and the deadline line's last reason is whatever the last try was
    doing then ("still waiting" for the answer, or its "unavailable"):
    both are the relay's answer to either cancel, never the duress."""
    def lines(text, aid):
        text = text.replace(aid, "X")
        text = re.sub(r"(within \d+ s: ).*", r"\1...", text)
        return sorted(set(l for l in text.splitlines()
                          if "retrying" not in l))
    assert a[0] == b[0], (a, b)
    assert a[1].replace(aid_a, "X") == b[1].replace(aid_b, "X"), (a, b)
    assert lines(a[2], aid_a) == lines(b[2], aid_b), (a, b)


def audit_of(env, aid, action):
    """(result, reason) of the relay's audit records of action on aid."""
    stream = "alertrelay:audit:" + env.relay["instance_id"]
    recs = [json.loads(f["r"]) for _, f in
            harness.Resp(env.redis_port).xrange(stream)]
    return [(x["result"], x.get("reason")) for x in recs
            if x["action"] == action and x["object"] == "alert:" + aid]


def audited(env, aid, action, want, then=None):
    """The records of action on aid are want, and then any number of
    then (alertctl tries again within its --timeout, as it may)."""
    def ok():
        have = audit_of(env, aid, action)
        return have[:len(want)] == want and all(
            x == then for x in have[len(want):])
    harness.wait_until(ok, 5, what="%s of %s audited as %s, then %s" % (
        action, aid, want, then))
    return audit_of(env, aid, action)


def send(lab, env, msg):
    rc, lines, err = lab.send(env, "--type", "panic", "--message", msg,
                              "--timeout", "20")
    aid, acc = parse_send(lines)
    assert rc == 0 and acc, (rc, lines, err)
    return aid


@pytest.mark.hard_timeout(90)
def test_a_stopped_replica_drops_no_connection(lab):
    """Before: WAIT went on the commands connection; four alerts at once
    queued four WAITs of 1 s each, and the commands behind them (timer
    polls, the next WAIT) outlived their 1 s deadline: "a command got no
    reply in time", every connection dropped, again and again."""
    env = lab.env()
    replicated_env(lab, env)
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env)
    with stopped(replica):
        procs = [lab.send_proc(env, "--type", "panic", "--message",
                               "burst %d" % i, "--timeout", "4",
                               name="send%d" % i) for i in range(4)]
        for p in procs:
            assert p.wait_exit(20) is not None, p.tail()
        # nothing was confirmed, and the relay said why
        for p in procs:
            assert not parse_send(p.snapshot("stdout"))[1], p.tail()
        harness.wait_until(lambda: "alert not on enough replicas"
                           in relay.log(), 10, what="the reason logged")
    log = relay.log()
    assert "connection lost" not in log, log[-2000:]
    assert "no reply in time" not in log, log[-2000:]
    # the replica back: the relay, on the connections it always had,
    # takes alerts again
    send(lab, env, "after")
    assert "connection lost" not in relay.log()


@pytest.mark.hard_timeout(120)
def test_cancel_not_confirmed_is_not_undone_by_a_failover(lab):
    """The reviewer's probe: a cancel only the master had was answered
    "cancelled"; the master lost, Sentinel promoted the replica, and the
    alert was open again while the device believed it cancelled.  Now the
    device hears "unavailable", and the alert it still sees as open is
    open on the new master."""
    env = lab.env()
    master = lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    sentinel = start_sentinel(lab, env, env.redis_port)
    env.redis["sentinels"] = "127.0.0.1:%d" % sentinel
    env.redis["master_name"] = "mymaster"
    env.redis["address"] = "127.0.0.1:1"  # ignored: Sentinel decides
    replicated_env(lab, env)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    relay = lab.relay(env)
    aid = send(lab, env, "x")
    assert harness.Resp(replica)("HGET", ALERT % aid, "state") == "open"
    # The replica rewrites its AOF after its first sync and only then
    # names the file the alert went to; stopped and killed before that,
    # it comes back without the alert, whatever the relay did.
    harness.wait_until(lambda: "aof_rewrite_in_progress:0" in harness.Resp(
        replica)("INFO", "persistence"), 10, what="the replica's AOF rewrite")
    with stopped(replica) as rpid:
        rc, out, err = ctl(env, "cancel", aid, "--timeout", "4")
        assert rc != 0 and "cancelled" not in out, (rc, out, err)
        relay.proc.wait_for(r"cancel: too few replicas have it", timeout=15)
        # the master has it: a repeat is "already", once a replica has it
        assert harness.Resp(env.redis_port)(
            "HGET", ALERT % aid, "state") == "cancelled"
        # the master is lost before the replica got the cancel
        os.kill(rpid, signal.SIGKILL)
        master.kill()
    lab.spawn(["redis-server", "--port", str(replica), "--bind", "127.0.0.1",
               "--appendonly", "yes", "--appendfsync", "always",
               "--save", "", "--dir", str(env.dir / "replica"), "--logfile", "",
               "--replicaof", "127.0.0.1", str(env.redis_port)],
              "redis-replica2")
    harness.wait_until(lambda: master_port(sentinel) == replica, 40,
                       what="sentinel promotes the replica")
    # what the device was told holds: not cancelled, and it is not
    assert harness.Resp(replica)("HGET", ALERT % aid, "state") == "open"


@pytest.mark.hard_timeout(120)
def test_duress_cancel_waits_like_a_real_one(lab):
    """A real cancel and a duress cancel, replica stopped: both
    "unavailable", alike; replica back, the device tries again: both
    "cancelled", alike, though the master kept the first try of each.
    The relay's own records say what the master did at the first try
    (review rv-m3: the WAIT's failure lost the script's answer, so the
    duress was logged and audited nowhere, and the real cancel was
    audited only as its retry, "refused already")."""
    env = lab.env()
    replicated_env(lab, env)
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env)
    set_pins(SimpleNamespace(env=env))
    real, forced = send(lab, env, "voordeur"), send(lab, env, "achterdeur")
    with stopped(replica):
        r = ctl(env, "cancel", real, "--timeout", "3", input=PIN + "\n")
        d = ctl(env, "cancel", forced, "--timeout", "3", input=DURESS + "\n")
    assert r[0] != 0 and "cancelled" not in r[1], r
    alike(r, real, d, forced)
    m = harness.Resp(env.redis_port)
    assert m("HGET", ALERT % real, "state") == "cancelled"
    assert m("HMGET", ALERT % forced, "state", "duress") == ["open", "1"]
    log = relay.log()
    assert re.search(r"alert duress alert=%s device=\S+ notifications=\d+ "
                     r"unconfirmed" % forced, log), log[-3000:]
    assert re.search(r"alert cancelled alert=%s device=\S+ result=cancelled "
                     r"unconfirmed" % real, log), log[-3000:]
    # alertctl may have tried again meanwhile: found done ("already")
    again = ("refused", "already")
    tried = audited(env, real, "alert.cancel", [("unconfirmed", "cancelled")],
                    again)
    audited(env, forced, "alert.duress", [("unconfirmed", "cancelled")])
    forced_tried = audited(env, forced, "alert.cancel", [], again)
    r = ctl(env, "cancel", real, "--timeout", "10", input=PIN + "\n")
    d = ctl(env, "cancel", forced, "--timeout", "10", input=DURESS + "\n")
    assert r[0] == 0 and r[1] == "cancelled %s\n" % real, r
    alike(r, real, d, forced)
    # the retries found them done; a duress retry reads as a real one's
    audited(env, real, "alert.cancel", tried + [("refused", "already")])
    audited(env, forced, "alert.cancel", forced_tried + [("refused", "already")])
    rep = harness.Resp(replica)
    assert rep("HGET", ALERT % real, "state") == "cancelled"
    assert rep("HMGET", ALERT % forced, "state", "duress") == ["open", "1"]


@pytest.mark.hard_timeout(150)
def test_ack_waits_for_replicas(lab):
    """An acknowledgement by HTTPS and one by SMS, replica stopped: 503
    (the person, or the gateway, tries again), not 200; replica back:
    the repeats are answered 200, and the replica has them.  The first
    try is recorded as the first acknowledgement (unconfirmed), and the
    one who took it by SMS is sent the confirmation, once (review rv-m3:
    the WAIT's failure lost the script's answer, so the retry, "again",
    was all there was, and no confirmation ever went)."""
    st = harness.sms_stack(lab, policies("0 contactpunt:sms"),
                           tokens=("contactpunt",), start=False)
    replicated_env(lab, st.env)
    replica = start_replica(lab, st.env, st.env.redis_port)
    st.relay.start()
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" %
                           st.plain_port, "stderr", 10)
    _, by_https, _ = alarm_by_sms(st, "contactpunt", CP)
    _, by_sms, ref = alarm_by_sms(st, "contactpunt", CP)
    token = st.tokens["contactpunt"]
    with stopped(replica):
        status, body = st.ack(by_https, token, timeout=10)
        by_phone = st.sms_reply(CP, "OK %s" % ref)
    assert (status, by_phone) == (503, 503), (status, body, by_phone)
    assert st.alert_hash(by_https)["state"] == "acknowledged"
    for aid in (by_https, by_sms):
        assert re.search(r"acknowledged alert=%s recipient=contactpunt "
                         r"channel=\S+ first=1 unconfirmed" % aid,
                         st.relay.proc.text("stderr"))
        audited(st.env, aid, "alert.ack", [("unconfirmed", "first")])
    st.sms.wait(1, to=CP, pred=lambda m: m.text.startswith("Bevestigd")
                and ref in m.text, timeout=10)
    status, body = st.ack(by_https, token, timeout=10)
    assert status == 200 and body["state"] == "acknowledged", body
    assert not body["first"], body
    assert st.sms_reply(CP, "OK %s" % ref) == 200
    rep = harness.Resp(replica)
    for aid in (by_https, by_sms):
        assert rep("HGET", ALERT % aid, "state") == "acknowledged"
        audited(st.env, aid, "alert.ack",
                [("unconfirmed", "first"), ("ok", "again")])
    time.sleep(1)  # a second confirmation would be out by now
    assert len(st.sms.snapshot(to=CP, pred=lambda m: m.text.startswith(
        "Bevestigd"))) == 1
