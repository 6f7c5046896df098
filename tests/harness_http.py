"""Test harness, HTTP: WebhookRecorder (a Python webhook receiver that
answers as told and records every attempt, headers, body, signature
check) and one-shot HTTP/HTTPS requests (TLS 1.3 only, for the ack
listener).  Part of tests/harness.py, which re-exports everything here.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness_proc import wait_until

class WebhookRecorder:
    """A webhook receiver in Python: answers with `statuses` in turn (then
    `default`), optionally after `delays` seconds, with `answer` as the
    body (bytes), and records every attempt (its "time", and "answered"
    once the answer went out or could not)."""

    def __init__(self, secret_text, statuses=(), default=200, delays=(),
                 port=0, answer=b""):
        from proto import whsec_key
        self.key = whsec_key(secret_text)
        self.statuses = list(statuses)
        self.default = default
        self.delays = list(delays)
        self.answer = answer
        self.attempts = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 1 << 20))
                with rec.lock:
                    i = len(rec.attempts)
                    status = rec.statuses[i] if i < len(rec.statuses) else rec.default
                    delay = rec.delays[i] if i < len(rec.delays) else 0
                    rec.attempts.append(rec._record(self, body, status))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(rec.answer)))
                    self.end_headers()
                    self.wfile.write(rec.answer)
                except OSError:
                    pass
                with rec.lock:
                    rec.attempts[i]["answered"] = time.monotonic()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    def _record(self, handler, body, status):
        from proto import webhook_verify
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        return {"time": time.monotonic(), "path": handler.path,
                "headers": headers, "body": body, "json": parsed,
                "sig_ok": webhook_verify(self.key, headers, body),
                "status": status}

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def snapshot(self):
        with self.lock:
            return list(self.attempts)

    def wait_attempts(self, n, timeout=15):
        wait_until(lambda: len(self.snapshot()) >= n, timeout,
                   what="%d webhook attempt(s) (have %d)" % (n, len(self.snapshot())))
        return self.snapshot()


def tls13_context(cafile):
    """Client context for the ack listener: TLS 1.3 only, trusting only
    the relay's own certificate, hostname (IP SAN) checked."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile=str(cafile))
    ctx.check_hostname = True
    return ctx


def https_request(port, method, path, headers=None, body=None, cafile=None,
                  timeout=10, context=None):
    """One HTTPS request to 127.0.0.1:port; returns (status, parsed JSON
    or None, raw body, TLS version, the peer's DER certificate)."""
    import http.client
    ctx = context or tls13_context(cafile)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                       context=ctx)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        version = conn.sock.version()
        peer = conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return resp.status, parsed, raw, version, peer


def http_request(port, method, path, timeout=10):
    """One plain HTTP request to 127.0.0.1:port: (status, JSON or None)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, None
