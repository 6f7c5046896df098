"""The audit records of a relay stopped (SIGTERM) at once after it is
ready, against a real alertrelayd, redis-server and `alertctl audit
verify`: its relay.start and relay.stop records, and every record
between, are in the [audit] file (synced) and in Redis when it exits,
and both chains verify.

Before the fix a relay stopped before Redis had answered its read of
the chain's head (script_audit_load) exited with its records still
waiting for it, unnumbered: neither the file nor Redis had them, and
only the relay's log said "records lost at exit"."""

import json
import signal

import pytest

import harness

from test_audit_robust import (RobustStack, start_relay, stop_relay,
                               verify_ok)

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

ROUNDS = 6


def actions(lines):
    return [json.loads(line)["action"] for line in lines]


@pytest.mark.hard_timeout(180)
def test_stop_at_once_after_ready_keeps_start_and_stop_records(lab):
    st = RobustStack(lab)
    stop_relay(st)
    for n in range(ROUNDS):
        # ready: both Redis connections up (harness.wait_redis_ready)
        st.relay.start()
        st.relay.proc.signal(signal.SIGTERM)
        assert st.relay.proc.wait_exit(15) == 0, st.relay.proc.tail()
        # read as the relay left it: nothing started since writes to it
        in_file = st.file.read_text().splitlines()
        in_redis = [line for _, line in st.records()]
        where = "round %d:\n%s" % (n, st.relay.proc.tail())
        assert actions(in_file).count("relay.start") == n + 2, where
        assert actions(in_file).count("relay.stop") == n + 2, where
        assert in_redis == in_file, where
        assert "lost at exit" not in st.relay.log(), where
    assert actions(in_file)[-1] == "audit.signed"
    seqs = [json.loads(line)["seq"] for line in in_file]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    cp = st.ctl("audit", "verify", "--public-key", st.pub_b64, "--file",
                str(st.file), admin=False)
    assert cp.returncode == 0 and "audit verify: OK" in cp.stdout, \
        cp.stdout + cp.stderr
    start_relay(st)  # verify reads Redis's chain through its admin listener
    verify_ok(st)


@pytest.mark.hard_timeout(120)
def test_stop_with_redis_away_since_start_keeps_records_in_the_file(lab):
    """Redis down from the relay's start to its stop: the chain's head
    was never read, so its records go on from the file's last one, to
    the file (relay.start, relay.stop and the signed head); the next
    start with Redis there sends them to Redis, and both chains verify.
    Before the fix they were lost ("records lost at exit")."""
    st = RobustStack(lab)
    stop_relay(st)
    before = st.file.read_text().splitlines()
    st.redis.stop()
    st.relay.start(wait_redis=False)
    st.relay.proc.wait_for(r"redis commands: cannot connect", timeout=10)
    stop_relay(st)
    log = st.relay.proc.text("stderr")
    assert "lost at exit" not in log, log
    in_file = st.file.read_text().splitlines()
    added = in_file[len(before):]
    assert actions(added) == ["relay.start", "relay.stop", "audit.signed"], \
        actions(added)
    st.redis.start()
    start_relay(st)
    st.relay.proc.wait_for(r"records \d+\.\.\d+ were in the file only; "
                           r"sent to Redis now", timeout=10)
    harness.wait_until(
        lambda: [line for _, line in st.records()][:len(in_file)] == in_file,
        10, what="the file's records in Redis")
    verify_ok(st)
    cp = st.ctl("audit", "verify", "--public-key", st.pub_b64, "--file",
                str(st.file), admin=False)
    assert cp.returncode == 0 and "audit verify: OK" in cp.stdout, \
        cp.stdout + cp.stderr
