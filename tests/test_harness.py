"""The harness itself: checked against independent tools so that a failing
product test is not a harness bug.  These need no alertrelay binary."""

import http.client
import re
import socket
import ssl
import subprocess

import pytest

import harness
import proto

pytestmark = pytest.mark.needs()


def test_exporter_matches_openssl_s_client(tmp_path):
    """Our ctypes exporter gives the same keying material as OpenSSL's own
    `s_client -keymatexport` for the same TLS 1.3 session."""
    cert, key = harness.make_cert(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(10)
        port = ls.getsockname()[1]
        p = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
             "-keymatexport", proto.EXPORTER_LABEL.decode(),
             "-keymatexportlen", "32"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        try:
            conn, _ = ls.accept()
            s = ctx.wrap_socket(conn, server_side=True)
            mine = proto.export_keying_material(s).hex().upper()
            s.sendall(b"x\n")
            out, _ = p.communicate(b"", timeout=10)
            s.close()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
    m = re.search(r"Keying material: ([0-9A-F]{64})", out.decode())
    assert m, out.decode()[-2000:]
    assert mine == m.group(1)


def test_recorder_checks_signatures_and_answers_in_turn(tmp_path):
    secret = "whsec_" + proto.b64e(b"k" * 32)
    rec = harness.WebhookRecorder(secret, statuses=[500]).start()
    try:
        body = b'{"type":"alert.raised"}'
        key = proto.whsec_key(secret)
        good = proto.webhook_signature(key, "msg_1", "1700000000", body)
        got = []
        for sig in (good, good.replace("v1,", "v1,A"), good):
            c = http.client.HTTPConnection("127.0.0.1", rec.port, timeout=5)
            c.request("POST", "/hook", body, {
                "webhook-id": "msg_1", "webhook-timestamp": "1700000000",
                "webhook-signature": sig, "content-type": "application/json"})
            got.append(c.getresponse().status)
            c.close()
        attempts = rec.wait_attempts(3, timeout=5)
    finally:
        rec.stop()
    assert got == [500, 200, 200]
    assert [a["sig_ok"] for a in attempts] == [True, False, True]


def test_redis_server_aof_pause_and_restart(tmp_path):
    r = harness.RedisServer(tmp_path).start()
    try:
        c = r.client()
        assert c("CONFIG", "GET", "appendfsync")[1] == "always"
        assert c("CONFIG", "GET", "appendonly")[1] == "yes"
        c("XADD", "t:alerts", "*", "alert_id", "abc")
        c.close()
        r.pause()
        with pytest.raises(OSError):
            c2 = harness.Resp(r.port, timeout=0.5)
            c2("PING")
        r.resume()
        assert r.kill() == -9
        r.start()
        c = r.client()
        assert c.xrange("t:alerts")[0][1] == {"alert_id": "abc"}
        c.close()
    finally:
        r.stop()
    assert not r.proc.running()


def test_proc_wait_for_is_bounded(tmp_path):
    p = harness.Proc(["sleep", "30"], "sleeper", tmp_path).start()
    try:
        with pytest.raises(TimeoutError):
            p.wait_for("never", timeout=0.3)
    finally:
        assert p.stop(timeout=2) == -15
    q = harness.Proc(["sh", "-c", "echo ready >&2; exit 3"], "quick", tmp_path).start()
    q.wait_for("ready", timeout=5)
    with pytest.raises(harness.ProcessExited):
        q.wait_for("never", timeout=5)
    assert q.wait_exit(5) == 3


def test_python_crypto_roundtrip():
    import nacl.public
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    rk = nacl.public.PrivateKey.generate()
    inner = proto.inner_alert("a" * 32, "mayor-a", "panic", proto.rfc3339_now(),
                              "hulp", {"lat": 52.1, "lon": 5.1, "accuracy_m": 10})
    ct = proto.seal(inner, sk, bytes(rk.public_key))
    assert len(proto.b64d(ct)) >= 48 + 64 + 2
    assert proto.open_sealed(ct, rk, sk.verify_key) == inner
    with pytest.raises(Exception):
        proto.open_sealed(ct, nacl.public.PrivateKey.generate(), sk.verify_key)


def test_lab_notices_sanitizer_reports(tmp_path):
    lab = harness.Lab(tmp_path)
    p = lab.spawn(["sh", "-c", "echo '==1==ERROR: AddressSanitizer: heap-use-after-free' >&2"],
                  "asan-demo")
    assert p.wait_exit(5) == 0
    q = lab.spawn(["sh", "-c", "echo all fine >&2"], "clean")
    assert q.wait_exit(5) == 0
    reports = lab.sanitizer_reports()
    lab.close()
    assert len(reports) == 1 and "asan-demo" in reports[0]


def test_free_port_avoids_ephemeral_range_and_repeats():
    """free_port() never hands out a port an outgoing connection could take
    meanwhile (the kernel's ephemeral range), nor the same port twice: CI once
    failed with Redis unable to bind a port from bind(0) that a client had
    taken as its local port in between."""
    lo, hi = harness._ephemeral_range()
    ports = [harness.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    for p in ports:
        assert not lo <= p <= hi, p
        with socket.socket() as s:  # and it is bindable right now
            s.bind(("127.0.0.1", p))
