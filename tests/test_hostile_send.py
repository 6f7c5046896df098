"""Issue 11, items 1 and 3: the official's `alertctl send` at the edges,
with real processes.

Nothing lost: a freshly enrolled device whose relay cannot be reached
seals its very first alert to the directory its enrollment bundle
carried, keeps it in the outbox (printing its alert_id) before any
network step, and the next send, or watch, delivers that same alert once
the relay is back.  An alert sealed to recipients that a newer directory
has replaced is sealed again, same alert_id, rather than dropped.

Said in words: when send gives up, its last line (stderr) tells the
person the alarm was NOT delivered and to call 112, before the technical
reason, with an exit status of its own (1 not delivered, 2 usage,
3 device shut out, 4 accepted but not confirmed under --wait)."""

import json
import re
import socket
import time

import pytest

import harness
from harness import alertctl_bin, wait_until
from helpers import parse_send, enrollment_bundle

pytestmark = pytest.mark.needs("alertctl")

NOT_DELIVERED = "ALARM NOT DELIVERED. Call 112 now. ("
SHUT_OUT = ("ALARM NOT DELIVERED: this device can no longer raise alarms; "
            "contact %s, and call 112 in danger. (")
UNCONFIRMED = ("ALARM NOT CONFIRMED: the relay has it, but nobody is known "
               "to have received it. Call 112 now. (")


def last_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert lines, "nothing on stderr"
    return lines[-1]


class Device:
    """A device enrolled with `alertctl enroll` from a bundle, its state
    (outbox, directory cache) under its own home."""

    def __init__(self, lab, env, tmp_path, directory_text=None):
        self.lab = lab
        self.home = tmp_path / "official"
        self.home.mkdir()
        self.env = {"HOME": str(self.home),
                    "XDG_STATE_HOME": str(self.home / "state")}
        text = directory_text or env.directory.read_text()
        b = enrollment_bundle(env, text, tmp_path / "device.bundle")
        self.dir = tmp_path / "device"
        cp = harness.run([alertctl_bin(), "enroll", b, "--dir", self.dir],
                         timeout=20, env=self.env)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        self.conf = self.dir / "alertctl.conf"
        self.outbox = self.home / "state" / "alertrelay" / "outbox"

    def run(self, *args, timeout=60):
        argv = [alertctl_bin(), "-c", self.conf] + [str(a) for a in args]
        cp = harness.run(argv, timeout=timeout, env=self.env)
        self.lab.short_runs.append((argv, cp.stderr))
        return cp

    def spawn(self, *args, name="send"):
        argv = [alertctl_bin(), "-c", self.conf] + [str(a) for a in args]
        p = harness.Proc(argv, name, self.lab.logdir, env=self.env)
        self.lab.things.append(p)
        return p.start()

    def add_contact(self, text):
        conf = self.conf.read_text()
        self.conf.write_text(conf.replace("[client]\n",
                                          "[client]\ncontact = %s\n" % text, 1))

    def entry(self, aid):
        return self.outbox / (aid + ".json")

    def sealed_to(self, aid):
        e = json.loads(self.entry(aid).read_text())
        return sorted(r["id"] for r in
                      json.loads(e["envelope"])["recipients"])


def nothing_listens(port):
    s = socket.socket()
    try:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        s.close()


def send_offline(dev, env, *args):
    """send while no relay listens: not delivered, but kept."""
    assert nothing_listens(env.relay_port)
    t0 = time.monotonic()
    cp = dev.run("send", *args, "--timeout", "3")
    assert cp.returncode == 1, (cp.returncode, cp.stdout, cp.stderr)
    assert time.monotonic() - t0 < 30
    aid, acc = parse_send(cp.stdout.splitlines())
    assert acc is None, cp.stdout
    assert last_line(cp.stderr).startswith(NOT_DELIVERED), cp.stderr
    assert "alert %s waits in the outbox" % aid in cp.stderr
    assert dev.entry(aid).exists(), cp.stderr
    assert not (dev.outbox / (aid + ".accepted")).exists()
    return aid, cp


def start_relay(lab, env, rid="contactpunt"):
    lab.redis(env)
    lab.relay(env)
    return lab.receiver(env, rid)


@pytest.mark.needs("alertrelayd")
def test_first_alert_after_enrollment_waits_in_the_outbox_and_the_next_send_delivers_it(
        lab, tmp_path):
    env = lab.env()
    env.use_directory(2)
    dev = Device(lab, env, tmp_path)
    aid, cp = send_offline(dev, env, "--type", "panic", "--message",
                           "eerste alarm")
    # sealed to the bundle's directory, before any relay was reached
    assert dev.sealed_to(aid) == sorted(env.recipients)
    # the words come before the technical reason, which names the relay
    line = last_line(cp.stderr)
    assert "127.0.0.1:%d" % env.relay_port in line
    assert line.index("Call 112") < line.index("127.0.0.1")

    recv = start_relay(lab, env)
    cp = dev.run("send", "--type", "test", "--message", "tweede")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    out = cp.stdout.splitlines()
    second, acc = parse_send(out)
    assert acc and acc.group(1) == second
    # the first alert went first, same alert_id
    assert any(re.match(r"^resending alert_id=%s " % aid, l) for l in out), out
    assert any(re.match(r"^accepted alert_id=%s " % aid, l) for l in out), out
    assert (dev.outbox / (aid + ".accepted")).exists()
    alerts = recv.wait_alerts(2, timeout=30)
    first = [a for a in alerts if a["alert_id"] == aid]
    assert len(first) == 1, alerts
    assert first[0]["alert_type"] == "panic"
    assert first[0]["message"] == "eerste alarm"


@pytest.mark.needs("alertrelayd")
def test_first_alert_after_enrollment_is_delivered_by_watch(lab, tmp_path):
    env = lab.env()
    env.use_directory(2)
    dev = Device(lab, env, tmp_path)
    aid, _ = send_offline(dev, env, "--type", "panic", "--message", "paniek")

    recv = start_relay(lab, env)
    cp = dev.run("watch", "--once", "--timeout", "30")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert re.search(r"^accepted alert_id=%s " % aid, cp.stdout, re.M), \
        cp.stdout
    alerts = recv.wait_alerts(1, timeout=30)
    assert [a["alert_id"] for a in alerts] == [aid]
    assert alerts[0]["message"] == "paniek"


@pytest.mark.needs("alertrelayd")
def test_an_alert_sealed_to_replaced_recipients_is_sealed_again_not_dropped(
        lab, tmp_path):
    """The device holds directory 2 (recipient contactpunt only) and
    seals its alert offline; the relay then comes up with directory 3, in
    which oncall-1 has replaced contactpunt.  The relay refuses an
    envelope none of whose recipients it knows; send, which still holds
    the alert, seals it again to directory 3's recipients under the same
    alert_id and it is delivered."""
    env = lab.env()
    env.use_directory(2, recipients=["contactpunt"])
    v2 = env.directory.read_text()
    # contactpunt is gone from the organisation, and from the relay
    del env.recipients["contactpunt"]
    env.sign_directory(3, recipients=["oncall-1"])
    env.write_relay_conf()
    dev = Device(lab, env, tmp_path, directory_text=v2)
    assert nothing_listens(env.relay_port)
    p = dev.spawn("send", "--type", "panic", "--message", "vervangen",
                  "--timeout", "40")
    p.wait_for(r"^alert_id=", "stdout", timeout=10)
    aid = p.snapshot("stdout")[0].split("=", 1)[1]
    assert dev.sealed_to(aid) == ["contactpunt"]
    recv = start_relay(lab, env, rid="oncall-1")
    assert p.wait_exit(60) == 0, p.text()
    out = p.snapshot("stdout")
    assert out[0] == "alert_id=" + aid
    assert any(re.match(r"^accepted alert_id=%s " % aid, l) for l in out), out
    assert "sealed again, same alert_id, to directory version 3" in \
        p.text("stderr")
    # the outbox holds the new sealing, accepted
    assert dev.sealed_to(aid) == ["oncall-1"]
    assert (dev.outbox / (aid + ".accepted")).exists()
    assert not (dev.outbox / (aid + ".refused")).exists()
    alerts = recv.wait_alerts(1, timeout=30)
    assert [a["alert_id"] for a in alerts] == [aid]
    assert alerts[0]["message"] == "vervangen"


def test_a_device_without_any_directory_says_the_alarm_was_not_delivered(
        lab, tmp_path):
    """Enrolled before bundles carried the directory: nobody to seal to
    until a relay answers, and no relay answers."""
    env = lab.env()
    env.use_directory(1)
    assert not env.client_directory.exists()
    cp = harness.run([alertctl_bin(), "-c", env.client_conf, "send",
                      "--type", "panic", "--timeout", "2"], timeout=30)
    assert cp.returncode == 1, (cp.returncode, cp.stderr)
    line = last_line(cp.stderr)
    assert line.startswith(NOT_DELIVERED + "no signed directory to seal to"), \
        line
    assert "ask the administrator for a new bundle" in cp.stderr
    # a usage error keeps its own status, and raises no alarm words
    cp = harness.run([alertctl_bin(), "-c", env.client_conf, "send",
                      "--type", "nonsense"], timeout=30)
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert "ALARM" not in cp.stderr


@pytest.mark.needs("alertrelayd")
def test_a_revoked_device_is_told_whom_to_contact_and_to_call_112(lab,
                                                                  tmp_path):
    env = lab.env()
    env.use_directory(1)
    dev = Device(lab, env, tmp_path)
    env.sign_directory(2, revoked=[env.device_id])
    lab.redis(env)
    lab.relay(env)
    cp = dev.run("send", "--type", "panic", "--timeout", "10")
    assert cp.returncode == 3, (cp.returncode, cp.stdout, cp.stderr)
    line = last_line(cp.stderr)
    assert line.startswith(SHUT_OUT % "your administrator"), line
    assert "revoked" in line[len(SHUT_OUT % "your administrator"):]
    assert "not accepted within" not in cp.stderr  # refused, not retried

    # with a contact in the configuration, it is named
    dev.add_contact("Meldkamer Den Haag, 070 123 4567")
    cp = dev.run("send", "--type", "panic", "--timeout", "10")
    assert cp.returncode == 3, (cp.returncode, cp.stdout, cp.stderr)
    assert last_line(cp.stderr).startswith(
        SHUT_OUT % "Meldkamer Den Haag, 070 123 4567"), cp.stderr


def test_a_device_its_own_directory_revokes_says_so_without_a_relay(
        lab, tmp_path):
    env = lab.env()
    env.use_directory(4, revoked=[env.device_id])
    dev = Device(lab, env, tmp_path)
    assert nothing_listens(env.relay_port)
    cp = dev.run("send", "--type", "panic", "--timeout", "2")
    assert cp.returncode == 3, (cp.returncode, cp.stdout, cp.stderr)
    assert last_line(cp.stderr).startswith(SHUT_OUT % "your administrator")


@pytest.mark.needs("alertrelayd")
def test_accepted_but_not_acknowledged_in_time_is_not_confirmed(lab):
    env = lab.env()
    lab.redis(env)
    lab.relay(env)  # no receiver: nobody gets it, nobody acknowledges
    rc, out, err = lab.send(env, "--type", "panic", "--wait", "ack",
                            "--wait-timeout", "2", "--timeout", "10")
    assert rc == 4, (rc, out, err)
    aid, acc = parse_send(out)
    assert acc
    assert last_line(err).startswith(UNCONFIRMED), err


@pytest.mark.needs("alertrelayd")
def test_a_stale_unsent_alert_does_not_hold_back_the_next_one(lab):
    """An alert that waited in the outbox longer than the relay's
    max_alert_age is refused as stale; it is marked refused and the new
    alert behind it goes through, instead of every session starting
    over until the timeout."""
    import helpers
    import proto
    env = lab.env()
    env.relay["max_alert_age"] = 60
    env.write_relay_conf()
    # an entry as send writes it, for an alert raised two hours ago
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7200))
    frame, env_bytes, old_id = proto.build_alert(
        helpers.device_key(env), env.device_id, helpers.recipient_pks(env),
        alert_type="panic", created_at=old)
    outbox = env.dir / "outbox"
    outbox.mkdir(mode=0o700)
    (outbox / (old_id + ".json")).write_text(json.dumps(
        {"v": 1, "alert_id": old_id, "mac": "00" * 32,
         "envelope": env_bytes.decode(), "sig": frame["sig"],
         "track": True}))
    lab.redis(env)
    lab.relay(env)
    rc, out, err = lab.send(env, "--type", "panic", "--timeout", "15")
    assert rc == 0, (rc, out, err)
    aid, acc = parse_send(out)
    assert acc and acc.group(1) == aid
    assert "alert %s not accepted: relay error stale" % old_id in err, err
    assert (outbox / (old_id + ".refused")).exists()
    assert (outbox / (aid + ".accepted")).exists()


@pytest.mark.needs("alertrelayd")
def test_a_device_revoked_after_its_alert_was_accepted_is_not_told_it_failed(
        lab):
    """An alert accepted before the revocation is still delivered: a send
    --wait cut off by the revocation says the alert is not confirmed
    (exit 4), never that it was not delivered."""
    import signal
    env = lab.env()
    env.use_directory(1)
    lab.redis(env)
    relay = lab.relay(env)  # no receiver: nobody acknowledges
    p = lab.send_proc(env, "--type", "panic", "--wait", "ack",
                      "--wait-timeout", "60", "--timeout", "10")
    p.wait_for(r"^accepted alert_id=", "stdout", timeout=15)
    env.sign_directory(2, revoked=[env.device_id])
    relay.proc.signal(signal.SIGHUP)
    rc = p.wait_exit(30)
    err = p.text("stderr")
    assert rc == 4, (rc, err)
    assert "revoked" in err
    assert last_line(err).startswith(UNCONFIRMED), err
    assert "NOT DELIVERED" not in err
