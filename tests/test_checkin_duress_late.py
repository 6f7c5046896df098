"""A check-in's done or extend with the duress PIN that comes after a relay raised
its alarm (docs/SECURITY.md, "Duress"): the device hears exactly what the
own PIN hears ("too late", the same exit status and words), while the
contact point is told the alarm is a duress alarm (alert.duress for the
alert the answer names), the relay logs and audits it.  Before, the late
duress done was answered like the own PIN and nothing else happened: the
contact point never learned of the duress.  Real redis-server, relay,
receiver and alertctl."""

import json

import pytest

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
    c = redis.client()
    try:
        ak = "%s:alert:%s" % (env.redis["prefix"], aid2)
        assert c("HGET", ak, "duress") == "1"
        assert c("HGET", ak, "state") == "open"
        assert c("HGET", "%s:alert:%s" % (env.redis["prefix"], aid1),
                 "duress") is None
    finally:
        c.close()
    assert len([a for a in recv.alerts() if a["type"] == "alert.duress"]) == 1
    assert "huisbezoek" not in relay.log()
