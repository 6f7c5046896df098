"""After a duress cancel, alertctl status shows who was not reached as a
real cancel leaves it (docs/SECURITY.md, "Duress"): the duress alarm goes
on and reaches a recipient that comes back, but the device must not show
that, or a coercer could tell the two cancels apart.  Real redis-server,
relay, recorders and alertctl."""

import re
import time

import pytest

import harness
import test_deadletter as td

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def without_time(lines):
    return [re.sub(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", "since T",
                   line) for line in lines]


@pytest.mark.hard_timeout(120)
def test_status_after_duress_keeps_not_reached_when_recipient_returns(lab):
    st = td.Stack(lab)
    env = st.env
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "pincode", "set"], timeout=60, input="246810\n135791\n")
    assert cp.returncode == 0, cp.stderr
    s = st.session()
    real = s.send_alert("panic")["alert_id"]
    dur = s.send_alert("panic")["alert_id"]
    for aid in (real, dur):
        td.wait_failed_receipt(s, aid)
    for aid, pin in ((real, "246810"), (dur, "135791")):
        cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                          "cancel", aid], timeout=30, input=pin + "\n")
        assert cp.returncode == 0, cp.stderr
    before = {a: td.unreached_lines(st.ctl("status", a)) for a in (real, dur)}
    # the two alerts failed at their own times, which may be a second
    # apart: compare them without the time; each alert's own lines are
    # compared in full below
    assert before[real]
    assert without_time(before[dur]) == without_time(before[real])
    st.recs["contactpunt"].default = 200  # the contact point is back
    # the duress alarm reaches it (it goes on), the real one is closed
    harness.wait_until(lambda: any(
        a["status"] == 200 and (a["json"] or {}).get("alert_id") == dur
        and a["json"].get("type") == "alert.duress"
        for a in st.recs["contactpunt"].snapshot()), 15,
        what="alert.duress reaching the contact point once back")
    time.sleep(1)
    after = {a: td.unreached_lines(st.ctl("status", a)) for a in (real, dur)}
    assert after[real] == before[real]
    assert after[dur] == before[dur]
