"""A check-in's done or extend with the duress PIN that comes after a relay raised
its alarm (docs/SECURITY.md, "Duress"): the device hears exactly what the
own PIN hears ("too late", the same exit status and words), while the
contact point is told the alarm is a duress alarm (alert.duress for the
alert the answer names), the relay logs and audits it.  Before, the late
duress done was answered like the own PIN and nothing else happened: the
contact point never learned of the duress.  Afterwards the device's own
views of that alarm (status, list, receipts, a later cancel) are those
the own PIN leaves: open until the official cancels it, then cancelled;
before 1 December 2026 they showed it cancelled at once.  Real
redis-server, relay, receiver and alertctl."""

import json
import re

import pytest

import harness
import test_checkin_pin as tp
from harness import wait_until

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

PIN, DURESS, ctl = tp.PIN, tp.DURESS, tp.ctl
PFX = "alertrelay:"


def released(lab, env, recv):
    """A check-in of 3 s and 1 s grace, waited for until its alarm
    reached the contact point: (checkin id, alert id)."""
    n = len(recv.alerts())
    cp = ctl(lab, env, "checkin", "start", "--minutes", "0.05", "--grace",
             "0.02", "--message", "huisbezoek")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    st = json.loads((env.dir / "outbox" / "checkin.json").read_text())
    got = recv.wait_alerts(n + 1, timeout=20)[-1]
    assert got["type"] == "alert.raised", got
    return st["checkin_id"], got["alert_id"]


def masked(cp, cid, aid):
    return tuple(x.replace(cid, "<C>").replace(aid, "<A>")
                 if isinstance(x, str) else x
                 for x in (cp.returncode, cp.stdout, cp.stderr))


def hget(redis, env, aid, *names):
    """Fields of alert aid's hash in Redis."""
    c = redis.client()
    try:
        ak = "%s:alert:%s" % (env.redis["prefix"], aid)
        return [c("HGET", ak, n) for n in names]
    finally:
        c.close()


def audit(redis, env):
    c = redis.client()
    try:
        stream = PFX + "audit:" + env.relay["instance_id"]
        return [json.loads(f["r"]) for _, f in c.xrange(stream)]
    finally:
        c.close()


@pytest.mark.hard_timeout(150)
@pytest.mark.parametrize("op", [["done"], ["extend", "--minutes", "10"]])
def test_late_duress_looks_real_and_tells_the_contact_point(lab, op):
    env, redis, relay, recv = tp.stack(lab)
    # the own PIN, too late: "too late, cancel X"; nothing else
    cid1, aid1 = released(lab, env, recv)
    real = ctl(lab, env, "checkin", *op, input=PIN + "\n")
    assert real.returncode != 0
    assert "alertctl cancel %s" % aid1 in real.stderr, real.stderr
    # the duress PIN, too late: the same bytes
    cid2, aid2 = released(lab, env, recv)
    forced = ctl(lab, env, "checkin", *op, input=DURESS + "\n")
    assert masked(forced, cid2, aid2) == masked(real, cid1, aid1)
    # the contact point learns it is duress, for the alert named
    got = recv.wait_alerts(3, timeout=15)[-1]
    assert got["type"] == "alert.duress" and got["duress"] is True, got
    assert got["alert_id"] == aid2
    relay.proc.wait_for(r"checkin duress checkin=%s device=%s: %s under "
                        r"duress, too late: alert=%s is marked duress"
                        % (cid2, env.device_id, op[0], aid2), "stderr", 10)
    wait_until(lambda: [r for r in audit(redis, env)
                        if r["action"] == "alert.duress"], 10,
               what="an alert.duress audit record")
    (rec,) = [r for r in audit(redis, env) if r["action"] == "alert.duress"]
    assert rec["object"] == "alert:" + aid2, rec
    assert (rec["result"], rec["reason"]) == ("ok", "checkin_late"), rec
    # the relay keeps it open, marked duress; the own PIN's is untouched
    assert hget(redis, env, aid2, "duress", "state") == ["1", "open"]
    assert hget(redis, env, aid1, "duress") == [None]
    assert len([a for a in recv.alerts() if a["type"] == "alert.duress"]) == 1
    assert "huisbezoek" not in relay.log()


def norm(text, cid, aid, ref):
    """text with the ids (the relay's stream id too), the reference and
    the times of one sequence made equal to the other's."""
    for a, b in ((cid, "<C>"), (aid, "<A>"), (ref, "<REF>")):
        text = text.replace(a, b)
    text = re.sub(r"\b\d{13}-\d+\b", "<RELAY_ID>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                  r"(Z|[+-]\d\d:\d\d)", "<TIME>", text)
    return re.sub(r"\b\d\d:\d\d(:\d\d)?\b", "<HH:MM>", text)


def looks(lab, env, cid, aid, ref):
    """What the device can read of alert aid: status, status --json, its
    list --json entry and list, each (exit status, stdout, stderr)
    with ids, reference and times masked."""
    out = []
    for args in (["status", aid], ["status", aid, "--json"],
                 ["list", "--json"], ["list"]):
        cp = ctl(lab, env, *args)
        text = cp.stdout
        if args[0] == "list":
            # the other sequence's alert is listed too: this one's only
            lines = [ln for ln in text.splitlines() if aid in ln]
            if args[-1] == "--json":
                lines = [json.dumps(a, sort_keys=True) for a in
                         json.loads(text)["alerts"] if a["alert_id"] == aid]
            text = "\n".join(lines)
        out.append((cp.returncode, norm(text, cid, aid, ref),
                    norm(cp.stderr, cid, aid, ref)))
    return out


def sequence(lab, env, redis, recv, pin, later):
    """A check-in let run out, its done with pin too late, what the
    device sees; then the official's cancel with later, twice, and
    what it sees after each: a list of what was seen, masked."""
    cid, aid = released(lab, env, recv)
    (ref,) = hget(redis, env, aid, "ref")
    seen = [masked(ctl(lab, env, "checkin", "done", input=pin + "\n"),
                   cid, aid)]
    seen += looks(lab, env, cid, aid, ref)
    for _ in range(2):
        cp = ctl(lab, env, "cancel", aid, input=later + "\n")
        seen.append((cp.returncode, norm(cp.stdout, cid, aid, ref),
                     norm(cp.stderr, cid, aid, ref)))
        seen += looks(lab, env, cid, aid, ref)
    return aid, seen


@pytest.mark.hard_timeout(200)
@pytest.mark.parametrize("later", ["own", "duress"])
def test_after_a_late_duress_the_device_sees_what_the_own_pin_leaves(
        lab, later):
    """The own PIN too late, then a cancel of its alarm; the duress PIN
    too late, then a cancel with the own or the duress PIN: the device's
    status, list, cancel and the receipts its other session hears are
    the same bytes (ids, reference, times masked).  The alarm of the
    duress stays open and duress for the contact point throughout.
    Fails on the old code: the duress sequence's status and list said
    cancelled at once, and its later cancel got no receipt."""
    env, redis, relay, recv = tp.stack(lab)
    watch = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf,
                       "watch", "--interval", "1"], "watch")
    wait_until(lambda: watch.text("stdout") or watch.text("stderr"), 15,
               what="alertctl watch connected")
    aid1, own = sequence(lab, env, redis, recv, PIN, PIN)
    aid2, forced = sequence(lab, env, redis, recv, DURESS,
                            PIN if later == "own" else DURESS)
    # the own PIN leaves it open, then cancelled
    assert own[2][0] == 0 and json.loads(own[2][1])["state"] == "open", own
    assert json.loads(own[8][1])["state"] == "cancelled", own
    for i, (o, f) in enumerate(zip(own, forced)):
        assert o == f, (i, o, f)
    assert len(own) == len(forced)
    # the contact point: still a duress alarm, open, never cancelled
    got = recv.wait_alerts(3, timeout=15)[-1]
    assert got["type"] == "alert.duress" and got["alert_id"] == aid2, got
    assert hget(redis, env, aid2, "duress", "state") == ["1", "open"]
    assert hget(redis, env, aid1, "state") == ["cancelled"]
    assert not [a for a in recv.alerts() if a["type"] == "alert.cancelled"
                and a["alert_id"] == aid2]
    # the operator's log says what the cancel did not do
    relay.proc.wait_for(r"alert cancelled alert=%s device=%s "
                        r"result=duress_alarm" % (aid2, env.device_id),
                        "stderr", 10)
    # a later alert's receipt in watch comes after any of the two
    # sequences': then their lines are compared
    later_aid = lab.send(env, "--type", "panic", "--message", "x")[1][0]
    later_aid = later_aid.split("=", 1)[1]
    wait_until(lambda: later_aid in watch.text("stdout"), 15,
               what="the later alert in alertctl watch")
    watch.stop()
    lines = watch.text("stdout").splitlines()
    w1 = sorted(norm(ln, "-", aid1, "-") for ln in lines if aid1 in ln)
    w2 = sorted(norm(ln, "-", aid2, "-") for ln in lines if aid2 in ln)
    assert w1 == w2, watch.text("stdout")
    assert "huisbezoek" not in relay.log()
