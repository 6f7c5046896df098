"""Issue 10, the misc area: a spool file damaged on disk is read back
line by line, never trusted; and secrets are wiped where the code says
so (read back from the running relay's memory)."""

import json
import time

import pytest

import harness
import proto
from test_spool import delivered_ids, send, spool_env

pytestmark = pytest.mark.needs("alertrelayd", "alertctl")

AID = "0123456789abcdef0123456789abcdef"

# Lines a torn write, a bad disk or a hand edit could leave: not JSON,
# not a record, a record missing what the relay reads from it.
DAMAGED = [
    b"\x00\xff not json at all",
    b"[1, 2, 3]",
    b'{"op": 7}',
    b'{"op": "alert"}',
    b'{"op": "alert", "args": 5}',
    b'{"op": "alert", "args": {"aid": "not-hex"}}',
    ('{"op": "alert", "args": {"aid": "%s", "now": [[1, 2]]}}' %
     AID).encode(),
    ('{"op": "done", "aid": "%s", "rid": null, "ch": "sms"}' % AID).encode(),
    b'{"op": "migrated"}',
]


@pytest.mark.hard_timeout(90)
def test_damaged_spool_lines_are_skipped(lab):
    """A spool holding an alert twice and damaged lines around it: the
    relay starts, says once how many lines it skipped, and delivers the
    alert once to each recipient (the old code added both copies and
    delivered twice, and kept the damaged records as alerts)."""
    env, spool = spool_env(lab)
    redis = lab.redis(env)
    relay = lab.relay(env)
    redis.kill()
    aid, relay_id = send(lab, env, "spooled, then the file damaged")
    assert relay_id.startswith("spool-")
    relay.kill9()
    path = spool / "spool.log"
    lines = path.read_bytes().splitlines()
    alert = [l for l in lines if json.loads(l)["op"] == "alert"]
    assert len(alert) == 1, lines
    path.write_bytes(b"\n".join(DAMAGED[:4] + alert + DAMAGED[4:] + alert)
                     + b"\n" + b'{"op": "done", "aid": "' + aid.encode())
    recs = {rid: lab.recorder_for(env, rid) for rid in env.recipients}
    relay.restart(wait_redis=False)
    for rid, rec in recs.items():
        harness.wait_until(lambda: aid in delivered_ids(rec), 15,
                           what="%s gets the spooled alert" % rid)
    time.sleep(2)
    for rid, rec in recs.items():
        got = [a for a in rec.snapshot() if 200 <= a["status"] < 300]
        assert len(got) == 1, (rid, got)
        assert got[0]["json"]["alert_id"] == aid
    assert relay.proc.running()
    log = relay.log()
    assert "%d lines skipped (torn or damaged)" % (len(DAMAGED) + 1) in log
    assert "spool holds 1 alerts not yet in redis" in log, log


# ------------------------------------------------- secrets in the relay


def _memory_count(pid, needle):
    """How many times needle is in the readable, writable memory of pid
    (heap, anonymous maps, sodium_malloc's pages); root reads it through
    /proc, as an attacker with a core dump or swap would."""
    count, chunk = 0, 1 << 20
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in addr.split("-"))
            # AddressSanitizer's shadow and reserved spaces are terabytes
            # of untouched pages: no allocation of ours lives there.
            if not perms.startswith("rw") or hi - lo > (1 << 32):
                continue
            tail = b""
            for at in range(lo, hi, chunk):
                try:
                    mem.seek(at)
                    data = tail + mem.read(min(chunk, hi - at))
                except (OSError, ValueError, OverflowError):
                    break
                count += data.count(needle)
                tail = data[-(len(needle) - 1):]
    return count


@pytest.mark.hard_timeout(90)
def test_sms_password_not_left_in_relay_memory(lab):
    """After SMS went out through Kannel (whose sendsms takes the password
    in the URL), the password is in the relay's memory once, in its
    guarded copy: no freed copy of the URL, of curl's request or of the
    query is left unwiped (the old code left curl's)."""
    import os
    if os.geteuid() != 0:
        pytest.skip("reading another user's memory needs root")
    from test_escalation import CP, OC, policies
    st = harness.sms_stack(lab, policies(
        "0 contactpunt:sms oncall-1:sms contactpunt:webhook"))
    password = st.kannel.password.encode()
    secret = st.env.recipient("contactpunt").secret_text
    s = st.session()
    for _ in range(3):
        s.send_alert("panic")
    st.sms.wait(3, to=CP, timeout=15)
    st.sms.wait(3, to=OC, timeout=15)
    harness.wait_until(lambda: len(st.recorders["contactpunt"].snapshot())
                       >= 3, 15, what="the webhooks")
    time.sleep(1)  # every request finished and freed
    pid = st.relay.proc.popen.pid
    assert _memory_count(pid, password) == 1
    # The webhook secret: its text read, decoded and wiped; the key
    # itself only in its guarded copy.
    assert _memory_count(pid, secret.encode()) == 0
    assert _memory_count(pid, proto.whsec_key(secret)) == 1
