"""The client never gives up (issue 5): the outbox keeps every alert no
relay accepted yet, `alertctl send` sends those again first, and
`alertctl watch` holds a supervised connection (heartbeats, reconnect)
that sends them and prints receipts.  Real redis-server, alertrelayd and
`alertctl receive`; the relay is started late, SIGKILLed and restarted."""

import os
import re
import time

import pytest

import harness
from harness import wait_until

ID_RX = re.compile(r"^alert_id=([0-9a-f]{32})$")


def outbox(env):
    return env.dir / "outbox"


def unsent(env):
    """alert_ids of the outbox with no accepted/refused marker."""
    d = outbox(env)
    ids = [p.name[:32] for p in d.glob("*.json")] if d.exists() else []
    return sorted(i for i in ids if not (d / (i + ".accepted")).exists()
                  and not (d / (i + ".refused")).exists())


def alertctl(env, *args):
    return [harness.alertctl_bin(), "-c", str(env.client_conf)] + list(args)


def received_ids(recv):
    return [a["alert_id"] for a in recv.alerts()]


@pytest.mark.hard_timeout(90)
def test_unsent_alert_stays_in_outbox_and_watch_once_sends_it(lab):
    env = lab.env()
    redis = lab.redis(env)
    rc, lines, err = lab.send(env, "--type", "panic", "--message", "offline",
                              "--timeout", "2")
    assert rc == 1, (lines, err)
    alert_id = ID_RX.match(lines[0]).group(1)
    assert not any(l.startswith("accepted") for l in lines)
    assert unsent(env) == [alert_id]

    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cp = harness.run(alertctl(env, "watch", "--once", "--timeout", "30"),
                     timeout=40)
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    out = cp.stdout.splitlines()
    assert "resending alert_id=%s" % alert_id in cp.stdout, out
    assert any(l.startswith("accepted alert_id=%s " % alert_id) for l in out)
    assert unsent(env) == []
    assert (outbox(env) / (alert_id + ".accepted")).exists()
    got = recv.wait_alerts(1, timeout=20)
    assert [a["alert_id"] for a in got] == [alert_id]
    assert got[0]["message"] == "offline"

    # Nothing is left to send: the next watch --once ends at once, and a
    # send does not resend the accepted alert.
    cp = harness.run(alertctl(env, "watch", "--once", "--timeout", "20"),
                     timeout=30)
    assert cp.returncode == 0 and "resending" not in cp.stdout, cp.stdout
    rc, lines, err = lab.send(env, "--type", "test", "--timeout", "10")
    assert rc == 0 and not any("resending" in l for l in lines), lines
    assert relay.proc.running()
    redis.client().close()


@pytest.mark.hard_timeout(90)
def test_send_resends_unsent_alert_first(lab):
    env = lab.env()
    lab.redis(env)
    rc, lines, _ = lab.send(env, "--type", "threat", "--message", "eerste",
                            "--timeout", "1")
    assert rc == 1
    first = ID_RX.match(lines[0]).group(1)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    rc, lines, err = lab.send(env, "--type", "panic", "--message", "tweede",
                              "--timeout", "20")
    assert rc == 0, (lines, err)
    second = ID_RX.match(lines[0]).group(1)
    assert "resending alert_id=%s" % first in "\n".join(lines)
    assert lines[-1].startswith("accepted alert_id=%s " % second), lines
    assert any(l.startswith("accepted alert_id=%s " % first) for l in lines)
    assert unsent(env) == []
    recv.wait_alerts(2, timeout=20)
    assert sorted(received_ids(recv)) == sorted([first, second])


@pytest.mark.hard_timeout(90)
def test_send_started_while_relay_down_is_accepted_when_it_starts(lab):
    """Client started with the relay down, relay started 10 s later."""
    env = lab.env()
    lab.redis(env)
    send = lab.send_proc(env, "--type", "panic", "--message", "te vroeg",
                         "--timeout", "30")
    time.sleep(10)
    assert send.running()
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    assert send.wait_exit(25) == 0, send.tail()
    out = send.text("stdout").splitlines()
    alert_id = ID_RX.match(out[0]).group(1)
    assert out[-1].startswith("accepted alert_id=%s " % alert_id), out
    assert unsent(env) == []
    got = recv.wait_alerts(1, timeout=20)
    assert got[0]["alert_id"] == alert_id and got[0]["message"] == "te vroeg"


def ack_env(lab):
    """An env with the HTTPS ack listener and a token for contactpunt."""
    env = lab.env()
    port = harness.free_port()
    token = harness.new_token()
    tfile = harness.write_secret(env.dir / "contactpunt.ack", token)
    env.ack = {"listen": "127.0.0.1:%d" % port}
    env.recipient_extra["contactpunt"] = {"ack_token_file": tfile}
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    env.write_relay_conf()
    return env, port, token


def ack(env, port, token, alert_id):
    st, body, _, _, _ = harness.https_request(
        port, "POST", "/v1/alerts/%s/ack" % alert_id,
        headers={"Authorization": "Bearer " + token, "Content-Length": "0"},
        body=b"", cafile=env.cert)
    assert st == 200, (st, body)


@pytest.mark.hard_timeout(120)
def test_watch_prints_receipts_and_reconnects_after_sigkill(lab):
    env, port, token = ack_env(lab)
    _, _, relay, recvs = lab.stack(env=env, receivers=("contactpunt",))
    recv = recvs["contactpunt"]
    relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % port,
                        "stderr", 10)
    rc, lines, err = lab.send(env, "--type", "panic", "--timeout", "10")
    assert rc == 0, (lines, err)
    first = ID_RX.match(lines[0]).group(1)

    watch = lab.spawn(alertctl(env, "watch", "--interval", "1",
                               "--dead-after", "3"), "watch")
    watch.wait_for(r"^connected to ", "stdout", 10)
    ack(env, port, token, first)
    watch.wait_for(r"^alert %s: acknowledged by Contactpunt" % first,
                   "stdout", 15)

    relay.kill9()
    time.sleep(1)
    relay.restart()
    relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % port,
                        "stderr", 10)
    watch.wait_for(r"^reconnected to ", "stdout", 20)

    rc, lines, err = lab.send(env, "--type", "threat", "--timeout", "10")
    assert rc == 0, (lines, err)
    second = ID_RX.match(lines[0]).group(1)
    watch.wait_for(r"^alert %s: delivered to " % second, "stdout", 15)
    ack(env, port, token, second)
    watch.wait_for(r"^alert %s: acknowledged by Contactpunt" % second,
                   "stdout", 15)
    recv.wait_alerts(2, timeout=15)

    # Each event once, however often the relay told it.
    out = watch.text("stdout").splitlines()
    assert len([l for l in out if l.startswith("alert %s: acknowledged" %
                                               first)]) == 1, out
    watch.signal(15)
    assert watch.wait_exit(10) == 0, watch.tail()
    assert "stopped" in watch.text("stdout")


@pytest.mark.hard_timeout(90)
def test_watch_tells_an_expiry_once_and_closes_the_outbox_entry(lab):
    """An alert that expires ends like a cancelled or acknowledged one:
    watch tells it once, marks it closed in the outbox, and does not ask
    after it again when it reconnects (before: the outbox entry stayed
    open, and each reconnect asked its status and told its end again)."""
    st = harness.sms_stack(lab, {"default": {
        "types": "panic threat test", "tier": ["0 contactpunt:webhook"],
        "max_age": 3}}, sms=())
    env = st.env
    watch = lab.spawn(alertctl(env, "watch", "--interval", "1",
                               "--dead-after", "3"), "watch")
    watch.wait_for(r"^connected to ", "stdout", 10)
    rc, lines, err = lab.send(env, "--type", "test", "--timeout", "10")
    assert rc == 0, (lines, err)
    aid = ID_RX.match(lines[0]).group(1)
    watch.wait_for(r"^alert %s: .*expired" % aid, "stdout", 15)
    wait_until(lambda: (outbox(env) / (aid + ".closed")).exists(), 5,
               what="the outbox entry closed")
    st.relay.kill9()
    st.relay.restart()
    watch.wait_for(r"^reconnected to ", "stdout", 20)
    time.sleep(2)  # a status asked after the reconnect would be in
    ends = [l for l in watch.text("stdout").splitlines()
            if l.startswith("alert %s: " % aid) and "expired" in l]
    assert len(ends) == 1, watch.text("stdout")
    watch.signal(15)
    assert watch.wait_exit(10) == 0, watch.tail()
