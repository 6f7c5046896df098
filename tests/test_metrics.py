"""Metrics an alerting rule can use (issue 11, item 4), read from a real
relay's /metrics (parsed by prometheus_client's parser) after real
deliveries to Python webhook receivers and, for SMS, through Kannel; and
the shipped alerting rules (conf/alertrelay-rules.yml) checked with
Debian's promtool, unit-tested with `promtool test rules`, and naming
only metrics a real relay exposes.

Before issue 11: no result="failed", no channel="sms", no dead-letter
counter, no alerts_open / alerts_unacknowledged_seconds, no rules file:
every test here fails on that code."""

import copy
import re
import shutil
from pathlib import Path

import pytest

import harness
from harness import free_port, sms_stack, wait_until
from test_deadletter import Stack, wait_failed_receipt
from test_service import scrape, val

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "conf" / "alertrelay-rules.yml"


def wait_val(port, name, pred, timeout=15, **labels):
    """Scrapes until pred(value) holds (the Redis gauges are read every
    5 s); returns the samples."""
    out = {}

    def ok():
        s, _ = scrape(port)
        key = (name, frozenset(labels.items()))
        if key in s and pred(s[key]):
            out["s"] = s
            return True
        return False
    wait_until(ok, timeout, interval=0.2, what="%s%s" % (name, labels))
    return out["s"]


@pytest.mark.hard_timeout(90)
def test_webhook_failed_retry_ok_and_open_alerts(lab):
    """A receiver down past max_attempts: retry and failed (once) counted
    for the webhook channel, the escalated tier's ok too; the panic is
    open and its age grows; once cancelled it is closed, one dead letter
    is counted and its stream entry shown."""
    st = Stack(lab)
    port = st.admin_port
    s0, fams = scrape(port)
    assert fams["alertrelay_deliveries"].type == "counter"
    for ch in ("webhook", "sms"):
        for res in ("ok", "retry", "failed", "dropped"):
            assert val(s0, "alertrelay_deliveries_total", channel=ch,
                       result=res) == 0
    assert val(s0, "alertrelay_deadletters_total") == 0

    sess = st.session()
    aid = sess.send_alert("panic")["alert_id"]
    wait_failed_receipt(sess, aid)
    st.recs["contactpunt"].wait_attempts(5, timeout=10)
    # counted when the answers are in, after the receivers recorded them
    wait_val(port, "alertrelay_deliveries_total", lambda v: v >= 5,
             channel="webhook", result="retry")
    wait_val(port, "alertrelay_deliveries_total", lambda v: v >= 1,
             channel="webhook", result="ok")
    s = wait_val(port, "alertrelay_alerts_open", lambda v: v == 1,
                 alert_type="panic")
    assert val(s, "alertrelay_deliveries_total", channel="webhook",
               result="failed") == 1, "failed is counted once"
    assert val(s, "alertrelay_deliveries_total", channel="webhook",
               result="retry") >= 5
    assert val(s, "alertrelay_deliveries_total", channel="webhook",
               result="ok") == 1  # tier 1, brought forward, to oncall-1
    assert val(s, "alertrelay_deliveries_total", channel="sms",
               result="ok") == 0
    assert val(s, "alertrelay_alerts_open", alert_type="test") == 0
    assert val(s, "alertrelay_alerts_unacknowledged_seconds",
               alert_type="test") == 0
    age = val(s, "alertrelay_alerts_unacknowledged_seconds",
              alert_type="panic")
    assert 0 < age < 30, age
    assert val(s, "alertrelay_deadletter_entries") == 0
    assert val(s, "alertrelay_redis_up") == 1
    assert val(s, "alertrelay_spool_bytes") == 0
    wait_val(port, "alertrelay_alerts_unacknowledged_seconds",
             lambda v: v > age + 1, alert_type="panic")

    assert sess.cancel(aid)["type"] == "cancelled"
    s = wait_val(port, "alertrelay_alerts_open", lambda v: v == 0,
                 alert_type="panic")
    assert val(s, "alertrelay_alerts_unacknowledged_seconds",
               alert_type="panic") == 0
    s = wait_val(port, "alertrelay_deadletter_entries", lambda v: v == 1)
    assert val(s, "alertrelay_deadletters_total") == 1
    assert val(s, "alertrelay_deliveries_total", channel="webhook",
               result="failed") == 1


@pytest.mark.hard_timeout(90)
def test_alert_gauges_shared_by_instances(lab):
    """Two relays on one Redis: an alert accepted by the first shows as
    open on the second's /metrics (the gauges come from Redis), and
    closes on both."""
    st = Stack(lab, cp_default=200)
    other = copy.copy(st.env)
    other.relay = dict(st.env.relay, instance_id="relay-b")
    other.relay_port = free_port()
    other.relay["listen"] = "127.0.0.1:%d" % other.relay_port
    other.relay_conf = st.env.dir / "relay-b.conf"
    other.write_relay_conf(other.relay_conf)
    port_b = free_port()
    with open(other.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % port_b)
    lab.relay(other).proc.wait_for(r"admin listening on 127\.0\.0\.1:%d"
                                   % port_b, timeout=10)
    sess = st.session()
    aid = sess.send_alert("panic")["alert_id"]
    sess.send_alert("threat")
    for port in (st.admin_port, port_b):
        s = wait_val(port, "alertrelay_alerts_open", lambda v: v == 1,
                     alert_type="panic")
        assert val(s, "alertrelay_alerts_open", alert_type="threat") == 1
    assert sess.cancel(aid)["type"] == "cancelled"
    for port in (st.admin_port, port_b):
        s = wait_val(port, "alertrelay_alerts_open", lambda v: v == 0,
                     alert_type="panic")
        assert val(s, "alertrelay_alerts_open", alert_type="threat") == 1


@pytest.mark.hard_timeout(120)
def test_sms_deliveries_counted_and_ack_closes(lab):
    """An SMS through Kannel is counted under channel="sms" (it used to be
    counted nowhere); an acknowledgement by SMS closes the alert for the
    gauges."""
    st = sms_stack(lab, {"default": {"types": "panic threat",
                                     "tier": "0 contactpunt:sms",
                                     "max_age": 3600}},
                   start=False)
    port = free_port()
    with open(st.env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % port)
    st.relay.start()
    st.relay.proc.wait_for(r"admin listening on 127\.0\.0\.1:%d" % port,
                           timeout=10)
    sess = st.session()
    acc = sess.send_alert("panic")
    st.sms.wait(1, to=harness.SMS_NUMBERS["contactpunt"], timeout=10)
    s = wait_val(port, "alertrelay_deliveries_total", lambda v: v == 1,
                 channel="sms", result="ok")
    assert val(s, "alertrelay_deliveries_total", channel="webhook",
               result="ok") == 0
    wait_val(port, "alertrelay_alerts_open", lambda v: v == 1,
             alert_type="panic")
    assert st.sms_reply("contactpunt", "ACK %s" % acc["ref"]) == 200
    sess.wait_receipt(acc["alert_id"], "acknowledged", timeout=10)
    s = wait_val(port, "alertrelay_alerts_open", lambda v: v == 0,
                 alert_type="panic")
    assert val(s, "alertrelay_alerts_unacknowledged_seconds",
               alert_type="panic") == 0


@pytest.mark.hard_timeout(60)
def test_rules_check_and_fire(lab, tmp_path):
    """promtool check rules passes; promtool test rules shows each rule
    firing on the series it is about (and not on a healthy relay); and
    every alertrelay_* metric the rules name is one a real relay
    exposes."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian's prometheus, in "
                    "scripts/install-deps.sh)", pytrace=False)
    cp = harness.run([promtool, "check", "rules", RULES], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SUCCESS: 7 rules found" in cp.stdout, cp.stdout

    unit = tmp_path / "rules.test.yml"
    unit.write_text(unit_test())
    cp = harness.run([promtool, "test", "rules", unit], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr

    names = set(re.findall(r"\balertrelay_[a-z_]+", RULES.read_text()))
    assert names, "no metric in the rules"
    st = Stack(lab, cp_default=200)
    sess = st.session()
    sess.send_alert("panic")
    wait_val(st.admin_port, "alertrelay_alerts_open", lambda v: v == 1,
             alert_type="panic")
    s, _ = scrape(st.admin_port)
    have = {k[0] for k in s}
    missing = sorted(n for n in names if n not in have)
    assert not missing, "the rules name metrics the relay lacks: %s" % missing



# promtool unit tests: one sample a minute of what a relay would show.
SERIES = {
    'alertrelay_deliveries_total{instance="a", channel="webhook", '
    'result="failed"}': "0 0 1 1 1",
    'alertrelay_deliveries_total{instance="a", channel="sms", '
    'result="failed"}': "0 0 0 0 0",
    'alertrelay_alerts_unacknowledged_seconds{instance="a", '
    'alert_type="panic"}': "0 60 120 540 660",
    # an old test alert is nobody's emergency
    'alertrelay_alerts_unacknowledged_seconds{instance="a", '
    'alert_type="test"}': "0 3000 3060 3120 3180",
    'alertrelay_redis_up{instance="a"}': "1 0 0 0 0",
    'alertrelay_spool_bytes{instance="a"}': "0 0 100 200 300",
    'alertrelay_spool_refused{instance="a"}': "0 0 0 1 1",
    'alertrelay_deadletter_entries{instance="a"}': "0 0 0 0 0",
    'up{job="alertrelay", instance="a"}': "1 1 1 1 1",
}

# (minute, alert, labels it must fire with, or None: must not fire,
#  what its templates say for $value)
EXPECT = [
    (1, "AlertrelayNotificationFailed", None, None),
    (3, "AlertrelayNotificationFailed",
     {"instance": "a", "channel": "webhook"}, "1"),
    (3, "AlertrelayPanicUnacknowledged", None, None),
    (4, "AlertrelayPanicUnacknowledged", {}, "11m 0s"),
    (2, "AlertrelayRedisDown", {"instance": "a"}, None),
    (1, "AlertrelaySpoolInUse", None, None),
    (4, "AlertrelaySpoolInUse", {"instance": "a"}, "300"),
    (2, "AlertrelaySpoolRefused", None, None),
    (3, "AlertrelaySpoolRefused", {"instance": "a"}, "1"),
    (4, "AlertrelayDeadLetters", None, None),
    (4, "AlertrelayDown", None, None),
]


def unit_test():
    """The promtool test file for EXPECT, the annotations rendered from
    the rules' own templates."""
    import yaml
    rules = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"]
             for r in g["rules"]}
    checks = []
    for minute, name, labels, value in EXPECT:
        exp = []
        if labels is not None:
            rule = rules[name]
            ann = {}
            for k, text in rule.get("annotations", {}).items():
                for lk, lv in labels.items():
                    text = text.replace("{{ $labels.%s }}" % lk, lv)
                text = re.sub(r"\{\{ \$value[^}]*\}\}", value or "", text)
                ann[k] = text
            exp = [{"exp_labels": dict(labels, **rule["labels"]),
                    "exp_annotations": ann}]
        checks.append({"eval_time": "%dm" % minute, "alertname": name,
                       "exp_alerts": exp})
    return yaml.safe_dump({
        "rule_files": [str(RULES)], "evaluation_interval": "1m",
        "tests": [{"interval": "1m",
                   "input_series": [{"series": k, "values": v}
                                    for k, v in SERIES.items()],
                   "alert_rule_test": checks}]})
