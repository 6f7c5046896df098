"""A missed check-in whose recipients all left the directory while it ran
(docs/PROTOCOL.md, "Check-in timers"): nobody of the new directory can open
the prepared alert, and the device is, by definition, not there to seal it
again.  The relay still stores the alert (its SMS tiers and the open-alert
count go on) and tells every webhook recipient of its policy with the notice
device.checkin_failed, once, counted in alertrelay_checkins_unsealed_total,
and marks them unreached on the alert (status, the device's receipts), as it
marks a recipient it gave up on; `alertctl receive --pretty` shows the notice
in Dutch and English.  A check-in that lost only some recipients is raised to
the rest, and the relay's log names the check-in and the alert apart.
Real redis-server, relay (restarted on the new directory) and receivers."""

import http.client
import json
import os
import time
import urllib.request

import pytest

import harness
from helpers import join_oncall_2

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def epoch(rfc3339):
    return time.mktime(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def replace_recipients(env):
    """The organisation replaces its recipients by one new contact point."""
    for rid in list(env.recipients):
        del env.recipients[rid]
    join_oncall_2(env)


def drop_oncall_1(env):
    """The organisation removes one recipient, keeps the other."""
    del env.recipients["oncall-1"]
    env.sign_directory(3)
    env.write_relay_conf()
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)


def admin_env(lab):
    env = lab.env()
    env.admin_port = harness.free_port()
    env.sections = {"admin": {
        "listen": "127.0.0.1:%d" % env.admin_port,
        "token_file": harness.write_secret(env.dir / "admin.token",
                                           harness.new_token())}}
    env.use_directory(2)
    env.sign_directory(2, path=env.client_directory)
    return env


def started_then_changed(lab, env, change, message="huisbezoek"):
    """A check-in started (12 s, grace 3 s), then the relay restarted on
    the directory change made; returns (checkin.json, redis, relay, the
    prepared alert's id)."""
    redis = lab.redis(env)
    relay = lab.relay(env)
    argv = [harness.alertctl_bin(), "-c", env.client_conf, "checkin",
            "start", "--minutes", "0.2", "--grace", "0.05", "--message",
            message]
    cp = harness.run(argv, timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    st = json.loads((env.dir / "outbox" / "checkin.json").read_text())
    c = redis.client()
    try:
        aid = c("HGET", "%s:checkin:%s" % (env.redis["prefix"],
                                           st["checkin_id"]), "alert_id")
    finally:
        c.close()
    relay.stop()
    change(env)
    return st, redis, relay, aid


def status(env, aid, *extra):
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "status", aid] + list(extra), timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return cp.stdout


def receiver_in(lab, env, language):
    """alertctl receive --pretty for oncall-2 on a port of its own, in
    language (the suite runs everything in English otherwise)."""
    os.environ["LANGUAGE"] = language
    try:
        return lab.receiver(env, "oncall-2", pretty=True,
                            port=harness.free_port())
    finally:
        os.environ["LANGUAGE"] = "en"


@pytest.mark.hard_timeout(120)
def test_checkin_for_recipients_gone_still_tells_someone(lab):
    env = admin_env(lab)
    st, redis, relay, aid = started_then_changed(lab, env,
                                                 replace_recipients)
    recv = lab.receiver(env, "oncall-2")
    relay.start()
    time.sleep(max(0, epoch(st["release_at"]) - time.time()))
    got = recv.wait_alerts(1, timeout=15)
    assert [g["type"] for g in got] == ["device.checkin_failed"], got
    assert got[0]["device_id"] == env.device_id
    assert got[0]["alert_type"] == "missed_checkin"
    assert "ciphertext" not in got[0]
    relay.proc.wait_for(r"checkin missed checkin=%s relay_id=" %
                        st["checkin_id"], timeout=10)
    # the alert is stored all the same: open, for SMS tiers and operators
    c = redis.client()
    try:
        keys = [k for k in c("KEYS", "%s:alert:*" % env.redis["prefix"])
                if c("HGET", k, "alert_type") == "missed_checkin"
                and c("HGET", k, "state") == "open"]
    finally:
        c.close()
    assert keys == ["%s:alert:%s" % (env.redis["prefix"], aid)], keys
    log = relay.log()
    assert "huisbezoek" not in log
    metrics = urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % env.admin_port, timeout=5).read()
    assert b"alertrelay_checkins_unsealed_total 1" in metrics
    time.sleep(2)
    assert len(recv.alerts()) == 1  # once
    # nobody told could open it: the alert says so, as for a recipient
    # given up on (before, status named nobody)
    why = "cannot open it: sealed to recipients no longer in the directory"
    (line,) = [l for l in status(env, aid).splitlines()
               if l.startswith("NOT REACHED")]
    assert line.startswith("NOT REACHED: Dienstdoende-2 by webhook since ")
    assert line.endswith(why + " (given up)"), line
    answer = json.loads(status(env, aid, "--json"))
    assert answer["state"] == "open"
    assert [(u["recipient"], u["channel"], u["retrying"])
            for u in answer["unreached"]] == [("Dienstdoende-2", "webhook",
                                               False)], answer
    failed = [e for e in answer["events"] if e["event"] == "failed"]
    assert [(e["recipient"], e["reason"]) for e in failed] == [
        ("Dienstdoende-2", why)], answer["events"]


@pytest.mark.hard_timeout(120)
def test_checkin_failed_notice_reads_in_dutch_and_english(lab):
    """The notice as a person reads it (alertctl receive --pretty): the
    relay's real webhook, posted as it came to a Dutch and an English
    receiver."""
    env = admin_env(lab)
    st, _, relay, aid = started_then_changed(lab, env, replace_recipients)
    rec = lab.recorder_for(env, "oncall-2")
    relay.start()
    (hook,) = rec.wait_attempts(1, timeout=epoch(st["release_at"]) -
                                time.time() + 15)
    assert hook["sig_ok"] and hook["json"]["type"] == "device.checkin_failed"
    headers = {k: v for k, v in hook["headers"].items()
               if k in ("webhook-id", "webhook-timestamp",
                        "webhook-signature", "content-type")}
    for language, words in (
            ("nl", ["CHECK-IN GEMIST, het alarm is hier niet te lezen: neem "
                    "contact op met de functionaris: Burgemeester-A",
                    "Laatst gezien:"]),
            ("en", ["CHECK-IN MISSED, its alarm cannot be read here: "
                    "contact the official: Burgemeester-A", "Last seen:"])):
        recv = receiver_in(lab, env, language)
        c = http.client.HTTPConnection("127.0.0.1", recv.port, timeout=10)
        try:
            c.request("POST", "/hook", hook["body"], headers)
            assert c.getresponse().status == 200
        finally:
            c.close()
        harness.wait_until(lambda: "alert_id:" in recv.proc.text("stdout"),
                           5, what="the whole notice, " + language)
        text = recv.proc.text("stdout")
        for w in words:
            assert w in text, (language, text)
        assert hook["json"]["alert_id"] in text and aid not in text
        assert "huisbezoek" not in text


@pytest.mark.hard_timeout(120)
def test_a_recipient_left_out_is_logged_by_checkin_and_alert(lab):
    """One of the two recipients left the directory: the alert goes to
    the other, and the relay's log line names the check-in (checkin=) and
    the prepared alert (alert=) apart, with no content."""
    env = admin_env(lab)
    st, _, relay, aid = started_then_changed(lab, env, drop_oncall_1,
                                             message="Dorpsstraat 12")
    cid = st["checkin_id"]
    assert cid != aid
    recv = lab.receiver(env, "contactpunt")
    relay.start()
    (got,) = recv.wait_alerts(1, timeout=epoch(st["release_at"]) -
                              time.time() + 15)
    assert got["alert_id"] == aid and got["message"] == "Dorpsstraat 12"
    m = relay.proc.wait_for(
        r"checkin=(\S+) alert=(\S+): recipient oncall-1 is no longer "
        r"known; left out$", "stderr", 10)
    assert m.group(1) == cid and m.group(2) == aid, m.group(0)
    log = relay.log()
    assert "Dorpsstraat" not in log
    assert "alert=%s" % cid not in log and "checkin=%s" % aid not in log
