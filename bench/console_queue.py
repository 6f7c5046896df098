"""What one operator's page costs alertconsole with a long history: the
console's event loop is single-threaded, so every request's time is time
no other page, event stream or webhook is served.

Fills a console's database, through its own HTTP interface (webhooks
signed and sealed as the relay sends them, claims and closures by a
supervisor), with --closed closed alerts and --open open ones, then times:
GET /api/alerts (the queue, what every page loads on every change),
GET /api/alert/ID (one alert's page), GET /metrics (a Prometheus
scrape: its histograms still read the whole history), and an export of the whole period
with the longest stall of GET /api/session (a cheap request) while it
runs: how long the loop was held.

    ALERTRELAY_BUILD=$PWD/build /usr/bin/python3 bench/console_queue.py \\
        [--closed 5000] [--open 50] [--rounds 20]

Point ALERTRELAY_BUILD at another build to compare (the figures of the
change that made the queue follow the open alerts are in its commit
message).  A measurement, not a test: nothing here fails on a figure."""

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import harness  # noqa: E402
from test_console import Console, RID, make_webhook  # noqa: E402

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
            mt = []
            for _ in range(a.rounds):
                t = time.monotonic()
                conn = http.client.HTTPConnection("127.0.0.1", mport,
                                                  timeout=60)
                conn.request("GET", "/metrics")
                assert conn.getresponse().read()
                conn.close()
                mt.append((time.monotonic() - t) * 1000)
            print("GET /metrics: first %.1f ms, then median %.1f ms" % (
                mt[0], statistics.median(mt[1:] or mt)))
            r, worst, n = stall_during_export(c, since)
            print("export of %d alerts: %.0f ms; meanwhile %d GET "
                  "/api/session, the slowest %.0f ms" % (
                      r.get("alerts", 0), r.get("ms", 0), n, worst))
        finally:
            lab.close()


if __name__ == "__main__":
    main()
