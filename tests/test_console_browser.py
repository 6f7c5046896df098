"""alertconsole's page in a real browser: headless Chromium from Debian
(chromium, chromium-driver, python3-selenium), against a real console fed
with real signed, sealed webhooks.  The queue shows the alerts decrypted,
most urgent first, alert text as text only; axe-core (npm, installed by
this test into the build directory, never into the tree) finds no WCAG
2.1 A or AA violation; the page warns when the console stops answering;
screenshots at 1280x800 and 390x844 are written to BUILD/screenshots.
The page needs an operator's login: login() goes through the login page
as a person would.  The browser's language is Dutch (--lang=nl)."""

import json
import os
import shutil
import subprocess

import pytest

import harness
from test_console import Console, OPERATOR, PASSWORD, RID, make_webhook

pytestmark = pytest.mark.needs("alertconsole")

XSS = "<img src=x onerror=alert(1)>"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_path():
    """axe.min.js, installed from tests/package.json(+lock) into
    BUILD/browser-tests by npm; skips when npm cannot fetch it."""
    d = harness.build_dir() / "browser-tests"
    js = d / "node_modules" / "axe-core" / "axe.min.js"
    if js.exists():
        return js
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (Debian package npm)")
    d.mkdir(parents=True, exist_ok=True)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(harness.ROOT / "tests" / f, d / f)
    cp = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix",
                         str(d)], capture_output=True, text=True, timeout=120)
    if cp.returncode != 0 or not js.exists():
        pytest.skip("npm could not install axe-core: %s" % cp.stderr[-500:])
    return js


def chrome(width, height, lang="nl-NL"):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("python3-selenium is not installed (install-deps.sh)")
    if not os.path.exists("/usr/bin/chromedriver"):
        pytest.fail("chromium-driver is not installed (install-deps.sh)")
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--window-size=%d,%d" % (width, height),
              "--disable-dev-shm-usage", "--no-first-run",
              "--autoplay-policy=no-user-gesture-required",
              "--lang=%s" % lang):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=o)


def sized(d, width=1280, height=800, mobile=False):
    """A viewport of exactly width x height CSS pixels: headless
    Chromium's window holds its own bars and is at least 500 wide, so the
    size is emulated."""
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1,
        "mobile": mobile})
    return d


def phone(d):
    return sized(d, 390, 844, mobile=True)


# Loaded before the page's own scripts: every EventSource the page opens
# logs its heartbeat and alerts events, in order, each with what
# window.__shown() (set by the test) said when it came, before the
# page's own handlers ran.
STREAM_LOG_JS = """
window.__streamLog = [];
window.__shown = () => false;
const NativeEventSource = window.EventSource;
window.EventSource = class extends NativeEventSource {
  constructor(...args) {
    super(...args);
    for (const name of ['heartbeat', 'alerts']) {
      this.addEventListener(name, (ev) => window.__streamLog.push(
        {event: name, data: ev.data, shown: Boolean(window.__shown())}));
    }
  }
};
"""


def log_stream(d):
    """d, with the page's event stream logged (STREAM_LOG_JS) from its
    next page load on."""
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                      {"source": STREAM_LOG_JS})
    return d


def pushed(d, alert_id, what, timeout=15):
    """After the webhook of alert_id went in (what the page must show
    set before it with expect_shown): waits until the page shows it,
    then checks on the page's own stream (log_stream) that the "alerts"
    event named alert_id came and that no heartbeat came after it while
    the page did not show it yet: shown within one heartbeat interval
    of the push, not at the next heartbeat (the page has no poll).  An
    order, not a wall-clock bound: speed is `make bench`'s."""
    harness.wait_until(lambda: d.execute_script("return window.__shown()"),
                       timeout, what=what)
    log = d.execute_script("return window.__streamLog")
    data = '"%s"' % alert_id
    assert any(e["event"] == "alerts" and e["data"] == data
               for e in log), log
    after = log[max(i for i, e in enumerate(log)
                    if e["event"] == "alerts" and e["data"] == data):]
    late = [e for e in after if e["event"] == "heartbeat" and not e["shown"]]
    assert late == [], "a heartbeat came before %s: %r" % (what, log)


def expect_shown(d, shown_js):
    """Sets the page's window.__shown to a function of body shown_js."""
    d.execute_script("window.__shown = () => { %s };" % shown_js)


@pytest.fixture
def browser():
    drivers = []

    def make(width=1280, height=800, lang="nl-NL"):
        d = chrome(width, height, lang)
        drivers.append(d)
        return d
    yield make
    for d in drivers:
        d.quit()


def run_axe(driver, js):
    driver.execute_script(js.read_text())
    # axe over a queue of 500 cards takes seconds; far more on a loaded
    # machine (test_console_queue_bound failed inside this call under load)
    driver.set_script_timeout(120)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map(n => n.html)}))))"
        ".catch(e => done([{id: 'axe-error', help: String(e)}]));",
        AXE_TAGS)


def login(driver, console, path="/", name=OPERATOR, password=PASSWORD):
    """Opens path, is sent to the login page, logs in there, and is sent
    back to path."""
    console.add_user(name)
    base = "http://127.0.0.1:%d" % console.port
    driver.get(base + path)
    harness.wait_until(lambda: "/login.html" in driver.current_url, 10,
                       what="the login page")
    harness.wait_until(lambda: driver.find_element("id", "name")
                       .is_displayed(), 10, what="the login form")
    driver.find_element("id", "name").send_keys(name)
    driver.find_element("id", "password").send_keys(password)
    driver.find_element("css selector", "#login button").click()
    harness.wait_until(lambda: "/login.html" not in driver.current_url, 15,
                       what="the way back from the login page")
    # the log so far holds the expected 401 that sent it to log in
    before = driver.get_log("browser")
    assert all("/api/session" in e["message"] and "401" in e["message"]
               for e in before if e["level"] == "SEVERE"
               and "favicon.ico" not in e["message"]), before
    return driver


def wait_items(driver, n, timeout=10):
    harness.wait_until(
        lambda: len(driver.find_elements("css selector", "#queue > li")) >= n,
        timeout, what="%d alert(s) on the page" % n)
    return driver.find_elements("css selector", "#queue > li")


def page_errors(driver):
    """The browser console's errors (a CSP refusal, a script error), but
    not the favicon the browser asks for by itself."""
    return [e for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]


def timeline(d, kind=None):
    """An alert page's timeline, read in one script: (kind, text) per
    entry, or the texts of one kind.  alert.js redraws the timeline on
    every live event, so an element looked up before a read may be stale
    by then."""
    items = d.execute_script(
        "return Array.from(document.querySelectorAll('#timeline li'),"
        " li => [li.dataset.kind, li.innerText]);")
    if kind is None:
        return [(k, t) for k, t in items]
    return [t for k, t in items if k == kind]


@pytest.mark.hard_timeout(120)
def test_queue_in_a_browser(lab, browser):
    js = axe_path()
    env = lab.env()
    console = Console(lab, env).start()
    h, b, test_inner = make_webhook(env, RID, alert_type="test",
                                    message="Proefmelding", location=None)
    assert console.hook(h, b) == 200
    h, b, panic_inner = make_webhook(env, RID, alert_type="panic",
                                     message=XSS)
    assert console.hook(h, b) == 200
    d = login(sized(browser()), console)
    items = wait_items(d, 2)
    # most urgent first, though it came last
    assert items[0].get_attribute("data-alert-id") == panic_inner["alert_id"]
    assert items[1].get_attribute("data-alert-id") == test_inner["alert_id"]
    assert "Paniek" in items[0].text and "Test" in items[1].text
    # alert text is text: shown literally, no element made, nothing ran
    msg = items[0].find_element("css selector", "dd.message")
    assert msg.text == XSS
    assert d.find_elements("css selector", "#queue img") == []
    assert d.execute_script("return document.title") == \
        "(2) Meldingen – alertconsole"
    assert "52.09070, 5.12140" in items[0].text
    assert "Geen locatie" in items[1].text
    assert d.find_element("id", "banner").is_displayed() is False
    assert page_errors(d) == []
    # WCAG 2.1 A and AA: none ...
    violations = run_axe(d, js)
    assert violations == [], json.dumps(violations, indent=1)
    # ... and the check can fail: a planted image without alt text
    d.execute_script("const i = document.createElement('img');"
                     "i.src = '/style.css'; document.querySelector('main')"
                     ".append(i);")
    assert "image-alt" in [v["id"] for v in run_axe(d, js)]
    shots = harness.build_dir() / "screenshots"
    shots.mkdir(exist_ok=True)
    d.refresh()
    wait_items(d, 2)
    d.save_screenshot(str(shots / "console-queue-1280x800.png"))
    phone = login(sized(browser(), 390, 844, mobile=True), console)
    wait_items(phone, 2)
    assert phone.execute_script("return innerWidth") == 390
    assert phone.execute_script(
        "return document.documentElement.scrollWidth") <= 390
    assert run_axe(phone, js) == []
    phone.save_screenshot(str(shots / "console-queue-390x844.png"))


# Loaded before the page's own scripts: when the page heard something
# on its event streams, when it closed one (stream.js gives up a silent
# stream), and when the connection banner went up (page clock, ms).
SILENCE_LOG_JS = """
window.__silence = {heard: [], closed: [], banner: []};
const NativeEventSource = window.EventSource;
window.EventSource = class extends NativeEventSource {
  constructor(...args) {
    super(...args);
    for (const name of ['open', 'heartbeat', 'alerts', 'expired', 'waiting']) {
      this.addEventListener(name, () =>
        window.__silence.heard.push(performance.now()));
    }
  }
  close() {
    window.__silence.closed.push(performance.now());
    super.close();
  }
};
document.addEventListener('DOMContentLoaded', () => {
  const b = document.getElementById('banner');
  if (!b) return; // the login page
  new MutationObserver(() => {
    if (!b.hidden) window.__silence.banner.push(performance.now());
  }).observe(b, {attributes: true, attributeFilter: ['hidden']});
});
"""


@pytest.mark.hard_timeout(90)
def test_banner_when_the_console_stops_answering(lab, browser):
    """A console that stops answering without closing anything (SIGSTOP)
    is noticed by its silence: the page gives up its event stream after
    two heartbeat intervals with nothing on it (stream.js) and the
    banner goes up.  Orders, not a wall-clock bound (speed is `make
    bench`'s): the page gave the stream up no sooner than two heartbeat
    intervals after it last heard from it (correctness: a stream is not
    dropped while it keeps its rhythm), and the banner came after that,
    not before, from the loader's own staleness (15 s without news,
    loader.js), which comes later; a page whose stream watchdog did not
    fire, or fired only after that, fails."""
    env = lab.env()
    console = Console(lab, env).start()
    d = browser()
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                      {"source": SILENCE_LOG_JS})
    d = login(d, console)
    harness.wait_until(lambda: "Bijgewerkt" in d.find_element("id", "status").text,
                       10, what="first update")
    heartbeat_ms = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/session').then((r) => r.json())"
        ".then((s) => done(s.heartbeat_ms), () => done(null));")
    assert heartbeat_ms and heartbeat_ms > 0, heartbeat_ms
    banner = d.find_element("id", "banner")
    assert not banner.is_displayed()
    paused_at = d.execute_script("return performance.now()")
    console.proc.pause()  # SIGSTOP: requests hang, nothing is refused
    try:
        # a bounded wait, no assertion of speed: the watchdog's two
        # heartbeat intervals and twice that again
        harness.wait_until(banner.is_displayed, 4 * heartbeat_ms / 1000,
                           interval=0.5, what="the disconnection banner")
        assert "Verbinding met de console verbroken" in banner.text
        log = d.execute_script("return window.__silence")
    finally:
        console.proc.resume()
    last_heard = max(log["heard"])
    closed = [t for t in log["closed"] if t > last_heard]
    up = [t for t in log["banner"] if t > paused_at]
    assert closed, "the banner went up, but the page never gave up its " \
        "silent stream: %r" % log
    assert closed[0] - last_heard >= 2 * heartbeat_ms - 50, (
        "the stream given up %.0f ms after the page last heard from it, "
        "before two heartbeat intervals" % (closed[0] - last_heard))
    assert up and up[0] >= closed[0], "the banner went up before the " \
        "page gave up its stream: %r" % log
    harness.wait_until(lambda: not banner.is_displayed(), 10, interval=0.5,
                       what="the banner to go")


@pytest.mark.hard_timeout(60)
def test_new_alert_is_pushed_to_an_open_page(lab, browser):
    """No polling: the page shows an alert the console committed when
    its "alerts" event comes over Server-Sent Events, before the next
    heartbeat (pushed())."""
    env = lab.env()
    console = Console(lab, env).start()
    d = login(log_stream(browser()), console)
    harness.wait_until(lambda: "Bijgewerkt" in d.find_element("id", "status").text,
                       10, what="first update")
    assert d.find_element("id", "empty").is_displayed()
    h, b, inner = make_webhook(env, RID, alert_type="threat",
                               message="Verdachte auto voor het huis")
    expect_shown(d, "return document.querySelectorAll('#queue > li')"
                    ".length >= 1;")
    assert console.hook(h, b) == 200
    pushed(d, inner["alert_id"], "the alert on the page")
    items = wait_items(d, 1)
    assert items[0].get_attribute("data-alert-id") == inner["alert_id"]
    assert "Verdachte auto voor het huis" in items[0].text
    assert page_errors(d) == []
