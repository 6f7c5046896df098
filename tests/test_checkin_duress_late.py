"""A check-in's done or extend with the duress PIN that comes after a relay raised
its alarm (docs/SECURITY.md, "Duress"): the device hears exactly what the
own PIN hears ("too late", the same exit status and words), while the
contact point is told the alarm is a duress alarm (alert.duress for the
alert the answer names), the relay logs and audits it.  Before, the late
duress done was answered like the own PIN and nothing else happened: the
contact point never learned of the duress.  Afterwards the device's own
views of that alarm (status, list, receipts, a later cancel) are those
the own PIN leaves: open until the official cancels it, then cancelled;
before 1 December 2026 they showed it cancelled at once.  What the own
PIN's alarm would tell the device later and that does not betray the
duress reaches it too: the contact point's acknowledgement (who, in
status, list and the receipts) and the expiry at max_age; before that
fix (also 1 December 2026) the duress one stayed open for ever.  Real
redis-server, relay, receiver, HTTPS acknowledgement and alertctl."""

import json
import os
import re
import time

import pytest

import harness
import proto
import test_checkin_pin as tp
from harness import wait_until
from harness_sms import device_session
from test_follow import ack_https, location_frame

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


def position_sent(env, aid):
    """What the device hears when it sends a position of alert aid (an
    app following its alarm would): (0, the answer masked, "")."""
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    s = device_session(env)
    try:
        r = s.request(location_frame(s.key, env.device_id, aid,
                                     "missed_checkin", pks),
                      ("located", "error"))
    finally:
        s.close()
    r.pop("alert_id", None)
    return (0, json.dumps(r, sort_keys=True), "")


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


def watch_lines(lab, env, watch, aids):
    """watch's lines of each of aids, masked, once a later alert's
    receipt showed that theirs came before."""
    later = lab.send(env, "--type", "panic", "--message", "x")[1][0]
    later = later.split("=", 1)[1]
    wait_until(lambda: later in watch.text("stdout"), 15,
               what="the later alert in alertctl watch")
    watch.stop()
    lines = watch.text("stdout").splitlines()
    return [sorted(norm(ln, "-", a, "-") for ln in lines if a in ln)
            for a in aids]


def start_watch(lab, env):
    """alertctl watch of env's device, once it is connected."""
    watch = lab.spawn([harness.alertctl_bin(), "-c", env.client_conf,
                       "watch", "--interval", "1"], "watch")
    wait_until(lambda: watch.text("stdout") or watch.text("stderr"), 15,
               what="alertctl watch connected")
    return watch


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
    watch = start_watch(lab, env)
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
    w1, w2 = watch_lines(lab, env, watch, (aid1, aid2))
    assert w1 == w2, watch.text("stdout")
    assert "huisbezoek" not in relay.log()


def ack_stack(lab, policies=None, sections=None):
    """tp.stack with an HTTPS ack listener and the contact point's ack
    token (and policies and config sections, if given): (env, redis,
    relay, recv, token)."""
    env = lab.env()
    env.sections = sections or {}
    env.ack = {"listen": "127.0.0.1:%d" % harness.free_port()}
    token = harness.new_token()
    env.recipient_extra["contactpunt"] = {
        "ack_token_file": harness.write_secret(env.dir / "contactpunt.ack",
                                               token)}
    env.policies = policies or {}
    env.write_relay_conf()
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    return tp.stack(lab, env) + (token,)


def inbox(env, token):
    """The contact point's GET /v1/inbox, by alert id."""
    st, body = harness.https_request(
        int(env.ack["listen"].rsplit(":", 1)[1]), "GET", "/v1/inbox",
        headers={"Authorization": "Bearer " + token}, cafile=env.cert)[:2]
    assert st == 200, (st, body)
    return {a["alert_id"]: a for a in body["alerts"]}


def acked(lab, env, redis, recv, token, pin, expire=None):
    """A check-in let run out, its done with pin too late, what the
    device sees; then (expire: seconds, the policy's max_age) that long
    after the alarm came in, what it sees; then the contact point's
    acknowledgement over HTTPS, twice, and what it sees after each."""
    cid, aid = released(lab, env, recv)
    ref, rms = hget(redis, env, aid, "ref", "received_ms")
    seen = [masked(ctl(lab, env, "checkin", "done", input=pin + "\n"),
                   cid, aid)]
    seen += looks(lab, env, cid, aid, ref)
    if expire is not None:
        time.sleep(max(0, int(rms) / 1000 + expire + 2 - time.time()))
        seen += looks(lab, env, cid, aid, ref)
        seen.append(position_sent(env, aid))
    for _ in range(2):
        ack_https(env, token, aid, by="Jansen")
        seen += looks(lab, env, cid, aid, ref)
    return aid, seen


@pytest.mark.hard_timeout(200)
def test_after_a_late_duress_the_device_sees_the_acknowledgement(lab):
    """The own PIN too late, then the contact point acknowledges (twice);
    the duress PIN too late, the same: status, status --json, list, list
    --json and the lines `alertctl watch` prints are the same bytes (ids,
    reference, times masked): acknowledged, by whom.  For the contact
    point the second stays a duress alarm.  Fails on the old code: after
    the duress the device saw it open for ever, and no receipt."""
    env, redis, relay, recv, token = ack_stack(lab)
    watch = start_watch(lab, env)
    aid1, own = acked(lab, env, redis, recv, token, PIN)
    aid2, forced = acked(lab, env, redis, recv, token, DURESS)
    assert json.loads(own[2][1])["state"] == "open", own
    st = json.loads(own[6][1])
    assert st["state"] == "acknowledged", own
    by = [e["by"] for e in st["events"] if e["event"] == "acknowledged"]
    assert len(by) == 1 and "Jansen" in by[0], st
    assert len(own) == len(forced)
    for i, (o, f) in enumerate(zip(own, forced)):
        assert o == f, (i, o, f)
    w1, w2 = watch_lines(lab, env, watch, (aid1, aid2))
    assert w1 == w2 and w1, watch.text("stdout")
    # the contact point: a duress alarm, acknowledged; the relay's hash
    # and its inbox say so, the device's view never did
    assert hget(redis, env, aid2, "duress", "state", "shown") == [
        "1", "acknowledged", "acknowledged"]
    box = inbox(env, token)
    assert box[aid2]["duress"] is True and box[aid1]["duress"] is False
    assert box[aid2]["state"] == "acknowledged"
    assert "huisbezoek" not in relay.log()


@pytest.mark.hard_timeout(200)
def test_after_a_late_duress_the_device_sees_the_expiry(lab):
    """A policy with max_age: the own PIN too late, its alarm expires,
    then the contact point acknowledges it; the duress PIN too late, the
    same: the device's views and watch lines are the same bytes, while
    the duress alarm stays open for the recipients until acknowledged.
    Fails on the old code: the duress alarm's expiry timer was dropped,
    the device saw it open."""
    env, redis, relay, recv, token = ack_stack(lab, {"default": {
        "types": "missed_checkin panic", "tier": ["0 contactpunt:webhook"],
        "max_age": 8}})
    watch = start_watch(lab, env)
    aid1, own = acked(lab, env, redis, recv, token, PIN, expire=8)
    assert json.loads(own[6][1])["state"] == "expired", own
    # a position of the expired alarm: refused as closed, for both
    assert json.loads(own[9][1]) == {"type": "error", "code": "alert_closed",
                                     "message": "the alert is no longer open",
                                     "state": "expired"}, own[9]
    aid2, forced = acked(lab, env, redis, recv, token, DURESS, expire=8)
    assert len(own) == len(forced)
    for i, (o, f) in enumerate(zip(own, forced)):
        assert o == f, (i, o, f)
    w1, w2 = watch_lines(lab, env, watch, (aid1, aid2))
    assert w1 == w2 and w1, watch.text("stdout")
    relay.proc.wait_for(r"escalation alert=%s tier=x result=shown_expired"
                        % aid2, "stderr", 10)
    assert hget(redis, env, aid2, "duress", "state") == ["1", "acknowledged"]


# [retention] of seconds, as in test_retention.py: a closed alarm leaves
# its device's list (device_index) and status (alert_history) soon
SHORT = {"alert_content": 2, "alert_history": 4, "device_index": 4,
         "sweep_interval": 1}


def gone(lab, env, aid):
    """Alert aid is in neither its device's status nor its list."""
    st = ctl(lab, env, "status", aid, "--json")
    listed = ctl(lab, env, "list", "--json").stdout
    return st.returncode != 0 and aid not in listed


def delivered(lab, env, aid):
    """The device's status of aid has its delivery: its receipt came
    before whatever the test does next, for both PINs alike."""
    wait_until(lambda: '"delivered"' in ctl(lab, env, "status", aid,
                                            "--json").stdout, 15,
               what="the delivery of %s in its status" % aid)


def seen_closed(lab, env, redis, recv, token, pin, how):
    """An alarm its device sees closed, pin choosing whether it is the
    own PIN's or a duress alarm: a check-in let run out, its done with
    pin too late, then (how) cancelled with the own PIN or expired at
    max_age, or acknowledged by the contact point before that done
    ("acked"); or (how "cancel_duress") an alert sent and cancelled
    with pin.  (checkin id or "-", alert id, reference)."""
    if how == "cancel_duress":
        rc, out, err = lab.send(env, "--type", "panic", "--message", "x")
        assert rc == 0, err
        cid, aid = "<no check-in>", out[0].split("=", 1)[1]
        delivered(lab, env, aid)
        cp = ctl(lab, env, "cancel", aid, input=pin + "\n")
    else:
        cid, aid = released(lab, env, recv)
        delivered(lab, env, aid)
        if how == "acked":
            ack_https(env, token, aid, by="Jansen")
        cp = ctl(lab, env, "checkin", "done", input=pin + "\n")
        assert cp.returncode != 0, cp.stdout + cp.stderr
        if how == "cancel":
            cp = ctl(lab, env, "cancel", aid, input=PIN + "\n")
    (ref,) = hget(redis, env, aid, "ref")
    if how == "expire":
        wait_until(lambda: '"expired"' in ctl(lab, env, "status", aid,
                                              "--json").stdout, 30,
                   what="the device sees %s expired" % aid)
    elif how != "acked":
        assert cp.returncode == 0, cp.stdout + cp.stderr
    if pin == PIN and how in ("cancel", "cancel_duress"):
        # its alert.cancelled in before the next alarm is waited for
        wait_until(lambda: [m for m in recv.alerts() if m["alert_id"] == aid
                            and m["type"] == "alert.cancelled"], 15,
                   what="alert.cancelled of %s" % aid)
    return cid, aid, ref


@pytest.mark.hard_timeout(240)
@pytest.mark.parametrize("how", ["cancel", "expire", "acked",
                                 "cancel_duress"])
def test_a_duress_alarm_seen_closed_leaves_the_device_as_a_closed_one(
        lab, how):
    """[retention] of seconds.  The own PIN's alarm closed (cancelled
    after a late done, expired at max_age after one, acknowledged before
    one, or a sent alert cancelled) leaves its device's list after device_index and its
    status after alert_history; the duress alarm its device saw close
    the same way (a late done with the duress PIN, or a duress cancel)
    leaves them too, from when the device saw it close: status, status
    --json, list, list --json, a cancel and a position are then the
    same bytes for both.  For the contact point the duress alarm stays
    open, duress, kept whole (no expiry, in no retention set), and its
    acknowledgement still works and tells the device nothing (status,
    list, the receipts alertctl watch prints).  Fails on
    the old code: the duress alarm stayed in the device's list and
    status, as cancelled or expired, for as long as it was open."""
    env, redis, relay, recv, token = ack_stack(
        lab, {"default": {"types": "missed_checkin panic",
                          "tier": ["0 contactpunt:webhook"],
                          "max_age": 8}},
        {"retention": SHORT})
    watch = start_watch(lab, env)
    cid1, aid1, ref1 = seen_closed(lab, env, redis, recv, token, PIN, how)
    cid2, aid2, ref2 = seen_closed(lab, env, redis, recv, token, DURESS,
                                   how)
    # bounds relative to the periods: the sweep every second removes a
    # list entry device_index after its close, the hash goes by
    # alert_history; generous for a loaded machine
    wait_until(lambda: gone(lab, env, aid1), 40,
               what="the own PIN's alarm out of status and list")
    wait_until(lambda: gone(lab, env, aid2), 40,
               what="the duress alarm out of status and list")

    def after(cid, aid, ref):
        seen = looks(lab, env, cid, aid, ref)
        for pin in (PIN, DURESS):
            cp = ctl(lab, env, "cancel", aid, input=pin + "\n")
            seen.append((cp.returncode, norm(cp.stdout, cid, aid, ref),
                         norm(cp.stderr, cid, aid, ref)))
        seen.append(position_sent(env, aid))
        return seen

    own = after(cid1, aid1, ref1)
    forced = after(cid2, aid2, ref2)
    assert own[0][0] != 0 and "does not know alert" in own[0][2], own
    assert len(own) == len(forced)
    for i, (o, f) in enumerate(zip(own, forced)):
        assert o == f, (i, o, f)
    # the contact point's: open, duress, nothing of it set to go
    assert hget(redis, env, aid2, "duress", "state") == ["1", "open"]
    c = redis.client()
    try:
        assert c("PTTL", "%s:alert:%s" % (env.redis["prefix"], aid2)) == -1
        (sid,) = hget(redis, env, aid2, "relay_id")
        for z, m in (("content", aid2), ("stream", sid)):
            assert c("ZSCORE", PFX + "retire:" + z, m) is None, z
    finally:
        c.close()
    # its acknowledgement works; the device is told nothing of it
    ack_https(env, token, aid2, by="Jansen")
    assert hget(redis, env, aid2, "state") == ["acknowledged"]
    assert after(cid2, aid2, ref2) == own
    # nor does alertctl watch: every receipt of the two the same
    w1, w2 = watch_lines(lab, env, watch, (aid1, aid2))
    assert w1 == w2 and w1, watch.text("stdout")
    assert "huisbezoek" not in relay.log()


def round_trips(redis, aid, act):
    """The relay's script calls (EVAL, EVALSHA) for alert aid (its
    argument "aid", not the audit record's that names it) while act()
    runs, from Redis's MONITOR; ended by a marker sent after act, not
    by a wait."""
    mon = redis.client()
    mark = "rvfix-end-%s" % harness.new_token()[:12]
    try:
        assert mon("MONITOR") == "OK"
        act()
        c = redis.client()
        try:
            c("ECHO", mark)
        finally:
            c.close()
        n = 0
        while True:
            line = mon._read()
            if mark in line:
                return n
            # the commands of a script itself are shown as "[0 lua]"
            if ' lua] ' in line:
                continue
            if (re.search(r'\] "(?i:evalsha|eval)" ', line)
                    and '\\"aid\\":\\"%s\\"' % aid in line):
                n += 1
    finally:
        mon.close()


@pytest.mark.hard_timeout(180)
def test_a_cancel_of_a_duress_alarm_seen_closed_long_ago_takes_the_own_pins_round_trips(
        lab):
    """The own PIN's alarm the device saw close longer ago than
    alert_history is gone from Redis: its cancel, with either PIN, is
    one script call (script_brief) and "unknown".  The duress alarm
    the device saw close as long ago is kept for the recipients: its
    cancel, with either PIN, is the same one call, not that and
    script_duress (a round trip later, a timing tell of the duress).
    The cancel is told to the recipients (P:duress_events:A) and the
    relay's audit, not to the device.  Fails on the old code: two
    calls for the duress alarm, one for the own PIN's, and nothing
    recorded."""
    env, redis, relay, recv, token = ack_stack(
        lab, {"default": {"types": "missed_checkin panic",
                          "tier": ["0 contactpunt:webhook"],
                          "max_age": 8}},
        {"retention": SHORT})
    _, aid1, _ = seen_closed(lab, env, redis, recv, token, PIN,
                             "cancel_duress")
    _, aid2, _ = seen_closed(lab, env, redis, recv, token, DURESS,
                             "cancel_duress")
    wait_until(lambda: gone(lab, env, aid1), 40,
               what="the own PIN's alarm out of status and list")
    wait_until(lambda: gone(lab, env, aid2), 40,
               what="the duress alarm out of status and list")
    seen = {}
    for aid in (aid1, aid2):
        for pin in (PIN, DURESS):
            out = []

            def act():
                cp = ctl(lab, env, "cancel", aid, input=pin + "\n")
                out.append((cp.returncode,
                            cp.stderr.replace(aid, "<A>")))
            n = round_trips(redis, aid, act)
            seen[aid, pin] = (n, out[0])
    assert seen[aid1, PIN][0] == 1, seen
    for k, v in seen.items():
        assert v == seen[aid1, PIN], (k, seen)
    assert hget(redis, env, aid2, "duress", "state") == ["1", "open"]
    c = redis.client()
    try:
        evs = [json.loads(e) for e in c("LRANGE", "%s:duress_events:%s" % (
            env.redis["prefix"], aid2), 0, -1)]
    finally:
        c.close()
    tried = [e for e in evs if e.get("unseen")]
    assert [e["duress"] for e in tried] == [False, True], evs
    mine = [r for r in audit(redis, env) if aid2 in json.dumps(r)
            and "unseen" in json.dumps(r)]
    assert len(mine) == 2, audit(redis, env)
    assert "huisbezoek" not in relay.log()
