"""What a relay taken over (or whoever holds a recipient's webhook
secret) can put on the contact point's terminal through alertctl
(docs/SECURITY.md, "Whoever takes over the relay host"): the names it
gives (who took an alarm, a device's alias) are shown only when they
are names as the directory has them, else as "?" (client/out.c,
out_name, shared with alertconsole); its free text never with a control
character, a bidi override or a byte that is no UTF-8, and cut
(out_clean).  Real processes: `alertctl receive` (--pretty and the JSON
line) fed webhooks signed with the recipient's secret, as a relay taken
over sends them; alertrelayd, redis-server and `alertctl inbox` and
`alertctl send --follow` with the relay's Redis changed under it;
alertconsole, which shows the relay's acknowledged_by by the same rule.
Before, receive put the relay's acknowledged_by whole in its JSON line
and its first 127 bytes on the card, bidi overrides included, and
the inbox its first 63 bytes, follow wrote the relay's state with its
escape sequences, and the console took bidi overrides and C1
controls as a name: every test here fails on that code."""

import json

import pytest

import harness
from harness import alertctl_bin
from test_console import Console
from test_console_notice import one, panics, send_notices
from test_follow import (FIXED, ack_https, alert_id_of, follow_env,
                         locations)
from test_receive_notice import (card_receiver, hook_notice, line_of,
                                 with_sign_key)
from test_receiver import RID

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

LONG = "NIET TERUGBELLEN" + "x" * 100000
# names a relay can give, and what alertctl shows of each
# the longest a relay writes: an operator's name of 64 bytes and the
# recipient's alias of 64, "NAME (alias)"
NAMED = "N" * 64 + " (" + "A" * 64 + ")"
BYS = [("Piket-1", "Piket-1"), ("P" * 64, "P" * 64), (NAMED, NAMED),
       (LONG, "?"), ("P" * 132, "?"), ("Piket-1\n  Checked:       yes\x1b[2J", "?"),
       ("\u202eLLEBREGUT TEIN", "?"), ("Piket\u0085-1", "?"),
       ("Piket\u2066-1", "?")]
BAD = ("\x1b", "\u202e", "\u0085", "\u2066", "TERUGBELLEN", "TEIN")


def assert_clean(text):
    for b in BAD:
        assert b not in text, (b, text[:2000])


@pytest.mark.hard_timeout(90)
def test_receive_shows_acknowledged_by_only_as_a_name(lab):
    """alert.acknowledged with the relay's acknowledged_by: a name as the
    relay writes them (1 to 131 bytes, "NAME (alias)" the longest, no
    control character or bidi override) is shown, on the card and in the JSON line; anything else
    as "?", never cut to a part of it.  A device_alias that is no name is
    left out of the line, and the card names the device by its id."""
    env, _ = with_sign_key(lab)
    recv = lab.receiver(env, RID)
    card, port = card_receiver(lab, env, "en")
    aids = ["%032x" % (i + 1) for i in range(len(BYS) + 1)]
    notices = [({"acknowledged_by": by}, aid) for (by, _), aid
               in zip(BYS, aids)]
    notices.append(({"acknowledged_by": "Piket-1",
                     "device_alias": "\u202e" + LONG}, aids[-1]))
    for p in (recv.port, port):
        for i, (extra, aid) in enumerate(notices):
            hook_notice(env, p, "alert.acknowledged", aid, "msg_%d" % i,
                        extra)
    lines = [line_of(recv, aid, "alert.acknowledged") for aid in aids]
    assert [l["acknowledged_by"] for l in lines] == [
        want for _, want in BYS] + ["Piket-1"], [
        l["acknowledged_by"][:70] for l in lines]
    assert "device_alias" not in lines[-1], lines[-1]
    assert_clean(json.dumps(lines, ensure_ascii=False))
    harness.wait_until(lambda: "".join(card.snapshot("stdout")).count(
        "alert_id:") == len(notices), 10, what="the cards")
    text = "\n".join(card.snapshot("stdout"))
    for by, want in BYS[:3]:
        assert "TAKEN by %s, ACCORDING TO THE RELAY" % want in text, text
    assert text.count("TAKEN by ?, ACCORDING TO THE RELAY") == 6, text
    assert "alarm of %s\n" % env.device_id in text, text
    assert_clean(text)


def cp_conf(env, path, token_file):
    """A contact point's alertctl.conf: only [contactpoint]."""
    path.write_text("[contactpoint]\nack_url = https://%s\nrelay_pin = %s\n"
                    "token_file = %s\n" % (env.ack["listen"], env.pin,
                                           token_file))
    return path


def hset(lab, env, aid, *kv):
    """The alert's hash in the relay's Redis changed, as whoever has the
    relay host can."""
    redis = [t for t in lab.things if isinstance(t, harness.RedisServer)]
    c = redis[0].client()
    try:
        c("HSET", "%s:alert:%s" % (env.redis["prefix"], aid), *kv)
    finally:
        c.close()


@pytest.mark.hard_timeout(120)
def test_inbox_shows_the_relays_names_only_as_names(lab):
    """`alertctl inbox` (the table and --json) of an alert whose
    acknowledged_by the relay's store says is a text of its own: "?" in
    the table and in the JSON."""
    env, relay, recv, token = follow_env(lab, ack_token=True)
    rc, out, err = lab.send(env, "--type", "panic")
    assert rc == 0, (out, err)
    recv.wait_alerts(1, timeout=20)
    aid = recv.alerts()[0]["alert_id"]
    ack_https(env, token, aid)
    # longer than that the client takes no inbox at all
    hset(lab, env, aid, "acked_by", "Piket-1\n\x1b[2J\u202e" + LONG[:300])
    conf = cp_conf(env, lab.tmp / "cp.conf",
                   env.recipient_extra["contactpunt"]["ack_token_file"])
    argv = [alertctl_bin(), "-c", str(conf), "inbox"]
    cp = harness.run(argv, timeout=30, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    row = [l for l in cp.stdout.splitlines() if "PANIC" in l]
    assert len(row) == 1 and row[0].rstrip().endswith(" ?"), cp.stdout
    assert_clean(cp.stdout)
    cp = harness.run(argv + ["--json"], timeout=30, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    got = json.loads(cp.stdout)
    assert [a["acknowledged_by"] for a in got] == ["?"], cp.stdout[:300]


@pytest.mark.hard_timeout(120)
def test_inbox_shows_a_long_operator_name_whole(lab):
    """An operator's name of 64 bytes (the most the relay takes) in an
    acknowledgement: the relay records "NAME (alias)", longer than any
    directory name, and `alertctl inbox` shows it whole (the table and
    --json), not as "?"."""
    env, relay, recv, token = follow_env(lab, ack_token=True)
    rc, out, err = lab.send(env, "--type", "panic")
    assert rc == 0, (out, err)
    recv.wait_alerts(1, timeout=20)
    aid = recv.alerts()[0]["alert_id"]
    name = "Marieke van der Heijden-Schoonhoven, piket Weerbaar Bestuur"
    name += "x" * (64 - len(name))
    ack_https(env, token, aid, by=name)
    conf = cp_conf(env, lab.tmp / "cp.conf",
                   env.recipient_extra["contactpunt"]["ack_token_file"])
    argv = [alertctl_bin(), "-c", str(conf), "inbox", "--json"]
    cp = harness.run(argv, timeout=30, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    (by,) = [a["acknowledged_by"] for a in json.loads(cp.stdout)]
    assert by.startswith(name + " (") and by.endswith(")"), by
    assert len(by.encode()) > 64, by
    cp = harness.run(argv[:-1], timeout=30, env={"LANGUAGE": "en"})
    assert cp.returncode == 0, cp.stderr
    assert by in cp.stdout, cp.stdout


@pytest.mark.hard_timeout(120)
def test_follow_shows_the_relays_state_cleaned(lab):
    """`alertctl send --follow` told by the relay that the alert is
    closed, in a state its store says is a text of its own: the line
    says it closed, without the text's control characters or bidi
    override."""
    env, relay, recv, _ = follow_env(lab)
    send = lab.send_proc(env, "--type", "threat", "--lat", FIXED[0], "--lon",
                         FIXED[1], "--follow", "--follow-interval", "1")
    aid = alert_id_of(send)
    harness.wait_until(lambda: len(locations(recv)) >= 1, 30,
                       what="an alert.location")
    hset(lab, env, aid, "state", "\x1b]0;x\x07\u202eclosed\u0085")
    assert send.wait_exit(20) == 0, send.text()
    out = "\n".join(send.snapshot("stdout"))
    assert "closed (" in out and "?]0;x??closed?)" in out, out
    assert_clean(out)


HOSTILE_STATE = "\x1b]0;x\x07\u202eclosed\u0085"


@pytest.mark.hard_timeout(120)
def test_status_and_list_show_the_relays_words_cleaned(lab):
    """`alertctl status` and `alertctl list` of an alert whose state and
    type the relay's store says are texts of their own: each shown as a
    word without the text's control characters or bidi override.  Every
    caller of receipt_word cleaned its answer before too, so this test
    passes on the code of before; what now holds is that receipt_word
    (client/receipt.c) itself never returns the relay's text (checked
    by fuzz/fuzz_out_text.c, which fails when it does)."""
    env, relay, recv, _ = follow_env(lab)
    rc, out, err = lab.send(env, "--type", "panic")
    assert rc == 0, (out, err)
    aid = out[0].split("=", 1)[1]
    hset(lab, env, aid, "state", HOSTILE_STATE, "alert_type",
         "\u2066panic\x1b[2J")
    for cmd in (["status", aid], ["list"]):
        cp = harness.run([alertctl_bin(), "-c", env.client_conf] + cmd,
                         timeout=30, env={"LANGUAGE": "en"})
        assert cp.returncode == 0, (cmd, cp.stdout, cp.stderr)
        assert "?]0;x??closed?" in cp.stdout, (cmd, cp.stdout)
        assert "?panic?[2J" in cp.stdout, (cmd, cp.stdout)
        assert_clean(cp.stdout)


@pytest.mark.hard_timeout(90)
def test_console_shows_no_bidi_override_or_c1_as_a_name(lab):
    """alertconsole shows the relay's acknowledged_by by the same rule
    (out_name): a bidi override, a bidi isolate or a C1 control in it
    makes it "?" on the card and in the timeline.  Before, only C0
    controls and DEL did."""
    env = lab.env()
    console = Console(lab, env).start()
    bys = ["Piket-1", "\u202eLLEBREGUT TEIN", "Piket\u2066-1",
           "Piket\u0085-1"]
    aids = panics(env, console, len(bys))
    send_notices(env, console, aids, [
        ("alert.acknowledged", {"acknowledged_by": by}) for by in bys],
        "msg_bidi")
    got = {a["alert_id"]: a["relay_acked_by"] for a in console.alerts()}
    assert [got[x] for x in aids] == ["Piket-1", "?", "?", "?"], got
    actors = [[e["actor"] for e in one(console, x)["timeline"]
               if e["kind"] == "acknowledged_relay"] for x in aids]
    assert actors == [["Piket-1"], ["?"], ["?"], ["?"]], actors
