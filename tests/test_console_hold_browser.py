"""Who may do what to an alert, as the operators see it on the alert's
page in headless Chromium (console/static/alert.js, lang/*.json): an
operator who tries to close a colleague's alert is told, in Dutch, who
holds it and that only they or a supervisor can; a supervisor sees
"Overnemen", takes the alert over and the timeline says from whom; axe-core
on the supervisor's page."""

import pytest

import harness
from test_console import Console, OPERATOR, RID, make_webhook
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  run_axe, timeline)

pytestmark = pytest.mark.needs("alertconsole")

SECOND = "Fatima el Amrani"
SUPER = "Kees Bakker"


def page_ready(d):
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#details dd.owner"), 10, what="the alert's details")


def notice(d, text):
    harness.wait_until(lambda: d.find_element("id", "notice").text == text,
                       10, what="the notice %r (is %r)" % (
                           text, d.find_element("id", "notice").text))


@pytest.mark.hard_timeout(150)
def test_refusals_and_the_take_over_on_the_alert_page(lab, browser):
    js = axe_path()
    env = lab.env()
    c = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, alert_type="panic")
    assert c.hook(h, b) == 200
    aid = inner["alert_id"]
    c.login(OPERATOR)
    assert c.post("/api/alert/%s/claim" % aid)[0] == 200
    path = "/alert.html?id=%s" % aid
    # a colleague: no take-over button, and a closure is refused with why
    d = login(browser(), c, path=path, name=SECOND)
    page_ready(d)
    assert not d.find_element("id", "takeover").is_displayed()
    d.find_element("css selector", "#close-form button").click()
    notice(d, "Dit kan alleen %s, die de melding heeft opgepakt, of een "
              "supervisor." % OPERATOR)
    assert d.execute_script("return document.body.dataset.state") != "closed"
    # a supervisor takes it over
    c.add_user(SUPER, role="supervisor")
    s = login(browser(), c, path=path, name=SUPER)
    page_ready(s)
    btn = s.find_element("id", "takeover")
    assert btn.is_displayed() and btn.is_enabled()
    assert btn.text == "Overnemen"
    assert run_axe(s, js) == []
    btn.click()
    notice(s, "U heeft deze melding overgenomen.")
    harness.wait_until(lambda: s.execute_script(
        "return document.body.dataset.owner") == SUPER, 15, what="the owner")
    harness.wait_until(lambda: timeline(s, "taken_over"), 15,
                       what="the take-over in the timeline")
    li, = timeline(s, "taken_over")
    assert "Overgenomen van: %s" % OPERATOR in li and SUPER in li
    assert not s.find_element("id", "takeover").is_enabled()
