"""Test harness, SMS and device sessions: the phones' numbers, SmsClock
(when each SMS reached the phones), DeviceSession (a RawClient that keeps
pushed receipts) with device_session() and cancel_frame(), and the texts
the built-in SMS templates give.  sms_stack (tests/harness.py) puts them
together.  Part of tests/harness.py, which re-exports everything here.
"""

import json
import re
import threading
import time

from harness_proc import wait_until

SMS_FROM = "+3197010000000"  # the gateway's number
SMS_NUMBERS = {"contactpunt": "+31600000001", "oncall-1": "+31600000002"}


class SmsClock:
    """Records when each SMS first showed up at the phones (fakesmsc),
    polling every 20 ms in a thread: [(monotonic time, Sms)]."""

    def __init__(self, kannel, interval=0.02):
        self.kannel = kannel
        self.interval = interval
        self.seen = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self.stopping.is_set():
            msgs = self.kannel.mt_messages()
            now = time.monotonic()
            with self.lock:
                for m in msgs[len(self.seen):]:
                    self.seen.append((now, m))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)

    def snapshot(self, to=None, pred=None):
        with self.lock:
            out = list(self.seen)
        return [(t, m) for t, m in out
                if (to is None or m.receiver == to) and (pred is None or pred(m))]

    def wait(self, n=1, to=None, pred=None, timeout=15):
        """The first n (time, Sms) to `to` matching pred, within timeout."""
        wait_until(lambda: len(self.snapshot(to, pred)) >= n, timeout,
                   interval=0.02,
                   what="%d SMS to %s (have %s)" % (
                       n, to or "anyone",
                       [(m.receiver, m.text) for _, m in self.snapshot()]))
        return self.snapshot(to, pred)[:n]


class DeviceSession:
    """A RawClient after ready that keeps every frame the relay sends, so
    answers can be waited for while receipts keep arriving."""

    def __init__(self, client, env, device_id=None, signing_key=None):
        self.c = client
        self.env = env
        self.device_id = device_id or env.device_id
        self.key = signing_key
        self.frames = []
        self.taken = set()

    def _match(self, pred, take, start=0):
        for i, f in enumerate(self.frames):
            if i >= start and i not in self.taken and pred(f):
                if take:
                    self.taken.add(i)
                return f
        return None

    def wait(self, pred, timeout=10, what="frame", take=True, start=0):
        """The first frame (from index start) not yet taken that
        matches pred."""
        from proto import Closed
        deadline = time.monotonic() + timeout
        while True:
            f = self._match(pred, take, start)
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s within %ss; frames: %s" % (
                    what, timeout, self.frames))
            try:
                self.frames.append(self.c.recv_frame(min(left, 0.5)))
            except TimeoutError:
                pass
            except Closed as e:
                raise Closed("%s; waiting for %s; frames: %s" % (
                    e, what, self.frames))

    def drain(self, seconds):
        """Reads whatever comes for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.frames.append(self.c.recv_frame(
                    max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                pass
        return self.frames

    def receipts(self, alert_id, event=None):
        return [f for f in self.frames if f.get("type") == "receipt" and
                f.get("alert_id") == alert_id and
                (event is None or f.get("event") == event)]

    def wait_receipt(self, alert_id, event, timeout=10, **members):
        def pred(f):
            return (f.get("type") == "receipt" and
                    f.get("alert_id") == alert_id and f.get("event") == event
                    and all(f.get(k) == v for k, v in members.items()))
        return self.wait(pred, timeout, what="receipt %s %s %s" % (
            event, alert_id, members), take=False)

    def request(self, frame, answer_types, timeout=10):
        """Sends frame; returns the first later frame whose type is one
        of answer_types (receipts in between are kept)."""
        mark = len(self.frames)
        self.c.send_frame(frame)
        return self.wait(lambda f: f.get("type") in answer_types, timeout,
                         what="answer %s to %s" % (answer_types,
                                                   frame.get("type")),
                         start=mark)

    def send_alert(self, alert_type="panic", message=None, recipients=None,
                   timeout=10):
        """A new alert through this session; returns the accepted frame
        (alert_id, relay_id, ref, ...)."""
        from proto import b64d, build_alert
        pks = {rid: b64d(self.env.recipients[rid].public_key)
               for rid in (recipients or list(self.env.recipients))}
        frame, _, alert_id = build_alert(self.key, self.device_id, pks,
                                         alert_type=alert_type,
                                         message=message)
        acc = self.request(frame, ("accepted", "error"), timeout)
        assert acc.get("type") == "accepted" and acc.get("alert_id") == alert_id, acc
        return acc

    def cancel(self, alert_id, created_at=None, timeout=10):
        """A signed cancel; returns the relay's answer (cancelled or
        error)."""
        return self.request(cancel_frame(self.key, self.device_id, alert_id,
                                         created_at),
                            ("cancelled", "error"), timeout)

    def close(self):
        self.c.close()


SIGCTX_CANCEL = b"alertrelay cancel v1\n"


def cancel_frame(signing_key, device_id, alert_id, created_at=None):
    """{"type":"cancel","cancel":B64(CANCEL_JSON),"sig":B64(SIG)} as in
    docs/PROTOCOL.md: compact JSON with sorted keys, signed with the
    cancel context."""
    from proto import b64e, rfc3339_now
    body = json.dumps({"alert_id": alert_id,
                       "created_at": created_at or rfc3339_now(),
                       "device_id": device_id, "v": 1},
                      separators=(",", ":"), sort_keys=True).encode()
    sig = signing_key.sign(SIGCTX_CANCEL + body).signature
    return {"type": "cancel", "cancel": b64e(body), "sig": b64e(sig)}


def device_session(env, device_id=None, key_path=None, signing_key=None,
                   timeout=10):
    """hello/auth/ready as the enrolled device (or another one)."""
    from proto import RawClient, device_signing_key
    key = signing_key or device_signing_key(key_path or env.device_key)
    did = device_id or env.device_id
    c = RawClient(env.relay_port, timeout=timeout)
    try:
        c.hello()
        ready = c.auth(did, key)
        assert ready.get("type") == "ready" and ready.get("device_id") == did, ready
    except Exception:
        c.close()
        raise
    return DeviceSession(c, env, did, key)


SMS_TYPES = {"nl": {"panic": "PANIEK", "threat": "DREIGING", "test": "TEST"},
             "en": {"panic": "PANIC", "threat": "THREAT", "test": "TEST"}}


def sms_hhmm(rfc3339, tz="Europe/Amsterdam"):
    """HH:MM of an RFC 3339 UTC time, in tz, as the SMS texts show it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    t = datetime.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
    return t.strftime("%H:%M")


def sms_alert_text(alert_type, alias, ref, received_at,
                   tz="Europe/Amsterdam", escalated=False, language="nl"):
    """The SMS an alert gives with the built-in templates, written from
    the issue: metadata only, Dutch unless language = en."""
    head = "%s %s - %s - %s - ref %s." % (
        "ALARM" if language == "nl" else "ALERT",
        SMS_TYPES[language].get(alert_type, alert_type.upper()), alias,
        sms_hhmm(received_at, tz), ref)
    if language == "nl":
        return head + "%s Antwoord OK %s als u het oppakt." % (
            " Nog niet opgepakt." if escalated else "", ref)
    return head + "%s Reply OK %s if you take it." % (
        " Not taken yet." if escalated else "", ref)


def sms_taken_rx(ref, by, language="nl"):
    """What the others reached are sent when by took the alert."""
    if language == "nl":
        return r"Alarm %s is opgepakt door %s \(\d\d:\d\d\)\. U hoeft niets " \
               r"te doen\." % (ref, re.escape(by))
    return r"Alert %s was taken by %s \(\d\d:\d\d\)\. No action needed\." % (
        ref, re.escape(by))


def sms_confirmed_text(ref, language="nl"):
    """What the one who took the alert by SMS is sent."""
    if language == "nl":
        return "Bevestigd: u hebt alarm %s opgepakt." % ref
    return "Confirmed: you have taken alert %s." % ref


def sms_cancelled_rx(ref, language="nl"):
    if language == "nl":
        return r"Alarm %s is ingetrokken \(\d\d:\d\d\)\. U hoeft niets te " \
               r"doen\." % ref
    return r"Alert %s was cancelled \(\d\d:\d\d\)\. No action needed\." % ref
