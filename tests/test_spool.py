"""Redis down: alerts are still accepted (into the local spool, fsynced),
delivered directly, and moved into Redis when it is back (issue 5,
docs/RELIABILITY.md)."""

import os
import time
import urllib.request

import pytest

import harness
from helpers import parse_send

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def spool_env(lab, **kw):
    env = lab.env(**kw)
    spool = env.dir / "spool"
    spool.mkdir()
    env.relay["spool_dir"] = spool
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
    assert "moved into redis" in relay.log()
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
