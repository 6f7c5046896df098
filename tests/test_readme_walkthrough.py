"""The README's walkthrough, run as written: every block marked
`<!-- walkthrough: ... -->`, in order, in an empty directory, as an
ordinary user (as root, the test runs them as the unprivileged daemon
user), against the real alertrelayd, redis-server and alertctl.  Only the
ports in the first line get this test's free ports, and REF the
reference the receiver printed.  The blocks marked "(keeps running)" are
started in the background, as the README says to run them in another
terminal."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from harness import (DAEMON_USER, ROOT, Proc, build_dir, free_port,
                     hand_to_daemon_user, wait_until)

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

SETTINGS = ("PORT", "ACK", "HOOK", "REDIS")


def walkthrough_blocks():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- walkthrough: (.*?) -->\n```sh\n(.*?)```", text,
                        re.S)
    assert [name for name, _ in blocks] == [
        "administrator", "relay config", "relay (keeps running)",
        "receiver (keeps running)", "official", "contact point"], blocks
    return blocks


def with_settings(script, settings):
    """The block's own assignments get the test's values; a block that
    uses them without setting them (a later terminal) gets them first."""
    for k, v in settings.items():
        pattern = r"\b%s=\S+" % k
        if re.search(r"(^|\s)%s=" % k, script):
            script = re.sub(pattern, "%s=%s" % (k, v), script)
        else:
            script = "%s=%s\n%s" % (k, v, script)
    return script


def as_user(argv):
    """Unprivileged when we are root: alertrelayd refuses root without a
    user to become, and the README is for an ordinary user."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid", DAEMON_USER, "--regid", "nogroup",
            "--clear-groups"] + argv


def shell_env(home):
    env = dict(os.environ, HOME=str(home),
               PATH="%s:%s" % (build_dir(), os.environ["PATH"]))
    for k in ("ALERTCTL_CONF", "ALERTCTL_ORG", "XDG_STATE_HOME",
              "XDG_CONFIG_HOME", "LC_ALL", "LC_MESSAGES"):
        env.pop(k, None)
    env["LANG"] = "C.UTF-8"
    # Dutch, as the official and the contact point read it; said outright,
    # since Proc starts from the harness's environment (LANGUAGE=en)
    env["LANGUAGE"] = "nl"
    return env


def run_block(name, script, home):
    cp = subprocess.run(as_user(["bash", "-e", "-u", "-c", script]),
                        cwd=home, env=shell_env(home), capture_output=True,
                        text=True, timeout=60)
    assert cp.returncode == 0, "block '%s' failed (%d):\n%s\n--- stdout\n" \
        "%s\n--- stderr\n%s" % (name, cp.returncode, script, cp.stdout,
                                cp.stderr)
    return cp


@pytest.mark.hard_timeout(120)
def test_readme_walkthrough_as_written(lab, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    home = tmp_path / "walkthrough"
    home.mkdir()
    if os.geteuid() == 0:
        hand_to_daemon_user(home)
    settings = {k: free_port() for k in SETTINGS}
    blocks = walkthrough_blocks()
    started = {}
    try:
        for name, raw in blocks:
            script = with_settings(raw, settings)
            if name == "contact point":
                ref = wait_until(lambda: re.search(
                    r"alertctl ack ([2-9A-Z]{8})$",
                    started["receiver"].text("stdout"), re.M), 15,
                    what="the alarm card")
                script = script.replace("REF=K7Q2M9XD", "REF=" + ref.group(1))
            if "(keeps running)" in name:
                key = name.split()[0]
                # another terminal in the same directory: cd, then the
                # block's one command in place of the shell
                cmd = with_settings("cd %s\nexec %s" % (shlex.quote(str(home)),
                                                        raw.strip()),
                                    settings)
                p = Proc(as_user(["bash", "-e", "-u", "-c", cmd]),
                         "walkthrough-" + key, lab.logdir,
                         env=shell_env(home))
                lab.things.append(p)
                started[key] = p.start()
                wait = {"relay": r"started: instance=",
                        "receiver": r"listening on|luistert op"}[key]
                p.wait_for(wait, "stderr", 15)
                continue
            cp = run_block(name, script, home)
            if name == "administrator":
                pin = (home / "relay.pin").read_text().strip()
                assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", pin), pin
            if name == "relay config":
                assert "configuration OK" in cp.stdout, cp.stdout
            if name == "official":
                assert re.search(r"^accepted alert_id=", cp.stdout, re.M)
            if name == "contact point":
                out = cp.stdout
                assert "opgepakt als Contactpunt (u was de eerste)" in out, out
                assert "OPGEPAKT DOOR" in out and "PANIEK" in out, out
        card = started["receiver"].text("stdout")
        for words in ("ALARM PANIEK - Burgemeester-A", "Man bij de voordeur",
                      "https://www.openstreetmap.org/?mlat=52.090700"):
            assert words in card, card
        wait_until(lambda: "OPGEPAKT door Contactpunt" in
                   started["receiver"].text("stdout"), 15,
                   what="the acknowledgement on the receiver")
        # signed by the contact point (sign_key), not the relay's word
        out = started["receiver"].text("stdout")
        assert "VOLGENS DE RELAY" not in out, out
        assert "ondertekend door wie het oppakte" in out, out
    finally:
        pidfile = home / "relay" / "redis.pid"
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
            deadline = time.monotonic() + 10
            while pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
