"""The README's enrollment steps, run as written: the administrator's
block, the relay configuration snippet, the reload, the official's block;
then the alert reaches the contact point's receiver and revocation by
the same commands shuts the device out.  Only the four site-specific
settings at the top of the administrator's block get this test's values
(its relay, configuration directory, webhook and admin listener)."""

import os
import re
import shutil
import subprocess

import pytest

from harness import (alertctl_bin, build_dir, free_port, hand_to_daemon_user,
                     ROOT)

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def readme_block(name, lang="sh"):
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- enrollment: %s -->\n```%s\n(.*?)```" % (name, lang),
                  text, re.S)
    assert m, "README has no %s block marked enrollment: %s" % (lang, name)
    return m.group(1)


def readme_ini():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"```ini\n(\[relay\]\ndirectory = .*?)```", text, re.S)
    assert m, "README has no ini snippet for the relay's directory"
    return m.group(1)


def run_block(script, home, cwd, settings=None):
    """settings replace the block's own assignments; a block that uses
    them without setting them (a later step in the same shell) gets them
    first."""
    for k, v in (settings or {}).items():
        script, n = re.subn(r"^%s=.*$" % k, "%s=%s" % (k, v), script,
                            flags=re.M)
        if n == 0:
            script = "%s=%s\n%s" % (k, v, script)
    env = dict(os.environ, HOME=str(home),
               PATH="%s:%s" % (build_dir(), os.environ["PATH"]))
    env.pop("ALERTCTL_CONF", None)
    env.pop("ALERTCTL_ORG", None)
    env.pop("XDG_STATE_HOME", None)
    cp = subprocess.run(["bash", "-e", "-u", "-c", script], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, "block failed (%d):\n%s\n--- stdout\n%s\n--- " \
        "stderr\n%s" % (cp.returncode, script, cp.stdout, cp.stderr)
    return cp


def test_readme_enrollment_steps_make_a_working_device(lab, tmp_path):
    env = lab.env()
    conf = env.dir / "etc"  # the relay's /etc/alertrelay
    conf.mkdir()
    shutil.copy2(env.cert, conf / "relay.crt")
    admin_home, official_home = tmp_path / "admin", tmp_path / "official"
    admin_home.mkdir()
    official_home.mkdir()
    hook_port, admin_port = free_port(), free_port()
    settings = {"RELAY": "127.0.0.1:%d" % env.relay_port, "CONF": conf,
                "HOOK": "http://127.0.0.1:%d/hook" % hook_port,
                "ADMIN": "127.0.0.1:%d" % admin_port}

    # 1. the administrator
    run_block(readme_block("administrator"), admin_home, admin_home, settings)
    org = admin_home / ".local/share/alertrelay/org"
    org_pub = (admin_home / "org.pub").read_text().strip()
    assert org_pub == (org / "org.pub").read_text().strip()

    # the relay: its own settings, then the README's snippet, as the
    # sysadmin would add it
    ini = readme_ini().replace("/etc/alertrelay", str(conf)) \
        .replace("ORG_PUBLIC_KEY", org_pub) \
        .replace("127.0.0.1:9464", settings["ADMIN"])
    relay_keys = "\n".join("%s = %s" % kv for kv in env.relay.items())
    env.relay_conf.write_text(
        "[relay]\n%s\n[redis]\naddress = 127.0.0.1:%d\n\n%s"
        % (relay_keys, env.redis_port, ini))
    if os.geteuid() == 0:
        hand_to_daemon_user(env.dir)
    lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"directory_version=1", "stderr", timeout=10)
    cp = run_block(readme_block("reload"), admin_home, admin_home, settings)
    assert "directory version 1" in cp.stdout

    # the contact point's receiver, as in step 3
    recv = lab.spawn([alertctl_bin(), "receive", "--listen",
                      "127.0.0.1:%d" % hook_port,
                      "--key", org / "recipients/contactpunt.key",
                      "--secret", conf / "contactpunt.whsec",
                      "--directory", conf / "directory.signed",
                      "--org-key", admin_home / "org.pub"], "receive")
    recv.wait_for(r"listening on", "stderr", 10)

    # 2. the official, with the bundle handed over
    shutil.copy2(org / "devices/burgemeester-a.bundle", official_home)
    cp = run_block(readme_block("official"), official_home, official_home)
    assert re.search(r"^accepted alert_id=", cp.stdout, re.M), cp.stdout
    assert not (official_home / "burgemeester-a.bundle").exists()
    recv.wait_for(r"Test na inschrijving", "stdout", 15)

    # revocation by the same commands: the device is shut out
    script = ("alertctl device revoke burgemeester-a\n"
              "alertctl directory sign -o \"$CONF/directory.signed\"\n"
              "alertctl reload --admin \"$ADMIN\" "
              "--token-file \"$CONF/admin.token\"\n")
    cp = run_block(script, admin_home, admin_home,
                   {"CONF": conf, "ADMIN": settings["ADMIN"]})
    assert "directory version 2" in cp.stdout
    cp = subprocess.run([alertctl_bin(), "send", "--type", "test",
                         "--timeout", "3"], cwd=official_home,
                        env=dict(os.environ, HOME=str(official_home)),
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode != 0 and "revoked" in cp.stderr, cp.stderr
    assert "not accepted within" not in cp.stderr  # refused, not retried
