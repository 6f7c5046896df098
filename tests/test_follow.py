"""Live location while an alert is open (issue 14, section 4;
docs/PROTOCOL.md, "Revision 3: location while an alert is open").

`alertctl send --follow` sends later positions of its open alert, from
gpsd (here gpsfake replaying tests/data/track.nmea, a walk through Gouda)
or fixed (--lat/--lon), until the alert is closed:

- the updates reach `alertctl receive` in order, decrypted and verified,
  on the track, and stop once the alert is cancelled or acknowledged;
- the relay takes at most one per [location] min_interval;
- Redis and the relay's log never hold a coordinate;
- an update for another device's alert, or for a closed alert, is
  refused; one signed as an alert does not pass;
- gpsd missing or silent is said plainly and the alert itself goes
  through all the same."""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import nacl.signing
import pytest

import harness
import proto
from harness_sms import device_session
from helpers import alert_hash

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

TRACK = Path(__file__).parent / "data" / "track.nmea"
SIGCTX_LOCATION = b"alertrelay location v1\n"
# The track's bounds (Gouda, around the Markt).
LAT_RANGE = (52.0110, 52.0150)
LON_RANGE = (4.7100, 4.7140)
FIXED = ("52.0907", "5.1214")  # Utrecht, Stadhuisbrug
# [retention] of tests/test_retention.py: seconds
SHORT = {"alert_content": 2, "alert_history": 4, "device_index": 4,
         "dead_letters": 3, "sms_references": 4, "audit_log": 3600,
         "sweep_interval": 1}


def follow_env(lab, min_interval=1, ack_token=False, enabled=1):
    env = lab.env()
    env.sections = {"location": {"min_interval": min_interval, "keep": 4,
                                 "enabled": enabled}}
    token = None
    if ack_token:
        env.ack = {"listen": "127.0.0.1:%d" % harness.free_port()}
        token = harness.new_token()
        env.recipient_extra["contactpunt"] = {
            "ack_token_file": harness.write_secret(
                env.dir / "contactpunt.ack", token)}
        if os.geteuid() == 0:
            harness.hand_to_daemon_user(env.dir)
    env.write_relay_conf()
    lab.redis(env)
    relay = lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    return env, relay, recv, token


def ack_https(env, token, aid, by=None):
    """aid acknowledged over HTTPS with the contact point's token, by the
    operator named by (the relay's acknowledged_by: "BY (alias)")."""
    body = json.dumps({"by": by}).encode() if by is not None else b""
    st, body = harness.https_request(
        int(env.ack["listen"].rsplit(":", 1)[1]), "POST",
        "/v1/alerts/%s/ack" % aid,
        headers={"Authorization": "Bearer " + token,
                 "Content-Length": str(len(body))},
        body=body, cafile=env.cert)[:2]
    assert st == 200, (st, body)


def gpsfake(lab, cycle=0.5):
    """gpsd fed the track once by gpsfake on a free port (it waits for a
    client before it starts); stopped with the lab."""
    if shutil.which("gpsfake") is None or not os.path.exists("/usr/sbin/gpsd"):
        pytest.skip("gpsfake/gpsd not installed (scripts/install-deps.sh)")
    port = harness.free_port()
    argv = ["timeout", "120", "gpsfake", "-1", "-q", "-c", str(cycle), "-P",
            str(port), str(TRACK)]
    p = lab.spawn(argv, "gpsfake")
    harness.wait_until(lambda: _listening(port), 15, what="gpsfake's gpsd")
    return port, p


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def locations(recv):
    return [a for a in recv.alerts() if a.get("type") == "alert.location"]


def raised(recv):
    return [a for a in recv.alerts() if a.get("type") == "alert.raised"]


def alert_id_of(proc):
    harness.wait_until(lambda: any(l.startswith("alert_id=") for l in
                                   proc.snapshot("stdout")), 15,
                       what="alert_id line")
    return [l for l in proc.snapshot("stdout")
            if l.startswith("alert_id=")][0].split("=", 1)[1]


def cancel(lab, env, aid):
    argv = [harness.alertctl_bin(), "-c", env.client_conf, "cancel", aid]
    cp = harness.run(argv, timeout=30)
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stdout + cp.stderr


def redis_text(env, redis):
    """Every key and every value in Redis, as one text."""
    c = redis.client()
    out = []
    try:
        for k in c("KEYS", "*"):
            t = c("TYPE", k)
            out.append(k)
            if t == "string":
                out.append(str(c("GET", k)))
            elif t == "hash":
                out.append(json.dumps(c("HGETALL", k)))
            elif t == "list":
                out.append(json.dumps(c("LRANGE", k, 0, -1)))
            elif t == "set":
                out.append(json.dumps(c("SMEMBERS", k)))
            elif t == "zset":
                out.append(json.dumps(c("ZRANGE", k, 0, -1)))
            elif t == "stream":
                out.append(json.dumps(c("XRANGE", k, "-", "+")))
    finally:
        c.close()
    return "\n".join(out)


def assert_no_clear_position(lab, relay, env, recv):
    """No position the receiver got (to 4 decimals, about 10 m), nor any
    member of an inner alert, in Redis or the relay's log."""
    redis = [t for t in lab.things if isinstance(t, harness.RedisServer)][0]
    text = redis_text(env, redis)
    log = relay.proc.text("stderr")
    words = ['"lat"', '"lon"', "accuracy_m"]
    for a in locations(recv):
        words += ["%.4f" % a["location"]["lat"], "%.4f" % a["location"]["lon"]]
    for w in words:
        assert w not in text, "%s in Redis" % w
        assert w not in log, "%s in the relay's log" % w


@pytest.mark.hard_timeout(120)
def test_follow_gpsd_in_order_until_cancelled(lab):
    env, relay, recv, _ = follow_env(lab)
    port, _ = gpsfake(lab)
    send = lab.send_proc(env, "--type", "panic", "--message", "Hulp, Markt",
                         "--follow", "--follow-interval", "1", "--gpsd",
                         "127.0.0.1:%d" % port)
    aid = alert_id_of(send)
    harness.wait_until(lambda: len(locations(recv)) >= 4, 40,
                       what="4 alert.location at the receiver:\n" + recv.proc.tail())
    got = locations(recv)
    assert len(raised(recv)) == 1
    for a in got:
        assert a["verified"] is True and a["alert_id"] == aid, a
        assert a["message"] == "Hulp, Markt" and a["alert_type"] == "panic"
        assert LAT_RANGE[0] < a["location"]["lat"] < LAT_RANGE[1], a
        assert LON_RANGE[0] < a["location"]["lon"] < LON_RANGE[1], a
    # in order: the fix times grow, and the official walks north-east
    times = [a["created_at"] for a in got]
    assert times == sorted(times) and len(set(times)) == len(times), times
    lats = [a["location"]["lat"] for a in got]
    assert lats == sorted(lats) and lats[0] < lats[-1], lats
    # the relay keeps the newest [location] keep (4) sealed updates
    fields = alert_hash(lab, env, aid)
    kept = [f for f in fields if f.startswith("ct:@") and f.count(":") == 1]
    assert 1 <= len(kept) <= 4, fields
    cancel(lab, env, aid)
    rc = send.wait_exit(20)
    assert rc == 0, send.text()
    out = "\n".join(send.snapshot("stdout"))
    assert "closed" in out or "gesloten" in out, out
    n = len(locations(recv))
    time.sleep(2.5)
    assert len(locations(recv)) == n, "updates after the cancel"
    assert_no_clear_position(lab, relay, env, recv)


@pytest.mark.hard_timeout(120)
def test_follow_fixed_is_rate_limited_and_stops_at_ack(lab):
    env, relay, recv, token = follow_env(lab, min_interval=3, ack_token=True)
    send = lab.send_proc(env, "--type", "threat", "--lat", FIXED[0], "--lon",
                         FIXED[1], "--follow", "--follow-interval", "1")
    aid = alert_id_of(send)
    harness.wait_until(lambda: len(locations(recv)) >= 3, 30,
                       what="3 alert.location:\n" + recv.proc.tail())
    got = locations(recv)
    for a in got:
        assert a["verified"] is True
        assert a["location"]["lat"] == pytest.approx(float(FIXED[0]))
    # one a second asked, one per 3 s taken
    t = [time.mktime(time.strptime(a["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
         for a in got]
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert all(g >= 2 for g in gaps), gaps
    # acknowledged over HTTPS by the contact point: follow ends
    ack_https(env, token, aid)
    assert send.wait_exit(20) == 0, send.text()
    out = "\n".join(send.snapshot("stdout"))
    assert "closed" in out or "gesloten" in out, out
    n = len(locations(recv))
    time.sleep(4)
    assert len(locations(recv)) == n
    assert_no_clear_position(lab, relay, env, recv)


def location_frame(key, device_id, alert_id, alert_type, pks, lat=52.0907,
                   ctx=SIGCTX_LOCATION, created_at=None):
    created_at = created_at or proto.rfc3339_now()
    inner = proto.inner_alert(alert_id, device_id, alert_type, created_at,
                              None, {"lat": lat, "lon": 5.1214,
                                     "accuracy_m": 8})
    recips = [(rid, proto.seal(inner, key, pk)) for rid, pk in pks.items()]
    env = proto.envelope_bytes(alert_id, device_id, alert_type, created_at,
                               recips)
    return {"type": "location", "envelope": proto.b64e(env),
            "sig": proto.b64e(key.sign(ctx + env).signature)}


@pytest.mark.hard_timeout(90)
def test_location_refused_for_another_devices_alert_and_when_closed(lab):
    env = lab.env()
    env.sections = {"location": {"min_interval": 1}, "retention": SHORT}
    other = nacl.signing.SigningKey.generate()
    env.extra_devices["mayor-b"] = (proto.b64e(bytes(other.verify_key)), "B")
    env.write_relay_conf()
    redis = lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt")
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    s = device_session(env)
    try:
        acc = s.send_alert("panic")
        aid = acc["alert_id"]
        s.wait_receipt(aid, "delivered", timeout=10)
        ok = s.request(location_frame(s.key, env.device_id, aid, "panic", pks),
                       ("located", "error"))
        assert ok["type"] == "located" and ok["alert_id"] == aid, ok
        # too soon after it
        again = s.request(location_frame(s.key, env.device_id, aid, "panic",
                                         pks), ("located", "error"))
        assert again.get("code") == "rate_limited", again
    finally:
        s.close()
    harness.wait_until(lambda: len(locations(recv)) == 1, 10,
                       what="the update at the receiver")
    c = redis.client()
    try:
        fields = c("HKEYS", "%s:alert:%s" % (env.redis["prefix"], aid))
        assert "ct:@1:contactpunt" in fields and "ct:@1" in fields, fields
    finally:
        c.close()
    # another device: its own envelope for A's alert names an alert that
    # is not its own
    b = device_session(env, device_id="mayor-b", signing_key=other)
    try:
        r = b.request(location_frame(other, "mayor-b", aid, "panic", pks),
                      ("located", "error"))
        assert r.get("code") == "unknown_alert", r
        # A's update, signed by A, over B's session: not B's signature
        key_a = proto.device_signing_key(env.device_key)
        r = b.request(location_frame(key_a, env.device_id, aid, "panic", pks),
                      ("located", "error"))
        assert r.get("code") == "bad_signature", r
    finally:
        b.close()
    s = device_session(env)
    try:
        # signed as an alert envelope: never taken as an update
        r = s.request(location_frame(s.key, env.device_id, aid, "panic", pks,
                                     ctx=proto.SIGCTX_ENVELOPE),
                      ("located", "error"))
        assert r.get("code") == "bad_signature", r
    finally:
        s.close()
    s = device_session(env)
    try:
        assert s.cancel(aid)["type"] == "cancelled"
        time.sleep(1.1)
        r = s.request(location_frame(s.key, env.device_id, aid, "panic", pks),
                      ("located", "error"))
        assert r.get("code") == "alert_closed", r
        assert r.get("state") == "cancelled", r
    finally:
        s.close()
    time.sleep(1)
    assert len(locations(recv)) == 1
    # the sealed update lives in the alert's hash, so the alert's
    # retention takes it: with the alert's other ciphertexts, after the
    # content period counted from the close
    c = redis.client()
    try:
        ak = "%s:alert:%s" % (env.redis["prefix"], aid)
        assert c("TTL", ak) > 0
        harness.wait_until(
            lambda: not [f for f in c("HKEYS", ak) if f.startswith("ct:")],
            15, what="the sealed updates gone with the content period")
    finally:
        c.close()


@pytest.mark.hard_timeout(60)
def test_follow_without_gpsd_says_so_and_the_alert_goes(lab):
    env, relay, recv, _ = follow_env(lab)
    port = harness.free_port()  # nothing listens there
    rc, out, err = lab.send(env, "--type", "panic", "--follow", "--gpsd",
                            "127.0.0.1:%d" % port)
    assert rc == 0, err
    assert "gpsd" in err and ("not affected" in err or "niet" in err), err
    assert any(l.startswith("accepted alert_id=") for l in out), out
    recv.wait_alerts(1, timeout=10)
    assert len(raised(recv)) == 1 and locations(recv) == []


def _silent_gpsd(stop):
    """Accepts gpsd's clients, says hello and then nothing."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.2)
    conns = []

    def loop():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            c.sendall(b'{"class":"VERSION","release":"3.22","rev":"3.22",'
                      b'"proto_major":3,"proto_minor":14}\r\n')
            conns.append(c)
        for c in conns:
            c.close()
        srv.close()
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return srv.getsockname()[1], t


@pytest.mark.hard_timeout(60)
def test_follow_with_silent_gpsd_says_so_and_the_alert_goes(lab):
    env, relay, recv, _ = follow_env(lab)
    stop = threading.Event()
    port, t = _silent_gpsd(stop)
    try:
        send = lab.send_proc(env, "--type", "panic", "--follow",
                             "--follow-interval", "1", "--gpsd",
                             "127.0.0.1:%d" % port)
        aid = alert_id_of(send)
        send.wait_for(r"(No position from gpsd|Geen positie)", "stderr", 15)
        recv.wait_alerts(1, timeout=10)
        assert len(raised(recv)) == 1 and locations(recv) == []
        cancel(lab, env, aid)
        send.stop()
    finally:
        stop.set()
        t.join(5)


@pytest.mark.hard_timeout(60)
def test_follow_to_a_relay_without_location_says_so_and_the_alert_goes(lab):
    """A relay that does not list "location" in hello (before revision 3,
    or [location] enabled = 0) is never sent an update; one sent anyway
    is an unknown frame there, as at an old relay."""
    env, relay, recv, _ = follow_env(lab, enabled=0)
    rc, out, err = lab.send(env, "--type", "panic", "--lat", FIXED[0],
                            "--lon", FIXED[1], "--follow",
                            "--follow-interval", "1", timeout=30)
    assert rc == 0, err
    assert "cannot take location" in err or "kan geen locaties" in err, err
    assert any(l.startswith("accepted alert_id=") for l in out), out
    recv.wait_alerts(1, timeout=10)
    assert len(raised(recv)) == 1 and locations(recv) == []
    aid = raised(recv)[0]["alert_id"]
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    s = device_session(env)
    try:
        r = s.request(location_frame(s.key, env.device_id, aid, "panic", pks),
                      ("located", "error"))
        assert r.get("code") == "bad_frame", r
    finally:
        s.close()


@pytest.mark.hard_timeout(60)
def test_pretty_receiver_shows_an_update_as_a_new_location(lab):
    """For a person (receive --pretty) an update is the same alarm's new
    place, never a new alarm."""
    env = lab.env()
    env.sections = {"location": {"min_interval": 1}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    recv = lab.receiver(env, "contactpunt", pretty=True)
    pks = {rid: proto.b64d(r.public_key) for rid, r in env.recipients.items()}
    s = device_session(env)
    try:
        aid = s.send_alert("panic")["alert_id"]
        s.wait_receipt(aid, "delivered", timeout=10)
        ok = s.request(location_frame(s.key, env.device_id, aid, "panic", pks,
                                      lat=52.0123),
                       ("located", "error"))
        assert ok["type"] == "located", ok
    finally:
        s.close()
    recv.proc.wait_for(r"(NEW LOCATION|NIEUWE PLAATS)", "stdout", 10)
    recv.proc.wait_for(r"52\.012300, 5\.121400", "stdout", 10)
    heads = [l for l in recv.proc.snapshot("stdout")
             if l.startswith(("ALARM", "NEW LOCATION", "NIEUWE PLAATS"))]
    assert len(heads) == 2 and heads[0].startswith("ALARM"), heads


@pytest.mark.hard_timeout(120)
def test_a_later_position_cannot_pass_as_the_alert(lab):
    """A relay (or whoever holds Redis and the webhook secret) that takes
    a sealed later position and sends it as alert.raised would show the
    alert as raised at the fix's time, with the new position: the device
    signs inside each update that it is one, and the receiver refuses it
    as an alert (422), while it takes it as what it is."""
    env, _relay, recv, _ = follow_env(lab)
    send = lab.send_proc(env, "--type", "threat", "--lat", FIXED[0], "--lon",
                         FIXED[1], "--follow", "--follow-interval", "1")
    aid = alert_id_of(send)
    harness.wait_until(lambda: len(locations(recv)) >= 1, 30,
                       what="an alert.location:\n" + recv.proc.tail())
    fields = alert_hash(lab, env, aid)
    box = next(k for k in fields if k.startswith("ct:@")
               and k.endswith(":contactpunt"))
    # ct:@N is "created_at|recipients" of update N
    created_at = fields[box.rsplit(":", 1)[0]].split("|", 1)[0]
    for kind, want in (("alert.raised", 422), ("alert.location", 200)):
        body = json.loads(proto.webhook_body(aid, env.device_id, "threat",
                                             created_at, "contactpunt",
                                             fields[box]))
        body["type"] = kind
        body = json.dumps(body, separators=(",", ":")).encode()
        msg_id = "msg_relabel_" + kind
        ts = str(int(time.time()))
        key = proto.whsec_key(env.recipients["contactpunt"].secret_text)
        headers = {"webhook-id": msg_id, "webhook-timestamp": ts,
                   "webhook-signature": proto.webhook_signature(
                       key, msg_id, ts, body),
                   "content-type": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", recv.port, timeout=10)
        try:
            conn.request("POST", "/hook", body, headers)
            status = conn.getresponse().status
        finally:
            conn.close()
        assert status == want, (kind, status, recv.proc.tail())
    recv.proc.wait_for(r"a later position presented as an alert", "stderr", 10)
    assert len(raised(recv)) == 1
    cancel(lab, env, aid)
    assert send.wait_exit(20) == 0, send.text()
