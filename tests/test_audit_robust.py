"""The audit log when things go wrong (issue 15; docs/PRIVACY.md "The
audit log"), against a real alertrelayd and redis-server:

- Redis SIGKILLed (by PID) while refused requests make records, then
  started again: every record reaches Redis, in order, and the chain
  verifies there and in the file, with nothing dropped;
- the chain's head cannot be read (its key holds the wrong type, as a
  broken or restoring Redis answers): the relay says so and reads it
  again every second, and the records made meanwhile join the chain
  once it can;
- more than AUDIT_WAITING_MAX (4096) records waiting for the head: the
  rest are dropped, said in the relay's log, counted in
  alertrelay_audit_records_dropped_total and by an audit.dropped record
  in the chain;
- the file's last line torn (a crash while writing): after a restart
  the next record starts on a line of its own, and verify names the
  torn record instead of the chain going on joined to it;
- a second relay started with the same instance_id on the same Redis:
  the first one's records, numbered like the second's, are not added,
  and it says why (log, alertrelay_audit_records_refused_total); before,
  they were skipped without a word.

Before: the head was read once per Redis connection (a failed read
waited for a reconnect that never came, so nothing reached Redis), up
to 100000 records waited for it, a drop was said nowhere, and a
restarted relay appended its first record to the torn line."""

import http.client
import json
import re
import signal
import time

import pytest

import harness
from harness import wait_until
from test_audit import INST, PFX, Stack

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

LAST_KEY = PFX + "audit:last:" + INST
WAITING_MAX = 4096


class RobustStack(Stack):
    """test_audit's stack, with no connection rate on the admin listener:
    the tests make thousands of records by refused requests, and the
    admin listener takes one request per connection."""

    def start_admin(self, lab, env, sections=""):
        super().start_admin(lab, env, "conn_rate = 0\n" + sections)


def refused_requests(st, n):
    """n admin requests with a wrong token, each an admin.request
    record (result refused)."""
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", st.admin_port,
                                       timeout=10)
        try:
            c.request("GET", "/audit?count=1", headers={
                "Authorization": "Bearer " + "x" * 43})
            r = c.getresponse()
            r.read()
            assert r.status == 401, r.status
        finally:
            c.close()


def refused_in_redis(st):
    return sum(1 for _, line in st.records()
               if json.loads(line)["action"] == "admin.request" and
               json.loads(line)["result"] == "refused")


def metric(st, name):
    c = http.client.HTTPConnection("127.0.0.1", st.admin_port, timeout=10)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def verify_ok(st, *extra):
    cp = st.verify(*extra)
    assert cp.returncode == 0 and "audit verify: OK" in cp.stdout, \
        cp.stdout + cp.stderr
    return cp.stdout


def stop_relay(st):
    st.relay.proc.signal(signal.SIGTERM)
    assert st.relay.proc.wait_exit(15) == 0, st.relay.proc.tail()


def start_relay(st):
    st.relay.start()
    st.relay.proc.wait_for(r"admin listening", timeout=10)


@pytest.mark.hard_timeout(120)
def test_redis_killed_while_records_are_made_chain_verifies(lab):
    st = RobustStack(lab)
    refused_requests(st, 10)
    wait_until(lambda: refused_in_redis(st) == 10, 10, what="10 records")
    st.redis.kill()
    refused_requests(st, 30)
    st.relay.proc.wait_for(r"redis commands: cannot connect", timeout=10)
    time.sleep(1.5)  # reconnects tried against a Redis that is not there
    st.redis.start()
    wait_until(lambda: refused_in_redis(st) == 40, 20,
               what="the 30 records made while Redis was down")
    verify_ok(st)
    assert metric(st, "alertrelay_audit_records_dropped_total") == 0
    # a batch sent again after its answer was lost is not another writer
    assert metric(st, "alertrelay_audit_records_refused_total") == 0
    stop_relay(st)
    seqs = [json.loads(line)["seq"] for _, line in st.records()]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    lines = st.file.read_text().splitlines()
    assert lines == [line for _, line in st.records()]
    cp = st.ctl("audit", "verify", "--public-key", st.pub_b64, "--file",
                str(st.file), admin=False)
    assert cp.returncode == 0 and "audit verify: OK" in cp.stdout, \
        cp.stdout + cp.stderr
    assert "dropped" not in st.relay.log()


def break_head(st):
    """The chain's head key made unreadable (WRONGTYPE); returns what
    it held."""
    r = st.r()
    last = r("GET", LAST_KEY)
    assert last, "no head to break"
    r("DEL", LAST_KEY)
    r("HSET", LAST_KEY, "broken", "1")
    return last


def mend_head(st, last):
    r = st.r()
    r("DEL", LAST_KEY)
    r("SET", LAST_KEY, last)


@pytest.mark.hard_timeout(120)
def test_head_read_failure_is_retried_every_second(lab):
    st = RobustStack(lab)
    refused_requests(st, 5)
    wait_until(lambda: refused_in_redis(st) == 5, 10, what="5 records")
    stop_relay(st)
    head = json.loads(st.r()("GET", LAST_KEY))["seq"]
    last = break_head(st)
    start_relay(st)
    st.relay.proc.wait_for(r"audit: reading the chain's head: .*trying "
                           r"again every second", timeout=10)
    refused_requests(st, 7)
    time.sleep(2.5)  # several failed reads, said once
    log = st.relay.proc.text("stderr")
    assert log.count("reading the chain's head") == 1, log
    assert refused_in_redis(st) == 5
    mend_head(st, last)
    st.relay.proc.wait_for(r"audit: chain instance=%s continues after "
                           r"record %d" % (INST, head), timeout=5)
    wait_until(lambda: refused_in_redis(st) == 12, 10,
               what="the 7 records made while the head was unreadable")
    verify_ok(st)
    assert metric(st, "alertrelay_audit_records_dropped_total") == 0


@pytest.mark.hard_timeout(150)
def test_records_waiting_for_the_head_are_bounded_and_counted(lab):
    st = RobustStack(lab)
    refused_requests(st, 2)
    wait_until(lambda: refused_in_redis(st) == 2, 10, what="2 records")
    stop_relay(st)
    last = break_head(st)
    start_relay(st)
    st.relay.proc.wait_for(r"audit: reading the chain's head", timeout=10)
    extra = 60
    refused_requests(st, WAITING_MAX + extra)
    st.relay.proc.wait_for(r"audit: %d records wait for the chain's head "
                           r"in Redis; further records are dropped"
                           % WAITING_MAX, timeout=5)
    dropped = metric(st, "alertrelay_audit_records_dropped_total")
    # the relay's own start records waited too: at least `extra` dropped
    assert extra <= dropped <= extra + 20, dropped
    mend_head(st, last)
    st.relay.proc.wait_for(r"audit: %d records dropped while the chain's "
                           r"head was unknown" % dropped, timeout=10)
    wait_until(lambda: any(json.loads(line)["action"] == "audit.dropped"
                           for _, line in st.records()), 20,
               what="the audit.dropped record")
    rec, = [json.loads(line) for _, line in st.records()
            if json.loads(line)["action"] == "audit.dropped"]
    assert rec["reason"] == "n=%d before the chain's head was read" % \
        dropped, rec
    assert rec["result"] == "failed"
    verify_ok(st)


@pytest.mark.hard_timeout(120)
def test_a_torn_last_line_is_not_joined_to_the_next_record(lab):
    st = RobustStack(lab)
    refused_requests(st, 6)
    wait_until(lambda: refused_in_redis(st) == 6, 10, what="6 records")
    stop_relay(st)
    data = st.file.read_bytes()
    lines = data.decode().splitlines()
    torn_seq = json.loads(lines[-1])["seq"]
    # a crash in the middle of writing the last record
    st.file.write_bytes(data[:len(data) - len(lines[-1]) // 2 - 1])
    start_relay(st)
    st.relay.proc.wait_for(r"audit file .*: its last line is cut off",
                           timeout=10)
    refused_requests(st, 3)
    wait_until(lambda: refused_in_redis(st) == 9, 10, what="3 more")
    stop_relay(st)

    after = st.file.read_text().splitlines()
    assert after[:len(lines) - 1] == lines[:-1]
    torn = after[len(lines) - 1]
    assert lines[-1].startswith(torn) and torn != lines[-1], torn
    rest = [json.loads(x) for x in after[len(lines):]]
    assert [r["seq"] for r in rest] == list(
        range(torn_seq + 1, torn_seq + 1 + len(rest))), rest
    # Redis has the chain whole; the file names its torn record
    cp = st.ctl("audit", "verify", "--public-key", st.pub_b64, "--file",
                str(st.file), admin=False)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "FAILED at record %d: record %d: does not parse" % (
        torn_seq, torn_seq) in cp.stdout, cp.stdout
    assert "a torn line" in cp.stdout, cp.stdout
    start_relay(st)
    verify_ok(st)


@pytest.mark.hard_timeout(150)
def test_records_lost_at_exit_count_the_dropped_ones(lab):
    """Stopped while the head is still unreadable: the exit line counts
    every record lost, those waiting and those dropped beyond the bound
    (before: only those waiting)."""
    st = RobustStack(lab)
    refused_requests(st, 2)
    wait_until(lambda: refused_in_redis(st) == 2, 10, what="2 records")
    stop_relay(st)
    break_head(st)
    start_relay(st)
    st.relay.proc.wait_for(r"audit: reading the chain's head", timeout=10)
    refused_requests(st, WAITING_MAX + 30)
    st.relay.proc.wait_for(r"further records are dropped", timeout=15)
    dropped = metric(st, "alertrelay_audit_records_dropped_total")
    assert dropped >= 30, dropped
    stop_relay(st)
    m = re.search(r"audit: (\d+) records lost at exit",
                  st.relay.proc.text("stderr"))
    assert m, st.relay.proc.text("stderr")
    # the stop itself may make one more record, dropped too
    assert WAITING_MAX + dropped <= int(m.group(1)) <= \
        WAITING_MAX + dropped + 2, (m.group(0), dropped)


@pytest.mark.hard_timeout(90)
def test_a_second_relay_with_the_same_instance_id_is_said(lab):
    """Relay B starts with A's instance_id and goes on from the chain's
    head in Redis; A's next record carries a number B has already used,
    so Redis keeps B's: A says so, counts it, and says it once, not once
    per batch.  (Once A's numbers pass B's, its records are added again,
    and verify finds the chain broken there: two writers of one chain.)"""
    st = RobustStack(lab)
    refused_requests(st, 2)
    wait_until(lambda: refused_in_redis(st) == 2, 10, what="2 records")
    other = lab.relay(st.env.another_instance(INST))
    other.proc.wait_for(r"audit: chain instance=%s continues" % INST,
                        timeout=10)
    n_b = len(st.records())
    wait_until(lambda: len(st.records()) > n_b or
               json.loads(st.records()[-1][1])["action"] != "admin.request",
               10, what="relay B's first records in Redis")
    refused_requests(st, 1)
    st.relay.proc.wait_for(r"another relay runs with this instance_id",
                           timeout=10)
    assert metric(st, "alertrelay_audit_records_refused_total") >= 1
    assert refused_in_redis(st) == 2, "A's record is not in B's chain"
    refused_requests(st, 5)
    wait_until(lambda: refused_in_redis(st) > 2, 10,
               what="A's records past B's numbers")
    assert st.relay.log().count("another relay runs with this "
                                "instance_id") == 1
    assert "another relay" not in other.log()
    assert st.verify().returncode != 0

