"""A check-in is answered only once Redis replicas hold it (docs/PROTOCOL.md,
"Check-in timers"): with [redis] min_replicas, start, extend and done wait
for the replicas as an alert does, so a failover cannot drop a check-in the
device was told is set.  Real redis-server processes (a master, later a
replica), the real relay and alertctl."""

import pytest

import harness
from test_sentinel import start_replica

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def checkin(lab, env, *args, timeout=30):
    argv = [harness.alertctl_bin(), "-c", env.client_conf,
            "checkin"] + [str(a) for a in args]
    cp = harness.run(argv, timeout=timeout)
    lab.short_runs.append((argv, cp.stderr))
    return cp


@pytest.mark.hard_timeout(90)
def test_checkin_waits_for_replicas(lab):
    env = lab.env()
    env.redis["min_replicas"] = 1
    env.redis["timeout"] = 1
    env.write_relay_conf()
    lab.redis(env)
    relay = lab.relay(env)
    # no replica: the start is not confirmed, the person is told so
    cp = checkin(lab, env, "start", "--minutes", "30", "--message",
                 "huisbezoek", "--timeout", "6")
    assert cp.returncode != 0, cp.stdout + cp.stderr
    assert "checkin_id=" not in cp.stdout
    relay.proc.wait_for(r"checkin start checkin=[0-9a-f]{32} device=\S+: not on "
                   r"enough replicas", timeout=5)
    # a replica comes: the device, which kept the check-in as possibly
    # set, can end it, and is told so once the replica has the end too
    start_replica(lab, env, env.redis_port)
    cp = checkin(lab, env, "done", "--timeout", "10")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    relay.proc.wait_for(r"checkin done checkin=[0-9a-f]{32} device=\S+ "
                   r"result=ok", timeout=5)
