"""Duress repeats (issue 14, section 2): an alarm cancelled under duress
repeats to every recipient of every tier, once per interval, past the
policy's `max_age`, across a relay's SIGKILL and another instance on the
same Redis, until a person acknowledges it; `[delivery]
duress_repeat_max` is the ceiling, `duress_repeat` the interval of a
policy without `repeat`.  The device never learns of it.  Real
alertrelayd, redis-server, Kannel and alertctl.

Before: the repeats were planned within `max_age` (counted from the
duress minus the last tier's delay) and went to the last tier only; with
`max_age = 4` and a last tier at 60 s no repeat came at all, and the two
keys were unknown (the relay refused its configuration)."""

import json
import time

import pytest

import harness
from harness import sms_stack, wait_until
from test_audit_robust import metric
from test_duress import DURESS, alertctl, send, set_pins

pytestmark = pytest.mark.needs("alertctl")

TIERS = ["0 contactpunt:webhook", "60 oncall-1:webhook"]
EVERY = 2  # seconds between repeats
RIDS = ("contactpunt", "oncall-1")


def repeats(st, aid):
    """{rid: [arrival time]} of the repeats (alert.escalated) so far."""
    return {rid: [a["time"] for a in st.webhooks(rid, "alert.escalated", aid)]
            for rid in RIDS}


def wait_repeats(st, aid, n, timeout):
    wait_until(lambda: min(len(v) for v in repeats(st, aid).values()) >= n,
               timeout, what="%d repeats to each of %s (have %s)" % (
                   n, RIDS, {k: len(v) for k, v in repeats(st, aid).items()}))


def device_view(st, aid):
    rc, out, err = alertctl(st, "status", aid, "--json")
    assert rc == 0, err
    v = json.loads(out)
    return v["state"], [e["event"] for e in v["events"]]


def duress_cancel_to(lab, st, rids):
    set_pins(st)
    aid = send(lab, st)
    st.wait_webhook("contactpunt", "alert.raised", aid)
    rc, out, _ = alertctl(st, "cancel", aid, input=DURESS + "\n")
    assert (rc, out) == (0, "cancelled %s\n" % aid)
    for rid in rids:
        st.wait_webhook(rid, "alert.duress", aid)
    return aid


def duress_cancel(lab, st):
    return duress_cancel_to(lab, st, RIDS)


@pytest.mark.hard_timeout(150)
def test_duress_repeats_past_max_age_across_instances_until_ack(lab):
    st = sms_stack(lab, {"default": {"types": "panic threat test",
                                     "tier": TIERS, "repeat": EVERY,
                                     "max_age": 4}},
                   sms=(), delivery={"duress_repeat_max": 600})
    aid = duress_cancel(lab, st)
    t_duress = time.monotonic()
    seen = device_view(st, aid)
    assert seen == ("cancelled", seen[1]) and seen[1][-1] == "cancelled", seen

    # past max_age (4 s), to both tiers' recipients, each a repeat that
    # says duress
    wait_repeats(st, aid, 4, 30)
    assert time.monotonic() - t_duress > 4 + EVERY
    for rid in RIDS:
        for a in st.webhooks(rid, "alert.escalated", aid):
            assert a["sig_ok"] and a["json"]["duress"] is True, a["json"]
    h = st.alert_hash(aid)
    assert h["state"] == "open" and h["duress"] == "1", h
    # bounded in rate: one per interval (and a little for scheduling)
    for rid, ts in repeats(st, aid).items():
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        assert all(g > EVERY * 0.6 for g in gaps), (rid, gaps)

    # the timer lives in Redis: the relay SIGKILLed, another instance on
    # the same Redis goes on with it
    st.relay.kill9()
    before = {k: len(v) for k, v in repeats(st, aid).items()}
    env_b = st.env.another_instance("relay-b")
    # on A's port, where the device's configuration points
    env_b.relay_port = st.env.relay_port
    env_b.relay["listen"] = st.env.relay["listen"]
    env_b.write_relay_conf(env_b.relay_conf)
    other = lab.relay(env_b)
    wait_until(lambda: all(len(v) >= before[k] + 2
                           for k, v in repeats(st, aid).items()), 30,
               what="repeats from relay-b")
    # logged once Redis answered the timer's script: wait for the line
    other.proc.wait_for("escalation alert=%s" % aid, timeout=10)

    # the device never learned of any of it
    assert device_view(st, aid) == seen
    assert [e["event"] for e in st.events(aid)][-1] == "cancelled"

    # a person acknowledges: the repeats stop, no timer is left
    status, _ = st.ack(aid, st.tokens["contactpunt"])
    assert status == 200
    wait_until(lambda: st.alert_hash(aid)["state"] == "acknowledged", 10,
               what="acknowledged")
    assert not [m for m in st.timers() if m.startswith(aid)], st.timers()
    after = {k: len(v) for k, v in repeats(st, aid).items()}
    time.sleep(EVERY * 2 + 1)
    assert {k: len(v) for k, v in repeats(st, aid).items()} == after
    assert device_view(st, aid) == seen


@pytest.mark.hard_timeout(120)
def test_duress_repeat_interval_and_ceiling(lab):
    """A policy without `repeat` (no repeats for an ordinary alert): a
    duress alarm repeats every `duress_repeat` all the same, until
    `duress_repeat_max` after the duress; then the relay says so and the
    alarm stays open."""
    st = sms_stack(lab, {"default": {"types": "panic threat test",
                                     "tier": TIERS, "repeat": 0}},
                   sms=(), delivery={"duress_repeat": EVERY,
                                     "duress_repeat_max": 7}, start=False)
    st.admin_port = harness.free_port()  # for /metrics
    with open(st.env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\n" % st.admin_port)
    st.relay.start()
    st.relay.proc.wait_for(r"admin listening", timeout=10)
    aid = duress_cancel(lab, st)
    wait_repeats(st, aid, 2, 20)
    harness.wait_until(
        lambda: "duress repeats ended alert=%s" % aid in
        st.relay.proc.text("stderr"), 15, what="the ceiling's log line")
    line, = [l for l in st.relay.proc.text("stderr").splitlines()
             if "duress repeats ended alert=%s" % aid in l]
    assert "duress_repeat_max=7 state=open" in line, line
    # fired at 2 s or later, 4 s or later, perhaps 6 s or later: the
    # next would be due past 7 s.  The line names the last repeat's
    # timer (the duress is timer 1, the last tier's): its deliveries may
    # still be on their way.
    last = int(line.split(" tier=")[1].split()[0])
    assert last - 1 in (2, 3), line
    wait_repeats(st, aid, last - 1, 10)
    n = {k: len(v) for k, v in repeats(st, aid).items()}
    assert n == {rid: last - 1 for rid in RIDS}, (line, n)
    time.sleep(EVERY * 2 + 1)
    assert {k: len(v) for k, v in repeats(st, aid).items()} == n
    assert st.alert_hash(aid)["state"] == "open"
    assert not [m for m in st.timers() if m.startswith(aid)], st.timers()
    # repeats are not escalations: the second tier (60 s) never came
    assert metric(st, "alertrelay_duress_repeats_total") == last - 1
    assert metric(st, "alertrelay_escalations_total") == 0


@pytest.mark.hard_timeout(120)
def test_an_unreachable_recipient_does_not_speed_up_the_repeats(lab):
    """For an ordinary alert a recipient that cannot be reached brings the
    next tier at once; a duress alarm already reaches every tier, so its
    repeats keep their interval (no burst to the others)."""
    every = 3
    st = sms_stack(lab, {"default": {"types": "panic threat test",
                                     "tier": TIERS, "repeat": every}},
                   sms=(), recorders={"oncall-1": {"default": 500}},
                   delivery={"max_attempts": 1, "retry_initial_ms": 50,
                             "retry_max_ms": 200})
    aid = duress_cancel_to(lab, st, ("contactpunt",))
    t0 = time.monotonic()
    time.sleep(every * 3 + 1)
    first = st.webhooks("contactpunt", "alert.duress", aid)[0]["time"]
    ts = [first] + repeats(st, aid)["contactpunt"]
    assert 3 <= len(ts) <= 5, (len(ts), time.monotonic() - t0)
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert all(g > every * 0.6 for g in gaps), gaps
    # and the repeats do not pile up behind the one still being retried
    # to oncall-1 (before: one more pending notification per repeat, a
    # burst of them when it came back): it is tried again and again, and
    # it is the only one
    tried = st.recorders["oncall-1"].snapshot()
    assert len(tried) >= 5, len(tried)
    ids = {a["headers"]["webhook-id"] for a in tried}
    assert len(ids) == 1, (len(ids), len(ts))
    # back: the pending one goes through, then the repeats reach it again
    st.recorders["oncall-1"].default = 200
    wait_until(lambda: len({a["headers"]["webhook-id"] for a in
                            st.recorders["oncall-1"].snapshot()
                            if a["status"] == 200}) >= 2, every * 3,
               what="a repeat to oncall-1 after it came back")
