"""One alert's page (console/static/alert.js) loads as the queue does, in
headless Chromium against a real console fed real signed webhooks: a
load the console refuses (its connection budget spent) is tried again,
after 1 s doubling, until one succeeds, with the connection banner up
meanwhile and gone after; an ended session (a logout in another tab, or
a console that comes back without the session) says so on the page, its
banner with a link back to this alert after logging in, and shows
nothing of the alert any more, nor the "Uitloggen" button and the
actions that could only lead to the login page.  Before, a failed load
was never tried again and a 401 went straight to the login page.
axe-core on the ended page; its screenshot goes to the test's tmp."""

import json
import sqlite3
import urllib.parse

import pytest

import harness
from test_console import Console, RID, make_webhook, resign
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  page_errors, run_axe)
from test_console_live_browser import (budget_console, js, login_again,
                                       logout_elsewhere, refused_meanwhile,
                                       watch_banner)

pytestmark = pytest.mark.needs("alertconsole")

ENDED = "Sessie beëindigd – alertconsole"
TIER = "document.querySelector('#details dd.tier')?.innerText"


def on_page(d, console, aid, text):
    """Logged in on aid's page, its details shown."""
    login(d, console, path="/alert.html?id=%s" % aid)
    harness.wait_until(lambda: text in d.find_element("id", "details").text,
                       10, what="the alert's details")
    return d


def ended_banner(d, aid, timeout):
    box = d.find_element("id", "expired")
    harness.wait_until(box.is_displayed, timeout, interval=0.25,
                       what="the ended-session banner")
    assert "/login.html" not in d.current_url
    assert d.title == ENDED
    assert box.find_element("css selector", "p").text == (
        "Uw sessie is beëindigd. Deze pagina laat de melding niet meer zien.")
    link = box.find_element("css selector", "a")
    assert link.text == "Opnieuw inloggen"
    assert link.get_attribute("href").endswith(
        "/login.html?" + urllib.parse.urlencode(
            {"next": "/alert.html?id=%s" % aid, "why": "expired"}))
    return box, link


@pytest.mark.hard_timeout(90)
def test_a_failed_load_is_tried_again(lab, browser):
    env = lab.env()
    console, hook = budget_console(lab, env)
    h, b, inner = make_webhook(env, RID, outer={"tier": 0},
                               message="Achterdeur")
    assert hook(h, b) == 200
    aid = inner["alert_id"]
    d = on_page(browser(), console, aid, "Achterdeur")
    assert js(d, TIER) == "niveau 1 (nog niet opgeschaald)"
    watch_banner(d)
    # the page's load after the escalation's event is refused
    o = json.loads(b)
    o.update({"type": "alert.escalated", "tier": 2})
    b2 = json.dumps(o, separators=(",", ":")).encode()
    refused_meanwhile(d, console.port, hook, resign(env, b2, "msg_tier2"), b2)
    harness.wait_until(lambda: js(d, TIER) == "niveau 3", 15,
                       what="the escalation shown after a retry")
    assert js(d, "window.bannerSeen") is True
    harness.wait_until(lambda: not d.find_element("id", "banner")
                       .is_displayed(), 5, what="the banner gone")
    assert "/login.html" not in d.current_url


@pytest.mark.hard_timeout(120)
def test_an_ended_session_says_so_and_hides_what_needs_it(lab, browser):
    ax = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, alert_type="threat",
                               message="Verdachte man bij de achterdeur")
    assert console.hook(h, b) == 200
    aid = inner["alert_id"]
    d = on_page(browser(), console, aid, "Verdachte man")
    assert d.find_element("id", "logout").is_displayed()
    # logged out in another tab: this one learns within a heartbeat
    logout_elsewhere(d)
    box, link = ended_banner(d, aid, 8)
    # nothing of the alert, nothing that needs the session
    assert "Verdachte man" not in d.page_source
    assert aid not in d.find_element("tag name", "main").text
    assert not d.find_element("id", "logout").is_displayed()
    for el in ("details", "claim", "ack", "note-form", "close-form",
               "export-json", "timeline"):
        assert not d.find_element("id", el).is_displayed(), el
    assert not d.find_element("id", "banner").is_displayed()
    assert run_axe(d, ax) == []
    shot = lab.tmp / "alert-session-ended-1280x800.png"
    d.save_screenshot(str(shot))
    assert shot.stat().st_size > 0
    # the link logs in again and comes back to this alert
    login_again(d, link)
    assert "/alert.html?id=%s" % aid in d.current_url
    harness.wait_until(lambda: "Verdachte man" in
                       d.find_element("id", "details").text, 10,
                       what="the alert again")
    assert d.find_element("id", "logout").is_displayed()
    assert page_errors(d) == []


@pytest.mark.hard_timeout(120)
def test_a_401_on_a_load_is_the_banner_not_the_login_page(lab, browser):
    env = lab.env()
    console = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, message="Voordeur")
    assert console.hook(h, b) == 200
    aid = inner["alert_id"]
    d = on_page(browser(), console, aid, "Voordeur")
    # the console killed and back without the session (as after its
    # state was restored from before the login): the stream is refused,
    # and the page's load then gets a 401
    console.proc.kill()
    db = sqlite3.connect(str(console.state / "console.db"))
    try:
        db.execute("DELETE FROM session")
        db.commit()
    finally:
        db.close()
    console.start()
    ended_banner(d, aid, 30)
    assert "Voordeur" not in d.page_source
    assert not d.find_element("id", "logout").is_displayed()
