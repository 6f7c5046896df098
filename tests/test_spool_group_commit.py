"""The spool's fdatasync runs off the event loop (group commit,
docs/RELIABILITY.md): while it is held, the relay still serves everyone
else, and the alert it covers is not answered "accepted" until it
returns; when it fails, no alert written before it returned is accepted
on its strength.

Real redis-server (killed: the alert goes to the spool), alertrelayd run
under gdb in non-stop mode with a breakpoint on fdatasync that holds the
first thread to reach it until the test lets it go (and, for the failure,
hands that fdatasync a bad descriptor), a real alertctl send, and a
second device's session.  On the old code the sync ran on the loop
itself: the breakpoint held the whole relay, and the second device's
handshake went unanswered."""

import json
import os
import platform
import re
import shutil
import signal
import subprocess

import nacl.signing
import pytest

import harness
import proto
from helpers import ACCEPTED_RX, parse_send
from test_replicas_wait import audit_of
from test_spool import delivered_ids, health, in_redis, metric, spool_env

pytestmark = [pytest.mark.needs("alertrelayd", "alertctl"),
              pytest.mark.skipif(shutil.which("gdb") is None,
                                 reason="needs gdb")]


def gone(pid):
    """pid has exited (a zombie no one reaped yet counts)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


class HeldSyncRelay:
    """alertrelayd under gdb, non-stop: the first fdatasync of the sync
    thread stops it, alone, until go(); the breakpoint is then gone,
    and later syncs run through.  While it holds, gdb waits in a shell
    command, and every other thread of the relay runs on.  stop() ends
    the relay (SIGTERM), then gdb.

    live: gdb waits at its prompt instead, reading the rest from the
    test, so that it goes on passing the relay its signals (a SIGTERM
    while the sync is held); go() has it detach and quit, so that
    LeakSanitizer, which cannot run traced, checks the relay's exit."""

    def __init__(self, lab, env, fail=False, live=False):
        d = env.dir
        self.live = live
        self.hit, self.go_file = d / "sync.hit", d / "sync.go"
        cmds = d / "relay.gdb"
        wait = "shell touch %s" % self.hit
        if not live:
            wait += "; while [ ! -e %s ]; do sleep 0.05; done" % self.go_file
        cmds.write_text("\n".join([
            "set pagination off", "set confirm off", "set non-stop on",
            "set breakpoint pending on",
            "handle SIGPIPE nostop noprint pass",
            "handle SIGTERM nostop noprint pass",
            "handle SIGHUP nostop noprint pass",
            # the sync thread's: the loop's own at start (spool_file_open
            # makes what is read back durable first) runs through
            "break fdatasync if $_thread > 1",
            "run",  # returns when the breakpoint stops a thread
            "delete", wait] +
            # fail: that fdatasync gets fd -1 (EBADF), in the thread
            # the breakpoint stopped (x86-64: the first argument, %rdi)
            (["python [t for t in gdb.selected_inferior().threads() "
              "if t.is_stopped()][0].switch()",
              "set $rdi = -1"] if fail else []) +
            ([] if live else ["continue -a"])) + "\n")  # till its exit
        self.proc = harness.Proc(
            ["gdb", "-q", "-nx"] + ([] if live else ["-batch"]) +
            ["-x", str(cmds), "--args", harness.alertrelayd_bin(), "-c",
             str(env.relay_conf), "-f"],
            "alertrelayd-gdb", lab.logdir,
            env={"LANGUAGE": "en"} if live else harness.traced_env(),
            stdin=subprocess.PIPE if live else subprocess.DEVNULL)
        lab.things.append(self.proc)  # its stderr checked for sanitizers
        lab.things.append(self)
        self.proc.start()
        self.proc.wait_for(r"listening on 127\.0\.0\.1:%d" % env.relay_port,
                           "stderr", 30)
        harness.wait_redis_ready(self.proc, 30)

    def held(self):
        return self.hit.exists()

    def relay_pid(self):
        """The relay's (gdb's child), or None once it is gone."""
        pid = self.proc.popen.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return int(f.read().split()[0])
        except (FileNotFoundError, IndexError):
            return None

    def go(self):
        if self.live and not self.go_file.exists() and self.proc.running():
            try:
                self.proc.popen.stdin.write(b"detach\nquit\n")
                self.proc.popen.stdin.flush()
            except BrokenPipeError:
                pass
        self.go_file.write_text("")

    def log(self):
        return self.proc.text("stderr") + self.proc.text("stdout")

    def stop(self):
        if self.live:
            return self.stop_live()
        self.go()
        if self.proc.running():
            pid = self.proc.popen.pid
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                for child in f.read().split():  # the relay gdb started
                    os.kill(int(child), signal.SIGTERM)
            self.proc.wait_exit(20)
        return self.proc.stop()

    def stop_live(self):
        """Detached, the relay is no longer gdb's to end: found first,
        ended by its PID."""
        pid = self.relay_pid() if self.proc.running() else None
        self.go()
        if pid is not None and not gone(pid):
            os.kill(pid, signal.SIGTERM)
            try:
                harness.wait_until(lambda: gone(pid), 20,
                                   what="the relay's exit")
            finally:
                if not gone(pid):
                    os.kill(pid, signal.SIGKILL)
        return self.proc.stop()


def held_send(lab, fail=False, live=False):
    """A spool env with a second device, mayor-b; Redis killed under a
    relay run by HeldSyncRelay; an alertctl send whose alert the held
    sync covers: (env, spool, mayor-b's signing key, relay, send)."""
    env, spool = spool_env(lab)
    other = nacl.signing.SigningKey.generate()
    with open(env.relay_conf, "a") as f:
        f.write("\n[device mayor-b]\npublic_key = %s\nalias = B\n" %
                proto.b64e(bytes(other.verify_key)))
    redis = lab.redis(env)
    relay = HeldSyncRelay(lab, env, fail=fail, live=live)
    relay.redis = redis  # for a test to start again
    redis.kill()
    send = lab.send_proc(env, "--type", "panic", "--message", "spooled",
                         "--timeout", "60")
    harness.wait_until(relay.held, 30,
                       what="the spool's fdatasync reached:\n" +
                       relay.proc.tail())
    return env, spool, other, relay, send


@pytest.mark.hard_timeout(120)
def test_a_held_spool_sync_holds_its_alert_not_the_relay(lab):
    env, _spool, other, relay, send = held_send(lab)

    # the loop serves on: another device's TLS handshake and auth, a
    # request of it, and the admin listener
    s = harness.device_session(env, device_id="mayor-b", signing_key=other)
    ans = s.request({"type": "status",
                     "alert_id": "0123456789abcdef0123456789abcdef"},
                    ("status", "error"))
    assert ans.get("type") in ("status", "error"), ans
    assert health(env)[0] in (200, 503)
    # ... while the alert the held sync covers is not accepted
    assert send.running(), send.tail()
    assert not any(ACCEPTED_RX.match(l)
                   for l in send.text("stdout").splitlines())
    assert "accepted into the local spool" not in relay.log()

    relay.go()
    assert send.wait_exit(30) == 0, send.tail()
    accepted = [m for m in map(ACCEPTED_RX.match,
                               send.text("stdout").splitlines()) if m]
    assert len(accepted) == 1 and accepted[0].group(2).startswith("spool-"), \
        send.text("stdout")
    assert "accepted into the local spool" in relay.log()
    s.close()
    assert relay.stop() == 0, relay.proc.tail()


@pytest.mark.hard_timeout(120)
@pytest.mark.skipif(platform.machine() != "x86_64",
                    reason="the fault is put in an x86-64 register")
def test_a_failed_group_sync_accepts_nothing_it_held(lab):
    """The first sync fails (EBADF): the alert it covers, and one written
    while it ran (another device's), are both answered unavailable, not
    accepted, and cut off the file; each is accepted once sent again,
    after a good sync, and the file holds each once."""
    env, spool, other, relay, send = held_send(lab, fail=True)
    s = harness.device_session(env, device_id="mayor-b", signing_key=other)
    frame, _, b_id = proto.build_alert(
        other, "mayor-b", {rid: proto.b64d(r.public_key)
                           for rid, r in env.recipients.items()},
        alert_type="panic")
    s.c.send_frame(frame)
    # b's line is written, behind the held sync
    harness.wait_until(lambda: b_id in (spool / "spool.log").read_text(),
                       15, what="b's line in the spool file")
    relay.go()
    ans = s.wait(lambda f: f.get("type") in ("accepted", "error"), 15,
                 what="b's answer")
    assert ans.get("type") == "error" and ans.get("code") == "unavailable", \
        ans
    # the device sends it again: a good sync this time
    assert s.request(frame, ("accepted", "error"), 15).get("type") == \
        "accepted"
    assert send.wait_exit(40) == 0, send.tail()
    accepted = [m for m in map(ACCEPTED_RX.match,
                               send.text("stdout").splitlines()) if m]
    assert len(accepted) == 1 and accepted[0].group(2).startswith("spool-"), \
        send.text("stdout")
    a_id = accepted[0].group(1)
    # alertctl heard unavailable first, then tried again
    assert "unavailable" in send.text("stderr"), send.tail()
    assert "spool %s: syncing: Bad file descriptor" % (spool / "spool.log") \
        in relay.log()
    lines = (spool / "spool.log").read_text().splitlines()
    alerts = [json.loads(l)["args"]["aid"] for l in lines
              if json.loads(l)["op"] == "alert"]
    assert sorted(alerts) == sorted([a_id, b_id]), lines
    s.close()
    assert relay.stop() == 0, relay.proc.tail()


@pytest.mark.hard_timeout(120)
def test_an_alert_whose_device_left_during_its_sync_is_recorded(lab):
    """alertctl is killed while the sync that covers its alert is held;
    released, the alert is in the spool and goes out, so the relay logs
    it as accepted (device_gone=1) and audits alert.accepted, by the
    device, from its address, once Redis is back.  Before: the
    connection's end dropped the request, and the alert was stored and
    delivered with neither."""
    env, _spool, _other, relay, send = held_send(lab)
    harness.wait_until(lambda: send.text("stdout").strip(), 10,
                       what="alertctl's alert_id line")
    aid = parse_send(send.text("stdout").splitlines())[0]
    send.kill()
    harness.wait_until(
        lambda: metric(env, "alertrelay_devices_connected") == 0, 15,
        what="the relay to see the device gone")
    relay.go()
    harness.wait_until(lambda: "accepted into the local spool" in
                       relay.log(), 15, what="the sync's return")
    line = r"info: alert accepted alert=%s device=%s relay_id=spool-\S+ " \
        r"duplicate=0 store_ms=\d+ ref=\w+ drill=0 device_gone=1$" % (
            aid, env.device_id)
    harness.wait_until(lambda: re.search(line, relay.log(), re.M), 10,
                       what="the accepted line:\n" + relay.log()[-2000:])
    relay.redis.start()
    harness.wait_until(lambda: audit_of(env, aid, "alert.accepted"), 20,
                       what="the alert.accepted record")
    stream = "alertrelay:audit:" + env.relay["instance_id"]
    (rec,) = [x for x in (json.loads(f["r"]) for _, f in
                          harness.Resp(env.redis_port).xrange(stream))
              if x["action"] == "alert.accepted"]
    assert (rec["object"], rec["actor"], rec["result"], rec["channel"]) == \
        ("alert:" + aid, "device:" + env.device_id, "ok", "tls"), rec
    assert rec["address"].startswith("127.0.0.1"), rec
    assert "spooled" not in json.dumps(rec)  # content never
    assert relay.stop() == 0, relay.proc.tail()


@pytest.mark.hard_timeout(150)
def test_a_stop_waits_for_the_spool_sync_under_way(lab):
    """SIGTERM while the sync that covers an alert is held: the stop
    closes the device's connection unanswered (docs/RELIABILITY.md: an
    alert whose device was not answered yet stays in the file), logs the
    alert's outcome as unknown, then waits for the sync; let go, the relay
    exits at once, cleanly, and (gdb detached, so under ASan LeakSanitizer
    checks it) leaks nothing of the gone device's alert.  Restarted with
    Redis up, the alert is delivered from the file to each recipient (one
    webhook-id each) and moved into Redis, and alertctl, which kept
    trying, hears "accepted" for it."""
    env, spool, _other, relay, send = held_send(lab, live=True)
    harness.wait_until(lambda: send.text("stdout").strip(), 10,
                       what="alertctl's alert_id line")
    aid = parse_send(send.text("stdout").splitlines())[0]
    pid = relay.relay_pid()
    os.kill(pid, signal.SIGTERM)
    relay.proc.wait_for(
        r"alert alert=%s device=%s device_gone=1 outcome=unknown: the "
        r"relay stopped first" % (aid, env.device_id), "stderr", 15)
    # past its loop, the relay waits for the sync under way
    assert not gone(pid), relay.proc.tail()
    assert not any(ACCEPTED_RX.match(l)
                   for l in send.text("stdout").splitlines())
    relay.go()
    harness.wait_until(lambda: gone(pid), 20,
                       what="the relay's exit once its sync returned")
    assert relay.proc.wait_exit(10) == 0, relay.proc.tail()
    harness.wait_until(lambda: re.search(r"info: stopped$", relay.proc.text(
        "stderr"), re.M), 10, what="its last line")
    assert "accepted into the local spool" not in relay.log()
    recs = [json.loads(l)
            for l in (spool / "spool.log").read_text().splitlines()]
    assert [r["args"]["aid"] for r in recs if r["op"] == "alert"] == [aid]

    hooks = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    relay.redis.start()
    lab.relay(env)
    r = harness.Resp(env.redis_port)
    harness.wait_until(lambda: in_redis(r, env, aid), 20,
                       what="the alert moved into Redis")
    for rid, hook in hooks.items():
        harness.wait_until(lambda: aid in delivered_ids(hook), 20,
                           what="the alert delivered to %s" % rid)
        ids = {a["headers"]["webhook-id"] for a in hook.snapshot()
               if a["json"]["alert_id"] == aid}
        assert len(ids) == 1, (rid, ids)
    assert send.wait_exit(40) == 0, send.tail()
    assert [m.group(1) for m in map(ACCEPTED_RX.match,
                                    send.text("stdout").splitlines())
            if m] == [aid], send.text("stdout")
