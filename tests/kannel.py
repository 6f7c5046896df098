"""Kannel for the tests: the real bearerbox and smsbox (Debian's `kannel`)
with fake SMS centres driven by fakesmsc (`kannel-extras`), all on
127.0.0.1 and free ports, in one test's directory.

  kannel = Kannel(tmp / "kannel", logdir, mo_url=URL, register=lab.things.append)
  kannel.start()
  kannel.sendsms_url, kannel.username, kannel.password   the sendsms-user
  kannel.wait_mt(1)      -> [Sms(sender, receiver, text)] the phones received
  kannel.inject_mo("+31600000001", "+3197010000000", "ACK K7Q2")
  kannel.stop()

Two fake SMSCs:
  phones  where mobile-terminated messages (sendsms) go.  One fakesmsc,
          started with -m 0 (it sends nothing), stays connected and
          prints every message it receives at debug level (-v 0):
            ... DEBUG: Got message N: <SENDER RECEIVER text TEXT>
          (or `data URLCODED`, `ucs2 URLCODED-UTF16BE`, `udh UDH DATA`).
  mo      where mobile-originated messages come from.  It takes no MT
          (allowed-smsc-id names an id no message carries).  fakesmsc
          sends the messages on its command line when it connects:
            fakesmsc -H 127.0.0.1 -r PORT -m 1 "SENDER RECEIVER text TEXT"
          and then waits; inject_mo() starts one, waits until bearerbox
          logged the message, and stops it (SIGINT).

smsbox hands every MO message to the one `sms-service` (keyword default)
whose get-url is mo_url, e.g.
  http://kannel:TOKEN@127.0.0.1:PORT/v1/sms/kannel?from=%p&text=%a
where Kannel replaces %p with the sender's number and %a with all words
of the text, URL-encoded (userguide, "Parameters (escape codes)"), and
sends the user:password@ part as "Authorization: Basic" (the token stays
out of the URL that access logs keep).
max-messages = 0: the reply page is never sent back as an SMS.

Every process is started here and stopped by its PID; logs (stderr of
each process, Kannel's access logs) stay in the test's directory.
"""

import os
import re
import secrets
import signal
import socket
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from harness import Proc, free_port, wait_until

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
PACKAGES = ("kannel", "kannel-extras")

GOT_RX = re.compile(r"Got message \d+: <(.*)>$")


def available():
    """None when Kannel is installed, else what is missing."""
    missing = [p for p in (BEARERBOX, SMSBOX, FAKESMSC)
               if not os.access(p, os.X_OK)]
    if missing:
        return "not installed: %s (apt-get install %s)" % (
            ", ".join(missing), " ".join(PACKAGES))
    return None


@dataclass
class Sms:
    sender: str
    receiver: str
    text: str


def parse_fakesmsc_line(line):
    """One message as fakesmsc prints it: "SENDER RECEIVER TYPE DATA"."""
    sender, receiver, kind, data = (line.split(" ", 3) + [""] * 4)[:4]
    if kind == "text":
        text = data
    elif kind == "data":
        text = urllib.parse.unquote_to_bytes(data).decode("utf-8", "replace")
    elif kind == "ucs2":
        text = urllib.parse.unquote_to_bytes(data).decode("utf-16-be",
                                                          "replace")
    elif kind == "udh":
        text = urllib.parse.unquote_to_bytes(
            data.split(" ", 1)[-1]).decode("utf-8", "replace")
    else:
        raise ValueError("unknown fakesmsc message type %r in %r" % (kind, line))
    return Sms(sender, receiver, text)


def _port_listening(port):
    """True if a socket on this host listens on TCP port (from
    /proc/net/tcp, without connecting: a connection would count as a box)."""
    want = ":%04X" % port
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Kannel:
    def __init__(self, workdir, logdir, mo_url=None, register=None,
                 username="alertrelay", password=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logdir = Path(logdir)
        self.mo_url = mo_url
        self.register = register
        self.username = username
        self.password = password or secrets.token_hex(12)
        self.admin_password = secrets.token_hex(12)
        self.admin_port = free_port()
        self.box_port = free_port()
        self.phones_port = free_port()
        self.mo_port = free_port()
        self.sendsms_port = free_port()
        self.conf = self.dir / "kannel.conf"
        self.procs = []
        self.bearerbox = self.smsbox = self.phones = None
        self.mo_count = 0

    @property
    def sendsms_url(self):
        return "http://127.0.0.1:%d/cgi-bin/sendsms" % self.sendsms_port

    def config_text(self):
        d = self.dir
        lines = [
            "# written by tests/kannel.py",
            "group = core",
            "admin-port = %d" % self.admin_port,
            "admin-interface = 127.0.0.1",
            'admin-password = "%s"' % self.admin_password,
            'admin-allow-ip = "127.0.0.1"',
            "smsbox-port = %d" % self.box_port,
            "smsbox-interface = 127.0.0.1",
            'box-allow-ip = "127.0.0.1"',
            'box-deny-ip = "*.*.*.*"',
            'access-log = "%s"' % (d / "bearerbox-access.log"),
            "",
            "group = smsc",
            "smsc = fake",
            "smsc-id = phones",
            "port = %d" % self.phones_port,
            'connect-allow-ip = "127.0.0.1"',
            "",
            "group = smsc",
            "smsc = fake",
            "smsc-id = mo",
            "port = %d" % self.mo_port,
            'connect-allow-ip = "127.0.0.1"',
            '# takes no MT: only messages routed to "mo-only" (none are)',
            'allowed-smsc-id = "mo-only"',
            "",
            "group = smsbox",
            "bearerbox-host = 127.0.0.1",
            "bearerbox-port = %d" % self.box_port,
            "sendsms-port = %d" % self.sendsms_port,
            "sendsms-interface = 127.0.0.1",
            'access-log = "%s"' % (d / "smsbox-access.log"),
            "",
            "group = sendsms-user",
            'username = "%s"' % self.username,
            'password = "%s"' % self.password,
            'user-allow-ip = "127.0.0.1"',
            'user-deny-ip = "*.*.*.*"',
            "max-messages = 1",
            "",
            "group = sms-service",
            "keyword = default",
            "max-messages = 0",
        ]
        if self.mo_url:
            if '"' in self.mo_url:
                raise ValueError("mo_url must not contain a double quote")
            lines.append('get-url = "%s"' % self.mo_url)
        else:
            lines.append('text = "no service"')
        return "\n".join(lines) + "\n"

    def _spawn(self, argv, name):
        p = Proc(argv, name, self.logdir)
        self.procs.append(p)
        if self.register:
            self.register(p)
        return p.start()

    def start(self, timeout=20):
        self.conf.write_text(self.config_text())
        os.chmod(self.conf, 0o600)  # it holds the sendsms password
        self.bearerbox = self._spawn([BEARERBOX, "-v", "0", self.conf],
                                     "bearerbox")
        self.bearerbox.wait_for(r"Start-up done, entering mainloop",
                                "stderr", timeout)
        # "Start-up done" can come before the thread that listens for
        # smsboxes has bound its port: smsbox, started then, finds nothing
        # and exits (seen under load).  Wait until the port listens.
        wait_until(lambda: _port_listening(self.box_port), timeout,
                   what="bearerbox smsbox port %d" % self.box_port)
        self.smsbox = self._spawn([SMSBOX, "-v", "0", self.conf], "smsbox")
        self.smsbox.wait_for(r"Connected to bearerbox", "stderr", timeout)
        wait_until(lambda: _port_open(self.sendsms_port), timeout,
                   what="smsbox sendsms port %d" % self.sendsms_port)
        return self.start_phones(timeout)

    def start_phones(self, timeout=20):
        """The phones' SMS centre link up: a fakesmsc on the phones SMSC
        (again, after stop_phones(); mt_messages() then has only what
        this one received)."""
        mark = len(self.bearerbox.snapshot("stderr"))
        # -m 0: send nothing, only receive; a message argument is still
        # required by fakesmsc's command line.
        self.phones_count = getattr(self, "phones_count", 0) + 1
        self.phones = self._spawn([FAKESMSC, "-H", "127.0.0.1",
                                   "-r", self.phones_port, "-m", "0",
                                   "-v", "0", "0 0 text unused"],
                                  "fakesmsc-phones" + (
                                      "" if self.phones_count == 1 else
                                      ".%d" % self.phones_count))
        self.bearerbox.wait_for(r"Fakesmsc client connected", "stderr",
                                timeout, start=mark)
        return self

    def stop_phones(self, timeout=10):
        """The phones' SMS centre link down for real: their fakesmsc
        stopped, and bearerbox has seen the connection close (it then
        queues what sendsms is given: "3: Queued for later delivery")."""
        mark = len(self.bearerbox.snapshot("stderr"))
        self.phones.stop()
        self.bearerbox.wait_for(r"fakesmsc client\. Closing connection",
                                "stderr", timeout, start=mark)

    def sendsms_to(self, number):
        """How many sendsms requests smsbox took for number (its access
        log), whether sent at once or queued."""
        path = self.dir / "smsbox-access.log"
        if not path.exists():
            return 0
        return sum(1 for line in path.read_text(errors="replace").splitlines()
                   if "send-SMS request added" in line and
                   "target:%s " % number in line)

    # ------------------------------------------------------------ MT

    def mt_messages(self):
        """Every message the phones received so far, in order."""
        out = []
        for line in self.phones.snapshot("stderr"):
            m = GOT_RX.search(line)
            if m:
                out.append(parse_fakesmsc_line(m.group(1)))
        return out

    def wait_mt(self, n, timeout=15):
        wait_until(lambda: len(self.mt_messages()) >= n, timeout,
                   what="%d message(s) at fakesmsc:\n%s\n%s" % (
                       n, self.phones.tail(10), self.bearerbox.tail(10)))
        return self.mt_messages()

    # ------------------------------------------------------------ MO

    def _mo_received(self):
        path = self.dir / "bearerbox-access.log"
        if not path.exists():
            return 0
        return path.read_text(errors="replace").count("Receive SMS [SMSC:mo]")

    def inject_mo(self, sender, receiver, text, timeout=15):
        """An SMS from the phone `sender` to `receiver` (the gateway's
        number): a fakesmsc on the mo SMSC sends it, bearerbox passes it
        to smsbox, which calls mo_url."""
        if "\n" in text or "\r" in text:
            raise ValueError("fakesmsc sends one line per message")
        before = self._mo_received()
        self.mo_count += 1
        p = self._spawn([FAKESMSC, "-H", "127.0.0.1", "-r", self.mo_port,
                         "-m", "1", "-i", "0", "-v", "0",
                         "%s %s text %s" % (sender, receiver, text)],
                        "fakesmsc-mo.%d" % self.mo_count)
        try:
            p.wait_for(r"fakesmsc: sent message 1", "stderr", timeout)
            wait_until(lambda: self._mo_received() > before, timeout,
                       what="bearerbox to log the MO message:\n%s" %
                       self.bearerbox.tail(10))
        finally:
            # fakesmsc ends cleanly on SIGINT; stop() would follow up.
            p.signal(signal.SIGINT)
            if p.wait_exit(5) is None:
                p.stop()

    # ------------------------------------------------------------ end

    def stop(self):
        for p in reversed(self.procs):
            p.stop()

    def alive(self):
        return [p.name for p in self.procs if p.running()]
