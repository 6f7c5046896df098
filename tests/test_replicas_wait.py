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


def replicated_env(lab, env, timeout=1):
    env.redis["min_replicas"] = 1
    env.redis["timeout"] = timeout
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


def first_recorded_unconfirmed(st, aids, ref):
    """Each of aids logged and audited as contactpunt's first
    acknowledgement, unconfirmed, and the SMS's taker (ref) sent the
    confirmation."""
    for aid in aids:
        assert re.search(r"acknowledged alert=%s recipient=contactpunt "
                         r"channel=\S+ first=1 unconfirmed" % aid,
                         st.relay.proc.text("stderr"))
        audited(st.env, aid, "alert.ack", [("unconfirmed", "first")])
    st.sms.wait(1, to=CP, pred=lambda m: m.text.startswith("Bevestigd")
                and ref in m.text, timeout=10)


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
    # The timeout covers the PIN's Argon2id work too (seconds under ASan
    # on a loaded machine); the replica stays stopped throughout.
    with stopped(replica):
        r = ctl(env, "cancel", real, "--timeout", "10", input=PIN + "\n")
        d = ctl(env, "cancel", forced, "--timeout", "10", input=DURESS + "\n")
    assert r[0] != 0 and "cancelled" not in r[1], r
    alike(r, real, d, forced)
    m = harness.Resp(env.redis_port)
    assert m("HGET", ALERT % real, "state") == "cancelled"
    assert m("HMGET", ALERT % forced, "state", "duress") == ["open", "1"]
    relay.proc.wait_for(r"alert duress alert=%s device=\S+ notifications=\d+ "
                        r"unconfirmed" % forced, "stderr", 10)
    relay.proc.wait_for(r"alert cancelled alert=%s device=\S+ "
                        r"result=cancelled unconfirmed" % real, "stderr", 10)
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
    st, replica, by_https, by_sms, ref = ack_stack(lab, 1)
    token = st.tokens["contactpunt"]
    with stopped(replica):
        status, body = st.ack(by_https, token, timeout=10)
        by_phone = st.sms_reply(CP, "OK %s" % ref)
    assert (status, by_phone) == (503, 503), (status, body, by_phone)
    assert st.alert_hash(by_https)["state"] == "acknowledged"
    first_recorded_unconfirmed(st, (by_https, by_sms), ref)
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


def ack_stack(lab, timeout):
    """sms_stack with min_replicas 1 and a WAIT of up to timeout s, a
    replica, and two alarms to contactpunt by SMS: (stack, replica,
    by_https, by_sms, the SMS's reference)."""
    st = harness.sms_stack(lab, policies("0 contactpunt:sms"),
                           tokens=("contactpunt",), start=False)
    replicated_env(lab, st.env, timeout)
    replica = start_replica(lab, st.env, st.env.redis_port)
    st.relay.start()
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" %
                           st.plain_port, "stderr", 10)
    _, by_https, _ = alarm_by_sms(st, "contactpunt", CP)
    _, by_sms, ref = alarm_by_sms(st, "contactpunt", CP)
    return st, replica, by_https, by_sms, ref


def https_ack_sent(st, aid):
    """An HTTPS acknowledgement sent, its answer not read: the
    connection, to close."""
    import http.client
    c = http.client.HTTPSConnection(
        "127.0.0.1", st.ack_port, timeout=10,
        context=harness.tls13_context(st.env.cert))
    c.request("POST", "/v1/alerts/%s/ack" % aid, body=b"",
              headers={"Authorization": "Bearer " + st.tokens["contactpunt"],
                       "Content-Length": "0"})
    return c


def gateway_reply_sent(st, number, text):
    """The request smsbox's get-url makes for an SMS from number (the
    gateway's token as HTTP Basic, kannel.py), its answer not read:
    Kannel itself cannot be made to hang up while it waits."""
    import base64
    import http.client
    import urllib.parse
    c = http.client.HTTPConnection("127.0.0.1", st.plain_port, timeout=10)
    basic = base64.b64encode(("kannel:%s" % st.mo_token).encode()).decode()
    c.request("GET", "/v1/sms/kannel?" + urllib.parse.urlencode(
        {"from": number, "text": text}),
        headers={"Authorization": "Basic " + basic})
    return c


def state_is(port, aid, state):
    harness.wait_until(lambda: harness.Resp(port)(
        "HGET", ALERT % aid, "state") == state, 10,
        what="%s %s on the master" % (aid, state))


@pytest.mark.hard_timeout(150)
def test_ack_whose_client_went_away_is_recorded(lab):
    """An acknowledgement by HTTPS and one by SMS (the gateway's call),
    replica stopped: each client hangs up while its acknowledgement
    waits for WAIT.  The master acknowledged both, so the relay logs and
    audits both, and the one who took it by SMS is sent the
    confirmation through Kannel.  A guard, not a bug seen: the old code
    dropped a request whose connection closed, but libevent 2.1 does not
    notice a client's hang-up before the answer is written, so this
    passed there too; the records no longer depend on it."""
    st, replica, by_https, by_sms, ref = ack_stack(lab, 5)
    with stopped(replica):
        clients = [https_ack_sent(st, by_https),
                   gateway_reply_sent(st, CP, "OK %s" % ref)]
        for aid in (by_https, by_sms):
            state_is(st.env.redis_port, aid, "acknowledged")
        for c in clients:
            c.close()
        # WAIT gives up (5 s), the clients long gone
        harness.wait_until(lambda: len(re.findall(
            r"ack recipient=contactpunt: too few replicas have it",
            st.relay.proc.text("stderr"))) == 2, 15,
            what="both acknowledgements' WAIT to end")
    first_recorded_unconfirmed(st, (by_https, by_sms), ref)
    # the replica back, the person's retry is answered
    status, body = st.ack(by_https, st.tokens["contactpunt"], timeout=10)
    assert status == 200 and not body["first"], body
    audited(st.env, by_https, "alert.ack",
            [("unconfirmed", "first"), ("ok", "again")])


@pytest.mark.hard_timeout(120)
def test_cancel_whose_device_went_away_is_recorded(lab):
    """A device's cancel, replica stopped: alertctl is killed while the
    cancel waits for WAIT, then the replica resumes.  The master
    cancelled the alert, so the relay logs and audits it.  Before: the
    connection's end cancelled the request, and the cancel was recorded
    nowhere."""
    env = lab.env()
    replicated_env(lab, env, 5)
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env)
    aid = send(lab, env, "x")
    with stopped(replica):
        p = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf,
                       "cancel", aid, "--timeout", "30"], "cancel")
        state_is(env.redis_port, aid, "cancelled")
        p.kill()
        relay.proc.wait_for(r"cancel alert=%s device=\S+: too few replicas "
                            r"have it \(its connection is closed\)" % aid,
                            timeout=15)
    assert re.search(r"alert cancelled alert=%s device=\S+ result=cancelled "
                     r"unconfirmed" % aid, relay.log()), relay.log()[-3000:]
    audited(env, aid, "alert.cancel", [("unconfirmed", "cancelled")])
    # the replica back: a retry is answered
    rc, out, err = ctl(env, "cancel", aid, "--timeout", "10")
    assert rc == 0 and out == "cancelled %s\n" % aid, (rc, out, err)


@pytest.mark.hard_timeout(150)
def test_refusal_is_answered_at_once_while_a_replica_lags(lab):
    """Replica stopped, WAIT up to 5 s: an acknowledgement of an alert
    the recipient was not on (HTTPS), one with a reference nobody was
    sent (SMS through Kannel) and a device's cancel of an alert it does
    not have wrote nothing, and are answered with their refusal at once.
    Before: each waited for WAIT, and was answered "unavailable" (503),
    which sent the gateway and the device back to try again."""
    st, replica, by_https, _, _ = ack_stack(lab, 5)
    other = "0" * 32
    with stopped(replica):
        status, body = st.ack(other, st.tokens["contactpunt"], timeout=10)
        assert (status, body) == (404, {"error": "no such alert"}), body
        assert st.sms_reply(CP, "OK ZZZZ2345") == 404
        rc, out, err = ctl(st.env, "cancel", other, "--timeout", "10")
    assert rc != 0 and "does not know alert %s" % other in err, (rc, out, err)


def alert_id_of(p):
    """The alert_id alertctl send printed first, before any answer."""
    harness.wait_until(lambda: p.text("stdout").strip(), 10,
                       what="alertctl's alert_id line")
    return parse_send(p.text("stdout").splitlines())[0]


@pytest.mark.hard_timeout(120)
def test_an_alert_whose_device_went_away_is_recorded(lab):
    """An alert, replica stopped: the master stores it, and alertctl is
    killed while its "accepted" waits for WAIT; the replica resumes
    before WAIT's deadline.  The alert is stored and goes out, so the
    relay logs it as accepted (device_gone=1) and audits alert.accepted
    by the device, from its address.  Before: the connection's end
    dropped the request, and the alert was recorded nowhere."""
    env = lab.env()
    replicated_env(lab, env, 15)
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env, debug=True)
    with stopped(replica):
        p = lab.send_proc(env, "--type", "panic", "--message", "gone",
                          "--timeout", "60")
        aid = alert_id_of(p)
        state_is(env.redis_port, aid, "open")
        p.kill()
        relay.proc.wait_for(r"conn \d+ closed", "stderr", 10)
    line = (r"info: alert accepted alert=%s device=%s relay_id=\S+ "
            r"duplicate=0 store_ms=\d+ ref=\w+ drill=0 device_gone=1$" %
            (aid, env.device_id))
    harness.wait_until(lambda: re.search(line, relay.log(), re.M), 15,
                       what="the accepted line:\n" + relay.log()[-2000:])
    assert audited(env, aid, "alert.accepted", [("ok", None)]) == \
        [("ok", None)]
    stream = "alertrelay:audit:" + env.relay["instance_id"]
    (rec,) = [x for x in (json.loads(f["r"]) for _, f in
                          harness.Resp(env.redis_port).xrange(stream))
              if x["action"] == "alert.accepted"]
    assert (rec["actor"], rec["channel"]) == (
        "device:" + env.device_id, "tls"), rec
    assert rec["address"].startswith("127.0.0.1"), rec


@pytest.mark.hard_timeout(120)
def test_an_alert_of_a_device_gone_pending_at_exit_is_ended(lab):
    """The same, but the relay is stopped while the alert still waits
    for WAIT (replica still stopped): the request its device left is
    ended at the exit, said so in the log, and freed (the ASan build
    checks for leaks and use after free at the exit)."""
    env = lab.env(relay={"shutdown_timeout": 2})
    replicated_env(lab, env, 30)
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    relay = lab.relay(env, debug=True)
    with stopped(replica):
        p = lab.send_proc(env, "--type", "panic", "--message", "gone",
                          "--timeout", "60")
        aid = alert_id_of(p)
        state_is(env.redis_port, aid, "open")
        p.kill()
        relay.proc.wait_for(r"conn \d+ closed", "stderr", 10)
        assert relay.stop(timeout=20) == 0, relay.log()[-3000:]
    assert re.search(r"warning: alert alert=%s device=%s device_gone=1 "
                     r"outcome=unknown: the relay stopped first$" %
                     (aid, env.device_id), relay.log(), re.M), \
        relay.log()[-3000:]
    assert "alert accepted alert=%s" % aid not in relay.log()
