"""SMS delivery reports (Kannel's DLR), against real Kannel (bearerbox,
smsbox, fakesmsc), a real relay and redis-server.

Each alarm SMS asks Kannel for its final delivery report (dlr-mask 19,
dlr-url: the gateway's report_url with the alert, the recipient and a
credential of that SMS alone).  Kannel's fake SMS centre reports
"delivered" (type 1) as soon as fakesmsc has the message: that report,
through smsbox to the relay's plain ack listener, turns "handed to the
gateway, not confirmed" into "delivered", confirmed.

The fake SMS centre never reports a failure, and never withholds a
report.  For those cases the gateway's report_url points at a small
HTTP server in this test instead, which keeps what Kannel calls (the
real report, with the real credential, type 1) and answers 200; the
test then sends that report on to the relay itself, changed only where
it says so: type 2 (not delivered to the phone), after the deadline, a
wrong credential, or after the alert closed.  The relay's side of each
is real.

All fail on the old code: it asked for no reports (report_url was an
unknown key) and had no report endpoint."""

import http.server
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import harness

from harness import SMS_NUMBERS, sms_stack, wait_until
from harness_http import https_request
from test_sms_queued import status

CP = "Contactpunt"
TIER1_S = 60  # "brought forward" is well before this
POLICIES = {"default": {"types": "panic threat",
                        "tier": ["0 contactpunt:sms",
                                 "%d oncall-1:sms" % TIER1_S],
                        "max_age": 3600},
            "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


def delivery(timeout_s=300):
    return {"retry_initial_ms": 200, "retry_max_ms": 600, "max_attempts": 3,
            "sms_report_timeout": timeout_s}


class ReportCatcher:
    """Kannel's report calls, kept (query strings) and answered 200."""

    def __init__(self):
        self.queries = []
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                catcher.queries.append(urllib.parse.urlsplit(self.path).query)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = "http://127.0.0.1:%d/report" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, timeout=15):
        wait_until(lambda: self.queries, timeout, what="Kannel's report")
        return dict(urllib.parse.parse_qsl(self.queries[0]))

    def wait_for(self, aid, timeout=15):
        """Kannel's report of an SMS for alert aid."""
        def found():
            return [r for r in (dict(urllib.parse.parse_qsl(q))
                                for q in self.queries) if r.get("a") == aid]
        wait_until(found, timeout, what="Kannel's report for %s" % aid)
        return found()[0]


@pytest.fixture
def catcher():
    c = ReportCatcher()
    yield c
    c.stop()


def post_report(st, fields):
    """The report as Kannel would send it, to the relay: (status, body)."""
    url = "http://127.0.0.1:%d/v1/sms/kannel/report?%s" % (
        st.plain_port, urllib.parse.urlencode(fields))
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def report_keys(st):
    c = st.r()
    try:
        return c("KEYS", st.prefix + ":report:*") or []
    finally:
        c.close()


def confirmed(s, aid):
    return [r for r in s.receipts(aid, "delivered") if r.get("confirmed")]


def alarm_caught(lab, catcher, timeout_s=300, start=True):
    """A stack whose Kannel reports go to catcher: (stack, session,
    alert id, Kannel's report) once the SMS is handed to the gateway
    (start=False: the stack alone, for more configuration)."""
    st = sms_stack(lab, POLICIES, delivery=delivery(timeout_s),
                   report_url=catcher.url, start=start)
    if not start:
        return st
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    rep = catcher.wait()
    s.wait_receipt(aid, "delivered", timeout=10, recipient=CP,
                   confirmed=False)
    return st, s, aid, rep


@pytest.mark.hard_timeout(90)
def test_delivered_report_confirms(lab):
    st = sms_stack(lab, POLICIES, delivery=delivery(), report_url="relay")
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    st.kannel.wait_mt(1)
    r = s.wait_receipt(aid, "delivered", timeout=15, recipient=CP,
                       confirmed=True)
    assert r["channel"] == "sms", r
    en, nl = status(st, aid), status(st, aid, "nl")
    assert "delivered to %s by sms" % CP in en, en
    assert "afgeleverd bij %s via sms" % CP in nl, nl
    # taken once: the waiting state is gone
    wait_until(lambda: not st.r().hgetall(
        "%s:report:%s" % (st.prefix, aid)), 5, what="report state erased")
    assert st.alert_hash(aid).get("tier") == "0"
    log = st.relay.proc.text("stderr")
    assert "sms report alert=%s recipient=contactpunt type=1: delivered" \
        % aid in log
    # nothing of the credential in the relay's log
    assert "c=" not in log


@pytest.mark.hard_timeout(90)
def test_failed_report_brings_next_tier(lab, catcher):
    t0 = time.monotonic()
    st, s, aid, rep = alarm_caught(lab, catcher)
    assert rep["type"] == "1" and rep["a"] == aid and rep["r"] == \
        "contactpunt", rep
    # Kannel said delivered; the test says "not delivered to the phone"
    rep["type"] = "2"
    assert post_report(st, rep)[0] == 200
    r = s.wait_receipt(aid, "failed", timeout=10, recipient=CP)
    assert "not delivered" in r["reason"], r
    wait_until(lambda: st.alert_hash(aid).get("tier") == "1", 10,
               what="tier 1 brought forward")
    assert time.monotonic() - t0 < TIER1_S / 2
    assert any(d.get("recipient_id") == "contactpunt"
               for _, d in st.deadletters())
    assert "NOT REACHED: %s by sms" % CP in status(st, aid)
    # once only: the same report again changes nothing
    assert post_report(st, rep)[0] == 404
    assert len(s.receipts(aid, "failed")) >= 1


EVERY_TIER = {"default": {"types": "panic threat",
                          "tier": ["0 contactpunt:sms", "60 oncall-1:sms",
                                   "120 *"],
                          "repeat": 300, "max_age": 3600},
              "test": {"types": "test", "tier": "0 contactpunt:webhook"}}


@pytest.mark.hard_timeout(120)
def test_failed_reports_bring_each_tier_forward_once(lab, catcher):
    """A centre that fails every SMS: each recipient's first failure
    brings the next tier forward (contact point -> tier 1, on-call ->
    tier 2), the contact point's second SMS failing (tier 2 is everyone)
    does not: the repeat stays at 300 s.  The code before this test
    brought the next tier forward at each failure report, so the repeat
    fired at once and SMS went out again and again."""
    st = sms_stack(lab, EVERY_TIER, delivery=delivery(),
                   report_url=catcher.url)
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    failed = 0

    def fail_each_report():
        """Every report Kannel made so far sent on as "not delivered";
        returns how many were."""
        nonlocal failed
        while len(catcher.queries) > failed:
            rep = dict(urllib.parse.parse_qsl(catcher.queries[failed]))
            failed += 1
            assert post_report(st, dict(rep, type="2"))[0] == 200
        return failed

    # tier 0 (contact point), 1 (on-call), 2 (both again): four SMS, each
    # failed
    wait_until(lambda: fail_each_report() >= 4, 60,
               what="four SMS, each reported not delivered")
    # the fourth report was answered once the relay had taken it: the
    # alert at tier 2, its repeat still 300 s after tier 2, not brought
    # forward
    h = st.alert_hash(aid)
    assert h["tier"] == "2" and h["state"] == "open", h
    left_ms = st.timers()[h["timer"]] - time.time() * 1000
    assert left_ms > 250 * 1000, (h, st.timers())
    # and no fifth SMS: a repeat brought forward fires at once; the window
    # starts at the fourth report taken
    end = time.monotonic() + 10
    while time.monotonic() < end:
        fail_each_report()
        time.sleep(0.05)
    assert failed == 4, catcher.queries
    h = st.alert_hash(aid)
    assert h["tier"] == "2" and h["state"] == "open", h


@pytest.mark.hard_timeout(90)
def test_no_report_in_time_stays_unconfirmed(lab, catcher):
    st, s, aid, rep = alarm_caught(lab, catcher, timeout_s=2)
    time.sleep(3)  # past sms_report_timeout: the report comes too late
    assert post_report(st, rep)[0] == 404
    # the acknowledgement's receipt comes after any the report made
    assert st.ack(aid, st.tokens["contactpunt"])[0] == 200
    s.wait_receipt(aid, "acknowledged", timeout=10)
    assert not confirmed(s, aid)
    en = status(st, aid)
    assert "not confirmed delivered" in en and "delivered to" not in en, en
    assert st.alert_hash(aid).get("tier") == "0"  # not brought forward


@pytest.mark.hard_timeout(90)
def test_forged_report_refused(lab, catcher):
    st, s, aid, rep = alarm_caught(lab, catcher)
    keys = report_keys(st)
    wrong = dict(rep, c="0" * 32, type="2")
    assert post_report(st, wrong)[0] == 404
    assert post_report(st, dict(rep, c=rep["c"][:-1] + "x"))[0] == 400
    # another alert, another recipient: nothing made in Redis
    assert post_report(st, dict(rep, a="f" * 32))[0] == 404
    assert post_report(st, dict(rep, r="oncall-1"))[0] == 404
    assert post_report(st, {"type": "1"})[0] == 400
    # each answered once Redis was read: nothing written
    assert report_keys(st) == keys
    # the real one still counts; its receipt comes after any a forged
    # one made
    assert post_report(st, rep)[0] == 200
    s.wait_receipt(aid, "delivered", timeout=10, recipient=CP,
                   confirmed=True)
    assert not s.receipts(aid, "failed") and len(confirmed(s, aid)) == 1
    assert st.alert_hash(aid).get("tier") == "0"


@pytest.mark.hard_timeout(90)
def test_report_refused_on_https_listener(lab, catcher):
    """The report route is the plain loopback listener's alone: on the
    public HTTPS one it is not there (the old code served it there too,
    each request a Redis script with no failure bucket)."""
    st, s, aid, rep = alarm_caught(lab, catcher)
    code, _, _, _, _ = https_request(
        st.ack_port, "GET", "/v1/sms/kannel/report?" +
        urllib.parse.urlencode(rep), cafile=st.env.cert)
    assert code == 404
    assert post_report(st, rep)[0] == 200  # the same report, still good
    s.wait_receipt(aid, "delivered", timeout=10, recipient=CP,
                   confirmed=True)
    assert len(confirmed(s, aid)) == 1  # none from the HTTPS one before


@pytest.mark.hard_timeout(60)
@pytest.mark.parametrize("path", ["/v1/sms/twilio/report", "/v1/sms/kannel"])
def test_report_url_not_this_gateways_is_refused_at_load(lab, path):
    """A report_url whose path is under /v1/sms/ but not this gateway's
    own report path (another gateway's, or its MO path) stops
    alertrelayd -t, naming the gateway and the key.  The old code took
    it, and Kannel's every report got a 400 at run time, silently."""
    st = sms_stack(lab, POLICIES, delivery=delivery(), start=False,
                   report_url="http://127.0.0.1:8080" + path)
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                      st.env.relay_conf], timeout=30)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0, out
    assert ("[gateway kannel] report_url must have the path "
            "/v1/sms/kannel/report") in out, out


@pytest.mark.hard_timeout(90)
def test_report_for_closed_alert_is_harmless(lab, catcher):
    st, s, aid, rep = alarm_caught(lab, catcher)
    code, _ = st.ack(aid, st.tokens["contactpunt"])
    assert code == 200
    s.wait_receipt(aid, "acknowledged", timeout=10)
    assert post_report(st, dict(rep, type="2"))[0] == 200
    # a second alarm, open, whose failure report does bring tier 1
    # forward: the relay fires due tiers one by one in the order they
    # fell due, so once this one's has fired, one the first report had
    # brought forward would have too
    aid2 = s.send_alert("panic")["alert_id"]
    rep2 = catcher.wait_for(aid2)
    assert post_report(st, dict(rep2, type="2"))[0] == 200
    wait_until(lambda: st.alert_hash(aid2).get("tier") == "1", 10,
               what="the second alarm's tier 1 brought forward")
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and h.get("tier") == "0", h
    assert [e for e in st.events(aid) if e["event"] == "escalated"] == []
    # the second alarm's SMS alone reached the on-call
    wait_until(lambda: st.kannel.sendsms_to(SMS_NUMBERS["oncall-1"]) >= 1,
               10, what="the second alarm's SMS to the on-call")
    assert st.kannel.sendsms_to(SMS_NUMBERS["oncall-1"]) == 1
    assert st.relay.proc.running()


def admin_ctl(st):
    """Starts the relay of a stack made with start=False with its admin
    listener: a function running alertctl against it."""
    admin_port, token = harness.free_port(), harness.new_token()
    token_file = harness.write_secret(st.env.dir / "admin.token", token)
    with open(st.env.relay_conf, "a") as f:
        f.write("\n[admin]\nlisten = 127.0.0.1:%d\ntoken_file = %s\n"
                % (admin_port, token_file))
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(st.env.dir)
    st.relay.start()
    st.relay.proc.wait_for(r"admin listening", "stderr", 10)

    def ctl(*args):
        return harness.run([harness.alertctl_bin(), "-c", st.env.client_conf]
                           + list(args) +
                           ["--admin", "127.0.0.1:%d" % admin_port,
                            "--token-file", str(token_file)], timeout=30)
    return ctl


@pytest.mark.hard_timeout(90)
def test_forget_erases_awaited_reports(lab, catcher):
    """`alertctl device forget` takes the awaited report with the rest of
    the alert; Kannel's report afterwards finds nothing and makes
    nothing."""
    st = alarm_caught(lab, catcher, start=False)
    ctl = admin_ctl(st)
    s = st.session()
    aid = s.send_alert("panic")["alert_id"]
    rep = catcher.wait()
    assert report_keys(st) == ["%s:report:%s" % (st.prefix, aid)]
    cp = ctl("device", "forget", st.env.device_id, "--by", "fg")
    assert cp.returncode == 0, cp.stderr
    assert report_keys(st) == []
    assert post_report(st, rep)[0] == 404
    assert report_keys(st) == [] and not st.alert_hash(aid)

