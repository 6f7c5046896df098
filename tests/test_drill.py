"""Drills (issue 13): `alertctl send --drill` goes the whole path (sealed,
Redis, escalation, SMS through Kannel, acknowledgement by `OK <ref>`,
receipts) marked OEFENING / DRILL everywhere: the SMS, the signed
webhook ("drill": true), the receiver's human output, status and list;
a tier marked drill=no gets no SMS in a drill (but does for a real
alert); metrics count drills apart and the shipped rules never fire on
them; and a relay that flips the flag (in Redis, or in the webhook body)
is caught by `alertctl receive`, because the device signed it inside the
sealed alert.  Real alertrelayd, redis-server, Kannel and alertctl.

Before drills: `send --drill` was an unknown option, and nothing here
could pass."""

import copy
import http.client
import json
import os
import re
import shutil
import time

import pytest

import harness
import proto
from harness import (SMS_NUMBERS, free_port, sms_alert_text,
                     sms_confirmed_text, sms_stack, sms_taken_rx, wait_until)
from test_console import Console
from test_metrics import RULES
from test_service import scrape, val

pytestmark = pytest.mark.needs("alertctl")

CP, OC = SMS_NUMBERS["contactpunt"], SMS_NUMBERS["oncall-1"]
OC_ALIAS = "Dienstdoende-1"
BOTH = "0 contactpunt:webhook contactpunt:sms oncall-1:sms"
DRILL_NL = "OEFENING - "
HINT_NL = ("Niet begrepen. Om een alarm op te pakken: antwoord OK en de "
           "referentie uit het alarm, bijvoorbeeld OK K7Q2M9XD.")


@pytest.fixture(autouse=True)
def dutch(monkeypatch):
    """The official's and the contact point's texts, as they read them:
    Dutch (the harness runs the rest of the suite in English)."""
    monkeypatch.setenv("LANGUAGE", "nl")


def policies(*tiers, **extra):
    p = {"default": {"types": "panic threat test", "tier": list(tiers),
                     "repeat": 0, "max_age": 3600}}
    p.update(extra)
    return p


def is_alert_sms(m):
    return re.match(r"(OEFENING - |DRILL - )?(ALARM|ALERT) ", m.text) is not None


def not_alert(m):
    return not is_alert_sms(m)


def send(lab, st, *args):
    """alertctl send; returns (alert_id, stdout lines)."""
    rc, out, err = lab.send(st.env, "--type", "panic", *args)
    assert rc == 0, (rc, out, err)
    assert out[0].startswith("alert_id="), out
    return out[0].split("=", 1)[1], out


def alertctl(st, *args):
    cp = harness.run([harness.alertctl_bin(), "-c", st.env.client_conf] +
                     list(args), timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return cp.stdout


def forward(port, attempt, body=None, headers=None):
    """A webhook the relay sent (as a recorder got it) posted to a
    receiver: the status it answers."""
    h = dict(headers or attempt["headers"])
    h = {k: v for k, v in h.items()
         if k in ("webhook-id", "webhook-timestamp", "webhook-signature",
                  "content-type")}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/hook", body if body is not None else attempt["body"], h)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def resign(st, rid, attempt, body):
    """What a relay (which holds the webhook key) can do: new body, a
    valid signature."""
    key = proto.whsec_key(st.env.recipients[rid].secret_text)
    h = dict(attempt["headers"])
    ts = str(int(time.time()))
    h["webhook-timestamp"] = ts
    h["webhook-signature"] = proto.webhook_signature(key, h["webhook-id"], ts, body)
    return h


def receiver(lab, st, rid, pretty=False):
    return lab.receiver(st.env, rid, port=free_port(), pretty=pretty)


@pytest.mark.hard_timeout(150)
def test_drill_whole_path_oefening_ok_ref_and_receipts(lab):
    """A drill: OEFENING on the sender's screen, both phones get the
    Dutch SMS with "OEFENING - " first, the signed webhook says
    "drill": true, the receiver's human output says OEFENING before the
    alarm, a reply not understood gets a hint marked OEFENING, "OK <ref>"
    from a phone acknowledges it with a confirmation and a notice that
    are drills too, and the device's receipts, status and list say
    drill."""
    st = sms_stack(lab, policies(BOTH))
    pretty = receiver(lab, st, "contactpunt", pretty=True)
    plain = receiver(lab, st, "contactpunt")
    aid, out = send(lab, st, "--drill", "--message", "Oefening voordeur")
    assert any("OEFENING" in l for l in out), out

    h = st.alert_hash(aid)
    assert h["drill"] == "1", h
    ref = h["ref"]
    want = DRILL_NL + sms_alert_text("panic", harness.DEVICE_ALIAS, ref,
                                     h["received_at"])
    assert len(want) <= 160
    for to in (CP, OC):
        (_, m), = st.sms.wait(1, to=to, timeout=10)
        assert m.text == want, m.text

    hook, = st.wait_webhook("contactpunt", "alert.raised", aid)
    assert hook["sig_ok"] and hook["json"]["drill"] is True, hook["json"]
    assert forward(pretty.port, hook) == 200
    assert forward(plain.port, hook) == 200
    # the card's last line: the reader thread takes the card line by line
    wait_until(lambda: "alert_id:" in pretty.proc.text("stdout"), 5,
               what="the whole alarm card in the receiver's output")
    text = pretty.proc.text("stdout")
    # the alarm card: OEFENING before anything that reads as an alarm
    assert text.index("OEFENING") < text.index("ALARM PANIEK"), text
    line, = plain.wait_alerts(1)
    assert line["drill"] is True and line["message"] == "Oefening voordeur", line
    # the contact point's console gets it too, marked for its card
    con = Console(lab, st.env).start()
    hh = {k: v for k, v in hook["headers"].items()
          if k in ("webhook-id", "webhook-timestamp", "webhook-signature",
                   "content-type")}
    assert con.hook(hh, hook["body"]) == 200
    shown, = con.wait_alerts(1)
    assert shown["drill"] is True and shown["alert_id"] == aid, shown

    # a reply not understood: the hint says OEFENING too
    assert st.sms_reply("contactpunt", "wat moet ik doen?") == 404
    (_, hint), = st.sms.wait(1, to=CP, pred=not_alert)
    assert hint.text == DRILL_NL + HINT_NL, hint.text

    assert st.sms_reply("oncall-1", "OK %s" % ref) == 200
    wait_until(lambda: st.alert_hash(aid).get("state") == "acknowledged",
               5, what="state acknowledged")
    (_, ok), = st.sms.wait(1, to=OC, pred=not_alert)
    assert ok.text == DRILL_NL + sms_confirmed_text(ref), ok.text
    (_, told) = st.sms.wait(2, to=CP, pred=not_alert)[-1]
    assert re.fullmatch(re.escape(DRILL_NL) + sms_taken_rx(ref, OC_ALIAS),
                        told.text), told.text
    acked, = st.wait_webhook("contactpunt", "alert.acknowledged", aid)
    assert acked["json"]["drill"] is True, acked["json"]

    # the receipts the device gets say drill, every one
    evs = st.events(aid)
    assert {e["event"] for e in evs} >= {"accepted", "delivered", "acknowledged"}
    assert all(e.get("drill") is True for e in evs), evs
    status = alertctl(st, "status", aid)
    assert re.search(r"(?m)^\S*(drill|oefening)\S*:?\s+ja", status, re.I), status
    assert json.loads(alertctl(st, "status", aid, "--json"))["drill"] is True
    listed = alertctl(st, "list")
    assert aid in listed and "OEFENING" in listed, listed
    assert json.loads(alertctl(st, "list", "--json"))["alerts"][0]["drill"] is True


@pytest.mark.hard_timeout(150)
def test_tier_marked_drill_no_gets_no_sms_in_a_drill_only(lab):
    """tier = 1 oncall-1:sms drill=no: a drill reaches contactpunt by SMS
    and not oncall-1; a real alert reaches both, without OEFENING."""
    st = sms_stack(lab, policies("0 contactpunt:webhook contactpunt:sms",
                                 "1 oncall-1:sms drill=no"))
    aid, _ = send(lab, st, "--drill")
    (_, m), = st.sms.wait(1, to=CP, timeout=10)
    assert m.text.startswith(DRILL_NL + "ALARM PANIEK - "), m.text
    wait_until(lambda: st.alert_hash(aid).get("tier") == "1", 10,
               what="the drill's tier 1 to fire")
    # no SMS to the drill=no tier: not "none within a while" but none
    # before a later one.  The real alert is sent once the drill's tier 1
    # fired, and its SMS to oncall-1 takes the same way (relay, Kannel,
    # the phones' link) after whatever that tier gave: the first SMS
    # oncall-1 gets is the real alert's.
    real, _ = send(lab, st)
    (_, m2), = st.sms.wait(1, to=OC, timeout=15)
    assert m2.text.startswith("ALARM PANIEK - "), \
        "an SMS to a drill=no tier in a drill: %r" % m2.text
    assert st.alert_hash(real)["drill"] == "0"


@pytest.mark.hard_timeout(150)
def test_drill_policy_used_for_drills_only(lab):
    """A [policy] with drill = yes is what drills of its types follow;
    real alerts keep the ordinary one."""
    st = sms_stack(lab, policies(
        BOTH, oefenen={"types": "panic", "drill": "yes",
                       "tier": "0 contactpunt:webhook oncall-1:sms"}))
    aid, _ = send(lab, st, "--drill")
    (_, m), = st.sms.wait(1, to=OC, timeout=10)
    assert m.text.startswith(DRILL_NL), m.text
    assert st.alert_hash(aid)["policy"] == "oefenen"
    # the drill's policy has no SMS to contactpunt: the first SMS it
    # gets is the real alert's, sent after the drill's went out (the
    # same way through Kannel), not a drill's
    real, _ = send(lab, st)
    (_, m), = st.sms.wait(1, to=CP, timeout=10)
    assert not m.text.startswith(DRILL_NL), \
        "the ordinary policy's SMS to contactpunt in a drill: %r" % m.text
    assert st.alert_hash(real)["policy"] == "default"


@pytest.mark.hard_timeout(150)
def test_metrics_count_drills_apart_and_rules_ignore_them(lab, tmp_path):
    """A drill and its SMS are counted under alertrelay_drill_* and not
    in the series the production rules read; the rules, fed drill series
    far past every threshold, fire nothing (promtool test rules)."""
    st = sms_stack(lab, policies("0 contactpunt:sms"), start=False)
    port = free_port()
    with open(st.env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % port)
    st.relay.start()
    st.relay.proc.wait_for(r"admin listening on 127\.0\.0\.1:%d" % port,
                           timeout=10)
    send(lab, st, "--drill")
    st.sms.wait(1, to=CP, timeout=10)

    def counted():  # the Redis gauges are read every 5 s
        s, _ = scrape(port)
        return (s.get(("alertrelay_drill_deliveries_total",
                       frozenset({("channel", "sms"), ("result", "ok")}))) == 1
                and s.get(("alertrelay_drills_open", frozenset())) == 1)
    wait_until(counted, 15, interval=0.2, what="the drill counted")
    s, _ = scrape(port)
    assert val(s, "alertrelay_drills_accepted_total") == 1
    assert val(s, "alertrelay_alerts_accepted_total", duplicate="false") == 0
    assert val(s, "alertrelay_deliveries_total", channel="sms", result="ok") == 0
    assert val(s, "alertrelay_alerts_open", alert_type="panic") == 0
    assert val(s, "alertrelay_alerts_unacknowledged_seconds", alert_type="panic") == 0

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed", pytrace=False)
    import yaml
    series = {
        'alertrelay_drill_deliveries_total{instance="a", channel="sms", '
        'result="failed"}': "0 1 2 3 4 5",
        'alertrelay_drills_unacknowledged_seconds{instance="a"}':
            "0 600 1200 1800 2400 3000",
        'alertrelay_drills_open{instance="a"}': "1 1 1 1 1 1",
        'alertrelay_deliveries_total{instance="a", channel="sms", '
        'result="failed"}': "0 0 0 0 0 0",
        'alertrelay_alerts_unacknowledged_seconds{instance="a", '
        'alert_type="panic"}': "0 0 0 0 0 0",
        'alertrelay_redis_up{instance="a"}': "1 1 1 1 1 1",
        'alertrelay_spool_bytes{instance="a"}': "0 0 0 0 0 0",
        'alertrelay_spool_refused{instance="a"}': "0 0 0 0 0 0",
        'alertrelay_deadletter_entries{instance="a"}': "0 0 0 0 0 0",
        'up{job="alertrelay", instance="a"}': "1 1 1 1 1 1",
    }
    names = [r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"]
             for r in g["rules"]]
    unit = tmp_path / "drills.test.yml"
    unit.write_text(yaml.safe_dump({
        "rule_files": [str(RULES)], "evaluation_interval": "1m",
        "tests": [{"interval": "1m",
                   "input_series": [{"series": k, "values": v}
                                    for k, v in series.items()],
                   "alert_rule_test": [
                       {"eval_time": "%dm" % m, "alertname": n, "exp_alerts": []}
                       for n in names for m in (2, 5)]}]}))
    cp = harness.run([promtool, "test", "rules", unit], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.hard_timeout(150)
def test_relay_flipping_the_flag_is_caught_by_the_receiver(lab):
    """The relay cannot turn a drill into an alarm or an alarm into a
    drill unnoticed: the webhook body re-signed with drill flipped, and
    an alert whose stored flag was changed in Redis before its tier
    fired, are both refused (422) by `alertctl receive` and never shown;
    the genuine webhooks are."""
    st = sms_stack(lab, policies("2 contactpunt:webhook"), sms=())
    recv = receiver(lab, st, "contactpunt")

    # the body: a drill made to look real
    aid, _ = send(lab, st, "--drill")
    hook, = st.wait_webhook("contactpunt", "alert.raised", aid, timeout=15)
    o = copy.deepcopy(hook["json"])
    assert o["drill"] is True
    o["drill"] = False
    body = json.dumps(o, separators=(",", ":")).encode()
    assert forward(recv.port, hook, body, resign(st, "contactpunt", hook, body)) == 422
    del o["drill"]  # as a relay of before drills would send it
    body = json.dumps(o, separators=(",", ":")).encode()
    assert forward(recv.port, hook, body, resign(st, "contactpunt", hook, body)) == 422
    time.sleep(0.3)
    assert recv.proc.snapshot("stdout") == [], "a flipped drill was shown"
    assert forward(recv.port, hook) == 200
    assert recv.wait_alerts(1)[0]["drill"] is True

    # Redis: a real alert made a drill before its tier fired
    real, _ = send(lab, st)
    c = st.r()
    try:
        c("HSET", "%s:alert:%s" % (st.prefix, real), "drill", "1")
    finally:
        c.close()
    hook2, = st.wait_webhook("contactpunt", "alert.raised", real, timeout=15)
    assert hook2["json"]["drill"] is True, "the relay did not use the stored flag"
    assert forward(recv.port, hook2) == 422
    recv.proc.wait_for("drill flag does not match", "stderr", 10)
    assert len(recv.proc.snapshot("stdout")) == 1


@pytest.mark.hard_timeout(60)
def test_check_counts_the_drill_prefix(lab):
    """-t counts "OEFENING - " in the length: a template that would fit
    one SMS without it, but not as a drill, is refused with its key; one
    that fits with it passes, and its drill SMS is still one GSM-7 SMS."""
    def check(tpl):
        env = harness.make_env(lab.tmp / ("env-%d" % len(tpl)),
                               delivery={"sms_template_raised": tpl})
        env.write_relay_conf()
        if os.geteuid() == 0:  # -t as root checks as the daemon's user
            harness.hand_to_daemon_user(env.dir)
        cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                          env.relay_conf], timeout=30)
        return cp.returncode, cp.stdout + cp.stderr
    # at its longest: 6 + 16 ({type}) + 1 + 5 ({time}) + 5 + 8 ({ref}) + 1
    head, n = "ALARM {type} {time} ref {ref} ", 42
    rc, out = check(head + "x" * (160 - n - len(DRILL_NL)))
    assert rc == 0, out
    rc, out = check(head + "x" * (160 - n - 5))  # fits, but not as a drill
    assert rc != 0 and "sms_template_raised" in out and "drill" in out, out


@pytest.mark.hard_timeout(60)
def test_drill_that_gets_nowhere_says_so_without_112(lab):
    """A drill no relay takes ends with a drill's verdict: that it did
    not get through and that this is no emergency, not "call 112"."""
    env = lab.env()  # no relay runs
    rc, out, err = lab.send(env, "--type", "panic", "--drill", "--timeout", "2")
    assert rc != 0
    last = err.strip().splitlines()[-1]
    assert last.startswith("OEFENING NIET AANGEKOMEN"), err
    # 112 as a number of its own (not inside a port or an alert id)
    assert not re.search(r"(?<![0-9a-f])112(?![0-9a-f])", last), last
