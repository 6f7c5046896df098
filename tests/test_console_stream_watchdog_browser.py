"""Both pages come back from an event stream that stops carrying data
without closing (a NAT or firewall that dropped its state, a change of
network, a proxy): headless Chromium reaches a real console through a
TCP proxy in this test that can freeze the connections open at a moment
(they forward nothing more and stay open) while it forwards new ones.
Chromium never reports such a stream closed; the page's watchdog (no
heartbeat for twice its interval) gives it up, loads at once and opens a
new stream: an alert that came meanwhile is listed and rings, the
connection banner is up while the stream is down and gone once the new
one delivers.  Before, the page only showed the banner and stayed
silent for good.  The operator's name holds $&, $` and $', which
i18n.js once expanded as replacement patterns in "Ingelogd als ...".
A screenshot goes to the test's tmp."""

import json
import socket
import threading
import time
import types

import pytest

import harness
from test_console import Console, OPERATOR, RID, make_webhook
from test_console_browser import (browser, expect_shown,  # noqa: F401
                                  log_stream, login, page_errors, pushed)
from test_console_live_browser import js, watch_banner

pytestmark = pytest.mark.needs("alertconsole")

NAME = "Sam $& $` $' Jansen"


class FreezingProxy:
    """127.0.0.1:port forwards to the console's port, two threads per
    connection.  freeze(): every connection open now forwards nothing
    more either way and is never closed (until close()), as a dropped
    NAT entry leaves it; connections made later are forwarded, unless
    freeze(later=True): then they are accepted and frozen at once, as a
    network that stopped carrying anything leaves them."""

    def __init__(self, target):
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []  # (browser side, console side, frozen)
        self.accepted = 0
        self.freeze_later = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                near, _ = self.server.accept()
                far = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                return  # closed
            frozen = threading.Event()
            with self.lock:
                if self.freeze_later:
                    frozen.set()
                self.conns.append((near, far, frozen))
                self.accepted += 1
            for src, dst in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(src, dst, frozen),
                                 daemon=True).start()

    @staticmethod
    def _pump(src, dst, frozen):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if frozen.is_set():
                return  # dropped, and nothing read from here on
            try:
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                return

    def freeze(self, later=False):
        with self.lock:
            self.freeze_later = later
            for _, _, frozen in self.conns:
                frozen.set()
            return self.accepted

    def close(self):
        self.server.close()
        with self.lock:
            for near, far, _ in self.conns:
                near.close()
                far.close()


@pytest.fixture
def proxied(lab):
    """(env, console, proxy, site, bound): site as login() takes a
    console, its port the proxy's; bound: how long a frozen stream may
    keep the page from what came meanwhile, in seconds: the last
    heartbeat up to one interval before the freeze, the watchdog's two
    intervals, then a load (and slack for a loaded machine)."""
    env = lab.env()
    # the browser's Host names the proxy's port: as behind a reverse proxy
    console = Console(lab, env, extra={"server_name": "127.0.0.1"}).start()
    status, _, body = console.get("/api/session")
    assert status == 200, body
    beat_s = json.loads(body)["heartbeat_ms"] / 1000
    assert beat_s == 5  # CONSOLE_EVENTS_HEARTBEAT_MS
    proxy = FreezingProxy(console.port)
    yield env, console, proxy, types.SimpleNamespace(
        port=proxy.port, add_user=console.add_user), 3 * beat_s + 5
    proxy.close()


def frozen_then_back(d, proxy):
    """The connections frozen once the page's stream delivered; returns
    (the time, the proxy's connection count then)."""
    harness.wait_until(lambda: js(d, "document.getElementById('banner')"
                                  ".hidden") is True, 10,
                       what="the page connected")
    time.sleep(1)  # the stream's first heartbeat is in
    watch_banner(d)
    return time.monotonic(), proxy.freeze()


@pytest.mark.hard_timeout(120)
def test_queue_comes_back_from_a_frozen_stream(lab, browser, proxied):
    env, console, proxy, site, bound = proxied
    d = login(log_stream(browser()), site, name=NAME)
    harness.wait_until(lambda: "Bijgewerkt" in
                       d.find_element("id", "status").text, 10,
                       what="the queue loaded")
    assert d.find_element("id", "who").text == "Ingelogd als " + NAME
    t0, before = frozen_then_back(d, proxy)
    h, b, inner = make_webhook(env, RID, alert_type="panic",
                               message="Hulp, de verbinding hangt")
    assert console.hook(h, b) == 200
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#queue li.alert[data-alert-id='%s']"
        % inner["alert_id"]), bound, interval=0.25,
        what="the alert listed after the stream froze")
    listed = time.monotonic() - t0
    harness.wait_until(lambda: js(d, "document.body.dataset.alarm")
                       == "playing", 5, what="the alarm")
    assert d.title == "(1) Meldingen – alertconsole"
    assert proxy.accepted > before  # the page connected anew
    # down from the watchdog on, back once the new stream delivered
    assert js(d, "window.bannerSeen") is True
    harness.wait_until(lambda: not d.find_element("id", "banner")
                       .is_displayed(), 10, what="the banner gone")
    d.save_screenshot(str(lab.tmp / "console-stream-back-1280x800.png"))
    # the new stream carries events: the next alert is pushed, shown
    # before the next heartbeat (pushed(): the page's own stream in
    # order, not a wall-clock bound; speed is `make bench`'s)
    h, b, second = make_webhook(env, RID, alert_type="threat")
    expect_shown(d, "return document.querySelector("
                    "\"#queue li.alert[data-alert-id='%s']\") !== null;"
                 % second["alert_id"])
    assert console.hook(h, b) == 200
    pushed(d, second["alert_id"], "the next alert pushed")
    assert not d.find_element("id", "banner").is_displayed()
    assert listed <= bound
    assert page_errors(d) == []


@pytest.mark.hard_timeout(120)
def test_alert_page_comes_back_from_a_frozen_stream(lab, browser, proxied):
    env, console, proxy, site, bound = proxied
    h, b, inner = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, b) == 200
    d = login(browser(), site, path="/alert.html?id=%s" % inner["alert_id"],
              name=NAME)
    harness.wait_until(lambda: js(d, "document.body.dataset.owner") == "",
                       10, what="the alert's details")
    t0, _ = frozen_then_back(d, proxy)
    # another operator takes it, straight at the console
    status, body = console.post("/api/alert/%s/claim" % inner["alert_id"])
    assert status == 200, body
    harness.wait_until(lambda: js(d, "document.body.dataset.owner")
                       == OPERATOR, bound, interval=0.25,
                       what="the claim shown after the stream froze")
    assert time.monotonic() - t0 <= bound
    assert js(d, "window.bannerSeen") is True
    harness.wait_until(lambda: not d.find_element("id", "banner")
                       .is_displayed(), 10, what="the banner gone")
