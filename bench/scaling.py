"""make bench: the durable-ingest burst with [relay] workers = 1 and
= 2 (issue 16: the relay uses every core it is given).

Each run is a relay of its own (run.setup: the same production limits,
Redis with appendfsync always) with as many devices as alerts in the
burst, all connected first; then the loadgen fires one alert per device
at once, built beforehand, and times each until accepted and until its
webhook came.  Nothing else runs (no single alerts, no storm, no
Alertmanager), so the two runs differ only in the number of workers.

On a 2-core machine the second worker cannot double the rate: the
loadgen (sealing, TLS) and Redis (the fsync'd script) need the same two
cores, and Redis is one thread for both workers."""

import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path

import harness

BURST_DEADLINE_S = 180  # the loadgen is killed after this


def measure(loadgen, n, workers, setup, tree_cpu_s, cpu_s):
    """The burst's figures with this many workers: the loadgen's ingest
    object plus the relay's and Redis's CPU per accepted alert.  setup,
    tree_cpu_s and cpu_s are run.py's."""
    with tempfile.TemporaryDirectory(prefix="alertrelay-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        hook_port = harness.free_port()
        env, seed = setup(work, loadgen, n, hook_port, workers=workers)
        redis = harness.RedisServer(work, port=env.redis_port).start()
        relay = harness.Relay(env, work / "logs")
        lg, res, cpu = None, None, {}
        try:
            relay.start()
            if workers > 1:
                relay.proc.wait_for(r"all %d workers ready" % workers,
                                    timeout=30)
            pid, rpid = relay.proc.popen.pid, redis.proc.popen.pid
            lg = subprocess.Popen(
                [loadgen, "run", "--port", str(env.relay_port),
                 "--hook-port", str(hook_port), "--devices", str(n),
                 "--seed", seed, "--sources", "200", "--hold", "1",
                 "--latency", "0", "--ingest", str(n)],
                stdout=subprocess.PIPE, text=True)
            watchdog = threading.Timer(BURST_DEADLINE_S, lg.kill)
            watchdog.daemon = True  # a bench stopped early exits at once
            watchdog.start()
            for line in lg.stdout:
                if line.startswith("ingest "):
                    cpu[line.split()[1]] = (tree_cpu_s(pid), cpu_s(rpid))
                elif line.startswith("{"):
                    res = json.loads(line)
            lg.wait(timeout=60)
            watchdog.cancel()
        finally:
            if lg is not None and lg.poll() is None:
                lg.kill()
                lg.wait()
            relay.stop()
            redis.stop()
    if res is None:
        return {"workers": workers, "error": "the loadgen printed no result"}
    ing = res["ingest"]
    ing["workers"] = workers
    ing["connected"] = res["connected"]
    if "fired" in cpu and "answered" in cpu and ing["accepted"]:
        ing["relay_cpu_us"] = 1e6 * (cpu["answered"][0] -
                                     cpu["fired"][0]) / ing["accepted"]
        ing["redis_cpu_us"] = 1e6 * (cpu["answered"][1] -
                                     cpu["fired"][1]) / ing["accepted"]
    return ing


def report(runs):
    """Lines for the table: each run, then the ratio 2 / 1."""
    lines = ["durable ingest, 1 vs 2 workers (a burst of one alert per "
             "connected device, each run a fresh relay):"]
    for r in runs:
        if "error" in r:
            lines.append("     workers=%d: %s" % (r["workers"], r["error"]))
            continue
        acc = r.get("accepted_latency", {})
        hook = r.get("webhook_latency", {})
        lines.append(
            "     workers=%d: %d of %d accepted at %.0f/s, delivered at "
            "%.0f/s; press-to-accepted p50 %s p99 %s ms; press-to-webhook "
            "p99 %s ms; CPU per alert relay %s us, Redis %s us" % (
                r["workers"], r["accepted"], r["sent"], r["per_s"],
                r.get("delivered_per_s", 0), fmt(acc.get("p50_ms")),
                fmt(acc.get("p99_ms")), fmt(hook.get("p99_ms")),
                fmt(r.get("relay_cpu_us"), 0), fmt(r.get("redis_cpu_us"), 0)))
    ok = [r for r in runs if "error" not in r and r["per_s"] > 0]
    if len(ok) == 2:
        lines.append("     ratio workers=2 / workers=1: accepted/s %.2f, "
                     "delivered/s %.2f (%d cores here, shared with the "
                     "loadgen and Redis)" % (
                         ok[1]["per_s"] / ok[0]["per_s"],
                         ok[1].get("delivered_per_s", 0) /
                         max(ok[0].get("delivered_per_s", 0), 1e-9),
                         os.cpu_count()))
    return "\n".join(lines)


def ratio(runs):
    ok = [r for r in runs if "error" not in r and r["per_s"] > 0]
    return ok[1]["per_s"] / ok[0]["per_s"] if len(ok) == 2 else None


def fmt(v, digits=2):
    return "?" if v is None else "%.*f" % (digits, v)
