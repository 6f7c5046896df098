"""The relay and Alertmanager side by side (issue 16): the same figures
of the same two loads, from the loadgen's one clock, with the ratio
relay / Alertmanager and the targets' verdicts."""

AM_RATE_TARGET = 1.5  # a burst: at least 1.5x Alertmanager's alerts/s
BURST_P99_TARGET_MS = 20.0  # a burst's per-alert press-to-webhook p99


def _get(d, *path):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


# (label, path in the relay's result, path in Alertmanager's, unit)
ROWS = [
    ("single alert, press to accepted p50", ("accepted", "p50_ms"),
     ("accepted", "p50_ms"), "ms"),
    ("single alert, press to accepted p99", ("accepted", "p99_ms"),
     ("accepted", "p99_ms"), "ms"),
    ("single alert, press to webhook p50", ("webhook", "p50_ms"),
     ("webhook", "p50_ms"), "ms"),
    ("single alert, press to webhook p99", ("webhook", "p99_ms"),
     ("webhook", "p99_ms"), "ms"),
    ("single alert, press to webhook max", ("webhook", "max_ms"),
     ("webhook", "max_ms"), "ms"),
    ("burst, accepted per second", ("ingest", "per_s"),
     ("burst", "per_s"), "/s"),
    ("burst, delivered (webhook) per second", ("ingest", "delivered_per_s"),
     ("burst", "delivered_per_s"), "/s"),
    ("burst, press to accepted p50", ("ingest", "accepted_latency", "p50_ms"),
     ("burst", "accepted_latency", "p50_ms"), "ms"),
    ("burst, press to accepted p99", ("ingest", "accepted_latency", "p99_ms"),
     ("burst", "accepted_latency", "p99_ms"), "ms"),
    ("burst, press to accepted max", ("ingest", "accepted_latency", "max_ms"),
     ("burst", "accepted_latency", "max_ms"), "ms"),
    ("burst, press to webhook p50", ("ingest", "webhook_latency", "p50_ms"),
     ("burst", "webhook_latency", "p50_ms"), "ms"),
    ("burst, press to webhook p99", ("ingest", "webhook_latency", "p99_ms"),
     ("burst", "webhook_latency", "p99_ms"), "ms"),
    ("burst, press to webhook max", ("ingest", "webhook_latency", "max_ms"),
     ("burst", "webhook_latency", "max_ms"), "ms"),
    # until the last webhook; the relay's with Redis's (its storage),
    # Alertmanager's own (storage in the process); the loadgen's in neither
    ("burst, CPU per alert", ("ingest", "cpu_us_delivered"),
     ("burst", "cpu_us"), "us"),
]


def rows(res):
    """[{what, unit, relay, alertmanager, ratio}] for bench.json."""
    am = res.get("alertmanager") or {}
    out = []
    for label, rp, ap, unit in ROWS:
        r, a = _get(res, *rp), _get(am, *ap)
        out.append({"what": label, "unit": unit, "relay": r,
                    "alertmanager": a,
                    "ratio": r / a if r is not None and a else None})
    return out


def verdicts(res):
    """The issue's targets against Alertmanager: [(ok, text)]."""
    am = res.get("alertmanager")
    if not am:
        return [(False, "Alertmanager: no figures (not run)")]
    out = []
    rp99, ap99 = _get(res, "webhook", "p99_ms"), _get(am, "webhook", "p99_ms")
    out.append((rp99 is not None and ap99 is not None and rp99 < ap99,
                "single alert press-to-webhook p99: relay %s ms, "
                "Alertmanager %s ms (target: below Alertmanager's)"
                % (_fmt(rp99), _fmt(ap99))))
    rr, ar = _get(res, "ingest", "per_s"), _get(am, "burst", "per_s")
    out.append((rr is not None and ar and rr >= AM_RATE_TARGET * ar,
                "burst of %s: relay %s accepted/s (durable), Alertmanager "
                "%s/s (target: %.1fx)" % (_get(res, "ingest", "sent"),
                                          _fmt(rr, 0), _fmt(ar, 0),
                                          AM_RATE_TARGET)))
    bp99 = _get(res, "ingest", "webhook_latency", "p99_ms")
    lost = _get(res, "ingest", "webhook_latency", "lost")
    out.append((bp99 is not None and bp99 < BURST_P99_TARGET_MS and
                lost == 0,
                "burst per-alert press-to-webhook p99: %s ms, %s without "
                "a webhook (target: under %.0f ms)"
                % (_fmt(bp99), lost, BURST_P99_TARGET_MS)))
    return out


def _fmt(v, digits=2):
    return "?" if v is None else "%.*f" % (digits, v)


def report(res):
    def cell(v, unit):
        if v is None:
            return "%12s" % "-"
        return "%12s" % (_fmt(v, 0 if unit in ("/s", "us") else 2))
    lines = ["%-40s %12s %12s %8s" % ("same machine, same run",
                                      "relay", "Alertmanager",
                                      "ratio")]
    for row in rows(res):
        lines.append("%-40s %s %s %8s" % (
            "%s (%s)" % (row["what"], row["unit"]),
            cell(row["relay"], row["unit"]),
            cell(row["alertmanager"], row["unit"]),
            "-" if row["ratio"] is None else "%.2f" % row["ratio"]))
    for ok, text in verdicts(res):
        lines.append("%s %s" % ("ok  " if ok else "MISS", text))
    return "\n".join(lines)
