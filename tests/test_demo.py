"""scripts/demo.sh (what `make demo` runs) works and leaves nothing behind."""

import os

import pytest

import harness


def _procs_mentioning(text):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmd:
            found.append((int(pid), cmd))
    return found


@pytest.mark.hard_timeout(120)
def test_demo_runs_and_cleans_up(tmp_path):
    cp = harness.run(["sh", harness.ROOT / "scripts" / "demo.sh"], timeout=100,
                     env={"TMPDIR": str(tmp_path),
                          "ALERTRELAY_BUILD": str(harness.build_dir()),
                          # as people see it: Dutch (the harness sets
                          # English for the rest of the suite)
                          "LANGUAGE": "nl"})
    out = cp.stdout
    assert cp.returncode == 0, out[-3000:] + cp.stderr[-3000:]
    for heading in ("1. Setup", "3. alertrelayd", "5. The mayor presses",
                    "6. What the contact points received"):
        assert heading in out
    assert "accepted alert_id=" in out
    section6 = out[out.index("6. What the contact points"):]
    # both receivers decrypted it and checked the device's signature
    assert section6.count("ondertekend door het apparaat") >= 2, out[-3000:]
    assert section6.count("ALARM PANIEK") >= 2, out[-3000:]
    assert section6.count("Er staat iemand bij de voordeur") >= 2
    assert list(tmp_path.iterdir()) == [], "demo left files behind"
    assert _procs_mentioning(str(tmp_path)) == [], "demo left processes running"
