"""`alertctl receive` on its own: webhooks made in Python (tests/proto.py)
exactly as the relay should send them, then bent one way at a time.  A
refused webhook gets its status code and prints nothing on stdout."""

import http.client
import json
import time

import nacl.public
import nacl.signing
import pytest

import harness
import proto
from helpers import device_key, recipient_pks, still

pytestmark = pytest.mark.needs("alertctl")

RID = "contactpunt"
LOCATION = {"lat": 52.0907, "lon": 5.1214, "accuracy_m": 15}


def make_webhook(env, rid=RID, alert_type="panic", message="Hulp nodig, voordeur",
                 location=LOCATION, signer=None, seal_to=None, inner=None,
                 outer=None, secret=None, ts=None, msg_id=None):
    alert_id = proto.new_alert_id()
    created_at = proto.rfc3339_now()
    signer = signer or device_key(env)
    i = proto.inner_alert(alert_id, env.device_id, alert_type, created_at,
                          message, location)
    i.update(inner or {})
    pk = seal_to or recipient_pks(env)[rid]
    ct = proto.seal(i, signer, pk)
    o = json.loads(proto.webhook_body(alert_id, env.device_id, alert_type,
                                      created_at, rid, ct))
    o.update(outer or {})
    body = json.dumps(o, separators=(",", ":")).encode()
    msg_id = msg_id or "msg_" + alert_id + "_" + rid
    ts = str(int(time.time()) if ts is None else ts)
    key = proto.whsec_key(secret or env.recipients[rid].secret_text)
    headers = {"webhook-id": msg_id, "webhook-timestamp": ts,
               "webhook-signature": proto.webhook_signature(key, msg_id, ts, body),
               "content-type": "application/json"}
    return headers, body, i


def post(port, headers, body, path="/hook", method="POST"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body, headers)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


@pytest.fixture
def rx(lab):
    env = lab.env()
    recv = lab.receiver(env, RID)
    return env, recv


def test_valid_webhook_printed_once(rx):
    env, recv = rx
    headers, body, inner = make_webhook(env)
    assert post(recv.port, headers, body) == 200
    out = recv.wait_alerts(1, timeout=5)
    assert len(out) == 1
    a = out[0]
    o = json.loads(body)
    assert a["verified"] is True
    assert a["webhook_id"] == headers["webhook-id"]
    assert a["type"] == "alert.raised"
    for k in ("alert_id", "device_id", "alert_type", "created_at"):
        assert a[k] == inner[k], k
    assert a["received_at"] == o["received_at"]
    assert a["recipient_id"] == RID
    assert a["message"] == inner["message"]
    assert a["location"]["lat"] == pytest.approx(LOCATION["lat"])
    assert a["location"]["lon"] == pytest.approx(LOCATION["lon"])
    assert a["location"]["accuracy_m"] == pytest.approx(LOCATION["accuracy_m"])
    # the same webhook again (a relay retry): acknowledged, not printed again
    status = post(recv.port, headers, body)
    assert 200 <= status < 300, status
    assert still(lambda: len(recv.proc.snapshot("stdout")), 1.0) == [1]


def test_null_message_and_location_and_unicode(rx):
    env, recv = rx
    h1, b1, _ = make_webhook(env, alert_type="test", message=None, location=None)
    h2, b2, _ = make_webhook(env, message="Brand! \u00e9\u00e9n \u2014 \U0001F6A8 \"quoted\"\n2e regel")
    assert post(recv.port, h1, b1) == 200
    assert post(recv.port, h2, b2) == 200
    a, b = recv.wait_alerts(2, timeout=5)
    assert a["message"] is None and a["location"] is None and a["alert_type"] == "test"
    assert b["message"] == "Brand! \u00e9\u00e9n \u2014 \U0001F6A8 \"quoted\"\n2e regel"


def _refused(env, recv, headers, body, want):
    status = post(recv.port, headers, body)
    assert status in want, "status %d, want %s" % (status, want)
    # the receiver still takes a good one afterwards, and that is the
    # first line it prints: the refused one was not printed before it
    # (an order, not "nothing within a short sleep")
    h, b, good = make_webhook(env)
    assert post(recv.port, h, b) == 200
    recv.wait_alerts(1, timeout=5)
    assert [a["alert_id"] for a in recv.alerts()] == [good["alert_id"]], \
        "refused webhook printed: %r" % recv.proc.snapshot("stdout")
    # the reason went to stderr
    assert len(recv.proc.snapshot("stderr")) >= 2, recv.proc.text()


def test_tampered_body(rx):
    env, recv = rx
    h, b, _ = make_webhook(env)
    b = b.replace(b'"panic"', b'"test"', 1)
    _refused(env, recv, h, b, (401,))


def test_tampered_webhook_id(rx):
    env, recv = rx
    h, b, _ = make_webhook(env)
    h["webhook-id"] = h["webhook-id"] + "x"
    _refused(env, recv, h, b, (401,))


def test_wrong_webhook_secret(rx):
    env, recv = rx
    h, b, _ = make_webhook(env, secret="whsec_" + proto.b64e(b"s" * 32))
    _refused(env, recv, h, b, (401,))


def test_missing_signature_header(rx):
    env, recv = rx
    h, b, _ = make_webhook(env)
    del h["webhook-signature"]
    _refused(env, recv, h, b, (400, 401))


@pytest.mark.parametrize("skew", [-600, 600, -301], ids=["old", "future", "just-stale"])
def test_stale_timestamp(rx, skew):
    env, recv = rx
    h, b, _ = make_webhook(env, ts=int(time.time()) + skew)
    _refused(env, recv, h, b, (400,))


def test_malformed_body(rx):
    env, recv = rx
    msg_id, ts = "msg_malformed", str(int(time.time()))
    body = b'{"type":"alert.raised",'
    key = proto.whsec_key(env.recipients[RID].secret_text)
    h = {"webhook-id": msg_id, "webhook-timestamp": ts,
         "webhook-signature": proto.webhook_signature(key, msg_id, ts, body)}
    _refused(env, recv, h, body, (400,))


def test_sealed_to_another_key(rx):
    env, recv = rx
    other = bytes(nacl.public.PrivateKey.generate().public_key)
    h, b, _ = make_webhook(env, seal_to=other)
    _refused(env, recv, h, b, (422,))


def test_sealed_to_the_other_recipient(rx):
    env, recv = rx
    h, b, _ = make_webhook(env, seal_to=recipient_pks(env)["oncall-1"])
    _refused(env, recv, h, b, (422,))


def test_signed_by_another_device_key(rx):
    env, recv = rx
    h, b, _ = make_webhook(env, signer=nacl.signing.SigningKey.generate())
    _refused(env, recv, h, b, (422,))


@pytest.mark.parametrize("where,field,value", [
    ("inner", "alert_type", "test"),
    ("inner", "alert_id", "0" * 32),
    ("inner", "device_id", "mayor-b"),
    ("inner", "created_at", "2020-01-01T00:00:00Z"),
    ("outer", "alert_type", "threat"),
])
def test_inner_outer_mismatch(rx, where, field, value):
    env, recv = rx
    kw = {where: {field: value}}
    h, b, _ = make_webhook(env, **kw)
    _refused(env, recv, h, b, (422,))


def test_unknown_device(rx):
    env, recv = rx
    h, b, _ = make_webhook(env, outer={"device_id": "mayor-zz"},
                           inner={"device_id": "mayor-zz"})
    _refused(env, recv, h, b, (400, 422))


def test_ciphertext_not_base64(rx):
    env, recv = rx
    h, b, _ = make_webhook(env, outer={"ciphertext": "%%%not base64%%%"})
    _refused(env, recv, h, b, (400, 422))


def test_no_200_when_the_alert_cannot_be_written(lab):
    """200 means "written": with stdout on /dev/full the receiver must not
    acknowledge, so the relay retries."""
    env = lab.env()
    r = env.recipients[RID]
    port = harness.free_port()
    cmd = "exec '%s' receive --listen 127.0.0.1:%d --key '%s' --secret '%s' " \
          "--devices '%s' >/dev/full" % (harness.alertctl_bin(), port, r.key,
                                         r.secret_file, env.devices_dir)
    p = lab.spawn(["sh", "-c", cmd], "receive-devfull")
    p.wait_for("listening on", "stderr", timeout=10)
    h, b, _ = make_webhook(env)
    try:
        status = post(port, h, b)
    except (ConnectionError, http.client.HTTPException):
        status = None  # dropping the request is also not an acknowledgement
    assert status is None or not 200 <= status < 300, status


def test_alert_from_a_revoked_device_is_marked(lab):
    """A device revoked in the signed directory (lost, stolen) may still
    have alerts on their way, so they are shown, but marked: in the JSON
    line and on the card, where the operator is told to call back on a
    known number."""
    env = lab.env()
    env.use_directory(1)
    recv = lab.receiver(env, RID)
    card = lab.receiver(env, RID, pretty=True, port=harness.free_port())
    headers, body, _ = make_webhook(env)
    assert post(recv.port, headers, body) == 200
    assert recv.wait_alerts(1, timeout=5)[0]["device_revoked"] is False
    env.sign_directory(2, revoked=[env.device_id])
    headers, body, _ = make_webhook(env)
    assert post(recv.port, headers, body) == 200
    assert recv.wait_alerts(2, timeout=5)[1]["device_revoked"] is True
    headers, body, _ = make_webhook(env)
    assert post(card.port, headers, body) == 200
    card.proc.wait_for(r"(this device is revoked|dit apparaat is "
                       r"ingetrokken) \((lost or stolen|verloren of "
                       r"gestolen)\?\)", "stdout", 5)


def test_alert_made_in_the_future_is_marked_early(lab):
    """A signed created_at ahead of the receiver's clock (beyond the
    skew clocks may have) is an alert let go before its time: a
    missed check-in a relay released early.  Marked, not refused."""
    env = lab.env()
    recv = lab.receiver(env, RID)
    card = lab.receiver(env, RID, pretty=True, port=harness.free_port())
    soon = proto.rfc3339_now()
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                          time.gmtime(time.time() + 600))
    for when, early in ((soon, False), (later, True)):
        headers, body, _ = make_webhook(env, inner={"created_at": when},
                                        outer={"created_at": when})
        assert post(recv.port, headers, body) == 200
    out = recv.wait_alerts(2, timeout=5)
    assert [a["early"] for a in out] == [False, True]
    headers, body, _ = make_webhook(env, inner={"created_at": later},
                                    outer={"created_at": later})
    assert post(card.port, headers, body) == 200
    card.proc.wait_for(r"(made 10 min from now|gemaakt over 10 min)",
                       "stdout", 5)


def test_a_flood_of_refused_webhooks_costs_a_few_log_lines(rx):
    """Anyone who reaches the listener can be refused at will: 200
    webhooks with a wrong signature give at most 20 lines (the budget of
    a window), and the receiver still takes a genuine one."""
    env, recv = rx
    headers, body, _ = make_webhook(env)
    bad = dict(headers, **{"webhook-signature": "v1,AAAA"})
    for _ in range(200):
        assert post(recv.port, bad, body) == 401
    assert post(recv.port, headers, body) == 200
    assert len(recv.wait_alerts(1, timeout=5)) == 1
    assert recv.proc.text("stderr").count("refused webhook") <= 20
