"""alertctl watch and the panic button on one device (one configuration,
one outbox).  The outbox's `.closed` marker says an entry is no longer
followed, not on whose word: the button writes it on the relay's word
too (`accept_relay_ack = yes`, or a hold that finds the relay's state
not open).  watch decides from what it verified itself.

The button closes the alert between watch's asking after it (the entry
still open) and watch's taking the relay's answer: real alertrelayd,
redis-server and alertctl processes, the order forced by stopping the
button (SIGSTOP) while the relay stores an acknowledgement only it
vouches for, and by holding watch under gdb at watch_status (the status
answer read, not yet taken) until the button has closed the entry, as a
loaded machine could order them.  Before, watch then printed the
relay's state word as a plain "alert ID: acknowledged" right after
saying that no person signed it."""

import os
import re
import shutil
import signal

import pytest

import harness
from harness import wait_until
from test_button import HOLD, ID_RX, Button, add_button, raised, start_button
from test_forged_ack_button_follow import RELAYS_ACK, relay_only_ack
from test_signed_ack import stack

pytestmark = [pytest.mark.needs("alertrelayd", "alertctl"),
              pytest.mark.skipif(shutil.which("gdb") is None,
                                 reason="needs gdb")]


class HeldWatch:
    """alertctl -v watch under gdb: at the first status answer it takes,
    it stops until let go.  stop() ends watch (SIGTERM, as a service
    manager would), then gdb."""

    def __init__(self, lab, env):
        d = env.dir
        self.hit, self.go_file = d / "status.hit", d / "status.go"
        cmds = d / "watch.gdb"
        cmds.write_text("\n".join([
            "set pagination off", "set confirm off",
            "handle SIGPIPE nostop noprint pass",
            "handle SIGTERM nostop noprint pass",
            "break watch_status", "commands", "silent",
            # once: where the compiler put the breakpoint's line may
            # be inside the function's loop over the events
            "shell [ -e %s ] || { touch %s; while [ ! -e %s ]; do "
            "sleep 0.05; done; }" % (self.hit, self.hit, self.go_file),
            "continue", "end", "run"]) + "\n")
        self.proc = harness.Proc(
            ["gdb", "-q", "-nx", "-batch", "-x", str(cmds), "--args",
             harness.alertctl_bin(), "-v", "-c", str(env.client_conf),
             "watch", "--interval", "1", "--dead-after", "30"],
            "watch", lab.logdir, env=harness.traced_env())
        lab.things.append(self)
        self.proc.start()

    def held(self):
        return self.hit.exists()

    def go(self):
        self.go_file.write_text("")

    def inferior(self):
        """watch's pid, from its log lines, when gdb is its parent."""
        m = re.search(r"alertctl\[(\d+)\]", self.proc.text("stderr"))
        if m is None or not self.proc.running():
            return None
        pid = int(m.group(1))
        try:
            with open("/proc/%d/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None
        return pid if ppid == self.proc.popen.pid else None

    def stop(self):
        self.go()
        pid = self.inferior()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            self.proc.wait_exit(10)
        return self.proc.stop()


@pytest.mark.hard_timeout(120)
def test_watch_does_not_take_the_buttons_marker_for_its_own_word(lab,
                                                                 tmp_path):
    st, _sk, _keyfile = stack(lab)
    button = Button(tmp_path / "event0")
    add_button(st.env, button.path, extra=["accept_relay_ack = yes"])
    p = start_button(lab, st.env)
    button.press(HOLD + 0.4)
    aid = p.wait_for(r"panic alert %s raised" % ID_RX, "stdout", 15).group(1)
    p.wait_for(r"alert %s: delivered" % aid, "stdout", 15)
    closed = st.env.dir / "outbox" / (aid + ".closed")

    # the button stopped: the relay's acknowledgement waits in its socket
    p.pause()
    relay_only_ack(lab, st, aid)
    # watch asks after the entry, still open; the relay's answer (state
    # acknowledged, the event attested: relay) read, not yet taken
    watch = HeldWatch(lab, st.env)
    wait_until(watch.held, 30, what="watch at its status answer:\n" +
               watch.proc.tail())
    assert not closed.exists()
    # meanwhile the button closes it, on the relay's word as configured
    p.resume()
    p.wait_for(r"alert %s is acknowledged: the button is ready" % aid,
               "stdout", 15)
    assert closed.exists()

    watch.go()
    watch.proc.wait_for(RELAYS_ACK % aid, "stdout", 15)
    # a later frame taken: watch is past the status answer
    n = len(watch.proc.snapshot("stderr"))
    watch.proc.wait_for(r"got \w+ frame$", "stderr", 10, start=n)
    lines = watch.proc.text("stdout").splitlines()
    assert "alert %s: acknowledged" % aid not in lines, "\n".join(lines)
    assert len([ln for ln in lines if "the relay says it is acknowledged"
                in ln]) == 1, "\n".join(lines)
    assert raised(p) == [aid]
    assert watch.stop() == 0, watch.proc.tail()
    button.close()
