"""What one operator's page costs alertconsole with a long history: the
console's event loop is single-threaded, so every request's time is time
no other page, event stream or webhook is served.

Fills a console's database, through its own HTTP interface (webhooks
signed and sealed as the relay sends them, claims and closures by a
supervisor), with --closed closed alerts and --open open ones, then times:
GET /api/alerts (the queue, what every page loads on every change),
GET /api/alert/ID (one alert's page), GET /metrics (a Prometheus
scrape) with nothing new and right after a claim (a change since the
last scrape), GET /api/alerts again after --notices device.offline and
device.online notices of --devices devices (its "offline" list: the
devices offline now; and that list's query alone, on the database),
and an export of the whole period with the
longest stall of GET /api/session (a cheap request) while it runs: how
long the loop was held.

    ALERTRELAY_BUILD=$PWD/build /usr/bin/python3 bench/console_queue.py \\
        [--closed 5000] [--open 50] [--rounds 20] [--notices 5000] \\
        [--devices 100]

Point ALERTRELAY_BUILD at another build to compare (the figures of the
change that made the queue follow the open alerts are in its commit
message).  A measurement, not a test: nothing here fails on a figure."""

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import harness  # noqa: E402
import proto  # noqa: E402
from test_console import Console, RID, make_webhook, resign  # noqa: E402

SUPER = "Kees Bakker"


def timed(c, path):
    t = time.monotonic()
    status, _, body = c.get(path)
    assert status == 200, (path, status)
    return (time.monotonic() - t) * 1000, body


def fill(env, c, closed, open_):
    ids = []
    for i in range(closed + open_):
        headers, body, inner = make_webhook(env, RID, alert_type="test",
                                            message="melding %d" % i)
        assert c.hook(headers, body) == 200
        aid = inner["alert_id"]
        if i < closed:
            assert c.post("/api/alert/%s/claim" % aid)[0] == 200
            assert c.post("/api/alert/%s/close" % aid,
                          {"outcome": "test", "note": ""})[0] == 200
        ids.append(aid)
        if (i + 1) % 1000 == 0:
            print("  %d alerts stored" % (i + 1), file=sys.stderr)
    return ids


def notices(env, c, n, devices):
    """n notices over devices devices, each device alternately offline
    and online (created_at one second apart, in the past), then every
    other device offline once more: devices // 2 offline now."""
    devs = [os.urandom(16).hex() for _ in range(devices)]
    t0 = int(time.time()) - n - devices - 60
    kinds = ("device.offline", "device.online")
    todo = [(devs[i % devices], kinds[(i // devices) % 2]) for i in range(n)]
    todo += [(devs[d], "device.offline") for d in range(0, devices, 2)]
    if (n // devices) % 2 == 1:  # the last pass left them offline
        todo += [(devs[d], "device.online") for d in range(1, devices, 2)]
    for i, (dev, kind) in enumerate(todo):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i))
        event_id = proto.new_alert_id()
        b = json.dumps({"type": kind, "alert_id": event_id,
                        "recipient_id": RID, "device_id": dev,
                        "created_at": at, "received_at": at,
                        "last_seen": at, "interval_s": "60"},
                       separators=(",", ":")).encode()
        assert c.hook(resign(env, b, "msg_" + event_id), b) == 200
    return devices // 2


# What the console runs for the offline list: from the table of each
# device's state when the build has one, else (before it) grouped over
# every notice stored, as console_offline.c did.
OFFLINE_SQL = ("SELECT recipient_id, device_id, last_seen, since FROM "
               "device_state WHERE offline = 1 ORDER BY since LIMIT 100")
OFFLINE_SQL_BEFORE = (
    "SELECT recipient_id, dev, last_seen, created FROM (SELECT "
    "recipient_id, type, json_extract(CAST(body AS TEXT), '$.device_id') "
    "AS dev, json_extract(CAST(body AS TEXT), '$.last_seen') AS last_seen,"
    " MAX(json_extract(CAST(body AS TEXT), '$.created_at')) AS created "
    "FROM webhook WHERE type IN ('device.offline', 'device.online') "
    "GROUP BY dev) WHERE type = 'device.offline' AND dev IS NOT NULL "
    "ORDER BY created LIMIT 100")


def offline_query_ms(c, rounds):
    """The offline list's query on the console's database (read-only,
    beside the running console), timed here: the page's request also
    opens and sorts the queue's alerts, which hides it."""
    d = sqlite3.connect("file:%s?mode=ro" % (c.state / "console.db"),
                        uri=True)
    try:
        new = d.execute("SELECT 1 FROM sqlite_master WHERE name = "
                        "'device_state'").fetchone()
        sql = OFFLINE_SQL if new else OFFLINE_SQL_BEFORE
        times = []
        for _ in range(rounds):
            t = time.monotonic()
            d.execute(sql).fetchall()
            times.append((time.monotonic() - t) * 1000)
        return statistics.median(times)
    finally:
        d.close()


def scrape(mport):
    t = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=60)
    conn.request("GET", "/metrics")
    assert conn.getresponse().read()
    conn.close()
    return (time.monotonic() - t) * 1000


def stall_during_export(c, since):
    """The longest GET /api/session while an export of everything runs."""
    done = threading.Event()
    result = {}

    def export():
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=600)
        t = time.monotonic()
        conn.request("GET", "/api/export?from=%d&to=%d&format=json"
                     % (since, int(time.time()) + 60), headers=c.auth())
        r = conn.getresponse()
        body = r.read()
        result["ms"] = (time.monotonic() - t) * 1000
        result["alerts"] = len(json.loads(body)["alerts"])
        conn.close()
        done.set()

    th = threading.Thread(target=export)
    th.start()
    worst, n = 0.0, 0
    while not done.is_set() and n < 100000:
        worst = max(worst, timed(c, "/api/session")[0])
        n += 1
    th.join(600)
    return result, worst, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--closed", type=int, default=5000)
    ap.add_argument("--open", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--notices", type=int, default=5000)
    ap.add_argument("--devices", type=int, default=100)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        lab = harness.Lab(tmp)
        try:
            env = lab.env()
            since = int(time.time()) - 60
            # one loopback client makes every request: no rate limit
            mport = harness.free_port()
            c = Console(lab, env, extra={
                "conn_rate": 0,
                "metrics_listen": "127.0.0.1:%d" % mport}).start()
            c.add_user(SUPER, role="supervisor")
            c.login(SUPER)
            t = time.monotonic()
            ids = fill(env, c, a.closed, a.open)
            print("filled: %d closed, %d open in %.0f s" % (
                a.closed, a.open, time.monotonic() - t))
            times, body = [], b""
            for _ in range(a.rounds):
                ms, body = timed(c, "/api/alerts")
                times.append(ms)
            listed = json.loads(body)["alerts"]
            print("GET /api/alerts: median %.1f ms, max %.1f ms, %d alerts "
                  "listed (%d open), %d bytes" % (
                      statistics.median(times), max(times), len(listed),
                      sum(1 for x in listed if x["state"] != "closed"),
                      len(body)))
            one = [timed(c, "/api/alert/%s" % ids[-1])[0]
                   for _ in range(a.rounds)]
            print("GET /api/alert/ID: median %.2f ms" % statistics.median(one))
            mt = [scrape(mport) for _ in range(a.rounds)]
            print("GET /metrics: first %.1f ms, then median %.1f ms" % (
                mt[0], statistics.median(mt[1:] or mt)))
            # each round a claim (a change the histograms show), then a
            # scrape
            mc = []
            for aid in ids[a.closed:a.closed + a.rounds]:
                assert c.post("/api/alert/%s/claim" % aid)[0] == 200
                mc.append(scrape(mport))
            if mc:
                print("GET /metrics after a claim: median %.1f ms, max "
                      "%.1f ms (%d rounds)" % (statistics.median(mc),
                                               max(mc), len(mc)))
            if a.notices > 0 and a.devices > 0:
                t = time.monotonic()
                want = notices(env, c, a.notices, a.devices)
                print("stored %d device notices in %.0f s" % (
                    a.notices, time.monotonic() - t))
                times = []
                for _ in range(a.rounds):
                    ms, body = timed(c, "/api/alerts")
                    times.append(ms)
                off = json.loads(body)["offline"]
                assert len(off) == min(want, 100), (len(off), want)
                print("GET /api/alerts with %d device notices: median "
                      "%.1f ms, max %.1f ms, %d devices offline" % (
                          a.notices, statistics.median(times), max(times),
                          len(off)))
                print("the offline list's query alone: median %.2f ms" %
                      offline_query_ms(c, a.rounds))
            r, worst, n = stall_during_export(c, since)
            print("export of %d alerts: %.0f ms; meanwhile %d GET "
                  "/api/session, the slowest %.0f ms" % (
                      r.get("alerts", 0), r.get("ms", 0), n, worst))
        finally:
            lab.close()


if __name__ == "__main__":
    main()
