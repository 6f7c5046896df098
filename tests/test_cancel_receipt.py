"""The "cancelled" receipt, frame by frame: the cancelling session gets it
once, with its answer (never again from the receipts channel); every
other session of the device gets it once from the channel; and a cancel
answered without a receipt (refused, already cancelled) leaves nothing
behind that would swallow a later one.  Real alertrelayd and
redis-server, raw device sessions.

Before: the session remembered only the last alert it had cancelled, from
the moment it asked, for ever.  A session whose cancel of an alert was
refused as unknown never heard of that alert's cancel by another session
of the device."""

import pytest

from proto import new_alert_id
from test_retention import Stack

SETTLE = 1.0  # seconds to read on after the last answer


def cancelled(s, aid):
    return len(s.receipts(aid, "cancelled"))


@pytest.mark.hard_timeout(60)
def test_each_session_hears_each_cancel_once(lab):
    st = Stack(lab)
    s, watcher = st.session(), st.session()
    a = s.send_alert("test")["alert_id"]
    b = s.send_alert("test")["alert_id"]
    assert s.cancel(a) == {"type": "cancelled", "alert_id": a}
    assert s.cancel(b) == {"type": "cancelled", "alert_id": b}
    # a second cancel of a: answered, no second receipt anywhere
    assert s.cancel(a) == {"type": "cancelled", "alert_id": a}
    s.drain(SETTLE)
    watcher.wait_receipt(b, "cancelled")
    watcher.drain(SETTLE)
    for sess, who in ((s, "cancelling"), (watcher, "watching")):
        assert (cancelled(sess, a), cancelled(sess, b)) == (1, 1), (
            who, sess.frames)
    # the cancelling session had each one before its answer
    for aid in (a, b):
        i = next(i for i, f in enumerate(s.frames)
                 if f.get("type") == "cancelled" and f["alert_id"] == aid)
        assert any(f.get("type") == "receipt" and f.get("alert_id") == aid
                   and f.get("event") == "cancelled"
                   for f in s.frames[:i]), (aid, s.frames)


@pytest.mark.hard_timeout(60)
def test_a_refused_cancel_does_not_swallow_a_later_receipt(lab):
    st = Stack(lab)
    s, other = st.session(), st.session()
    aid = new_alert_id()
    # not sent yet (still in the device's outbox, say): refused
    ans = s.cancel(aid)
    assert ans.get("type") == "error" and \
        ans.get("code") == "unknown_alert", ans
    # now sent and cancelled through another session of the device
    from proto import b64d, build_alert
    pks = {rid: b64d(r.public_key) for rid, r in st.env.recipients.items()}
    frame, _, _ = build_alert(other.key, other.device_id, pks,
                              alert_type="test", alert_id=aid)
    acc = other.request(frame, ("accepted", "error"))
    assert acc.get("type") == "accepted", acc
    assert other.cancel(aid)["type"] == "cancelled"
    s.wait_receipt(aid, "cancelled", timeout=5)
    s.drain(SETTLE)
    assert cancelled(s, aid) == 1, s.frames


@pytest.mark.hard_timeout(60)
def test_nothing_reaches_the_device_after_a_real_cancel(lab):
    """A notification still on its way when the device cancels finishes
    later; after a duress cancel the device never hears of it, so after a
    real one it must not either (else watching longer tells them apart).
    Before: a `delivered` receipt came after the real cancel."""
    from harness import sms_stack
    st = sms_stack(lab, {"default": {"types": "panic threat test",
                                     "tier": ["0 contactpunt:webhook "
                                              "oncall-1:webhook"]}},
                   sms=(), recorders={"oncall-1": {"delays": [2]}})
    s = st.session()
    aid = s.send_alert("test")["alert_id"]
    st.recorders["oncall-1"].wait_attempts(1, 5)  # answered in 2 s
    assert s.cancel(aid) == {"type": "cancelled", "alert_id": aid}
    st.recorders["oncall-1"].wait_attempts(1, 5)
    s.drain(3)
    after = [f for f in s.frames[next(
        i for i, f in enumerate(s.frames) if f.get("type") == "cancelled"):]
        if f.get("type") == "receipt" and f.get("alert_id") == aid]
    assert after == [], after
    st.relay.proc.wait_for(r"delivery alert=%s recipient=oncall-1 .*"
                           r"result=ok.*event=alert.raised" % aid, timeout=5)
    st2 = s.request({"type": "status", "alert_id": aid}, ("status",))
    assert st2["events"][-1]["event"] == "cancelled", st2
