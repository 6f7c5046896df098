"""The SMS of a missed check-in raised late says when it was due.  Every
relay down over the release time (here SIGKILLed, back 62 s later): the
relay raises the alarm as soon as it is back, and its SMS gives the
release time (the alert's signed created_at, which the relay's timer
kept), not the time the relay came back, so that whoever reads it on a
phone knows how long the official has been unaccounted for (the webhook
and `alertctl receive` had it already: created_at, "N min ago").  Fails
on the old code, whose SMS gave the relay's time of storing it.  Real
redis-server, relay, Kannel and alertctl."""

import json
import re
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

import harness
from harness import SMS_NUMBERS, sms_stack

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

CP = SMS_NUMBERS["contactpunt"]
POLICY = {"default": {
    "types": "panic threat test",
    "tier": ["0 contactpunt:webhook contactpunt:sms"],
    "max_age": 3600}}


def hhmm(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).astimezone(
        ZoneInfo("Europe/Amsterdam")).strftime("%H:%M")


@pytest.mark.hard_timeout(180)
def test_late_missed_checkin_sms_gives_the_release_time(lab):
    st = sms_stack(lab, POLICY)
    argv = [harness.alertctl_bin(), "-c", st.env.client_conf, "checkin",
            "start", "--minutes", "0.05", "--grace", "0.02"]
    cp = harness.run(argv, timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    rel = json.loads((st.env.dir / "outbox" / "checkin.json").read_text())
    release = datetime.strptime(rel["release_at"], "%Y-%m-%dT%H:%M:%SZ") \
        .replace(tzinfo=timezone.utc).timestamp()
    st.relay.kill9()
    # down over the release time and into another minute
    time.sleep(max(0, release - time.time()) + 62)
    st.relay.restart()
    back = time.time()
    (_, m), = st.sms.wait(1, to=CP, timeout=30)
    assert m.text.startswith("ALARM GEMISTE CHECK-IN - "), m.text
    at = re.search(r" - (\d\d:\d\d) - ref ", m.text)
    assert at, m.text
    assert hhmm(back) != hhmm(release)
    assert at.group(1) == hhmm(release), (m.text, hhmm(release), hhmm(back))
