"""Where an alert's time goes inside the relay (issue 16, item 3):
alertrelay_stage_seconds{stage=...}, one histogram per stage, read from a
real relay's /metrics after a real alert reached a real webhook receiver,
and the exposition checked by Debian's `promtool check metrics`.

Before issue 16 the relay had no alertrelay_stage_seconds: every test
here fails on that code."""

import shutil

import pytest

import harness
from harness import wait_until
from helpers import send_ok
from test_service import admin_stack, http_get, scrape, val

STAGES = ("verify", "store", "reply", "dispatch_read", "webhook_sent",
          "webhook_2xx")
NAME = "alertrelay_stage_seconds"


def counts(s):
    return {st: val(s, NAME + "_count", stage=st) for st in STAGES}


@pytest.mark.hard_timeout(90)
def test_each_stage_counted_once_per_alert(lab):
    """Before any alert every stage histogram is there and empty; after
    one alert delivered to one recipient, each stage has one observation,
    below the bound (these stages take well under a second here) and in
    a sub-millisecond-resolution bucket layout."""
    env, port, redis, relay, recv = admin_stack(lab)
    s, fams = scrape(port)
    assert fams[NAME].type == "histogram"
    assert fams[NAME].documentation
    assert counts(s) == {st: 0 for st in STAGES}
    bounds = sorted(float(dict(k[1])["le"]) for k in s
                    if k[0] == NAME + "_bucket" and
                    dict(k[1]).get("stage") == "verify")
    assert bounds[0] <= 0.0001, "sub-millisecond resolution: %s" % bounds
    assert bounds[-1] == float("inf")

    send_ok(lab, env, "--type", "test", "--message", "stages")
    recv["contactpunt"].wait_alerts(1)

    def all_counted():
        return all(v >= 1 for v in counts(scrape(port)[0]).values())
    wait_until(all_counted, 10, interval=0.1, what="every stage counted")
    s, _ = scrape(port)
    assert counts(s) == {st: 1 for st in STAGES}, counts(s)
    for st in STAGES:
        total = val(s, NAME + "_sum", stage=st)
        assert 0 <= total < 1, (st, total)
        assert val(s, NAME + "_bucket", stage=st, le="+Inf") == 1
        # the one observation is in the bucket of its size or above
        assert val(s, NAME + "_bucket", stage=st, le="1") == 1, st


@pytest.mark.hard_timeout(60)
def test_promtool_check_metrics(lab, tmp_path):
    """The exposition, stage histograms included, passes promtool's
    checks (Debian's prometheus package)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian's prometheus, in "
                    "scripts/install-deps.sh)", pytrace=False)
    env, port, redis, relay, recv = admin_stack(lab)
    send_ok(lab, env, "--type", "test", "--message", "stages")
    recv["contactpunt"].wait_alerts(1)
    status, _, body = http_get(port, "/metrics")
    assert status == 200
    assert 'alertrelay_stage_seconds_bucket{stage="store",le=' in body
    cp = harness.run([promtool, "check", "metrics"], input=body,
                     timeout=30)
    out = cp.stdout + cp.stderr
    # the exposition parses (a parse error fails whatever the metric)
    assert "error" not in out.lower(), out
    problems = [ln for ln in out.splitlines() if NAME in ln]
    assert not problems, problems
