"""The SMS of a revoked device's check-in alarm says the device is
revoked (docs/SECURITY.md, "A stolen device"): whoever reads it on a
phone must call the official back on a number they know, not the phone
someone else may hold, as alertctl receive and the console already say.
The device is revoked by a signed directory while its check-in runs;
the alarm is raised all the same, and its SMS (through Kannel's fake
SMSC) ends with the note, in Dutch and, with [delivery] language = en,
in English, within one SMS.  An alert of the device before it was
revoked has no note.  Fails on the old code, whose SMS said nothing of
it.  Real redis-server, relay, Kannel and alertctl."""

import json
import os
import signal

import pytest

import harness
import orgdir
from harness import sms_stack
from test_checkin_sms_time import CP, POLICY

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

NOTE = {"nl": "Apparaat ingetrokken (gestolen?): bel terug op bekend "
              "nummer.",
        "en": "Device revoked (stolen?): call back on a known number."}
START = {"nl": "ALARM GEMISTE CHECK-IN - ", "en": "ALERT MISSED CHECK-IN - "}


def directory(env, version, revoked=()):
    """A signed directory with contactpunt reachable by SMS too."""
    p = json.loads(env.directory_payload(version, revoked=revoked))
    for r in p["recipients"]:
        if r["id"] == "contactpunt":
            r["channels"]["sms"] = CP
    tmp = env.directory.with_suffix(".tmp")
    tmp.write_text(env.org.sign(json.dumps(p, sort_keys=True).encode()))
    os.chmod(tmp, 0o644)
    os.replace(tmp, env.directory)


def stack(lab, lang):
    st = sms_stack(lab, POLICY, sms=(), start=False,
                   delivery={"language": lang})
    env = st.env
    env.org = orgdir.Org()
    env.directory = env.dir / "directory.signed"
    env.client_directory = env.dir / "client-directory.signed"
    directory(env, 1)
    env.write_relay_conf()
    env.write_client_conf()
    st.relay.start()
    st.relay.proc.wait_for(r"ack listening on 127\.0\.0\.1:%d" % st.plain_port,
                           "stderr", 10)
    return st


@pytest.mark.hard_timeout(120)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_revoked_device_s_checkin_sms_says_so(lab, lang):
    st = stack(lab, lang)
    env = st.env
    # an alert while the device is valid: no note
    rc, out, err = lab.send(env, "--type", "panic", "--message", "voordeur")
    assert rc == 0, (out, err)
    (_, m), = st.sms.wait(1, to=CP, timeout=30)
    assert "ingetrokken" not in m.text and "revoked" not in m.text, m.text
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "checkin", "start", "--minutes", "0.05", "--grace",
                      "0.02"], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    # revoked while it runs: its alarm goes out all the same
    directory(env, 2, revoked=[env.device_id])
    st.relay.proc.signal(signal.SIGHUP)
    st.relay.proc.wait_for(r"configuration reloaded", timeout=10)
    st.relay.proc.wait_for(r"checkin missed checkin=.*device_revoked=1",
                           "stderr", 20)
    msgs = st.sms.wait(2, to=CP, timeout=30)
    (_, m), = [x for x in msgs if x[1].text.startswith(START[lang])]
    assert m.text.endswith(" " + NOTE[lang]), m.text
    assert len(m.text) <= 160, m.text
    # the rest of the alarm is all there: its reference to answer
    assert " - ref " in m.text and "OK " in m.text, m.text
