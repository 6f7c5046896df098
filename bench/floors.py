"""make bench: what this machine allows, measured in the same run, next to
the issue-16 targets the relay misses here, so that a MISS can be read
as the relay's cost or as the machine's floor.

- A fsync'd Redis write round trip: the bench's own redis-server
  (appendfsync always, as the relay's), one SET at a time with a pause
  between, as single alerts come, timed from Python on loopback.  Every
  single alert waits for one such round trip (its store script) before
  it is accepted, and Alertmanager for none.
- The burst's signature checks: N alerts need N Ed25519 verifications
  (the verify rate the bench measures on one core), whatever the relay
  does around them.  With every alert pressed at the same moment, the
  last can be checked no sooner than N / rate on one core, N / rate / 2
  on both, before any TLS, Redis or webhook work.
"""

import time

PROBE_N = 300
PROBE_GAP_S = 0.005
PROBE_VALUE = b"x" * 300  # about one alert's hash fields


def _pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def fsync_round_trip(client):
    """p50, p99, max in ms of PROBE_N SETs on a Redis with appendfsync
    always; client is harness.Resp."""
    ts = []
    for i in range(PROBE_N):
        t0 = time.perf_counter()
        client("SET", "bench:fsync-probe", PROBE_VALUE)
        ts.append((time.perf_counter() - t0) * 1000.0)
        time.sleep(PROBE_GAP_S)
    client("DEL", "bench:fsync-probe")
    return {"n": PROBE_N, "p50_ms": _pct(ts, 50), "p99_ms": _pct(ts, 99),
            "max_ms": max(ts)}


def burst_floor(n, verify_per_s, cores=2):
    """ms to verify n signatures on one core and on `cores`."""
    if not verify_per_s:
        return None
    one = 1000.0 * n / verify_per_s
    return {"alerts": n, "one_core_ms": one, "cores": cores,
            "all_cores_ms": one / cores}


def report(fl):
    lines = []
    rt = fl.get("fsync_round_trip")
    if rt:
        lines.append("     floor, single alert: a fsync'd Redis write round "
                     "trip alone (SET, appendfsync always, from Python) p50 "
                     "%.2f ms, p99 %.2f ms, max %.2f ms over %d" % (
                         rt["p50_ms"], rt["p99_ms"], rt["max_ms"], rt["n"]))
    bf = fl.get("burst")
    if bf:
        lines.append("     floor, burst: verifying its %d signatures alone "
                     "takes %.0f ms of one core, %.0f ms on %d cores (the "
                     "target: every alert's press-to-webhook under 20 ms)" % (
                         bf["alerts"], bf["one_core_ms"], bf["all_cores_ms"],
                         bf["cores"]))
    return "\n".join(lines)
