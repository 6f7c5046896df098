"""One relay's refusal is that relay's word, not the alert's end.

A relay answers an alert with an error code (conflict, stale,
unknown_recipient, bad_envelope, bad_signature) or announces a max_frame
too small for it: the device tries the next configured relay, in
`alertctl send`, in `alertctl watch` and in libalertclient's ar_send.
The alert is marked refused in the outbox only when every configured
relay refused it, and then said loudly (ALARM NOT DELIVERED).

The refusing relay is a small Python TLS server (RefusingRelay) that
speaks the device protocol up to `ready` and then refuses whatever alert
comes, as a hostile or broken relay can; the honest one is a real
alertrelayd with redis-server."""

import json
import os
import re
import socket
import ssl
import struct
import threading
import time

import pytest

import harness
import helpers
import proto
from harness import alertctl_bin
from helpers import parse_send
from test_libalertclient import lib_check, run_check

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

NOT_DELIVERED = "ALARM NOT DELIVERED. Call 112 now. ("
# the relay closes the connection after these (docs/PROTOCOL.md)
CLOSES = ("bad_envelope", "bad_signature")


class RefusingRelay:
    """A TLS 1.3 listener with the relay's certificate (so the device's
    pin matches) that says hello, takes any auth, says ready, and answers
    every alert with an error frame of code `code`.  max_frame: what its
    hello announces.  Records the alert_ids it was sent."""

    def __init__(self, env, code="conflict", max_frame=65536, auth_code=None,
                 request_code=None):
        self.env = env
        self.code = code
        self.auth_code = auth_code  # an error for the auth itself
        # an error for each cancel, status and watch; records them
        self.request_code = request_code
        self.requests = []
        self.max_frame = max_frame
        self.port = harness.free_port()
        self.label = "127.0.0.1:%d" % self.port
        self.alerts = []
        self.sessions = 0
        self.generation = 0  # drop_sessions() ends the sessions before it
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(env.cert), str(env.tls_key))
        self.sock = None
        self.threads = []

    def start(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(5)
        if self.sock is not None:
            self.sock.close()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._session, args=(conn,),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    @staticmethod
    def _send(s, obj):
        payload = json.dumps(obj).encode()
        s.sendall(struct.pack(">I", len(payload)) + payload)

    def drop_sessions(self):
        """Closes the sessions open now, as a relay restart would."""
        with self.lock:
            self.generation += 1

    def _recv(self, s, buf, generation):
        """The next frame; buf (a bytearray) keeps what came after it."""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            if self.stopping.is_set() or self.generation != generation:
                return None
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return None
            buf += chunk
        n = struct.unpack(">I", buf[:4])[0]
        frame = json.loads(bytes(buf[4:4 + n]))
        del buf[:4 + n]
        return frame

    def _session(self, conn):
        conn.settimeout(0.2)
        try:
            s = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        try:
            self._talk(s)
        except (ssl.SSLError, OSError, ValueError):
            pass
        finally:
            s.close()

    def _talk(self, s):
        with self.lock:
            self.sessions += 1
            generation = self.generation
        self._send(s, {"type": "hello", "version": 1,
                       "challenge": proto.b64e(os.urandom(32)),
                       "max_frame": self.max_frame, "features": []})
        buf = bytearray()
        auth = self._recv(s, buf, generation)
        if auth is None or auth.get("type") != "auth":
            return
        if self.auth_code is not None:
            self._send(s, {"type": "error", "code": self.auth_code,
                           "message": "said by a test relay"})
            return
        self._send(s, {"type": "ready", "device_id": auth["device_id"]})
        while True:
            f = self._recv(s, buf, generation)
            if f is None:
                return
            if f.get("type") == "ping":
                self._send(s, {"type": "pong"})
            if f.get("type") in REQUESTS:
                self._request(s, f)
            if f.get("type") != "alert":
                continue
            aid = json.loads(proto.b64d(f["envelope"]))["alert_id"]
            with self.lock:
                self.alerts.append(aid)
            self._send(s, {"type": "error", "code": self.code,
                           "message": "refused by a test relay",
                           "alert_id": aid})
            if self.code in CLOSES:
                return


    def _request(self, s, f):
        aid = f.get("alert_id")
        if aid is None:  # a cancel names it inside
            aid = json.loads(proto.b64d(f["cancel"]))["alert_id"]
        with self.lock:
            self.requests.append((f["type"], aid))
        if self.request_code is not None:
            self._send(s, {"type": "error", "code": self.request_code,
                           "message": "said by a test relay",
                           "alert_id": aid})


REQUESTS = ("cancel", "status", "watch")


def refusing(lab, env, **kw):
    r = RefusingRelay(env, **kw)
    lab.things.append(r)
    return r.start()


def client_conf(env, path, relays):
    """env's client configuration with [client] relay = relays."""
    env.write_client_conf(path)
    text = path.read_text()
    one = "relay = 127.0.0.1:%d" % env.relay_port
    assert one in text
    path.write_text(text.replace(one, "relay = " + ", ".join(relays)))
    os.chmod(path, 0o600)
    return path


def send_panic(lab, env, relays, *extra, timeout="20"):
    """alertctl send --type panic through the relays, in this order:
    (conf, rc, stdout, stderr)."""
    name = "via-%s.conf" % "_".join(r.replace(":", "-") for r in relays)
    conf = client_conf(env, env.dir / name, relays)
    rc, out, err = lab.send(env, "--type", "panic", *extra,
                            "--timeout", timeout, conf=conf)
    return conf, rc, out, err


def accepted_id(rc, out, err):
    """The alert id of a send that ended accepted (exit 0)."""
    assert rc == 0, (rc, out, err)
    aid, acc = parse_send(out)
    assert acc and acc.group(1) == aid, out
    return aid


def ctl(lab, conf, *args, env=None):
    """alertctl -c conf args to completion, its stderr checked for
    sanitizer reports at teardown."""
    argv = [alertctl_bin(), "-c", conf] + list(args)
    cp = harness.run(argv, timeout=60, env=env)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def real_label(env):
    return "127.0.0.1:%d" % env.relay_port


def marks(env, aid):
    d = env.dir / "outbox"
    return sorted(p.name[len(aid) + 1:] for p in d.glob(aid + ".*")
                  if p.name != aid + ".json")


def last_line(stderr):
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines, "nothing on stderr"
    return lines[-1]


def unsent_entry(env, created_at=None):
    """An alert in the outbox as send leaves one it could not deliver;
    its alert_id."""
    frame, env_bytes, aid = proto.build_alert(
        helpers.device_key(env), env.device_id, helpers.recipient_pks(env),
        alert_type="panic", created_at=created_at)
    outbox = env.dir / "outbox"
    outbox.mkdir(mode=0o700, exist_ok=True)
    (outbox / (aid + ".json")).write_text(json.dumps(
        {"v": 1, "alert_id": aid, "mac": "00" * 32,
         "envelope": env_bytes.decode(), "sig": frame["sig"],
         "track": True}))
    return aid


# what the refusing relay is made to do: an error code, or a max_frame
# too small for the alert (600: auth fits, the alert does not) or even
# for auth (100)
REFUSALS = [
    pytest.param({"code": "conflict"}, id="conflict"),
    pytest.param({"code": "stale"}, id="stale"),
    pytest.param({"code": "unknown_recipient"}, id="unknown_recipient"),
    pytest.param({"code": "bad_envelope"}, id="bad_envelope"),
    pytest.param({"code": "bad_signature"}, id="bad_signature"),
    pytest.param({"max_frame": 600}, id="max_frame_600"),
    pytest.param({"max_frame": 100}, id="max_frame_100"),
]


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("how", REFUSALS)
def test_send_takes_a_refused_alert_to_the_next_relay(lab, how):
    """First relay refuses, the honest second accepts: exit 0, accepted
    by the second, nothing marked refused, and stderr says which relay
    refused and that the next was tried."""
    env, redis, _relay, recv = lab.stack(receivers=["contactpunt"])
    bad = refusing(lab, env, **how)
    _, rc, out, err = send_panic(lab, env, [bad.label, real_label(env)],
                                 "--message", "hier")
    aid = accepted_id(rc, out, err)
    assert marks(env, aid) == ["accepted"], (marks(env, aid), err)
    assert "ALARM" not in err, err
    assert bad.label in err and "trying the next relay" in err, err
    if "code" in how:
        assert bad.alerts == [aid], bad.alerts
        assert "alert %s refused by relay %s" % (aid, bad.label) in err, err
    else:
        assert bad.sessions >= 1 and bad.alerts == [], bad.alerts
    assert [a["alert_id"] for a in recv["contactpunt"].wait_alerts(1)] == \
        [aid]


@pytest.mark.hard_timeout(60)
# unknown_device: what relays before the change of auth answers said for
# an id they did not know (docs/PROTOCOL.md); clients still take it
@pytest.mark.parametrize("code", ["revoked", "unknown_device", "auth_failed"])
def test_a_relay_saying_the_device_is_shut_out_is_that_relays_word(lab,
                                                                   code):
    """A relay that says the device is revoked (unknown, failed its
    auth) could be lying to stop every alert: the next relay is asked,
    and the honest one accepts.  Said by every relay, the run ends as
    before."""
    env, redis, _relay, recv = lab.stack(receivers=["contactpunt"])
    bad = refusing(lab, env, auth_code=code)
    _, rc, out, err = send_panic(lab, env, [bad.label, real_label(env)])
    aid = accepted_id(rc, out, err)
    assert bad.sessions >= 1 and "trying the next relay" in err, err
    assert [a["alert_id"] for a in recv["contactpunt"].wait_alerts(1)] == \
        [aid]
    one, two = (refusing(lab, env, auth_code=code),
                refusing(lab, env, auth_code=code))
    _, rc, out, err = send_panic(lab, env, [one.label, two.label])
    assert rc != 0 and code in err, (rc, out, err)
    assert one.sessions == 1 and two.sessions == 1, (one.sessions,
                                                     two.sessions)


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("how", [REFUSALS[0], REFUSALS[3], REFUSALS[5]])
def test_send_refused_by_every_relay_is_marked_and_said(lab, how):
    """Every configured relay refuses: the alert is marked refused, the
    last line says ALARM NOT DELIVERED, exit 1, and each relay was
    asked once."""
    env = lab.env()
    one, two = refusing(lab, env, **how), refusing(lab, env, **how)
    conf, rc, out, err = send_panic(lab, env, [one.label, two.label])
    assert rc == 1, (rc, out, err)
    aid, acc = parse_send(out)
    assert acc is None, out
    assert marks(env, aid) == ["refused"], (marks(env, aid), err)
    line = last_line(err)
    assert line.startswith(NOT_DELIVERED), err
    assert "refused by all 2 relays" in line, line
    assert one.label in err and two.label in err, err
    if "code" in how:
        assert one.alerts == [aid] and two.alerts == [aid], \
            (one.alerts, two.alerts)
    # a later send does not try it again, and says nothing is unsent
    cp = ctl(lab, conf, "watch", "--once", "--timeout", "5")
    assert "no unsent alert in the outbox" in cp.stdout, cp.stdout + cp.stderr


@pytest.mark.hard_timeout(90)
def test_refused_by_one_relay_while_the_other_is_down_waits_in_the_outbox(
        lab):
    """The only relay that has not refused it cannot be reached: send
    gives up at its timeout, the alert unsent (not refused) in the
    outbox, and once that relay is back watch delivers it."""
    env = lab.env()
    bad = refusing(lab, env, code="conflict")
    conf, rc, out, err = send_panic(lab, env, [bad.label, real_label(env)],
                                    timeout="4")
    assert rc == 1, (rc, out, err)
    aid, acc = parse_send(out)
    assert acc is None, out
    assert marks(env, aid) == [], (marks(env, aid), err)
    assert last_line(err).startswith(NOT_DELIVERED), err
    assert "alert %s waits in the outbox" % aid in err, err
    # refused once; not sent it again in the later rounds of this send
    assert bad.alerts == [aid] and bad.sessions >= 2, \
        (bad.alerts, bad.sessions)
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    cp = ctl(lab, conf, "watch", "--once", "--timeout", "20")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "accepted alert_id=%s " % aid in cp.stdout, cp.stdout
    assert marks(env, aid) == ["accepted"], cp.stderr
    assert [a["alert_id"] for a in recv.wait_alerts(1)] == [aid]


@pytest.mark.hard_timeout(60)
def test_send_in_dutch_names_the_relay_that_refused(lab):
    """alertctl speaks Dutch by default: the refusal line too."""
    env, _redis, _relay, _recv = lab.stack()
    bad = refusing(lab, env, code="conflict")
    conf = client_conf(env, env.dir / "two.conf", [bad.label, real_label(env)])
    cp = ctl(lab, conf, "send", "--type", "panic", "--timeout", "20",
             env={"LANGUAGE": "nl", "LANG": "C.UTF-8",
                  "ALERTRELAY_LOCALEDIR": str(harness.build_dir() / "locale")})
    assert cp.returncode == 0, cp.stdout + cp.stderr
    aid, _ = parse_send(cp.stdout.splitlines())
    assert "alarm %s geweigerd door relay %s" % (aid, bad.label) in \
        cp.stderr, cp.stderr
    assert "nu de volgende relay" in cp.stderr, cp.stderr


@pytest.mark.hard_timeout(60)
def test_an_earlier_unsent_alert_refused_by_one_relay_is_not_marked(lab):
    """send sends the outbox's unsent alerts before its own: one relay's
    refusal of such an alert does not mark it refused (it waits for the
    next send or watch), and the new alert goes through."""
    env, _redis, _relay, _recv = lab.stack()
    old = unsent_entry(env)
    bad = refusing(lab, env, code="conflict")
    _, rc, out, err = send_panic(lab, env, [bad.label, real_label(env)])
    aid = accepted_id(rc, out, err)
    assert "refused" not in marks(env, old), (marks(env, old), err)
    assert marks(env, aid) == ["accepted"], err


@pytest.mark.hard_timeout(60)
def test_watch_takes_a_refused_alert_to_the_next_relay(lab):
    env, _redis, _relay, recv = lab.stack(receivers=["contactpunt"])
    aid = unsent_entry(env)
    bad = refusing(lab, env, code="conflict")
    conf = client_conf(env, env.dir / "two.conf", [bad.label, real_label(env)])
    cp = ctl(lab, conf, "watch", "--once", "--timeout", "20")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "accepted alert_id=%s " % aid in cp.stdout, cp.stdout
    assert marks(env, aid) == ["accepted"], (marks(env, aid), cp.stderr)
    assert bad.alerts == [aid], bad.alerts
    assert "alert %s refused by relay %s" % (aid, bad.label) in cp.stderr
    assert [a["alert_id"] for a in recv["contactpunt"].wait_alerts(1)] == \
        [aid]


@pytest.mark.hard_timeout(90)
def test_what_relays_said_of_the_device_is_forgotten_once_a_session_settled(
        lab):
    """watch holds a session with B after A said the device is revoked.
    When B's session is lost, and B and C now say revoked while A takes
    the device again, watch goes back to A: what A said before the
    settled session is old news.  Kept, A's old word and B's and C's new
    ones made every relay, and watch ended as if the device were shut
    out everywhere."""
    env = lab.env()
    a = refusing(lab, env, auth_code="revoked")
    b, c = refusing(lab, env), refusing(lab, env)
    conf = client_conf(env, env.dir / "three.conf",
                       [a.label, b.label, c.label])
    watch = lab.spawn([alertctl_bin(), "-c", str(conf), "watch"], "watch")
    harness.wait_until(lambda: a.sessions == 1 and b.sessions == 1, 15,
                       what="A refused, B holds the session")
    time.sleep(1)  # B's session is settled (keepalive from ready on)
    assert b.sessions == 1 and c.sessions == 0 and watch.running()
    a.auth_code = None
    b.auth_code = c.auth_code = "revoked"
    b.drop_sessions()
    harness.wait_until(lambda: a.sessions == 2, 15,
                       what="watch back at A:\n" + watch.tail())
    time.sleep(1)
    assert watch.running(), watch.tail()
    assert c.sessions == 1, c.sessions


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("code", ["conflict", "bad_signature"])
def test_watch_marks_refused_only_what_every_relay_refused(lab, code):
    env = lab.env()
    aid = unsent_entry(env)
    one, two = refusing(lab, env, code=code), refusing(lab, env, code=code)
    conf = client_conf(env, env.dir / "bad.conf", [one.label, two.label])
    cp = ctl(lab, conf, "watch", "--once", "--timeout", "20")
    assert marks(env, aid) == ["refused"], (marks(env, aid), cp.stderr)
    assert one.alerts == [aid] and two.alerts == [aid], \
        (one.alerts, two.alerts)
    assert "alert %s not accepted: refused by all 2 relays" % aid in \
        cp.stderr, cp.stderr
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.hard_timeout(120)
def test_libalertclient_send_goes_to_the_next_relay(lab, tmp_path):
    """ar_send itself: first relay refuses, the second accepts (status
    0, the accepted alert is ours); every relay refusing ends it with
    AR_E_REFUSED and the outbox entry marked refused."""
    env, _redis, _relay, _recv = lab.stack()
    bad = refusing(lab, env, code="conflict")
    exe = lib_check(tmp_path)
    conf = client_conf(env, env.dir / "two.conf", [bad.label, real_label(env)])
    cp = run_check(lab, [exe, "send", conf], 60)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    assert "send ended: status 0" in cp.stdout, cp.stdout
    aid = cp.stdout.split("send rc 0 (success) alert ", 1)[1][:32]
    assert bad.alerts == [aid], bad.alerts
    assert marks(env, aid) == ["accepted"]

    other = refusing(lab, env, code="stale")
    conf = client_conf(env, env.dir / "bad.conf", [bad.label, other.label])
    cp = run_check(lab, [exe, "send", conf, "refused"], 60)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    assert "send ended: status 10" in cp.stdout, cp.stdout  # AR_E_REFUSED
    aid = cp.stdout.split("send rc 0 (success) alert ", 1)[1][:32]
    assert marks(env, aid) == ["refused"]
    assert "refused by all 2 relays" in cp.stdout, cp.stdout


# What a broken or hostile relay can answer besides refusing the alert
# itself: an error code to the auth (RefusingRelay.auth_code), or the
# alert answered with a code that refuses nothing sent (unknown_alert).
# Before, each of these ended the run at the first relay.
RELAY_WORDS = [
    pytest.param({"auth_code": c}, id="auth_" + c)
    for c in ("conflict", "bad_envelope", "bad_signature",
              "unknown_recipient", "unknown_alert")
] + [pytest.param({"code": "unknown_alert"}, id="alert_unknown_alert")]


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("how", RELAY_WORDS)
def test_any_error_code_is_that_relays_word(lab, how):
    """A relay answers the auth or the alert with any error code: send
    tries the next relay, and the honest one accepts (exit 0).  Before,
    send ended at once with ALARM NOT DELIVERED, the second relay never
    asked."""
    env, _redis, _relay, recv = lab.stack(receivers=["contactpunt"])
    bad = refusing(lab, env, **how)
    _, rc, out, err = send_panic(lab, env, [bad.label, real_label(env)])
    aid = accepted_id(rc, out, err)
    assert bad.sessions >= 1 and "trying the next relay" in err, err
    assert "ALARM" not in err, err
    assert [a["alert_id"] for a in recv["contactpunt"].wait_alerts(1)] == \
        [aid]


@pytest.mark.hard_timeout(60)
def test_an_error_code_said_by_every_relay_ends_send(lab):
    """Every relay answers the auth with the same code: each is asked
    once, then send ends with ALARM NOT DELIVERED (exit 1)."""
    env = lab.env()
    one = refusing(lab, env, auth_code="bad_envelope")
    two = refusing(lab, env, auth_code="bad_envelope")
    _, rc, out, err = send_panic(lab, env, [one.label, two.label])
    assert rc == 1 and "bad_envelope" in err, (rc, out, err)
    assert last_line(err).startswith(NOT_DELIVERED), err
    assert one.sessions == 1 and two.sessions == 1, (one.sessions,
                                                     two.sessions)


def button_on(lab, env, tmp_path, relays, extra=()):
    """alertctl button with [client] relay = relays and [button] extra:
    (proc, button)."""
    from test_button import Button, add_button, start_button
    client_conf(env, env.client_conf, relays)
    button = Button(tmp_path / "event0")
    add_button(env, button.path, extra=extra)
    return start_button(lab, env), button


@pytest.mark.hard_timeout(90)
def test_button_goes_past_a_relay_that_refuses_its_auth(lab, tmp_path):
    """The first relay answers the button's auth with "conflict": the
    button connects to the second, its alert is accepted and delivered,
    and it keeps running.  Before, the button process exited on its
    first connection."""
    from test_button import HOLD, ID_RX, out, raised
    env, _redis, _relay, recv = lab.stack(receivers=["contactpunt"])
    bad = refusing(lab, env, auth_code="conflict")
    p, button = button_on(lab, env, tmp_path, [bad.label, real_label(env)])
    try:
        button.press(HOLD + 0.4)
        p.wait_for(r"alert %s: accepted by the relay" % ID_RX, "stdout", 15)
        (aid,) = raised(p)
        assert [a["alert_id"] for a in
                recv["contactpunt"].wait_alerts(1)] == [aid]
        assert p.running() and bad.sessions >= 1, out(p)
    finally:
        button.close()


@pytest.mark.hard_timeout(90)
def test_button_refused_by_every_relay_keeps_trying(lab, tmp_path):
    """Every relay says the device is revoked: the button does not exit
    but asks them again after its backoff, and a hold still raises an
    alert, kept for when a relay takes it.  Before, it exited."""
    from test_button import HOLD, ID_RX, raised
    env, _redis, _relay, recv = lab.stack(receivers=["contactpunt"])
    one = refusing(lab, env, auth_code="revoked")
    two = refusing(lab, env, auth_code="revoked")
    p, button = button_on(lab, env, tmp_path, [one.label, two.label])
    try:
        harness.wait_until(lambda: one.sessions >= 2 and two.sessions >= 2,
                           20, what="both relays asked again:\n" + p.tail())
        assert p.running(), p.tail()
        button.press(HOLD + 0.4)
        p.wait_for(r"panic alert %s raised" % ID_RX, "stdout", 10)
        (aid,) = raised(p)
        assert p.running(), p.tail()
    finally:
        button.close()


# what the button says while every relay refuses the device
DEVICE_REFUSED = "every relay refuses this device: "
HOLD_REFUSED = (DEVICE_REFUSED + "alert %s is kept and offered to them "
                "again, but ALARM NOT DELIVERED. Call 112 now. (")


def led_toggles(led, seconds):
    """How often the LED was switched in the next seconds."""
    n = len(led.read())
    time.sleep(seconds)
    return len(led.read()) - n


@pytest.mark.hard_timeout(120)
def test_button_refused_by_every_relay_says_call_112(lab, tmp_path):
    """Every relay says the device is revoked: the button says so on
    stdout at once, with 112, and its LED blinks fast; a hold raises the
    alert but says ALARM NOT DELIVERED, call 112, not "not connected"
    (the device is connected, and refused).  Once a relay takes the
    device again, the button says so and the LED follows the alert
    again.  Before, stdout said only that the alert was kept and sent
    as soon as a relay could be reached, and the LED was off."""
    from test_button import HOLD, LED_MISC, Led, out, raised
    env = lab.env()
    one = refusing(lab, env, auth_code="revoked")
    two = refusing(lab, env, auth_code="revoked")
    led = Led(tmp_path / "led0")
    p, button = button_on(lab, env, tmp_path, [one.label, two.label],
                          ["led = %d" % LED_MISC, "led_device = %s" % led.path])
    try:
        p.wait_for(DEVICE_REFUSED + r"no alarm from this button gets "
                   r"through until one takes it again\. In danger, call "
                   r"112\. \(.*revoked", "stdout", 20)
        # fast (125 ms), not the slow blink of an unsent alert (500 ms)
        assert led_toggles(led, 2) >= 9, led.values
        button.press(HOLD + 0.4)
        p.wait_for(r"ALARM NOT DELIVERED", "stdout", 10)
        (aid,) = raised(p)
        assert HOLD_REFUSED % aid in out(p), out(p)
        button.press(HOLD + 0.4)  # held again: still that one, said again
        harness.wait_until(lambda: out(p).count(HOLD_REFUSED % aid) == 2, 10,
                           what="said again:\n" + out(p))
        assert "not connected" not in out(p), out(p)
        assert out(p).count(DEVICE_REFUSED) == 3, out(p)  # not per round
        assert one.sessions >= 2 and two.sessions >= 2 and p.running()

        # a relay takes the device again (and refuses the alert)
        one.auth_code = two.auth_code = None
        p.wait_for(r"relay 127\.0\.0\.1:\d+ accepts this device again",
                   "stdout", 20)
        p.wait_for(r"alert %s was refused by every relay" % aid, "stdout", 20)
        time.sleep(0.5)
        assert led_toggles(led, 1.5) == 0 and led.values[-1] == 0, \
            led.values
    finally:
        button.close()


@pytest.mark.hard_timeout(90)
def test_button_alert_refused_by_every_relay_says_call_112(lab, tmp_path):
    """Every relay takes the device but refuses its alert: the button
    says which alert every relay refused, then ALARM NOT DELIVERED. Call
    112 now., as send does, with the reason once.  Before, it said only
    that the relay refused the alert; then, the reason twice."""
    from test_button import HOLD, out, raised
    env = lab.env()
    one, two = refusing(lab, env), refusing(lab, env)
    p, button = button_on(lab, env, tmp_path, [one.label, two.label])
    try:
        button.press(HOLD + 0.4)
        p.wait_for(r"alert [0-9a-f]{32} was refused by every relay$",
                   "stdout", 20)
        (aid,) = raised(p)
        assert one.alerts == [aid] and two.alerts == [aid]
        m = p.wait_for(r"^%s(refused by all 2 relays.*)\)$"
                       % re.escape(NOT_DELIVERED), "stdout", 5)
        assert out(p).count(m.group(1)) == 1, out(p)
        assert p.running()
    finally:
        button.close()


@pytest.mark.hard_timeout(90)
def test_button_refused_by_every_relay_in_dutch(lab, tmp_path):
    """The official reads Dutch by default: the refusal in Dutch, with
    the words send uses (ALARM NIET AFGELEVERD. Bel nu 112.)."""
    from test_button import HOLD, Button, add_button
    env = lab.env()
    one = refusing(lab, env, auth_code="revoked")
    two = refusing(lab, env, auth_code="revoked")
    client_conf(env, env.client_conf, [one.label, two.label])
    button = Button(tmp_path / "event0")
    add_button(env, button.path)
    p = harness.Proc([alertctl_bin(), "-c", str(env.client_conf), "button"],
                     "button", lab.logdir,
                     env={"LANGUAGE": "nl", "LANG": "C.UTF-8"})
    lab.things.append(p)
    p.start()
    try:
        p.wait_for(r"alle relays weigeren dit apparaat: geen alarm van "
                   r"deze knop komt door.*Bel 112 bij gevaar", "stdout", 20)
        button.press(HOLD + 0.4)
        p.wait_for(r"alarm [0-9a-f]{32} is bewaard en wordt hun opnieuw "
                   r"aangeboden, maar ALARM NIET AFGELEVERD\. Bel nu 112\.",
                   "stdout", 10)
    finally:
        button.close()


@pytest.mark.hard_timeout(60)
def test_watch_refused_by_every_relay_keeps_trying(lab):
    """watch runs for ever: every relay refusing the device starts a
    new round after the backoff; with --once it ends."""
    env = lab.env()
    one = refusing(lab, env, auth_code="conflict")
    conf = client_conf(env, env.dir / "one.conf", [one.label])
    watch = lab.spawn([alertctl_bin(), "-c", str(conf), "watch"], "watch")
    harness.wait_until(lambda: one.sessions >= 3, 20,
                       what="asked again:\n" + watch.tail())
    assert watch.running(), watch.tail()
    cp = ctl(lab, conf, "watch", "--once", "--timeout", "20")
    assert cp.returncode == 1 and "conflict" in cp.stderr, \
        cp.stdout + cp.stderr


# Since 30 November 2026 cancel and status too take any error code (and a
# max_frame too small for the request) as that relay's word.  Before,
# "unknown_alert" (or the request not fitting) ended them at the first
# relay, another relay holding the alert never asked.
REQUEST_WORDS = [
    pytest.param({"request_code": "unknown_alert"}, id="unknown_alert"),
    # auth (about 150 bytes) fits, a cancel (about 300) does not
    pytest.param({"max_frame": 220}, id="max_frame_220"),
]


def open_alert(lab, env):
    """An alert accepted by the real relay alone: its alert_id."""
    _, rc, out, err = send_panic(lab, env, [real_label(env)])
    return accepted_id(rc, out, err)


@pytest.mark.hard_timeout(90)
@pytest.mark.parametrize("how", REQUEST_WORDS)
def test_cancel_and_status_reach_the_relay_that_knows_the_alert(lab, how):
    """The first relay answers status and cancel with an error code, or
    its max_frame does not take the cancel: both go on to the real relay,
    which knows the alert (exit 0, its state, then cancelled there)."""
    env, redis, _relay, _recv = lab.stack()
    aid = open_alert(lab, env)
    bad = refusing(lab, env, **how)
    conf = client_conf(env, env.dir / "two.conf", [bad.label, real_label(env)])
    cp = ctl(lab, conf, "status", aid, "--timeout", "20")
    assert cp.returncode == 0 and "open" in cp.stdout, cp.stdout + cp.stderr
    cp = ctl(lab, conf, "cancel", aid, "--timeout", "20")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout == "cancelled %s\n" % aid, cp.stdout
    assert "trying the next relay" in cp.stderr, cp.stderr
    if "max_frame" in how:
        assert "cancel: larger than this relay accepts" in cp.stderr, \
            cp.stderr
    else:
        assert ("status", aid) in bad.requests and \
            ("cancel", aid) in bad.requests, bad.requests
    assert redis_state(env, redis, aid) == "cancelled"


def redis_state(env, redis, aid):
    c = redis.client()
    try:
        return c.hgetall("%s:alert:%s" % (env.redis["prefix"], aid)).get(
            "state")
    finally:
        c.close()


@pytest.mark.hard_timeout(90)
def test_unknown_alert_said_by_every_relay_ends_cancel_and_status(lab):
    """Every relay answers unknown_alert: each is asked once, then the
    command ends as before (exit 1, the relay does not know the alert)."""
    env = lab.env()
    aid = "ab" * 16
    one = refusing(lab, env, request_code="unknown_alert")
    two = refusing(lab, env, request_code="unknown_alert")
    conf = client_conf(env, env.dir / "bad.conf", [one.label, two.label])
    for cmd in ("status", "cancel"):
        cp = ctl(lab, conf, cmd, aid, "--timeout", "20")
        assert cp.returncode == 1, cp.stdout + cp.stderr
        assert last_line(cp.stderr) == "alertctl: error: the relay does " \
            "not know alert %s (a typo, another device's alert, or " \
            "expired)" % aid, cp.stderr
        assert one.requests.count((cmd, aid)) == 1 and \
            two.requests.count((cmd, aid)) == 1, (one.requests,
                                                  two.requests)


PIN, DURESS = "47119305", "80802461"


def set_pins(lab, env):
    """The device's own PIN and its duress PIN (alertctl pincode set)."""
    argv = [alertctl_bin(), "-c", str(env.client_conf), "pincode", "set"]
    cp = harness.run(argv, timeout=60, input="%s\n%s\n" % (PIN, DURESS))
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stdout + cp.stderr


def cancel_with_pin(lab, conf, aid, pin):
    """alertctl cancel behind the PIN: (exit status, stdout, stderr) with
    the alert id made X, for a byte-for-byte comparison."""
    argv = [alertctl_bin(), "-c", str(conf), "cancel", aid, "--timeout",
            "20"]
    cp = harness.run(argv, timeout=60, input=pin + "\n")
    lab.short_runs.append((argv, cp.stderr))
    return (cp.returncode, cp.stdout.replace(aid, "X"),
            cp.stderr.replace(aid, "X"))


@pytest.mark.hard_timeout(120)
@pytest.mark.parametrize("code", ["unknown_alert", "bad_signature"])
def test_a_duress_cancel_past_a_refusing_relay_looks_real(lab, code):
    """The first relay answers the cancel with unknown_alert, or with
    bad_signature as a relay older than cancel v2 does: a real and a
    duress cancel both go on to the real relay and print the same bytes
    with the same exit status (0, cancelled); there the real one is
    cancelled and the duress one stays open as duress.  Before, the
    first ended both at the first relay (the relay does not know the
    alert, exit 1), the second told both cancelled there, the real
    alert left open."""
    env, redis, _relay, _recv = lab.stack()
    set_pins(lab, env)
    real, forced = open_alert(lab, env), open_alert(lab, env)
    bad = refusing(lab, env, request_code=code)
    conf = client_conf(env, env.dir / "two.conf", [bad.label, real_label(env)])
    r = cancel_with_pin(lab, conf, real, PIN)
    d = cancel_with_pin(lab, conf, forced, DURESS)
    assert r == d, (r, d)
    assert r[0] == 0 and r[1] == "cancelled X\n", r
    assert ("cancel", real) in bad.requests and \
        ("cancel", forced) in bad.requests, bad.requests
    assert redis_state(env, redis, real) == "cancelled"
    assert redis_state(env, redis, forced) == "open"


@pytest.mark.hard_timeout(90)
def test_a_v2_cancel_every_relay_refused_as_older_is_told_cancelled(lab):
    """Every relay answers a cancel behind a PIN bad_signature, as relays
    older than cancel v2 do: each is asked once, then it is told as a
    cancel (exit 0), as one such relay's answer was before."""
    env = lab.env()
    set_pins(lab, env)
    one = refusing(lab, env, request_code="bad_signature")
    two = refusing(lab, env, request_code="bad_signature")
    conf = client_conf(env, env.dir / "old.conf", [one.label, two.label])
    aid = "cd" * 16
    for pin in (PIN, DURESS):
        r = cancel_with_pin(lab, conf, aid, pin)
        assert r[0] == 0 and r[1] == "cancelled X\n", r
    assert one.requests == [("cancel", aid)] * 2 and \
        two.requests == [("cancel", aid)] * 2, (one.requests, two.requests)


class Blackhole:
    """A relay address that listens and never accepts: TCP connects, TLS
    never answers (a relay cut off, or its host hung)."""

    def __init__(self):
        self.port = harness.free_port()
        self.label = "127.0.0.1:%d" % self.port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)

    def stop(self):
        self.sock.close()


@pytest.mark.hard_timeout(90)
def test_one_relay_shuts_the_device_out_another_never_answers(lab):
    """One relay answers auth_failed (say, it has not loaded the directory
    that enrols this device yet), the other never answers: at the
    deadline that is not every relay's word.  The official must read
    "call 112" with the alert kept in the outbox, not that the device can
    no longer raise alarms (review rv-m4: the last relay's code was taken
    as every relay's)."""
    env = lab.env()
    shut = refusing(lab, env, auth_code="auth_failed")
    hole = Blackhole()
    try:
        _, rc, out, err = send_panic(lab, env, [shut.label, hole.label],
                                     timeout="8")
    finally:
        hole.stop()
    assert rc == 1, (rc, err)
    assert "Call 112 now" in last_line(err), err
    assert "can no longer raise alarms" not in err, err
    outbox = env.dir / "outbox"
    assert len(list(outbox.glob("*.json"))) == 1, err
