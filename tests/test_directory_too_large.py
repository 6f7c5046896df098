"""A signed directory whose `directory` frame does not fit in one frame
(docs/PROTOCOL.md, Errors): the file is within the relay's 8 MiB, but the
frame carries it as a JSON string, where each newline or tab of its
layout counts twice; above DIRECTORY_FRAME_MAX (9 MiB) the relay answers
`directory_too_large` and logs it once per version, and `alertctl send`
says in plain words that the relay cannot send the directory, instead of
waiting for an answer that never comes.  Real alertrelayd, redis-server
and alertctl.

Before: the relay logged "does not fit in a frame" and sent nothing; the
device waited for its step timeout, again and again."""

import base64
import json
import os
import time

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


@pytest.mark.hard_timeout(120)
def test_directory_too_large_is_said_to_device_and_operator(lab):
    env = lab.env()
    env.use_directory(1)
    big_directory(env)
    lab.redis(env)
    relay = lab.relay(env)
    relay.proc.wait_for(r"directory_version=1", "stderr", timeout=30)

    # the protocol: an error frame, the connection kept
    with authed(env, timeout=15) as c:
        c.send_frame({"type": "directory", "have": 0})
        err = c.recv_frame(timeout=15)
        assert err["type"] == "error" and \
            err["code"] == "directory_too_large", err
        c.send_frame({"type": "directory", "have": 1})
        assert c.recv_frame(timeout=10) == {"type": "directory",
                                            "version": 1}
    relay.proc.wait_for(r"directory version=1 too large to send: its "
                        r"frame is above \d+ bytes; devices asking for it "
                        r"get directory_too_large", "stderr", timeout=5)

    # the official's send: told in plain words, well before any timeout
    t0 = time.monotonic()
    send = lab.send_proc(env, "--type", "panic", "--message", "help")
    harness.wait_until(
        lambda: "too large" in send.text("stderr") + send.text("stdout"),
        15, what="the plain reason:\n" + send.tail())
    assert time.monotonic() - t0 < 10
    text = send.text("stderr") + send.text("stdout")
    assert "the relay cannot send the organisation's directory: it is " \
        "too large" in text, text
    send.kill()
    # said once per version, however many devices ask
    with authed(env, timeout=15) as c:
        c.send_frame({"type": "directory", "have": 0})
        assert c.recv_frame(timeout=15)["code"] == "directory_too_large"
    assert relay.proc.text("stderr").count(
        "directory version=1 too large to send") == 1
