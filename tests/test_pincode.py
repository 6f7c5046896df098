"""Changing the cancel PINs (`alertctl pincode set|clear`) once they are
set: the current PIN first, as an alarm panel asks the current code.  A
wrong one changes nothing.  The duress PIN given as the current PIN looks
exactly like success (the same stdout, stderr and exit status, the same
`pincode status` afterwards) but keeps the device under duress: every
cancel afterwards reaches the relay as a duress cancel (the alert stays
open, `alert.duress` to every tier) until the official sets PINs with
the own PIN.  Real alertrelayd, redis-server, Kannel and alertctl.

Before: set and clear asked no current PIN, so whoever held the unlocked
device could remove the duress protection or set PINs of their own."""

import json
import os
import re

import pytest

import harness
from harness import sms_stack
from test_duress import (DURESS, PIN, POLICY, alertctl, alertctl_cpu,
                         assert_same_work, send, set_pins)

pytestmark = pytest.mark.needs("alertctl")

# PINs chosen later: by the official (OWN2/OWN2D) and by whoever forces
# the change (FORCED/FORCEDD)
OWN2, OWN2D = "31415926", "27182818"
FORCED, FORCEDD = "55501234", "55509876"
WRONG_LINE = "alertctl: error: Wrong PIN. Nothing was changed.\n"
# no language chosen: Dutch, as an official's machine may well say
DUTCH = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
PROMPT_RX = re.compile(r"(pincode|nog eens): ")


def pinfile_of(env):
    return env.device_key.parent / (env.device_key.name + ".pin")


def pinfile(st):
    return pinfile_of(st.env)


def status(st):
    return alertctl(st, "pincode", "status")


def lines(*pins):
    return "".join(p + "\n" for p in pins)


def assert_real_cancel(st, pin):
    a = send(st.lab, st)
    st.wait_webhook("contactpunt", "alert.raised", a)
    r = alertctl(st, "cancel", a, input=pin)
    assert r[:2] == (0, "cancelled %s\n" % a), r
    assert st.alert_hash(a)["state"] == "cancelled"
    st.wait_webhook("contactpunt", "alert.cancelled", a)
    return r, a


def assert_duress_cancel(st, pin):
    """A cancel that prints "cancelled" and reaches the relay as duress:
    open, flagged, alert.duress to every tier at once, no cancel sent."""
    a = send(st.lab, st)
    st.wait_webhook("contactpunt", "alert.raised", a)
    r = alertctl(st, "cancel", a, input=pin)
    assert r[:2] == (0, "cancelled %s\n" % a), r
    h = st.alert_hash(a)
    assert h["state"] == "open" and h["duress"] == "1", h
    for rid in ("contactpunt", "oncall-1"):
        hook, = st.wait_webhook(rid, "alert.duress", a, timeout=15)
        assert hook["sig_ok"] and hook["json"]["duress"] is True
    assert st.webhooks("contactpunt", "alert.cancelled", a) == []
    return r, a


def stack(lab):
    st = sms_stack(lab, POLICY)
    st.lab = lab
    set_pins(st)
    return st


@pytest.mark.hard_timeout(180)
def test_set_and_clear_ask_the_current_pin(lab):
    st = stack(lab)
    before = pinfile(st).read_bytes()
    # no current PIN, a wrong one, one too short: refused alike, nothing
    # changed; on the old code "9999999" became the new PIN
    for current in ("", "9999999\n", "12\n"):
        for what in ("set", "clear"):
            r = alertctl(st, "pincode", what,
                         input=current + lines(FORCED, FORCEDD))
            assert r == (1, "", WRONG_LINE), (what, current, r)
            assert pinfile(st).read_bytes() == before, (what, current)
    # the official's PINs still the ones that work
    assert_real_cancel(st, PIN + "\n")
    assert status(st) == (0, "PIN and duress PIN are set.\n", "")

    # the own PIN: new PINs, a plain version 1 file
    r = alertctl(st, "pincode", "set", input=lines(PIN, OWN2, OWN2D))
    assert r == (0, "PIN and duress PIN set.\n", ""), r
    assert json.loads(pinfile(st).read_text())["v"] == 1
    r = alertctl(st, "cancel", send(lab, st), input=PIN + "\n")
    assert r[0] == 1 and "Wrong PIN" in r[2], r
    assert_real_cancel(st, OWN2 + "\n")

    # clear with the own PIN: gone, cancel asks none and cancels
    r = alertctl(st, "pincode", "clear", input=OWN2 + "\n")
    assert r == (0, "No PIN any more: cancel asks none.\n", ""), r
    assert not pinfile(st).exists()
    assert status(st) == (0, "No PIN is set: cancel asks none.\n", "")
    assert_real_cancel(st, "")


@pytest.mark.hard_timeout(240)
def test_clear_with_the_duress_pin_only_looks_cleared(lab):
    st = stack(lab)
    # the real thing first, to compare with
    real, cpu_real = alertctl_cpu(st, "pincode", "clear", input=PIN + "\n")
    real_status = status(st)
    real_cancel, _ = assert_real_cancel(st, "")
    set_pins(st)  # none set: asks no current PIN

    # forced: the duress PIN as the current one
    forced, cpu_forced = alertctl_cpu(st, "pincode", "clear",
                                      input=DURESS + "\n")
    assert forced == real == (
        0, "No PIN any more: cancel asks none.\n", ""), (forced, real)
    assert_same_work(cpu_real, cpu_forced)
    assert status(st) == real_status == (
        0, "No PIN is set: cancel asks none.\n", "")
    # kept, atomically replaced, 0600: a new process reads it back
    doc = json.loads(pinfile(st).read_text())
    assert doc["v"] == 2 and sorted(doc) == ["duress", "pin", "v"], doc
    assert oct(os.stat(pinfile(st)).st_mode & 0o777) == "0o600"
    assert PIN not in pinfile(st).read_text()

    # a cancel asks no PIN, prints what a real one prints, and is duress
    r, a = assert_duress_cancel(st, "")
    assert r[2] == real_cancel[2] == "", (r, real_cancel)
    # clear again: nothing to clear, as on a device without PINs
    assert alertctl(st, "pincode", "clear", input="") == real
    # whoever forced it sets PINs of their own: no current PIN asked (none
    # shown), the device still under duress behind them
    r = alertctl(st, "pincode", "set", input=lines(FORCED, FORCEDD))
    assert r == (0, "PIN and duress PIN set.\n", ""), r
    assert status(st) == (0, "PIN and duress PIN are set.\n", "")
    assert_duress_cancel(st, FORCED + "\n")
    # and clear them with their PIN: still under duress
    assert alertctl(st, "pincode", "clear", input=FORCED + "\n") == real
    assert_duress_cancel(st, "")

    # the official's way back: set, with the own PIN as the new PIN
    r = alertctl(st, "pincode", "set", input=lines(PIN, OWN2D))
    assert r == (0, "PIN and duress PIN set.\n", ""), r
    assert json.loads(pinfile(st).read_text())["v"] == 1
    assert_real_cancel(st, PIN + "\n")
    assert_duress_cancel(st, OWN2D + "\n")


@pytest.mark.hard_timeout(240)
def test_set_with_the_duress_pin_only_looks_set(lab):
    st = stack(lab)
    real, cpu_real = alertctl_cpu(st, "pincode", "set",
                                  input=lines(PIN, OWN2, OWN2D))
    real_status = status(st)
    assert alertctl(st, "pincode", "set", input=lines(PIN)) == (
        1, "", WRONG_LINE)
    # forced: the duress PIN (now OWN2D) as the current one
    forced, cpu_forced = alertctl_cpu(st, "pincode", "set",
                                      input=lines(OWN2D, FORCED, FORCEDD))
    assert forced == real == (0, "PIN and duress PIN set.\n", ""), (
        forced, real)
    assert_same_work(cpu_real, cpu_forced)
    assert status(st) == real_status == (
        0, "PIN and duress PIN are set.\n", "")
    doc = json.loads(pinfile(st).read_text())
    assert doc["v"] == 2 and sorted(doc) == [
        "duress", "pin", "shown_duress", "shown_pin", "v"], doc

    # the PIN the coercer watched being typed as the current one is, as
    # after a real change, a replaced PIN: wrong for set (as PIN is after
    # the real set above) and for cancel
    replaced = alertctl(st, "pincode", "set", input=lines(OWN2D))
    assert replaced == (1, "", WRONG_LINE), replaced
    a = send(lab, st)
    r = alertctl(st, "cancel", a, input=OWN2D + "\n")
    assert r[0] == 1 and "Wrong PIN" in r[2] and \
        st.alert_hash(a)["state"] == "open", r
    # the PIN the coercer chose "works", as a duress cancel; a wrong one
    # is refused as ever
    assert_duress_cancel(st, FORCED + "\n")
    a = send(lab, st)
    r = alertctl(st, "cancel", a, input="12121212\n")
    assert r[0] == 1 and "Wrong PIN" in r[2] and \
        st.alert_hash(a)["state"] == "open", r
    # the coercer changes them again with their PIN: still under duress;
    # so is every cancel, even with the official's own PIN
    assert alertctl(st, "pincode", "set",
                    input=lines(FORCED, FORCEDD, FORCED)) == (
        0, "PIN and duress PIN set.\n", "")
    assert_duress_cancel(st, FORCEDD + "\n")
    assert_duress_cancel(st, OWN2 + "\n")
    assert json.loads(pinfile(st).read_text())["v"] == 2

    # the official's own PIN sets PINs again: back to normal
    r = alertctl(st, "pincode", "set", input=lines(OWN2, PIN, DURESS))
    assert r == real, r
    assert json.loads(pinfile(st).read_text())["v"] == 1
    assert_real_cancel(st, PIN + "\n")
    assert_duress_cancel(st, DURESS + "\n")


def on_terminal(conf, args, answers):
    """alertctl on a terminal, in Dutch, each answer typed at its prompt."""
    return harness.on_terminal([harness.alertctl_bin(), "-c", conf] +
                               list(args), DUTCH, answers, PROMPT_RX, 20)


@pytest.mark.hard_timeout(90)
def test_on_a_terminal_the_duress_pin_shows_what_the_own_pin_shows(lab):
    """What the screen shows, in Dutch: the current PIN asked first; the
    same bytes for the own PIN and the duress PIN; no PIN echoed."""
    env = lab.env()
    conf = env.client_conf
    cp = harness.run([harness.alertctl_bin(), "-c", conf, "pincode", "set"],
                     input=lines(PIN, DURESS))
    assert cp.returncode == 0, cp.stderr
    real = on_terminal(conf, ["pincode", "set"],
                       [PIN, OWN2, OWN2, OWN2D, OWN2D])
    forced = on_terminal(conf, ["pincode", "set"],
                         [OWN2D, FORCED, FORCED, FORCEDD, FORCEDD])
    assert real == forced, (real, forced)
    assert real[0] == 0 and real[1].startswith("Huidige pincode: "), real
    assert "Pincode en dwang-pincode ingesteld." in real[1], real
    assert "Nieuwe pincode nog eens: " in real[1], real
    for p in (PIN, DURESS, OWN2, OWN2D, FORCED, FORCEDD):
        assert p not in real[1] + forced[1]
    # and a wrong one, plainly
    rc, text = on_terminal(conf, ["pincode", "clear"], ["12121212"])
    assert rc == 1 and "Verkeerde pincode. Er is niets veranderd." in \
        text, text
    assert json.loads(pinfile_of(env).read_text())["v"] == 2
    rc, text = on_terminal(conf, ["pincode", "status"], [])
    assert rc == 0 and "Pincode en dwang-pincode zijn ingesteld." in text


@pytest.mark.hard_timeout(90)
def test_on_a_terminal_cancel_asks_no_pin_after_a_clear_under_duress(lab):
    """After `pincode clear` with the duress PIN the screen said "no PIN
    any more": cancel must then ask none on a terminal either, as on a
    device without PINs (it asked "Pincode: ", which told the coercer the
    clear was not real; piped input hid it)."""
    env = lab.env()
    conf = env.client_conf
    cancel = ["cancel", "0" * 32, "--timeout", "2"]
    rc, none_set = on_terminal(conf, cancel, [])
    assert "incode" not in none_set, none_set
    cp = harness.run([harness.alertctl_bin(), "-c", conf, "pincode", "set"],
                     input=lines(PIN, DURESS))
    assert cp.returncode == 0, cp.stderr
    rc, asked = on_terminal(conf, cancel, [])
    assert "Pincode: " in asked, asked  # PINs set: asked
    cp = harness.run([harness.alertctl_bin(), "-c", conf, "pincode",
                      "clear"], input=DURESS + "\n")
    assert cp.returncode == 0, cp.stderr
    rc, forced = on_terminal(conf, cancel, [])
    assert "incode" not in forced, forced
