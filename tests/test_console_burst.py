"""Restart of alertconsole during a burst of 50 alerts sent through a
real relay (issue 12): a SIGKILL and a SIGTERM while alerts are being
sent and delivered; afterwards every alert is in the queue, none twice.
The relay retries a webhook that got no 2xx, and the console answers 2xx
only after its commit, so nothing is lost; a webhook committed but not
yet answered when the console died comes again and is recognised."""

import threading
import time

import pytest

import harness
from helpers import send_ok
from test_console import Console, RID

pytestmark = pytest.mark.needs("alertrelayd", "alertctl", "alertconsole")

BURST = 50
SENDERS = 5


@pytest.mark.hard_timeout(240)
def test_restart_during_a_burst_loses_nothing_and_doubles_nothing(lab):
    env = lab.env(delivery={"retry_initial_ms": 200, "retry_max_ms": 1000})
    port = harness.free_port()
    env.recipient(RID).webhook_port = port
    env.recipient(RID).webhook_path = "/hook/" + RID
    env.write_relay_conf()  # the console is this recipient's endpoint
    console = Console(lab, env, port=port)
    lab.redis(env)
    relay = lab.relay(env)
    console.start()
    sent, errors, lock = [], [], threading.Lock()

    def sender(n):
        try:
            for i in range(n):
                alert_id, _, _ = send_ok(lab, env, "--type", "panic",
                                         "--message", "burst %d" % i,
                                         "--timeout", "30")
                with lock:
                    sent.append(alert_id)
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(BURST // SENDERS,))
               for _ in range(SENDERS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()

    def count():
        with lock:
            return len(sent)

    # SIGKILL a fifth of the way in: no shutdown code runs
    harness.wait_until(lambda: count() >= BURST // 5, 120, interval=0.01,
                       what="a fifth of the burst")
    console.proc.kill()
    time.sleep(0.5)  # down while alerts keep coming
    console.start()
    # SIGTERM three fifths of the way in
    harness.wait_until(lambda: count() >= 3 * BURST // 5, 120,
                       interval=0.01, what="three fifths of the burst")
    console.proc.stop()
    time.sleep(0.5)
    console.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(sent) == BURST and len(set(sent)) == BURST
    harness.wait_until(lambda: len(console.alerts()) >= BURST, 60,
                       interval=0.5, what="every alert in the queue")
    ids = [a["alert_id"] for a in console.alerts()]
    assert sorted(ids) == sorted(sent)  # each once
    assert all(a["message"].startswith("burst ") for a in console.alerts())
    # the restarts did cut deliveries: the relay had to try again
    harness.wait_until(lambda: "recipient=%s channel=webhook result=retry"
                       % RID in relay.log(), 10, what="a retry logged")
    # and still once after one more restart
    console.proc.kill()
    console.start()
    assert sorted(a["alert_id"] for a in console.alerts()) == sorted(sent)
    # stored once each as an alert (a retry of a committed webhook is
    # known by its id and not stored again)
    raised = [r["alert_id"] for r in console.rows()
              if r["type"] == "alert.raised" and not r["repeat"]]
    assert sorted(raised) == sorted(sent)
    print("burst of %d with two restarts: %.1f s" % (
        BURST, time.monotonic() - t0))
