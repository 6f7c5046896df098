"""The relay's word on the operators' page (headless Chromium, as
test_console_ops_browser.py): a bare alert.cancelled and alert.acknowledged
(signed with the webhook secret only, as a relay taken over can send
them) leave the alarm ringing and the "Oppakken" button on the card, and
the card says in words that only the relay says so; the alert's page and
its timeline say it too.  axe-core (WCAG 2.1 A, AA) on the queue."""

import json

import pytest

import harness
from test_console import Console, RID, make_webhook, resign
from test_console_browser import (axe_path, browser, login,  # noqa: F401
                                  page_errors, run_axe, wait_items)
from test_console_ops_browser import alarm

pytestmark = pytest.mark.needs("alertconsole")

RELAY_CANCEL = "ingetrokken door de melder – volgens de relay, niet ondertekend"
RELAY_ACK = "bevestigd door Piket-1 – volgens de relay, niet ondertekend"


def bare(env, console, kind, aid, **extra):
    o = {"type": kind, "alert_id": aid, "recipient_id": RID}
    o.update(extra)
    b = json.dumps(o).encode()
    return console.hook(resign(env, b, "msg_%s_%s" % (kind, aid)), b)


@pytest.mark.hard_timeout(120)
def test_relay_word_keeps_the_alarm_and_the_claim_button(lab, browser):
    js = axe_path()
    env = lab.env()
    console = Console(lab, env, extra={"alarm_interval": "2"}).start()
    d = login(browser(), console)
    ids = []
    for t in ("panic", "threat"):
        h, b, inner = make_webhook(env, RID, alert_type=t)
        assert console.hook(h, b) == 200
        ids.append(inner["alert_id"])
    wait_items(d, 2)
    harness.wait_until(lambda: alarm(d) == "playing", 10,
                       what="the alarm playing")
    assert bare(env, console, "alert.cancelled", ids[0]) == 200
    assert bare(env, console, "alert.acknowledged", ids[1],
                acknowledged_by="Piket-1") == 200

    def card(aid):
        """The card's text and whether it has the claim button, read at
        once (the page re-renders cards as it reloads)."""
        return d.execute_script(
            "const li = document.querySelector("
            "'#queue li[data-alert-id=\"' + arguments[0] + '\"]');"
            "return li ? [li.innerText, !!li.querySelector('button.claim')]"
            " : ['', false];", aid)

    harness.wait_until(lambda: RELAY_CANCEL in card(ids[0])[0] and
                       RELAY_ACK in card(ids[1])[0], 10,
                       what="the relay's word on the cards")
    for aid in ids:
        text, claim = card(aid)
        assert "Ingetrokken door de melder" not in text, text
        assert claim, text
    assert alarm(d) == "playing"
    assert d.title.startswith("(2) "), d.title
    assert run_axe(d, js) == []
    # the alert's page: the same words, the claim button enabled
    d.get("http://127.0.0.1:%d/alert.html?id=%s" % (console.port, ids[0]))
    harness.wait_until(lambda: RELAY_CANCEL in d.find_element(
        "id", "details").text, 10, what="the relay's word on the page")
    assert d.find_element("id", "claim").is_enabled()
    harness.wait_until(lambda: "Ingetrokken volgens de relay, niet "
                       "ondertekend" in d.find_element("id", "timeline").text,
                       10, what="the timeline's relay entry")
    assert page_errors(d) == []
