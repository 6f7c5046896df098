"""The spool's fdatasync runs off the event loop (group commit,
docs/RELIABILITY.md): while it is held, the relay still serves everyone
else, and the alert it covers is not answered "accepted" until it
returns.

Real redis-server (killed: the alert goes to the spool), alertrelayd run
under gdb in non-stop mode with a breakpoint on fdatasync that holds the
first thread to reach it until the test lets it go, a real alertctl send,
and a second device's session.  On the old code the sync ran on the loop
itself: the breakpoint held the whole relay, and the second device's
handshake went unanswered."""

import os
import shutil
import signal

import nacl.signing
import pytest

import harness
import proto
from helpers import ACCEPTED_RX
from test_spool import health, spool_env

pytestmark = [pytest.mark.needs("alertrelayd", "alertctl"),
              pytest.mark.skipif(shutil.which("gdb") is None,
                                 reason="needs gdb")]


class HeldSyncRelay:
    """alertrelayd under gdb, non-stop: the first fdatasync stops the
    thread that calls it, alone, until go(); the breakpoint is then gone,
    and later syncs run through.  While it holds, gdb waits in a shell
    command, and every other thread of the relay runs on.  stop() ends
    the relay (SIGTERM), then gdb."""

    def __init__(self, lab, env):
        d = env.dir
        self.hit, self.go_file = d / "sync.hit", d / "sync.go"
        cmds = d / "relay.gdb"
        cmds.write_text("\n".join([
            "set pagination off", "set confirm off", "set non-stop on",
            "set breakpoint pending on",
            "handle SIGPIPE nostop noprint pass",
            "handle SIGTERM nostop noprint pass",
            "handle SIGHUP nostop noprint pass",
            "break fdatasync",
            "run",  # returns when the breakpoint stops a thread
            "delete",
            "shell touch %s; while [ ! -e %s ]; do sleep 0.05; done" % (
                self.hit, self.go_file),
            "continue -a"]) + "\n")  # returns when the relay exits
        penv = {"LANGUAGE": "en"}
        if "ASAN_OPTIONS" in os.environ:  # LeakSanitizer cannot run traced
            penv["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + \
                ":detect_leaks=0"
        self.proc = harness.Proc(
            ["gdb", "-q", "-nx", "-batch", "-x", str(cmds), "--args",
             harness.alertrelayd_bin(), "-c", str(env.relay_conf), "-f"],
            "alertrelayd-gdb", lab.logdir, env=penv)
        lab.things.append(self.proc)  # its stderr checked for sanitizers
        lab.things.append(self)
        self.proc.start()
        self.proc.wait_for(r"listening on 127\.0\.0\.1:%d" % env.relay_port,
                           "stderr", 30)
        harness.wait_redis_ready(self.proc, 30)

    def held(self):
        return self.hit.exists()

    def go(self):
        self.go_file.write_text("")

    def log(self):
        return self.proc.text("stderr") + self.proc.text("stdout")

    def stop(self):
        self.go()
        if self.proc.running():
            pid = self.proc.popen.pid
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                for child in f.read().split():  # the relay gdb started
                    os.kill(int(child), signal.SIGTERM)
            self.proc.wait_exit(20)
        return self.proc.stop()


@pytest.mark.hard_timeout(120)
def test_a_held_spool_sync_holds_its_alert_not_the_relay(lab):
    env, _spool = spool_env(lab)
    other = nacl.signing.SigningKey.generate()
    with open(env.relay_conf, "a") as f:
        f.write("\n[device mayor-b]\npublic_key = %s\nalias = B\n" %
                proto.b64e(bytes(other.verify_key)))
    redis = lab.redis(env)
    relay = HeldSyncRelay(lab, env)
    redis.kill()
    send = lab.send_proc(env, "--type", "panic", "--message", "held sync",
                         "--timeout", "60")
    harness.wait_until(relay.held, 30,
                       what="the spool's fdatasync reached:\n" +
                       relay.proc.tail())

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
