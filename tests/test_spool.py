"""Redis down: alerts are still accepted (into the local spool, fsynced),
delivered directly, and moved into Redis when it is back (issue 5,
docs/RELIABILITY.md)."""

import json
import os
import resource
import time
import urllib.request

import pytest

import harness
from helpers import ACCEPTED_RX, parse_send

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def spool_env(lab, policies=None, **kw):
    env = lab.env(**kw)
    spool = env.dir / "spool"
    spool.mkdir()
    env.relay["spool_dir"] = spool
    env.policies.update(policies or {})
    env.admin_port = harness.free_port()
    env.write_relay_conf()
    with open(env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % env.admin_port)
    if "user" in env.relay:  # the daemon drops root: let it write there
        harness.hand_to_daemon_user(env.dir)
    return env, spool


def health(env):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" %
                                    env.admin_port, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(env, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
                                env.admin_port, timeout=5) as r:
        for l in r.read().decode().splitlines():
            if l.split(" ")[0] == name:
                return float(l.split(" ")[1])
    return None


def send(lab, env, msg):
    rc, lines, err = lab.send(env, "--type", "panic", "--message", msg,
                              "--timeout", "20")
    assert rc == 0, (lines, err)
    aid, acc = parse_send(lines)
    return aid, acc.group(2)


def delivered_ids(rec):
    return {a["json"]["alert_id"] for a in rec.snapshot()
            if 200 <= a["status"] < 300}


@pytest.mark.hard_timeout(120)
def test_redis_down_for_20s_in_a_stream_of_alerts(lab):
    env, spool = spool_env(lab)
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    redis = lab.redis(env)
    relay = lab.relay(env)
    sent, spooled = [], []
    for i in range(3):
        sent.append(send(lab, env, "before %d" % i)[0])
    redis.kill()
    t_down = time.monotonic()
    for i in range(4):
        aid, relay_id = send(lab, env, "during %d" % i)
        sent.append(aid)
        spooled.append(aid)
        assert relay_id.startswith("spool-"), relay_id
    assert os.path.getsize(spool / "spool.log") > 0
    code, text = health(env)
    assert code == 200 and "degraded" in text, (code, text)
    # delivered directly while Redis is still down
    for rid, rec in recs.items():
        harness.wait_until(lambda: set(spooled) <= delivered_ids(rec), 15,
                           what="spooled alerts delivered to %s" % rid)
    time.sleep(max(0, 20 - (time.monotonic() - t_down)))
    redis.start()
    for i in range(2):
        sent.append(send(lab, env, "after %d" % i)[0])
    r = harness.Resp(env.redis_port)
    harness.wait_until(
        lambda: all(r("HGET", "alertrelay:alert:%s" % a, "state") for a in sent),
        20, what="every alert in Redis")
    harness.wait_until(lambda: os.path.getsize(spool / "spool.log") == 0, 10,
                       what="the spool emptied")
    for rid, rec in recs.items():
        harness.wait_until(lambda: set(sent) <= delivered_ids(rec), 20,
                           what="every alert delivered to %s" % rid)
    time.sleep(2)
    for rid, rec in recs.items():
        ok = [a for a in rec.snapshot() if 200 <= a["status"] < 300]
        # at least once; a duplicate would carry the same webhook-id
        by_alert = {}
        for a in ok:
            by_alert.setdefault(a["json"]["alert_id"], set()).add(
                a["headers"]["webhook-id"])
        assert set(by_alert) == set(sent)
        assert all(len(ids) == 1 for ids in by_alert.values()), by_alert
        assert len(ok) == len(sent), "no duplicate delivery: %d for %d" % (
            len(ok), len(sent))
    harness.wait_until(lambda: "moved into redis" in relay.log(), 10,
                       what="the move logged")
    assert health(env)[0] == 200


@pytest.mark.hard_timeout(90)
def test_spool_survives_a_killed_relay(lab):
    """SIGKILL while alerts wait in the spool (Redis down, receiver down):
    after restart they are delivered, then moved into Redis."""
    env, spool = spool_env(lab)
    redis = lab.redis(env)
    relay = lab.relay(env)
    redis.kill()
    aid, relay_id = send(lab, env, "spooled then killed")
    assert relay_id.startswith("spool-")
    relay.kill9()
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    relay.restart(wait_redis=False)
    for rid, rec in recs.items():
        harness.wait_until(lambda: aid in delivered_ids(rec), 15,
                           what="%s gets the spooled alert after restart" % rid)
    redis.start()
    r = harness.Resp(env.redis_port)
    harness.wait_until(lambda: r("HGET", "alertrelay:alert:%s" % aid, "state"),
                       20, what="the alert moved into Redis")
    harness.wait_until(lambda: os.path.getsize(spool / "spool.log") == 0, 10,
                       what="the spool emptied")
    time.sleep(2)
    for rid, rec in recs.items():
        assert len([a for a in rec.snapshot()
                    if 200 <= a["status"] < 300]) == 1, rid


def test_without_spool_redis_down_means_unavailable(lab):
    env = lab.env()
    redis = lab.redis(env)
    lab.relay(env)
    redis.kill()
    rc, lines, err = lab.send(env, "--type", "panic", "--timeout", "3")
    assert rc == 1
    assert not any("accepted" in l for l in lines), lines


# a second tier in 10 minutes: its timer is in Redis once the alert is
ESCALATING = {"panic": {"types": "panic", "tier": ["0 *", "600 *"],
                        "max_age": 3600}}


def redis_connects(relay):
    return len([l for l in relay.log().splitlines()
                if "redis connected" in l or "connection lost" in l])


def in_redis(r, env, aid):
    return r("HGET", "%s:alert:%s" % (env.redis["prefix"], aid), "state")


def spool_records(spool, name="spool.log"):
    with open(spool / name) as f:
        return [json.loads(l) for l in f]


def escalating_spool_stack(lab):
    """A relay with a spool and escalating policies, a recorder per
    recipient, and a client to its Redis: (env, spool, recorders, relay,
    redis client)."""
    env, spool = spool_env(lab, policies=ESCALATING)
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    lab.redis(env)
    relay = lab.relay(env)
    return env, spool, recs, relay, harness.Resp(env.redis_port)


@pytest.mark.hard_timeout(90)
def test_spooled_while_redis_refuses_writes_moves_in_without_reconnect(lab):
    """Redis stays connected but refuses writes (maxmemory, noeviction):
    the alert goes to the spool; once Redis takes writes again it is
    moved in by the spool's own retries, with its timers, without waiting
    for a reconnect that never comes (it used to wait for one)."""
    env, spool, recs, relay, r = escalating_spool_stack(lab)
    prefix = env.redis["prefix"]
    harness.wait_until(lambda: redis_connects(relay) == 3, 10,
                       what="commands, dispatch and receipts connected")
    r("CONFIG", "SET", "maxmemory-policy", "noeviction")
    r("CONFIG", "SET", "maxmemory", "1")
    aid, relay_id = send(lab, env, "while redis refuses writes")
    assert relay_id.startswith("spool-"), relay_id
    for rid, rec in recs.items():
        harness.wait_until(lambda: aid in delivered_ids(rec), 15,
                           what="the spooled alert delivered to %s" % rid)
    time.sleep(2)  # attempts to move it fail while Redis refuses
    assert in_redis(r, env, aid) is None
    r("CONFIG", "SET", "maxmemory", "0")
    harness.wait_until(lambda: in_redis(r, env, aid) == "open", 10,
                       what="the spooled alert moved into Redis without a "
                       "reconnect")
    timers = r("ZRANGE", "%s:timers" % prefix, 0, -1)
    assert sorted(timers) == [aid + "|1", aid + "|x"], timers
    harness.wait_until(lambda: os.path.getsize(spool / "spool.log") == 0, 10,
                       what="the spool emptied")
    assert redis_connects(relay) == 3, "Redis was reconnected"
    log = relay.log()
    assert "spool: moving alert=%s into redis failed" % aid in log, log
    assert "spool: alert=%s moved into redis" % aid in log
    time.sleep(1)
    for rid, rec in recs.items():  # delivered once, from the spool
        assert len([a for a in rec.snapshot() if 200 <= a["status"] < 300
                    and a["json"]["alert_id"] == aid]) == 1, rid


def set_fsize(pid, soft, hard):
    """RLIMIT_FSIZE of the relay process.  Without CAP_SYS_RESOURCE only
    a process of the relay's own user may set it (it runs as env.relay's
    user when the tests run as root): a child of that user does."""
    status = open("/proc/%d/status" % pid).read()
    uid = int(status.split("\nUid:")[1].split()[0])
    gid = int(status.split("\nGid:")[1].split()[0])
    if uid == os.geteuid():
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
        return
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
            os._exit(0)
        except BaseException:
            os._exit(1)
    assert os.waitpid(child, 0)[1] == 0, "prlimit as uid %d failed" % uid


@pytest.mark.hard_timeout(120)
def test_torn_spool_write_is_cut_off(lab):
    """A write to the spool that stops part way through its line (here at
    the relay's file size limit, RLIMIT_FSIZE, set just past the end of the
    file: a short write, then EFBIG) is cut off again: the device hears
    unavailable, the relay lives on (SIGXFSZ is ignored), and the alerts
    accepted next are whole after a restart.  The old code left the half
    line: the next write past the limit killed it (SIGXFSZ), and without a
    limit (a full disk) the next record was glued to the half line and
    both were skipped at the next start."""
    env, spool = spool_env(lab)
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    redis = lab.redis(env)
    relay = lab.relay(env)
    path = spool / "spool.log"
    redis.kill()
    first, relay_id = send(lab, env, "before the limit")
    assert relay_id.startswith("spool-"), relay_id
    for rid, rec in recs.items():
        harness.wait_until(lambda: first in delivered_ids(rec), 15,
                           what="the spooled alert delivered to %s" % rid)
    harness.wait_until(lambda: len(spool_records(spool)) == 1 + len(recs),
                       10, what="its deliveries recorded in the spool")
    size = path.stat().st_size
    pid = relay.proc.pid
    hard = resource.RLIM_INFINITY
    for l in open("/proc/%d/limits" % pid):
        if l.startswith("Max file size") and l.split()[4] != "unlimited":
            hard = int(l.split()[4])
    set_fsize(pid, size + 10, hard)
    rc, lines, err = lab.send(env, "--type", "panic", "--message", "torn",
                              "--timeout", "3")
    assert rc != 0 and not any(ACCEPTED_RX.match(l) for l in lines), lines
    assert relay.proc.running(), "the relay died at its file size limit"
    assert path.stat().st_size == size, "the half line is still there"
    harness.wait_until(lambda: "spool %s: writing" % path in relay.log(), 10,
                       what="the failed write logged")
    set_fsize(pid, hard, hard)
    rc, lines, err = lab.send(env, "--type", "panic", "--message",
                              "after the limit", "--timeout", "20")
    assert rc == 0, (lines, err)
    # the one refused before goes again from the outbox, then the new one
    accepted = [m.group(1) for m in map(ACCEPTED_RX.match, lines) if m]
    assert len(accepted) == 2, lines
    relay.kill9()
    relay.restart(wait_redis=False)
    redis.start()
    r = harness.Resp(env.redis_port)
    for aid in [first] + accepted:
        harness.wait_until(lambda: in_redis(r, env, aid), 20,
                           what="alert %s moved into Redis" % aid)
    assert "lines skipped" not in relay.log()


@pytest.mark.hard_timeout(90)
def test_torn_last_line_is_cut_off_at_start(lab):
    """The relay (or the host) stopped in the middle of a write: the last
    line of the spool has no newline.  At the next start it is skipped
    and cut off the file, so the next alert accepted into the spool is
    not glued to it (and lost at the start after)."""
    env, spool = spool_env(lab)
    redis = lab.redis(env)
    relay = lab.relay(env)
    path = spool / "spool.log"
    redis.kill()
    relay.kill9()
    path.write_bytes(b'{"op":"alert","args":{"aid":"0123456789abcdef0123')
    relay.restart(wait_redis=False)
    relay.proc.wait_for(r"1 lines skipped \(torn or damaged\)", "stderr", 10)
    aid, relay_id = send(lab, env, "after a torn line")
    assert relay_id.startswith("spool-"), relay_id
    relay.kill9()
    relay.restart(wait_redis=False)
    redis.start()
    r = harness.Resp(env.redis_port)
    harness.wait_until(lambda: in_redis(r, env, aid), 20,
                       what="the alert moved into Redis")
    # a line after the start's spool scan, before counting
    relay.proc.wait_for(r"spool: alert=%s moved into redis" % aid, "stderr", 10)
    assert relay.log().count("lines skipped") == 1


@pytest.mark.hard_timeout(150)
def test_spooled_alerts_redis_refuses_to_take(lab):
    """Redis answers the move of a spooled alert with 'noref' (each of its
    candidate references taken) or 'conflict' (another alert with its id
    and a different envelope).  The first is tried again, with fresh
    references, and reaches Redis with its timers; the second cannot
    ever: it stays in the spool file through compaction and a restart,
    logged as an error and counted in alertrelay_spool_refused.  The old
    code marked both moved and dropped them with the file.  Redis refuses
    the relay's scripts meanwhile by ACL, the connection staying up."""
    env, spool, recs, relay, r = escalating_spool_stack(lab)
    prefix = env.redis["prefix"]
    r("ACL", "SETUSER", "default", "-@scripting")
    noref = send(lab, env, "its references are taken")
    conflict = send(lab, env, "its id is taken")
    fine = send(lab, env, "nothing in its way")
    assert all(relay_id.startswith("spool-")
               for _, relay_id in (noref, conflict, fine))
    noref, conflict, fine = noref[0], conflict[0], fine[0]
    args = {rec["args"]["aid"]: rec["args"] for rec in spool_records(spool)
            if rec["op"] == "alert"}
    taken = args[noref]["refs"]
    for c in taken:
        r("SET", "%s:ref:%s" % (prefix, c), "f" * 32)
    r("HSET", "%s:alert:%s" % (prefix, conflict), "envelope_hash", "0" * 64)
    r("ACL", "SETUSER", "default", "+@all")
    for aid in (noref, fine):
        harness.wait_until(lambda: in_redis(r, env, aid) == "open", 15,
                           what="alert %s moved into Redis" % aid)
    assert r("HGET", "%s:alert:%s" % (prefix, noref), "ref") not in taken
    timers = r("ZRANGE", "%s:timers" % prefix, 0, -1)
    assert {noref + "|1", fine + "|1"} <= set(timers), timers
    assert in_redis(r, env, conflict) is None
    harness.wait_until(
        lambda: {rec.get("aid") or rec["args"]["aid"]
                 for rec in spool_records(spool)} == {conflict}, 10,
        what="the spool compacted to the alert Redis refused")
    kept = spool_records(spool)
    assert [rec["op"] for rec in kept] == ["alert"] + ["done"] * len(recs)
    log = relay.log()
    assert ("spool: moving alert=%s into redis failed" % noref in log and
            "no free reference" in log), log
    assert "error: spool: alert=%s refused by redis" % conflict in log, log
    assert metric(env, "alertrelay_spool_refused") == 1
    assert relay.proc.running()
    relay.kill9()
    relay.restart()
    relay.proc.wait_for(r"error: spool: alert=%s refused by redis" % conflict,
                        "stderr", 15)
    assert spool_records(spool) == kept
    assert metric(env, "alertrelay_spool_refused") == 1
    for rid, rec in recs.items():  # each delivered once, from the spool
        got = [a["json"]["alert_id"] for a in rec.snapshot()
               if 200 <= a["status"] < 300]
        assert sorted(got) == sorted((noref, conflict, fine)), (rid, got)
