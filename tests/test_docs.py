"""The manual pages, the help texts, the example configuration and the
daemon's key table agree with each other, so they cannot drift apart.

  - every man page is clean under `mandoc -Tlint -Wwarning`;
  - alertctl(1) documents exactly the options `alertctl --help` and each
    `alertctl COMMAND --help` print (both directions, per command);
  - alertrelayd(8) documents exactly the option letters of alertrelayd's
    usage message;
  - every key of conf/alertrelayd.conf (commented `;key =` lines too) is
    in alertrelayd.conf(5), under its section, and accepted by the
    daemon (`alertrelayd -t` on a configuration that sets each of them);
    and every key the daemon knows is in the example and the man page.

Nothing here needs Redis; mandoc comes from Debian's `mandoc` package.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

import harness

ROOT = harness.ROOT
MAN = ROOT / "man"
ALERTCTL_1 = MAN / "alertctl.1"
ALERTRELAYD_8 = MAN / "alertrelayd.8"
ALERTRELAYD_CONF_5 = MAN / "alertrelayd.conf.5"
CONF_EXAMPLE = ROOT / "conf" / "alertrelayd.conf"
RELAY_CONFIG_C = ROOT / "daemon" / "relay_config.c"
# at least these; the list itself comes from `alertctl --help`
SUBCOMMANDS = ("keygen", "pin", "send", "receive")

# mdoc macros that may follow a flag on the same line (they end Fl's
# argument list); anything else that is not a delimiter is a flag name.
MDOC_CALLABLE = set("""Ac Ao Ap Aq Ar At Bc Bo Bq Brc Bro Brq Bsx Bx Cm Dc
    Do Dq Dv Dx Ec Em En Eo Er Es Ev Fa Fc Fl Fn Fo Fr Ft Fx Ic Li Lk Ms Mt
    Nm No Ns Nx Oc Oo Op Ot Ox Pa Pc Pf Po Pq Qc Ql Qo Qq Sc So Sq St Sx Sy
    Tn Ux Va Vt Xc Xo Xr""".split())
MDOC_DELIMS = set("| , . ; : ( ) [ ] ? !".split())


def mandoc():
    exe = shutil.which("mandoc")
    if exe is None:
        pytest.fail("mandoc is not installed (Debian package mandoc)",
                    pytrace=False)
    return exe


def need(*progs):
    for p in progs:
        path = Path(harness.build_dir()) / p
        if not os.access(path, os.X_OK):
            pytest.fail("not built: %s (run make)" % path, pytrace=False)


# ---------------------------------------------------------------- help texts


def alertctl_help(command=None):
    argv = [harness.alertctl_bin()] + ([command] if command else []) + ["--help"]
    cp = harness.run(argv, timeout=10)
    assert cp.returncode == 0, "%s: exit %d\n%s" % (argv, cp.returncode, cp.stderr)
    assert cp.stdout.strip(), "%s printed no help on stdout" % argv
    return cp.stdout


def help_options(text):
    """Every option a help text shows: {'--type', '-t', ...}.  Short
    options count where the help lists them as options (at the start of
    a line, or as "-x," before a long one, or in [-x] brackets)."""
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    for line in text.splitlines():
        m = re.match(r"^\s+(-[A-Za-z])\b", line)
        if m:
            opts.add(m.group(1))
        opts.update(re.findall(r"\[(-[A-Za-z])\b", line))
    return opts


# ---------------------------------------------------------------- mdoc


def mdoc_lines(path):
    return path.read_text().splitlines()


def mdoc_flags(line):
    """The flags a mdoc line shows through Fl: '.It Fl t , Fl -type Ar x'
    gives ['-t', '--type']; '.Fl h | V' gives ['-h', '-V']."""
    if not line.startswith("."):
        return []
    words = line[1:].split()
    out = []
    in_fl = False
    for w in words:
        if w == "Fl":
            in_fl = True
            continue
        if not in_fl:
            continue
        if w in MDOC_CALLABLE:
            in_fl = False
        elif w in MDOC_DELIMS:
            continue
        else:
            out.append("-" + w)
    return out


def mdoc_sections(lines):
    """{'.Sh name': [lines]} and {('.Sh name', '.Ss name'): [lines]}."""
    sh, ss = {}, {}
    cur_sh, cur_ss = None, None
    for line in lines:
        if line.startswith(".Sh "):
            cur_sh, cur_ss = line[4:].strip(), None
            sh[cur_sh] = []
            continue
        if line.startswith(".Ss "):
            cur_ss = line[4:].strip()
            ss[(cur_sh, cur_ss)] = []
        if cur_sh is not None:
            sh[cur_sh].append(line)
        if cur_ss is not None:
            ss[(cur_sh, cur_ss)].append(line)
    return sh, ss


def flags_in(lines):
    out = set()
    for line in lines:
        out.update(mdoc_flags(line))
    return out


def alertctl_man():
    assert ALERTCTL_1.exists(), "man/alertctl.1 is missing"
    return mdoc_sections(mdoc_lines(ALERTCTL_1))


def synopsis_forms(lines):
    """alertctl(1)'s SYNOPSIS as [(global flags, command, command flags)],
    one per .Nm form; the command is the first Cm word."""
    forms = []
    for line in lines:
        if line.strip() == ".Nm":
            forms.append([set(), None, set()])
            continue
        if not forms:
            continue
        f = forms[-1]
        m = re.match(r"^\.Cm\s+(\S+)", line)
        if m and f[1] is None:
            f[1] = m.group(1)
        (f[0] if f[1] is None else f[2]).update(mdoc_flags(line))
    return [tuple(f) for f in forms]


# ---------------------------------------------------------------- mandoc -Tlint


@pytest.mark.parametrize("page", ["alertctl.1", "alertrelayd.conf.5",
                                  "alertrelayd.8", "alertconsole.8"])
def test_mandoc_lint_clean(page):
    path = MAN / page
    assert path.exists(), "%s is missing" % path
    cp = harness.run([mandoc(), "-Tlint", "-Wwarning", path], timeout=30)
    out = (cp.stdout + cp.stderr).strip()
    assert cp.returncode == 0 and out == "", (
        "mandoc -Tlint -Wwarning %s: exit %d\n%s" % (page, cp.returncode, out))


def test_every_man_page_is_linted():
    """Nothing in man/ escapes the lint test above."""
    pages = sorted(p.name for p in MAN.iterdir() if re.search(r"\.[158]$", p.name))
    assert pages == ["alertconsole.8", "alertctl.1", "alertrelayd.8",
                     "alertrelayd.conf.5"], pages


def test_man_pages_render():
    """They render to text with their NAME and the sections sysadmins look
    for (a page that lints clean can still be empty)."""
    want = {"alertctl.1": ["SYNOPSIS", "DESCRIPTION", "EXIT STATUS",
                           "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"],
            "alertrelayd.8": ["SYNOPSIS", "DESCRIPTION", "EXIT STATUS",
                              "SEE ALSO"],
            "alertrelayd.conf.5": ["DESCRIPTION", "SEE ALSO"],
            "alertconsole.8": ["SYNOPSIS", "DESCRIPTION", "CONFIGURATION",
                               "FILES", "EXIT STATUS", "SEE ALSO"]}
    for page, sections in want.items():
        cp = harness.run([mandoc(), "-Tascii", MAN / page], timeout=30)
        assert cp.returncode == 0, cp.stderr
        text = re.sub(r".\x08", "", cp.stdout)
        for s in ["NAME"] + sections:
            assert re.search(r"^%s$" % re.escape(s), text, re.M), (
                "%s has no %s section" % (page, s))


# ---------------------------------------------------------------- alertctl(1)


def global_options(text):
    """The options of `alertctl --help`'s Options: block (its Commands:
    block shows options of the commands, checked per command)."""
    m = re.search(r"^Options:\n(.*?)(?:\n\n|\Z)", text, re.M | re.S)
    assert m, "alertctl --help has no Options: block:\n" + text
    return help_options(m.group(1))


def test_alertctl_global_options_documented_both_ways():
    need("alertctl")
    sh, _ = alertctl_man()
    helped = global_options(alertctl_help())
    documented = flags_in(sh.get("DESCRIPTION", []))
    assert {"--config", "--verbose", "--help", "--version"} <= helped, helped
    missing = sorted(o for o in helped if o not in documented)
    assert not missing, ("alertctl --help shows %s, which DESCRIPTION of "
                         "alertctl(1) does not document" % missing)
    extra = sorted(documented - helped)
    assert not extra, ("alertctl(1) DESCRIPTION documents %s, which "
                       "alertctl --help does not show" % extra)


def help_commands():
    """The commands `alertctl --help` lists in its Commands: block."""
    text = alertctl_help()
    m = re.search(r"^Commands:\n(.*?)(?:\n\n|\Z)", text, re.M | re.S)
    assert m, "alertctl --help has no Commands: block:\n" + text
    cmds = []
    for line in m.group(1).splitlines():
        w = re.match(r"^\s+([a-z][a-z-]*)\b", line)
        if w and w.group(1) not in cmds:
            cmds.append(w.group(1))
    return cmds


def test_alertctl_commands_are_the_man_page_commands():
    """alertctl(1) has one COMMANDS subsection per command of `alertctl
    --help`, no more, no fewer (a new command needs its page)."""
    need("alertctl")
    _, ss = alertctl_man()
    man_commands = sorted(s for (h, s) in ss if h == "COMMANDS")
    cmds = help_commands()
    assert set(SUBCOMMANDS) <= set(cmds), cmds
    assert man_commands == sorted(cmds), (
        "alertctl --help lists %s; alertctl(1) COMMANDS has %s"
        % (sorted(cmds), man_commands))


def test_alertctl_command_options_documented_both_ways():
    """For each command: every option its --help shows is documented in
    its COMMANDS subsection, and every flag documented there is one its
    --help shows."""
    need("alertctl")
    _, ss = alertctl_man()
    problems = []
    for command in help_commands():
        if ("COMMANDS", command) not in ss:
            problems.append("no '.Ss %s' under COMMANDS" % command)
            continue
        helped = help_options(alertctl_help(command))
        documented = flags_in(ss[("COMMANDS", command)])
        missing = sorted(helped - documented)
        if missing:
            problems.append("alertctl %s --help shows %s; alertctl(1) does "
                            "not document it under COMMANDS/%s"
                            % (command, missing, command))
        extra = sorted(documented - helped)
        if extra:
            problems.append("alertctl(1) documents %s for %s, which "
                            "'alertctl %s --help' does not show"
                            % (extra, command, command))
    assert not problems, "\n".join(problems)


def test_alertctl_synopsis_matches_help():
    """Each SYNOPSIS form: flags before the command are global options,
    flags after it are options of that command."""
    need("alertctl")
    sh, _ = alertctl_man()
    forms = synopsis_forms(sh.get("SYNOPSIS", []))
    assert forms, "alertctl(1) has no SYNOPSIS forms"
    global_opts = global_options(alertctl_help())
    seen = set()
    for gflags, command, cflags in forms:
        assert gflags <= global_opts, (command, gflags - global_opts)
        if command is None:
            continue
        assert command in help_commands(), command
        seen.add(command)
        copts = help_options(alertctl_help(command))
        assert cflags <= copts, ("SYNOPSIS of %s shows %s, not in its --help"
                                 % (command, sorted(cflags - copts)))
        if command in ("send", "receive"):
            # every long option of the command is in its synopsis line
            longs = {o for o in copts if o.startswith("--")} - {"--config"}
            assert longs <= cflags, ("SYNOPSIS of %s lacks %s"
                                     % (command, sorted(longs - cflags)))
    assert seen == set(help_commands()), seen


def test_every_long_option_of_every_help_in_alertctl_1():
    """What the brief asks literally: each --xxx that `alertctl --help` or
    a command's --help prints is somewhere in alertctl(1)."""
    need("alertctl")
    documented = flags_in(mdoc_lines(ALERTCTL_1))
    for c in [None] + help_commands():
        longs = {o for o in help_options(alertctl_help(c)) if o.startswith("--")}
        missing = sorted(longs - documented)
        assert not missing, "alertctl %s--help: %s not in alertctl(1)" % (
            c + " " if c else "", missing)


def test_every_flag_in_alertctl_1_is_accepted_somewhere():
    """No section (OUTBOX, ENVIRONMENT, ...) mentions a flag that neither
    alertctl nor any of its commands knows."""
    need("alertctl")
    known = help_options(alertctl_help())
    for c in help_commands():
        known |= help_options(alertctl_help(c))
    unknown = sorted(flags_in(mdoc_lines(ALERTCTL_1)) - known)
    assert not unknown, "alertctl(1) mentions unknown flags %s" % unknown


def test_alertctl_examples_use_real_options():
    """The command lines in EXAMPLES only use options their command's
    --help shows, and every command appears in an example."""
    need("alertctl")
    sh, _ = alertctl_man()
    text = "\n".join(sh.get("EXAMPLES", [])).replace("\\e\n", " ")
    cmds = re.findall(r"^\s*alertctl\s+(.*)$", text, re.M)
    assert cmds, "alertctl(1) EXAMPLES has no alertctl command lines"
    used = set()
    for line in cmds:
        words = line.split()
        command = words[0]
        assert command in help_commands(), line
        used.add(command)
        opts = set(w for w in words if re.match(r"^--?[A-Za-z]", w))
        bad = opts - help_options(alertctl_help(command))
        assert not bad, "example 'alertctl %s' uses %s" % (line, sorted(bad))
    assert set(SUBCOMMANDS) <= used, used


def test_alertctl_1_documents_client_config_keys():
    """The [client] keys alertctl reads (client/client_config.c) and the
    recipient's public_key are documented, and ALERTCTL_CONF."""
    src = (ROOT / "client" / "client_config.c").read_text()
    table = re.search(r"client_config_keys\[\]\s*=\s*\{(.*?)\};", src, re.S)
    assert table, "client_config_keys[] not found in client_config.c"
    keys = re.findall(r'\{"([a-z_]+)",', table.group(1))
    assert set(keys) == {"relay", "relay_pin", "device_id", "device_key",
                         "outbox", "org_key", "directory", "contact",
                         "timezone", "follow_interval", "follow_max_updates",
                         "follow_max_time", "gpsd"}, keys
    sh, ss = alertctl_man()
    client = "\n".join(ss.get(("CONFIGURATION", "\\&[client\\&]"), []))
    assert client, "alertctl(1) has no CONFIGURATION/[client] subsection"
    for k in keys:
        assert re.search(r"^\.It Cm %s\b" % k, client, re.M), (
            "alertctl(1) does not document [client] %s" % k)
    recip = [v for (h, s), v in ss.items()
             if h == "CONFIGURATION" and "recipient" in s]
    assert recip and any(re.match(r"^\.It Cm public_key\b", l)
                         for l in recip[0]), "[recipient ID] public_key"
    env = "\n".join(sh.get("ENVIRONMENT", []))
    assert ".It Ev ALERTCTL_CONF" in env


# ---------------------------------------------------------------- alertrelayd(8)


def alertrelayd_usage():
    cp = harness.run([harness.alertrelayd_bin(), "-Z"], timeout=10)
    assert cp.returncode == 2, "alertrelayd -Z: exit %d, want 2" % cp.returncode
    assert "Usage:" in cp.stderr, "alertrelayd -Z: no usage on stderr:\n" + cp.stderr
    assert cp.stdout == "", "usage must go to stderr, stdout got:\n" + cp.stdout
    return cp.stderr


def usage_letters(text):
    letters = set()
    for line in text.splitlines():
        m = re.match(r"^\s+-([A-Za-z])\b", line)
        if m:
            letters.add(m.group(1))
        for group in re.findall(r"\[-([A-Za-z]+)[\] ]", line):
            letters.update(group)
    return letters


def test_alertrelayd_usage_letters_in_man_page():
    need("alertrelayd")
    letters = usage_letters(alertrelayd_usage())
    assert {"c", "d", "f", "t", "V"} <= letters, letters
    lines = mdoc_lines(ALERTRELAYD_8)
    items = set()
    for line in lines:
        if line.startswith(".It "):
            items.update(f[1:] for f in mdoc_flags(line))
    missing = sorted(letters - items)
    assert not missing, "alertrelayd(8) has no '.It Fl' for %s" % missing
    extra = sorted(items - letters)
    assert not extra, "alertrelayd(8) documents -%s, not in the usage" % extra
    synopsis = mdoc_sections(lines)[0].get("SYNOPSIS", [])
    syn = set()
    for line in synopsis:
        for f in mdoc_flags(line):
            if not f.startswith("--"):
                syn.update(f[1:])  # .Op Fl dftV: four letters
    assert letters <= syn, "SYNOPSIS lacks -%s" % sorted(letters - syn)


# ---------------------------------------------------------------- configuration keys


def conf_example_keys():
    """[(section type, key, value, line)] of conf/alertrelayd.conf, with the
    commented `;key = value` lines.  'device x' sections become 'device'."""
    out = []
    section = None
    for n, line in enumerate(CONF_EXAMPLE.read_text().splitlines(), 1):
        # a commented-out example section (";[gateway kannel]") counts too
        m = re.match(r"^[;#]?\s*\[([a-z]+)(?:\s+[^\]]+)?\]\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^[;#]?([a-z][a-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if m and section:
            out.append((section, m.group(1), m.group(2), n))
    return out


def daemon_opts():
    """(section, key) of every plain key in daemon/relay_config.c opts[]."""
    src = RELAY_CONFIG_C.read_text()
    table = re.search(r"struct opt opts\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert table, "opts[] not found in daemon/relay_config.c"
    pairs = re.findall(r'\{\s*"([a-z]+)",\s*"([a-z_]+)",\s*OPT_', table.group(1))
    assert len(pairs) >= 15, pairs
    return pairs


def man5_keys():
    """{section type: {key}} from alertrelayd.conf(5)'s .Ss/.It Cm items."""
    keys = {}
    section = None
    for line in mdoc_lines(ALERTRELAYD_CONF_5):
        m = re.match(r"^\.Ss\s+\\&\[([a-z]+)", line)
        if m:
            section = m.group(1)
            keys.setdefault(section, set())
            continue
        if line.startswith(".Sh "):
            section = None
        m = re.match(r"^\.It\s+Cm\s+([a-z_]+)\b", line)
        if m and section:
            keys[section].add(m.group(1))
    return keys


def test_conf_example_has_keys():
    keys = conf_example_keys()
    sections = {s for s, *_ in keys}
    assert {"relay", "redis", "delivery", "device", "recipient"} <= sections, sections
    # the commented ones are found too
    assert ("relay", "max_frame") in {(s, k) for s, k, *_ in keys}


def test_conf_example_keys_in_man_page():
    man = man5_keys()
    missing = ["[%s] %s (conf/alertrelayd.conf:%d)" % (s, k, n)
               for s, k, _, n in conf_example_keys()
               if k not in man.get(s, set())]
    assert not missing, "not in alertrelayd.conf(5): %s" % missing


def test_daemon_keys_in_man_page():
    man = man5_keys()
    missing = ["[%s] %s" % sk for sk in daemon_opts()
               if sk[1] not in man.get(sk[0], set())]
    assert not missing, "daemon keys not in alertrelayd.conf(5): %s" % missing


def daemon_section_keys(kind):
    """Keys config_<kind>_key() in relay_config.c accepts, for [kind ID]."""
    src = RELAY_CONFIG_C.read_text()
    m = re.search(r"\nconfig_%s_key\(.*?\n\}\n" % kind, src, re.S)
    assert m, "config_%s_key() not found in daemon/relay_config.c" % kind
    return re.findall(r'strcmp\(name, "([a-z_]+)"\)', m.group(0))


@pytest.mark.parametrize("kind", ["device", "recipient"])
def test_daemon_section_keys_in_man_page(kind):
    keys = daemon_section_keys(kind)
    assert "public_key" in keys, keys
    documented = man5_keys().get(kind, set())
    missing = sorted(set(keys) - documented)
    assert not missing, ("[%s ID] keys the daemon accepts but "
                         "alertrelayd.conf(5) does not document: %s"
                         % (kind, missing))


def test_conf_example_documents_every_daemon_key():
    """The issue: conf/alertrelayd.conf documents every key with its
    default (as a `;key = default` line where it is not set)."""
    have = {(s, k) for s, k, *_ in conf_example_keys()}
    missing = ["[%s] %s" % sk for sk in daemon_opts() if sk not in have]
    assert not missing, "keys the daemon knows but conf/alertrelayd.conf " \
        "does not show: %s" % missing


NAMED_SECTIONS = ("device", "recipient", "gateway", "policy")


def _section_header(section):
    return {"device": "[device %s]" % harness.DEVICE_ID,
            "recipient": "[recipient contactpunt]",
            "gateway": "[gateway example]",
            "policy": "[policy example]"}.get(section, "[%s]" % section)


def test_conf_example_keys_accepted_by_daemon(tmp_path):
    """A working configuration with every key of the example set (the
    example's value, for the plain keys that is the documented default)
    passes `alertrelayd -t`: no key is unknown, no default out of bounds."""
    need("alertrelayd", "alertctl")
    env = harness.make_env(tmp_path / "env")
    base = {"relay": dict(env.relay), "redis": dict(env.redis),
            "delivery": dict(env.delivery)}
    # keys the harness config does not set take the example's value
    added = []
    for section, key, value, n in conf_example_keys():
        if section in NAMED_SECTIONS:
            continue
        if key not in base.setdefault(section, {}):
            base[section][key] = value
            added.append((section, key))
    env.write_relay_conf()
    text = env.relay_conf.read_text()
    # the harness writes [relay]/[redis]/[delivery]; put extra sections
    # (e.g. [admin]) and the added keys after their section headers
    lines = text.splitlines()
    out = []
    for line in lines:
        out.append(line)
        m = re.match(r"^\[([a-z]+)\]$", line)
        if m and m.group(1) in base:
            for k, v in base[m.group(1)].items():
                if (m.group(1), k) in added:
                    out.append("%s = %s" % (k, v))
    for section in base:
        if "[%s]" % section not in lines:
            out.append("[%s]" % section)
            out += ["%s = %s" % kv for kv in base[section].items()]
    conf_text = "\n".join(out) + "\n"
    # keys of named sections need their whole section to make sense (a
    # gateway's password file, a policy's recipients): each is added on its
    # own to a section of that kind, and must not be an unknown key.
    for section, key, value, n in conf_example_keys():
        if section not in NAMED_SECTIONS:
            continue
        header = _section_header(section)
        if header in conf_text:
            one = conf_text.replace(header + "\n",
                                    "%s\n%s = %s\n" % (header, key, value), 1)
        else:
            one = conf_text + "%s\n%s = %s\n" % (header, key, value)
        conf = tmp_path / ("one-%s-%s.conf" % (section, key))
        conf.write_text(one)
        cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", conf],
                         timeout=20)
        unknown = [l for l in (cp.stdout + cp.stderr).splitlines()
                   if "unknown key" in l]
        assert not unknown, "%s %s (conf/alertrelayd.conf:%d): %s" % (
            header, key, n, unknown)
    conf = tmp_path / "all-keys.conf"
    conf.write_text(conf_text)
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", conf], timeout=20)
    out_text = cp.stdout + cp.stderr
    unknown = [l for l in out_text.splitlines() if "unknown key" in l]
    assert not unknown, "alertrelayd -t does not know keys of the " \
        "example:\n%s" % "\n".join(unknown)
    assert cp.returncode == 0 and "configuration OK" in cp.stdout, (
        "alertrelayd -t on a configuration with every example key "
        "(added: %s): exit %d\n%s\n--- config\n%s"
        % (added, cp.returncode, out_text, conf_text))


def test_daemon_rejects_unknown_key_in_every_section(tmp_path):
    """The converse: the check above would be worthless if the daemon let
    any key through."""
    need("alertrelayd", "alertctl")
    env = harness.make_env(tmp_path / "env")
    good = env.write_relay_conf().read_text()
    headers = ["[relay]", "[redis]", "[delivery]",
               "[device %s]" % harness.DEVICE_ID, "[recipient contactpunt]"]
    for h in headers:
        bad = good.replace(h + "\n", h + "\nno_such_key = 1\n", 1)
        line = bad.splitlines().index("no_such_key = 1") + 1
        conf = tmp_path / "unknown.conf"
        conf.write_text(bad)
        cp = harness.run([harness.alertrelayd_bin(), "-t", "-c", conf], timeout=20)
        out = cp.stdout + cp.stderr
        assert cp.returncode == 1, (h, cp.returncode, out)
        assert "%s:%d:" % (conf, line) in out and "no_such_key" in out, (h, out)


def test_every_test_file_is_in_tests_readme():
    """tests/README.md says what each test file checks: a file missing
    there is one nobody reading the list knows of."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "README.md")) as f:
        readme = f.read()
    missing = sorted(n for n in os.listdir(here)
                     if n.startswith("test_") and n.endswith(".py")
                     and "`%s`" % n not in readme)
    assert missing == [], missing
