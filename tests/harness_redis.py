"""Test harness, Redis: RedisServer (a private redis-server, AOF,
appendfsync always) and Resp (a tiny RESP client, no python3-redis
needed).  Part of tests/harness.py, which re-exports everything here.
"""

import socket
from pathlib import Path

from harness_proc import Proc, free_port, wait_until

class RedisError(Exception):
    pass


class Resp:
    """Minimal RESP2 client, enough for the tests' reads."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise RedisError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("unexpected reply %r" % line)

    # conveniences
    def xrange(self, key):
        """[(id, {field: value})]"""
        return [(eid, dict(zip(kv[::2], kv[1::2])))
                for eid, kv in (self("XRANGE", key, "-", "+") or [])]

    def hgetall(self, key):
        kv = self("HGETALL", key) or []
        return dict(zip(kv[::2], kv[1::2]))

    def dump_all_text(self):
        """Every key and every value in the database, as one string
        (for checks that some text was never stored)."""
        parts = []
        for key in self("KEYS", "*"):
            parts.append(key)
            kind = self("TYPE", key)
            if kind == "string":
                parts.append(self("GET", key) or "")
            elif kind == "hash":
                parts.extend(self("HGETALL", key))
            elif kind == "list":
                parts.extend(self("LRANGE", key, 0, -1))
            elif kind == "set":
                parts.extend(self("SMEMBERS", key))
            elif kind == "zset":
                parts.extend(self("ZRANGE", key, 0, -1))
            elif kind == "stream":
                for eid, fields in self.xrange(key):
                    parts.append(eid)
                    for k, v in fields.items():
                        parts.extend((k, v))
        return "\n".join(str(p) for p in parts)


class RedisServer:
    def __init__(self, workdir, port=None, name="redis"):
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.name = name
        self.proc = None
        self.procs = []

    def start(self, timeout=10):
        argv = ["redis-server", "--port", self.port, "--bind", "127.0.0.1",
                "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--dir", self.dir, "--daemonize", "no",
                "--logfile", "", "--protected-mode", "yes"]
        self.proc = Proc(argv, self.name, self.dir.parent / "logs").start()
        self.procs.append(self.proc)
        self.proc.wait_for(r"Ready to accept connections", "stdout", timeout)
        wait_until(self._pings, timeout, what="redis PING")
        return self

    def _pings(self):
        try:
            c = Resp(self.port, timeout=1)
            try:
                return c("PING") == "PONG"
            finally:
                c.close()
        except OSError:
            return False

    def client(self):
        return Resp(self.port)

    def stop(self):
        return self.proc.stop() if self.proc else None

    def kill(self):
        return self.proc.kill() if self.proc else None

    def pause(self):
        self.proc.pause()

    def resume(self):
        self.proc.resume()
