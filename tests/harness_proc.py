"""Test harness, processes: free ports, bounded waits, and Proc (a child
process with line readers, bounded waits, stop/kill) with run() for short
commands (run_cpu() with the CPU time they used).  Part of
tests/harness.py, which re-exports everything here.

Every wait has a timeout and every loop a bound.  Only processes started
here are ever signalled, by PID.
"""

import os
import pty
import random
import re
import resource
import select
import signal
import socket
import subprocess
import termios
import threading
import time
from pathlib import Path

def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_HANDED_OUT = set()  # ports given by free_port() in this run, never twice


def _port_range():
    """The ports free_port() picks from: below the ephemeral range, and
    the i-th of n slices of it when ALERTRELAY_TEST_PORT_SLICE=i/n."""
    lo, _ = _ephemeral_range()
    first, last = (20000, lo - 1) if lo > 21000 else (1024, 65535)
    spec = os.environ.get("ALERTRELAY_TEST_PORT_SLICE", "")
    if spec:
        i, n = (int(x) for x in spec.split("/"))
        if not 0 <= i < n:
            raise ValueError("ALERTRELAY_TEST_PORT_SLICE: %r" % spec)
        size = (last - first + 1) // n
        first, last = first + i * size, first + (i + 1) * size - 1
    return first, last


def free_port():
    """A port nothing listens on right now, outside the kernel's ephemeral range.

    Binding to port 0 would pick from the ephemeral range, which every outgoing
    connection (curl, TLS clients, Redis clients) also draws its local port
    from: between this call and the server's bind, a client can take the port
    and the server fails with "Address already in use". Ports below the range
    are never handed out implicitly, so only explicit binds compete for them.
    Each port is handed out once per run, so two servers never get the same.
    Two runs side by side (.ci/run: the plain and the ASan build) each keep
    to their own slice of the range, ALERTRELAY_TEST_PORT_SLICE=i/n: else
    one run's server could take the port the other had just found free.
    """
    first, last = _port_range()
    pick = random.SystemRandom()
    for _ in range(2000):
        port = pick.randint(first, last)
        if port in _HANDED_OUT:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port found in %d..%d" % (first, last))


def free_ports(n):
    """n consecutive free ports (as free_port() picks them), for a
    daemon that listens on a port and the n - 1 after it."""
    for _ in range(200):
        first = free_port()
        ports = [first]
        for p in range(first + 1, first + n):
            if p in _HANDED_OUT or p > _port_range()[1]:
                break
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            except OSError:
                break
            ports.append(p)
        if len(ports) == n:
            _HANDED_OUT.update(ports)
            return ports
    raise RuntimeError("no %d consecutive free ports" % n)


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until true; returns its value or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- processes

_STARTED = []  # every Proc ever started, for the end-of-session safety net
_STARTED_LOCK = threading.Lock()


def stop_all_started():
    with _STARTED_LOCK:
        procs = list(_STARTED)
    for p in procs:
        p.stop(timeout=3)


class ProcessExited(Exception):
    pass


class Proc:
    """A child process whose stdout and stderr are read line by line into
    memory and into log files."""

    def __init__(self, argv, name, logdir, env=None, stdin=subprocess.DEVNULL):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.logdir = Path(logdir)
        self.env = env
        self.stdin = stdin
        self.popen = None
        self.lines = {"stdout": [], "stderr": []}
        self.cond = threading.Condition()
        self.threads = []
        self.paused = False

    def start(self):
        self.logdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.popen = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, stdin=self.stdin,
                                      env=env, start_new_session=True)
        with _STARTED_LOCK:
            _STARTED.append(self)
        for stream in ("stdout", "stderr"):
            t = threading.Thread(target=self._reader, args=(stream,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _reader(self, stream):
        f = getattr(self.popen, stream)
        path = self.logdir / ("%s.%s.log" % (self.name, stream))
        with open(path, "ab") as log:
            for raw in iter(f.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self.cond:
                    self.lines[stream].append(line)
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def text(self, stream="stderr"):
        with self.cond:
            return "\n".join(self.lines[stream])

    def snapshot(self, stream):
        with self.cond:
            return list(self.lines[stream])

    def wait_for(self, pattern, stream="stderr", timeout=10, start=0):
        """Waits for a line matching pattern (from line index start);
        returns the match.  Raises if the process exits first or on timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                lines = self.lines[stream]
                while i < len(lines):
                    m = rx.search(lines[i])
                    if m:
                        return m
                    i += 1
                if self.popen.poll() is not None and all(
                        not t.is_alive() for t in self.threads):
                    raise ProcessExited("%s exited (%s) before /%s/ on %s:\n%s" % (
                        self.name, self.popen.returncode, pattern, stream,
                        self.tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%s: no /%s/ on %s within %ss:\n%s" % (
                        self.name, pattern, stream, timeout, self.tail()))
                self.cond.wait(min(left, 0.2))

    def wait_exit(self, timeout):
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self.threads:
            t.join(2)
        return rc

    def signal(self, sig):
        if self.running():
            os.kill(self.popen.pid, sig)

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def kill(self):
        """SIGKILL and reap."""
        if self.popen is None:
            return None
        self.signal(signal.SIGKILL)
        return self.wait_exit(10)

    def stop(self, timeout=5):
        """SIGTERM, SIGKILL after timeout; returns the exit status."""
        if self.popen is None:
            return None
        if self.running():
            if self.paused:
                self.resume()
            self.signal(signal.SIGTERM)
            rc = self.wait_exit(timeout)
            if rc is not None:
                return rc
            self.signal(signal.SIGKILL)
        return self.wait_exit(10)

    def tail(self, n=40):
        out = []
        for stream in ("stderr", "stdout"):
            lines = self.snapshot(stream)
            if lines:
                out.append("--- %s %s (last %d of %d lines)" % (
                    self.name, stream, min(n, len(lines)), len(lines)))
                out.extend(lines[-n:])
        return "\n".join(out)


def traced_env():
    """The environment a program run under gdb needs on top of its own:
    English, and LeakSanitizer off (it cannot run traced)."""
    env = {"LANGUAGE": "en"}
    if "ASAN_OPTIONS" in os.environ:
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":detect_leaks=0"
    return env


def run(argv, timeout=30, env=None, input=None):
    """Runs a short command to completion; never longer than timeout."""
    full = dict(os.environ)
    if env:
        full.update(env)
    return subprocess.run([str(a) for a in argv], capture_output=True,
                          timeout=timeout, env=full, input=input, text=True)


def run_cpu(argv, timeout=30, env=None, input=None):
    """run(), and the CPU time (user + system, s) the command used: the
    work it did, which a loaded machine does not stretch as it stretches
    the wall clock.  Counted from this process's reaped children, so
    only the command itself: the lab's long-running processes are reaped
    at their stop, never while a short command runs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cp = run(argv, timeout=timeout, env=env, input=input)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return cp, (after.ru_utime - before.ru_utime +
                after.ru_stime - before.ru_stime)


def _terminal_step(fd, out, answers, typed, prompt):
    """Types the next answer when its prompt is on the screen and echo is
    off (the program reads a PIN); reads what came.  (out, typed, ended)."""
    shown = len(prompt.findall(out.decode("utf-8", "replace"))) if prompt \
        else 0
    if typed < min(shown, len(answers)) and \
            not termios.tcgetattr(fd)[3] & termios.ECHO:
        os.write(fd, answers[typed].encode() + b"\n")
        typed += 1
    if not select.select([fd], [], [], 0.05)[0]:
        return out, typed, False
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the program closed the terminal
        return out, typed, True
    return out + chunk, typed, not chunk


def on_terminal(argv, env=None, answers=(), prompt=None, timeout=30,
                limit=1 << 20):
    """Runs argv on a terminal (a pty) to its end, never longer than
    timeout (then SIGKILLed) nor past limit bytes shown.  answers: typed
    one at a time, each once `prompt` (a compiled pattern) has matched
    once more on the screen.  Returns (exit status, what the terminal
    showed, decoded, "\r\n" as it came)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.environ.update(env or {})
            os.execv(str(argv[0]), [str(a) for a in argv])
        finally:
            os._exit(127)
    out, typed, ended = b"", 0, False
    deadline = time.monotonic() + timeout
    try:
        while not ended and len(out) < limit and \
                time.monotonic() < deadline:
            out, typed, ended = _terminal_step(fd, out, answers, typed,
                                               prompt)
    finally:
        if not ended:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.WEXITSTATUS(status), out.decode("utf-8", "replace")
