"""The panic button at the desk (issue 14, section 6): `alertctl button`
reads struct input_event records from what stands in for the button's
evdev node (a FIFO: this machine has no uinput), raises one panic alert
per hold through a real alertrelayd with Redis, delivered to `alertctl
receive`, which decrypts the configured text and place.  Short presses,
another key and garbage raise nothing; a hold while the alert is open
raises nothing new; after the acknowledgement a hold raises a new one;
with the relay down the alert waits in the outbox until it comes back."""

import os
import re
import struct
import time

import pytest

import harness
from harness import wait_until

EV_SYN, EV_KEY, EV_LED = 0, 1, 0x11
KEY = 194  # KEY_F24, what the test button sends
LED_MISC = 8
MESSAGE = "Paniekknop bureau burgemeester, stadhuis kamer 2.14"
LAT, LON = 52.0799, 4.3113
HOLD = 0.6
ID_RX = r"([0-9a-f]{32})"


def record(type_, code, value):
    return struct.pack("llHHi", int(time.time()), 0, type_, code, value)


class Button:
    """A FIFO standing in for the event node, written as the kernel would."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path)
        # O_RDWR: opening never waits for the reader, and it never sees
        # end of file while the test holds it.
        self.fd = os.open(path, os.O_RDWR)

    def write(self, data):
        os.write(self.fd, data)

    def key(self, value, code=KEY):
        self.write(record(EV_KEY, code, value) + record(EV_SYN, 0, 0))

    def press(self, seconds, code=KEY):
        self.key(1, code)
        t = time.monotonic() + seconds
        while time.monotonic() < t:  # autorepeat, as a keyboard does
            time.sleep(0.1)
            self.key(2, code)
        self.key(0, code)

    def close(self):
        os.close(self.fd)


class Led:
    """A FIFO standing in for the LED's event node: what alertctl writes."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path)
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.buf = b""
        self.values = []

    def read(self):
        size = struct.calcsize("llHHi")
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buf += chunk
        while len(self.buf) >= size:
            _, _, t, c, v = struct.unpack("llHHi", self.buf[:size])
            self.buf = self.buf[size:]
            if t == EV_LED and c == LED_MISC:
                self.values.append(v)
        return self.values


def add_button(env, device, hold=HOLD, extra=()):
    conf = env.client_conf.read_text()
    conf += "\n".join(["", "[button]", "device = %s" % device,
                       "key = %d" % KEY, "hold = %s" % hold,
                       "message = %s" % MESSAGE, "lat = %s" % LAT,
                       "lon = %s" % LON, "accuracy = 5"] + list(extra)) + "\n"
    env.client_conf.write_text(conf)


def start_button(lab, env):
    argv = [harness.alertctl_bin(), "-c", str(env.client_conf), "button"]
    p = harness.Proc(argv, "button", lab.logdir, env={"LANGUAGE": "en"})
    lab.things.append(p)
    p.start()
    p.wait_for(r"panic button ready", "stdout", 10)
    return p


def out(p):
    return "\n".join(p.snapshot("stdout"))


def raised(p):
    return re.findall(r"panic alert %s raised" % ID_RX, out(p))


def raised_at(recv):
    """alert_ids of the alert.raised webhooks the receiver decrypted."""
    return [a["alert_id"] for a in recv.alerts() if a["type"] == "alert.raised"]


def stack_with_ack(lab):
    env = lab.env()
    ack_port = harness.free_port()
    token = harness.new_token()
    env.ack = {"listen": "127.0.0.1:%d" % ack_port}
    env.recipient_extra["contactpunt"] = {
        "ack_token_file": harness.write_secret(env.dir / "cp.ack", token)}
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    env.write_relay_conf()
    redis = lab.redis(env)
    relay = lab.relay(env)

    def ack(alert_id):
        st, body, _, _, _ = harness.https_request(
            ack_port, "POST", "/v1/alerts/%s/ack" % alert_id,
            headers={"Authorization": "Bearer " + token,
                     "Content-Length": "0"}, body=b"", cafile=env.cert)
        assert st == 200, (st, body)
    return env, redis, relay, ack


@pytest.mark.hard_timeout(120)
def test_hold_raises_one_alert_and_the_next_after_ack(lab, tmp_path):
    env, redis, relay, ack = stack_with_ack(lab)
    recv = lab.receiver(env, "contactpunt")
    button = Button(tmp_path / "event0")
    add_button(env, button.path)
    p = start_button(lab, env)

    # a brush against it, and the wrong key held long: nothing
    button.press(0.1)
    p.wait_for(r"pressed for 0\.\d s: nothing sent", "stdout", 15)
    button.press(HOLD + 0.5, code=KEY + 1)
    button.press(0.2)
    p.wait_for(r"pressed for 0\.\d s: nothing sent", "stdout", 5,
               start=1)
    assert raised(p) == []

    # a hold: one panic alert, delivered, text and place decrypted
    button.press(HOLD + 0.4)
    p.wait_for(r"alert %s: accepted by the relay" % ID_RX, "stdout", 15)
    (aid,) = raised(p)
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["verified"] is True and a["alert_id"] == aid
    assert a["alert_type"] == "panic" and a["message"] == MESSAGE
    assert a["location"]["lat"] == pytest.approx(LAT, abs=1e-6)
    assert a["location"]["lon"] == pytest.approx(LON, abs=1e-6)
    assert a["location"]["accuracy_m"] == pytest.approx(5)
    p.wait_for(r"alert %s: delivered" % aid, "stdout", 15)

    # held again, three times, while it is open: nothing new
    for _ in range(3):
        button.press(HOLD + 0.3)
    wait_until(lambda: out(p).count("is still open") == 3, 10,
               what="three 'still open' lines:\n" + p.tail())
    time.sleep(1)
    assert raised(p) == [aid]
    assert raised_at(recv) == [aid]

    # acknowledged: the button is free again, and the next hold is new
    ack(aid)
    p.wait_for(r"alert %s is acknowledged: the button is ready" % aid, "stdout", 15)
    assert (env.dir / "outbox" / (aid + ".closed")).exists()
    button.press(HOLD + 0.4)
    wait_until(lambda: len(raised(p)) == 2, 10, what=p.tail())
    second = raised(p)[1]
    assert second != aid
    wait_until(lambda: len(raised_at(recv)) == 2, 20, what=recv.proc.tail())
    assert raised_at(recv) == [aid, second]
    assert p.running()
    button.close()


@pytest.mark.hard_timeout(120)
def test_garbage_and_short_reads_do_not_crash_it(lab, tmp_path):
    env, redis, relay, ack = stack_with_ack(lab)
    recv = lab.receiver(env, "contactpunt")
    button = Button(tmp_path / "event0")
    add_button(env, button.path)
    p = start_button(lab, env)

    # records no kernel sends (type 0xffff, a key value of 7)
    button.write(struct.pack("llHHi", 0, 0, 0xffff, KEY, 1) +
                 struct.pack("llHHi", 0, 0, EV_KEY, KEY, 7))
    p.wait_for(r"malformed input record", "stderr", 15)
    # a whole press cut into pieces of one to five bytes
    data = record(EV_KEY, KEY, 1) + record(EV_SYN, 0, 0)
    i = 0
    while i < len(data):
        n = 1 + i % 5
        button.write(data[i:i + n])
        i += n
        time.sleep(0.01)
    time.sleep(HOLD + 0.4)
    button.key(0)
    p.wait_for(r"panic alert %s raised" % ID_RX, "stdout", 15)
    recv.wait_alerts(1, timeout=20)
    assert p.running()

    # unplugged (the writer goes: end of file) and plugged in again
    button.close()
    p.wait_for(r"gone \(end of file\)", "stderr", 15)
    fd = os.open(button.path, os.O_RDWR)
    try:
        os.write(fd, record(EV_SYN, 0, 0))
        p.wait_for(r"is back", "stderr", 40)
        assert p.text("stderr").count(" gone (") == 1, p.text("stderr")
    finally:
        os.close(fd)
    assert p.running()


@pytest.mark.hard_timeout(150)
def test_relay_down_at_the_press_keeps_it_in_the_outbox(lab, tmp_path):
    env = lab.env()
    lab.redis(env)
    recv = lab.receiver(env, "contactpunt")
    button = Button(tmp_path / "event0")
    led = Led(tmp_path / "led0")
    add_button(env, button.path, extra=["led = %d" % LED_MISC,
                                        "led_device = %s" % led.path])
    p = start_button(lab, env)

    button.press(HOLD + 0.4)
    p.wait_for(r"not connected to a relay right now", "stdout", 10)
    # not at a relay: the LED blinks
    wait_until(lambda: led.read().count(1) >= 2 and led.values.count(0) >= 2,
               10, what="LED blinking: %r" % led.values)
    (aid,) = raised(p)
    outbox = env.dir / "outbox"
    assert (outbox / (aid + ".json")).exists()
    assert not (outbox / (aid + ".accepted")).exists()
    # held again meanwhile: still that one, not at a relay yet
    button.press(HOLD + 0.4)
    p.wait_for(r"still open and not at a relay yet", "stdout", 15)

    lab.relay(env)
    p.wait_for(r"alert %s: accepted by the relay" % aid, "stdout", 30)
    (a,) = recv.wait_alerts(1, timeout=20)
    assert a["alert_id"] == aid and a["message"] == MESSAGE
    assert (outbox / (aid + ".accepted")).exists()
    assert raised(p) == [aid]
    # at the relay: the LED stays on
    time.sleep(1.5)
    n = len(led.read())
    time.sleep(1.5)
    assert led.read()[-1] == 1 and len(led.values) == n, led.values
    button.close()


@pytest.mark.hard_timeout(60)
def test_dutch_by_default_and_two_seconds_by_default(lab, tmp_path):
    """What the official reads is Dutch, and without a hold key a press
    must last 2 s: a 1.2 s press raises nothing."""
    env = lab.env()
    button = Button(tmp_path / "event0")
    conf = env.client_conf.read_text() + "\n".join(
        ["", "[button]", "device = %s" % button.path, "key = %d" % KEY]) + "\n"
    env.client_conf.write_text(conf)
    argv = [harness.alertctl_bin(), "-c", str(env.client_conf), "button"]
    p = harness.Proc(argv, "button", lab.logdir,
                     env={"LANGUAGE": "nl", "LANG": "C.UTF-8"})
    lab.things.append(p)
    p.start()
    p.wait_for(r"paniekknop klaar op .*: houd de knop 2\.0 s ingedrukt",
               "stdout", 10)
    button.press(1.2)
    p.wait_for(r"knop 1\.\d s ingedrukt: niets verstuurd", "stdout", 15)
    outbox = env.dir / "outbox"
    assert not outbox.exists() or not list(outbox.glob("*.json"))
    button.close()


@pytest.mark.hard_timeout(60)
def test_gpio_chip_missing_is_said_once_and_retried(lab):
    """The GPIO path (libgpiod): this kernel has no GPIO support
    (CONFIG_GPIOLIB unset, no loadable modules, so no gpio-sim or
    gpio-mockup); what can be checked is that a chip that is not there
    is reported once, retried, and nothing crashes."""
    env = lab.env()
    conf = env.client_conf.read_text() + "\n".join(
        ["", "[button]", "gpio_chip = gpiochip-none", "gpio_line = 17",
         "active_low = yes", "led = 18"]) + "\n"
    env.client_conf.write_text(conf)
    argv = [harness.alertctl_bin(), "-c", str(env.client_conf), "button"]
    p = harness.Proc(argv, "button", lab.logdir, env={"LANGUAGE": "en"})
    lab.things.append(p)
    p.start()
    p.wait_for(r"cannot open gpiochip-none; trying again", "stderr", 10)
    time.sleep(2.5)  # several reopen attempts, with backoff
    assert p.running()
    assert p.text("stderr").count("gpiochip-none") == 1, p.text("stderr")


def test_bad_button_config_is_refused(lab, tmp_path):
    env = lab.env()
    base = env.client_conf.read_text()
    for extra, why in ((["device = /dev/null"], "needs key"),
                       (["device = /dev/null", "key = 194", "hold = 0"],
                        "hold must be"),
                       (["device = /dev/null", "key = 194", "lat = 52"],
                        "lat and lon go together"),
                       (["device = /dev/null", "key = 194", "colour = red"],
                        "colour unknown key"),
                       (["device = /dev/null", "key = 194", "hold = 1",
                         "key = 195"], "key is given twice")):
        env.client_conf.write_text(base + "\n".join(["", "[button]"] + extra)
                                   + "\n")
        cp = harness.run([harness.alertctl_bin(), "-c", str(env.client_conf),
                          "button"], timeout=10)
        assert cp.returncode == 1 and why in cp.stderr, (extra, cp.stderr)
    env.client_conf.write_text(base)
    cp = harness.run([harness.alertctl_bin(), "-c", str(env.client_conf),
                      "button"], timeout=10)
    assert cp.returncode == 1 and "no [button] section" in cp.stderr


@pytest.mark.hard_timeout(90)
def test_a_hold_after_the_alert_expired_raises_a_new_one(lab, tmp_path):
    """The relay does not push an expiry: a hold while the button thinks
    its alert is open asks for the state, and when the alert expired
    meanwhile (the policy's max_age), that hold raises a new alert."""
    env = lab.env()
    env.policies = {"default": {"types": "panic threat",
                                "tier": ["0 contactpunt:webhook"],
                                "max_age": 2},
                    "test": {"types": "test", "tier": "0 contactpunt:webhook"}}
    env.write_relay_conf()
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    redis = lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    button = Button(tmp_path / "event0")
    add_button(env, button.path)
    p = start_button(lab, env)

    button.press(HOLD + 0.4)
    p.wait_for(r"alert %s: delivered" % ID_RX, "stdout", 15)
    (aid,) = raised(p)
    key = "%s:alert:%s" % (env.redis["prefix"], aid)
    r = redis.client()
    wait_until(lambda: r.hgetall(key).get("state") == "expired", 15,
               what="alert expired in Redis")
    button.press(HOLD + 0.4)
    p.wait_for(r"alert %s is closed \(expired\)" % aid, "stdout", 10)
    wait_until(lambda: len(raised(p)) == 2, 10, what=p.tail())
    wait_until(lambda: len(raised_at(recv)) == 2, 20, what=recv.proc.tail())
    assert raised_at(recv) == raised(p)
    r.close()
    button.close()


@pytest.mark.hard_timeout(90)
def test_supervised_button_path_that_dies_raises_device_offline(lab, tmp_path):
    """[button] supervise = N: the relay raises device.offline when the
    button's path goes silent (the process killed), as for watch
    --supervise."""
    env = lab.env()
    env.sections = {"supervision": {"min_interval": 1, "grace": 2}}
    env.write_relay_conf()
    lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    button = Button(tmp_path / "event0")
    add_button(env, button.path, extra=["supervise = 1"])
    p = start_button(lab, env)
    wait_until(lambda: "supervision device=%s interval=1" % env.device_id
               in relay.log(), 10, what="supervision declared")
    p.wait_for(r"path supervised by", "stderr", 15)
    time.sleep(3)
    offline = lambda: [a for a in recv.alerts()
                       if a.get("type") == "device.offline"]
    assert offline() == []
    p.kill()
    wait_until(lambda: len(offline()) == 1, 10, what=recv.proc.tail())
    assert offline()[0]["device_id"] == env.device_id
    button.close()
