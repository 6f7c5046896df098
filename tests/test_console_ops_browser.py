"""alertconsole's operators in a real browser (headless Chromium from
Debian, as test_console_browser.py): the login page, two operators
claiming the same alert at the same moment (one wins, the other sees
who), the alarm sound playing until the alert is taken (observed from
the audio element's own events, Chromium started with
--autoplay-policy=no-user-gesture-required) and the "Geluid aanzetten"
button when the browser blocks it, the alert page (text as text, notes,
closure, timeline), Dutch first and English second, and axe-core (WCAG
2.1 A and AA) on the login page, the queue and an alert's page."""

import http.client
import json
import threading
import time
import urllib.parse

import pytest

import harness
from test_console import Console, OPERATOR, PASSWORD, RID, make_webhook
from test_console_browser import (XSS, axe_path, browser,  # noqa: F401
                                  expect_shown, log_stream, login,
                                  page_errors, pushed, run_axe, timeline,
                                  wait_items)

pytestmark = pytest.mark.needs("alertconsole")

SECOND = "Fatima el Amrani"


def alarm(d):
    return d.execute_script("return document.body.dataset.alarm")


def plays(d):
    return int(d.execute_script(
        "return document.body.dataset.alarmPlays || '0'"))


def notified(d):
    """How many notifications the page showed, as it counts them."""
    return d.execute_script("return document.body.dataset.notified")


def allow_notifications(d, console):
    d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": "http://127.0.0.1:%d" % console.port,
        "permissions": ["notifications"]})


def in_background(d, fn):
    """fn() while another tab is in front of the page, which is brought
    back once its event stream had time to hear of it: fn's value."""
    page = d.current_window_handle
    d.switch_to.new_window("tab")
    d.get("about:blank")
    out = fn()
    time.sleep(3)  # the hidden page hears of it over its event stream
    d.switch_to.window(page)
    return out


def login_message(d, name, password):
    """Fills in the login form, sends it, and waits for the page's
    message (a refusal, or a notice before going on)."""
    d.find_element("id", "name").send_keys(name)
    d.find_element("id", "password").send_keys(password)
    d.find_element("css selector", "#login button").click()
    msg = d.find_element("id", "login-msg")
    harness.wait_until(lambda: msg.text != "", 10, what="the login message")
    return msg


@pytest.mark.hard_timeout(120)
def test_login_page_logout_and_wrong_password(lab, browser):
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    console.add_user()
    d = browser()
    d.get("http://127.0.0.1:%d/" % console.port)
    harness.wait_until(lambda: "/login.html" in d.current_url, 10,
                       what="sent to the login page")
    harness.wait_until(lambda: d.find_element("css selector", "#login button")
                       .text == "Inloggen", 10, what="the Dutch login page")
    assert d.execute_script("return document.documentElement.lang") == "nl"
    assert d.find_element("css selector", "label[for=name]").text == "Naam"
    assert run_axe(d, js) == []
    msg = login_message(d, OPERATOR, "niet het wachtwoord")
    assert msg.text == (
        "Inloggen lukt niet. De naam of het wachtwoord klopt niet, of het "
        "account is na te veel verkeerde wachtwoorden een tijd geblokkeerd. "
        "Die blokkade geldt niet in een browser waarin u met dit wachtwoord "
        "al eens inlogde: gebruik die, of probeer het later opnieuw.")
    assert "/login.html" in d.current_url
    # the password field was emptied; the message is announced (role=alert)
    assert d.find_element("id", "password").get_attribute("value") == ""
    assert msg.get_attribute("role") == "alert"
    assert run_axe(d, js) == []
    d.find_element("id", "password").send_keys(PASSWORD)
    d.find_element("css selector", "#login button").click()
    harness.wait_until(lambda: "/login.html" not in d.current_url, 10,
                       what="logged in")
    who = d.find_element("id", "who")
    harness.wait_until(lambda: OPERATOR in who.text, 10, what="the name")
    assert who.text == "Ingelogd als %s" % OPERATOR
    # the cookie is out of the page's reach (HttpOnly)
    assert "alertconsole_session" not in d.execute_script(
        "return document.cookie")
    c = [x for x in d.get_cookies() if x["name"] == "alertconsole_session"]
    assert c and c[0]["httpOnly"] and c[0]["sameSite"] == "Strict"
    d.find_element("id", "logout").click()
    harness.wait_until(lambda: "/login.html" in d.current_url, 10,
                       what="back at the login page")
    d.get("http://127.0.0.1:%d/" % console.port)
    harness.wait_until(lambda: "/login.html" in d.current_url, 10,
                       what="the session ended")


@pytest.mark.hard_timeout(120)
def test_browser_that_logged_in_before_passes_a_strangers_lock(lab, browser):
    """The operator's own browser keeps its device cookie (HttpOnly) over
    a logout; after a stranger's ten wrong passwords it still logs in,
    and the page says first that the account is locked for others, with
    a link on (fails on the old code: "te vaak" refused it)."""
    js = axe_path()
    console = Console(lab, lab.env()).start()
    d = login(browser(), console)
    # the page is up (its header's buttons work) once it names the operator
    who = d.find_element("id", "who")
    harness.wait_until(lambda: OPERATOR in who.text, 10, what="the name")
    d.find_element("id", "logout").click()
    harness.wait_until(lambda: "/login.html" in d.current_url, 10,
                       what="back at the login page")
    # the browser keeps it for the login only (its path), out of the
    # page's reach
    d.get("http://127.0.0.1:%d/api/login" % console.port)
    dev = [x for x in d.get_cookies()
           if x["name"].startswith("alertconsole_device_")]
    assert dev and dev[0]["httpOnly"] and dev[0]["sameSite"] == "Strict"
    assert dev[0]["path"] == "/api/login"
    d.get("http://127.0.0.1:%d/" % console.port)
    harness.wait_until(lambda: "/login.html" in d.current_url, 10,
                       what="back at the login page")
    for _ in range(10):
        assert console.login_session(OPERATOR, "geraden wachtwoord")[0] == 401
    assert console.login_session(OPERATOR, PASSWORD)[0] == 401
    harness.wait_until(lambda: d.find_element("css selector", "#login")
                       .is_displayed(), 10, what="the login form")
    msg = login_message(d, OPERATOR, PASSWORD)
    assert msg.text == (
        "U bent ingelogd. Let op: voor uw account is te vaak een verkeerd "
        "wachtwoord gegeven. Andere browsers kunnen een tijd niet met uw "
        "account inloggen; deze browser wel. Meld dit aan uw "
        "leidinggevende.")
    assert not d.find_element("id", "login").is_displayed()
    go = d.find_element("id", "login-continue")
    assert go.text == "Verder"
    assert d.execute_script("return document.activeElement.id") == (
        "login-continue")
    assert run_axe(d, js) == []
    go.click()
    harness.wait_until(lambda: "/login.html" not in d.current_url, 10,
                       what="on to the queue")
    who = d.find_element("id", "who")
    harness.wait_until(lambda: OPERATOR in who.text, 10, what="the name")


@pytest.mark.hard_timeout(120)
def test_login_goes_back_only_to_this_console(lab, browser):
    """login.html?next= is followed after the login only to a page of
    this console: a link to the real login page must not bring the
    operator, once logged in, to a look-alike elsewhere."""
    console = Console(lab, env=lab.env()).start()
    console.add_user()
    base = "http://127.0.0.1:%d" % console.port
    d = browser()
    for nxt, want in (("/.//evil.example/x", base + "//evil.example/x"),
                      ("//evil.example/", base + "/"),
                      ("https://evil.example/", base + "/"),
                      ("/alert.html?id=ab", base + "/alert.html?id=ab")):
        d.delete_all_cookies()
        d.get(base + "/login.html?next=" + urllib.parse.quote(nxt, safe=""))
        harness.wait_until(lambda: d.find_element("id", "name")
                           .is_displayed(), 10, what="the login form")
        d.find_element("id", "name").send_keys(OPERATOR)
        d.find_element("id", "password").send_keys(PASSWORD)
        d.find_element("css selector", "#login button").click()
        harness.wait_until(lambda: "/login.html" not in d.current_url, 10,
                           what="logged in")
        assert d.current_url == want, (nxt, d.current_url)


@pytest.mark.hard_timeout(150)
def test_two_operators_claim_at_once(lab, browser):
    env = lab.env()
    console = Console(lab, env).start()
    console.add_user()
    console.add_user(SECOND)
    h, b, inner = make_webhook(env, RID, alert_type="panic",
                               message="Iemand aan de deur")
    assert console.hook(h, b) == 200
    aid = inner["alert_id"]
    one = login(browser(), console)
    two = login(browser(), console, name=SECOND)
    for d in (one, two):
        wait_items(d, 1, timeout=20)
    go = threading.Barrier(2)

    errors = []

    def click(d):
        from selenium.common.exceptions import (
            NoSuchElementException, StaleElementReferenceException)
        go.wait(10)
        # the list is redrawn when anything changes: the button is found
        # again if it was replaced between finding and clicking
        for _ in range(3):
            try:
                d.find_element("css selector", "#queue button.claim").click()
                return
            except StaleElementReferenceException:
                continue
            except NoSuchElementException:
                # the other's claim came in first and this page already
                # shows its owner, without a claim button: lost, as in
                # the 409 case (the owner is checked below)
                if d.execute_script(
                        "const li = document.querySelector('#queue > li');"
                        "return li ? li.dataset.owner : '';"):
                    return
                errors.append("no claim button and no owner shown")
                return
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return
        errors.append("the claim button kept being replaced")

    threads = [threading.Thread(target=click, args=(d,)) for d in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    owner = {}

    def settled():
        # read in the page: the list is redrawn as the claim comes in
        for name, d in ((OPERATOR, one), (SECOND, two)):
            owner[name] = d.execute_script(
                "const li = document.querySelector('#queue > li');"
                "return li ? li.dataset.owner : '';")
        return owner[OPERATOR] and owner[OPERATOR] == owner[SECOND]

    harness.wait_until(settled, 10, what="both pages showing one owner (%r)"
                       % owner)
    winner = owner[OPERATOR]
    assert winner in (OPERATOR, SECOND)
    loser_page = two if winner == OPERATOR else one
    # the one who lost sees who has it: in the card, and in its message
    assert winner in loser_page.execute_script(
        "return document.querySelector('#queue > li dd.owner').textContent")
    rows = [r for r in console.rows()]
    assert len(rows) == 1
    import sqlite3
    d = sqlite3.connect("file:%s?mode=ro" % (console.state / "console.db"),
                        uri=True)
    try:
        claims = d.execute("SELECT actor FROM timeline WHERE kind = "
                           "'claimed' AND alert_id = ?", (aid,)).fetchall()
    finally:
        d.close()
    assert claims == [(winner,)]
    assert page_errors(one) == [] or all("409" in e["message"]
                                         for e in page_errors(one))


@pytest.mark.hard_timeout(120)
def test_alarm_sounds_until_claimed(lab, browser):
    env = lab.env()
    console = Console(lab, env, extra={"alarm_interval": "2"}).start()
    d = login(log_stream(browser()), console)
    harness.wait_until(lambda: "Bijgewerkt" in d.find_element("id", "status")
                       .text, 10, what="first update")
    assert alarm(d) == "stopped" and plays(d) == 0
    assert d.title == "Meldingen – alertconsole"
    h, b, inner = make_webhook(env, RID, alert_type="panic", message=XSS)
    assert console.hook(h, b) == 200
    harness.wait_until(lambda: alarm(d) == "playing", 5,
                       what="the alarm playing")
    assert d.title == "(1) Meldingen – alertconsole"
    # it repeats (every alarm_interval = 2 s) while nobody takes it
    harness.wait_until(lambda: plays(d) >= 2, 5, what="the alarm again")
    assert not d.find_element("id", "sound-on").is_displayed()
    # another operator claims it (over the API): the claim is pushed and
    # the alarm stops before the next heartbeat (pushed()) and without
    # ringing again more than once: at most the ring that fell due
    # while the claim was under way, not one every alarm_interval
    console.login(SECOND)
    expect_shown(d, "return document.body.dataset.alarm === 'stopped';")
    before = plays(d)
    assert console.post("/api/alert/%s/claim" % inner["alert_id"])[0] == 200
    pushed(d, inner["alert_id"], "the alarm to stop")
    assert plays(d) <= before + 1, (before, plays(d))
    assert d.execute_script("return document.getElementById('alarm').paused")
    n = plays(d)
    time.sleep(2.5)
    assert plays(d) == n, "played again after the claim"
    assert d.title == "Meldingen – alertconsole"
    # the message was text, not markup
    msg = d.find_element("css selector", "#queue dd.message")
    assert msg.text == XSS
    assert d.find_elements("css selector", "#queue img") == []
    assert page_errors(d) == []


@pytest.mark.hard_timeout(90)
def test_notification_when_the_tab_is_hidden(lab, browser):
    """An operator who allowed notifications and is in another tab gets
    one for a new alert; with the page in front, none (the page itself
    is the alarm then)."""
    env = lab.env()
    console = Console(lab, env).start()
    d = login(browser(), console)
    harness.wait_until(lambda: "Bijgewerkt" in d.find_element("id", "status")
                       .text, 10, what="first update")
    allow_notifications(d, console)
    assert d.execute_script("return Notification.permission") == "granted"

    def alert():
        h, b, inner = make_webhook(env, RID, alert_type="panic")
        assert console.hook(h, b) == 200
        harness.wait_until(lambda: console.alerts(), 15,
                           what="the alert stored")
    in_background(d, alert)
    harness.wait_until(lambda: notified(d) == "1", 5,
                       what="one notification while the page was hidden")
    # in front: a second alert rings, but no notification
    h, b, inner2 = make_webhook(env, RID, alert_type="threat")
    assert console.hook(h, b) == 200
    harness.wait_until(lambda: len(d.find_elements(
        "css selector", "#queue li.alert")) == 2, 5, what="second alert")
    time.sleep(1)
    assert notified(d) == "1"
    assert page_errors(d) == []


@pytest.mark.hard_timeout(90)
def test_blocked_sound_shows_the_button(lab, browser):
    """A browser that refuses to play without a click: the page says so
    with a visible "Geluid aanzetten" button, and a click starts it."""
    env = lab.env()
    console = Console(lab, env).start()
    d = None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        o = webdriver.ChromeOptions()
        o.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--window-size=1280,800", "--disable-dev-shm-usage",
                  "--lang=nl-NL",
                  "--autoplay-policy=document-user-activation-required"):
            o.add_argument(a)
        o.add_experimental_option("prefs", {"intl.accept_languages": "nl-NL"})
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                             options=o)
        h, b, _ = make_webhook(env, RID, alert_type="panic")
        assert console.hook(h, b) == 200
        login(d, console)
        wait_items(d, 1)
        harness.wait_until(lambda: alarm(d) in ("blocked", "playing"), 10,
                           what="an attempt to play")
        if alarm(d) == "playing":
            pytest.skip("this Chromium plays without a user gesture")
        btn = d.find_element("id", "sound-on")
        assert btn.is_displayed() and btn.text == "Geluid aanzetten"
        btn.click()
        harness.wait_until(lambda: alarm(d) == "playing", 15,
                           what="playing after the click")
        harness.wait_until(lambda: not btn.is_displayed(), 15,
                           what="the button to go")
    finally:
        if d is not None:
            d.quit()


@pytest.mark.hard_timeout(150)
def test_alert_page(lab, browser):
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, alert_type="panic", message=XSS)
    assert console.hook(h, b) == 200
    aid = inner["alert_id"]
    d = login(browser(), console, path="/alert.html?id=%s" % aid)
    harness.wait_until(lambda: d.find_elements("css selector",
                                               "#details dd.message"), 10,
                       what="the alert's details")
    msg = d.find_element("css selector", "#details dd.message")
    assert msg.text == XSS
    assert d.find_elements("css selector", "main img") == []
    assert d.find_element("id", "alert-title").text.startswith("Paniek – ")
    # room for the map and the caller's history (another part fills them)
    assert d.find_element("css selector", "section#location")
    assert d.find_element("css selector", "section#history")
    assert "52.09070, 5.12140" in d.find_element("id", "details").text
    assert run_axe(d, js) == []
    # claim, a note, close: each in the timeline with the name
    d.find_element("id", "claim").click()
    harness.wait_until(lambda: d.execute_script(
        "return document.body.dataset.owner") == OPERATOR, 5, what="claimed")
    assert d.find_element("id", "notice").text == \
        "U heeft deze melding opgepakt."
    assert not d.find_element("id", "claim").is_enabled()
    d.find_element("id", "note").send_keys("Gebeld: <b>niet</b> bereikt")
    d.find_element("css selector", "#note-form button").click()
    harness.wait_until(lambda: len(timeline(d, "note")) == 1, 15,
                       what="the note in the timeline")
    note, = timeline(d, "note")
    assert "Gebeld: <b>niet</b> bereikt" in note and OPERATOR in note
    from selenium.webdriver.support.ui import Select
    Select(d.find_element("id", "outcome")).select_by_value("police")
    d.find_element("id", "close-note").send_keys("Politie ter plaatse")
    d.find_element("css selector", "#close-form button").click()
    harness.wait_until(lambda: d.execute_script(
        "return document.body.dataset.state") == "closed", 5, what="closed")
    kinds = [k for k, _ in timeline(d)]
    assert kinds == ["received", "claimed", "note", "closed"], kinds
    closed, = timeline(d, "closed")
    assert "Doorgegeven aan de politie" in closed
    assert "Politie ter plaatse" in closed
    # times are local with their zone
    assert d.execute_script(
        "return document.querySelector('#timeline time').innerText").strip()
    exp = d.find_element("id", "export-csv").get_attribute("href")
    assert exp.endswith("/api/export?alert=%s&format=csv" % aid)
    assert run_axe(d, js) == []
    phone = login(browser(390, 844), console,
                  path="/alert.html?id=%s" % aid)
    harness.wait_until(lambda: phone.find_elements(
        "css selector", "#details dd.message"), 10, what="details on a phone")
    assert run_axe(phone, js) == []
    # nothing wider than the phone's screen
    assert phone.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    assert page_errors(d) == []


@pytest.mark.hard_timeout(120)
def test_english_by_choice_and_by_browser(lab, browser):
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    h, b, _ = make_webhook(env, RID, alert_type="threat", message="x")
    assert console.hook(h, b) == 200
    # a browser asking for English gets English
    en = login(browser(lang="en-GB"), console)
    wait_items(en, 1)
    harness.wait_until(lambda: en.find_element("id", "queue-title").text ==
                       "Queue", 10, what="English")
    assert en.execute_script("return document.documentElement.lang") == "en"
    assert "Threat" in en.find_element("css selector", "#queue > li").text
    assert en.title == "(1) Alerts – alertconsole"
    assert run_axe(en, js) == []
    # a browser asking for neither gets Dutch
    fr = login(browser(lang="fr-FR"), console, name=SECOND)
    harness.wait_until(lambda: fr.find_element("id", "queue-title").text ==
                       "Wachtrij", 10, what="Dutch by default")
    # the operator's choice is kept, over the browser's
    from selenium.webdriver.support.ui import Select
    Select(fr.find_element("id", "lang")).select_by_value("en")
    harness.wait_until(lambda: fr.find_element("id", "queue-title").text ==
                       "Queue", 10, what="switched to English")
    assert "Threat" in fr.find_element("css selector", "#queue > li").text
    fr.refresh()
    harness.wait_until(lambda: fr.find_element("id", "queue-title").text ==
                       "Queue", 10, what="English kept")
    status, _, who = console.get("/api/session")
    assert json.loads(who)["lang"] == ""  # the other operator's is unchanged


@pytest.mark.hard_timeout(150)
def test_acknowledge_from_the_alert_page(lab, browser):
    """With a real relay: the operator opens the alert from the queue
    (keyboard only), acknowledges it; the relay stops (oncall-1's tier,
    due after 6 s, never comes), the sender's `alertctl send --wait ack`
    names the operator, and the page shows who acknowledged."""
    from selenium.webdriver.common.keys import Keys
    from test_console_ops import relay_stack
    st = relay_stack(lab, second_tier_s=6)
    console = st.console.start()
    d = login(browser(), console)
    t_send = time.monotonic()
    p = lab.send_proc(st.env, "--type", "panic", "--message", "Hulp nodig",
                      "--wait", "ack", "--wait-timeout", "40",
                      "--timeout", "20")
    aid = p.wait_for(r"^alert_id=([0-9a-f]{32})$", "stdout",
                     timeout=15).group(1)
    (li,) = wait_items(d, 1)
    harness.wait_until(lambda: alarm(d) == "playing", 5, what="the alarm")
    # keyboard: the alert's link, Enter
    link = d.find_element("css selector", "#queue > li h3 a")
    link.send_keys(Keys.ENTER)
    harness.wait_until(lambda: "/alert.html" in d.current_url, 15,
                       what="the alert's page")
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#details dd.message"), 10, what="the details")
    ack = d.find_element("id", "ack")
    ack.send_keys(Keys.ENTER)  # a button takes Enter, as a click
    notice = d.find_element("id", "notice")
    harness.wait_until(lambda: notice.text.startswith("Bevestigd."), 10,
                       what="the acknowledgement")
    assert time.monotonic() - t_send < 5.5, "too slow to mean anything"
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#details dd.acked-by"), 5, what="acknowledged by")
    assert d.execute_script("return document.querySelector("
                            "'#details dd.acked-by').innerText") == OPERATOR
    assert d.execute_script("return document.body.dataset.owner") == OPERATOR
    rc = p.wait_exit(15)
    out = p.snapshot("stdout")
    assert rc == 0 and any("acknowledged" in l and OPERATOR in l
                           for l in out), out
    time.sleep(max(0.0, t_send + 6 + 2.5 - time.monotonic()))
    assert st.oncall.snapshot() == []
    kinds = [k for k, _ in timeline(d)]
    assert kinds[:3] == ["received", "claimed", "acknowledged"], kinds
    assert page_errors(d) == []


def test_an_account_name_the_relay_refuses_is_told_on_the_page(lab, browser):
    """With a real relay: an operator whose account name has a bidi
    override (made before `alertconsole user add` refused such names;
    written into the database here) acknowledges from the alert page;
    the relay refuses the name, and the page says why in the console's
    own Dutch words (trying again does not help, the administrator must
    add the account again under another name), not the generic failure
    (fails on the old code: "Bevestigen is niet gelukt. Probeer het
    opnieuw of bel de melder.")."""
    from test_console_ack_refusal import (BIDI_NAME, sent_alert,
                                          start_with_a_bidi_account)
    from test_console_ops import relay_stack
    st = relay_stack(lab)
    console = start_with_a_bidi_account(st.console)
    aid = sent_alert(lab, st.env, console)
    d = login(browser(), console, path="/alert.html?id=%s" % aid,
              name=BIDI_NAME)
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#details dd.message"), 10, what="the details")
    notice = d.find_element("id", "notice")
    d.find_element("id", "ack").click()
    harness.wait_until(lambda: "accountnaam" in notice.text, 15,
                       what="the refusal told")
    assert notice.text.startswith(
        "Bevestigen is niet gelukt: de relay weigert uw accountnaam"), \
        notice.text
    assert "andere naam" in notice.text and "Bel intussen de melder" in \
        notice.text, notice.text
    # the browser logs the 502 itself; nothing else went wrong
    assert [e for e in page_errors(d) if not (e["source"] == "network" and
            "/ack - " in e["message"] and "502" in e["message"])] == []


@pytest.mark.hard_timeout(180)
def test_login_page_says_when_the_console_is_busy(lab, browser):
    """Wrong logins from 16 addresses, three connections each, keep the
    password checks of browsers without a device cookie full; a login
    from the page refused for that (503) says so in Dutch: try again in
    a few seconds, a browser that logged in before goes first.  Before,
    the page said only that it had not worked (the text of any error)."""
    console = Console(lab, lab.env(),
                      extra={"login_addr_max": 100000}).start()
    console.add_user()
    stop = threading.Event()
    seen = []

    def attacker(source):
        body = json.dumps({"name": "j.jansen", "password": "geraden"})
        while not stop.is_set():
            c = http.client.HTTPConnection("127.0.0.1", console.port,
                                           timeout=30,
                                           source_address=(source, 0))
            try:
                c.request("POST", "/api/login", body,
                          {"Content-Type": "application/json"})
                seen.append(c.getresponse().status)
            except OSError:
                pass
            finally:
                c.close()

    flood = [threading.Thread(target=attacker, args=("127.0.6.%d" % (i + 1),))
             for i in range(16) for _ in range(3)]
    for t in flood:
        t.start()
    busy = ("De console controleert nu te veel aanmeldingen tegelijk. "
            "Probeer het over een paar seconden opnieuw. In een browser "
            "waarin u al eens inlogde, gaat uw aanmelding voor.")
    texts = []
    try:
        harness.wait_until(lambda: 503 in seen, 60, what="the flood")
        d = browser()
        d.get("http://127.0.0.1:%d/login.html" % console.port)
        for _ in range(10):  # a try may find a place: then it is a 401
            d.execute_script(
                "document.getElementById('login-msg').textContent = ''")
            d.find_element("id", "name").clear()
            msg = login_message(d, OPERATOR, "niet het wachtwoord")
            texts.append(msg.text)
            if msg.text == busy:
                break
    finally:
        stop.set()
        for t in flood:
            t.join(60)
    assert texts[-1] == busy, texts
