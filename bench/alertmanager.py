"""Prometheus Alertmanager for make bench (issue 16): Debian's
prometheus-alertmanager (scripts/install-deps.sh), started on a loopback
free port with its own configuration and storage in a temporary
directory, clustering off, each alert its own notification (group_by its
alert_id label, group_wait 0s), the webhook at the loadgen's endpoint so
that both are timed on one clock.  Stopped by its PID."""

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import harness

BINARY = "prometheus-alertmanager"

CONFIG = """\
route:
  receiver: bench
  group_by: ['alert_id']
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:%d/alertmanager
        send_resolved: false
"""


class Alertmanager:
    def __init__(self, work: Path, hook_port: int):
        self.dir = work / "alertmanager"
        self.dir.mkdir()
        self.port = harness.free_port()
        self.conf = self.dir / "alertmanager.yml"
        self.conf.write_text(CONFIG % hook_port)
        self.proc = None
        self.log = None

    def start(self, timeout=20):
        exe = shutil.which(BINARY)
        if exe is None:
            raise RuntimeError("%s is not installed (make deps)" % BINARY)
        self.log = open(self.dir / "log", "w")
        self.proc = subprocess.Popen(
            [exe, "--config.file=%s" % self.conf,
             "--storage.path=%s" % (self.dir / "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--cluster.listen-address=", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        url = "http://127.0.0.1:%d/-/ready" % self.port
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("alertmanager exited: %s" % (
                    (self.dir / "log").read_text()[-2000:]))
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("alertmanager not ready in %d s" % timeout)

    def version(self):
        cp = subprocess.run([shutil.which(BINARY), "--version"],
                            capture_output=True, text=True, timeout=10)
        out = (cp.stdout + cp.stderr).split("\n")[0]
        return out.strip()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()
