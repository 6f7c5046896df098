"""The queue page never goes quiet while alerts wait (headless Chromium,
as test_console_browser.py; a real console, real signed webhooks).  A
page whose session ended says so at once (a banner with a link to log
in again, the title, the status line), shows no alert content any more,
and still rings, counts and says "log in again" when an alert comes; a
fetch of the queue that fails is tried again until one succeeds, with
the banner up meanwhile; the language switched on an ended page, which
stays; a card follows its alert's escalation; a failed
acknowledgement of a duress alarm does not say to call back.  axe-core
on the ended session's page; its screenshot goes to BUILD/screenshots."""

import http.client
import json
import socket
import threading
import time

import pytest

import harness
from test_console import (Console, OPERATOR, PASSWORD, RID, make_webhook,
                          resign)
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  run_axe, wait_items)
from test_console_duress_browser import duress_of

pytestmark = pytest.mark.needs("alertconsole")

ENDED = "Sessie beëindigd – alertconsole"


def js(d, expr):
    return d.execute_script("return " + expr)


def watch_banner(d):
    """Whether the connection banner ever shows, seen by the page itself
    (window.bannerSeen)."""
    d.execute_script(
        "const b = document.getElementById('banner'); window.bannerSeen ="
        " false; new MutationObserver(() => { if (!b.hidden)"
        " window.bannerSeen = true; }).observe(b, {attributes: true});")


def budget_console(lab, env):
    """A console whose page listener takes 2 connections a second past
    its burst, and hook(headers, body), a webhook on its own listener
    (with its own budget)."""
    hport = harness.free_port()
    console = Console(lab, env, extra={
        "webhook_listen": "127.0.0.1:%d" % hport, "conn_rate": "2"}).start()

    def hook(headers, body):
        hc = http.client.HTTPConnection("127.0.0.1", hport, timeout=10)
        hc.request("POST", "/hook/" + RID, body, headers)
        return hc.getresponse().status
    return console, hook


def _connect_once(port, wait):
    """One connection to the page listener, closed once the console did
    (refused), or after wait (let in: it took a connection of the
    budget)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(wait)
            s.recv(1)
    except OSError:
        pass  # refused (reset), let in (no answer in time) or dropped


class SpentBudget:
    """The page listener's connection budget from this address (conn_burst
    200, conn_rate 2 a second) spent, and kept spent for as long as the
    with lasts: a few threads keep a connection each before the console
    at every moment, so each connection the budget allows again goes to
    one of them, not to the page, whose fetches meanwhile are refused
    however long the webhook and the page take to come to them.  (Spent
    once only, the budget let a connection in again half a second on: on
    a loaded machine the page's fetch came later and was let in.)  One
    connection in flight per thread: connecting faster than the console
    accepts fills its backlog, and a connection whose SYN is dropped
    waits a second, long enough for the budget to grow.  After the with
    the budget grows again and the page's retry is let in."""

    THREADS = 3

    def __init__(self, port):
        self.port = port
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._keep_spent,
                                         daemon=True)
                        for _ in range(self.THREADS)]

    def _keep_spent(self):
        deadline = time.monotonic() + 30
        while not self.done.is_set() and time.monotonic() < deadline:
            _connect_once(self.port, 0.1)

    def __enter__(self):
        for _ in range(230):
            _connect_once(self.port, 0)
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        for t in self.threads:
            t.join(10)


def refused_meanwhile(d, port, hook, headers, body):
    """A webhook the page fetches after, taken (hook(headers, body) as
    budget_console makes it), with the page listener's budget kept spent
    until the page's fetch was refused: its connection banner up
    (window.bannerSeen, watch_banner)."""
    with SpentBudget(port):
        assert hook(headers, body) == 200
        harness.wait_until(lambda: js(d, "window.bannerSeen") is True, 15,
                           what="the page's fetch refused, the banner up")


def logout_elsewhere(d):
    """A logout as another tab of the same browser makes it."""
    assert d.execute_async_script(
        "const done = arguments[0];"
        "fetch('/api/session').then(r => r.json()).then(s =>"
        " fetch('/api/logout', {method: 'POST', body: '{}', headers:"
        " {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf}}))"
        ".then(r => done(r.status));") == 200


def login_again(d, link):
    """Through the ended session's link, the login page, and back."""
    link.click()
    harness.wait_until(lambda: "/login.html" in d.current_url, 10,
                       what="the login page")
    d.find_element("id", "name").send_keys(OPERATOR)
    d.find_element("id", "password").send_keys(PASSWORD)
    d.find_element("css selector", "#login button").click()
    harness.wait_until(lambda: "/login.html" not in d.current_url, 15,
                       what="back from the login page")


def loaded(d):
    harness.wait_until(lambda: "Bijgewerkt" in
                       d.find_element("id", "status").text, 10,
                       what="the queue loaded")


@pytest.mark.hard_timeout(150)
def test_ended_session_says_so_and_still_rings(lab, browser):
    ax = axe_path()
    env = lab.env()
    console = Console(lab, env, extra={"session_idle": "10"}).start()
    d = login(browser(), console)
    loaded(d)
    h, b, first = make_webhook(env, RID, alert_type="threat",
                               message="Eerste bericht")
    assert console.hook(h, b) == 200
    wait_items(d, 1)
    d.find_element("css selector", "#queue .claim").click()
    harness.wait_until(lambda: js(d, "document.body.dataset.alarm")
                       == "stopped", 10, what="the alarm stopped")
    # no click for session_idle: the page says so within a heartbeat
    box = d.find_element("id", "expired")
    harness.wait_until(box.is_displayed, 25, interval=0.5,
                       what="the ended-session banner")
    assert "/login.html" not in d.current_url
    assert d.title == ENDED
    assert "Uw sessie is beëindigd" in box.text
    assert "Er wacht nu geen melding." in box.text
    link = box.find_element("css selector", "a")
    assert link.text == "Opnieuw inloggen"
    assert link.get_attribute("href").endswith(
        "/login.html?next=%2F&why=expired")
    assert d.find_element("id", "status").text.startswith("Uitgelogd")
    # what the session showed is gone from the page
    assert d.find_elements("css selector", "#queue > li") == []
    assert "Eerste bericht" not in d.page_source
    assert js(d, "document.body.dataset.alarm") == "stopped"
    # what needs the session goes with it: no "Uitloggen", no export
    assert not d.find_element("id", "logout").is_displayed()
    assert not d.find_element("id", "export").is_displayed()

    # an alert while logged out: alarm, count in the title, the words
    h, b, second = make_webhook(env, RID, alert_type="panic",
                                message="Tweede bericht")
    assert console.hook(h, b) == 200
    harness.wait_until(lambda: d.title == "(1) " + ENDED, 5,
                       what="the count in the title")
    harness.wait_until(lambda: js(d, "document.body.dataset.alarm")
                       == "playing", 5, what="the alarm")
    assert "Er wacht 1 melding. Log opnieuw in om die te zien." in box.text
    assert "/login.html" not in d.current_url
    assert "Tweede bericht" not in d.page_source
    assert second["alert_id"] not in d.page_source
    assert run_axe(d, ax) == []
    shots = harness.build_dir() / "screenshots"
    shots.mkdir(exist_ok=True)
    d.save_screenshot(str(shots / "console-session-ended-1280x800.png"))
    d.save_screenshot(str(lab.tmp / "console-session-ended-1280x800.png"))
    # the link logs in again: the queue is back, the alarm goes on
    login_again(d, link)
    items = wait_items(d, 2)
    assert items[0].get_attribute("data-alert-id") == second["alert_id"]
    assert d.title.startswith("(1) ")
    assert not d.find_element("id", "expired").is_displayed()
    assert d.find_element("id", "logout").is_displayed()
    assert d.find_element("id", "export").is_displayed()


@pytest.mark.hard_timeout(90)
def test_ended_session_in_english(lab, browser):
    env = lab.env()
    console = Console(lab, env).start()
    d = login(browser(lang="en-GB"), console)
    harness.wait_until(lambda: "Updated" in
                       d.find_element("id", "status").text, 10,
                       what="the queue loaded")
    # logged out in another tab: this one learns within a heartbeat
    logout_elsewhere(d)
    box = d.find_element("id", "expired")
    harness.wait_until(box.is_displayed, 8, interval=0.25,
                       what="the ended-session banner")
    assert d.title == "Session ended – alertconsole"
    assert "Your session has ended" in box.text
    assert box.find_element("css selector", "a").text == "Log in again"
    h, b, inner = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, b) == 200
    harness.wait_until(lambda: "1 alert is waiting. Log in again to see it."
                       in box.text, 5, what="the count")
    assert d.title == "(1) Session ended – alertconsole"


def banner_text(d):
    """The ended-session banner's text, read in one script ('' when the
    page has gone elsewhere)."""
    return js(d, "document.getElementById('expired')?.innerText || ''")


def lang_errors(d):
    """The browser's errors about the language switch's request."""
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE"
            and "/api/lang" in e["message"]]


@pytest.mark.hard_timeout(120)
def test_language_switch_on_an_ended_page(lab, browser):
    """The language is this browser's to switch, session or not: on the
    queue and on an alert's page after the session ended the switch
    changes the banner, the title and the status line at once, the page
    stays (and rings on); the login page and the queue after logging in
    again keep that language.  Before, the switch's POST got a 401 and
    threw the operator to the login page."""
    env = lab.env()
    console = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, b) == 200
    d = login(browser(), console)
    wait_items(d, 1)
    logout_elsewhere(d)
    box = d.find_element("id", "expired")
    harness.wait_until(box.is_displayed, 8, interval=0.25,
                       what="the ended-session banner")
    harness.wait_until(lambda: js(d, "document.body.dataset.alarm")
                       == "playing", 5, what="the alarm")
    d.find_element("css selector", "#lang option[value=en]").click()
    harness.wait_until(lambda: "/login.html" in d.current_url or
                       "Your session has ended" in banner_text(d), 5,
                       what="the banner in English")
    assert "/login.html" not in d.current_url
    assert "1 alert is waiting. Log in again to see it." in banner_text(d)
    assert d.title == "(1) Session ended – alertconsole"
    assert d.find_element("id", "status").text == (
        "Logged out: the session has ended")
    assert d.find_element("id", "queue-title").text == "Queue"
    assert js(d, "document.body.dataset.alarm") == "playing"
    assert lang_errors(d) == []
    # the way back: the login page and the queue in the browser's choice
    login_again(d, box.find_element("css selector", "a"))
    wait_items(d, 1)
    harness.wait_until(lambda: d.find_element("id", "queue-title").text ==
                       "Queue", 10, what="the queue in English")
    # an alert's page: back to Dutch after its session ended
    d.get("http://127.0.0.1:%d/alert.html?id=%s" % (console.port,
                                                    inner["alert_id"]))
    harness.wait_until(lambda: d.find_element("id", "details").text, 10,
                       what="the alert's details")
    logout_elsewhere(d)
    box = d.find_element("id", "expired")
    harness.wait_until(box.is_displayed, 8, interval=0.25,
                       what="the alert page's ended-session banner")
    d.find_element("css selector", "#lang option[value=nl]").click()
    harness.wait_until(lambda: "/login.html" in d.current_url or
                       "Uw sessie is beëindigd. Deze pagina laat de melding"
                       " niet meer zien." in banner_text(d), 5,
                       what="the alert page's banner in Dutch")
    assert "/login.html" not in d.current_url
    assert d.title == ENDED
    assert lang_errors(d) == []


@pytest.mark.hard_timeout(90)
def test_failed_load_is_tried_again(lab, browser):
    env = lab.env()
    console, hook = budget_console(lab, env)
    d = login(browser(), console)
    loaded(d)
    watch_banner(d)
    # the page's fetch after the alert's event is refused
    h, b, inner = make_webhook(env, RID, alert_type="panic")
    refused_meanwhile(d, console.port, hook, h, b)
    items = wait_items(d, 1, timeout=15)
    assert items[0].get_attribute("data-alert-id") == inner["alert_id"]
    harness.wait_until(lambda: js(d, "document.body.dataset.alarm")
                       == "playing", 5, what="the alarm")
    assert d.title == "(1) Meldingen – alertconsole"
    assert js(d, "window.bannerSeen") is True
    harness.wait_until(lambda: not d.find_element("id", "banner")
                       .is_displayed(), 5, what="the banner gone")
    assert "Bijgewerkt" in d.find_element("id", "status").text


@pytest.mark.hard_timeout(90)
def test_card_follows_the_escalation(lab, browser):
    env = lab.env()
    console = Console(lab, env).start()
    d = login(browser(), console)
    h, b, inner = make_webhook(env, RID, outer={"tier": 0})
    assert console.hook(h, b) == 200
    wait_items(d, 1)
    # read in one script: the card is redrawn when its alert changes
    tier = "document.querySelector('#queue > li dd.tier').innerText"
    assert js(d, tier) == "niveau 1 (nog niet opgeschaald)"
    o = json.loads(b)
    o.update({"type": "alert.escalated", "tier": 2})
    b2 = json.dumps(o, separators=(",", ":")).encode()
    assert console.hook(resign(env, b2, "msg_tier2"), b2) == 200
    harness.wait_until(lambda: js(d, tier) == "niveau 3", 5,
                       what="the card's new tier")


@pytest.mark.hard_timeout(90)
def test_failed_ack_of_a_duress_alarm_says_not_to_call(lab, browser):
    env = lab.env()
    console = Console(lab, env).start()  # no ack_url: acking fails
    h, b, inner = make_webhook(env, RID, alert_type="threat")
    assert console.hook(h, b) == 200
    assert duress_of(env, console, b) == 200
    d = login(browser(), console, path="/alert.html?id=%s"
              % inner["alert_id"])
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#duress .duress-note"), 10, what="the duress note")
    d.find_element("id", "claim").click()
    harness.wait_until(lambda: "opgepakt" in
                       d.find_element("id", "notice").text, 10,
                       what="claimed")
    d.find_element("id", "ack").click()
    harness.wait_until(lambda: "Bevestigen is niet gelukt" in
                       d.find_element("id", "notice").text, 10,
                       what="the failure")
    assert d.find_element("id", "notice").text == (
        "Bevestigen is niet gelukt. Probeer het opnieuw. Bel de melder niet"
        " terug (dwang): stuur hulp.")
