"""libalertclient (issue 14, part 1): the shared library exports exactly
its ar_ API; `make install` gives a header and an alertclient.pc from
which examples/panic.c (C99, pedantic) and a C++ program build with
nothing else; the example sends a real alert through a real relay and
Redis and ends when the contact point's signed acknowledgement arrives,
verified; tests/lib_check.c drives the error paths, the step mode and a
caller's libevent loop against a real relay, ar_send and ar_cancel called
directly (and an outbox that cannot keep the alert), two clients of two
configurations in one process each checking acknowledgements by its own
directory, ar_follow's end at expiry and at the relay's word (only when
allowed), and the library's texts in Dutch inside a host program with a
text domain of its own.  Under the sanitizer build (make test-asan) the
programs are built with the same sanitizers."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import harness
import test_signed_ack as signed
from harness import ROOT, alertctl_bin, build_dir
from helpers import enrollment_bundle

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

SONAME = "libalertclient.so.1"
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer"]


def lib_path():
    return build_dir() / SONAME


def sanitized():
    """The library under test is the sanitizer build's."""
    cp = harness.run(["readelf", "-d", lib_path()])
    return "libasan" in cp.stdout


def cc_flags():
    return SANITIZE if sanitized() else []


def sh(argv, timeout=300, env=None, cwd=None):
    cp = harness.run(argv, timeout=timeout, env=env) if cwd is None else \
        subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    assert cp.returncode == 0, "%s: exit %d\n%s%s" % (
        " ".join(map(str, argv)), cp.returncode, cp.stdout, cp.stderr)
    return cp


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install DESTDIR=<tmp> PREFIX=/usr` of the build under test;
    returns (destdir, the pkg-config words for alertclient)."""
    dest = tmp_path_factory.mktemp("destdir")
    argv = ["make", "-s", "-C", ROOT, "BUILD=%s" % build_dir(),
            "DESTDIR=%s" % dest, "PREFIX=/usr", "install"]
    if sanitized():
        argv.append("OPTFLAGS=-O1 -g %s" % " ".join(SANITIZE))
    sh(argv, timeout=900)
    pc = dest / "usr/lib/pkgconfig"
    assert (pc / "alertclient.pc").is_file()
    words = sh(["pkg-config", "--define-prefix", "--cflags", "--libs",
                "alertclient"], env={"PKG_CONFIG_PATH": str(pc)}).stdout
    return dest, words.split()


def test_exports_exactly_the_ar_api():
    assert lib_path().is_file(), lib_path()
    soname = sh(["readelf", "-d", lib_path()]).stdout
    assert "Library soname: [%s]" % SONAME in soname, soname
    out = sh(["nm", "-D", "--defined-only", lib_path()]).stdout
    names = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "A" and \
                parts[2] == "ALERTCLIENT_1":
            continue  # the version node of lib/alertclient.map
        names.append(re.sub(r"@.*", "", parts[-1]))
    assert names, out
    other = [n for n in names if not n.startswith("ar_")]
    assert not other, "exported beside ar_*: %s" % other
    for must in ("ar_init", "ar_strerror", "ar_version", "ar_client_new",
                 "ar_client_free", "ar_client_step", "ar_send", "ar_cancel",
                 "ar_status", "ar_follow"):
        assert must in names, (must, names)
    # the header declares what the library exports, nothing more
    header = (ROOT / "lib/alertclient.h").read_text()
    declared = set(re.findall(r"\b(ar_[a-z_]+)\(", header))
    assert declared == set(names), (declared ^ set(names))


def test_installed_header_and_pc_build_c99_and_cxx(installed, tmp_path):
    dest, words = installed
    assert (dest / "usr/include/alertclient.h").is_file()
    assert (dest / "usr/lib" / SONAME).is_file()
    assert (dest / "usr/lib/libalertclient.so").is_symlink()
    assert (dest / "usr/share/man/man3/libalertclient.3").is_file()
    assert "-I%s/usr/include" % dest in words, words
    rpath = "-Wl,-rpath,%s/usr/lib" % dest
    sh(["cc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"] +
       cc_flags() + ["-o", tmp_path / "panic", ROOT / "examples/panic.c"] +
       words + [rpath])
    cxx = tmp_path / "use.cpp"
    cxx.write_text(
        "#include <alertclient.h>\n#include <cstdio>\n"
        "static void ev(void *, const struct ar_event *e) {\n"
        "    std::printf(\"%d\\n\", e->type);\n}\n"
        "int main() {\n"
        "    ar_client *c = nullptr;\n"
        "    ar_callbacks cb = {ev};\n"
        "    if (ar_init() != AR_OK) return 1;\n"
        "    int rc = ar_client_new(&c, \"/nonexistent\", nullptr, &cb,"
        " nullptr, nullptr, 0);\n"
        "    std::printf(\"%s %s\\n\", ar_version(), ar_strerror(rc));\n"
        "    return rc == AR_E_CONFIG && c == nullptr ? 0 : 1;\n}\n")
    sh(["g++", "-std=c++11", "-pedantic", "-Wall", "-Wextra", "-Werror"] +
       cc_flags() + ["-o", tmp_path / "use", cxx] + words + [rpath])
    cp = harness.run([tmp_path / "use"], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.startswith("1.0.0 the configuration cannot be used"), \
        cp.stdout


@pytest.mark.hard_timeout(400)
def test_panic_example_sends_and_ends_at_the_verified_ack(lab, installed,
                                                           tmp_path):
    dest, words = installed
    exe = tmp_path / "panic"
    sh(["cc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"] +
       cc_flags() + ["-o", exe, ROOT / "examples/panic.c"] + words +
       ["-Wl,-rpath,%s/usr/lib" % dest])
    st, _sk, keyfile = signed.stack(lab)
    p = lab.spawn([exe, st.env.client_conf, "help"], "panic")
    m = p.wait_for(r"^alert_id=([0-9a-f]{32})$", "stdout", timeout=15)
    aid = m.group(1)
    p.wait_for(r"^accepted %s by the relay \(\S+\)$" % aid, "stdout", 15)
    st.wait_webhook("contactpunt", "alert.raised", aid)
    # the relay made it durable in Redis, as it does alertctl's
    assert st.alert_hash(aid)["state"] == "open"
    cp = signed.ctl(lab, "-c", signed.cp_conf(st, keyfile), "ack", aid,
                    "--by", "Jan")
    assert cp.returncode == 0, cp.stderr
    p.wait_for(r"^acknowledged by Jan \(Contactpunt\) \(signature "
               r"verified\)$", "stdout", 15)
    assert p.wait_exit(15) == 0, p.tail()
    # the library says nothing that only fits alertctl (a terminal's
    # Ctrl-C, its commands and options)
    for said in (p.text("stdout"), p.text("stderr")):
        assert "Ctrl-C" not in said and "alertctl" not in said, said
    # the alert went through the outbox: alertctl sees it as this
    # device's, and the relay as acknowledged
    cp = signed.ctl(lab, "-c", st.env.client_conf, "status", aid)
    assert cp.returncode == 0 and "acknowledged" in cp.stdout, \
        cp.stdout + cp.stderr


def lib_check(tmp_path):
    """tests/lib_check.c built against the library under test."""
    exe = tmp_path / "lib_check"
    libs = sh(["pkg-config", "--cflags", "--libs", "libevent"]).stdout.split()
    sh(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror"] + cc_flags() +
       ["-I", ROOT / "lib", "-o", exe, ROOT / "tests/lib_check.c",
        "-L", build_dir(), "-lalertclient",
        "-Wl,-rpath,%s" % build_dir()] + libs)
    return exe


@pytest.mark.hard_timeout(300)
def test_error_paths_step_mode_and_callers_loop(lab, tmp_path):
    env, _redis, _relay, _recv = lab.stack()
    exe = lib_check(tmp_path)
    argv = [exe, env.client_conf]
    cp = harness.run(argv, timeout=120)
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "0 failed" in cp.stdout
    assert "FAILED" not in cp.stdout
    # the unknown alert was asked of the relay, over both loops
    assert cp.stdout.count("op 3 alert ") >= 2, cp.stdout
    # ar_client_new said which file it could not use
    assert "why: " in cp.stdout and "/nonexistent/alertctl.conf" in \
        cp.stdout, cp.stdout


def run_check(lab, argv, timeout=60, env=None):
    cp = harness.run(argv, timeout=timeout, env=env)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def sent_alert(lab, env):
    """A panic alert sent with alertctl; its alert_id."""
    rc, out, err = lab.send(env, "--type", "panic")
    assert rc == 0, (out, err)
    ids = [ln.split("=", 1)[1] for ln in out if ln.startswith("alert_id=")]
    assert ids, out
    return ids[0]


@pytest.mark.hard_timeout(120)
def test_library_texts_are_dutch_inside_a_host_program(lab, tmp_path):
    """A host that calls setlocale and textdomain("lib_check_host"): the
    library's texts still come from the library's catalogue (dgettext),
    in Dutch under LANGUAGE=nl."""
    env, _redis, _relay, _recv = lab.stack()
    exe = lib_check(tmp_path)
    cp = run_check(lab, [exe, "lang", env.client_conf], env={
        "LANGUAGE": "nl", "LANG": "C.UTF-8",
        "ALERTRELAY_LOCALEDIR": str(build_dir() / "locale")})
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "de relay kent alarm 0123456789abcdef0123456789abcdef niet" in \
        cp.stdout, cp.stdout


@pytest.mark.hard_timeout(200)
def test_two_clients_check_acks_by_their_own_directory(lab, tmp_path):
    """Client A (signed directory with the contact point's sign_key) and
    client B (a configuration without a directory, another time zone) in
    one process, on one loop, asking for the same acknowledged alert: A
    finds the signature verified, B that it holds no directory to check
    with, each giving the time in its own zone; B freed from its last
    callback, A goes on and still verifies (under ASan too)."""
    st, _sk, keyfile = signed.stack(lab)
    env = st.env
    aid = sent_alert(lab, env)
    st.wait_webhook("contactpunt", "alert.raised", aid)
    cp = signed.ctl(lab, "-c", signed.cp_conf(st, keyfile), "ack", aid,
                    "--by", "Jan")
    assert cp.returncode == 0, cp.stderr
    other = tmp_path / "other.conf"
    lines = [ln for ln in env.client_conf.read_text().splitlines()
             if not ln.startswith(("org_key", "directory", "outbox"))]
    lines += ["outbox = %s" % (tmp_path / "other-outbox"),
              "timezone = America/New_York", "",
              "[recipient contactpunt]",
              "public_key = %s" % env.recipients["contactpunt"].public_key]
    other.write_text("\n".join(lines) + "\n")
    os.chmod(other, 0o600)
    exe = lib_check(tmp_path)
    cp = run_check(lab, [exe, "two", env.client_conf, other, aid], 90)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    out = cp.stdout
    # each in its own time zone too (B opened last: once it set A's)
    assert re.search(r"^A ack: acknowledged by Jan \(Contactpunt\) at "
                     r"\d\d:\d\d CET .*signed by the person, verified",
                     out, re.M), out
    assert re.search(r"^A again: acknowledged by Jan \(Contactpunt\) at "
                     r"\d\d:\d\d CET .*signed by the person, verified",
                     out, re.M), out
    assert re.search(r"^B ack: acknowledged by .* at \d\d:\d\d EST .*"
                     r"unverified: this device holds no signed directory",
                     out, re.M), out


@pytest.mark.hard_timeout(200)
def test_follow_ends_on_the_relays_word_only_when_allowed(lab, tmp_path):
    """An SMS acknowledgement is the relay's word (AR_ACK_RELAY): ar_follow
    without AR_FOLLOW_ACCEPT_RELAY_ACK tells it and keeps following; with
    the flag it ends, done."""
    st, _sk, _keyfile = signed.stack(lab)
    env = st.env
    aid = sent_alert(lab, env)
    signed._wait_sms(st)
    ref = st.alert_hash(aid)["ref"]
    assert st.sms_reply("contactpunt", "OK " + ref) == 200
    harness.wait_until(lambda: st.alert_hash(aid)["state"] == "acknowledged",
                       timeout=15)
    exe = lib_check(tmp_path)
    p = lab.spawn([exe, "follow", env.client_conf, aid, "0"], "follow0")
    p.wait_for(r"event 6 op 4 alert %s: acknowledged by Contactpunt .* via "
               r"sms \(confirmed by the relay, not by the person" % aid,
               "stdout", 20)
    time.sleep(1.5)
    assert p.running(), p.tail()
    p.signal(15)
    assert "--accept-relay-ack" not in p.text("stdout"), p.tail()
    cp = run_check(lab, [exe, "follow", env.client_conf, aid, "1"], 60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "follow ended: done 1 failed 0 status 0 acks 1 verified 2" in \
        cp.stdout, cp.stdout


@pytest.mark.hard_timeout(120)
def test_follow_ends_when_the_alert_expires(lab, tmp_path):
    env = lab.env()
    env.policies = {"default": {"types": "panic threat test",
                                "tier": ["0 contactpunt:webhook"],
                                "max_age": 3}}
    env.write_relay_conf()
    lab.redis(env)
    lab.relay(env)
    lab.recorder_for(env, "contactpunt")
    aid = sent_alert(lab, env)
    exe = lib_check(tmp_path)
    t0 = time.monotonic()
    cp = run_check(lab, [exe, "follow", env.client_conf, aid, "0"], 60)
    assert cp.returncode == 3, cp.stdout + cp.stderr
    assert "code expired" in cp.stdout, cp.stdout
    assert "follow ended: done 0 failed 1 status 15" in cp.stdout, cp.stdout
    assert time.monotonic() - t0 < 20


@pytest.mark.hard_timeout(150)
def test_send_and_cancel_called_directly(lab, tmp_path):
    """ar_send then ar_cancel of the alert; with an outbox path that
    cannot be a directory (a regular file in its way: tests may run as
    root), ar_send says AR_E_STORAGE and delivers the alert all the same;
    an unreadable PIN file is a configuration error, not a wrong PIN."""
    env, redis, _relay, _recv = lab.stack()
    exe = lib_check(tmp_path)
    cp = run_check(lab, [exe, "send", env.client_conf, "cancel"], 90)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    assert re.search(r"^send rc 0 ", cp.stdout, re.M), cp.stdout
    assert "send ended: status 0" in cp.stdout, cp.stdout
    assert "cancel ended: status 0" in cp.stdout, cp.stdout
    aid = re.search(r"^send rc 0 \(success\) alert ([0-9a-f]{32})",
                    cp.stdout, re.M).group(1)
    assert (env.dir / "outbox" / ("%s.json" % aid)).is_file()

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the outbox's parent should be\n")
    conf = tmp_path / "blocked.conf"
    env.write_client_conf(path=conf, outbox=blocker / "outbox")
    os.chmod(conf, 0o600)
    cp = run_check(lab, [exe, "send", conf], 90)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    assert re.search(r"^send rc 19 \(the alert was not kept in the outbox\)"
                     r" alert [0-9a-f]{32}: the alert could not be kept",
                     cp.stdout, re.M), cp.stdout
    assert "send ended: status 0" in cp.stdout, cp.stdout

    pin = Path(str(env.device_key) + ".pin")
    pin.write_text("not a PIN file\n")
    os.chmod(pin, 0o600)
    try:
        cp = run_check(lab, [exe, "cancel", env.client_conf, aid, "1234"])
    finally:
        pin.unlink()
    assert "cancel rc 3 (the configuration cannot be used)" in cp.stdout, \
        cp.stdout + cp.stderr


@pytest.mark.hard_timeout(150)
def test_cancel_checks_the_pin_off_the_loop(lab, tmp_path):
    """With a PIN file ar_cancel returns at once, the Argon2id check runs
    on a thread of its own, and the outcome is an event: a wrong PIN
    AR_E_PIN (nothing sent), the right one a cancel; a client freed while
    a check is under way waits for it and tells nothing more."""
    env, _redis, _relay, _recv = lab.stack()
    cp = harness.run([alertctl_bin(), "-c", env.client_conf, "pincode",
                      "set"], timeout=60, input="47119305\n80802461\n")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    aid = sent_alert(lab, env)
    exe = lib_check(tmp_path)
    cp = run_check(lab, [exe, "cancel", env.client_conf, aid, "1111"], 90)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    assert "cancel rc 0 (success)" in cp.stdout, cp.stdout
    assert re.search(r"^cancel ended: status 14 ", cp.stdout, re.M), \
        cp.stdout
    assert "Wrong PIN. The alert is not cancelled." in cp.stdout, cp.stdout
    took = int(re.search(r"^cancel returned after (\d+) ms", cp.stdout,
                         re.M).group(1))
    ended = int(re.search(r"^cancel ended: status 14 after (\d+) ms",
                          cp.stdout, re.M).group(1))
    assert took < ended, cp.stdout
    cp = run_check(lab, [exe, "cancel", env.client_conf, aid, "47119305"],
                   90)
    assert cp.returncode == 0 and "0 failed" in cp.stdout, \
        cp.stdout + cp.stderr
    assert re.search(r"^cancel ended: status 0 ", cp.stdout, re.M), \
        cp.stdout


@pytest.mark.hard_timeout(120)
def test_enroll_writes_what_alertctl_enroll_writes(lab, tmp_path):
    """ar_enroll from a bundle: the same key, configuration and directory
    as `alertctl enroll`; refused over an enrolled device unless forced;
    the result opens as a client."""
    env = lab.env()
    env.use_directory(2)
    bundle = enrollment_bundle(env, env.directory.read_text(),
                               tmp_path / "device.bundle")
    exe = lib_check(tmp_path)
    conf = tmp_path / "lib" / "alertctl.conf"
    argv = [exe, "enroll", bundle, conf]
    cp = harness.run(argv, timeout=60)
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "enrolled %s" % env.device_id in cp.stdout, cp.stdout
    assert "0 failed" in cp.stdout
    ref = tmp_path / "ctl"
    argv = [alertctl_bin(), "enroll", bundle, "--dir", ref]
    cp = harness.run(argv, timeout=30)
    lab.short_runs.append((argv, cp.stderr))
    assert cp.returncode == 0, cp.stderr
    for name in ("alertctl.conf", "device.key", "directory.signed"):
        assert (conf.parent / name).read_bytes() == (ref / name).read_bytes(), \
            name
        assert (conf.parent / name).stat().st_mode & 0o077 == 0, name


def test_man_page_lints_clean_and_covers_every_function():
    page = ROOT / "man/libalertclient.3"
    cp = harness.run(["mandoc", "-Tlint", "-Wwarning", page], timeout=30)
    assert cp.returncode == 0 and (cp.stdout + cp.stderr).strip() == "", \
        cp.stdout + cp.stderr
    text = page.read_text()
    header = (ROOT / "lib/alertclient.h").read_text()
    for fn in set(re.findall(r"\b(ar_[a-z_]+)\(", header)):
        assert re.search(r"^\.Fn %s " % fn, text, re.M), fn
    for code in re.findall(r"\b(AR_OK|AR_E_[A-Z_]+) = \d+", header):
        assert ".It Dv %s" % code in text, code
