"""The local spool's files (review rv-edges): after a restart with fewer
[relay] workers, worker 0 takes over spool.log.i of each worker that no
longer runs, so the alerts in it reach Redis (before, the file was left
as it was and its alerts never moved, without a word); and a spool file
created at start is followed by an fsync of its directory, so a crash
cannot lose its name (before, only a rename synced it).  Real
redis-server, alertrelayd (workers = 2, then 1; under strace for the
directory), alertctl and webhook receivers.  And (review rv-m3) a
worker's spool file is locked while it runs: a second relay on the same
spool_dir refuses to start, and a locked file is not taken over.  All
fail on the old code."""

import os
import re
import shutil
import signal
import time

import pytest

import harness
import proto
from helpers import parse_send

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def spool_lab_env(lab, workers):
    """An env with a spool directory and that many workers."""
    env = lab.env()
    spool = env.dir / "spool"
    spool.mkdir()
    env.relay["spool_dir"] = spool
    spool_conf(env, workers)
    return env, spool


def spool_conf(env, workers):
    env.relay["workers"] = workers
    env.write_relay_conf()
    if os.geteuid() == 0:  # the daemon drops root: let it write there
        harness.hand_to_daemon_user(env.dir)


def spool_both_files(lab, env, spool):
    """Alerts sent with Redis down until both workers spooled some
    (devices are hashed to workers by the kernel); their ids."""
    accepted = []
    for i in range(16):
        rc, lines, err = lab.send(env, "--type", "panic", "--message",
                                  "w%d" % i, "--timeout", "20")
        aid, acc = parse_send(lines)
        assert rc == 0 and acc and acc.group(2).startswith("spool-"), \
            (lines, err)
        accepted.append(aid)
        if all(os.path.getsize(spool / n) > 0
               for n in ("spool.log", "spool.log.1")):
            return accepted
    pytest.fail("16 alerts, all on one worker's spool")


def spooled_by_two(lab, env, spool):
    """Redis, a relay with 2 workers, Redis killed and alerts spooled by
    both: (redis, relay, the alerts' ids)."""
    redis = lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"all 2 workers ready", timeout=20)
    redis.kill()
    return redis, relay, spool_both_files(lab, env, spool)


def all_in_redis(env, accepted):
    r = harness.Resp(env.redis_port)
    harness.wait_until(
        lambda: all(r("HGET", "alertrelay:alert:%s" % a, "state")
                    for a in accepted), 20, what="every alert in Redis")


def spooled_then_fewer(lab):
    """Alerts spooled by two workers (receivers up), the relay stopped,
    configured for one worker, Redis back: (env, spool, the alerts)."""
    env, spool = spool_lab_env(lab, 2)
    for rid in env.recipients:
        lab.recorder_for(env, rid)
    redis, relay, accepted = spooled_by_two(lab, env, spool)
    relay.stop()
    spool_conf(env, 1)
    redis.start()
    return env, spool, accepted


def taken_over_whole(proc, env, spool, accepted):
    """Every alert in Redis, spool.log.1 taken over (logged) and gone,
    spool.log emptied: what proc, the relay that started, did."""
    all_in_redis(env, accepted)
    proc.wait_for(r"spool \S+/spool\.log\.1: \d+ records of a worker "
                  r"that no longer runs taken over", "stderr", 10)
    assert not (spool / "spool.log.1").exists()
    harness.wait_until(lambda: os.path.getsize(spool / "spool.log") == 0, 20,
                       what="the spool emptied")


@pytest.mark.hard_timeout(150)
def test_fewer_workers_take_over_the_spool_of_the_others(lab):
    env, spool, accepted = spooled_then_fewer(lab)
    relay = lab.relay(env)
    # before: the alerts of spool.log.1 never reached Redis, unsaid
    taken_over_whole(relay.proc, env, spool, accepted)
    # a second start has nothing more to take over
    relay.stop()
    relay = lab.relay(env)
    assert "taken over" not in relay.proc.text("stderr")


def frame_on_worker_1(env, spool):
    """An alert frame a device session got accepted into worker 1's
    spool.log.1 (Redis down; sessions are hashed to workers by the
    kernel): (frame, its alert id)."""
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    for _ in range(16):
        s = harness.device_session(env)
        frame, _, aid = proto.build_alert(s.key, env.device_id, pks,
                                          alert_type="panic")
        ans = s.request(frame, ("accepted", "error"), 20)
        s.close()
        assert ans.get("type") == "accepted", ans
        if aid in (spool / "spool.log.1").read_text():
            return frame, aid
    pytest.fail("16 alerts, none on worker 1's spool")


@pytest.mark.hard_timeout(150)
def test_an_adopted_alert_counts_only_once_its_copy_is_synced(lab):
    """Worker 0 cannot take spool.log.1 whole (its own file at its size
    limit, RLIMIT_FSIZE: the first record appended fails part way): none
    of that file's alerts counts until the next start, so a resend of one
    of them is not answered "accepted" (it is written anew, and that
    fails too: unavailable), and the file stays as it was, for the start
    after, which moves it into Redis.  Before: each record read counted
    at once, whether its copy was written and synced or not, and the
    resend was answered "accepted" from memory (the old file was never
    synced by the worker that took it: what a killed worker wrote may be
    in the page cache only)."""
    env, spool = spool_lab_env(lab, 2)
    redis = lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"all 2 workers ready", timeout=20)
    redis.kill()
    frame, aid = frame_on_worker_1(env, spool)
    relay.stop()
    theirs = (spool / "spool.log.1").read_bytes()
    ours = (spool / "spool.log").read_bytes()
    spool_conf(env, 1)
    p = lab.spawn(["prlimit", "--fsize=%d" % (len(ours) + 10),
                   harness.alertrelayd_bin(), "-c", env.relay_conf, "-f"],
                  "alertrelayd-fsize")
    p.wait_for(r"spool \S+/spool\.log\.1: of a worker that no longer "
               r"runs, and not taken over whole", "stderr", 20)
    p.wait_for(r"listening on 127\.0\.0\.1:%d" % env.relay_port, "stderr",
               20)
    s = harness.device_session(env)
    ans = s.request(frame, ("accepted", "error"), 20)
    s.close()
    assert ans.get("type") == "error" and ans.get("code") == "unavailable", \
        ans
    assert (spool / "spool.log.1").read_bytes() == theirs
    assert (spool / "spool.log").read_bytes() == ours  # cut off again
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait_exit(20) == 0, p.tail()
    redis.start()
    relay = lab.relay(env)
    all_in_redis(env, [aid])
    assert not (spool / "spool.log.1").exists()


def relay_second_read_fails(lab, env, spool, keep_max=None, fail=2,
                            listening=True):
    """alertrelayd under gdb: a second spool_file_read() of spool.log.1
    returns -1 at once (an I/O error right after the first read went
    well; fail None: none does); each read of that file is counted in a
    line of the hits file.  keep_max: spool_adopt_keep_max set to it
    as the takeover begins (the bound above which a file is read again
    rather than kept).  (gdb, the hits file)."""
    hits = env.dir / "reads.hits"
    cmds = env.dir / "relay.gdb"
    bound = [] if keep_max is None else [
        "break spool_adopt", "commands", "silent",
        "set var spool_adopt_keep_max = %d" % keep_max, "continue", "end"]
    cmds.write_text("\n".join([
        "set pagination off", "set confirm off",
        "set breakpoint pending on",
        "handle SIGPIPE nostop noprint pass",
        "handle SIGTERM nostop noprint pass",
        "set $reads = 0"] + bound + [
        'break spool_file_read if $_streq(path, "%s")' %
        (spool / "spool.log.1"),
        "commands", "silent", "set $reads = $reads + 1",
        "shell echo read >> %s" % hits,
        "if $reads == %d" % (fail or 0), "return (off_t) -1", "end",
        "continue", "end", "run"]) + "\n")
    gdb = harness.Proc(["gdb", "-q", "-nx", "-batch", "-x", str(cmds),
                        "--args", harness.alertrelayd_bin(), "-c",
                        str(env.relay_conf), "-f"],
                       "alertrelayd-gdb", lab.logdir, env=harness.traced_env())
    lab.things.append(gdb)  # its stderr checked for sanitizers
    gdb.start()
    if listening:
        gdb.wait_for(r"listening on 127\.0\.0\.1:%d" % env.relay_port,
                     "stderr", 30)
    return gdb, hits


@pytest.mark.hard_timeout(150)
@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
def test_an_adopted_record_reaches_memory_without_a_second_read(lab):
    """Worker 0 takes spool.log.1 over (workers 2, then 1) while any
    second read of that file fails (gdb): every alert of it still
    reaches Redis from this start, and the file goes.  Before: once the
    copy was synced the file was read again for memory, and when that
    read failed its records sat synced in spool.log, unknown to the
    relay (never moved into Redis, dropped from spool.log by the next
    compaction) until a restart took the old file over again."""
    env, spool, accepted = spooled_then_fewer(lab)
    gdb, hits = relay_second_read_fails(lab, env, spool)
    harness.wait_redis_ready(gdb, 30)
    # the breakpoint was armed: it saw the (first) read of spool.log.1
    assert hits.read_text().count("read") >= 1, gdb.tail()
    taken_over_whole(gdb, env, spool, accepted)
    for pid in child_of(gdb.popen.pid):  # the relay gdb started
        os.kill(pid, signal.SIGTERM)
    assert gdb.wait_exit(20) == 0, gdb.tail()


@pytest.mark.hard_timeout(150)
@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
def test_a_large_adopted_file_is_read_again_after_the_sync(lab):
    """spool.log.1 larger than spool_adopt_keep_max (lowered to 0 by
    gdb): its lines are not kept in memory while it is copied, but read
    again once the copy is synced, and every alert of it reaches Redis
    from this start.  Fails on the old code: one read only (and no such
    bound: the whole file held in memory besides its records)."""
    env, spool, accepted = spooled_then_fewer(lab)
    gdb, hits = relay_second_read_fails(lab, env, spool, keep_max=0,
                                        fail=None)
    harness.wait_redis_ready(gdb, 30)
    taken_over_whole(gdb, env, spool, accepted)
    assert hits.read_text().count("read") == 2, gdb.tail()
    for pid in child_of(gdb.popen.pid):
        os.kill(pid, signal.SIGTERM)
    assert gdb.wait_exit(20) == 0, gdb.tail()


@pytest.mark.hard_timeout(150)
@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
def test_a_large_adopted_file_not_read_again_stops_the_relay(lab):
    """The same, with that second read failing (gdb): the relay exits
    (status 1, which systemd's Restart=on-failure and the master of
    workers restart) with a line that says why, leaving spool.log.1 in
    place and its records synced in spool.log; the next start moves
    every alert into Redis.  Fails on the old code: there is no second
    read to fail, the relay starts."""
    env, spool, accepted = spooled_then_fewer(lab)
    gdb, hits = relay_second_read_fails(lab, env, spool, keep_max=0,
                                        listening=False)
    gdb.wait_for(r"spool \S+/spool\.log\.1: of a worker that no longer "
                 r"runs, copied into ours and synced but not read again; "
                 r"exiting", "stderr", 30)
    gdb.wait_for(r"exited with code 01", "stdout", 20)
    assert gdb.wait_exit(20) == 0, gdb.tail()
    assert hits.read_text().count("read") == 2
    assert (spool / "spool.log.1").exists()
    assert "records of a worker" not in gdb.text("stderr")
    relay = lab.relay(env)
    taken_over_whole(relay.proc, env, spool, accepted)


def child_of(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(c) for c in f.read().split()]


@pytest.mark.hard_timeout(60)
def test_spool_file_created_with_its_directory_synced(lab):
    env, spool = spool_lab_env(lab, 1)
    lab.redis(env)
    trace = env.dir / "strace.out"
    p = lab.spawn(["strace", "-f", "-qq", "-e", "trace=openat,fsync",
                   "-o", str(trace), harness.alertrelayd_bin(), "-c",
                   env.relay_conf, "-f"], "alertrelayd-strace")
    p.wait_for(r"alertrelayd \S+ started", timeout=20)  # its spool open
    for pid in child_of(p.pid):  # the relay, started by this test
        os.kill(pid, signal.SIGTERM)
    p.wait_exit(15)
    calls = trace.read_text()
    made = re.search(r'openat\([^)]*"%s/spool\.log", [^)]*O_CREAT[^)]*\)'
                     r' = \d+' % re.escape(str(spool)), calls)
    assert made, calls[-3000:]
    dirfd = re.search(r'openat\([^)]*"%s", O_RDONLY[^)]*O_DIRECTORY[^)]*\) = '
                      r'(\d+)' % re.escape(str(spool)), calls[made.end():])
    assert dirfd, "the spool directory never opened after the file's creation"
    assert re.search(r"fsync\(%s\) += 0" % dirfd.group(1),
                     calls[made.end() + dirfd.end():]), \
        "the spool directory never fsynced after the file's creation"


def locked(path):
    """Whether a process holds a flock on path (flock(1) cannot take it)."""
    return harness.run(["flock", "-n", str(path), "true"]).returncode != 0


@pytest.mark.hard_timeout(150)
@pytest.mark.parametrize("workers", [1, 2])
def test_second_relay_on_a_live_spool_dir_refuses_to_start(lab, workers):
    """Review rv-m3: a second relay given the spool_dir of a running one
    took over its worker 1's live spool.log.1 (appended it to spool.log,
    removed it), so what that worker spooled afterwards went into a
    removed file and was lost at its next start.  Now each worker holds
    its file locked and the second relay refuses, naming the file.  With
    workers of its own it stops them all and exits 78 (review rv-m5: its
    parent restarted the refusing workers for ever, holding its device
    port)."""
    env, spool = spool_lab_env(lab, 2)
    redis, relay, accepted = spooled_by_two(lab, env, spool)
    theirs = (spool / "spool.log.1").read_bytes()
    other = harness.make_env(lab.tmp / "other")
    other.relay["spool_dir"] = spool
    other.relay["instance_id"] = "relay-other"
    spool_conf(other, workers)
    cp = harness.run([harness.alertrelayd_bin(), "-c", other.relay_conf,
                      "-f"], timeout=20)
    assert cp.returncode == 78, cp.stderr[-2000:]
    assert re.search(r"spool \S+/spool\.log: locked by another running "
                     r"process", cp.stderr), cp.stderr[-2000:]
    # the running relay's files as they were, still its own
    assert (spool / "spool.log.1").read_bytes() == theirs
    assert locked(spool / "spool.log") and locked(spool / "spool.log.1")
    assert "exited" not in relay.proc.text("stderr")


HOLD = """import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.hard_timeout(150)
def test_a_locked_spool_file_is_not_taken_over(lab):
    """A spool.log.1 whose lock a running process holds (a Python one
    here, in place of a worker of another relay) is left alone at start,
    and taken over once no one holds it.  Before: taken over, locked or not;
    the one-sync takeover still leaves every record in Redis."""
    env, spool = spool_lab_env(lab, 2)
    redis, relay, accepted = spooled_by_two(lab, env, spool)
    relay.stop()
    held = (spool / "spool.log.1").read_bytes()
    holder = lab.spawn(["/usr/bin/python3", "-c", HOLD,
                        str(spool / "spool.log.1")], "lock-holder")
    holder.wait_for(r"^held$", "stdout", timeout=10)
    spool_conf(env, 1)
    redis.start()
    relay = lab.relay(env)
    relay.proc.wait_for(r"spool \S+/spool\.log\.1: locked by a running "
                        r"process .*left alone", timeout=10)
    assert (spool / "spool.log.1").read_bytes() == held
    holder.stop()
    relay.stop()
    relay = lab.relay(env)
    all_in_redis(env, accepted)
    assert not (spool / "spool.log.1").exists()
