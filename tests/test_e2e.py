"""The whole path: alertctl send -> alertrelayd -> Redis -> signed webhook
-> alertctl receive, with two recipients holding different keys."""

import re
import time

import pytest

import proto
from helpers import (device_verify_key, parse_send, recipient_sk, send_ok,
                     stream_alert_ids)
import harness

MESSAGE = "Er staat iemand bij de voordeur \u2014 bel 112 \U0001F6A8"


@pytest.mark.hard_timeout(60)
def test_two_recipients_decrypt_what_was_sent(lab):
    env, redis, relay, recv = lab.stack(receivers=["contactpunt", "oncall-1"])
    alert_id, relay_id, lines = send_ok(
        lab, env, "--type", "panic", "--message", MESSAGE, "--lat", "52.0907",
        "--lon", "5.1214", "--accuracy", "15", "--timeout", "20")
    seen = {}
    for rid, rx in recv.items():
        out = rx.wait_alerts(1, timeout=20)
        assert len(out) == 1, out
        a = out[0]
        seen[rid] = a
        assert a["verified"] is True
        assert a["type"] == "alert.raised"
        assert a["alert_id"] == alert_id
        assert a["device_id"] == env.device_id
        assert a["recipient_id"] == rid
        assert a["alert_type"] == "panic"
        assert a["message"] == MESSAGE
        loc = a["location"]
        assert loc["lat"] == pytest.approx(52.0907, abs=1e-6)
        assert loc["lon"] == pytest.approx(5.1214, abs=1e-6)
        assert loc["accuracy_m"] == pytest.approx(15)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", a["created_at"])
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", a["received_at"])
        assert a["webhook_id"]
    assert seen["contactpunt"]["webhook_id"] != seen["oncall-1"]["webhook_id"]
    r = redis.client()
    assert stream_alert_ids(r, env) == [alert_id]
    h = r.hgetall("alertrelay:alert:" + alert_id)
    assert h["relay_id"] == relay_id
    assert h["ct:contactpunt"] != h["ct:oncall-1"]
    # each ciphertext in Redis opens only with its own recipient's key
    for rid, other in (("contactpunt", "oncall-1"), ("oncall-1", "contactpunt")):
        inner = proto.open_sealed(h["ct:" + rid], recipient_sk(env, rid),
                                  device_verify_key(env))
        assert inner["message"] == MESSAGE and inner["alert_id"] == alert_id
        with pytest.raises(Exception):
            proto.open_sealed(h["ct:" + rid], recipient_sk(env, other),
                              device_verify_key(env))
    harness.wait_until(lambda: all(("delivered:" + rid) in
                                   r.hgetall("alertrelay:alert:" + alert_id)
                                   for rid in recv), 10, what="delivered:* marks")


@pytest.mark.hard_timeout(60)
def test_minimal_alert_and_progress_output(lab):
    env, redis, relay, recv = lab.stack(receivers=["contactpunt", "oncall-1"])
    rc, lines, err = lab.send(env, "--type", "test", "--timeout", "20")
    assert rc == 0, (lines, err)
    alert_id, acc = parse_send(lines)
    assert acc and acc.group(3) is None, lines  # not a duplicate
    for rx in recv.values():
        a = rx.wait_alerts(1, timeout=20)[0]
        assert a["alert_id"] == alert_id and a["alert_type"] == "test"
        assert a["message"] is None and a["location"] is None
    # two alerts in a row get two ids and two stream entries
    alert2, _, _ = send_ok(lab, env, "--type", "threat", "--message", "tweede")
    assert alert2 != alert_id
    assert stream_alert_ids(redis.client(), env) == [alert_id, alert2]
    assert recv["oncall-1"].wait_alerts(2, timeout=20)[1]["message"] == "tweede"


@pytest.mark.parametrize("args", [
    ["--type", "party"],
    ["--type", "panic", "--lat", "52.1"],
    ["--type", "panic", "--lat", "91", "--lon", "5"],
    ["--type", "panic", "--alert-id", "XYZ"],
], ids=["bad-type", "lat-without-lon", "lat-out-of-range", "bad-alert-id"])
def test_send_rejects_bad_arguments(lab, args):
    env, redis, relay, _ = lab.stack()
    rc, lines, err = lab.send(env, *args, "--timeout", "5")
    assert rc != 0
    assert not any(l.startswith("accepted") for l in lines)
    assert err.strip(), "no message on stderr"
    assert stream_alert_ids(redis.client(), env) == []


def test_send_refuses_wrong_pin(lab):
    """A relay whose key does not match the pin gets nothing."""
    env, redis, relay, _ = lab.stack()
    conf = env.write_client_conf(env.dir / "wrongpin.conf",
                                 pin=proto.b64e(b"\x00" * 32))
    rc, lines, err = lab.send(env, "--type", "test", "--message", "geheim",
                              "--timeout", "5", conf=conf)
    assert rc == 1
    assert not any(l.startswith("accepted") for l in lines)
    assert stream_alert_ids(redis.client(), env) == []


def test_send_unknown_device_fails_clearly(lab):
    """A device the relay does not know: the relay answers auth_failed, as
    for a wrong key (it tells no stranger which ids are enrolled), and the
    official still reads that the relay does not take this device, in
    English and in Dutch, with exit 3."""
    env, redis, relay, _ = lab.stack()
    key = env.dir / "mayor-x"
    harness.keygen("device", key, "alertctl")
    conf = env.write_client_conf(env.dir / "stranger.conf", device_id="mayor-x",
                                 device_key=str(key) + ".key")
    rc, lines, err = lab.send(env, "--type", "panic", "--timeout", "5", conf=conf)
    # the relays refuse this device: exit 3 (alertctl(1) EXIT STATUS), and
    # the last line says so in words before the relay's reason
    assert rc == 3, (rc, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith(
        "ALARM NOT DELIVERED: this device can no longer raise alarms; "
        "contact your administrator, and call 112 in danger. ("), err
    assert "the relay does not accept this device: it may have been " \
        "removed or its key replaced; ask your administrator (auth_failed)" \
        in last, err
    cp = harness.run([harness.alertctl_bin(), "-c", conf, "send", "--type",
                      "panic", "--timeout", "5"], timeout=30,
                     env={"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "",
                          "LANG": "C.UTF-8"})
    lab.short_runs.append((["alertctl", "send"], cp.stderr))
    assert cp.returncode == 3, (cp.returncode, cp.stderr)
    last = cp.stderr.strip().splitlines()[-1]
    assert last.startswith("ALARM NIET AFGELEVERD: met dit apparaat kunt u "
                           "geen alarm meer geven"), cp.stderr
    assert "de relay neemt dit apparaat niet aan" in last, cp.stderr
    assert stream_alert_ids(redis.client(), env) == []
    # the relay's log keeps the real reason for its operators
    relay.proc.wait_for(r"authentication refused: unknown_device", "stderr",
                        5)


def test_send_refuses_a_corrupt_device_key(lab):
    """A key file whose public half does not match its seed is refused
    before any connection, rather than failing later as auth_failed."""
    env, redis, relay, _ = lab.stack()
    sk = bytearray(proto.read_keyfile(env.device_key))
    assert len(sk) == 64
    sk[40] ^= 1  # in the public half
    bad = env.dir / "corrupt.key"
    bad.write_text(proto.b64e(bytes(sk)) + "\n")
    bad.chmod(0o600)
    conf = env.write_client_conf(env.dir / "corrupt.conf", device_key=str(bad))
    rc, lines, err = lab.send(env, "--type", "panic", "--timeout", "5",
                              conf=conf)
    assert rc == 1
    assert "is corrupt" in err, err
    assert "auth_failed" not in err
    assert stream_alert_ids(redis.client(), env) == []


def test_send_without_relay_fails_within_timeout(lab):
    env = lab.env()
    t0 = time.monotonic()
    rc, lines, err = lab.send(env, "--type", "panic", "--timeout", "3", timeout=20)
    assert rc == 1
    assert time.monotonic() - t0 < 12
    assert not any(l.startswith("accepted") for l in lines)
    assert err.strip()


def test_sigterm_exits_cleanly(lab):
    env, redis, relay, _ = lab.stack()
    assert relay.stop(timeout=10) == 0
    assert relay.proc.wait_exit(1) == 0


def test_secrets_and_message_never_logged(lab):
    """With debug logging, neither the alert's content nor any key or
    secret appears in the daemon's log; Redis holds no plaintext either."""
    marker = "GEHEIM-" + proto.new_alert_id()
    lat, lon = "51.98765432", "4.12345678"
    env = lab.env(relay={"log_level": "debug"})
    env, redis, relay, _ = lab.stack(env, debug=True)
    recs = [lab.recorder_for(env, rid, statuses=[500]) for rid in env.recipients]
    alert_id, _, lines = send_ok(lab, env, "--type", "panic", "--message", marker,
                                 "--lat", lat, "--lon", lon, "--timeout", "20")
    for rec in recs:  # a failed attempt and a retry: the paths that log most
        assert [a["status"] for a in rec.wait_attempts(2, timeout=20)] == [500, 200]
    time.sleep(0.3)
    relay.stop()
    log = relay.log()
    assert alert_id in log or len(log.splitlines()) > 2, "daemon logged nothing?"
    secrets = {"message": marker, "lat": lat, "lon": lon,
               "device key": env.device_key.read_text().strip()}
    for rid, r in env.recipients.items():
        secrets[rid + " key"] = r.key.read_text().strip()
        whsec = r.secret_text
        secrets[rid + " webhook secret"] = whsec
        secrets[rid + " webhook secret (base64)"] = whsec[len("whsec_"):]
    tls = [l for l in env.tls_key.read_text().splitlines() if "-----" not in l]
    for i, l in enumerate(tls):
        secrets["tls key line %d" % i] = l
    for name, s in secrets.items():
        assert s not in log, "%s appears in the daemon's log" % name
    dump = redis.client().dump_all_text()
    for name in ("message", "lat", "lon"):
        assert secrets[name] not in dump, "%s stored in Redis in the clear" % name
    assert secrets["device key"] not in "\n".join(lines)
