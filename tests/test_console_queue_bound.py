"""The console's queue in a flood (console_db.c's queue, console_api.c):
more open alerts than one answer lists (CONSOLE_DB_LIST_MAX, 500), each
a real signed, sealed webhook to a real alertconsole.  The list keeps
the open alerts that have waited longest, and every duress alarm
however new; /api/alerts says how many open alerts it left out
(more_open), and the page says so in words above the queue, in Dutch
and in English.  Before, the list held the 500 newest open alerts and
the oldest, the most urgent to an operator, dropped off unseen."""

import json

import pytest

import harness
from test_console import Console, RID, make_webhook
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  page_errors, run_axe, wait_items)
from test_console_duress_browser import duress_of

pytestmark = pytest.mark.needs("alertconsole")

LIST_MAX = 500  # CONSOLE_DB_LIST_MAX
SUPER = "Kees Bakker"

MORE_NL = ("Er wachten nog %d open meldingen die niet in deze lijst staan."
           " De lijst toont de open meldingen die het langst wachten; sluit"
           " er een af om de volgende te zien.")
MORE_EN = ("%d more open alerts are waiting that are not in this list. The"
           " list shows the open alerts that have waited longest; close one"
           " to see the next.")


def queue(c):
    status, _, raw = c.get("/api/alerts")
    assert status == 200, raw
    return json.loads(raw)


def listed(c):
    q = queue(c)
    return [a["alert_id"] for a in q["alerts"]], q.get("more_open")


@pytest.mark.hard_timeout(300)
def test_a_flood_keeps_the_longest_waiting_and_says_how_many_more(
        lab, browser):
    ax = axe_path()
    env = lab.env()
    # the webhooks come faster than the default 50 connections a second
    c = Console(lab, env, extra={"conn_rate": "2000",
                                 "conn_burst": "2000"}).start()
    c.add_user(SUPER, role="supervisor")
    c.login(SUPER)
    sent = []  # (alert id, body), in the order they came
    for _ in range(LIST_MAX + 5):
        headers, body, inner = make_webhook(env, RID, alert_type="test",
                                            location=None)
        assert c.hook(headers, body) == 200
        sent.append((inner["alert_id"], body))
    ids = [a for a, _ in sent]
    got, more = listed(c)
    # the longest waiting are listed, the five newest counted
    assert ids[0] in got and ids[1] in got
    assert sorted(got) == sorted(ids[:LIST_MAX])
    assert more == 5

    # the newest, under duress, is listed at once (first), though the
    # bound then leaves out one more of the others
    assert duress_of(env, c, sent[-1][1]) == 200
    got, more = listed(c)
    assert got[0] == ids[-1]
    assert sorted(got[1:]) == sorted(ids[:LIST_MAX - 1])
    assert more == 5

    # the oldest closed: the next longest waiting comes in, one less
    # waits unlisted
    assert c.post("/api/alert/%s/close" % ids[0],
                  {"outcome": "test", "note": ""})[0] == 200
    got, more = listed(c)
    assert ids[0] not in got and ids[LIST_MAX - 1] in got
    assert more == 4

    # the page says it in words, above the queue
    d = login(browser(), c)
    wait_items(d, LIST_MAX, timeout=60)
    box = d.find_element("id", "more")
    harness.wait_until(box.is_displayed, 10, what="the count of the rest")
    assert box.text == MORE_NL % 4
    first = d.find_element("css selector", "#queue > li")
    assert first.get_attribute("data-alert-id") == ids[-1]
    assert page_errors(d) == []
    assert run_axe(d, ax) == []
    d.find_element("css selector", "#lang option[value=en]").click()
    harness.wait_until(lambda: box.text == MORE_EN % 4, 10,
                       what="the English count")
    # none left out: the words go
    for aid in ids[LIST_MAX:LIST_MAX + 4]:
        assert c.post("/api/alert/%s/close" % aid,
                      {"outcome": "test", "note": ""})[0] == 200
    assert listed(c)[1] == 0
    harness.wait_until(lambda: not box.is_displayed(), 10,
                       what="the count gone")
