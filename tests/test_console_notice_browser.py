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


NO_ACK_RELAY = ("Nog geen bevestiging die telt: de relay meldt er een, maar"
                " die is niet ondertekend")
NO_ACK_RELAY_EN = ("No acknowledgement that counts yet: the relay reports"
                   " one, but it is not signed")


@pytest.mark.hard_timeout(120)
def test_alert_page_says_whose_word_and_which_ack_counts(lab, browser):
    """On the alert's page: another enrolled device's signed cancel is
    the relay's word in the timeline too (before, "Ingetrokken door de
    melder"); "Tijd tot bevestigen" counts no acknowledgement only the
    relay vouches for and says so (before, the relay's time), Dutch and
    English; a statement the recipient signed counts."""
    import nacl.signing
    from test_console_notice import (b64, other_device, panics, send_notices,
                                     signed_cancel, statement)
    env = lab.env()
    other = other_device(env)
    sk = nacl.signing.SigningKey.generate()
    env.sign_keys[RID] = b64(sk.verify_key)
    env.use_directory()
    console = Console(lab, env).start()
    aids = panics(env, console, 3)
    send_notices(env, console, aids, [
        ("alert.cancelled", signed_cancel(other, env, aids[0],
                                          device_id="mayor-b")),
        ("alert.acknowledged", {"acknowledged_by": "Piket-1"}),
        ("alert.acknowledged", {"acknowledged_by": "Piket-1", "statement":
                                statement(sk, aids[2], "%064x" % 2)}),
    ], "msg_page")
    d = login(browser(), console, "/alert.html?id=" + aids[0])
    base = "http://127.0.0.1:%d/alert.html?id=" % console.port

    def shown(sel):
        return d.execute_script(
            "const e = document.querySelector(arguments[0]);"
            "return e ? e.innerText : '';", sel)

    harness.wait_until(lambda: "Ingetrokken volgens de relay, niet "
                       "ondertekend" in shown("#timeline"), 10,
                       what="the other device's cancel as the relay's word")
    assert "Ingetrokken door de melder" not in shown("#timeline")
    assert d.find_element("id", "claim").is_enabled()
    d.get(base + aids[1])
    harness.wait_until(lambda: shown("dd.time-to-ack") == NO_ACK_RELAY, 10,
                       what="no time to ack from the relay's word")
    d.find_element("css selector", "#lang option[value=en]").click()
    harness.wait_until(lambda: shown("dd.time-to-ack") == NO_ACK_RELAY_EN,
                       10, what="the same in English")
    d.get(base + aids[2])
    harness.wait_until(lambda: shown("dd.time-to-ack").endswith(" s"), 10,
                       what="the signed acknowledgement's time")
    assert page_errors(d) == []
