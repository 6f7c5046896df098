"""alertconsole and a duress cancel of an alert its operators already
closed: the relay reopens such an alert and sends alert.duress to every
tier (alertconsole(8)), and the console reopens it too (console_db.c's
webhook_duress_reopens): listed first, open, waiting for a person (the
page rings for it), its timeline saying why, and the retention sweep
keeps it while it is open; in headless Chromium the queue page rings,
notifies and counts it again.  Real alertconsole, webhooks signed as the
relay signs them.

Before the fix the closed alert stayed closed (out of open_alert, not
waiting, no ring) and the sweep removed the new alert.duress row with
the rest of the alert once the old closure was past alert_content."""

import json

import pytest

import harness

from test_console import RID, make_webhook
from test_console_browser import (browser, login, page_errors,  # noqa: F401
                                  wait_items)
from test_console_duress_notice import duress_notice
from test_console_ops_browser import (alarm, allow_notifications,
                                      in_background, notified)
from test_console_retention import close, console, counts, db

pytestmark = pytest.mark.needs("alertconsole")


def listing(c):
    status, _, body = c.get("/api/alerts")
    assert status == 200, (status, body)
    return json.loads(body)


@pytest.mark.hard_timeout(90)
def test_duress_after_a_closure_reopens_the_alert(lab):
    env, c = console(lab, alert_content=2, alert_history=3600)
    headers, body, inner = make_webhook(env, RID, alert_type="panic",
                                        message="Achterdeur")
    assert c.hook(headers, body) == 200
    aid = inner["alert_id"]
    other_h, other, _ = make_webhook(env, RID, alert_type="test")
    assert c.hook(other_h, other) == 200
    # closed with it: its content going shows the sweep ran (below)
    gone_h, gone_body, gone = make_webhook(env, RID, alert_type="test")
    assert c.hook(gone_h, gone_body) == 200
    close(c, gone["alert_id"])
    close(c, aid)
    first = listing(c)
    assert first["waiting"] == 1, first
    assert {a["alert_id"]: a for a in first["alerts"]}[aid]["state"] == \
        "closed"
    # the relay's duress alarm for it, to every tier
    headers, nbody = duress_notice(env, json.loads(body), "msg_reopen_1")
    assert c.hook(headers, nbody) == 200
    got = listing(c)
    top = got["alerts"][0]
    assert top["alert_id"] == aid, got["alerts"]
    assert top["duress"] is True and top["state"] == "open", top
    assert top["closed"] is False and top["owner"] is None, top
    assert top["message"] == "Achterdeur", top
    # waiting for a person again: the page rings for the waiting ones
    assert got["waiting"] == 2, got
    with db(c) as d:
        assert d.execute("SELECT COUNT(*) FROM open_alert WHERE alert_id"
                         " = ?", (aid,)).fetchone()[0] == 1
    status, _, raw = c.get("/api/alert/%s" % aid)
    assert status == 200, (status, raw)
    shown = json.loads(raw)
    assert shown["state"] == "open" and shown["duress"] is True, shown
    kinds = [e["kind"] for e in shown["timeline"]]
    assert "reopened" in kinds and kinds.index("reopened") > \
        kinds.index("closed"), kinds
    # the old closure is past alert_content: once the sweep took the
    # alert closed beside it, the reopened one still has its rows, the
    # duress row too
    harness.wait_until(lambda: counts(c, gone["alert_id"])[0] == 0, 15,
                       what="the sweep past both closures")
    w, t, _ = counts(c, aid)
    assert w == 2 and t >= 5, (w, t)
    # an operator takes it and closes it again: then it goes as any
    close(c, aid)
    assert listing(c)["waiting"] == 1
    harness.wait_until(lambda: counts(c, aid)[0] == 0, 15,
                       what="the closed-again alert's webhooks swept")


@pytest.mark.hard_timeout(120)
def test_the_queue_page_rings_for_the_reopened_alarm(lab, browser):
    """In headless Chromium: the queue page saw the alert come, ring and
    be taken and closed, and went quiet; the duress alarm for it, while
    the tab is hidden, rings again, notifies, counts in the title and
    puts its card first with DWANG and "Oppakken".  Before, the page
    notified of an alert only once in its life: a reopened one rang
    without a notification."""
    env, c = console(lab)
    headers, body, inner = make_webhook(env, RID, alert_type="panic",
                                        message="Achterdeur")
    aid = inner["alert_id"]
    d = login(browser(), c)
    allow_notifications(d, c)
    assert c.hook(headers, body) == 200
    wait_items(d, 1)
    harness.wait_until(lambda: alarm(d) == "playing", 10,
                       what="the alarm for the new alert")
    close(c, aid)
    harness.wait_until(lambda: alarm(d) == "stopped", 10,
                       what="quiet once it is closed")
    assert not d.title.startswith("(")
    headers, nbody = duress_notice(env, json.loads(body), "msg_reopen_b")
    # with the queue in the background
    assert in_background(d, lambda: c.hook(headers, nbody)) == 200
    assert listing(c)["waiting"] == 1
    harness.wait_until(lambda: notified(d) == "1", 10,
                       what="a notification of the reopened alarm")
    harness.wait_until(lambda: alarm(d) == "playing", 10,
                       what="the alarm for the reopened alarm")
    assert d.title.startswith("(1) "), d.title
    top = d.execute_script(
        "const li = document.querySelector('#queue > li');"
        "return li ? [li.dataset.alertId, li.innerText,"
        " !!li.querySelector('button.claim')] : null;")
    assert top[0] == aid and top[2], top
    assert "DWANG – stil alarm: niet terugbellen" in top[1], top
    assert page_errors(d) == []
