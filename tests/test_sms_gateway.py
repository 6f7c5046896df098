"""daemon/sms_*.c against real gateways: Kannel (bearerbox, smsbox,
fakesmsc) and local HTTP servers standing in for Twilio and other
providers.

The module is driven by tests/sms_driver.c, built here from the daemon's
own sources (with AddressSanitizer and UBSan when the compiler has them),
which runs it on a libevent loop with the daemon's http_client.
"""

import base64
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import kannel as kannel_mod
from harness import ROOT, SANITIZER_MARKS, free_port, run, wait_until

pytestmark = pytest.mark.needs()  # needs no alertrelayd/alertctl build

# The SMS module: configuration and sending, the texts, the request
# buffers and one file per gateway driver.
SMS_SOURCES = ["sms_gateway.c", "sms_text.c", "sms_template.c", "sms_request.c",
               "sms_kannel.c", "sms_twilio.c", "sms_http.c"]
PKGS = "libevent libevent_openssl openssl libsodium hiredis libcurl jansson inih"
WFLAGS = ["-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
          "-Wshadow", "-Wformat=2", "-Wno-format-nonliteral"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer"]

# 2026-11-28 10:32:00 UTC (11:32 in Amsterdam)
EPOCH = 1795861920

# GSM 03.38 basic character set (without LF, CR and ESC), written out
# from the standard independently of the C table.
GSM7_BASIC = set(
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

FROM = "+3197010000000"
TO = "+31600000001"


# ---------------------------------------------------------------- driver


def _pkg_config(*args):
    cp = subprocess.run(["pkg-config"] + list(args) + PKGS.split(),
                        capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        raise RuntimeError("pkg-config: %s" % cp.stderr)
    return cp.stdout.split()


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    """Path of sms_driver, built once per session."""
    out = tmp_path_factory.mktemp("sms_driver") / "sms_driver"
    srcs = ([ROOT / "tests/sms_driver.c"] +
            [ROOT / "daemon" / f for f in SMS_SOURCES] +
            [ROOT / "daemon/http_client.c", ROOT / "daemon/strindex.c"] +
            sorted((ROOT / "common").glob("*.c")))
    base = (["cc"] + WFLAGS + ["-O1", "-g", "-I", ROOT / "common",
                               "-I", ROOT / "daemon"] + _pkg_config("--cflags"))
    libs = _pkg_config("--libs")
    for extra in (SANITIZE, []):
        cp = subprocess.run([str(a) for a in base + extra + ["-o", out] +
                             srcs + libs], capture_output=True, text=True,
                            timeout=300)
        if cp.returncode == 0:
            return out
    raise RuntimeError("building sms_driver failed:\n%s" % cp.stderr)


class Driver:
    """Runs sms_driver to completion; results are its JSON lines."""

    def __init__(self, path, lab):
        self.path = path
        self.lab = lab
        self.stderr = ""

    def __call__(self, *args, conf=None, connect_ms=None, timeout_ms=None,
                 deadline_ms=None, tz="UTC", timeout=60, lang=None):
        argv = [self.path]
        if conf:
            argv += ["-c", conf]
        if lang:
            argv += ["-L", lang]
        if connect_ms is not None:
            argv += ["-C", connect_ms]
        if timeout_ms is not None:
            argv += ["-T", timeout_ms]
        if deadline_ms is not None:
            argv += ["-D", deadline_ms]
        argv += list(args)
        cp = run(argv, timeout=timeout, env={
            "TZ": tz, "ASAN_OPTIONS": "detect_leaks=1",
            "UBSAN_OPTIONS": "print_stacktrace=1"})
        self.lab.short_runs.append((argv, cp.stderr))
        self.lab.logdir.mkdir(parents=True, exist_ok=True)
        with open(self.lab.logdir / "sms_driver.log", "a",
                  errors="backslashreplace") as f:
            f.write("$ %s\n[exit %d]\n%s--- stderr\n%s\n" % (
                " ".join(map(str, argv)), cp.returncode, cp.stdout, cp.stderr))
        self.stderr += cp.stderr
        assert not any(m in cp.stderr for m in SANITIZER_MARKS), cp.stderr
        return cp.returncode, [json.loads(l) for l in cp.stdout.splitlines()]

    def alert(self, alias, type_="panic", ref="K7Q2", tz="UTC", epoch=EPOCH,
              lang=None):
        rc, out = self("format-alert", type_, alias, epoch, ref, tz=tz,
                       lang=lang)
        assert rc == 0
        return out[0]["text"]

    def event(self, event, ref="K7Q2", by="-", tz="UTC", epoch=EPOCH,
              lang=None):
        rc, out = self("format-event", event, ref, by, epoch, tz=tz,
                       lang=lang)
        assert rc == 0
        return out[0]["text"]


@pytest.fixture
def drv(driver, lab):
    return Driver(driver, lab)


def secret_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


def gateways_conf(path, sections):
    """sections: {name: {key: value or [values]}} as alertrelayd.conf."""
    lines = []
    for name, keys in sections.items():
        lines.append("[gateway %s]" % name)
        for k, v in keys.items():
            for one in (v if isinstance(v, list) else [v]):
                lines.append("%s = %s" % (k, one))
        lines.append("")
    Path(path).write_text("\n".join(lines))
    return path


# ---------------------------------------------------------------- HTTP stub


class Stub:
    """A provider's HTTP API: records every request; answers `status`
    (or waits until stopped when status is None)."""

    def __init__(self, status=201, body=b'{"sid":"SM1"}'):
        self.status = status
        self.body = body
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                u = urllib.parse.urlsplit(self.path)
                with stub.lock:
                    stub.requests.append({
                        "method": self.command, "path": u.path,
                        "query": urllib.parse.parse_qs(u.query,
                                                       keep_blank_values=True),
                        "raw_query": u.query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "time": time.monotonic()})
                if stub.status is None:
                    stub.release.wait(30)
                    return
                try:
                    self.send_response(stub.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(stub.body)))
                    self.end_headers()
                    self.wfile.write(stub.body)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def wait(self, n, timeout=15):
        wait_until(lambda: len(self.snapshot()) >= n, timeout,
                   what="%d request(s) at the stub" % n)
        return self.snapshot()


@pytest.fixture
def stub(lab):
    def make(**kw):
        s = Stub(**kw).start()
        lab.things.append(s)
        return s
    return make


# ---------------------------------------------------------------- Kannel


@pytest.fixture
def kannel(lab):
    missing = kannel_mod.available()
    if missing:
        pytest.fail("Kannel " + missing, pytrace=False)

    def start(**kw):
        k = kannel_mod.Kannel(lab.tmp / "kannel", lab.logdir,
                              register=lab.things.append, **kw)
        return k.start()
    return start


def kannel_gateway(lab, k, name="kannel", password=None):
    pw = secret_file(lab.tmp / ("%s.pass" % name), password or k.password)
    return {"type": "kannel", "url": k.sendsms_url, "username": k.username,
            "password_file": pw.name, "from": FROM}


# ================================================================ texts


def test_alert_text(drv):
    """The built-in English texts (-L en, the driver's default)."""
    assert (drv.alert("Burgemeester-A") ==
            "ALERT PANIC - Burgemeester-A - 10:32 - ref K7Q2. "
            "Reply OK K7Q2 if you take it.")
    # local time from TZ, as the daemon sets it
    assert " 11:32 " in drv.alert("Burgemeester-A", tz="Europe/Amsterdam")
    assert (drv.alert("Burgemeester-A", type_="test", ref="Z9") ==
            "ALERT TEST - Burgemeester-A - 10:32 - ref Z9. "
            "Reply OK Z9 if you take it.")
    assert (drv.alert("Burgemeester-A", type_="escalated:threat") ==
            "ALERT THREAT - Burgemeester-A - 10:32 - ref K7Q2. Not taken "
            "yet. Reply OK K7Q2 if you take it.")


def test_alert_text_dutch(drv):
    """The built-in Dutch texts, the daemon's default: the alert types
    of docs/PROTOCOL.md translated, any other upper-cased."""
    assert (drv.alert("Wethouder B", lang="nl") ==
            "ALARM PANIEK - Wethouder B - 10:32 - ref K7Q2. "
            "Antwoord OK K7Q2 als u het oppakt.")
    assert drv.alert("W", type_="threat", lang="nl").startswith(
        "ALARM DREIGING - W - ")
    assert drv.alert("W", type_="test", lang="nl").startswith("ALARM TEST - ")
    assert drv.alert("W", type_="brand", lang="nl").startswith("ALARM BRAND - ")
    assert (drv.alert("Wethouder B", type_="escalated:panic", lang="nl") ==
            "ALARM PANIEK - Wethouder B - 10:32 - ref K7Q2. Nog niet "
            "opgepakt. Antwoord OK K7Q2 als u het oppakt.")
    assert (drv.event("acknowledged", by="Piket-1", lang="nl") ==
            "Alarm K7Q2 is opgepakt door Piket-1 (10:32). U hoeft niets te doen.")
    assert (drv.event("confirmed", lang="nl") ==
            "Bevestigd: u hebt alarm K7Q2 opgepakt.")
    assert (drv.event("cancelled", lang="nl") ==
            "Alarm K7Q2 is ingetrokken (10:32). U hoeft niets te doen.")


def test_alert_text_long_alias_fits_one_sms(drv):
    alias = "Burgemeester van Súdwest-Fryslân en omstreken " * 12
    text = drv.alert(alias, type_="panic-extra-long-type-name", ref="ABCDEFGH12345678")
    assert len(text) <= 160
    assert text.startswith("ALERT PANIC-EXTRA-LONG - Burgemeester van Sudwest-Fryslan ")
    assert text.endswith(" - 10:32 - ref ABCDEFGH12345678. Reply OK "
                         "ABCDEFGH12345678 if you take it.")
    assert set(text) <= GSM7_BASIC
    # exactly at the limit when the alias is long enough
    assert len(drv.alert("é" * 300)) == 160
    assert len(drv.alert("é" * 300, lang="nl")) == 160


def test_alert_text_gsm7_only(drv):
    alias = "Wethouder Coëlho-Müller [x] {y} ~ € 😀 ł Ærø é Δ\tA\nB ‘q’"
    text = drv.alert(alias)
    assert set(text) <= GSM7_BASIC, set(text) - GSM7_BASIC
    assert text == ("ALERT PANIC - Wethouder Coelho-Müller ?x? ?y? ? ? ? ? "
                    "Ærø é Δ?A?B 'q' - 10:32 - ref K7Q2. Reply OK K7Q2 if you "
                    "take it.")
    # invalid UTF-8 never gets through
    assert set(drv.alert("A\xff\xfeB".encode("latin-1").decode(
        "utf-8", "surrogateescape"))) <= GSM7_BASIC


def test_alert_text_is_metadata_only(drv):
    """Whatever the alias, the text is the fixed frame with the alias,
    type, time and reference in it, and nothing else."""
    import re
    rx = re.compile(r"^ALERT ([A-Z0-9_?-]{1,16}) - (.*) - (\d\d:\d\d) - "
                    r"ref ([A-Za-z0-9]{1,16})\. Reply OK \4 if you take it\.$")
    for alias in ["A", "Burgemeester-A", "x" * 200, "ref K7Q2. Reply ACK X",
                  "a  b   c ", "💣" * 10, ""]:
        text = drv.alert(alias, type_="panic", ref="R2D2")
        m = rx.match(text)
        assert m, text
        assert m.group(1) == "PANIC" and m.group(3) == "10:32"
        assert m.group(4) == "R2D2"
        assert len(text) <= 160
    # a reference that could not be replied to gives no text at all
    for ref in ["", "K7 Q2", "K7Q2&x", "A" * 17, "ÄB"]:
        assert drv.alert("A", ref=ref) == ""


def test_event_texts(drv):
    assert (drv.event("acknowledged", by="Contactpunt") ==
            "Alert K7Q2 was taken by Contactpunt (10:32). No action needed.")
    assert drv.event("cancelled") == \
        "Alert K7Q2 was cancelled (10:32). No action needed."
    assert drv.event("confirmed") == "Confirmed: you have taken alert K7Q2."
    assert drv.event("acknowledged", by="Dienst€doende", tz="Europe/Amsterdam") == \
        "Alert K7Q2 was taken by Dienst?doende (11:32). No action needed."
    long_by = drv.event("acknowledged", by="N" * 400)
    assert len(long_by) == 160 and long_by.endswith(" (10:32). No action needed.")
    # an escalation is an alert text now (format-alert escalated:TYPE)
    assert drv.event("raised") == "" and drv.event("escalated") == ""
    assert drv.event("acknowledged", ref="bad ref") == ""


def test_number_valid(drv):
    rc, out = drv("number", "+31612345678", "+12025550123", "+999999999999999",
                  "0612345678", "+0612345678", "+1234567", "+1234567890123456",
                  "+31 612345678", "+3161234567a", "31612345678", "+")
    valid = {o["number"]: o["valid"] for o in out}
    assert [n for n, v in valid.items() if v] == [
        "+31612345678", "+12025550123", "+999999999999999"]


# ================================================================ config


def check(drv, lab, sections):
    conf = gateways_conf(lab.tmp / "gw.conf", sections)
    rc, out = drv("check", conf=conf)
    errors = [o.get("set_error") or o.get("check_error") for o in out
              if "set_error" in o or "check_error" in o]
    return rc, errors


def test_config_good(drv, lab):
    pw = secret_file(lab.tmp / "pw", "s3cret")
    tok = secret_file(lab.tmp / "mo.token", "t" * 32)
    rc, errors = check(drv, lab, {
        "k": {"type": "kannel", "url": "http://127.0.0.1:13013/cgi-bin/sendsms",
              "username": "u", "password_file": "pw", "from": "+3197010000000",
              "mo_token_file": str(tok),
              "report_url": "http://127.0.0.1:8080/v1/sms/k/report"},
        # a proxy's own path is left to it
        "k2": {"type": "kannel",
               "url": "http://127.0.0.1:13013/cgi-bin/sendsms",
               "username": "u", "password_file": "pw",
               "from": "+3197010000000",
               "report_url": "https://dlr.example.nl/kannel2"},
        "t": {"type": "twilio", "url": "https://api.twilio.com", "username": "AC123",
              "password_file": str(pw), "from": "Alertrelay"},
        "h": {"type": "http", "url": "https://sms.example.nl/v1/send?to={to}",
              "header": ["Authorization: Bearer {password}", "X-Ref: {ref}"],
              "password_file": "pw", "body": '{"text":"{text}"}',
              "content_type": "application/json"},
        "g": {"type": "http", "method": "get",
              "url": "https://sms.example.nl/send?to={to}&text={text}"},
    })
    assert (rc, errors) == (0, [])


@pytest.mark.parametrize("keys, error", [
    ({"url": "http://127.0.0.1/x"}, "type is missing"),
    ({"type": "smpp"}, "type must be kannel, twilio or http"),
    ({"type": "kannel", "colour": "red"}, "unknown key colour"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "password_file": "pw",
      "from": "+3197010000000"}, "username is missing"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "from": "+3197010000000"}, "password_file is missing"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "password_file": "pw"}, "from is missing"),
    ({"type": "kannel", "url": "http://sms.example.nl/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000"},
     "plain http only to a loopback address"),
    ({"type": "kannel", "url": "ftp://127.0.0.1/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000"}, "url must be https://"),
    ({"type": "kannel", "url": "not a url", "username": "u",
      "password_file": "pw", "from": "+3197010000000"}, "url is not a valid URL"),
    ({"type": "twilio", "url": "https://u:p@api.example.com", "username": "AC1",
      "password_file": "pw", "from": "+3197010000000"},
     "must not carry a user"),
    ({"type": "twilio", "url": "https://api.example.com", "username": "AC1",
      "password_file": "pw", "from": "A very long sender"}, "from must be"),
    ({"type": "twilio", "url": "https://api.example.com", "username": "AC1",
      "password_file": "missing", "from": "+3197010000000"},
     "No such file or directory"),
    ({"type": "twilio", "url": "https://api.example.com", "username": "AC1",
      "password_file": "pw-open", "from": "+3197010000000"},
     "readable by group or others"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000",
      "mo_token_file": "pw"}, "too short"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000", "body": "x"},
     "are for type http"),
    ({"type": "http", "url": "https://e.nl/?to={phone}", "body": "x"},
     "unknown placeholder {phone}"),
    ({"type": "http", "url": "https://e.nl/", "body": "f={from}"},
     "{from} is used but from is not set"),
    ({"type": "http", "url": "https://e.nl/",
      "header": "Authorization: Bearer {password}", "body": "x"},
     "{password} is used but password_file is not set"),
    ({"type": "http", "url": "https://e.nl/"}, "body is missing"),
    ({"type": "http", "url": "https://e.nl/", "method": "GET", "body": "x"},
     "body is not sent with method GET"),
    ({"type": "http", "url": "https://e.nl/", "method": "DELETE"},
     "method must be GET or POST"),
    ({"type": "http", "url": "https://e.nl/", "header": "no colon", "body": "x"},
     "header must be"),
    ({"type": "http", "url": "https://e.nl/", "body": "x", "username": "u"},
     "username needs password_file"),
    # report_url: the relay takes reports at /v1/sms/<this gateway>/report
    # only; the old code took these and lost every report (400)
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000",
      "report_url": "http://127.0.0.1:8080/v1/sms/twilio/report"},
     "report_url must have the path /v1/sms/g/report"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000",
      "report_url": "http://127.0.0.1:8080/v1/sms/g"},
     "report_url must have the path /v1/sms/g/report"),
    ({"type": "kannel", "url": "http://127.0.0.1/x", "username": "u",
      "password_file": "pw", "from": "+3197010000000",
      "report_url": "not a url"}, "report_url: url is not a valid URL"),
    ({"type": "twilio", "url": "https://api.example.com", "username": "AC1",
      "password_file": "pw", "from": "+3197010000000",
      "report_url": "http://127.0.0.1:8080/v1/sms/g/report"},
     "report_url is for type kannel"),
])
def test_config_errors(drv, lab, keys, error):
    secret_file(lab.tmp / "pw", "s3cret-pw")
    p = secret_file(lab.tmp / "pw-open", "s3cret-pw")
    os.chmod(p, 0o644)
    rc, errors = check(drv, lab, {"g": keys})
    assert rc != 0
    assert any(error in e for e in errors), errors
    assert "s3cret-pw" not in " ".join(errors) + drv.stderr


# ================================================================ Kannel


@pytest.mark.hard_timeout(90)
def test_kannel_mt(drv, lab, kannel):
    k = kannel()
    conf = gateways_conf(lab.tmp / "gw.conf", {"kannel": kannel_gateway(lab, k)})
    alert = drv.alert("A&B + C=D 100% é/ü?x#y")
    assert alert == ("ALERT PANIC - A&B + C=D 100% é/ü?x#y - 10:32 - ref K7Q2. "
                     "Reply OK K7Q2 if you take it.")
    ack = drv.event("acknowledged", by="Contactpunt")
    longest = drv.alert("é" * 300)
    rc, out = drv("send", "kannel", TO, "K7Q2", alert,
                  "kannel", "+31600000002", "K7Q2", ack,
                  "kannel", "+31600000003", "K7Q2", longest, conf=conf)
    assert rc == 0
    assert sorted((o["i"], o["ok"], o["status"]) for o in out) == [
        (0, True, 202), (1, True, 202), (2, True, 202)]
    got = {m.receiver: m for m in k.wait_mt(3)}
    assert got[TO].sender == FROM and got[TO].text == alert
    assert got["+31600000002"].text == (
        "Alert K7Q2 was taken by Contactpunt (10:32). No action needed.")
    # 160 characters of which none is ASCII arrive whole, in one SMS
    assert got["+31600000003"].text == longest and len(longest) == 160
    assert len(k.mt_messages()) == 3
    assert k.password not in drv.stderr


@pytest.mark.hard_timeout(90)
def test_kannel_queued(drv, lab, kannel):
    """Kannel answers 202 whether it sent the message on or only queued
    it because its SMS centre's link is down (the phones' fakesmsc
    stopped): its "3: Queued for later delivery" is told apart."""
    k = kannel()
    conf = gateways_conf(lab.tmp / "gw.conf", {"kannel": kannel_gateway(lab, k)})
    k.stop_phones()
    rc, out = drv("send", "kannel", TO, "K7Q2", "ALERT TEST", conf=conf)
    assert rc == 0
    assert (out[0]["ok"], out[0]["status"], out[0].get("queued")) == (
        True, 202, True), out
    assert "queued" in out[0]["error"], out
    k.start_phones()
    (m,) = k.wait_mt(1)  # what Kannel kept, once the link is back
    assert m.receiver == TO and m.text == "ALERT TEST"
    rc, out = drv("send", "kannel", TO, "K7Q2", "ALERT TEST 2", conf=conf)
    assert (out[0]["ok"], out[0]["status"], "queued" in out[0]) == (
        True, 202, False), out
    assert out[0].get("error") is None


def test_kannel_wrong_password(drv, lab, kannel):
    k = kannel()
    conf = gateways_conf(lab.tmp / "gw.conf", {
        "kannel": kannel_gateway(lab, k, password="not-the-password")})
    rc, out = drv("send", "kannel", TO, "K7Q2", "ALERT TEST", conf=conf)
    assert out == [{"i": 0, "gateway": "kannel", "ok": False, "status": 403,
                    "error": "gateway answered HTTP 403", "ms": out[0]["ms"]}]
    assert "not-the-password" not in drv.stderr
    # nothing reached a phone: not "nothing within a short sleep" but
    # nothing before a later SMS sent with the right password, which
    # the phones get first
    good = gateways_conf(lab.tmp / "gw-good.conf",
                         {"kannel": kannel_gateway(lab, k)})
    rc, out = drv("send", "kannel", TO, "K7Q2", "MARKER", conf=good)
    assert rc == 0 and out[0]["ok"], out
    k.wait_mt(1)
    assert [m.text for m in k.mt_messages()] == ["MARKER"], k.mt_messages()


def test_kannel_mo_reply_reaches_the_daemon_url(drv, lab, kannel, stub):
    daemon = stub(status=200, body=b"")
    token = "0123456789abcdef0123456789abcdef"
    k = kannel(mo_url="%s/v1/sms/kannel?from=%%p&text=%%a&token=%s" % (
        daemon.url, token))
    k.inject_mo("+31600000001", FROM, "ACK K7Q2")
    (req,) = daemon.wait(1)
    assert req["method"] == "GET" and req["path"] == "/v1/sms/kannel"
    assert req["query"] == {"from": ["+31600000001"], "text": ["ACK K7Q2"],
                            "token": [token]}
    # the number's '+' reaches the daemon encoded, never as a space
    assert "from=%2B31600000001" in req["raw_query"]
    # the reply page is not sent back to the phone
    k.inject_mo("+31600000002", FROM, "ack   k7q2 & more")
    req = daemon.wait(2)[1]
    assert req["query"]["from"] == ["+31600000002"]
    assert req["query"]["text"] == ["ack k7q2 & more"]  # %a squeezes blanks
    # nothing went back to the phones before a later SMS, sent through
    # the same Kannel once smsbox had done with both replies (its access
    # log's line for each comes with its answer, if any): the phones get
    # it first (an order, not "nothing within a short sleep")
    log = k.dir / "smsbox-access.log"
    wait_until(
        lambda: log.exists() and log.read_text(errors="replace")
        .count("SMS HTTP-request sender:") >= 2, 15,
        what="smsbox done with both replies")
    conf = gateways_conf(lab.tmp / "gw.conf", {"kannel": kannel_gateway(lab, k)})
    rc, out = drv("send", "kannel", TO, "K7Q2", "MARKER", conf=conf)
    assert rc == 0 and out[0]["ok"], out
    k.wait_mt(1)
    assert [m.text for m in k.mt_messages()] == ["MARKER"], k.mt_messages()


# ================================================================ Twilio


def twilio_conf(lab, url, name="twilio"):
    tok = secret_file(lab.tmp / "twilio.token", "tw-auth-token-xyz")
    return {"type": "twilio", "url": url, "username": "AC123",
            "password_file": str(tok), "from": FROM}


def test_twilio_ok(drv, lab, stub):
    api = stub(status=201)
    conf = gateways_conf(lab.tmp / "gw.conf", {"twilio": twilio_conf(lab, api.url + "/")})
    text = drv.alert("Burgemeester A&B + Co=1 é")
    rc, out = drv("send", "twilio", TO, "K7Q2", text, conf=conf)
    assert rc == 0 and out[0]["ok"] is True and out[0]["status"] == 201
    (req,) = api.snapshot()
    assert req["method"] == "POST"
    assert req["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert req["headers"]["authorization"] == "Basic " + base64.b64encode(
        b"AC123:tw-auth-token-xyz").decode()
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(req["body"].decode(), strict_parsing=True)
    assert form == {"To": [TO], "From": [FROM], "Body": [text]}
    assert "tw-auth-token-xyz" not in drv.stderr


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_twilio_refusals(drv, lab, stub, status):
    api = stub(status=status, body=b'{"code":20003}')
    conf = gateways_conf(lab.tmp / "gw.conf", {"twilio": twilio_conf(lab, api.url)})
    rc, out = drv("send", "twilio", TO, "K7Q2", "ALERT TEST", conf=conf)
    assert (out[0]["ok"], out[0]["status"]) == (False, status)
    assert out[0]["error"] == "gateway answered HTTP %d" % status


def test_twilio_hangs_timeout(drv, lab, stub):
    api = stub(status=None)
    conf = gateways_conf(lab.tmp / "gw.conf", {"twilio": twilio_conf(lab, api.url)})
    t0 = time.monotonic()
    rc, out = drv("send", "twilio", TO, "K7Q2", "ALERT TEST", conf=conf,
                  connect_ms=500, timeout_ms=1000)
    assert time.monotonic() - t0 < 8
    assert out[0]["ok"] is False and out[0]["status"] == 0
    assert "timed out" in out[0]["error"].lower()
    assert 900 <= out[0]["ms"] < 3000
    assert len(api.snapshot()) == 1


def test_dead_endpoint(drv, lab):
    port = free_port()
    conf = gateways_conf(lab.tmp / "gw.conf",
                         {"twilio": twilio_conf(lab, "http://127.0.0.1:%d" % port)})
    rc, out = drv("send", "twilio", TO, "K7Q2", "ALERT TEST", conf=conf,
                  connect_ms=500, timeout_ms=1000)
    assert out[0]["ok"] is False and out[0]["status"] == 0 and out[0]["error"]


def test_slow_gateway_does_not_delay_another(drv, lab, stub):
    slow, fast = stub(status=None), stub(status=201)
    conf = gateways_conf(lab.tmp / "gw.conf", {
        "slow": twilio_conf(lab, slow.url), "fast": twilio_conf(lab, fast.url)})
    rc, out = drv("send", "slow", TO, "K7Q2", "ALERT ONE",
                  "fast", "+31600000002", "K7Q2", "ALERT TWO",
                  conf=conf, timeout_ms=3000)
    assert [o["gateway"] for o in out] == ["fast", "slow"]
    assert out[0]["ok"] is True and out[0]["ms"] < 1000
    assert out[1]["ok"] is False and out[1]["ms"] >= 2900


def test_cancel_never_calls_back(drv, lab, stub):
    api = stub(status=None)
    conf = gateways_conf(lab.tmp / "gw.conf", {"twilio": twilio_conf(lab, api.url)})
    rc, out = drv("cancel", "twilio", TO, "K7Q2", "ALERT TEST", conf=conf)
    assert rc == 0
    assert out == [{"i": 0, "cancelled": True}, {"deadline": True}]


def test_exit_with_requests_pending(drv, lab, stub):
    """The daemon frees its http_client with SMS still on their way:
    nothing is called back, nothing leaks (the driver runs under ASan)."""
    api = stub(status=None)
    conf = gateways_conf(lab.tmp / "gw.conf", {"twilio": twilio_conf(lab, api.url)})
    rc, out = drv("send", "twilio", TO, "K7Q2", "ALERT ONE",
                  "twilio", "+31600000002", "K7Q2", "ALERT TWO",
                  conf=conf, timeout_ms=20000, deadline_ms=700)
    assert rc == 0
    assert out == [{"deadline": True}]
    api.wait(2)


def test_refused_inputs_send_nothing(drv, lab, stub):
    api = stub(status=201)
    conf = gateways_conf(lab.tmp / "gw.conf", {"twilio": twilio_conf(lab, api.url)})
    rc, out = drv("send", "twilio", "0612345678", "K7Q2", "ALERT",
                  "twilio", TO, "K7Q2", "two\nlines",
                  "twilio", TO, "K7Q2", "x" * 321,
                  "twilio", TO, "bad ref", "ALERT",
                  "twilio", TO, "K7Q2", "", conf=conf)
    assert rc == 3
    assert out == [{"i": i, "sent": False} for i in range(5)]
    assert api.snapshot() == []
    assert "0612345678" not in drv.stderr and "two" not in drv.stderr


# ================================================================ generic HTTP


def test_http_json_template(drv, lab, stub):
    api = stub(status=200)
    key = secret_file(lab.tmp / "api.key", "api-key-123")
    conf = gateways_conf(lab.tmp / "gw.conf", {"h": {
        "type": "http", "url": api.url + "/v2/sms?dest={to}&ref={ref}",
        "header": ["Authorization: Bearer {password}", "X-Alert-Ref: {ref}",
                   "X-To: {to}"],
        "password_file": str(key), "from": "Alertrelay",
        "content_type": "application/json",
        "body": '{"to":"{to}","from":"{from}","text":"{text}","ref":"{ref}",'
                '"literal":{"n":[1,{}]}}'}})
    # quotes, a backslash and non-ASCII must come out as valid JSON
    text = 'ALERT "X" \\ é ü & + = / Ω'
    rc, out = drv("send", "h", TO, "K7Q2", text, conf=conf)
    assert rc == 0 and out[0]["ok"] is True
    (req,) = api.snapshot()
    assert req["path"] == "/v2/sms"
    assert req["query"] == {"dest": [TO], "ref": ["K7Q2"]}
    assert "dest=%2B31600000001" in req["raw_query"]
    assert req["headers"]["authorization"] == "Bearer api-key-123"
    assert req["headers"]["x-alert-ref"] == "K7Q2"
    assert req["headers"]["x-to"] == TO
    assert req["headers"]["content-type"] == "application/json"
    assert json.loads(req["body"]) == {
        "to": TO, "from": "Alertrelay", "text": text, "ref": "K7Q2",
        "literal": {"n": [1, {}]}}
    assert "api-key-123" not in drv.stderr


def test_http_form_template_and_basic_auth(drv, lab, stub):
    api = stub(status=202)
    pw = secret_file(lab.tmp / "pw", "p:ss w&rd")
    conf = gateways_conf(lab.tmp / "gw.conf", {"h": {
        "type": "http", "url": api.url + "/send", "username": "relay",
        "password_file": str(pw), "from": FROM,
        "body": "to={to}&from={from}&message={text}&id={ref}"}})
    text = "ALERT A&B + C=D 100% é"
    rc, out = drv("send", "h", TO, "K7Q2", text, conf=conf)
    assert out[0]["ok"] is True and out[0]["status"] == 202
    (req,) = api.snapshot()
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert req["headers"]["authorization"] == "Basic " + base64.b64encode(
        "relay:p:ss w&rd".encode()).decode()
    assert urllib.parse.parse_qs(req["body"].decode(), strict_parsing=True) == {
        "to": [TO], "from": [FROM], "message": [text], "id": ["K7Q2"]}


def test_http_get_template(drv, lab, stub):
    api = stub(status=200)
    conf = gateways_conf(lab.tmp / "gw.conf", {"h": {
        "type": "http", "method": "GET",
        "url": api.url + "/api/send?to={to}&msg={text}"}})
    text = "ALERT #1 & ?=/ é"
    rc, out = drv("send", "h", TO, "K7Q2", text, conf=conf)
    assert out[0]["ok"] is True
    (req,) = api.snapshot()
    assert req["method"] == "GET" and req["body"] == b""
    assert req["query"] == {"to": [TO], "msg": [text]}
