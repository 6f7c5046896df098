"""Started as root, alertrelayd binds and loads its keys, then becomes the
configured user (setgroups, setgid, setuid, verified), and refuses to run
as root when no user is configured (issue 6, alertrelayd(8))."""

import os
import pwd
import re

import pytest

import harness

pytestmark = [pytest.mark.needs("alertrelayd"),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def ids_of(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = v.split()
    return out


def test_drops_to_configured_user(lab):
    env, redis, relay, _ = lab.stack()
    assert env.relay["user"] == harness.DAEMON_USER
    pw = pwd.getpwnam(harness.DAEMON_USER)
    ids = ids_of(relay.proc.pid)
    # real, effective, saved and filesystem ids are all the user's
    assert ids["Uid"] == [str(pw.pw_uid)] * 4, ids
    assert ids["Gid"] == [str(pw.pw_gid)] * 4, ids
    assert ids["Groups"] in ([str(pw.pw_gid)], []), ids
    # said after "listening on", which is all the start waits for
    relay.proc.wait_for(r"running as %s " % re.escape(harness.DAEMON_USER),
                        "stderr", 10)


def test_refuses_to_run_as_root_without_user(lab):
    env = lab.env()
    del env.relay["user"]
    env.write_relay_conf()
    lab.redis(env)
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", str(env.relay_conf)],
                  "alertrelayd-root")
    assert p.wait_exit(10) == 1
    err = p.text("stderr")
    assert "refusing to run as root" in err
    assert "listening on" in err  # it got as far as binding, not further
    assert "redis connected" not in err


def test_refuses_unknown_user(lab):
    env = lab.env(relay={"user": "no-such-user-alertrelay"})
    lab.redis(env)
    p = lab.spawn([harness.alertrelayd_bin(), "-f", "-c", str(env.relay_conf)],
                  "alertrelayd-nouser")
    assert p.wait_exit(10) == 1
    assert "no such user" in p.text("stderr")
