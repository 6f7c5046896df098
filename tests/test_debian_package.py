"""The Debian packages (debian/): built with dpkg-buildpackage in a copy of
the tree, checked with lintian, installed into this machine with apt-get,
the installed relay and client carrying an alert to a webhook receiver,
the administrator's changed configuration kept over a reinstall and an
upgrade, and everything purged again so the machine is left as it was.

The installed programs are the ones under test here: the harness is
pointed at /usr/sbin/alertrelayd and /usr/bin/alertctl (absolute paths: a
`make install` may have put others in /usr/local)."""

import grp
import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import harness
from helpers import ACCEPTED_RX

ROOT = harness.ROOT
PACKAGES = ("alertrelayd", "alertctl")
DAEMON = "/usr/sbin/alertrelayd"
CLIENT = "/usr/bin/alertctl"
CONF_DIR = Path("/etc/alertrelay")
CONF = CONF_DIR / "alertrelayd.conf"
UNIT = Path("/lib/systemd/system/alertrelayd.service")
WANTS = Path("/etc/systemd/system/multi-user.target.wants/alertrelayd.service")
STATE = Path("/var/lib/alertrelay")
USER = "alertrelay"
# Everything the two packages put on the machine (besides /etc/alertrelay).
INSTALLED = [DAEMON, CLIENT, UNIT, "/usr/lib/sysusers.d/alertrelay.conf",
             "/usr/lib/tmpfiles.d/alertrelay.conf",
             "/usr/share/man/man1/alertctl.1.gz",
             "/usr/share/man/man5/alertrelayd.conf.5.gz",
             "/usr/share/man/man8/alertrelayd.8.gz",
             "/usr/share/doc/alertrelayd/README.Debian",
             "/usr/share/locale/nl/LC_MESSAGES/alertrelay.mo"]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
# Wait for another apt/dpkg on this machine instead of failing at once.
APT_LOCK = ["-o", "DPkg::Lock::Timeout=180"]

# Top-level entries of the tree that are build output, not source, and
# what a package build leaves in debian/.
NOT_SOURCE = {".git", "build", "demo-run", ".pytest_cache", "__pycache__"}
NOT_SOURCE_DEBIAN = {"tmp", ".debhelper", "files", "debhelper-build-stamp"}


def out_of(cp):
    return cp.stdout + cp.stderr


def sh(argv, timeout=300, cwd=None, env=None):
    """Runs a command to completion with stdin closed, so that a dpkg
    that wanted to ask about a conffile fails instead of waiting."""
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([str(a) for a in argv], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=full,
                          stdin=subprocess.DEVNULL)


def ok(cp, what):
    assert cp.returncode == 0, "%s: exit %d\n%s" % (what, cp.returncode,
                                                     out_of(cp))
    return cp


def status(pkg):
    cp = sh(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30)
    return cp.stdout.strip() if cp.returncode == 0 else "not known"


def installed(pkg):
    return status(pkg) == "install ok installed"


def query(pkg, field):
    return ok(sh(["dpkg-query", "-W", "-f=${%s}" % field, pkg], timeout=30),
              "dpkg-query %s" % field).stdout


def statoverride(path):
    """The dpkg stat override of path: (owner, group, mode) or None."""
    cp = sh(["dpkg-statoverride", "--list", path], timeout=30)
    if cp.returncode != 0 or not cp.stdout.strip():
        return None
    owner, group, mode, _ = cp.stdout.split(None, 3)
    return owner, group, int(mode, 8)


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def purge():
    return sh(["apt-get", "purge", "-y", "-q"] + APT_LOCK + list(PACKAGES),
              env=APT_ENV)


# ---------------------------------------------------------------- building


def _ignore(top):
    def ignore(d, names):
        here = Path(d).resolve()
        if here == top:
            return [n for n in names
                    if n in NOT_SOURCE or n.startswith("build-")]
        if here == top / "debian":
            return [n for n in names
                    if n in NOT_SOURCE_DEBIAN or n in PACKAGES or
                    n.endswith(("-dbgsym", ".substvars", ".debhelper.log",
                                ".debhelper"))]
        return [n for n in names if n in ("__pycache__", ".pytest_cache")]
    return ignore


def source_copy(tmp):
    """The tree as it is now (uncommitted changes included), without build
    output, in tmp/src/alertrelay-VERSION: dpkg-buildpackage writes the
    packages next to it, and nothing into the work tree."""
    version = ok(sh(["dpkg-parsechangelog", "-S", "Version", "-l",
                     ROOT / "debian/changelog"], timeout=30),
                 "dpkg-parsechangelog").stdout.strip()
    src = Path(tmp) / "src" / ("alertrelay-%s" % version)
    shutil.copytree(ROOT, src, symlinks=True, ignore=_ignore(ROOT.resolve()))
    return src, version


def build(src):
    """dpkg-buildpackage -us -uc -b; returns the .changes file."""
    cp = sh(["dpkg-buildpackage", "-us", "-uc", "-b"], timeout=600, cwd=src,
            env={"DEB_BUILD_OPTIONS": "parallel=2"})
    (src.parent / "build.log").write_text(out_of(cp))
    ok(cp, "dpkg-buildpackage -us -uc -b")
    version = ok(sh(["dpkg-parsechangelog", "-S", "Version"], cwd=src,
                    timeout=30), "dpkg-parsechangelog").stdout.strip()
    changes = src.parent / ("alertrelay_%s_%s.changes" % (version, arch()))
    assert changes.is_file(), sorted(os.listdir(src.parent))
    return changes


def arch():
    return ok(sh(["dpkg", "--print-architecture"], timeout=30),
              "dpkg --print-architecture").stdout.strip()


def debs(changes):
    """./alertrelayd_V_A.deb and ./alertctl_V_A.deb of a build (not the
    -dbgsym ones)."""
    out = []
    for pkg in PACKAGES:
        found = sorted(changes.parent.glob("%s_*.deb" % pkg))
        assert len(found) == 1, (pkg, found)
        out.append("./" + found[0].name)
    return out


def new_upstream_example(src):
    """The same source as version VERSION+conftest1, whose example
    configuration has changed: what an upgrade that ships a new
    example looks like to dpkg."""
    with open(src / "conf/alertrelayd.conf", "a") as f:
        f.write("\n; a line the next release added to the example\n")
    log = (src / "debian/changelog").read_text()
    m = re.match(r"alertrelay \(([^)]+)\) (\S+); urgency=\S+", log)
    version = m.group(1) + "+conftest1"
    entry = ("alertrelay (%s) %s; urgency=medium\n\n"
             "  * A new example configuration (tests/test_debian_package.py)."
             "\n\n -- %s\n\n" % (version, m.group(2),
                                 re.search(r"^ -- (.+)$", log, re.M).group(1)))
    (src / "debian/changelog").write_text(entry + log)
    return version


# ---------------------------------------------------------------- checks


def check_lintian(changes):
    """lintian on the .changes (every .deb of the build) with every tag it
    has, pedantic and experimental ones included: nothing but overridden
    tags (O:) and their comments (N:)."""
    cp = sh(["lintian", "--pedantic", "-I", "-E", "--show-overrides",
             "--fail-on", "error,warning", changes], timeout=300,
            cwd=changes.parent)
    tags = [l for l in cp.stdout.splitlines()
            if re.match(r"^[A-Z]: ", l) and not l.startswith(("O: ", "N: "))]
    assert cp.returncode == 0 and not tags, "lintian (exit %d):\n%s" % (
        cp.returncode, out_of(cp))


def check_installed(version):
    for pkg in PACKAGES:
        assert installed(pkg), (pkg, status(pkg))
        assert query(pkg, "Version") == version
    for path in INSTALLED:
        assert Path(path).is_file(), "not installed: %s" % path
    # the programs are the ones just built, and say the package's version
    for prog, arg in ((DAEMON, "-V"), (CLIENT, "--version")):
        cp = ok(sh([prog, arg], timeout=10), prog)
        assert cp.stdout == "%s %s\n" % (Path(prog).name, version), cp.stdout
    # the installed client finds its Dutch catalogue (Dutch by default)
    cp = subprocess.run([CLIENT], capture_output=True, text=True, timeout=10,
                        env={"PATH": "/usr/bin:/bin"})
    assert cp.stderr.startswith("Gebruik: alertctl"), cp.stderr
    # the configuration: a registered conffile, the example as shipped,
    # readable by the service's group only, the modes kept by dpkg
    conffiles = query("alertrelayd", "Conffiles").split()
    assert conffiles[:2] == [str(CONF), md5(ROOT / "conf/alertrelayd.conf")], \
        conffiles
    assert CONF.read_bytes() == (ROOT / "conf/alertrelayd.conf").read_bytes()
    gid = grp.getgrnam(USER).gr_gid
    for path, mode in ((CONF_DIR, 0o750), (CONF, 0o640)):
        st = path.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (0, gid, mode), "%s: %o %d:%d" % (path, st.st_mode, st.st_uid,
                                               st.st_gid)
        assert statoverride(str(path)) == ("root", USER, mode)
    # a system user, which cannot log in
    pw = pwd.getpwnam(USER)
    assert 0 < pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin"), pw
    # the unit names the installed paths, and is enabled (not started:
    # there is no systemd running here, and the package starts nothing)
    unit = UNIT.read_text()
    assert "ExecStart=%s -f -c %s" % (DAEMON, CONF) in unit
    assert "/usr/local" not in unit
    assert WANTS.is_symlink() and Path(os.readlink(WANTS)) == UNIT, WANTS
    # ... and verifies against the installed programs and man pages
    cp = sh(["systemd-analyze", "verify", UNIT], timeout=90,
            env={"SYSTEMD_COLORS": "0", "SYSTEMD_LOG_COLOR": "0"})
    assert cp.returncode == 0 and out_of(cp).strip() == "", out_of(cp)
    # The unit's ExecStartPre, as its user, refuses the example (it names
    # keys still to be made) with reasons: why the package enables the
    # unit but does not start it.  The user can read the file.
    cp = sh(["runuser", "-u", USER, "--", DAEMON, "-t", "-c", CONF],
            timeout=20)
    assert cp.returncode != 0 and "%s:" % CONF in out_of(cp), out_of(cp)
    assert "ermission denied" not in out_of(cp), out_of(cp)


def carry_alert(lab, monkeypatch):
    """The installed alertrelayd, as the package's user, and the installed
    alertctl (send, and receive for one recipient) carry an alert from the
    device to a webhook receiver, verified and decrypted there."""
    monkeypatch.setattr(harness, "alertrelayd_bin", lambda: DAEMON)
    monkeypatch.setattr(harness, "alertctl_bin", lambda: CLIENT)
    monkeypatch.setattr(harness, "DAEMON_USER", USER)
    env = lab.env()  # keys made by the installed alertctl
    assert env.relay["user"] == USER
    lab.redis(env)
    recv = lab.receiver(env, "contactpunt")
    other = lab.recorder_for(env, "oncall-1")
    relay = lab.relay(env)
    assert relay.proc.argv[0] == DAEMON
    uid = [l for l in Path("/proc/%d/status" % relay.proc.pid).read_text()
           .splitlines() if l.startswith("Uid:")][0].split()[1:]
    assert set(uid) == {str(pwd.getpwnam(USER).pw_uid)}, uid
    rc, lines, err = lab.send(env, "--type", "test", "--message",
                              "uit het pakket", "--timeout", "20")
    assert rc == 0, (lines, err)
    m = ACCEPTED_RX.match(lines[-1])
    assert m, lines
    got = recv.wait_alerts(1, timeout=20)[0]
    assert got["verified"] is True and got["alert_id"] == m.group(1), got
    assert got["message"] == "uit het pakket", got
    att = other.wait_attempts(1, timeout=20)[0]
    assert att["sig_ok"] and att["json"]["alert_id"] == m.group(1), att
    assert relay.stop() == 0, relay.log()


def check_conffile_kept(changes_old, changes_new, new_version):
    """The administrator's changed configuration survives a reinstall of
    the same version (dpkg asks nothing: stdin is closed) and an upgrade
    that ships a new example, with --force-confold: the new example is
    left next to it as .dpkg-dist."""
    mine = CONF.read_text() + "; changed by the administrator\n"
    CONF.write_text(mine)
    ok(sh(["dpkg", "-i", changes_old.parent / debs(changes_old)[0]],
          env=APT_ENV), "dpkg -i (reinstall)")
    assert CONF.read_text() == mine, "a reinstall overwrote the configuration"
    ok(sh(["apt-get", "install", "-y", "-q", "--no-install-recommends",
           "-o", "Dpkg::Options::=--force-confold"] + APT_LOCK +
          debs(changes_new), cwd=changes_new.parent, env=APT_ENV),
       "apt-get install (upgrade)")
    assert query("alertrelayd", "Version") == new_version
    assert CONF.read_text() == mine, "an upgrade overwrote the configuration"
    dist = Path(str(CONF) + ".dpkg-dist")
    assert "a line the next release added" in dist.read_text()
    dist.unlink()
    # the modes are still the service's
    assert statoverride(str(CONF)) == ("root", USER, 0o640)
    assert stat.S_IMODE(CONF.stat().st_mode) == 0o640


def check_purged():
    for pkg in PACKAGES:
        assert not installed(pkg), (pkg, status(pkg))
    for path in INSTALLED + [CONF, WANTS, STATE]:
        assert not os.path.lexists(path), "left after purge: %s" % path
    assert not CONF_DIR.exists(), os.listdir(CONF_DIR)
    assert statoverride(str(CONF)) is None and \
        statoverride(str(CONF_DIR)) is None


# ---------------------------------------------------------------- the test


@pytest.fixture
def clean_machine():
    """Refuses to touch an installation that was there before; purges the
    packages after the test, also when it failed half-way."""
    there = [p for p in PACKAGES if status(p) != "not known" and
             not status(p).endswith("not-installed")]
    if there or CONF_DIR.exists():
        pytest.fail("alertrelay is already installed on this machine (%s); "
                    "this test installs and purges the packages itself. "
                    "Remove it first: apt-get purge alertrelayd alertctl"
                    % (", ".join(there) or CONF_DIR), pytrace=False)
    yield
    if any(status(p) != "not known" for p in PACKAGES):
        cp = sh(["dpkg", "--purge"] + list(PACKAGES), timeout=25,
                env=APT_ENV)
        if cp.returncode != 0:
            print("purge after the test failed:\n%s" % out_of(cp))


@pytest.mark.needs()  # the installed programs, not the build's
@pytest.mark.hard_timeout(1200)
@pytest.mark.skipif(os.geteuid() != 0, reason="installs packages: needs root")
@pytest.mark.skipif(shutil.which("dpkg-buildpackage") is None,
                    reason="dpkg-buildpackage is not installed (dpkg-dev; "
                    "scripts/install-deps.sh installs it)")
def test_debian_packages(clean_machine, lab, tmp_path, monkeypatch):
    src, version = source_copy(tmp_path)
    changes = build(src)
    check_lintian(changes)
    ok(sh(["apt-get", "install", "-y", "-q", "--no-install-recommends"] +
          APT_LOCK + debs(changes), cwd=changes.parent, env=APT_ENV),
       "apt-get install ./*.deb")
    check_installed(version)
    carry_alert(lab, monkeypatch)
    # the next version, built from the same copy
    saved = tmp_path / "first"
    saved.mkdir()
    for f in changes.parent.glob("*_%s_*" % version):
        shutil.move(str(f), saved / f.name)
    changes_old = saved / changes.name
    new_version = new_upstream_example(src)
    changes_new = build(src)
    check_conffile_kept(changes_old, changes_new, new_version)
    ok(purge(), "apt-get purge")
    check_purged()


def test_lintian_overrides_commented():
    """Every lintian override says why, in a comment right above it."""
    files = sorted((ROOT / "debian").glob("*lintian-overrides")) + \
        sorted((ROOT / "debian/source").glob("lintian-overrides"))
    assert files, "no debian/*.lintian-overrides"
    for f in files:
        prev = ""
        for line in f.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert prev.startswith("#"), "%s: no comment above %r" % (
                    f.name, line)
            prev = line
