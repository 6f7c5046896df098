"""The console's queue in a flood (console_db.c's queue, console_api.c):
more open alerts than one answer lists (CONSOLE_DB_LIST_MAX, 500), each
a real signed, sealed webhook to a real alertconsole.  The list keeps
every duress alarm however new, then the alerts waiting for a person,
then the other open alerts, each the longest waiting first;
/api/alerts says how many open alerts it left out (more_open), and how
many alerts wait for a person (waiting, as the metrics count them) and
how many of those it left out (waiting_unlisted); the page says both in
words above the queue, in Dutch and in English, and rings for a waiting
alert it does not list.  Before, the list held the 500 newest open
alerts and the oldest, the most urgent to an operator, dropped off
unseen; and then 500 alerts already claimed pushed a new panic out of
the list, and the page, which rang only for listed alerts, stayed
silent."""

import json

import pytest

import harness
from test_console import Console, RID, make_webhook
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  page_errors, run_axe, wait_items)
from test_console_duress_browser import duress_of
from test_console_ops_browser import (alarm, allow_notifications,
                                      in_background, notified)

pytestmark = pytest.mark.needs("alertconsole")

LIST_MAX = 500  # CONSOLE_DB_LIST_MAX
SUPER = "Kees Bakker"

MORE_NL = ("Er wachten nog %d open meldingen die niet in deze lijst staan."
           " De lijst toont eerst dwangmeldingen en meldingen die op iemand"
           " wachten, daarna de open meldingen die het langst wachten; sluit"
           " er een af om de volgende te zien.")
MORE_EN = ("%d more open alerts are waiting that are not in this list. The"
           " list shows duress alarms and alerts waiting for someone first,"
           " then the open alerts that have waited longest; close one to see"
           " the next.")
UNLISTED_NL = ("Er wacht 1 melding op iemand die niet in deze lijst staat: de"
               " lijst is vol. Het alarm gaat af tot iemand die neemt; neem"
               " of sluit een melding om die te zien.")
UNLISTED_EN = ("1 alert waiting for someone is not in this list: the list is"
               " full. The alarm sounds until someone takes it; claim or"
               " close an alert to see it.")


def queue(c):
    status, _, raw = c.get("/api/alerts")
    assert status == 200, raw
    return json.loads(raw)


def listed(c):
    q = queue(c)
    return [a["alert_id"] for a in q["alerts"]], q.get("more_open")


def flooded(lab, env):
    """A console taking webhooks faster than the default 50 connections
    a second, a supervisor logged in over the API."""
    c = Console(lab, env, extra={"conn_rate": "2000",
                                 "conn_burst": "2000"}).start()
    c.add_user(SUPER, role="supervisor")
    c.login(SUPER)
    return c


def send_tests(env, c, n):
    """n test alerts, as (alert id, body) in the order they came."""
    sent = []
    for _ in range(n):
        headers, body, inner = make_webhook(env, RID, alert_type="test",
                                            location=None)
        assert c.hook(headers, body) == 200
        sent.append((inner["alert_id"], body))
    return sent


def claim_all(c, ids):
    for aid in ids:
        assert c.post("/api/alert/%s/claim" % aid)[0] == 200


def send_panic(env, c):
    headers, body, inner = make_webhook(env, RID, alert_type="panic",
                                        location=None)
    assert c.hook(headers, body) == 200
    return inner["alert_id"]


@pytest.mark.hard_timeout(300)
def test_a_flood_keeps_the_longest_waiting_and_says_how_many_more(
        lab, browser):
    ax = axe_path()
    env = lab.env()
    c = flooded(lab, env)
    sent = send_tests(env, c, LIST_MAX + 5)
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


@pytest.mark.hard_timeout(300)
def test_a_new_panic_is_listed_before_claimed_ones(lab):
    """The reviewer's case: 500 test alerts, all claimed, then a panic.
    The panic waits for a person, so it is listed (and rings: open,
    nobody holds it) and one of the claimed ones, the newest, is left
    out instead; the counts say so.  Before, the 500 claimed ones filled
    the list and the panic was only counted in more_open."""
    env = lab.env()
    c = flooded(lab, env)
    ids = [a for a, _ in send_tests(env, c, LIST_MAX)]
    claim_all(c, ids)
    new = send_panic(env, c)
    q = queue(c)
    got = {a["alert_id"]: a for a in q["alerts"]}
    assert new in got, "the new panic is not listed"
    assert got[new]["state"] == "open" and got[new]["owner"] is None
    assert sorted(got) == sorted(ids[:LIST_MAX - 1] + [new])
    assert (q["more_open"], q["waiting"], q["waiting_unlisted"]) == (1, 1, 0)
    # once claimed it goes back behind the others' age: the oldest 500
    claim_all(c, [new])
    got, more = listed(c)
    assert sorted(got) == sorted(ids) and more == 1


@pytest.mark.hard_timeout(420)
def test_the_page_rings_for_a_waiting_alert_it_does_not_list(lab, browser):
    """500 duress alarms, all claimed, fill the list (duress goes first);
    a new panic then waits outside it.  The page still rings, notifies a
    hidden tab, counts it in its title and says why in words, Dutch and
    English; a claim of it (elsewhere) ends all three.  Before, the page
    rang only for the alerts it listed: silence."""
    env = lab.env()
    c = flooded(lab, env)
    sent = send_tests(env, c, LIST_MAX)
    for _, body in sent:
        assert duress_of(env, c, body) == 200
    claim_all(c, [a for a, _ in sent])
    d = login(browser(), c)
    wait_items(d, LIST_MAX, timeout=60)
    harness.wait_until(lambda: alarm(d) == "stopped", 10,
                       what="no alarm: every duress alarm is held")
    allow_notifications(d, c)
    new = in_background(d, lambda: send_panic(env, c))
    q = queue(c)
    assert new not in [a["alert_id"] for a in q["alerts"]]
    harness.wait_until(lambda: notified(d) == "1", 10,
                       what="a notification of the unlisted alert")
    harness.wait_until(lambda: alarm(d) == "playing", 10,
                       what="the alarm for the unlisted alert")
    assert d.title.startswith("(1) ")
    box = d.find_element("id", "unlisted")
    harness.wait_until(lambda: box.is_displayed() and
                       box.text == UNLISTED_NL, 10, what="the words")
    assert page_errors(d) == []
    assert (q["more_open"], q["waiting"], q["waiting_unlisted"]) == (1, 1, 1)
    d.find_element("css selector", "#lang option[value=en]").click()
    harness.wait_until(lambda: box.text == UNLISTED_EN, 10,
                       what="the English words")
    # taken by a colleague: silence, the words gone
    claim_all(c, [new])
    harness.wait_until(lambda: alarm(d) == "stopped", 10,
                       what="the alarm to stop")
    harness.wait_until(lambda: not box.is_displayed(), 10,
                       what="the words gone")
