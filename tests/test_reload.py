"""SIGHUP reloads the relay's configuration all-or-nothing
(conf/alertrelayd.conf, man/alertrelayd.conf.5)."""

import signal

import nacl.signing
import pytest

import proto
from helpers import authed, raw_client

pytestmark = pytest.mark.needs("alertrelayd")


def test_reload_enrolls_a_device_and_refuses_a_broken_file(lab):
    env, redis, relay, _ = lab.stack()
    newkey = nacl.signing.SigningKey.generate()
    # not enrolled yet: answered as a wrong key (docs/PROTOCOL.md), the
    # real reason in the relay's log
    with raw_client(env) as c:
        assert c.auth("mayor-b", newkey)["code"] == "auth_failed"
    relay.proc.wait_for(r"authentication refused: unknown_device", "stderr",
                        timeout=5)

    env.extra_devices["mayor-b"] = (proto.b64e(bytes(newkey.verify_key)), "B")
    env.write_relay_conf()
    n = len(relay.proc.snapshot("stderr"))
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"reloaded", "stderr", timeout=10, start=n)
    with raw_client(env) as c:
        assert c.auth("mayor-b", newkey)["type"] == "ready"

    # a broken file is refused as a whole; the running configuration stays
    text = env.relay_conf.read_text()
    env.relay_conf.write_text(text.replace("[device mayor-b]", "[device mayor-c]")
                              + "\nno_such_key = 1\n")
    n = len(relay.proc.snapshot("stderr"))
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"refused", "stderr", timeout=10, start=n)
    assert relay.proc.running()
    with raw_client(env) as c:
        assert c.auth("mayor-b", newkey)["type"] == "ready"
    with raw_client(env) as c:
        assert c.auth("mayor-c", newkey)["code"] == "auth_failed"
    with authed(env) as c:
        assert c.request({"type": "ping"}) == {"type": "pong"}
