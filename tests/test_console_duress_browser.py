"""The operators' queue in a real browser (headless Chromium, as
test_console_ops_browser.py): a duress alarm (a cancel with the duress
PIN, alert.duress) comes first, above a panic, and says "DWANG – stil
alarm: niet terugbellen" in words on its card and its page; a missed
check-in shows its type; a device the relay reports offline is an item
in the queue until its device.online comes; a duress alarm whose content
the relay no longer keeps (alert.duress without ciphertext) says so
where its message would be, on its card and page, in Dutch and English.
axe-core (WCAG 2.1 A, AA) on the queues and on the duress alerts'
pages."""

import json

import pytest

import harness
import proto
from test_console import Console, RID, make_webhook, resign
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  page_errors, run_axe, wait_items)
from test_console_duress_notice import duress_notice

pytestmark = pytest.mark.needs("alertconsole")

DWANG = "DWANG – stil alarm: niet terugbellen"


def duress_of(env, console, body):
    """alert.duress for the alert of body (the same ciphertext, as the
    relay sends it), signed as the relay signs."""
    o = json.loads(body)
    o.update(type="alert.duress", duress=True,
             duress_at=proto.rfc3339_now(), received_at=proto.rfc3339_now())
    b = json.dumps(o, separators=(",", ":")).encode()
    return console.hook(resign(env, b, "msg_duress_" + o["alert_id"]), b)


def device_event(env, console, kind, last_seen, created_at=None):
    event_id = proto.new_alert_id()
    b = json.dumps({"type": kind, "alert_id": event_id, "recipient_id": RID,
                    "device_id": env.device_id,
                    "created_at": created_at or proto.rfc3339_now(),
                    "received_at": proto.rfc3339_now(),
                    "last_seen": last_seen, "interval_s": "60"},
                   separators=(",", ":")).encode()
    return console.hook(resign(env, b, "msg_" + event_id), b)


@pytest.mark.hard_timeout(150)
def test_duress_first_and_said_in_words(lab, browser):
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    panic = make_webhook(env, RID, alert_type="panic", message="Paniek")
    assert console.hook(panic[0], panic[1]) == 200
    missed = make_webhook(env, RID, alert_type="missed_checkin", message=None)
    assert console.hook(missed[0], missed[1]) == 200
    # a threat, later cancelled with the duress PIN: comes before the panic
    h, b, inner = make_webhook(env, RID, alert_type="threat",
                               message="Verdachte auto")
    assert console.hook(h, b) == 200
    assert duress_of(env, console, b) == 200
    aid = inner["alert_id"]
    seen = "2026-01-05T13:04:05Z"
    assert device_event(env, console, "device.offline", seen) == 200

    listed = console.alerts()
    assert [a["alert_id"] for a in listed][0] == aid
    assert listed[0]["duress"] is True
    status, _, raw = console.get("/api/alerts")
    offline = json.loads(raw)["offline"]
    assert [(o["device_id"], o["last_seen"]) for o in offline] == [
        (env.device_id, seen)]

    d = login(browser(), console)
    items = wait_items(d, 4)
    first = items[0]
    assert "duress" in first.get_attribute("class").split()
    assert first.get_attribute("data-alert-id") == aid
    assert DWANG in first.text
    assert first.find_element("css selector", ".duress-note strong"
                              ).text.endswith(DWANG)
    # not in the other cards
    assert all(DWANG not in li.text for li in items[1:])
    texts = [li.text for li in items]
    assert any("Check-in gemist" in x for x in texts), texts
    off = d.find_elements("css selector", "#queue > li.device-offline")
    assert len(off) == 1
    assert off[0].text.startswith("Apparaat offline: %s, laatst gezien "
                                  % env.device_id)
    assert "2026" in off[0].text  # the local date and time, with its zone
    assert run_axe(d, js) == []

    # back online: the item goes (the page follows the event stream)
    later = proto.rfc3339_now()
    assert device_event(env, console, "device.online", later) == 200
    harness.wait_until(lambda: not d.find_elements(
        "css selector", "#queue > li.device-offline"), 10,
        what="the offline item gone")
    status, _, raw = console.get("/api/alerts")
    assert json.loads(raw)["offline"] == []

    # the alert's own page says it too, before its details
    d.get("http://127.0.0.1:%d/alert.html?id=%s" % (console.port, aid))
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#duress .duress-note"), 10, what="the duress note")
    assert DWANG in d.find_element("id", "duress").text
    assert run_axe(d, js) == []
    # and in English
    d.find_element("css selector", "#lang option[value=en]").click()
    harness.wait_until(lambda: "DURESS – silent alarm: do not call back" in
                       d.find_element("id", "duress").text, 10,
                       what="the English duress note")
    assert page_errors(d) == []


REMOVED = ("Niet meer bewaard door de relay (bewaartermijn verstreken): zie"
           " de eerste melding van dit alarm")
REMOVED_EN = ("Not kept by the relay any more (retention period over): see"
              " the first notification of this alarm")


@pytest.mark.hard_timeout(150)
def test_duress_alarm_without_content_in_words(lab, browser):
    """alert.duress without ciphertext (its content swept by the relay's
    retention, test_console_duress_notice.py) for an alert this console
    never had: the card and the alert's page say DWANG and, where the
    message goes, that the relay no longer keeps the content; no "Geen
    bericht" that would read as an alarm without words."""
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    panic = make_webhook(env, RID, alert_type="panic", message="Paniek")
    assert console.hook(panic[0], panic[1]) == 200
    _, other, _ = make_webhook(env, RID, alert_type="threat")
    o = json.loads(other)
    headers, nbody = duress_notice(env, o, "msg_duress_swept")
    assert console.hook(headers, nbody) == 200
    aid = o["alert_id"]

    d = login(browser(), console)
    items = wait_items(d, 2)
    first = items[0]
    assert first.get_attribute("data-alert-id") == aid
    assert DWANG in first.text
    assert first.find_element("css selector", "dd.message").text == REMOVED
    assert "Geen bericht" not in first.text
    assert "Dreiging – %s" % env.device_id in first.text
    assert run_axe(d, js) == []

    d.get("http://127.0.0.1:%d/alert.html?id=%s" % (console.port, aid))
    harness.wait_until(lambda: d.find_elements(
        "css selector", "#duress .duress-note"), 10, what="the duress note")
    assert DWANG in d.find_element("id", "duress").text
    # read in one script: the page redraws its details on each event
    message = "return document.querySelector('#details dd.message')" \
        "?.innerText"
    assert d.execute_script(message) == REMOVED
    assert run_axe(d, js) == []
    d.find_element("css selector", "#lang option[value=en]").click()
    harness.wait_until(lambda: d.execute_script(message) == REMOVED_EN, 10,
                       what="the English text")
    assert "DURESS – silent alarm: do not call back" in \
        d.find_element("id", "duress").text
    assert page_errors(d) == []
