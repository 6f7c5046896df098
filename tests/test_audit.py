"""The relay's audit log (issue 15), against a real alertrelayd and
redis-server: security events become hash-chained records (action,
object, result, origin, actor, time) in the stream P:audit:INSTANCE and
an append-only file, their head signed every [audit] sign_every records
and at a stop with the key `alertctl audit keygen` made.

`alertctl audit verify` finds an edited, deleted or reordered record and
a tail cut after a signed head, in Redis and in the file, and names the
record; `alertctl audit export` round-trips (json verifies again, csv
holds the same fields); no alert content or secret is in the log.

Before issue 15 there was no audit log: every test here fails."""

import csv
import io
import json
import os
import signal

import pytest

import harness
from helpers import AdminStack
from harness import wait_until, write_secret

PFX = "alertrelay:"
INST = "relay-1"
STREAM = PFX + "audit:" + INST
SECRET_MESSAGE = "Geheim-bericht-8c1f: achter de schuur"

# Rewrites the stream at once (the relay keeps appending): KEYS[1] the
# stream, ARGV[1] the last id of the snapshot the test changed (what the
# relay added since is kept, after it), then id, line, id, line, ...
REWRITE = """
local keep = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], ARGV[i], 'r', ARGV[i + 1])
end
for _, e in ipairs(keep) do
  redis.call('XADD', KEYS[1], e[1], unpack(e[2]))
end
return 1
"""


class Stack(AdminStack):
    def __init__(self, lab, sign_every=5):
        env = lab.env(relay={"instance_id": INST})
        self.recs = {}
        for rid, r in env.recipients.items():
            self.recs[rid] = lab.recorder(r.secret_text)
            r.webhook_port = self.recs[rid].port
        env.write_relay_conf()
        cp = harness.run([harness.alertctl_bin(), "audit", "keygen",
                          str(env.dir / "audit")], timeout=10)
        assert cp.returncode == 0, cp.stderr
        self.pub_b64 = cp.stdout.strip()
        self.key_file = env.dir / "audit.key"
        assert oct(self.key_file.stat().st_mode & 0o777) == "0o600"
        self.file = env.dir / "audit.log"
        self.start_admin(lab, env,
                         "\n[audit]\nkey_file = %s\nfile = %s\n"
                         "sign_every = %d\n"
                         % (self.key_file, self.file, sign_every))

    def records(self):
        return [(i, f["r"]) for i, f in self.r().xrange(STREAM)]

    def verify(self, *extra):
        return self.ctl("audit", "verify", "--public-key", self.pub_b64,
                        *extra)

    def rewrite(self, entries, snapshot_last):
        args = [snapshot_last]
        for i, line in entries:
            args += [i, line]
        self.r()("EVAL", REWRITE, 1, STREAM, *args)


def activity(st):
    """Events of every kind the test can cause from outside."""
    s = harness.device_session(st.env)
    acc = s.send_alert("panic", message=SECRET_MESSAGE)
    aid = acc["alert_id"]
    s.wait_receipt(aid, "delivered", timeout=10)
    assert s.cancel(aid)["type"] == "cancelled"
    # a device that is not enrolled
    import proto
    import nacl.signing
    rc = proto.RawClient(st.env.relay_port)
    rc.hello()
    bad = rc.auth("intruder-1", nacl.signing.SigningKey.generate())
    assert bad.get("type") == "error", bad
    rc.close()
    # admin: refused without the token, granted with it; a reload
    wrong = write_secret(st.env.dir / "wrong.token", harness.new_token())
    cp = st.ctl("deadletter", "list", "--admin",
                "127.0.0.1:%d" % st.admin_port, "--token-file", str(wrong),
                admin=False)
    assert cp.returncode != 0
    assert st.ctl("deadletter", "list").returncode == 0
    assert st.ctl("reload").returncode == 0
    return aid


def parsed(st):
    return [json.loads(line) for _, line in st.records()]


@pytest.mark.hard_timeout(90)
def test_events_recorded_without_content_or_secrets(lab):
    st = Stack(lab)
    aid = activity(st)
    want = {("device.auth", "ok"), ("device.auth", "refused"),
            ("alert.accepted", "ok"), ("delivery", "ok"),
            ("alert.cancel", "ok"), ("admin.request", "refused"),
            ("admin.request", "ok"), ("config.reload", "ok"),
            ("relay.start", "ok"), ("audit.signed", "ok")}
    wait_until(lambda: want <= {(x["action"], x["result"])
                                for x in parsed(st)}, 10,
               what="every kind of record")
    recs = parsed(st)
    for x in recs:
        for k in ("time", "instance", "action", "object", "result", "actor",
                  "prev", "seq"):
            assert x.get(k) not in (None, ""), (k, x)
    assert [x["seq"] for x in recs] == list(range(1, len(recs) + 1))
    acc = [x for x in recs if x["action"] == "alert.accepted"][0]
    assert acc["object"] == "alert:" + aid
    assert acc["actor"] == "device:mayor-a" and acc["channel"] == "tls"
    assert acc["address"].startswith("127.0.0.1")
    refused = [x for x in recs if x["action"] == "device.auth" and
               x["result"] == "refused"][0]
    assert refused["actor"] == "device:intruder-1"
    assert refused["reason"] == "unknown_device"
    deliv = [x for x in recs if x["action"] == "delivery"][0]
    assert deliv["channel"] == "webhook" and "recipient:" in deliv["object"]
    adm = [x for x in recs if x["action"] == "admin.request" and
           x["result"] == "refused"][0]
    assert adm["object"] == "GET /deadletter" and adm["channel"] == "admin"
    # nothing secret, no content: not in Redis, not in the file
    st.relay.proc.signal(signal.SIGTERM)
    st.relay.proc.wait_exit(15)
    text = "\n".join(line for _, line in st.records())
    text += st.r()("GET", PFX + "audit:head:" + INST) or ""
    text += st.r()("GET", PFX + "audit:last:" + INST) or ""
    ftext = st.file.read_text()
    assert ftext.count("\n") >= len(recs)
    secrets = [SECRET_MESSAGE, "schuur", st.token,
               st.key_file.read_text().strip(),
               st.env.device_key.read_text().strip()]
    secrets += [r.secret_text for r in st.env.recipients.values()]
    for s in secrets:
        assert s and s not in text and s not in ftext, s[:12]
    # the stop signed the head: file and Redis end on audit.signed
    last = json.loads(ftext.splitlines()[-1])
    assert last["action"] == "audit.signed"
    assert json.loads(st.records()[-1][1])["action"] == "audit.signed"


@pytest.mark.hard_timeout(120)
def test_verify_finds_tampering_in_redis(lab):
    st = Stack(lab)
    activity(st)
    wait_until(lambda: len(st.records()) >= 14, 10, what="records")
    cp = st.verify()
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "audit verify: OK" in cp.stdout and "signed heads good" in \
        cp.stdout, cp.stdout
    good = st.records()

    def seq_of(line):
        return json.loads(line)["seq"]

    # edit record 3's result
    e = list(good)
    x = json.loads(e[2][1])
    x["result"] = "refused" if x["result"] == "ok" else "ok"
    e[2] = (e[2][0], json.dumps(x, sort_keys=True, separators=(",", ":")))
    st.rewrite(e, good[-1][0])
    cp = st.verify()
    assert cp.returncode == 1 and "FAILED at record 3:" in cp.stdout, \
        cp.stdout
    # delete record 4
    st.rewrite(good[:3] + good[4:], good[-1][0])
    cp = st.verify()
    assert cp.returncode == 1 and "FAILED at record 4:" in cp.stdout, \
        cp.stdout
    # swap records 5 and 6 (their stream ids stay in order)
    sw = list(good)
    sw[4], sw[5] = (good[4][0], good[5][1]), (good[5][0], good[4][1])
    st.rewrite(sw, good[-1][0])
    cp = st.verify()
    assert cp.returncode == 1 and "FAILED at record 5:" in cp.stdout, \
        cp.stdout
    # a forged signature on a signed head
    sig_at = [i for i, (_, line) in enumerate(good)
              if json.loads(line)["action"] == "audit.signed"]
    assert len(sig_at) >= 2, [json.loads(l)["action"] for _, l in good]
    forged = list(good)
    x = json.loads(forged[sig_at[0]][1])
    x["sig"] = x["sig"][:10] + ("A" if x["sig"][10] != "A" else "B") + \
        x["sig"][11:]
    forged[sig_at[0]] = (forged[sig_at[0]][0],
                         json.dumps(x, sort_keys=True, separators=(",", ":")))
    # (its hash changed too: the next link breaks as well; the signature
    # is checked first, at the head itself)
    st.rewrite(forged, good[-1][0])
    cp = st.verify()
    assert cp.returncode == 1 and "FAILED at record %d:" % (
        sig_at[0] + 1) in cp.stdout, cp.stdout
    # the tail cut after the first signed head: everything after it gone
    first_head = sig_at[0]
    st.rewrite(good[:first_head + 1], good[-1][0])
    cp = st.verify()
    assert cp.returncode == 1 and "FAILED at record %d:" % (
        seq_of(good[first_head][1]) + 1) in cp.stdout, cp.stdout
    # restored: verifies again
    st.rewrite(good, good[-1][0])
    cp = st.verify()
    assert cp.returncode == 0, cp.stdout


@pytest.mark.hard_timeout(90)
def test_verify_holds_the_last_signed_head_against_redis_copy(lab):
    """A change to the last signed head is found without the public key
    (signatures unchecked): by the record of verify's own request, which
    links to it, and by the copy Redis keeps (audit:head), which verify
    holds against the head's line as it passes (it held them only after
    the last line, when the line was gone, and so never)."""
    st = Stack(lab, sign_every=1)
    activity(st)

    def settled():
        recs = st.records()
        head = st.r()("GET", PFX + "audit:head:" + INST)
        return recs if recs and recs[-1][1] == head else None
    wait_until(settled, 10, what="the last record is the signed head")
    cp = st.ctl("audit", "verify")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    # (verify's own requests were recorded and signed: settled again)
    good = wait_until(settled, 10, what="the last record is the signed head")
    assert json.loads(good[-1][1])["action"] == "audit.signed"
    e = list(good)
    x = json.loads(e[-1][1])
    x["result"] = "refused" if x["result"] == "ok" else "ok"
    e[-1] = (e[-1][0], json.dumps(x, sort_keys=True, separators=(",", ":")))
    st.rewrite(e, good[-1][0])
    cp = st.ctl("audit", "verify")
    seq = json.loads(good[-1][1])["seq"]
    assert cp.returncode == 1 and "FAILED at record %d: record %d " % (
        seq, seq) in cp.stdout, cp.stdout + cp.stderr


@pytest.mark.hard_timeout(120)
def test_verify_finds_tampering_in_the_file_and_export_round_trips(lab):
    st = Stack(lab)
    activity(st)
    wait_until(lambda: len(st.records()) >= 14, 10, what="records")
    st.relay.proc.signal(signal.SIGTERM)
    st.relay.proc.wait_exit(15)
    lines = st.file.read_text().splitlines()
    assert [json.loads(x)["seq"] for x in lines] == list(
        range(1, len(lines) + 1))
    assert lines == [line for _, line in st.records()]
    d = st.env.dir

    def verify_file(ls, name, relay=False):
        p = d / name
        p.write_text("".join(x + "\n" for x in ls))
        return st.ctl("audit", "verify", "--public-key", st.pub_b64,
                      "--file", str(p), admin=relay)

    cp = verify_file(lines, "ok.log")
    assert cp.returncode == 0 and "OK" in cp.stdout, cp.stdout + cp.stderr
    e = list(lines)
    x = json.loads(e[6])
    x["actor"] = "device:someone-else"
    e[6] = json.dumps(x, sort_keys=True, separators=(",", ":"))
    cp = verify_file(e, "edit.log")
    assert "FAILED at record 7:" in cp.stdout, cp.stdout
    cp = verify_file(lines[:7] + lines[8:], "del.log")
    assert "FAILED at record 8:" in cp.stdout, cp.stdout
    cp = verify_file(lines[:8] + [lines[9], lines[8]] + lines[10:],
                     "swap.log")
    assert "FAILED at record 9:" in cp.stdout, cp.stdout
    # cut after the first signed head: the file alone ends on a good
    # signature; the relay's last signed head shows the cut
    heads = [i for i, x in enumerate(lines)
             if json.loads(x)["action"] == "audit.signed"]
    st.relay.start()
    st.relay.proc.wait_for(r"admin listening", timeout=10)
    cp = verify_file(lines[:heads[0] + 1], "cut.log", relay=True)
    assert cp.returncode == 1 and "FAILED at record %d:" % (
        heads[0] + 2) in cp.stdout, cp.stdout

    # export: json is the records' own lines and verifies again; csv
    # holds the same fields
    cp = st.ctl("audit", "export")
    assert cp.returncode == 0, cp.stderr
    exported = cp.stdout.splitlines()
    assert exported[:len(lines)] == lines
    cp = verify_file(exported, "export.log")
    assert cp.returncode == 0, cp.stdout
    cp = st.ctl("audit", "export", "--format", "csv")
    assert cp.returncode == 0, cp.stderr
    rows = list(csv.DictReader(io.StringIO(cp.stdout)))
    assert len(rows) >= len(lines)
    for row, line in zip(rows, exported):
        x = json.loads(line)
        for k, v in row.items():
            assert str(x.get(k, "")) == v, (k, v, x)
    # --since/--until select by the record's time
    t = json.loads(lines[-1])["time"][:19] + "Z"
    cp = st.ctl("audit", "export", "--until", t)
    assert cp.returncode == 0, cp.stderr
    before = cp.stdout.splitlines()
    assert all(json.loads(x)["time"][:19] + "Z" < t for x in before)
    cp = st.ctl("audit", "export", "--since", t)
    assert cp.returncode == 0, cp.stderr
    since = cp.stdout.splitlines()
    # the last record itself is at t: never an empty answer
    assert since and all(json.loads(x)["time"][:19] + "Z" >= t
                         for x in since), since


@pytest.mark.hard_timeout(90)
def test_acknowledgements_recorded_by_whom_and_channel(lab):
    """An acknowledgement over HTTPS and one by SMS reply (Kannel): each
    a record naming the recipient, the channel and the alert; a refused
    one too (a recipient the alert was not sent to)."""
    st = harness.sms_stack(
        lab, {"default": {"types": "panic threat",
                          "tier": ["0 contactpunt:webhook oncall-1:sms"],
                          "max_age": 3600},
              "test": {"types": "test", "tier": "0 contactpunt:webhook"}},
        sms=("oncall-1",), tokens=("contactpunt", "oncall-1"))
    s = st.session()
    acc = s.send_alert("panic")
    aid, ref = acc["alert_id"], acc["ref"]
    st.sms.wait(1, timeout=10)
    code, _ = st.ack(aid, st.tokens["contactpunt"])
    assert code == 200
    assert st.sms_reply("oncall-1", "OK %s" % ref) == 200
    stream = "alertrelay:audit:" + st.env.relay["instance_id"]

    def acks():
        return [json.loads(f["r"]) for _, f in st.r().xrange(stream)
                if json.loads(f["r"])["action"] == "alert.ack"]
    wait_until(lambda: len(acks()) >= 2, 10, what="two ack records")
    https, sms = acks()[:2]
    assert https["actor"] == "recipient:contactpunt"
    assert https["channel"] == "https" and https["result"] == "ok"
    assert https["object"] == "alert:" + aid and https["reason"] == "first"
    assert sms["actor"] == "recipient:oncall-1" and sms["channel"] == "sms"
    assert sms["reason"] == "again"
    # a second alert, acknowledged by someone it was not sent to
    s2 = s.send_alert("test", recipients=["contactpunt"])
    code, _ = st.ack(s2["alert_id"], st.tokens["oncall-1"])
    assert code == 404
    wait_until(lambda: any(x["result"] == "refused" for x in acks()), 10,
               what="refused ack record")
    (ref_rec,) = [x for x in acks() if x["result"] == "refused"]
    assert ref_rec["actor"] == "recipient:oncall-1"


@pytest.mark.hard_timeout(90)
def test_two_instances_keep_their_own_chains(lab):
    """Two relays on one Redis: each appends to its own stream and chain,
    and each verifies on its own (--instance)."""
    st = Stack(lab)
    env2 = harness.make_env(st.env.dir.parent / "env2",
                            redis_port=st.env.redis_port)
    env2.relay["instance_id"] = "relay-2"
    for rid, r in env2.recipients.items():
        r.webhook_port = st.recs[rid].port
    env2.write_relay_conf()
    if os.geteuid() == 0:
        harness.hand_to_daemon_user(env2.dir)
    relay2 = lab.relay(env2)
    s2 = harness.device_session(env2)
    aid2 = s2.send_alert("panic")["alert_id"]
    s1 = harness.device_session(st.env)
    aid1 = s1.send_alert("panic")["alert_id"]
    r = st.r()
    for inst, aid in (("relay-1", aid1), ("relay-2", aid2)):
        wait_until(lambda: any(
            json.loads(f["r"]).get("object") == "alert:" + aid
            for _, f in r.xrange(PFX + "audit:" + inst)), 10,
            what="the accepted alert in %s's chain" % inst)
        recs = [json.loads(f["r"]) for _, f in r.xrange(PFX + "audit:" +
                                                         inst)]
        assert {x["instance"] for x in recs} == {inst}
        assert [x["seq"] for x in recs] == list(range(1, len(recs) + 1))
    cp = st.verify()
    assert cp.returncode == 0 and "instance relay-1" in cp.stdout, cp.stdout
    cp = st.ctl("audit", "verify", "--instance", "relay-2")
    assert cp.returncode == 0 and "instance relay-2" in cp.stdout, cp.stdout
    assert relay2.proc.running()


def chain_lines(n, instance=INST):
    """n records made here (hashlib, json), as a relay would: each line
    names the SHA-256 of the line before it."""
    import hashlib
    prev, out = "0" * 64, []
    for i in range(1, n + 1):
        line = json.dumps({"v": 1, "seq": i, "time": "2026-01-01T00:00:00.000Z",
                           "instance": instance, "action": "device.auth",
                           "object": "device:d%d" % i, "result": "refused",
                           "address": "192.0.2.%d:4000" % (i % 250),
                           "channel": "tls", "actor": "device:d%d" % i,
                           "reason": "unknown_device", "prev": prev},
                          sort_keys=True, separators=(",", ":"))
        out.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    return out


@pytest.mark.hard_timeout(120)
def test_a_long_chain_is_continued_paged_and_verified(lab):
    """1500 records already in Redis (made here, independently of the
    relay's code): the relay continues the chain after them, and verify
    and export page through all of it (about ten pages), stopping at the
    record that was last when they began."""
    st = Stack(lab)
    st.relay.proc.signal(signal.SIGTERM)
    st.relay.proc.wait_exit(15)
    r = st.r()
    r("DEL", STREAM, PFX + "audit:last:" + INST, PFX + "audit:head:" + INST)
    lines = chain_lines(1500)
    for line in lines:
        r("XADD", STREAM, "*", "r", line)
    r("SET", PFX + "audit:last:" + INST, lines[-1])
    # The first relay's own audit file holds its records 1..3 of the
    # chain replaced here: emptied, as a copytruncate rotation leaves it
    # (it then starts anew).  Left as it was, the relay rightly found
    # the file behind Redis and went on after an audit.gap record, 1501:
    # the failures of this test in full runs, taken for slow fsyncs.
    st.file.write_bytes(b"")
    st.relay.start()
    st.relay.proc.wait_for(r"continues after record 1500", timeout=40)
    assert "audit.gap" not in st.relay.log()
    activity(st)
    cp = st.verify()
    assert cp.returncode == 0, cp.stdout + cp.stderr
    m = re_records(cp.stdout)
    assert m[0] == 1 and m[1] > 1510, cp.stdout
    cp = st.ctl("audit", "export")
    out = cp.stdout.splitlines()
    assert out[:1500] == lines
    assert [json.loads(x)["seq"] for x in out] == list(
        range(1, len(out) + 1))
    # a change deep inside is still named
    bad = list(lines)
    x = json.loads(bad[999])
    x["result"] = "ok"
    bad[999] = json.dumps(x, sort_keys=True, separators=(",", ":"))
    ids = [i for i, _ in st.records()]
    cur = st.records()
    st.rewrite([(ids[i], bad[i] if i < 1500 else cur[i][1])
                for i in range(len(cur))], cur[-1][0])
    cp = st.verify()
    assert cp.returncode == 1 and "FAILED at record 1000:" in cp.stdout, \
        cp.stdout


def re_records(text):
    import re
    m = re.search(r"records (\d+)\.\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@pytest.mark.hard_timeout(60)
def test_directory_revocation_and_refused_reload_recorded(lab):
    """A signed directory: loaded with its version; a reload revoking the
    device records the revocation and the live session it closed; an
    older directory is refused by a reload, recorded with why."""
    import time
    env = lab.env()
    env.use_directory(1)
    redis = lab.redis(env)
    relay = lab.relay(env)
    stream = PFX + "audit:" + env.relay["instance_id"]
    s = harness.device_session(env)
    s.send_alert("test")
    env.sign_directory(2, revoked=[env.device_id])
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"configuration reloaded", timeout=10)
    time.sleep(0.3)
    env.sign_directory(1)
    relay.proc.signal(signal.SIGHUP)
    relay.proc.wait_for(r"reload refused", timeout=10)

    def recs():
        return [json.loads(f["r"]) for _, f in redis.client().xrange(stream)]
    want = {("directory.load", "directory:v1", "ok"),
            ("directory.load", "directory:v2", "ok"),
            ("device.revoked", "device:mayor-a", "ok"),
            ("device.refused", "device:mayor-a", "refused")}
    def refused():
        return [x for x in recs() if x["action"] == "directory.load" and
                x["result"] == "refused"]
    wait_until(lambda: want <= {(x["action"], x["object"], x["result"])
                                for x in recs()} and refused(), 10,
               what="records")
    refused = refused()
    assert refused and "version" in refused[0]["reason"], refused
    (closed,) = [x for x in recs() if x["action"] == "device.refused"]
    assert closed["reason"] == "revoked"


def test_config_check_refuses_an_unusable_audit_key(lab):
    """-t (and a start) refuse a key file others may read or that does
    not hold an Ed25519 secret key, naming [audit] key_file."""
    env = lab.env()
    env.write_relay_conf()
    key = env.dir / "audit-open.key"
    key.write_text("not a key\n")
    os.chmod(key, 0o644)
    with open(env.relay_conf, "a") as f:
        f.write("\n[audit]\nkey_file = %s\n" % key)
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                      str(env.relay_conf)], timeout=20)
    assert cp.returncode != 0
    assert "[audit] key_file" in cp.stderr, cp.stderr
    os.chmod(key, 0o600)
    cp = harness.run([harness.alertrelayd_bin(), "-t", "-c",
                      str(env.relay_conf)], timeout=20)
    assert cp.returncode != 0 and "[audit] key_file" in cp.stderr
