"""alertconsole's views of an alert beyond the queue (issue 12 items 5 and
6), with a real console fed real signed, sealed webhooks, and headless
Chromium from Debian: the position (coordinates, accuracy, age of the fix,
a link to OpenStreetMap; a Leaflet map only when a tile server is
configured, and then images from exactly that origin), later positions
(alert.location webhooks) moving the marker, and the caller history
(GET /api/devices/<id>/alerts, a page at a time; "Eerdere meldingen" on
each card).  axe-core on every view; screenshots of the queue and of an
alert at 1280x800 and 390x844, and of a card's history on a phone, into
BUILD/screenshots."""

import json
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import harness
import proto
from test_console import Console, RID, make_webhook, resign
from test_receiver import post as post_hook
from test_console_browser import (axe_path, browser,  # noqa: F401
                                  expect_shown, log_stream, login,
                                  page_errors, phone, pushed, run_axe, sized,
                                  wait_items)

pytestmark = pytest.mark.needs("alertconsole")

XSS = "<img src=x onerror=alert(1)>"
HOME = {"lat": 52.0907, "lon": 5.1214, "accuracy_m": 15}
MOVED = {"lat": 52.0931, "lon": 5.1180, "accuracy_m": 8}
NEAR = {"lat": 52.0910, "lon": 5.1218, "accuracy_m": 8}  # in the map's view


def later(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() + seconds))


def location_update(env, inner, location, created_at):
    """An alert.location webhook: the alert again, sealed and signed by
    its device, with a new position and the fix's time as created_at."""
    return make_webhook(
        env, RID, alert_type=inner["alert_type"], message=inner["message"],
        location=location,
        inner={"alert_id": inner["alert_id"], "created_at": created_at},
        outer={"type": "alert.location", "alert_id": inner["alert_id"],
               "created_at": created_at})


def history(console, device, query=""):
    status, headers, body = console.get(
        "/api/devices/%s/alerts%s" % (device, query))
    return status, (json.loads(body) if status == 200 else body)


# ---- the API ---------------------------------------------------------------

def test_history_pages_through_a_devices_alerts(lab):
    """Newest first, each alert once (a second delivery is no second
    alert), opened like /api/alerts, in pages joined by next=."""
    env = lab.env()
    console = Console(lab, env).start()
    sent = []
    for i in range(12):
        h, b, inner = make_webhook(env, RID, alert_type="test",
                                   message="melding %d" % i)
        assert console.hook(h, b) == 200
        sent.append(inner["alert_id"])
        if i == 0:
            first = b
    # the first one again, as a later tier would send it
    assert console.hook(resign(env, first, "msg_again"), first) == 200
    status, page = history(console, env.device_id, "?limit=5")
    assert status == 200
    assert page["device_id"] == env.device_id
    got = [a["alert_id"] for a in page["alerts"]]
    assert [a["message"] for a in page["alerts"]] == [
        "melding 11", "melding 10", "melding 9", "melding 8", "melding 7"]
    while page["next"] is not None:
        status, page = history(console, env.device_id,
                               "?limit=5&before=%d" % page["next"])
        assert status == 200
        got += [a["alert_id"] for a in page["alerts"]]
    assert got == list(reversed(sent))
    assert all(a["state"] == "open" for a in page["alerts"])
    # without limit= a page of 20
    status, page = history(console, env.device_id)
    assert len(page["alerts"]) == 12 and page["next"] is None
    # another device has none; what is not an id, or not a bound, is refused
    assert history(console, "someone-else")[1]["alerts"] == []
    assert history(console, "a%20b")[0] == 404
    assert history(console, "x" * 65)[0] == 404
    for q in ("?limit=0", "?limit=101", "?limit=x", "?before=-1",
              "?before=1e3"):
        assert history(console, env.device_id, q)[0] == 400, q
    assert console.get("/api/devices//alerts")[0] == 404
    assert console.get("/api/devices/%s" % env.device_id)[0] == 404
    # like every /api/ route, only for a logged-in operator
    path = "/api/devices/%s/alerts" % env.device_id
    for headers in ({}, {"Cookie": "alertconsole_session=" + "0" * 64}):
        status, _, body = console.get(path, headers=headers)
        assert status == 401 and b"melding" not in body
        assert console.get("/api/map", headers=headers)[0] == 401


def test_later_positions_move_the_alert(lab):
    """alert.location webhooks (the alert again, signed by its device,
    with a later fix) are stored sealed and make the newest fix the
    alert's position; an older one replayed after it moves nothing, one
    signed by another key is refused, and none makes a second alert."""
    env = lab.env()
    console = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, alert_type="panic", message="Help",
                               location=HOME)
    assert console.hook(h, b) == 200
    first = console.alerts()[0]["location"]
    assert first["fixed_at"] == inner["created_at"] and first["updates"] == 0
    t2 = later(20)
    h, b, _ = location_update(env, inner, MOVED, t2)
    assert console.hook(h, b) == 200
    # an older fix arriving late (or replayed)
    h, b, _ = location_update(env, inner, {"lat": 51.0, "lon": 4.0,
                                           "accuracy_m": 3}, later(10))
    assert console.hook(h, b) == 200
    out = console.alerts()
    assert len(out) == 1
    loc = out[0]["location"]
    assert (loc["lat"], loc["lon"], loc["accuracy_m"]) == pytest.approx(
        (MOVED["lat"], MOVED["lon"], MOVED["accuracy_m"]))
    assert loc["fixed_at"] == t2 and loc["updates"] == 2
    assert out[0]["message"] == "Help" and out[0]["state"] == "open"
    # signed by someone else's key: refused, stored nowhere
    import nacl.signing
    h, b, _ = make_webhook(
        env, RID, location={"lat": 50.0, "lon": 3.0, "accuracy_m": 1},
        signer=nacl.signing.SigningKey.generate(),
        inner={"alert_id": inner["alert_id"], "created_at": later(30)},
        outer={"type": "alert.location", "alert_id": inner["alert_id"],
               "created_at": later(30)})
    assert console.hook(h, b) == 422
    assert console.alerts()[0]["location"]["fixed_at"] == t2
    # the same position again under another webhook id: a repeat
    h, b, _ = location_update(env, inner, MOVED, t2)
    assert console.hook(resign(env, b, "msg_pos_again"), b) == 200
    rows = console.rows()
    assert [(r["type"], r["repeat"]) for r in rows] == [
        ("alert.raised", 0), ("alert.location", 0), ("alert.location", 0),
        ("alert.location", 1)]
    assert console.alerts()[0]["location"]["updates"] == 3
    assert b"52.0931" not in console.db_bytes()  # sealed at rest
    # and after a restart
    console.proc.kill()
    console.start()
    assert console.alerts()[0]["location"]["fixed_at"] == t2


def test_console_refuses_a_later_position_as_an_alert(lab):
    """An update's inner alert says, signed, that it is one: sent as
    alert.raised (a relay passing a later fix off as the alert) the
    console refuses it and shows nothing; as alert.location it is taken."""
    env = lab.env()
    console = Console(lab, env).start()
    h, b, inner = make_webhook(env, RID, location=HOME)
    assert console.hook(h, b) == 200
    t2 = later(20)
    h, b, _ = make_webhook(
        env, RID, location=MOVED,
        inner={"alert_id": inner["alert_id"], "created_at": t2,
               "update": True},
        outer={"alert_id": inner["alert_id"], "created_at": t2})
    assert console.hook(h, b) == 422
    assert len(console.alerts()) == 1
    assert console.alerts()[0]["location"]["updates"] == 0
    body = json.loads(b)
    body["type"] = "alert.location"
    b = json.dumps(body, separators=(",", ":")).encode()
    assert console.hook(resign(env, b, "msg_as_update"), b) == 200
    assert console.alerts()[0]["location"]["fixed_at"] == t2


def lone_position(env, t0, t2):
    """An alert made at t0, and a later position of it fixed at t2 (its
    update flag signed inside, as a device of now sends it): a relay
    that holds back the alert can send the position alone."""
    h0, b0, inner = make_webhook(env, RID, location=HOME,
                                 inner={"created_at": t0},
                                 outer={"created_at": t0})
    h, b, _ = make_webhook(
        env, RID, location=MOVED, message=inner["message"],
        inner={"alert_id": inner["alert_id"], "created_at": t2,
               "update": True},
        outer={"type": "alert.location", "alert_id": inner["alert_id"],
               "created_at": t2})
    return (h0, b0), (h, b), inner


def test_a_later_position_alone_is_not_the_alert(lab):
    """A later position of an alert the console has not had is kept, not
    shown: no alert in the queue or on its page, none raised at the fix's
    time and place.  When the alert comes, it is the alert, with its own
    created_at and age, and the kept position is its newest."""
    env = lab.env()
    console = Console(lab, env).start()
    t0, t2 = later(-1200), later(0)
    alert, update, inner = lone_position(env, t0, t2)
    assert console.hook(*update) == 200
    assert console.alerts() == []
    assert console.get("/api/alert/%s" % inner["alert_id"])[0] == 404
    assert [(r["type"], r["is_alert"]) for r in console.rows()] == [
        ("alert.location", 0)]
    assert console.hook(*alert) == 200
    out = console.alerts()
    assert len(out) == 1 and out[0]["alert_id"] == inner["alert_id"]
    assert out[0]["created_at"] == t0 and out[0]["age_s"] >= 1190
    loc = out[0]["location"]
    assert loc["fixed_at"] == t2 and loc["updates"] == 1
    assert loc["lat"] == pytest.approx(MOVED["lat"])
    status, _, body = console.get("/api/alert/%s" % inner["alert_id"])
    assert status == 200 and json.loads(body)["created_at"] == t0


def test_alertctl_receive_refuses_a_later_position_alone(lab):
    """alertctl receive cannot hold a position back until its alert
    comes: one of an alert it has not written out is refused (422) and
    written nowhere; after the alert it is taken."""
    env = lab.env()
    recv = lab.receiver(env, RID)
    alert, update, inner = lone_position(env, later(-1200), later(0))
    assert post_hook(recv.port, *update) == 422
    # waited for: the harness reads the log on a thread of its own
    recv.proc.wait_for(r"a later position of an alert not shown here",
                       "stderr", 5)
    assert recv.alerts() == []
    assert post_hook(recv.port, *alert) == 200
    assert post_hook(recv.port, *update) == 200
    out = recv.wait_alerts(2, timeout=5)
    assert [(a["type"], a["created_at"]) for a in out] == [
        ("alert.raised", inner["created_at"]),
        ("alert.location", json.loads(update[1])["created_at"])]


def test_pretty_receive_dates_a_later_position_as_a_fix(lab):
    """For a person (--pretty) the update's time is its fix's, not the
    alert's: "Position at" ("Plaats om"), never "Raised" ("Gemaakt")."""
    env = lab.env()
    recv = lab.receiver(env, RID, pretty=True)
    alert, update, _ = lone_position(env, later(-60), later(0))
    assert post_hook(recv.port, *alert) == 200
    assert post_hook(recv.port, *update) == 200
    recv.proc.wait_for(r"^NEW LOCATION", "stdout", 15)
    recv.proc.wait_for(r"^  Position at:", "stdout", 15)
    heads = [line.split(":")[0] for line in recv.proc.snapshot("stdout")
             if line.startswith(("  Raised:", "  Position at:"))]
    assert heads == ["  Raised", "  Position at"], heads


def test_alertctl_receive_prints_a_later_position(lab):
    """alertctl receive (the same checks) prints an alert.location as a
    line of its own, with the new position, not as a repeat."""
    env = lab.env()
    recv = lab.receiver(env, RID)
    h, b, inner = make_webhook(env, RID, location=HOME)
    assert post_hook(recv.port, h, b) == 200
    t2 = later(5)
    h, b, _ = location_update(env, inner, MOVED, t2)
    assert post_hook(recv.port, h, b) == 200
    out = recv.wait_alerts(2, timeout=5)
    assert [(a["type"], a["repeat"]) for a in out] == [
        ("alert.raised", False), ("alert.location", False)]
    assert out[1]["alert_id"] == inner["alert_id"]
    assert out[1]["created_at"] == t2
    assert out[1]["location"]["lat"] == pytest.approx(MOVED["lat"])


def test_map_is_off_by_default_and_its_origin_alone_when_on(lab):
    """Without map_tiles: no img-src beyond 'self', /api/map says no
    tiles and Leaflet is not served.  With it: img-src names exactly the
    tile server's origin; a template that is not https (http only to
    loopback), or names no {z}/{x}/{y}, is refused at start."""
    env = lab.env()
    console = Console(lab, env).start()
    status, headers, body = console.get("/api/map")
    assert status == 200 and json.loads(body)["tiles"] is None
    assert "img-src" not in headers["Content-Security-Policy"]
    assert console.get("/leaflet/leaflet.js")[0] == 404
    console.proc.stop()
    for bad in ("http://tiles.example.org/{z}/{x}/{y}.png",
                "https://tiles.example.org/{z}/{x}.png",
                "https://{s}.tile.example.org/{z}/{x}/{y}.png",
                "https://a;b.example.org/{z}/{x}/{y}.png",
                "https://tiles.example.org 'unsafe-inline'/{z}/{x}/{y}.png",
                "ftp://tiles.example.org/{z}/{x}/{y}.png"):
        c = Console(lab, env, extra={"map_tiles": bad})
        cp = harness.run([str(harness.build_dir() / "alertconsole"), "-c",
                          c.conf], timeout=10)
        assert cp.returncode != 0 and "map_tiles" in cp.stderr, bad
    c = Console(lab, env, extra={
        "map_tiles": "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"})
    c.users |= console.users  # the same state_dir: the same accounts
    c.start()
    status, headers, body = c.get("/")
    csp = headers["Content-Security-Policy"]
    assert csp.endswith("; img-src 'self' https://tiles.example.org:8443")
    assert "default-src 'self'" in csp and "style-src" not in csp
    assert json.loads(c.get("/api/map")[2])["tiles"].startswith(
        "https://tiles.example.org:8443/")
    status, headers, js = c.get("/leaflet/leaflet.js")
    assert status == 200 and headers["Content-Type"].startswith(
        "text/javascript") and b"export" in js
    assert c.get("/leaflet/images/marker-icon.png")[1]["Content-Type"] == \
        "image/png"


# ---- in the browser ----------------------------------------------------------

def tile_png(x, y):
    """A 256x256 map-coloured tile with a street grid, made with zlib (the
    tests have no image library); x and y shift the streets a little."""
    bg, road = b"\xf2\xef\xe9", b"\xff\xff\xff"
    rows = []
    for j in range(256):
        if (j + 7 * y) % 64 < 6:
            line = road * 256
        else:
            line = b"".join(road if (i + 5 * x) % 80 < 6 else bg
                            for i in range(256))
        rows.append(b"\x00" + line)
    raw = zlib.compress(b"".join(rows))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(
            ">I", zlib.crc32(c) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", raw) + chunk(b"IEND", b""))


class TileServer:
    """A tile server on loopback that records what it was asked."""

    def __init__(self):
        self.paths = []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                srv.paths.append(self.path)
                parts = self.path.strip("/").split("/")
                try:
                    x, y = int(parts[-2]), int(parts[-1].split(".")[0])
                except (ValueError, IndexError):
                    x = y = 0
                body = tile_png(x, y)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tiles():
    t = TileServer()
    yield t
    t.close()


def shots_dir():
    d = harness.build_dir() / "screenshots"
    d.mkdir(exist_ok=True)
    return d


def alert_page(driver, console, alert_id):
    """Logs in on the alert's own page (/alert.html?id=...), whose
    <section id="location"> and <section id="history"> alert.js fills
    with map.js's showLocation and history.js's showHistory."""
    login(driver, console, "/alert.html?id=%s" % alert_id)
    harness.wait_until(lambda: driver.find_elements(
        "css selector", "#location .location-text"), 10, what="the position")
    return driver


def marker_transform(d):
    return d.execute_script(
        "return document.querySelector('#location .leaflet-marker-icon')"
        ".style.transform")


def all_tiles(d):
    """Every tile Leaflet put in the map has been drawn."""
    return d.execute_script(
        "const t = [...document.querySelectorAll('#location img.leaflet-tile')];"
        "return t.length > 0 && t.every(i => i.complete && "
        "i.naturalWidth === 256)")


def tiles_drawn(d):
    return d.execute_script(
        "return [...document.querySelectorAll('#location img.leaflet-tile')]"
        ".filter(i => i.complete && i.naturalWidth === 256).length")


def feed(env, console):
    """Three earlier alerts and a panic now, from the same device."""
    for t, m in (("test", "Proefmelding van de nieuwe knop"),
                 ("threat", "Auto staat al een uur voor het huis"),
                 ("threat", XSS)):
        h, b, _ = make_webhook(env, RID, alert_type=t, message=m,
                               location=None)
        assert console.hook(h, b) == 200
    h, b, inner = make_webhook(env, RID, alert_type="panic",
                               message="Man met mes bij de voordeur",
                               location=HOME)
    assert console.hook(h, b) == 200
    return inner


@pytest.mark.hard_timeout(150)
def test_queue_cards_show_position_and_history(lab, browser):
    """Without a tile server: coordinates, accuracy, age of the fix and
    the OpenStreetMap link on the card, no map and no request anywhere
    but the console; "Eerdere meldingen" shows the device's alerts, text
    as text; axe finds nothing, at desktop and phone size."""
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    inner = feed(env, console)
    d = login(sized(browser()), console)
    items = wait_items(d, 4)
    card = items[0]
    assert card.get_attribute("data-alert-id") == inner["alert_id"]
    text = card.find_element("css selector", "dd.location").text
    assert "52.09070, 5.12140 (± 15 m)" in text
    assert "Positie van" in text and "geleden" in text
    link = card.find_element("css selector", "a.osm-link")
    assert link.get_attribute("href") == (
        "https://www.openstreetmap.org/?mlat=52.0907&mlon=5.1214"
        "#map=17/52.0907/5.1214")
    assert link.get_attribute("rel") == "noreferrer noopener"
    assert d.find_elements("css selector", ".map") == []
    button = card.find_element("css selector", "button.history-toggle")
    assert button.text == "Eerdere meldingen"
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    harness.wait_until(lambda: len(card.find_elements(
        "css selector", ".history-item")) == 4, 5, what="the history")
    assert button.get_attribute("aria-expanded") == "true"
    hist = card.find_elements("css selector", ".history-item")
    assert "(deze melding)" in hist[0].text and "Paniek" in hist[0].text
    assert XSS in hist[1].text and "Dreiging" in hist[1].text
    assert "Proefmelding" in hist[3].text and "Open" in hist[3].text
    assert d.find_elements("css selector", "#queue img") == []
    # the keyboard reaches it: Enter on the focused button closes it
    from selenium.webdriver.common.keys import Keys
    button.send_keys(Keys.ENTER)
    assert button.get_attribute("aria-expanded") == "false"
    button.send_keys(Keys.ENTER)
    assert run_axe(d, js) == []
    # nothing was asked of any server but the console
    urls = d.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith("http://127.0.0.1:%d/" % console.port)
               for u in urls), urls
    assert not any("/leaflet/" in u for u in urls)
    assert page_errors(d) == []
    # English, second: the same dictionary as the rest of the page
    # (lang/en.json), for a browser that asks for English
    e = login(sized(browser(lang="en-GB")), console)
    card = wait_items(e, 4)[0]
    assert "Position of" in card.find_element("css selector",
                                              "dd.location").text
    assert "No location" in wait_items(e, 4)[3].text
    button = card.find_element("css selector", "button.history-toggle")
    assert button.text == "Earlier alerts"
    button.click()
    harness.wait_until(lambda: len(card.find_elements(
        "css selector", ".history-item")) == 4, 5, what="the history")
    out = card.text
    assert "Panic" in out and "Threat" in out and "Test" in out
    assert "(this alert)" in out
    assert page_errors(e) == []
    e.quit()
    shots = shots_dir()
    p = login(phone(browser()), console)
    items = wait_items(p, 4)
    items[0].find_element("css selector", "button.history-toggle").click()
    harness.wait_until(lambda: len(p.find_elements(
        "css selector", ".history-item")) == 4, 5, what="the history")
    assert p.execute_script("return innerWidth") == 390
    # nothing wider than the screen: no sideways scrolling on a phone
    assert p.execute_script(
        "return document.documentElement.scrollWidth") <= 390
    assert run_axe(p, js) == []
    p.execute_script("window.scrollTo(0, 0)")
    p.save_screenshot(str(shots / "console-history-390x844.png"))


@pytest.mark.hard_timeout(150)
def test_alert_map_from_the_configured_tile_server(lab, browser, tiles):
    """With map_tiles: the alert's view draws Leaflet (served by the
    console) with the marker and the accuracy circle, tiles only from
    that server, under a policy that refuses images from anywhere else
    and needs no inline style; a later position (alert.location) moves
    the marker, and the queue's card shows it when the event stream
    pushes it, before the next heartbeat (pushed())."""
    js = axe_path()
    env = lab.env()
    origin = "http://127.0.0.1:%d" % tiles.port
    console = Console(lab, env, extra={
        "map_tiles": origin + "/{z}/{x}/{y}.png",
        "map_attribution": "Kaartgegevens: testtegels"}).start()
    inner = feed(env, console)
    q = login(log_stream(sized(browser())), console)
    wait_items(q, 4)
    # the queue's cards stay text: no map there
    assert q.find_elements("css selector", ".map") == []
    d = alert_page(sized(browser()), console, inner["alert_id"])
    harness.wait_until(lambda: tiles_drawn(d) >= 4 and all_tiles(d), 10,
                       what="tiles drawn")
    assert tiles.paths and all(p.endswith(".png") for p in tiles.paths)
    box = d.find_element("css selector", "#location .map")
    assert box.get_attribute("aria-label") == \
        "Kaart met de positie van de melder"
    marker = d.find_element("css selector", "#location .leaflet-marker-icon")
    assert marker.get_attribute("alt") == "Positie van de melder"
    assert marker.get_attribute("src").endswith(
        "/leaflet/images/marker-icon.png")
    assert d.find_elements("css selector", "#location path.leaflet-interactive")
    assert d.find_element("css selector", ".map-attribution").text == \
        "Kaartgegevens: testtegels"
    text = d.find_element("id", "location").text
    assert "52.09070, 5.12140 (± 15 m)" in text and "Open in OpenStreetMap" in text
    harness.wait_until(lambda: len(d.find_elements(
        "css selector", "#history .history-item")) == 4, 5, what="history")
    # no CSP refusal, no script error: Leaflet runs under the policy
    assert page_errors(d) == []
    # an image from any other origin is refused by the policy
    other = harness.free_port()
    d.set_script_timeout(10)
    refused = d.execute_async_script("""
      const done = arguments[arguments.length - 1];
      document.addEventListener('securitypolicyviolation',
        (e) => done(e.violatedDirective + ' ' + e.blockedURI), {once: true});
      const i = new Image(); i.alt = '';
      i.src = 'http://127.0.0.1:' + arguments[0] + '/x.png';
      document.body.append(i);
      setTimeout(() => done('nothing refused'), 3000);""", other)
    assert refused.startswith("img-src http://127.0.0.1:%d/x.png" % other)
    d.execute_script("document.querySelectorAll('body > img')"
                     ".forEach(i => i.remove())")
    d.get_log("browser")  # the refusal above is not a page error
    assert run_axe(d, js) == []
    shots = shots_dir()
    d.save_screenshot(str(shots / "console-alert-1280x800.png"))
    # the alert at phone size
    p = alert_page(phone(browser()), console, inner["alert_id"])
    harness.wait_until(lambda: all_tiles(p), 10, what="tiles drawn")
    harness.wait_until(lambda: len(p.find_elements(
        "css selector", "#history .history-item")) == 4, 5, what="history")
    assert p.execute_script(
        "return document.documentElement.scrollWidth") <= 390
    assert run_axe(p, js) == []
    assert page_errors(p) == []
    p.save_screenshot(str(shots / "console-alert-390x844.png"))
    # a later position: the marker moves, the text follows
    before = marker_transform(d)
    h, b, _ = location_update(env, inner, NEAR, later(15))
    assert console.hook(h, b) == 200
    # the page hears of it on its event stream and moves the marker
    harness.wait_until(lambda: marker_transform(d) != before, 5,
                       what="the marker to move")
    assert len(d.find_elements("css selector", "#location .map")) == 1
    assert d.find_element("css selector", "#location .map") \
        .get_attribute("data-lat") == "52.091"
    text = d.find_element("id", "location").text
    assert "52.09100, 5.12180 (± 8 m)" in text and "1 keer bijgewerkt" in text
    assert page_errors(d) == []
    # the queue, open in another page, shows the new position by itself
    h, b, _ = location_update(env, inner, HOME, later(25))
    expect_shown(q, "const li = document.querySelector('#queue > li');"
                    "return li && li.innerText.includes('52.09070, 5.12140')"
                    " && li.innerText.includes('2 keer bijgewerkt');")
    assert console.hook(h, b) == 200
    pushed(q, inner["alert_id"], "the card's new position")
