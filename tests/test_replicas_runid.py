"""[redis] min_replicas behind a TCP proxy that moves new sessions to
another master and keeps the old ones where they were: the relay's
commands connection and its WAIT connection name one address and reach
two servers.  A WAIT there counts the other server's replicas, of writes
it never had; the relay tells the two apart by each connection's run_id
(INFO server, taken at connect) and answers "unavailable" until both are
on one server (docs/RELIABILITY.md, "run_id").  Real redis-server
processes (two masters, a replica of each), the real relay and alertctl,
and a small proxy in this file."""

import re
import socket
import threading

import pytest

import harness
from helpers import parse_send, pipe, shut
from test_replicas_wait import stopped
from test_sentinel import start_replica

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

ALERT = "alertrelay:alert:%s"
MISMATCH = ("alert not on enough replicas: "
            "the connection for WAIT is not on the master")


class SwitchProxy:
    """A TCP proxy on 127.0.0.1 whose target can be switched: a session
    stays on the server it was opened to, new sessions go to the target
    of the moment (as a proxy that drains its old sessions after a
    failover).  stop() ends it and every session (Lab.close calls it)."""

    def __init__(self, target):
        self.target = target
        self.port = harness.free_port()
        self.lsock = socket.create_server(("127.0.0.1", self.port))
        self.lsock.settimeout(0.1)
        self.lock = threading.Lock()
        self.socks = []
        self.sessions = []  # the target of each session, in order
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def switch(self, target):
        with self.lock:
            self.target = target

    def sessions_to(self, target):
        with self.lock:
            return self.sessions.count(target)

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            with self.lock:
                target = self.target
            try:
                b = socket.create_connection(("127.0.0.1", target), timeout=5)
            except OSError:
                c.close()
                continue
            b.settimeout(None)
            with self.lock:
                if self.closed:
                    c.close()
                    b.close()
                    return
                self.socks += [c, b]
                self.sessions.append(target)
            for src, dst in ((c, b), (b, c)):
                threading.Thread(target=pipe, args=(src, dst),
                                 daemon=True).start()

    def stop(self):
        with self.lock:
            self.closed = True
            socks, self.socks = self.socks, []
        self.thread.join(5)
        self.lsock.close()
        shut(socks)
        for s in socks:
            s.close()


def wait_clients(port):
    """Ids of the clients of the Redis on port whose last command was
    WAIT: the relay's WAIT connection (it sends PUBLISH, WAIT, nothing
    else, once it took an alert)."""
    return [int(m.group(1)) for m in re.finditer(
        r"^id=(\d+) .*\bcmd=wait\b", harness.Resp(port)("CLIENT", "LIST"),
        re.M)]


@pytest.mark.hard_timeout(120)
def test_wait_on_another_server_behind_one_address_is_not_counted(lab):
    """The relay goes through the proxy to master A (a replica); the
    proxy is switched to master B (a replica of its own) and A kills the
    relay's WAIT connection alone, which comes back on B while the
    commands connection stays on A.  A's replica is stopped: an alert
    now reaches A and no replica of A, and only B's replica would answer
    a WAIT.  The relay does not say "accepted" (it logs why, and alertctl
    is told to try again); A's replica back and the proxy on A again,
    the WAIT connection (sent to reconnect at each mismatch) comes back
    to A, and alertctl's retry is accepted: the alert on A and its
    replica, never on B.  Without the run_id comparison both connections
    are "127.0.0.1:proxy", the WAIT on B counts B's replica, and the
    alert is accepted while no replica of A has it."""
    env = lab.env()
    lab.redis(env)
    a = env.redis_port
    a_replica = start_replica(lab, env, a)
    b_server = harness.RedisServer(lab.tmp, name="redis-b")
    lab.things.append(b_server)
    b = b_server.start().port
    b_replica = start_replica(lab, env, b, name="replica-b")
    proxy = SwitchProxy(a)
    lab.things.append(proxy)
    env.redis["address"] = "127.0.0.1:%d" % proxy.port
    env.redis["min_replicas"] = 1
    env.redis["timeout"] = 1
    env.write_relay_conf()
    relay = lab.relay(env)
    relay.proc.wait_for(r"redis connected \(replicas\)", "stderr", 10)

    # through the proxy to A, an alert is accepted once A's replica has
    # it; that leaves the relay's WAIT connection on A last at WAIT
    rc, lines, err = lab.send(env, "--type", "panic", "--message", "before",
                              "--timeout", "20")
    first, acc = parse_send(lines)
    assert rc == 0 and acc, (rc, lines, err)
    assert harness.Resp(a_replica)("HGET", ALERT % first, "state") == "open"
    (wait_id,) = wait_clients(a)

    # new sessions to B; A drops the WAIT connection alone, which
    # connects again, through the proxy, to B
    proxy.switch(b)
    seen = len(relay.proc.snapshot("stderr"))
    harness.Resp(a)("CLIENT", "KILL", "ID", wait_id)
    relay.proc.wait_for(r"redis connected \(replicas\)", "stderr", 10,
                        start=seen)
    assert proxy.sessions_to(b) == 1, proxy.sessions
    assert not wait_clients(a)

    def mismatches():
        return relay.log().count(MISMATCH)

    with stopped(a_replica):
        p = lab.send_proc(env, "--type", "panic", "--message", "split",
                          "--timeout", "60")

        def answered():
            out = p.snapshot("stdout")
            return mismatches() >= 2 or (out and parse_send(out)[1])

        # at least twice: alertctl tries again, and is told so again
        harness.wait_until(answered, 30,
                           what="the relay's answer to the split alert")
        aid, acc = parse_send(p.snapshot("stdout"))
        assert not acc, "accepted on B's replica: %s\n%s" % (
            p.snapshot("stdout"), relay.log()[-3000:])
        assert p.running(), p.tail()
        # the commands went to A, and only there
        assert harness.Resp(a)("HGET", ALERT % aid, "state") == "open"
        assert harness.Resp(b)("EXISTS", ALERT % aid) == 0
        # and the log says so: stored, not confirmed (not "not stored")
        assert ("alert alert=%s device=%s stored on the master, not "
                "confirmed: not on enough replicas" % (aid, env.device_id)
                in relay.log()), relay.log()[-3000:]
        # the WAIT connection was sent to connect again, and did (to B)
        assert proxy.sessions_to(b) >= 2, proxy.sessions
    # A's replica and the proxy back: the WAIT connection, sent to
    # connect again at each mismatch, reaches A, and a retry is accepted
    proxy.switch(a)
    assert p.wait_exit(50) == 0, p.tail()
    aid2, acc = parse_send(p.snapshot("stdout"))
    assert aid2 == aid and acc, p.tail()
    assert harness.Resp(a_replica)("HGET", ALERT % aid, "state") == "open"
    assert harness.Resp(b)("EXISTS", ALERT % aid) == 0
    assert harness.Resp(b_replica)("EXISTS", ALERT % aid) == 0
    assert wait_clients(a), "the WAIT connection is not back on A"
    # the commands connection never left A
    assert relay.log().count("redis connected (commands)") == 1
