/*
 * The Lua scripts of check-in timers and device supervision
 * (checkin_scripts.h).  Claims are atomic: a timer or an offline
 * deadline is taken by the one instance whose script finds it still due.
 */
#include "alive.h"
#include "checkin_scripts.h"

#define PRELUDE                                                                \
	"local a = cjson.decode(ARGV[1])\n"                                    \
	"local P = a.p\n"                                                      \
	"local function K(...) return table.concat({P, ...}, ':') end\n"

/* Too late for extend or done (s: dev, state, release_ms, alert_id)
 * only once a relay took the alarm to raise it (script_checkin_claim,
 * at most CHECKIN_POLL_MS after the release time): until then nobody
 * was told, and the request is in time.  The answer names the alert to
 * cancel only once this device's alert is stored; while it is being
 * stored, "releasing" (the device is told to try again).  A release
 * that raised nothing (its alert_id taken by another alert, its
 * envelope unusable) is "unraised": naming the alert would send the
 * official to cancel one that is not theirs, or none. */
#define CHECKIN_LATE                                                           \
	"if s[2] ~= 'active' then\n"                                           \
	"  local own = redis.call('HGET', K('alert', s[4]), 'device_id')"      \
	"    == s[1]\n"                                                        \
	"  if s[2] == 'releasing' and not own then\n"                          \
	"    return cjson.encode({r = 'releasing'})\n"                         \
	"  end\n"                                                              \
	"  local res = redis.call('HGET', ck, 'result')\n"                     \
	"  if s[2] == 'released' and res and res ~= 'raised' then\n"           \
	"    return cjson.encode({r = 'unraised', why = res})\n"               \
	"  end\n"                                                              \
	"  return cjson.encode({r = 'missed', alert_id = s[4]})\n"             \
	"end\n"

/* After a duress extend or done (the alarm released already), every
 * later request looks as if it worked, reminder included: an extend's
 * reminder before its new deadline (script_checkin_remind), as after a
 * real one, kept apart from the released check-in's own times; a done
 * ends it. */
#define DURESS_REMIND                                                          \
	"local function duress_remind(ck)\n"                                   \
	"  redis.call('ZREM', K('checkin_timers'), a.cid .. '|r')\n"           \
	"  if a.op ~= 'done' and a.remind_ms then\n"                           \
	"    redis.call('HSET', ck, 'remind_deadline', a.deadline,"            \
	"      'remind_release', a.release)\n"                                 \
	"    redis.call('ZADD', K('checkin_timers'), a.remind_ms,"             \
	"      a.cid .. '|r')\n"                                               \
	"  end\n"                                                              \
	"end\n"

/* A new check-in; a resend of the same signed request is recognised. */
const char script_checkin_start[] = PRELUDE
    "local ck = K('checkin', a.cid)\n"
    "local cur = redis.call('HMGET', ck, 'dev', 'state', 'hash')\n"
    "if cur[1] then\n"
    "  if cur[1] ~= a.dev then return cjson.encode({r = 'unknown'}) end\n"
    "  if cur[3] == a.hash then return cjson.encode({r = 'dup',"
    "    state = cur[2]}) end\n"
    "  return cjson.encode({r = 'conflict'})\n"
    "end\n"
    "local dk = K('checkin_device', a.dev)\n"
    "local act = redis.call('GET', dk)\n"
    "if act then\n"
    "  local st = redis.call('HGET', K('checkin', act), 'state')\n"
    "  if st == 'active' or st == 'releasing' then\n"
    "    return cjson.encode({r = 'active', checkin_id = act})\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', ck, 'dev', a.dev, 'alert_id', a.aid, 'envelope',"
    "  a.env, 'sig', a.sig, 'deadline', a.deadline, 'release_at',"
    "  a.release, 'release_ms', a.release_ms, 'state', 'active', 'hash',"
    "  a.hash, 'started_at', a.now)\n"
    "redis.call('EXPIRE', ck, a.ttl)\n"
    "redis.call('SET', dk, a.cid, 'EX', a.ttl)\n"
    "redis.call('ZADD', K('checkin_timers'), a.release_ms, a.cid .. '|x')\n"
    "if a.remind_ms then\n"
    "  redis.call('ZADD', K('checkin_timers'), a.remind_ms, a.cid .. '|r')\n"
    "end\n"
    "return cjson.encode({r = 'ok', state = 'active'})\n";

/* A later deadline, with the alert prepared again for it. */
const char script_checkin_extend[] = PRELUDE DURESS_REMIND
    "local ck = K('checkin', a.cid)\n"
    "local s = redis.call('HMGET', ck, 'dev', 'state', 'release_ms',"
    "  'alert_id', 'duress')\n"
    "if not s[1] or s[1] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    /* after a duress one, every later request looks as if it worked */
    "if s[5] == '1' then\n"
    "  duress_remind(ck)\n"
    "  return cjson.encode({r = 'ok', state = 'active'})\n"
    "end\n"
    "if s[2] == 'done' then return cjson.encode({r = 'done'}) "
    "end\n" CHECKIN_LATE
    "redis.call('HSET', ck, 'alert_id', a.aid, 'envelope', a.env, 'sig',"
    "  a.sig, 'deadline', a.deadline, 'release_at', a.release,"
    "  'release_ms', a.release_ms)\n"
    "redis.call('EXPIRE', ck, a.ttl)\n"
    "redis.call('EXPIRE', K('checkin_device', a.dev), a.ttl)\n"
    "redis.call('ZADD', K('checkin_timers'), a.release_ms, a.cid .. '|x')\n"
    "redis.call('ZREM', K('checkin_timers'), a.cid .. '|r')\n"
    "if a.remind_ms then\n"
    "  redis.call('ZADD', K('checkin_timers'), a.remind_ms, a.cid .. '|r')\n"
    "end\n"
    "return cjson.encode({r = 'ok', state = 'active'})\n";

/* The official checked in: nothing is raised, the sealed alert goes. */
const char script_checkin_done[] = PRELUDE DURESS_REMIND
    "local ck = K('checkin', a.cid)\n"
    "local s = redis.call('HMGET', ck, 'dev', 'state', 'release_ms',"
    "  'alert_id', 'duress')\n"
    "if not s[1] or s[1] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    "if s[5] == '1' then\n"
    "  duress_remind(ck)\n"
    "  return cjson.encode({r = 'ok', state = 'done'})\n"
    "end\n"
    "if s[2] == 'done' then return cjson.encode({r = 'ok', state = 'done'})"
    " end\n" CHECKIN_LATE
    "redis.call('HSET', ck, 'state', 'done', 'done_at', a.now)\n"
    "redis.call('HDEL', ck, 'envelope', 'sig')\n"
    "redis.call('EXPIRE', ck, a.ttl)\n"
    "redis.call('ZREM', K('checkin_timers'), a.cid .. '|x', a.cid .. '|r')\n"
    "if redis.call('GET', K('checkin_device', a.dev)) == a.cid then\n"
    "  redis.call('DEL', K('checkin_device', a.dev))\n"
    "end\n"
    "return cjson.encode({r = 'ok', state = 'done'})\n";

/* Extend or done with the duress PIN (checkin_pin.h): answered as the
 * real one is, while the prepared alert is released now, as it is.  An
 * extend keeps the alert the device prepared before (the one it sends
 * is for later). */
const char script_checkin_duress[] = PRELUDE DURESS_REMIND
    "local ck = K('checkin', a.cid)\n"
    "local s = redis.call('HMGET', ck, 'dev', 'state', 'release_ms',"
    "  'alert_id', 'duress')\n"
    "if not s[1] or s[1] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    /* a resend, or a second one: answered as the first */
    "if s[5] == '1' then\n"
    "  duress_remind(ck)\n"
    "  return cjson.encode({r = 'ok', state ="
    "    a.op == 'done' and 'done' or 'active'})\n"
    "end\n"
    "if s[2] == 'done' then\n"
    "  if a.op == 'done' then return cjson.encode({r = 'ok', state = 'done'})"
    " end\n"
    "  return cjson.encode({r = 'done'})\n"
    "end\n" CHECKIN_LATE
    "redis.call('HSET', ck, 'duress', '1', 'duress_at', a.now, 'release_ms',"
    "  a.now_ms)\n"
    "duress_remind(ck)\n"
    "redis.call('ZADD', K('checkin_timers'), a.now_ms, a.cid .. '|x')\n"
    "if a.op ~= 'done' then return cjson.encode({r = 'ok', state = 'active',"
    "  duress = true}) end\n"
    "if redis.call('GET', K('checkin_device', a.dev)) == a.cid then\n"
    "  redis.call('DEL', K('checkin_device', a.dev))\n"
    "end\n"
    "return cjson.encode({r = 'ok', state = 'done', duress = true})\n";

/* Members of the sorted set a.set due now, up to a.count (duepoll.h):
 * check-in timers, supervised devices.  Those in a.skip (given back by
 * the caller a moment ago) are passed over here, not by the caller: a
 * page of them alone would hide every member due after them.  At most
 * #a.skip of a page are left out, so a page that long more suffices.
 * (cjson writes an empty list as {}: the caller copes.) */
const char script_due[] =
    PRELUDE "local skip, m = {}, {}\n"
            "for _, s in ipairs(a.skip or {}) do skip[s] = true end\n"
            "for _, s in ipairs(redis.call('ZRANGEBYSCORE', K(a.set), '-inf',"
            "    a.now_ms, 'LIMIT', 0, a.count + #(a.skip or {}))) do\n"
            "  if not skip[s] and #m < a.count then m[#m + 1] = s end\n"
            "end\n"
            "return cjson.encode({m = m})\n";

/* Taking a due release: the timer moves a lease ahead rather than
 * going, so an instance that dies before the alert is stored leaves it
 * to another; storing it twice is harmless (same alert_id, same
 * envelope: a duplicate).  newer_alive: a.v, this relay's directory
 * version, is behind and a relay with the newer one runs (alive.h). */
const char script_checkin_claim[] = PRELUDE NEWER_ALIVE
    "local tk = K('checkin_timers')\n"
    "local m = a.cid .. '|x'\n"
    "local sc = redis.call('ZSCORE', tk, m)\n"
    "if not sc or tonumber(sc) > tonumber(a.now_ms) then\n"
    "  return cjson.encode({r = 'gone'})\n"
    "end\n"
    "local ck = K('checkin', a.cid)\n"
    "local s = redis.call('HMGET', ck, 'state', 'envelope', 'dev',"
    "  'duress')\n"
    "if s[1] ~= 'active' and s[1] ~= 'releasing' or not s[2] then\n"
    "  redis.call('ZREM', tk, m)\n"
    "  return cjson.encode({r = 'gone'})\n"
    "end\n"
    "redis.call('ZADD', tk, a.lease_ms, m)\n"
    "redis.call('HSET', ck, 'state', 'releasing')\n"
    "local dirv = tonumber(redis.call('GET', K('directory_version'))"
    "  or '')\n"
    "return cjson.encode({r = 'release', envelope = s[2], dev = s[3],"
    "  duress = s[4] == '1', dirv = dirv, deferred_ms ="
    "  tonumber(redis.call('HGET', ck, 'deferred_ms') or ''),"
    "  newer_alive = newer_alive(a.v, dirv)})\n";

/* A claim given back by a relay whose directory is older than one
 * another relay of this Redis runs with (checkin_timer.c): due again
 * at a.due_ms, unless its lease is no longer the one this relay took
 * (another relay claimed it since).  It stays "releasing": its deadline
 * has passed, and a done or extend now is too late (CHECKIN_LATE), not
 * a way to end an alarm a relay was about to raise.  deferred_ms: when
 * it was first given back, which bounds how long (checkin_timer.c);
 * a.restart (a relay with the newer directory runs, alive.h) moves it
 * to now: the bound counts only once none runs. */
const char script_checkin_defer[] =
    PRELUDE "local tk = K('checkin_timers')\n"
            "local m = a.cid .. '|x'\n"
            "local ck = K('checkin', a.cid)\n"
            "if tonumber(redis.call('ZSCORE', tk, m) or '') ~="
            "    tonumber(a.lease_ms) or"
            "    redis.call('HGET', ck, 'state') ~= 'releasing' then\n"
            "  return cjson.encode({r = 'gone'})\n"
            "end\n"
            "redis.call('ZADD', tk, a.due_ms, m)\n"
            "redis.call(a.restart and 'HSET' or 'HSETNX', ck, 'deferred_ms',"
            "  a.now_ms)\n"
            "return cjson.encode({r = 'ok'})\n";

/* The alert is stored (or could never be): the check-in is over; a
 * duress extend's reminder stays (DURESS_REMIND). */
const char script_checkin_released[] =
    PRELUDE "local ck = K('checkin', a.cid)\n"
            "redis.call('ZREM', K('checkin_timers'), a.cid .. '|x')\n"
            "if redis.call('HGET', ck, 'duress') ~= '1' then\n"
            "  redis.call('ZREM', K('checkin_timers'), a.cid .. '|r')\n"
            "end\n"
            "local dev = redis.call('HGET', ck, 'dev')\n"
            "if not dev then return cjson.encode({r = 'gone'}) end\n"
            "redis.call('HSET', ck, 'state', 'released', 'released_at', a.now,"
            "  'result', a.result)\n"
            "redis.call('HDEL', ck, 'envelope', 'sig')\n"
            "redis.call('EXPIRE', ck, a.ttl)\n"
            "if redis.call('GET', K('checkin_device', dev)) == a.cid then\n"
            "  redis.call('DEL', K('checkin_device', dev))\n"
            "end\n"
            "return cjson.encode({r = 'ok'})\n";

/* A missed check-in nobody can open (checkin_unsealed.h): its notice,
 * once per check-in whichever instance or try gets here. */
const char script_checkin_unsealed[] = PRELUDE
    "local ek = K('alert', a.eid)\n"
    "if redis.call('EXISTS', ek) == 1 then\n"
    "  return cjson.encode({r = 'dup'})\n"
    "end\n"
    "local seen = redis.call('HGET', K('checkin', a.cid), 'started_at')\n"
    "redis.call('HSET', ek, 'device_id', a.dev, 'alert_type', a.type,"
    "  'created_at', a.now, 'received_at', a.now, 'state', 'notice',"
    "  'last_seen', seen or '', 'drill', a.drill)\n"
    "redis.call('EXPIRE', ek, a.ttl)\n"
    "for _, rid in ipairs(a.notify) do\n"
    "  redis.call('XADD', K('deliveries'), '*', 'alert_id', a.eid,"
    "    'recipient_id', rid, 'channel', 'webhook', 'event',"
    "    'device.checkin_failed', 'tier', '-1')\n"
    "end\n"
    "return cjson.encode({r = 'new', n = #a.notify})\n";

/* The reminder before the deadline, to the device's connections on
 * every instance; removing the timer is the claim. */
const char script_checkin_remind[] = PRELUDE
    "if redis.call('ZREM', K('checkin_timers'), a.cid .. '|r') == 0 then\n"
    "  return cjson.encode({r = 'gone'})\n"
    "end\n"
    "local s = redis.call('HMGET', K('checkin', a.cid), 'state', 'dev',"
    "  'deadline', 'release_at', 'duress', 'remind_deadline',"
    "  'remind_release')\n"
    /* after a duress extend: the deadline the device was given */
    "if s[5] == '1' and s[6] then\n"
    "  s[1], s[3], s[4] = 'active', s[6], s[7]\n"
    "end\n"
    "if s[1] ~= 'active' then return cjson.encode({r = 'gone'}) end\n"
    "redis.call('PUBLISH', K('receipts'), cjson.encode({device_id = s[2],"
    "  alert_id = '', receipt = {event = 'checkin_reminder',"
    "  checkin_id = a.cid, deadline = s[3], release_at = s[4],"
    "  at = a.now}}))\n"
    "return cjson.encode({r = 'ok', dev = s[2]})\n";

/* One device event (device.offline, device.online) to each recipient
 * to notify, through the dispatcher like any notice. */
#define SUPERVISE_EVENT                                                        \
	"local function sup_event(event, dev, last_seen, interval)\n"          \
	"  local ek = K('alert', a.eid)\n"                                     \
	"  redis.call('HSET', ek, 'device_id', dev, 'created_at', a.now,"      \
	"    'received_at', a.now, 'state', 'notice', 'last_seen',"            \
	"    last_seen or '', 'interval_s', interval or '')\n"                 \
	"  redis.call('EXPIRE', ek, a.ttl)\n"                                  \
	"  for _, rid in ipairs(a.notify) do\n"                                \
	"    redis.call('XADD', K('deliveries'), '*', 'alert_id', a.eid,"      \
	"      'recipient_id', rid, 'channel', 'webhook', 'event', event,"     \
	"      'tier', '-1')\n"                                                \
	"  end\n"                                                              \
	"end\n"

/* A supervised device was heard from: its offline deadline moves on;
 * back from offline, device.online (once: the state flips here). */
const char script_supervise_seen[] = PRELUDE SUPERVISE_EVENT
    "local sk = K('supervise', a.dev)\n"
    "local st = redis.call('HGET', sk, 'state')\n"
    "redis.call('ZADD', K('supervised'), a.due_ms, a.dev)\n"
    "redis.call('HSET', sk, 'interval', a.interval, 'last_seen', a.now,"
    "  'state', 'online')\n"
    "redis.call('EXPIRE', sk, a.keep)\n"
    "if st == 'offline' then\n"
    "  redis.call('HSET', sk, 'since', a.now)\n"
    "  sup_event('device.online', a.dev, a.now, a.interval)\n"
    "  return cjson.encode({r = 'online'})\n"
    "end\n"
    "if not st then redis.call('HSET', sk, 'since', a.now) end\n"
    "return cjson.encode({r = 'ok'})\n";

/* The device ends its supervision itself (interval 0): no event. */
const char script_supervise_stop[] =
    PRELUDE "redis.call('ZREM', K('supervised'), a.dev)\n"
            "redis.call('DEL', K('supervise', a.dev))\n"
            "return cjson.encode({r = 'ok'})\n";

/* A supervised device missed its interval plus grace: removing it from
 * the set is the claim, so device.offline goes out once. */
const char script_supervise_offline[] = PRELUDE SUPERVISE_EVENT
    "local sc = redis.call('ZSCORE', K('supervised'), a.dev)\n"
    "if not sc or tonumber(sc) > tonumber(a.now_ms) then\n"
    "  return cjson.encode({r = 'gone'})\n"
    "end\n"
    "redis.call('ZREM', K('supervised'), a.dev)\n"
    "local sk = K('supervise', a.dev)\n"
    "local s = redis.call('HMGET', sk, 'last_seen', 'interval')\n"
    "redis.call('HSET', sk, 'state', 'offline', 'since', a.now)\n"
    "redis.call('EXPIRE', sk, a.keep)\n"
    "sup_event('device.offline', a.dev, s[1], s[2])\n"
    "return cjson.encode({r = 'offline', last_seen = s[1]})\n";
