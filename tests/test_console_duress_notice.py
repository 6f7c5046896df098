"""alertconsole and a duress alarm that comes without its content: the
relay's alert.duress without ciphertext, sent when a duress cancel comes
after the alert's [retention] alert_content period (review of the life
cycle, finding 1).  Real alertconsole, webhooks signed as the relay
signs them.

Before the fix the console refused such a webhook (400), so the relay
retried it until it gave up and the operators never saw the duress."""

import json

import pytest

import proto
from test_console import RID, Console, resign
from test_receiver import make_webhook

pytestmark = pytest.mark.needs("alertconsole")


def duress_notice(env, o, msg_id):
    """alert.duress as the relay sends it without content: the outer
    fields of o (an alarm's webhook body), no ciphertext."""
    n = {k: o[k] for k in ("alert_id", "device_id", "alert_type",
                           "created_at", "received_at", "recipient_id")}
    n.update({"type": "alert.duress", "duress": True, "drill": False,
              "duress_at": proto.rfc3339_now(), "ref": "K7Q2M9XD",
              "tier": 1})
    body = json.dumps(n, separators=(",", ":")).encode()
    return resign(env, body, msg_id), body


@pytest.mark.hard_timeout(90)
def test_console_shows_a_duress_alarm_without_content(lab):
    env = lab.env()
    console = Console(lab, env).start()
    # one it had: shown from its sealed alert, now marked duress
    headers, body, inner = make_webhook(env, RID, message="Voordeur")
    assert console.hook(headers, body) == 200
    headers, nbody = duress_notice(env, json.loads(body), "msg_duress_1")
    assert console.hook(headers, nbody) == 200
    # one it never had (its database newer than the alarm): the relay's
    # outer fields, marked as without content
    _, other, _ = make_webhook(env, RID, alert_type="threat")
    headers, nbody = duress_notice(env, json.loads(other), "msg_duress_2")
    assert console.hook(headers, nbody) == 200
    alerts = {a["alert_id"]: a for a in console.alerts()}
    had, new = alerts[inner["alert_id"]], alerts[json.loads(other)["alert_id"]]
    assert had["duress"] is True and had["message"] == "Voordeur", had
    assert "sealed" not in had, had
    assert new["duress"] is True and new["sealed"] is False, new
    assert (new["type"], new["device_id"], new["message"]) == (
        "threat", env.device_id, None), new
    # duress first in the queue, and the state open
    assert [a["duress"] for a in console.alerts()][:2] == [True, True]
    assert new["state"] == "open", new
