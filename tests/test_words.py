"""Words people understand (issue 13): alertctl speaks Dutch by default and
English with LANGUAGE=en, prints "alertctl: ..." without times and pids
(-v brings the detailed lines back), shows local time with its zone from
[client] timezone, keeps its machine lines and --json stable, and every
message of the official's and contact point's commands is in po/nl.po."""

import datetime
import json
import re
import subprocess

import pytest

import harness
from helpers import parse_send

# A zone with a fixed offset all year (no summer time): IST, +05:30.
ZONE, ZONE_ABBR, ZONE_OFFSET = "Asia/Kolkata", "IST", datetime.timedelta(
    hours=5, minutes=30)

# No language chosen: what a Dutch official's machine may well say.
DUTCH = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
ENGLISH = {"LANGUAGE": "en", "LC_ALL": "", "LC_MESSAGES": "",
           "LANG": "C.UTF-8"}

# Log-style detail: an ISO time and a pid, as the daemons write.
DETAIL_RX = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z alertctl\[\d+\]: ")

# The files whose messages go through gettext (words, and what came with
# the merges of drills, check-ins and the contact point).
WORDS_FILES = [
    "client/cmd_send.c", "client/cmd_cancel.c", "client/cmd_status.c",
    "client/cmd_list.c", "client/cmd_watch.c", "client/cmd_enroll.c",
    "client/cmd_pin.c", "client/cmd_keygen.c", "client/cmd_receive.c",
    "client/alertctl.c", "client/usage.c", "client/device.c",
    "client/relay_request.c", "client/relay_run.c", "client/resend.c",
    "client/watch.c", "client/relay_session.c", "client/outbox.c",
    "client/trust.c", "client/bundle.c", "client/verdict.c",
    "client/receipt.c", "client/msg.h", "client/receiver.c", "client/shown.c",
    "client/follow.c",
    "common/log.c", "common/ltime.c",
    # the contact point's commands and the receiver's alarm card, check-ins
    "client/cmd_ack.c", "client/cmd_inbox.c", "client/cmd_recipient.c",
    "client/cp_config.c", "client/cp_http.c", "client/cardtime.c",
    "client/hook_print.c", "client/cmd_checkin.c", "common/phone.c",
    # duress: the PINs of cancel
    "client/cmd_pincode.c", "client/duress_cancel.c", "client/pin_read.c",
    "client/pinfile.c",
    # signed acknowledgements (issue 17)
    "client/ack_verify.c", "client/receipt_ack.c", "client/cmd_ack_sign.c",
]


def ctl(lab, env, *args, lang=DUTCH, conf=True, timeout=30):
    argv = [harness.alertctl_bin()]
    if conf:
        argv += ["-c", env.client_conf]
    argv += list(args)
    cp = harness.run(argv, timeout=timeout, env=lang)
    lab.short_runs.append((argv, cp.stderr))
    return cp


def human_only(stderr):
    """Every stderr line is 'alertctl: ...': no time, no pid, no level."""
    for line in stderr.splitlines():
        assert line.startswith("alertctl: "), stderr
        assert not DETAIL_RX.search(line), stderr
        assert not re.search(r"alertctl\[\d+\]", line), stderr
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", line), stderr
        assert "warning:" not in line, stderr


def local(rfc3339, fmt):
    t = datetime.datetime.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S")
    return (t + ZONE_OFFSET).strftime(fmt) + " " + ZONE_ABBR


def with_zone(env):
    with open(env.client_conf) as f:
        text = f.read()
    text = text.replace("[client]\n", "[client]\ntimezone = %s\n" % ZONE, 1)
    with open(env.client_conf, "w") as f:
        f.write(text)


@pytest.mark.hard_timeout(90)
def test_send_status_list_cancel_in_dutch_and_english(lab):
    env, redis, relay, recv = lab.stack(receivers=["contactpunt"])
    with_zone(env)

    # send, Dutch: the machine lines stay as they are, the rest is Dutch
    cp = ctl(lab, env, "send", "--type", "panic", "--timeout", "20")
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    lines = cp.stdout.splitlines()
    aid, acc = parse_send(lines)
    assert acc and lines[-1] == acc.group(0), lines
    assert "verbinden met 127.0.0.1:%d" % env.relay_port in lines, lines
    assert "verbonden (TLS 1.3, pin van de relay klopt)" in lines, lines
    assert "aangemeld als %s" % env.device_id in lines, lines
    human_only(cp.stderr)

    # send, English
    cp = ctl(lab, env, "send", "--type", "test", "--timeout", "20",
             lang=ENGLISH)
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    lines = cp.stdout.splitlines()
    aid2, acc = parse_send(lines)
    assert "connecting to 127.0.0.1:%d" % env.relay_port in lines, lines
    assert "authenticated as %s" % env.device_id in lines, lines

    # status --json: the relay's answer, RFC 3339 UTC
    cp = ctl(lab, env, "status", aid, "--json")
    assert cp.returncode == 0, cp.stderr
    j = json.loads(cp.stdout)
    assert j["alert_id"] == aid and j["state"] == "open", j
    assert j["alert_type"] == "panic", j
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
                        j["created_at"]), j

    # status, Dutch: words and local time with its zone
    cp = ctl(lab, env, "status", aid)
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout
    assert re.search(r"^alarm: +%s$" % aid, out, re.M), out
    assert re.search(r"^soort: +paniek$", out, re.M), out
    assert re.search(r"^stand: +open$", out, re.M), out
    assert re.search(r"^ref: +%s$" % j["ref"], out, re.M), out
    created = local(j["created_at"], "%d-%m-%Y %H:%M:%S")
    assert re.search(r"^gemaakt: +%s$" % re.escape(created), out, re.M), out
    assert not re.search(r"\dT\d\d:\d\d", out), out
    human_only(cp.stderr)

    # status, English
    cp = ctl(lab, env, "status", aid, lang=ENGLISH)
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout
    assert re.search(r"^type: +panic$", out, re.M), out
    assert re.search(r"^state: +open$", out, re.M), out
    created = local(j["created_at"], "%Y-%m-%d %H:%M:%S")
    assert re.search(r"^created: +%s$" % re.escape(created), out, re.M), out

    # list --json and list
    cp = ctl(lab, env, "list", "--json")
    assert cp.returncode == 0, cp.stderr
    lj = json.loads(cp.stdout)
    assert [a["alert_id"] for a in lj["alerts"]] == [aid2, aid], lj
    for a in lj["alerts"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
                            a["created_at"]), a
    cp = ctl(lab, env, "list")
    assert cp.returncode == 0, cp.stderr
    row = [l for l in cp.stdout.splitlines() if aid in l]
    assert len(row) == 1 and "paniek" in row[0], cp.stdout
    assert row[0].startswith(local(lj["alerts"][1]["created_at"],
                                   "%d-%m-%Y %H:%M:%S")), row

    # cancel, Dutch then the state in both languages
    cp = ctl(lab, env, "cancel", aid, "--timeout", "20")
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "alarm %s is ingetrokken" % aid, cp.stdout
    human_only(cp.stderr)
    cp = ctl(lab, env, "cancel", aid2, "--timeout", "20", lang=ENGLISH)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "cancelled %s" % aid2, cp.stdout
    cp = ctl(lab, env, "status", aid)
    assert re.search(r"^stand: +ingetrokken$", cp.stdout, re.M), cp.stdout
    cp = ctl(lab, env, "status", aid, lang=ENGLISH)
    assert re.search(r"^state: +cancelled$", cp.stdout, re.M), cp.stdout

    # a failure: labelled, in the reader's language, no detail
    unknown = "0" * 32
    cp = ctl(lab, env, "status", unknown, "--timeout", "20")
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert ("alertctl: fout: de relay kent alarm %s niet" % unknown) \
        in cp.stderr, cp.stderr
    human_only(cp.stderr)
    cp = ctl(lab, env, "status", unknown, "--timeout", "20", lang=ENGLISH)
    assert ("alertctl: error: the relay does not know alert %s" % unknown) \
        in cp.stderr, cp.stderr

    # -v: today's detailed lines, with time and pid
    cp = ctl(lab, env, "-v", "status", aid, "--timeout", "20")
    assert cp.returncode == 0, cp.stderr
    detailed = [l for l in cp.stderr.splitlines() if DETAIL_RX.match(l)]
    assert detailed, cp.stderr
    assert all(DETAIL_RX.match(l) for l in cp.stderr.splitlines()), cp.stderr


def test_usage_errors_and_bare_alertctl(tmp_path):
    bare = harness.run([harness.alertctl_bin()], env=DUTCH)
    assert bare.returncode == 2, bare
    assert bare.stderr.startswith("Gebruik: alertctl "), bare.stderr
    assert "  send --type TYPE [...]      verstuur een alarm via de relay\n" \
        in bare.stderr, bare.stderr
    assert bare.stdout == "", bare.stdout
    bare = harness.run([harness.alertctl_bin()], env=ENGLISH)
    assert bare.returncode == 2, bare
    assert bare.stderr.startswith("Usage: alertctl "), bare.stderr

    # the official's help is Dutch too; the administrator's stays English
    cp = harness.run([harness.alertctl_bin(), "send", "--help"], env=DUTCH)
    assert cp.returncode == 0 and cp.stdout.startswith("Gebruik: "), cp
    assert "'ALARM NIET AFGELEVERD. Bel nu 112. (reden)'" in cp.stdout, \
        cp.stdout
    cp = harness.run([harness.alertctl_bin(), "device", "--help"], env=DUTCH)
    assert cp.returncode == 0 and cp.stdout.startswith("Usage: "), cp

    cp = harness.run([harness.alertctl_bin(), "send", "--type", "flood"],
                     env=DUTCH)
    assert cp.returncode == 2, cp
    assert cp.stderr.strip() == (
        "alertctl: fout: send: --type moet panic, threat of test zijn "
        "(zie 'alertctl send --help')"), cp.stderr
    cp = harness.run([harness.alertctl_bin(), "send", "--type", "flood"],
                     env=ENGLISH)
    assert cp.returncode == 2, cp
    assert cp.stderr.strip() == (
        "alertctl: error: send: --type must be panic, threat or test "
        "(see 'alertctl send --help')"), cp.stderr
    cp = harness.run([harness.alertctl_bin(), "frobnicate"], env=DUTCH)
    assert cp.returncode == 2
    assert cp.stderr.strip() == ("alertctl: fout: onbekende opdracht "
                                 "'frobnicate' (zie 'alertctl --help')"), \
        cp.stderr

    # an English locale asked for by LANG gives English too
    cp = harness.run([harness.alertctl_bin(), "frobnicate"],
                     env=dict(DUTCH, LANG="en_US.UTF-8"))
    assert "alertctl: error: unknown command 'frobnicate'" in cp.stderr, \
        cp.stderr

    # a zone that is not one: said with the key's name
    conf = tmp_path / "alertctl.conf"
    conf.write_text("[client]\ntimezone = Mars/Olympus\n")
    cp = harness.run([harness.alertctl_bin(), "-c", conf, "list"],
                     env=ENGLISH)
    assert cp.returncode == 1, cp
    assert "timezone: 'Mars/Olympus' is not a zone" in cp.stderr, cp.stderr


@pytest.mark.parametrize("prog,version", [("alertrelayd", "alertrelayd "),
                                          ("alertconsole", "alertconsole ")])
def test_daemons_help_and_version(prog, version):
    exe = str(harness.build_dir() / prog)
    for flag in ("-h", "--help"):
        cp = harness.run([exe, flag])
        assert cp.returncode == 0, cp
        assert cp.stdout.startswith("Usage: %s " % prog), cp.stdout
        assert "--version" in cp.stdout and cp.stderr == "", cp
    for flag in ("-V", "--version"):
        cp = harness.run([exe, flag])
        assert cp.returncode == 0, cp
        assert re.fullmatch(re.escape(version) + r"\d+\.\d+\.\d+\n",
                            cp.stdout), cp.stdout
    cp = harness.run([exe, "--no-such-option"])
    assert cp.returncode == 2, cp
    assert "Usage: %s " % prog in cp.stderr and cp.stdout == "", cp


def test_admin_listings_as_json(tmp_path):
    org = tmp_path / "org"
    pin = "A" * 43 + "="

    def admin(*args):
        cp = harness.run([harness.alertctl_bin()] + list(args) +
                         ["--org", org], env=ENGLISH)
        assert cp.returncode == 0, (args, cp.stdout, cp.stderr)
        return cp.stdout

    key = admin("org", "init", "--relay", "127.0.0.1:7443", "--pin",
                pin).splitlines()[0]
    admin("device", "add", "Wethouder B", "-o", tmp_path / "b.bundle")
    admin("device", "add", "Burgemeester", "-o", tmp_path / "c.bundle")
    admin("device", "revoke", "burgemeester")
    admin("recipient", "add", "Contactpunt", "--webhook",
          "https://127.0.0.1:9/hook")

    show = json.loads(admin("org", "show", "--json"))
    assert show["org_key"] == key, show
    assert show["version"] == 0 and show["issued_at"] is None, show
    assert show["unsigned_changes"] is True, show
    assert show["relays"] == ["127.0.0.1:7443"], show
    assert show["relay_pins"] == [pin], show
    assert (show["devices"], show["devices_revoked"],
            show["recipients"]) == (2, 1, 1), show

    devs = json.loads(admin("device", "list", "--json"))["devices"]
    assert [(d["id"], d["alias"], d["status"]) for d in devs] == [
        ("wethouder-b", "Wethouder B", "active"),
        ("burgemeester", "Burgemeester", "revoked")], devs
    assert all(len(d["public_key"]) == 44 and d["retired_keys"] == []
               for d in devs), devs

    recs = json.loads(admin("recipient", "list", "--json"))["recipients"]
    assert len(recs) == 1 and recs[0]["id"] == "contactpunt", recs
    assert recs[0]["channels"] == {"webhook": "https://127.0.0.1:9/hook",
                                   "sms": None}, recs

    admin("directory", "sign")
    show = json.loads(admin("org", "show", "--json"))
    assert show["version"] == 1 and show["unsigned_changes"] is False, show
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        show["issued_at"]), show

    # --json where it does not belong is a usage error
    cp = harness.run([harness.alertctl_bin(), "device", "revoke",
                      "wethouder-b", "--json", "--org", org], env=ENGLISH)
    assert cp.returncode == 2 and "--json is for list" in cp.stderr, cp


def _po_tool(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=60, cwd=harness.ROOT, **kw)


def test_dutch_catalogue_is_whole(tmp_path):
    po = harness.ROOT / "po" / "nl.po"
    cp = _po_tool("msgfmt", "--check", "-o", "/dev/null", str(po))
    assert cp.returncode == 0, cp.stderr
    cp = _po_tool("msgattrib", "--untranslated", "--no-obsolete", str(po))
    assert cp.returncode == 0, cp.stderr
    assert "msgid" not in cp.stdout.replace('msgid ""\nmsgstr ""', ""), \
        cp.stdout
    cp = _po_tool("msgattrib", "--only-fuzzy", "--no-obsolete", str(po))
    assert "msgid" not in cp.stdout.replace('msgid ""\nmsgstr ""', ""), \
        cp.stdout

    # what make pot would find in this files is all translated
    pot = tmp_path / "words.pot"
    cp = _po_tool("xgettext", "--from-code=UTF-8", "--keyword=_",
                  "--keyword=N_", "-o", str(pot), *WORDS_FILES)
    assert cp.returncode == 0, cp.stderr
    merged = tmp_path / "merged.po"
    cp = _po_tool("msgmerge", "--no-fuzzy-matching", "-q", "-o", str(merged),
                  str(po), str(pot))
    assert cp.returncode == 0, cp.stderr
    cp = _po_tool("msgattrib", "--untranslated", "--no-obsolete", str(merged))
    assert "msgid" not in cp.stdout.replace('msgid ""\nmsgstr ""', ""), \
        "untranslated in po/nl.po:\n" + cp.stdout


@pytest.mark.hard_timeout(60)
def test_long_running_commands_keep_log_lines_off_a_terminal(lab):
    """receive (and watch) into a pipe or a journal keep the detailed lines,
    each with its time: their own messages still in the reader's language."""
    env = lab.env()
    r = env.recipient("contactpunt")
    port = harness.free_port()
    argv = [harness.alertctl_bin(), "receive", "--listen",
            "127.0.0.1:%d" % port, "--secret", r.secret_file, "--key", r.key,
            "--devices", env.devices_dir]
    p = harness.Proc(argv, "receive-nl", lab.logdir, env=DUTCH)
    lab.things.append(p)
    p.start()
    p.wait_for(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z alertctl\[\d+\]: "
               r"info: luistert op 127\.0\.0\.1:%d$" % port, "stderr", 10)


@pytest.mark.hard_timeout(60)
def test_watch_on_a_terminal_speaks_plainly(lab):
    """On a terminal, watch (like every command) says 'alertctl: ...'."""
    env = lab.env(relay_port=harness.free_port())
    # no relay: watch tries, says so plainly, and gives up at its timeout;
    # JOURNAL_STREAM inherited from a desktop session: still a person's
    # terminal
    rc, text = harness.on_terminal(
        [harness.alertctl_bin(), "-c", env.client_conf, "watch",
         "--timeout", "2"], dict(DUTCH, JOURNAL_STREAM="1:1"))
    text = text.replace("\r\n", "\n")
    assert rc == 1, text
    assert "alertctl: fout: watch: 2 seconden voorbij: " in text, text
    assert not DETAIL_RX.search(text) and "<3>" not in text, text
