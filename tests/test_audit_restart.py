"""Audit numbers after a stop while Redis was away (review of the life
cycle, finding 3; docs/SECURITY.md, "a missing number is always
named").  A relay stopped cleanly during a Redis outage has records in
its [audit] file that Redis never got (the refusals, relay.stop, the
signed head).  Started again, it sends them to Redis and goes on after
the file's last number; when the file's records do not follow Redis's
last one, an audit.gap record names the numbers Redis will not have.
Real alertrelayd, redis-server and alertctl audit verify.

Before the fix the restarted relay went on from Redis's last number: the
file's records were named nowhere, their numbers were given out again,
and the file held two chains (verify --file failed there for good)."""

import json
import time

import pytest

from harness import wait_until
from test_audit_robust import (RobustStack, refused_in_redis, verify_ok,
                               refused_requests, start_relay, stop_relay)

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def seqs_redis(st):
    return [json.loads(line)["seq"] for _, line in st.records()]


def seqs_file(st):
    return [json.loads(line)["seq"]
            for line in st.file.read_text().splitlines()]


def the_gap(st):
    """The one audit.gap record in Redis, waited for."""
    def gaps():
        return [json.loads(x) for _, x in st.records()
                if json.loads(x)["action"] == "audit.gap"]
    wait_until(gaps, 10, what="an audit.gap record in Redis")
    (g,) = gaps()
    return g


def stopped_while_redis_away(st):
    """4 refusals in Redis, then Redis killed, 3 more and a clean stop:
    the number of Redis's last record before the outage."""
    refused_requests(st, 4)
    wait_until(lambda: refused_in_redis(st) == 4, 10, what="4 in Redis")
    time.sleep(0.3)
    last = seqs_redis(st)[-1]
    st.redis.kill()
    refused_requests(st, 3)
    time.sleep(0.3)
    stop_relay(st)
    assert seqs_file(st)[-1] > last + 3  # the refusals, relay.stop, head
    st.redis.start()
    return last


@pytest.mark.hard_timeout(120)
def test_records_in_the_file_only_reach_redis_and_no_number_twice(lab):
    st = RobustStack(lab)
    stopped_while_redis_away(st)
    file_before = st.file.read_text().splitlines()
    start_relay(st)
    refused_requests(st, 3)
    wait_until(lambda: refused_in_redis(st) == 10, 10, what="10 in Redis")
    stop_relay(st)
    start_relay(st)
    redis, file = seqs_redis(st), seqs_file(st)
    assert redis == list(range(1, len(redis) + 1)), redis
    assert file == list(range(1, len(file) + 1)), file
    # Redis holds the file's lines as they were written
    lines = [line for _, line in st.records()]
    assert lines[:len(file_before)] == file_before
    assert [json.loads(x)["action"] for x in lines].count("relay.stop") >= 2
    cp = st.verify()
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cp = st.verify("--file", str(st.file))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    wait_until(lambda: "were in the file only; sent to Redis now"
               in st.relay.log(), 10, what="the file-only records logged")


@pytest.mark.hard_timeout(120)
def test_file_records_that_do_not_follow_redis_are_named_by_a_gap(lab):
    """The file's first record past Redis's last one gone (a copy that
    cannot be read back whole): those numbers are not sent, not given
    out again, and an audit.gap record names them; verify against Redis
    names the first missing one."""
    st = RobustStack(lab)
    last = stopped_while_redis_away(st)
    lines = st.file.read_text().splitlines()
    (i,) = [n for n, x in enumerate(lines) if json.loads(x)["seq"] == last + 1]
    file_last = json.loads(lines[-1])["seq"]
    st.file.write_text("\n".join(lines[:i] + lines[i + 1:]) + "\n")
    start_relay(st)
    g = the_gap(st)
    assert g["seq"] == file_last + 1, g
    assert g["reason"] == "records %d..%d are in the file only" % (
        last + 1, file_last), g
    redis = seqs_redis(st)
    assert redis[:last] == list(range(1, last + 1))
    assert redis[last] == file_last + 1, redis
    assert len(set(seqs_file(st))) == len(seqs_file(st))
    cp = st.verify()
    assert cp.returncode != 0
    assert "record %d is missing" % (last + 1) in cp.stdout + cp.stderr, \
        cp.stdout + cp.stderr
    wait_until(lambda: "audit: records %d..%d are in the file only" % (
        last + 1, file_last) in st.relay.log(), 10, what="the gap logged")


@pytest.mark.hard_timeout(120)
def test_a_file_behind_redis_names_what_it_lacks_by_a_gap(lab):
    """The file cut back while the relay was stopped (truncated, or an
    older copy put back) while Redis's chain holds later records: the
    chain goes on after Redis's last number, and the file's next line is
    an audit.gap record naming the numbers the file lacks (Redis has
    them), in Redis too.  verify against Redis is whole; verify --file
    names the first missing number and the gap record.  Before, the file
    jumped from its last number to the next without a word."""
    st = RobustStack(lab)
    refused_requests(st, 6)
    wait_until(lambda: refused_in_redis(st) == 6, 10, what="6 in Redis")
    stop_relay(st)
    wait_until(lambda: seqs_redis(st)[-1] == seqs_file(st)[-1], 10,
               what="Redis and the file ending at the same record")
    redis_last = seqs_redis(st)[-1]
    lines = st.file.read_text().splitlines()
    keep = 3
    with open(st.file, "r+") as f:
        f.truncate(len("\n".join(lines[:keep])) + 1)
    start_relay(st)
    g = the_gap(st)
    why = "records %d..%d are in Redis only" % (keep + 1, redis_last)
    assert g["seq"] == redis_last + 1 and g["reason"] == why, g
    wait_until(lambda: len(seqs_file(st)) > keep, 10,
               what="the relay's next line in the file")
    file = st.file.read_text().splitlines()
    assert file[:keep] == lines[:keep]
    assert json.loads(file[keep]) == g, file[keep]
    assert seqs_file(st)[keep:] == list(
        range(redis_last + 1, redis_last + 1 + len(file) - keep))
    redis = seqs_redis(st)
    assert redis == list(range(1, len(redis) + 1)), redis
    verify_ok(st)
    cp = st.verify("--file", str(st.file))
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0, out
    assert "record %d is missing" % (keep + 1) in out, out
    assert "record %d is the relay's audit.gap: %s" % (
        redis_last + 1, why) in out, out
    wait_until(lambda: "the file %s ends at record %d, Redis's chain at %d" % (
        st.file, keep, redis_last) in st.relay.log(), 10,
        what="the short file logged")
