"""Wire formats of alertrelay, written independently of the C code.

Crypto (libsodium through PyNaCl), the device protocol (TLS 1.3, 4-byte
big-endian length + JSON frames), envelopes, inner alerts and Standard
Webhooks signatures.  Tests use these to talk to the real daemon and the
real receiver without going through the other side's code.
"""

import base64
import ctypes
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import time

import nacl.bindings
import nacl.public
import nacl.signing

SIGCTX_ENVELOPE = b"alertrelay envelope v1\n"
SIGCTX_AUTH = b"alertrelay auth v1\n"
EXPORTER_LABEL = b"EXPORTER-alertrelay-auth"


def b64e(data):
    return base64.b64encode(data).decode("ascii")


def b64d(text):
    return base64.b64decode(text, validate=True)


def rfc3339_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_alert_id():
    return os.urandom(16).hex()


# ---------------------------------------------------------------- keys


def read_keyfile(path):
    with open(path, "rb") as f:
        return b64d(f.read().strip())


def device_signing_key(path):
    """An Ed25519 key from a device key file (libsodium's 64-byte secret
    key seed||pk, or a bare 32-byte seed)."""
    raw = read_keyfile(path)
    if len(raw) == 64:
        sk = nacl.signing.SigningKey(raw[:32])
        assert bytes(sk.verify_key) == raw[32:], "device key: pk half mismatch"
        return sk
    if len(raw) == 32:
        return nacl.signing.SigningKey(raw)
    raise ValueError("%s: %d bytes is not an Ed25519 secret key" % (path, len(raw)))


def recipient_private_key(path):
    raw = read_keyfile(path)
    if len(raw) == 64:  # sk || pk, tolerated
        raw = raw[:32]
    return nacl.public.PrivateKey(raw)


def whsec_key(text):
    text = text.strip()
    assert text.startswith("whsec_"), "webhook secret without whsec_ prefix"
    return b64d(text[len("whsec_"):])


# ---------------------------------------------------------------- alerts


def inner_alert(alert_id, device_id, alert_type, created_at, message=None,
                location=None):
    return {
        "alert_id": alert_id,
        "device_id": device_id,
        "alert_type": alert_type,
        "message": message,
        "location": location,
        "created_at": created_at,
    }


def seal(inner, signing_key, recipient_pk):
    """crypto_box_seal(crypto_sign(inner_json, sk), pk), base64."""
    if isinstance(inner, dict):
        inner = json.dumps(inner, separators=(",", ":")).encode()
    signed = signing_key.sign(inner)  # combined: sig || message
    if isinstance(recipient_pk, (bytes, bytearray)):
        recipient_pk = nacl.public.PublicKey(bytes(recipient_pk))
    return b64e(nacl.public.SealedBox(recipient_pk).encrypt(bytes(signed)))


def open_sealed(ciphertext_b64, recipient_sk, device_verify_key):
    """The inverse of seal(): returns the inner alert as a dict."""
    signed = nacl.public.SealedBox(recipient_sk).decrypt(b64d(ciphertext_b64))
    return json.loads(device_verify_key.verify(signed))


def envelope_bytes(alert_id, device_id, alert_type, created_at, recipients):
    """Canonical envelope JSON (sorted keys, compact), as jansson prints it.
    recipients: list of (id, ciphertext_b64)."""
    env = {
        "v": 1,
        "alert_id": alert_id,
        "device_id": device_id,
        "alert_type": alert_type,
        "created_at": created_at,
        "recipients": [{"id": r, "ciphertext": c} for r, c in recipients],
    }
    return json.dumps(env, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode()


def sign_envelope(env_bytes, signing_key):
    return signing_key.sign(SIGCTX_ENVELOPE + env_bytes).signature


def alert_frame(env_bytes, sig):
    return {"type": "alert", "envelope": b64e(env_bytes), "sig": b64e(sig)}


def build_alert(signing_key, device_id, recipient_pks, alert_type="test",
                message=None, location=None, alert_id=None, created_at=None):
    """A complete, valid alert frame. recipient_pks: {id: PublicKey|bytes}.
    Returns (frame, envelope_bytes, alert_id)."""
    alert_id = alert_id or new_alert_id()
    created_at = created_at or rfc3339_now()
    inner = inner_alert(alert_id, device_id, alert_type, created_at, message,
                        location)
    recips = [(rid, seal(inner, signing_key, pk))
              for rid, pk in recipient_pks.items()]
    env = envelope_bytes(alert_id, device_id, alert_type, created_at, recips)
    return alert_frame(env, sign_envelope(env, signing_key)), env, alert_id


# ---------------------------------------------------------------- webhooks


def webhook_signature(key, msg_id, ts, body):
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body,
                   hashlib.sha256).digest()
    return "v1," + b64e(mac)


def webhook_verify(key, headers, body):
    """True when webhook-signature carries a valid v1 signature."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return False
    want = webhook_signature(key, msg_id, ts, body)
    return any(hmac.compare_digest(s, want) for s in sigs.split(" "))


def webhook_body(alert_id, device_id, alert_type, created_at, recipient_id,
                 ciphertext, received_at=None):
    return json.dumps({
        "type": "alert.raised",
        "alert_id": alert_id,
        "device_id": device_id,
        "alert_type": alert_type,
        "created_at": created_at,
        "received_at": received_at or rfc3339_now(),
        "recipient_id": recipient_id,
        "ciphertext": ciphertext,
    }, separators=(",", ":")).encode()


# ---------------------------------------------------------------- TLS exporter
#
# Python 3.11's ssl module has no keying-material exporter (RFC 5705/8446
# 7.5), which device authentication binds to.  We call OpenSSL's
# SSL_export_keying_material on the SSL* that the ssl module holds.  The
# pointer sits right after PyObject_HEAD and the weakref to the socket in
# CPython's PySSLSocket; we check that by comparing SSL_get_SSL_CTX() with
# the SSL_CTX* held by the SSLContext before trusting it.

_libssl = None


def _lib():
    global _libssl
    if _libssl is None:
        lib = ctypes.CDLL("libssl.so.3")
        lib.SSL_export_keying_material.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p,
            ctypes.c_size_t, ctypes.c_int]
        lib.SSL_export_keying_material.restype = ctypes.c_int
        lib.SSL_get_SSL_CTX.argtypes = [ctypes.c_void_p]
        lib.SSL_get_SSL_CTX.restype = ctypes.c_void_p
        _libssl = lib
    return _libssl


def _ptr_at(obj, offset):
    return ctypes.c_void_p.from_address(id(obj) + offset).value


def export_keying_material(sslsock, label=EXPORTER_LABEL, length=32):
    lib = _lib()
    hdr = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    ssl_ptr = _ptr_at(sslsock._sslobj, hdr + ctypes.sizeof(ctypes.c_void_p))
    ctx_ptr = _ptr_at(sslsock.context, hdr)
    if not ssl_ptr or lib.SSL_get_SSL_CTX(ssl_ptr) != ctx_ptr:
        raise RuntimeError("cannot locate the SSL* of this ssl socket")
    out = ctypes.create_string_buffer(length)
    if lib.SSL_export_keying_material(ssl_ptr, out, length, label, len(label),
                                      None, 0, 0) != 1:
        raise RuntimeError("SSL_export_keying_material failed")
    return out.raw


# ---------------------------------------------------------------- device client


class Closed(Exception):
    """The peer closed the connection."""


class RawClient:
    """A device speaking the protocol by hand, for well- and ill-behaved
    sessions.  Every read is bounded by a timeout."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0,
                 tls_max=ssl.TLSVersion.TLSv1_3, source=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = tls_max
        if tls_max == ssl.TLSVersion.TLSv1_3:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        try:
            self.sock = ctx.wrap_socket(sock)
        except Exception:
            sock.close()
            raise
        self.timeout = timeout
        self.hello_frame = None

    # -- bytes
    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, obj):
        payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_raw(struct.pack(">I", len(payload)) + payload)

    def _read_exact(self, n, deadline):
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame from the relay in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(n - len(buf))
            except socket.timeout:
                raise TimeoutError("no frame from the relay in time")
            except (ssl.SSLError, ConnectionError) as e:
                raise Closed("connection lost: %s" % e)
            if not chunk:
                raise Closed("connection closed by the relay")
            buf += chunk
        return buf

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        (n,) = struct.unpack(">I", self._read_exact(4, deadline))
        assert 0 < n <= 1 << 20, "relay sent a frame of %d bytes" % n
        obj = json.loads(self._read_exact(n, deadline))
        assert isinstance(obj, dict) and isinstance(obj.get("type"), str), obj
        return obj

    def expect_closed(self, timeout=None):
        """True when the relay closes the connection (after any frames)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        extra = []
        for _ in range(16):
            try:
                extra.append(self.recv_frame(max(0.01, deadline - time.monotonic())))
            except Closed:
                return True
            except TimeoutError:
                return False
        return False

    # -- session
    def hello(self):
        self.hello_frame = self.recv_frame()
        return self.hello_frame

    def binding(self):
        return export_keying_material(self.sock)

    def auth(self, device_id, signing_key, binding=None, challenge=None):
        if self.hello_frame is None:
            self.hello()
        if challenge is None:
            challenge = b64d(self.hello_frame["challenge"])
        if binding is None:
            binding = self.binding()
        sig = signing_key.sign(SIGCTX_AUTH + challenge + binding).signature
        self.send_frame({"type": "auth", "device_id": device_id, "sig": b64e(sig)})
        return self.recv_frame()

    def request(self, obj, timeout=None):
        self.send_frame(obj)
        return self.recv_frame(timeout)

    def answer(self, obj, timeout=10):
        """The answer to obj: receipts the relay pushes meanwhile (for
        this device's earlier alerts) are not it and are skipped."""
        self.send_frame(obj)
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.1, deadline - time.monotonic()))
            if f.get("type") != "receipt":
                return f

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
