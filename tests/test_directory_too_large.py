"""A signed directory whose `directory` frame would not fit in one frame
(docs/PROTOCOL.md, Errors): the file is within the relay's 8 MiB, but the
frame carries it as a JSON string, where each newline or tab of its
layout counts twice; above DIRECTORY_FRAME_MAX (9 MiB) the relay refuses
it where it is loaded: `alertrelayd -t` and a start fail with the reason,
and a reload to it is refused while the running directory stays and is
still sent.  Real alertrelayd, redis-server and alertctl.

Before: the relay started with it and answered `directory_too_large` to
every device that asked (each worker logging it once per version), so
nothing could be sent through it; before that, it sent nothing and
devices waited for their step timeout, again and again."""

import base64
import json
import os
import re
import signal

import pytest

import harness
import orgdir
from helpers import authed

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

MIB = 1024 * 1024
N_DEVICES = 16000  # an organisation's devices; recipients are at most 64


def b64(b):
    return base64.b64encode(bytes(b)).decode()


def big_directory(env, version=1):
    """Many devices (a payload of a few MiB), and a layout of newlines:
    the file stays under 8 MiB, its frame goes above 9 MiB."""
    p = json.loads(env.directory_payload(version))
    for i in range(N_DEVICES):
        p["devices"].append({
            "id": "apparaat-%05d" % i, "alias": "Apparaat %05d" % i,
            "public_key": b64(os.urandom(32)), "status": "active"})
    payload = json.dumps(p, sort_keys=True).encode()
    sig = env.org.sk.sign(orgdir.SIGCTX + payload).signature
    body = '"payload": "%s",\n"signature": "%s"}\n' % (b64(payload), b64(sig))
    head = '{"alertrelay_directory": 1,'
    # whitespace JSON allows between members: what the frame escapes
    pad = 8 * MIB - 1024 - len(head) - len(body)
    text = head + "\n" * pad + body
    assert len(text) <= 8 * MIB
    assert len(json.dumps(text)) > 9 * MIB  # DIRECTORY_FRAME_MAX
    env.directory.write_text(text)
    os.chmod(env.directory, 0o644)
    return text


REFUSED = (r"too large to send to devices: its frame would be \d+ "
           r"bytes, above \d+")


@pytest.mark.hard_timeout(120)
def test_a_directory_too_large_to_send_is_refused_at_start(lab):
    env = lab.env()
    env.use_directory(1)
    big_directory(env)
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                      str(env.relay_conf)], timeout=60)
    assert cp.returncode != 0, cp.stdout + cp.stderr
    assert re.search(REFUSED, cp.stderr), cp.stderr
    lab.redis(env)
    relay = lab.relay(env, start=False)
    with pytest.raises(Exception):
        relay.start(timeout=20)
    assert re.search(REFUSED, relay.proc.text("stderr")), \
        relay.proc.text("stderr")
    assert not relay.proc.running()


@pytest.mark.hard_timeout(120)
def test_a_reload_to_a_directory_too_large_keeps_the_running_one(lab):
    env = lab.env()
    env.use_directory(1)
    lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"directory_version=1", "stderr", timeout=30)
    big_directory(env, version=2)
    n = len(relay.proc.snapshot("stderr"))
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"reload refused", "stderr", timeout=30, start=n)
    assert re.search(REFUSED, relay.proc.text("stderr"))
    assert relay.proc.running()
    # the running directory is still sent, whole, and the official's
    # send goes through with it
    with authed(env, timeout=15) as c:
        c.send_frame({"type": "directory", "have": 0})
        d = c.recv_frame(timeout=15)
        assert d["type"] == "directory" and d["version"] == 1, d
        assert json.loads(d["signed"])["alertrelay_directory"] == 1
    assert "directory_too_large" not in relay.proc.text("stderr")
    rc, out, err = lab.send(env, "--type", "test", "--message",
                            "na de reload")
    assert rc == 0, err
