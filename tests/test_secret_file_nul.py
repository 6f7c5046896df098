"""A secret text file (a token, a password, a webhook secret) is one line
of text: one with a NUL byte inside is refused, where before it was read
up to the NUL and the rest dropped unseen (a token of 60 characters taken
as its first 20, found by fuzz/fuzz_keyfile.c).

The real relay's configuration check (`alertrelayd -t`), which the
start makes too.
"""

import os

import pytest

import harness
from harness import free_port

pytestmark = pytest.mark.needs("alertrelayd")


def nul_secret(path):
    """20 characters, a NUL, 40 more: mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"A" * 20 + b"\0" + b"B" * 40 + b"\n")
    return path


def check(conf):
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", conf], timeout=20)
    return cp.returncode, cp.stdout + cp.stderr


@pytest.mark.parametrize("key", ["token_file", "ack_token_file"])
def test_a_secret_with_a_nul_is_refused(lab, key):
    env = lab.env()
    path = nul_secret(env.dir / "secret")
    text = env.relay_conf.read_text()
    if key == "ack_token_file":
        text = text.replace("[recipient contactpunt]",
                            "[recipient contactpunt]\nack_token_file = %s"
                            % path)
    else:
        text += "\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n" % (
            free_port(), path)
    env.relay_conf.write_text(text)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    rc, out = check(env.relay_conf)
    assert rc == 1, out
    assert "expected one line of text" in out and str(path) in out, out
    assert "configuration OK" not in out
    # neither half of the secret is ever shown
    assert "AAAA" not in out and "BBBB" not in out, out
    # the same file without the NUL is taken
    harness.write_secret(path, "A" * 60)
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    rc, out = check(env.relay_conf)
    assert rc == 0, out
