"""alertconsole's event stream is tied to its session: when the session
ends (here by logging out, and by session_idle) the stream says
"expired" with how many alerts wait, stays open, and from then on says
"waiting" with the count where it would have named the alert, never the
alert id.  A real console fed with real signed, sealed webhooks; the
stream read over a plain HTTP connection as a page holds it."""

import http.client
import json
import time

import pytest

from test_console import Console, RID, make_webhook

pytestmark = pytest.mark.needs("alertconsole")


class Stream:
    """GET /api/events with a session cookie, read event by event."""

    def __init__(self, console, cookie):
        self.cookie = cookie
        self.c = http.client.HTTPConnection("127.0.0.1", console.port,
                                            timeout=15)
        self.c.request("GET", "/api/events", headers={"Cookie": cookie})
        self.r = self.c.getresponse()
        assert self.r.status == 200
        self.raw = []  # every line, to check what never came

    def next(self):
        lines = []
        while True:
            line = self.r.fp.readline().decode()
            if line == "":
                raise ConnectionError("the stream ended")
            self.raw.append(line)
            if line in ("\n", "\r\n") and lines:
                return dict(l.rstrip("\n").split(": ", 1) for l in lines
                            if ": " in l)
            if line.strip():
                lines.append(line)

    def next_not_heartbeat(self):
        ev = self.next()
        while ev["event"] == "heartbeat":
            ev = self.next()
        return ev

    def close(self):
        self.c.close()


def heartbeats_then(s):
    """The next event on s that is not a heartbeat, and how many
    heartbeats came before it."""
    beats = 0
    ev = s.next()
    while ev["event"] == "heartbeat":
        beats += 1
        ev = s.next()
    return ev, beats


@pytest.mark.hard_timeout(60)
def test_logout_ends_the_stream_s_alert_ids(lab):
    env = lab.env()
    console = Console(lab, env).start()
    console.login()
    s = Stream(console, console.cookie)
    assert s.next()["event"] == "heartbeat"
    h, b, first = make_webhook(env, RID, alert_type="panic")
    assert console.hook(h, b) == 200
    assert s.next_not_heartbeat() == {
        "event": "alerts", "data": '"%s"' % first["alert_id"]}
    assert console.post("/api/logout")[0] == 200
    # by the next heartbeat: the page learns before any alert.  An
    # order, not a wall-clock bound (speed is `make bench`'s): the
    # console asks at every heartbeat tick, before that tick's
    # heartbeat, so at most one heartbeat (one sent before the logout,
    # not yet read) comes before "expired"
    ev, beats = heartbeats_then(s)
    assert beats <= 1, "%d heartbeats before expired" % beats
    assert ev == {"event": "expired", "data": '{"waiting":1}'}
    # a new alert: a count, no id
    h, b, second = make_webhook(env, RID, alert_type="threat")
    assert console.hook(h, b) == 200
    assert s.next_not_heartbeat() == {"event": "waiting",
                                      "data": '{"waiting":2}'}
    # someone else takes one: the count goes down
    console.cookie = None
    console.login()
    assert console.post("/api/alert/%s/claim" % first["alert_id"])[0] == 200
    assert s.next_not_heartbeat() == {"event": "waiting",
                                      "data": '{"waiting":1}'}
    # still open: heartbeats go on
    assert s.next()["event"] == "heartbeat"
    text = "".join(s.raw)
    assert second["alert_id"] not in text
    assert text.count(first["alert_id"]) == 1  # before the logout only
    s.close()
    # the ended session opens no new stream
    c = http.client.HTTPConnection("127.0.0.1", console.port, timeout=10)
    c.request("GET", "/api/events", headers={"Cookie": s.cookie})
    assert c.getresponse().status == 401
    c.close()


@pytest.mark.hard_timeout(60)
def test_idle_session_s_stream_says_expired(lab):
    env = lab.env()
    console = Console(lab, env, extra={"session_idle": "10"}).start()
    console.login()
    s = Stream(console, console.cookie)
    t0 = time.monotonic()
    assert s.next()["event"] == "heartbeat"  # at once, on opening
    ev, beats = heartbeats_then(s)
    # Correctness, not speed: not before the session was idle its
    # configured 10 s
    assert time.monotonic() - t0 >= 9, "expired before session_idle"
    # and then at the next heartbeat tick: in the console's own rhythm
    # (every 5 s), not a wall-clock bound (speed is `make bench`'s).
    # The ticks within those 10 s came first (two at most), the one after
    # them tells "expired" before its heartbeat
    assert beats <= 10 // 5, "%d heartbeats before expired" % beats
    assert ev == {"event": "expired", "data": '{"waiting":0}'}
    assert console.get("/api/alerts", {"Cookie": console.cookie})[0] == 401
    s.close()
