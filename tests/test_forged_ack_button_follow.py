"""A forged acknowledgement ends neither the panic button's alert nor the
location updates of `send --follow` (ack_verify_closes, issue 17): a
relay taken over (here: the test, publishing on the relay's receipts
channel as anyone with its Redis could) says a person took the alert,
without a signed statement or signed with a key that is not the
recipient's.  The button says it is NOT genuine, keeps its alert open
and raises nothing new on the next hold; follow keeps sending its
location.  The genuine acknowledgement (`alertctl ack`, signed with the
recipient's key in the signed directory) ends both.  Real alertrelayd,
redis-server, Kannel and alertctl.

Checked against the code before ack_verify_closes (any "acknowledged"
receipt closed the alert): the button freed itself on the forged
receipt and follow stopped."""

import time

import nacl.signing
import pytest

import harness
from harness import wait_until
from test_button import (HOLD, ID_RX, Button, add_button, out, raised,
                         start_button)
from test_follow import FIXED, alert_id_of
from test_signed_ack import cp_conf, ctl, forged, publish, stack, statement

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")


def forge_both(st, aid):
    """The two forgeries: no statement, and a statement signed by a key
    the directory does not hold for the recipient."""
    publish(st, aid, forged("Piket-1"))
    env_hash = st.alert_hash(aid)["envelope_hash"]
    other = nacl.signing.SigningKey.generate()
    publish(st, aid, forged("Piket-2", statement=statement(
        other, aid, env_hash, by="Piket-2")))


def genuine_ack(lab, st, keyfile, aid):
    cp = ctl(lab, "-c", cp_conf(st, keyfile), "ack",
             st.alert_hash(aid)["ref"], "--by", "Jan de Vries")
    assert cp.returncode == 0, cp.stderr


def button_with_alert(lab, tmp_path):
    """alertctl button on the stack, its alert held, accepted and
    delivered: (stack, key file, proc, button, alert_id)."""
    st, _sk, keyfile = stack(lab)
    button = Button(tmp_path / "event0")
    add_button(st.env, button.path)
    p = start_button(lab, st.env)
    button.press(HOLD + 0.4)
    p.wait_for(r"alert %s: accepted by the relay" % ID_RX, "stdout", 15)
    (aid,) = raised(p)
    p.wait_for(r"alert %s: delivered" % aid, "stdout", 15)
    return st, keyfile, p, button, aid


def follow_with_alert(lab):
    """send --follow on the stack, 2 positions in: (stack, key file,
    proc, alert_id, located), located() counting the positions."""
    st, _sk, keyfile = stack(lab,
                             sections={"location": {"min_interval": 1}})
    send = lab.send_proc(st.env, "--type", "threat", "--lat", FIXED[0],
                         "--lon", FIXED[1], "--follow", "--follow-interval",
                         "1")
    aid = alert_id_of(send)

    def located():
        return len(st.webhooks("contactpunt", "alert.location", aid))
    wait_until(lambda: located() >= 2, 30, what="2 alert.location")
    return st, keyfile, send, aid, located


def still_sending(send, located, after):
    n = located()
    wait_until(lambda: located() >= n + 3, 30,
               what="3 more alert.location after " + after)
    assert send.running(), send.tail()
    text = "\n".join(send.snapshot("stdout"))
    assert "no longer sent" not in text, text


@pytest.mark.hard_timeout(150)
def test_button_keeps_its_alert_on_a_forged_ack(lab, tmp_path):
    st, keyfile, p, button, aid = button_with_alert(lab, tmp_path)

    forge_both(st, aid)
    p.wait_for(r"NOT genuine \(it carries no signed statement\)", "stdout",
               10)
    p.wait_for(r"NOT genuine \(its signature is false\)", "stdout", 10)
    assert "the button is ready" not in out(p), out(p)
    assert not (st.env.dir / "outbox" / (aid + ".closed")).exists()
    # still its alert: a hold says so and raises nothing new
    button.press(HOLD + 0.3)
    wait_until(lambda: "is still open" in out(p), 10, what=p.tail())
    assert raised(p) == [aid]
    assert st.webhooks("contactpunt", "alert.raised") and all(
        a["json"]["alert_id"] == aid
        for a in st.webhooks("contactpunt", "alert.raised"))

    # the genuine one frees it, and the next hold is a new alert
    genuine_ack(lab, st, keyfile, aid)
    p.wait_for(r"alert %s is acknowledged: the button is ready" % aid,
               "stdout", 15)
    button.press(HOLD + 0.4)
    wait_until(lambda: len(raised(p)) == 2, 10, what=p.tail())
    assert raised(p)[1] != aid
    assert p.running()
    button.close()


@pytest.mark.hard_timeout(150)
def test_follow_keeps_sending_on_a_forged_ack(lab):
    st, keyfile, send, aid, located = follow_with_alert(lab)

    forge_both(st, aid)
    # follow goes on: more positions after the forgeries
    still_sending(send, located, "the forged acks")
    assert st.alert_hash(aid)["state"] == "open"

    # the genuine one ends it
    genuine_ack(lab, st, keyfile, aid)
    assert send.wait_exit(20) == 0, send.tail()
    text = "\n".join(send.snapshot("stdout"))
    assert "The alert is closed" in text, text
    n = located()
    time.sleep(3)
    assert located() == n


def relays_word(st, aid, what):
    """What a relay taken over can say without the device's or a
    recipient's signature: an acknowledgement attested by the relay
    alone, a cancel the device did not sign, an expiry."""
    from test_signed_ack import cancel_receipt
    if what == "attested_relay":
        return forged("Piket-1", attested="relay")
    if what == "cancelled":
        return cancel_receipt(st, aid)
    return {"event": "expired",
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


RELAYS_WORDS = ["attested_relay", "cancelled", "expired"]


def own_cancel(lab, st, aid):
    cp = ctl(lab, "-c", st.env.client_conf, "cancel", aid)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.hard_timeout(150)
@pytest.mark.parametrize("what", RELAYS_WORDS)
def test_button_keeps_its_alert_on_the_relays_word(lab, tmp_path, what):
    """The relay alone says the alert was acknowledged (attested:
    relay), cancelled (no signed cancel of this device) or expired: the
    button keeps its alert, lit, and says nothing is ready.  After a
    made-up cancel or an expiry the next hold raises a new alert; after
    an ack only the relay vouches for it is still open.  Before, the
    first two freed the button at once ("the button is ready").  The
    device's own cancel (alertctl cancel) frees it."""
    st, _keyfile, p, button, aid = button_with_alert(lab, tmp_path)

    publish(st, aid, relays_word(st, aid, what))
    if what == "cancelled":
        p.wait_for(r"alert %s: the relay says it is cancelled, but not "
                   r"with this device's signed cancel" % aid, "stdout", 10)
    elif what == "expired":
        p.wait_for(r"alert %s: the relay stopped escalating it" % aid,
                   "stdout", 10)
    else:
        p.wait_for(r"alert %s: acknowledged" % aid, "stdout", 10)
    time.sleep(1)
    assert "the button is ready" not in out(p), out(p)
    assert not (st.env.dir / "outbox" / (aid + ".closed")).exists()
    assert st.alert_hash(aid)["state"] == "open"

    if what == "attested_relay":
        button.press(HOLD + 0.3)
        wait_until(lambda: "is still open" in out(p), 10, what=p.tail())
        assert raised(p) == [aid]
        own_cancel(lab, st, aid)
        p.wait_for(r"alert %s is cancelled: the button is ready" % aid,
                   "stdout", 15)
    else:
        button.press(HOLD + 0.4)
        wait_until(lambda: len(raised(p)) == 2, 10, what=p.tail())
        new = raised(p)[1]
        assert new != aid
        p.wait_for(r"alert %s: delivered" % new, "stdout", 15)
        own_cancel(lab, st, new)
        p.wait_for(r"alert %s is cancelled: the button is ready" % new,
                   "stdout", 15)
    assert p.running()
    button.close()


@pytest.mark.hard_timeout(150)
@pytest.mark.parametrize("what", RELAYS_WORDS)
def test_follow_keeps_sending_on_the_relays_word(lab, what):
    """send --follow goes on sending the location after the relay's
    word alone (an ack attested by the relay, a cancel the device did
    not sign, an expiry); the device's own cancel ends it.  Before, the
    first two ended it."""
    st, _keyfile, send, aid, located = follow_with_alert(lab)

    publish(st, aid, relays_word(st, aid, what))
    still_sending(send, located, "the relay's word")

    own_cancel(lab, st, aid)
    assert send.wait_exit(20) == 0, send.tail()
    text = "\n".join(send.snapshot("stdout"))
    assert "The alert is closed (cancelled)" in text, text


@pytest.mark.hard_timeout(150)
def test_watch_follows_on_after_a_cancel_the_device_did_not_sign(lab):
    """A cancelled receipt without this device's signed cancel: watch
    says it is the relay's word, leaves the outbox entry open (so that
    each reconnect asks after the alert again) and goes on; the device's
    own cancel then closes it.  Before, the made-up cancel closed the
    entry at once, as a real one."""
    from test_signed_ack import cancel_receipt
    st, _keyfile, watch, aid, closed = watch_with_alert(lab)

    publish(st, aid, cancel_receipt(st, aid))
    watch.wait_for(r"^alert %s: the relay says it is cancelled, but not "
                   r"with this device's signed cancel: still following it$"
                   % aid, "stdout", 10)
    still_open_after_a_reconnect(st, watch, closed)

    own_cancel(lab, st, aid)
    closed_and_said_once(watch, closed, "the relay says it is cancelled")


def still_open_after_a_reconnect(st, watch, closed,
                                 reconnected=r"^reconnected to "):
    """The outbox entry stays open, and the relay restarted: watch
    reconnects, asks after the alert again and takes the relay's status
    answer (its log line, then a later frame's: watch is past it)
    without closing the entry."""
    time.sleep(1)
    assert not closed.exists()
    st.relay.kill9()
    start = len(watch.snapshot("stderr"))
    st.relay.restart()
    watch.wait_for(reconnected, "stdout", 20)
    watch.wait_for(r"got status frame$", "stderr", 10, start=start)
    after = len(watch.snapshot("stderr"))
    watch.wait_for(r"got \w+ frame$", "stderr", 10, start=after)
    assert not closed.exists(), watch.tail()


def said(watch, text):
    return [ln for ln in watch.text("stdout").splitlines() if text in ln]


def closed_and_said_once(watch, closed, text):
    """The outbox entry closed; what watch said of the relay's word said
    once in all; watch still running."""
    wait_until(closed.exists, 10, what="the outbox entry closed:\n" +
               watch.tail())
    assert len(said(watch, text)) == 1, watch.text("stdout")
    assert watch.running(), watch.tail()


def watch_with_alert(lab, *extra, env=None):
    """alertctl -v watch on the stack (-v: it logs each frame it takes),
    then an alert sent: (stack, key file, watch, alert_id, its outbox
    closed marker)."""
    st, _sk, keyfile = stack(lab)
    argv = [harness.alertctl_bin(), "-v", "-c", str(st.env.client_conf),
            "watch", "--interval", "1", "--dead-after", "3"] + list(extra)
    watch = harness.Proc(argv, "watch", lab.logdir, env=env)
    lab.things.append(watch)
    watch.start()
    watch.wait_for(r"^(connected|verbonden) ", "stdout", 10)
    rc, lines, err = lab.send(st.env, "--type", "panic", "--timeout", "10")
    assert rc == 0, (lines, err)
    aid = lines[0].split("=", 1)[1]
    return st, keyfile, watch, aid, st.env.dir / "outbox" / (aid + ".closed")


def unsigned_cp_conf(st):
    """The contact point's alertctl ack without a sign_key: its
    acknowledgement carries no signed statement."""
    path = st.env.dir / "cp-unsigned.conf"
    path.write_text("\n".join([
        "[contactpoint]",
        "ack_url = https://127.0.0.1:%d" % st.ack_port,
        "relay_pin = %s" % st.env.pin,
        "token_file = %s" % st.token_files["contactpunt"]]) + "\n")
    return path


def relay_only_ack(lab, st, aid, by="Piet"):
    """An acknowledgement only the relay vouches for, stored by the real
    relay (the alert's state acknowledged, its event attested: relay),
    not only a receipt on its channel: the status a reconnect asks for
    says so too."""
    cp = ctl(lab, "-c", unsigned_cp_conf(st), "ack",
             st.alert_hash(aid)["ref"], "--by", by)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    h = st.alert_hash(aid)
    assert h["state"] == "acknowledged" and "acked_statement" not in h, h
    ev = st.events(aid)[-1]
    assert ev["event"] == "acknowledged" and ev["attested"] == "relay", ev


RELAYS_ACK = (r"^alert %s: the relay says it is acknowledged, but no person "
              r"signed that: still following it$")


@pytest.mark.hard_timeout(150)
def test_watch_follows_on_after_an_ack_only_the_relay_vouches_for(lab):
    """An acknowledgement the relay alone attests (alertctl ack without a
    signing key, stored by the relay: the alert's state acknowledged):
    watch prints it, says once that no person signed it, leaves the
    outbox entry open and goes on.  After the relay's restart watch asks
    after the alert again: the status answer (state acknowledged, the
    same event) neither closes the entry nor says it again.  The
    genuine, signed acknowledgement then closes it.  Before, the relay's
    word closed the entry at once, as the button and send --follow do
    not; the status answer's state alone closed it (.closed written) or
    said it three times, which a receipt only published (state still
    open) could not show."""
    st, keyfile, watch, aid, closed = watch_with_alert(lab)

    relay_only_ack(lab, st, aid)
    watch.wait_for(RELAYS_ACK % aid, "stdout", 10)
    still_open_after_a_reconnect(st, watch, closed)
    assert len(said(watch, "the relay says it is acknowledged")) == 1, \
        watch.text("stdout")

    genuine_ack(lab, st, keyfile, aid)
    watch.wait_for(r"^alert %s: acknowledged by Jan de Vries .*signed by "
                   r"the person, verified" % aid, "stdout", 15)
    closed_and_said_once(watch, closed, "the relay says it is acknowledged")
    # never the relay's state word as a plain "acknowledged"
    assert "alert %s: acknowledged" % aid not in \
        watch.text("stdout").splitlines(), watch.text("stdout")


@pytest.mark.hard_timeout(120)
def test_watch_with_accept_relay_ack_closes_on_the_relays_word(lab):
    """With --accept-relay-ack, as send's, an acknowledgement the relay
    attests closes the alert's outbox entry; nothing says it is still
    followed."""
    st, _keyfile, watch, aid, closed = watch_with_alert(
        lab, "--accept-relay-ack")

    publish(st, aid, forged("Piket-1", attested="relay"))
    watch.wait_for(r"^alert %s: acknowledged by Piket-1" % aid, "stdout", 10)
    wait_until(closed.exists, 10, what="the outbox entry closed:\n" +
               watch.tail())
    assert "still following it" not in watch.text("stdout")


@pytest.mark.hard_timeout(150)
def test_watch_tells_the_relays_word_in_dutch(lab):
    """In Dutch, as the official reads it by default: an acknowledgement
    only the relay vouches for (stored by the relay) is still followed,
    and said once, across the relay's restart too; an expiry says
    plainly that the relay stopped, nobody confirmed it, it is followed
    no more, and to call 112 (before, only "alarm ID: verlopen")."""
    dutch = {"LANGUAGE": "nl", "LANG": "C.UTF-8"}
    st, _keyfile, watch, aid, closed = watch_with_alert(lab, env=dutch)
    relays_ack = ("alarm %s: de relay zegt dat het is opgepakt, maar geen "
                  "persoon heeft dat ondertekend: het wordt nog gevolgd"
                  % aid)

    relay_only_ack(lab, st, aid)
    watch.wait_for("^%s$" % relays_ack, "stdout", 10)
    still_open_after_a_reconnect(st, watch, closed,
                                 reconnected=r"^opnieuw verbonden met ")
    assert said(watch, relays_ack) == [relays_ack], watch.text("stdout")

    publish(st, aid, relays_word(st, aid, "expired"))
    watch.wait_for(r"^alarm %s: verlopen: de relay schaalt het niet meer op "
                   r"en niemand heeft het bevestigd; het wordt niet meer "
                   r"gevolgd\. Nog in gevaar\? Bel nu 112\.$" % aid,
                   "stdout", 10)
    wait_until(closed.exists, 10, what="the outbox entry closed:\n" +
               watch.tail())
    lines = [ln for ln in watch.text("stdout").splitlines()
             if ln.startswith("alarm %s: verlopen" % aid)]
    assert len(lines) == 1, watch.text("stdout")
    # what came before the expiry line, said once in all
    assert said(watch, relays_ack) == [relays_ack], watch.text("stdout")
