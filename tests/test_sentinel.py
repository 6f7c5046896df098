"""Redis high availability: alertrelayd finds the master through Redis
Sentinel and follows a failover in the middle of a stream of alerts
(issue 5).  Real redis-server processes: a master, a replica and a
sentinel (redis-server --sentinel)."""

import threading
import time

import pytest

import harness
from helpers import parse_send

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def start_replica(lab, env, master_port):
    # no 5 s pause before the first full sync
    harness.Resp(master_port)("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    d = env.dir / "replica"
    d.mkdir()
    port = harness.free_port()
    p = lab.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                   "--appendonly", "yes", "--appendfsync", "always",
                   "--save", "", "--dir", str(d), "--logfile", "",
                   "--replicaof", "127.0.0.1", str(master_port)],
                  "redis-replica")
    p.wait_for(r"MASTER <-> REPLICA sync: Finished with success", "stdout", 15)
    return port


def start_sentinel(lab, env, master_port):
    d = env.dir / "sentinel"
    d.mkdir()
    port = harness.free_port()
    conf = d / "sentinel.conf"
    conf.write_text("port %d\nbind 127.0.0.1\ndir %s\n"
                    "sentinel monitor mymaster 127.0.0.1 %d 1\n"
                    "sentinel down-after-milliseconds mymaster 1000\n"
                    "sentinel failover-timeout mymaster 5000\n"
                    % (port, d, master_port))
    p = lab.spawn(["redis-server", str(conf), "--sentinel"], "sentinel")
    p.wait_for(r"\+monitor master mymaster", "stdout", 10)
    return port


def master_port(sentinel_port):
    r = harness.Resp(sentinel_port)
    return int(r("SENTINEL", "get-master-addr-by-name", "mymaster")[1])


@pytest.mark.hard_timeout(120)
def test_failover_during_a_stream_of_alerts(lab):
    env = lab.env(delivery={"retry_max_ms": 1000})
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    lab.redis(env)
    replica = start_replica(lab, env, env.redis_port)
    sentinel = start_sentinel(lab, env, env.redis_port)
    env.redis["sentinels"] = "127.0.0.1:%d" % sentinel
    env.redis["master_name"] = "mymaster"
    env.redis["min_replicas"] = 1
    env.redis["address"] = "127.0.0.1:1"  # ignored: Sentinel decides
    env.write_relay_conf()
    relay = lab.relay(env)
    assert "master mymaster is at 127.0.0.1:%d" % env.redis_port in relay.log()

    accepted, failures = [], []
    failover = threading.Event()

    def stream():
        for i in range(20):
            if i == 5:
                failover.set()
            rc, lines, err = lab.send(env, "--type", "panic", "--message",
                                      "stream %d" % i, "--timeout", "40")
            aid, acc = parse_send(lines)
            (accepted if rc == 0 and acc else failures).append(aid)

    t = threading.Thread(target=stream)
    t.start()
    assert failover.wait(30)
    harness.Resp(sentinel)("SENTINEL", "FAILOVER", "mymaster")
    harness.wait_until(lambda: master_port(sentinel) == replica, 20,
                       what="sentinel promotes the replica")
    t.join(100)
    assert not t.is_alive()
    assert not failures, "not accepted: %s" % failures
    assert len(accepted) == 20
    harness.wait_until(
        lambda: "master mymaster is at 127.0.0.1:%d" % replica in relay.log(),
        20, what="the relay follows the failover")
    new = harness.Resp(replica)
    for aid in accepted:
        harness.wait_until(
            lambda: new("HGET", "alertrelay:alert:%s" % aid, "state"), 10,
            what="alert %s in the new master" % aid)
    for rid, rec in recs.items():
        harness.wait_until(
            lambda: set(accepted) <= {a["json"]["alert_id"] for a in
                                      rec.snapshot() if a["status"] == 200},
            30, what="every accepted alert delivered to %s" % rid)
