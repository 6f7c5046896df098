"""The relay's alertrelay_stage_seconds histograms (daemon/stage_metrics.c)
scraped before and after a load, and where the median and p99 of each
stage fall, interpolated within buckets as Prometheus's
histogram_quantile() does."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

NAME = "alertrelay_stage_seconds"
STAGES = ("verify", "store", "reply", "dispatch_read", "webhook_sent",
          "webhook_2xx")


def scrape(port):
    """{stage: [(le, cumulative count), ...]} from the relay's /metrics."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        if fam.name != NAME:
            continue
        for s in fam.samples:
            if s.name == NAME + "_bucket":
                out.setdefault(s.labels["stage"], []).append(
                    (float(s.labels["le"]), s.value))
    for v in out.values():
        v.sort()
    return out


def quantile(q, buckets):
    """histogram_quantile(q) over [(le, cumulative count)], seconds."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lo, below = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return lo  # beyond the last bound: its lower edge
            return lo + (le - lo) * ((rank - below) / (c - below)
                                     if c > below else 1.0)
        lo, below = le, c
    return lo


def delta(before, after):
    """Per stage: count, p50_ms, p99_ms over the observations made
    between two scrapes."""
    res = {}
    for st in STAGES:
        b = dict(before.get(st, []))
        d = [(le, c - b.get(le, 0)) for le, c in after.get(st, [])]
        n = d[-1][1] if d else 0
        p50, p99 = quantile(0.5, d), quantile(0.99, d)
        res[st] = {"n": int(n),
                   "p50_ms": None if p50 is None else 1000 * p50,
                   "p99_ms": None if p99 is None else 1000 * p99}
    return res


def report(title, stages):
    def ms(v):
        return "    -" if v is None else "%5.2f" % v
    lines = ["     where the time goes in the relay, %s (median, p99 "
             "in ms, from its histograms):" % title]
    for st in STAGES:
        s = stages[st]
        lines.append("       %-14s %s %s  (%d)" % (st, ms(s["p50_ms"]),
                                                 ms(s["p99_ms"]), s["n"]))
    return "\n".join(lines)
