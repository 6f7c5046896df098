"""How a relay's refusal of an acknowledgement is told to a person, by
alertconsole (console/console_ack.c) and by `alertctl ack`
(client/cp_http.c), both through client/ack_conflict.c: only the relay's
"the alert was cancelled" (its 409 with "code":"cancelled", daemon/ack.c,
or from a relay of before the code its text) is told as cancelled; any
other 409, such as a signed statement that does not match the alert, is
the acknowledgement failing (the console's 502 refused), because the
alert may well be open and escalating.  With a real relay (cancelled
through `alertctl cancel`) and with a pinned HTTPS stub that answers what
a relay of another version, or one that refuses the statement, would."""

import http.server
import json
import sqlite3
import ssl
import threading

import pytest

import harness
from test_console import Console, OPERATOR, RID, make_webhook
from test_console_ops import relay_stack

pytestmark = pytest.mark.needs("alertconsole")


class StubRelay(http.server.BaseHTTPRequestHandler):
    """An ack listener that answers every acknowledgement with the
    server's status and body."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts = getattr(self.server, "posts", 0) + 1
        seq = getattr(self.server, "seq", None)
        status, body = seq.pop(0) if seq else self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub(lab):
    """The stub on HTTPS with the test environment's certificate (the
    console pins its key), and a console whose recipient acknowledges
    there."""
    env = lab.env()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubRelay)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(env.cert), str(env.tls_key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tok = harness.write_secret(env.dir / "t.ack", harness.new_token())
    c = Console(lab, env, rcpt_extra={RID: {
        "ack_url": "https://127.0.0.1:%d/" % srv.server_address[1],
        "ack_token_file": tok, "ack_pin": env.pin}}).start()
    c.login()
    yield env, srv, c, tok
    srv.shutdown()
    srv.server_close()


def answer(srv, status, obj):
    srv.answer = (status, json.dumps(obj).encode() if obj is not None
                  else b"")


@pytest.mark.hard_timeout(60)
def test_only_a_cancelled_alert_is_told_as_cancelled(stub):
    env, srv, c, _ = stub
    h, b, inner = make_webhook(env, RID)
    assert c.hook(h, b) == 200
    path = "/api/alert/%s/ack" % inner["alert_id"]
    refused = (502, {"error": "refused", "status": 409})
    for status, body, want in (
            # the relay's refused statement: the alert is still open
            (409, {"error": "statement does not match the alert",
                   "code": "mismatch"}, refused),
            # a relay of before the code, same refusal by its text
            (409, {"error": "statement does not match the alert"}, refused),
            # a 409 that says nothing, or something else
            (409, None, refused),
            (409, {"error": "alert was cancelled", "code": "expired"},
             refused),
            # the cancelled alert, by its code and by the old text
            (409, {"error": "alert was cancelled", "code": "cancelled"},
             (409, {"error": "cancelled"})),
            (409, {"error": "alert was cancelled"},
             (409, {"error": "cancelled"}))):
        answer(srv, status, body)
        assert c.post(path) == want, body
    a = c.alerts()[0]
    assert a["state"] == "open" and a["acked_by"] is None
    # log lines come through a pipe, after the answers
    c.proc.wait_for(r"ack of alert=%s refused by the relay: HTTP 409"
                    % inner["alert_id"], "stderr", 10)
    log = c.proc.text("stderr")
    assert inner["message"] not in log


def stub_cp_conf(env, srv, tok):
    """An alertctl.conf whose [contactpoint] acknowledges at the stub."""
    conf = env.dir / "cp.conf"
    conf.write_text("[contactpoint]\nack_url = https://127.0.0.1:%d\n"
                    "relay_pin = %s\ntoken_file = %s\n"
                    % (srv.server_address[1], env.pin, tok))
    return conf


@pytest.mark.hard_timeout(60)
def test_alertctl_ack_tells_only_a_cancelled_alert_as_cancelled(stub):
    env, srv, _, tok = stub
    conf = stub_cp_conf(env, srv, tok)
    aid = "a" * 32
    for body, said in (
            ({"error": "statement does not match the alert",
              "code": "mismatch"},
             "the relay refused it: the alert may still be open"),
            ({"error": "alert was cancelled", "code": "cancelled"},
             "the alert was cancelled"),
            ({"error": "alert was cancelled"}, "the alert was cancelled")):
        answer(srv, 409, body)
        cp = harness.run([harness.alertctl_bin(), "-c", conf, "ack", aid],
                         timeout=20, env={"LANGUAGE": "en"})
        assert cp.returncode == 1, cp.stderr
        assert "alert %s NOT acknowledged: %s (HTTP 409: %s)" % (
            aid, said, body["error"]) in cp.stderr, cp.stderr


def sent_alert(lab, env, console):
    """A test alert sent through the real relay, in the console."""
    rc, out, err = lab.send(env, "--type", "test", "--message", "Hulp nodig")
    assert rc == 0, (rc, out, err)
    aid = out[0].split("=", 1)[1]
    harness.wait_until(lambda: any(a["alert_id"] == aid
                                   for a in console.alerts()), 10,
                       what="the alert in the console")
    return aid


@pytest.mark.hard_timeout(120)
def test_a_real_relays_cancelled_alert(lab):
    """The relay's own 409 for a cancelled alert carries its code, and
    the console shows it as cancelled."""
    st = relay_stack(lab)
    env, console = st.env, st.console
    console.start()
    console.login()
    aid = sent_alert(lab, env, console)
    cp = harness.run([harness.alertctl_bin(), "-c", env.client_conf,
                      "cancel", aid, "--timeout", "10"], timeout=20)
    assert cp.returncode == 0, cp.stderr
    status, body = harness.https_request(
        st.ack_port, "POST", "/v1/alerts/%s/ack" % aid,
        headers={"Authorization": "Bearer " + st.token},
        cafile=env.cert)[:2]
    assert (status, body) == (409, {"error": "alert was cancelled",
                                    "code": "cancelled"})
    assert console.post("/api/alert/%s/ack" % aid) == \
        (409, {"error": "cancelled"})
    assert "acknowledged alert=%s operator=\"%s\"" % (aid, OPERATOR) not in \
        console.proc.text("stderr")


BIDI_NAME = "Jan \u202eseirV ed"


def start_with_a_bidi_account(console, name=BIDI_NAME):
    """The console started with an account named name (BIDI_NAME), as
    made before `alertconsole user add` refused such names (written into
    the database behind the console's back)."""
    console.start()
    console.add_user("Tijdelijk")
    console.proc.stop()
    with sqlite3.connect(str(console.state / "console.db")) as d:
        d.execute("UPDATE operator SET name = ? WHERE name = ?",
                  (name, "Tijdelijk"))
    console.users = {name}
    return console.start()


@pytest.mark.hard_timeout(120)
def test_log_lines_carry_an_old_accounts_name_cleaned(lab):
    """An account named before `alertconsole user add` refused such
    names, with a bidi override and a double quote: the console's log
    lines (login, logout) carry the name with the override as "?" and
    the quote as "'", so that the line is neither turned around on a
    terminal nor its operator="..." value ended early.  Fails on the old
    code (the name went into the line as it is)."""
    st = relay_stack(lab)
    console = st.console
    name = 'Jan "x" \u202eseirV'
    start_with_a_bidi_account(console, name)
    console.login(name)
    console.post("/api/logout")
    console.proc.wait_for(r"logout operator=", "stderr", 10)
    log = console.proc.text("stderr")
    assert "\u202e" not in log and '"x"' not in log
    assert "login operator=\"Jan 'x' ?seirV\"" in log
    assert "logout operator=\"Jan 'x' ?seirV\"" in log


@pytest.mark.hard_timeout(120)
def test_an_account_name_the_relay_refuses_is_told(lab):
    """An operator whose account name has a bidi override (made before
    `alertconsole user add` refused such names; written here into the
    database behind the console's back) cannot acknowledge: the real
    relay refuses the name (400).  The console tells the page why, in
    its own word ("name_refused", which the page shows as the console's
    own sentence: the administrator must add the account again under
    another name), not the generic "refused"; the relay's text is never
    passed on, and the log says what to do without the name.  Fails on
    the old code ({"error": "refused", "status": 400})."""
    st = relay_stack(lab)
    env, console, redis = st.env, st.console, st.redis
    start_with_a_bidi_account(console)
    console.login(BIDI_NAME)
    aid = sent_alert(lab, env, console)
    status, body = console.post("/api/alert/%s/ack" % aid)
    assert (status, body) == (502, {"error": "name_refused"})
    assert redis.client().hgetall("alertrelay:alert:" + aid).get(
        "state") != "acknowledged"
    a = [x for x in console.alerts() if x["alert_id"] == aid][0]
    assert a["acked_by"] is None
    console.proc.wait_for(r"ack of alert=%s refused by the relay: the "
                          r"operator's name has a bidi override" % aid,
                          "stderr", 10)
    log = console.proc.text("stderr")
    line, = [l for l in log.splitlines() if "ack of alert=%s" % aid in l]
    assert "\u202e" not in line and "Hulp nodig" not in log
    # the page has the console's own sentence for it, in both languages
    for lang, word in (("nl", "andere naam"), ("en", "another name")):
        words = json.loads((harness.ROOT / "console" / "static" / "lang" /
                            ("%s.json" % lang)).read_text())
        for key in ("msg.ack_name_refused", "msg.ack_name_refused_duress"):
            assert word in words[key], (lang, key)
    assert "'name_refused'" in (harness.ROOT / "console" / "static" /
                                "alert.js").read_text()


@pytest.mark.hard_timeout(60)
def test_only_the_relays_name_refusal_is_told_as_such(stub):
    """The relay's refusal of a name in a signed statement is the same
    to the operator; any other 400, or a text that merely looks like
    one, stays the generic refusal.  The relay's code bad_name decides
    whatever the text says (the English texts are the fallback for a
    relay of before the code: with another code they do not count)."""
    env, srv, c, _ = stub
    h, b, inner = make_webhook(env, RID)
    assert c.hook(h, b) == 200
    path = "/api/alert/%s/ack" % inner["alert_id"]
    named = (502, {"error": "name_refused"})
    refused = (502, {"error": "refused", "status": 400})
    for body, want in (
            ({"error": "by must be 1 to 64 bytes without control "
                       "characters, bidi overrides or isolates"}, named),
            ({"error": "statement by must be a name without control "
                       "characters, bidi overrides or isolates"}, named),
            ({"error": "de naam wordt geweigerd", "code": "bad_name"},
             named),
            ({"error": "by must be 1 to 64 bytes without control "
                       "characters, bidi overrides or isolates",
              "code": "bad_name"}, named),
            ({"error": "by must be 1 to 64 bytes without control "
                       "characters, bidi overrides or isolates",
              "code": "other"}, refused),
            ({"error": "body must be {\"by\":NAME} in UTF-8"}, refused),
            ({"error": "by must be \u202e anything"}, refused),
            (None, refused)):
        answer(srv, 400, body)
        assert c.post(path) == want, body


@pytest.mark.hard_timeout(90)
def test_the_relays_rate_limit_is_tried_again_then_told(stub):
    """The relay's 429 (its recipient's request rate, a flood with the
    contact point's leaked token): the console tries again after its
    Retry-After, three tries in all; one that gets through is the
    acknowledgement; after three 429s the operator hears it as such
    (rate_limited, said plainly on the page), not a generic refusal.
    The old code answered the first 429 as {"error": "refused"}."""
    env, srv, c, token = stub
    h, b, inner = make_webhook(env, RID)
    assert c.hook(h, b) == 200
    path = "/api/alert/%s/ack" % inner["alert_id"]
    limited = (429, json.dumps({"error": "too many requests, try again",
                                "code": "rate_limited"}).encode())
    srv.posts = 0
    srv.seq = [limited, limited]
    answer(srv, 200, {"alert_id": inner["alert_id"],
                      "state": "acknowledged", "first": True, "by": "x"})
    assert c.post(path) == (200, {"acknowledged": True})
    assert srv.posts == 3
    srv.posts = 0
    srv.answer = limited
    assert c.post(path) == (503, {"error": "rate_limited"})
    assert srv.posts == 3


@pytest.mark.hard_timeout(60)
def test_alertctl_ack_tries_the_relays_rate_limit_again(stub):
    """alertctl ack, answered 429 by the relay, tries again (three tries
    in all) and then says that the relay limits the token; one try that
    gets through is the acknowledgement.  The old code gave up at the
    first 429."""
    env, srv, _, tok = stub
    conf = stub_cp_conf(env, srv, tok)
    aid = "a" * 32
    limited = (429, json.dumps({"error": "too many requests, try again",
                                "code": "rate_limited"}).encode())
    argv = [harness.alertctl_bin(), "-c", conf, "ack", aid]
    srv.posts, srv.answer = 0, limited
    cp = harness.run(argv, timeout=30, env={"LANGUAGE": "en"})
    assert cp.returncode == 1, cp.stderr
    assert srv.posts == 3, cp.stderr
    assert "the relay is limiting this token's requests" in cp.stderr
    srv.posts, srv.seq = 0, [limited]
    answer(srv, 200, {"alert_id": aid, "state": "acknowledged",
                      "first": True, "by": "Piket (Contactpunt)"})
    cp = harness.run(argv, timeout=30, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    assert srv.posts == 2, cp.stderr
