"""Redis memory per alert (make bench, issue 15): while the alert is
open, once it is closed, and after the [retention] periods.

A relay of its own with short periods (seconds) and webhook receivers
that answer 200; N alerts sent by one device session and cancelled, in
two rounds: the first warms Redis up (its dictionaries, script cache and
stream nodes grow once and stay), the second is measured from where the
first left off.  The figures are Redis's dataset bytes (MEMORY STATS:
used memory without client buffers and the like) per alert, and the keys
left that name an alert.  With the default periods the same holds after
those periods instead of seconds: the classes are the same."""

import os
import time
from pathlib import Path

import harness

PERIODS = {"alert_content": 2, "alert_history": 4, "device_index": 4,
           "dead_letters": 4, "sms_references": 4, "audit_log": 6,
           "sweep_interval": 1}
PFX = "alertrelay:"


def _dataset(r):
    st = r("MEMORY", "STATS")
    d = dict(zip(st[::2], st[1::2]))
    return int(d["dataset.bytes"])


def _settle(r, seconds=0.5):
    time.sleep(seconds)
    return _dataset(r)


def _gone(r, env, ids):
    """Nothing of these alerts is left, nor of the audit records about
    them (a few of the relay's own may be)."""
    keys = r("KEYS", PFX + "*")
    left = [k for k in keys if k.rsplit(":", 1)[-1] in ids or
            k.startswith(PFX + "ref:")]
    done = (not left and r("XLEN", PFX + "alerts") == 0 and
            not r("EXISTS", PFX + "device:" + env.device_id) and
            r("ZCARD", PFX + "retire:index") == 0 and
            r("ZCARD", PFX + "retire:content") == 0 and
            r("ZCARD", PFX + "retire:stream") == 0 and
            r("XLEN", PFX + "audit:relay-a") <= 5)
    return done, left


def _round(r, s, env, n):
    """One round: the dataset with n alerts open, closed, and after the
    periods; and the keys left."""
    aids = [s.send_alert("panic")["alert_id"] for _ in range(n)]
    for a in aids:  # receipts are read as they are waited for
        s.wait_receipt(a, "delivered", timeout=30)
    harness.wait_until(lambda: r("XLEN", PFX + "deliveries") == 0, 30,
                       what="every notification made")
    open_b = _settle(r)
    for a in aids:
        s.cancel(a)
    closed_b = _settle(r, 1.0)
    ids, left = set(aids), None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, left = _gone(r, env, ids)
        if done:
            break
        time.sleep(0.5)
    return open_b, closed_b, _settle(r), left


def measure(work, n=200):
    work = Path(work)
    env = harness.make_env(work / "mem-env")
    recs = []
    for r in env.recipients.values():
        rec = harness.WebhookRecorder(r.secret_text).start()
        r.webhook_port = rec.port
        recs.append(rec)
    env.write_relay_conf()
    with open(env.relay_conf, "a") as f:
        f.write("\n[retention]\n" + "".join(
            "%s = %d\n" % kv for kv in PERIODS.items()))
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env.dir)
    redis = harness.RedisServer(work, port=env.redis_port,
                                name="redis-mem").start()
    relay = harness.Relay(env, work / "logs-mem", name="alertrelayd-mem")
    s = None
    try:
        relay.start()
        r = redis.client()
        s = harness.device_session(env)
        _round(r, s, env, n)  # warm-up
        base = _settle(r)
        open_b, closed_b, after_b, left = _round(r, s, env, n)
        return {"alerts": n, "base_bytes": base,
                "open_bytes_per_alert": (open_b - base) / n,
                "closed_bytes_per_alert": (closed_b - base) / n,
                "after_bytes_per_alert": (after_b - base) / n,
                "keys_left": len(left or []), "periods": PERIODS}
    finally:
        if s is not None:
            s.close()
        relay.stop()
        redis.stop()
        for rec in recs:
            rec.stop()


def report(m):
    ok = m["keys_left"] == 0 and m["after_bytes_per_alert"] < 64
    return ("%s Redis memory per alert: open %.0f B, closed %.0f B, after "
            "the retention periods %.0f B (%d alerts, %d keys left; "
            "periods %s)" % (
                "ok  " if ok else "MISS", m["open_bytes_per_alert"],
                m["closed_bytes_per_alert"], m["after_bytes_per_alert"],
                m["alerts"], m["keys_left"],
                ", ".join("%s=%ss" % kv for kv in m["periods"].items())))
