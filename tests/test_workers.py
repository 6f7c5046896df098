"""Several event loops: [relay] workers = N (issue 16, daemon/workers.h).

Real processes: redis-server, alertrelayd with workers = 2 (a parent and
two workers, each a relay instance of its own), Python webhook
recorders, device sessions over TLS 1.3.

- Sessions of many devices land on both workers (each worker's own
  /metrics, on the admin port + i); their alerts are accepted and each is
  delivered once to each recipient.
- A receipt reaches the device's session on the other worker.
- SIGKILL of one worker loses no accepted alert; the parent restarts it
  with the same instance id and devices connect to it again.
- SIGHUP and POST /reload reach every worker; SIGTERM to the parent stops
  everything and leaves no process behind.

Before this change [relay] workers was an unknown key and the relay
refused the configuration: every test here fails on that code."""

import os
import re
import signal
import time

import nacl.signing
import pytest

import harness
import proto
from harness import device_session, wait_until
from test_service import scrape, val

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

NDEVICES = 12


def children(pid):
    """PIDs whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # the command may hold spaces and parentheses: after the last ')'
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2:].split()[0] != "Z"


def worker_pids(relay):
    """{worker index: pid} of the workers started last, from the log."""
    pids = {}
    for m in re.finditer(r"worker (\d+) started: pid=(\d+)", relay.log()):
        pids[int(m.group(1))] = int(m.group(2))
    return pids


class Workers:
    """redis + alertrelayd with [relay] workers = n and an [admin]
    listener on consecutive ports (worker i on admin_port + i), webhook
    recorders for every recipient and NDEVICES extra devices."""

    def __init__(self, lab, n=2, delivery=None, **relay):
        relay = dict(relay, workers=n)
        self.env = env = lab.env(relay=relay, delivery=delivery)
        self.keys = {}
        for i in range(NDEVICES):
            k = nacl.signing.SigningKey.generate()
            did = "device-%02d" % i
            self.keys[did] = k
            env.extra_devices[did] = (proto.b64e(bytes(k.verify_key)),
                                      "Device %d" % i)
        env.write_relay_conf()
        self.admin_ports = harness.free_ports(n)
        self.token = harness.new_token()
        self.token_file = harness.write_secret(env.dir / "admin.token",
                                               self.token)
        with open(env.relay_conf, "a") as f:
            f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                    % (self.admin_ports[0], self.token_file))
        if os.geteuid() == 0:
            harness.hand_to_daemon_user(env.dir)
        self.recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
        self.redis = lab.redis(env)
        self.relay = lab.relay(env)
        self.n = n
        self.relay.proc.wait_for(r"all %d workers ready" % n, timeout=20)

    def session(self, did):
        return device_session(self.env, device_id=did,
                              signing_key=self.keys[did])

    def connected(self, i):
        s, _ = scrape(self.admin_ports[i])
        return int(val(s, "alertrelay_devices_connected"))

    def delivered(self, rid):
        """{alert_id: number of 2xx deliveries} at recipient rid."""
        out = {}
        for a in self.recs[rid].snapshot():
            if 200 <= a["status"] < 300 and a.get("json"):
                aid = a["json"].get("alert_id")
                out[aid] = out.get(aid, 0) + 1
        return out

    def wait_delivered(self, ids, timeout=30):
        for rid in self.env.recipients:
            wait_until(lambda: set(ids) <= set(self.delivered(rid)), timeout,
                       interval=0.2, what="%d alerts delivered to %s" % (
                           len(ids), rid))


def spread_sessions(w, per_device=2):
    """Sessions of every extra device, per_device each; returns them and
    how many each worker holds."""
    sessions = []
    for did in w.keys:
        for _ in range(per_device):
            sessions.append(w.session(did))
    counts = [w.connected(i) for i in range(w.n)]
    return sessions, counts


@pytest.mark.hard_timeout(120)
def test_two_workers_take_devices_and_deliver_once(lab):
    w = Workers(lab)
    pids = worker_pids(w.relay)
    assert sorted(pids) == [0, 1], pids
    assert sorted(children(w.relay.proc.pid)) == sorted(pids.values())
    # each worker is an instance of its own (the consumer name in Redis)
    log = w.relay.log()
    assert "started: instance=relay-a\n" in log + "\n", log
    assert "started: instance=relay-a-1" in log
    sessions, counts = spread_sessions(w)
    assert sum(counts) == len(sessions), counts
    # the kernel hashes connections over the workers' sockets: 24
    # sessions all on one worker would be 1 in 2^23
    assert all(c > 0 for c in counts), counts
    accepted = [s.send_alert("panic")["alert_id"] for s in sessions]
    assert len(set(accepted)) == len(sessions)
    w.wait_delivered(accepted)
    time.sleep(1)  # nothing delivered twice
    for rid in w.env.recipients:
        got = w.delivered(rid)
        assert all(got[a] == 1 for a in accepted), (rid, got)
    # both workers took deliveries from the group
    r = w.redis.client()
    consumers = {c[1] for c in r("XINFO", "CONSUMERS",
                                  "alertrelay:deliveries", "dispatch")}
    assert {"relay-a", "relay-a-1"} <= consumers, consumers
    for s in sessions:
        s.close()


@pytest.mark.hard_timeout(120)
def test_receipt_reaches_the_session_on_the_other_worker(lab):
    w = Workers(lab)
    did = "device-00"
    first = w.session(did)
    on = [w.connected(i) for i in range(w.n)]
    a = on.index(1)
    # more sessions of the same device until one is on the other worker
    others = []
    for _ in range(40):
        s = w.session(did)
        now = [w.connected(i) for i in range(w.n)]
        if now[1 - a] > on[1 - a]:
            other = s
            break
        others.append(s)
        on = now
    else:
        pytest.fail("40 sessions, all on worker %d" % a)
    acc = first.send_alert("panic")
    n = len(w.env.recipients)
    for s in (first, other):
        wait_until(lambda: len(s.receipts(acc["alert_id"], "delivered")) >= n
                   or s.drain(0.2) is None, 20, interval=0,
                   what="delivered receipts on both workers")
        got = s.receipts(acc["alert_id"], "delivered")
        assert len(got) == n, got
    for s in [first, other] + others:
        s.close()


@pytest.mark.hard_timeout(150)
def test_killed_worker_loses_nothing_and_is_restarted(lab):
    w = Workers(lab, delivery={"claim_idle_ms": 60000,
                               "retry_initial_ms": 300, "retry_max_ms": 600})
    for rec in w.recs.values():
        rec.default = 500  # every delivery stays pending, retried
    pids = worker_pids(w.relay)
    sessions, counts = spread_sessions(w)
    assert all(c > 0 for c in counts), counts
    accepted = [s.send_alert("panic")["alert_id"] for s in sessions]
    for rec in w.recs.values():
        rec.wait_attempts(len(accepted), timeout=20)
    # worker 1 holds some of the deliveries when it is killed
    held = w.redis.client()("XPENDING", "alertrelay:deliveries",
                            "dispatch")[3] or []
    assert "relay-a-1" in [c[0] for c in held], held
    victim = pids[1]
    mark = len(w.relay.proc.snapshot("stderr"))
    os.kill(victim, signal.SIGKILL)
    w.relay.proc.wait_for(r"worker 1 died: pid=%d signal=9; restarting in "
                          r"\d+ ms" % victim, timeout=10, start=mark)
    m = w.relay.proc.wait_for(r"worker 1 started: pid=(\d+)", timeout=10,
                              start=mark)
    new = int(m.group(1))
    assert new != victim and alive(new)
    assert alive(pids[0]), "worker 0 untouched"
    assert sorted(children(w.relay.proc.pid)) == sorted([pids[0], new])
    for rec in w.recs.values():
        rec.default = 200
    # every accepted alert delivered once, the killed worker's too: its
    # restart has the same consumer name and takes its pending entries
    # back (claim_idle_ms is far off, so worker 0 did not take them)
    w.wait_delivered(accepted, timeout=40)
    for rid in w.env.recipients:
        got = w.delivered(rid)
        assert all(got[a] == 1 for a in accepted), (rid, got)
    # logged once the receiver answered, after it recorded the request
    w.relay.proc.wait_for(r"alertrelayd\[%d\]: info: delivery .* result=ok"
                          % new, timeout=10)
    # the devices on the killed worker lost their sessions; new ones land
    # on both workers again and are accepted
    again, counts = [], [0, 0]
    deadline = time.monotonic() + 20
    while not all(counts) and time.monotonic() < deadline and len(again) < 60:
        again.append(w.session("device-%02d" % (len(again) % NDEVICES)))
        counts = [w.connected(i) for i in range(w.n)]
    assert counts[1] > 0, "no session on the restarted worker: %s" % counts
    more = [s.send_alert("panic")["alert_id"] for s in again]
    w.wait_delivered(more)
    for s in sessions + again:
        s.close()


@pytest.mark.hard_timeout(90)
def test_reload_reaches_every_worker_and_sigterm_stops_all(lab):
    w = Workers(lab)
    pids = worker_pids(w.relay)
    # SIGHUP to the parent: each worker reloads
    w.relay.proc.signal(signal.SIGHUP)
    wait_until(lambda: w.relay.log().count("configuration reloaded") >= 2,
               10, what="both workers reloaded")
    # POST /reload on worker 1's admin port: it and then worker 0
    cp = harness.run([harness.alertctl_bin(), "reload", "--admin",
                      "127.0.0.1:%d" % w.admin_ports[1], "--token-file",
                      str(w.token_file)], timeout=20)
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    wait_until(lambda: w.relay.log().count("configuration reloaded") >= 4,
               10, what="both workers reloaded again")
    time.sleep(0.5)  # and no more: worker 1 is not reloaded twice
    assert w.relay.log().count("configuration reloaded") == 4
    # SIGTERM: the parent and both workers exit, nothing left
    w.relay.proc.signal(signal.SIGTERM)
    assert w.relay.proc.wait_exit(20) == 0
    for p in pids.values():
        wait_until(lambda: not alive(p), 5, what="worker %d gone" % p)
    assert "worker 0 exited: status=0" in w.relay.log()
    assert "worker 1 exited: status=0" in w.relay.log()


@pytest.mark.hard_timeout(90)
def test_systemd_hears_the_parent_for_all_workers(lab):
    """READY=1 once every worker is ready (Redis up), from the parent's
    PID; WATCHDOG=1 only while every worker's loop answers; STOPPING=1
    and a clean exit on SIGTERM."""
    from test_service import NotifySocket
    env = lab.env(relay={"workers": 2})
    ns = NotifySocket()
    lab.things.append(ns)
    p = harness.Proc([harness.alertrelayd_bin(), "-f", "-c", env.relay_conf],
                     "alertrelayd-notify", lab.logdir,
                     env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
    lab.things.append(p)
    p.start()
    p.wait_for(r"worker 1 started", timeout=15)
    wait_until(lambda: len(ns.has("WATCHDOG=1")) >= 2, 5,
               what="WATCHDOG=1 while waiting for redis")
    assert not ns.has("READY=1"), ns.snapshot()
    lab.redis(env)
    wait_until(lambda: ns.has("READY=1"), 15, what="READY=1")
    assert len(ns.has("READY=1")) == 1
    p.wait_for(r"all 2 workers ready", timeout=15)
    assert any(m.startswith("STATUS=") and "2 workers" in m
               for _, m in ns.snapshot()), ns.snapshot()
    # one worker's loop stopped: no WATCHDOG=1 for the whole service
    w1 = int(p.wait_for(r"worker 1 started: pid=(\d+)").group(1))
    os.kill(w1, signal.SIGSTOP)
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        time.sleep(1.0)
        assert not [t for t in ns.has("WATCHDOG=1") if t >= t0], \
            "WATCHDOG=1 while worker 1 is stopped"
    finally:
        os.kill(w1, signal.SIGCONT)
    t1 = time.monotonic()
    wait_until(lambda: [t for t in ns.has("WATCHDOG=1") if t >= t1], 5,
               what="WATCHDOG=1 again")
    p.signal(signal.SIGTERM)
    assert p.wait_exit(20) == 0, p.tail()
    # sent before the exit; the socket is read on a thread of its own
    wait_until(lambda: ns.has("STOPPING=1"), 10, what="STOPPING=1")
    wait_until(lambda: not alive(w1), 5, what="worker 1 gone")
