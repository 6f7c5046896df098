"""The shipped binaries under valgrind's memcheck.  alertrelayd, alertctl
send and alertctl receive (and the alertctl commands that set the test up)
take one alert end to end, the relay also refuses a malformed frame, and
everything stops; valgrind must report no error and no definite leak in
any of them.  `make test-asan` runs the whole suite with the sanitizers;
this checks the uninstrumented build that is installed."""

import os
import re
import shutil
import subprocess

import pytest

import harness
from helpers import raw_client, send_ok

VALGRIND = shutil.which("valgrind")
SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors")


def wrappers(tmp, logdir):
    """A directory whose alertrelayd and alertctl run the real ones under
    memcheck, each process logging to logdir/<name>.<pid>.log."""
    real = harness.build_dir()
    d = tmp / "valgrind-bin"
    d.mkdir()
    for name in ("alertrelayd", "alertctl"):
        w = d / name
        w.write_text(
            "#!/bin/sh\n"
            "exec %s --error-exitcode=99 --leak-check=full "
            "--errors-for-leak-kinds=definite --show-leak-kinds=definite "
            "--log-file=%s/%s.%%p.log %s \"$@\"\n" % (
                VALGRIND, logdir, name, real / name))
        w.chmod(0o755)
    return d


def sanitizer_build():
    """True for make test-asan's build: valgrind cannot run binaries built
    with AddressSanitizer, which checks them itself."""
    out = subprocess.run(["ldd", str(harness.build_dir() / "alertrelayd")],
                         capture_output=True, text=True).stdout
    return "libasan" in out


@pytest.mark.hard_timeout(600)
def test_alert_path_clean_under_valgrind(lab, tmp_path, monkeypatch):
    if sanitizer_build():
        pytest.skip("ASan build: make test runs this on the shipped build")
    assert VALGRIND, "valgrind is not installed (make deps installs it)"
    logdir = tmp_path / "valgrind"
    logdir.mkdir()
    os.chmod(logdir, 0o777)  # the relay may run as another user
    monkeypatch.setenv("ALERTRELAY_BUILD", str(wrappers(tmp_path, logdir)))

    env = lab.env()
    redis = lab.redis(env)
    relay = lab.relay(env, start=False).start(timeout=60)
    recv = lab.receiver(env, "contactpunt")
    alert_id, _, _ = send_ok(lab, env, "--type", "panic", "--message",
                             "onder valgrind", "--timeout", "120")
    (got,) = recv.wait_alerts(1, timeout=120)
    assert got["alert_id"] == alert_id and got["message"] == "onder valgrind"
    assert got["verified"] is True
    with raw_client(env, timeout=30) as c:
        c.hello()
        c.send_raw(b"\x00\x00\x00\x07{broken")
        f = c.recv_frame(30)
        assert f["type"] == "error" and f["code"] == "bad_frame", f
    assert relay.stop(timeout=120) == 0
    assert recv.stop() == 0
    redis.stop()

    logs = sorted(logdir.glob("*.log"))
    names = {p.name.split(".")[0] for p in logs}
    assert names == {"alertrelayd", "alertctl"}, names
    bad = {}
    for p in logs:
        text = p.read_text()
        counts = [int(n) for n in SUMMARY.findall(text)]
        if not counts or any(counts):
            bad[p.name] = text[-4000:]
    assert bad == {}, "\n\n".join("== %s\n%s" % kv for kv in bad.items())
