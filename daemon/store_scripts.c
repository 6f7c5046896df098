#include "retention_scripts.h"
#include "store.h"
#include "store_scripts.h"

/* A recipient reached after all on m (rid|ch): no longer unreached
 * (unless clear is false: a report said that SMS failed).
 * After a duress cancel the device's status keeps showing it as a real
 * cancel would (script_status): the entry is kept as unreached@. */
#define REACHED                                                                \
	"local function reached(ak, aid, m, clear)\n"                          \
	"  local uk = K('unreached', aid)\n"                                   \
	"  local was = redis.call('HGET', uk, m)\n"                            \
	"  if was and redis.call('HGET', ak, 'duress') == '1' then\n"          \
	"    redis.call('HSETNX', ak, 'unreached@' .. m, was)\n"               \
	"  end\n"                                                              \
	"  if clear then redis.call('HDEL', uk, m) end\n"                      \
	"end\n"

/* Shared by every script: argument, key names, events and deliveries. */
#define PRELUDE                                                                \
	"local a = cjson.decode(ARGV[1])\n"                                    \
	"local P = a.p\n"                                                      \
	"local function K(...) return table.concat({P, ...}, ':') "            \
	"end\n" RETIRE_PRELUDE "local function ev(aid, dev, e)\n"              \
	"  local f = redis.call('HMGET', K('alert', aid), 'drill', 'duress',"  \
	"    'state')\n"                                                       \
	"  if f[1] == '1' then e.drill = true end\n"                           \
	"  -- after any cancel (duress ones look real), nothing more\n"        \
	"  if f[2] == '1' or (f[3] == 'cancelled' and e.event ~= 'cancelled')" \
	"  then\n"                                                             \
	"    redis.call('RPUSH', K('duress_events', aid), cjson.encode(e))\n"  \
	"    keep(aid)\n"                                                      \
	"    return\n"                                                         \
	"  end\n"                                                              \
	"  redis.call('RPUSH', K('events', aid), cjson.encode(e))\n"           \
	"  redis.call('PUBLISH', K('receipts'), cjson.encode({device_id = "    \
	"dev,"                                                                 \
	"    alert_id = aid, receipt = e}))\n"                                 \
	"  keep(aid)\n"                                                        \
	"end\n"                                                                \
	"local function deliver(aid, rid, ch, event, tier)\n"                  \
	"  redis.call('XADD', K('deliveries'), '*', 'alert_id', aid,"          \
	"    'recipient_id', rid, 'channel', ch, 'event', event, 'tier', "     \
	"tier)\n"                                                              \
	"end\n"                                                                \
	"local function fanout(aid, event, skip)\n"                            \
	"  for _, m in ipairs(redis.call('SMEMBERS', K('notified', aid))) "    \
	"do\n"                                                                 \
	"    if m ~= skip then\n"                                              \
	"      local s = string.find(m, '|', 1, true)\n"                       \
	"      deliver(aid, string.sub(m, 1, s - 1), string.sub(m, s + 1),"    \
	"        event, '-1')\n"                                               \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function stop_timers(ak, aid)\n"                                \
	"  local m = redis.call('HGET', ak, 'timer')\n"                        \
	"  if m then redis.call('ZREM', K('timers'), m) end\n"                 \
	"  redis.call('HDEL', ak, 'timer')\n"                                  \
	"  redis.call('ZREM', K('timers'), aid .. '|x')\n"                     \
	"end\n"                                                                \
	"local function closed(aid, atype)\n"                                  \
	"  redis.call('ZREM', K('open', atype or '-'), aid)\n"                 \
	"  redis.call('ZREM', K('open', 'drill'), aid)\n"                      \
	"end\n"                                                                \
	"local function unreached(aid, rid, ch, u)\n"                          \
	"  redis.call('HSET', K('unreached', aid), rid .. '|' .. ch,"          \
	"    cjson.encode(u))\n"                                               \
	"  keep(aid)\n"                                                        \
	"end\n" REACHED

/* The device's signed cancel, as it sent it, kept with the alert for the
 * webhooks that follow (webhook.c): a receiver checks it with the
 * device's key, so the relay's word alone never ends an alarm there.
 * The "cancelled" receipt carries it too, for the device to check that
 * the cancel is its own before it stops following the alert. */
#define SIGNED_CANCEL                                                          \
	"local function signed_cancel(ak)\n"                                   \
	"  if a.signed and a.sig then\n"                                       \
	"    redis.call('HSET', ak, 'cancel_signed', a.signed, 'cancel_sig',"  \
	"      a.sig)\n"                                                       \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function cancelled_event()\n"                                   \
	"  return {event = 'cancelled', at = a.now, cancel = a.signed,"        \
	"    cancel_sig = a.sig}\n"                                            \
	"end\n"

/* Accept an alert with its first notifications and timers, or recognise
 * a resend. */
const char script_ingest[] = PRELUDE
    "local ak = K('alert', a.aid)\n"
    "local h = redis.call('HMGET', ak, 'envelope_hash', 'relay_id',"
    "  'received_at', 'ref')\n"
    "if h[1] then\n"
    "  if h[1] == a.hash then\n"
    "    return cjson.encode({r = 'dup', id = h[2], received_at = h[3],"
    "      ref = h[4]})\n"
    "  end\n"
    "  return cjson.encode({r = 'conflict'})\n"
    "end\n"
    "local ref\n"
    "for _, c in ipairs(a.refs) do\n"
    "  if redis.call('SET', K('ref', c), a.aid, 'NX') then\n"
    "    ref = c\n"
    "    break\n"
    "  end\n"
    "end\n"
    "if not ref then return cjson.encode({r = 'noref'}) end\n"
    "local id = redis.call('XADD', K('alerts'), 'MAXLEN', '~', '1000000',"
    "  '*', 'alert_id', a.aid, 'device_id', a.dev, 'alert_type', a.type,"
    "  'created_at', a.created, 'received_at', a.received, 'recipients',"
    "  a.recipients, 'ref', ref, 'drill', a.drill or '0')\n"
    "redis.call('HSET', ak, 'relay_id', id, 'envelope_hash', a.hash,"
    "  'device_id', a.dev, 'alert_type', a.type, 'created_at', a.created,"
    "  'received_at', a.received, 'received_ms', a.received_ms,"
    "  'recipients', a.recipients, 'ref', ref, 'policy', a.policy,"
    "  'state', 'open', 'tier', a.tier, 'ndeliveries', #a.now,"
    "  'ndelivered', 0, 'drill', a.drill or '0')\n"
    "for rid, ct in pairs(a.cts) do\n"
    "  redis.call('HSET', ak, 'ct:' .. rid, ct)\n"
    "end\n"
    /* a check-in ended under duress (ingest_alert_as) */
    "if a.duress then\n"
    "  redis.call('HSET', ak, 'duress', '1', 'duress_at', a.received,"
    "    'duress_ms', a.received_ms)\n"
    "end\n"
    /* moved in from the local spool: what was delivered from there */
    "local done = {}\n"
    "for _, x in ipairs(a.done or {}) do\n"
    "  done[x] = true\n"
    "  redis.call('SADD', K('notified', a.aid), x)\n"
    "  redis.call('HINCRBY', ak, 'ndelivered', 1)\n"
    "  local s = string.find(x, '|', 1, true)\n"
    "  redis.call('HSETNX', ak, 'delivered:' .. string.sub(x, 1, s - 1),"
    "    a.received_ms)\n"
    "end\n"
    "for _, d in ipairs(a.now) do\n"
    "  if not done[d[1] .. '|' .. d[2]] then\n"
    "    deliver(a.aid, d[1], d[2], a.event or 'alert.raised', a.tier)\n"
    "  end\n"
    "end\n"
    "if a.next then\n"
    "  redis.call('ZADD', K('timers'), a.next[2], a.next[1])\n"
    "  redis.call('HSET', ak, 'timer', a.next[1])\n"
    "end\n"
    "if a.expire then\n"
    "  redis.call('ZADD', K('timers'), a.expire, a.aid .. '|x')\n"
    "end\n"
    "redis.call('ZADD', K('device', a.dev), a.received_ms, a.aid)\n"
    /* a drill is counted apart: it never looks like an open alarm */
    "redis.call('ZADD', K('open', a.drill == '1' and 'drill' or a.type),"
    "  a.received_ms, a.aid)\n"
    "ev(a.aid, a.dev, {event = 'accepted', at = a.received, relay_id = id,"
    "  ref = ref})\n"
    "return cjson.encode({r = 'new', id = id, received_at = a.received,"
    "  ref = ref})\n";

/* A timer fell due.  Removing it from the set is the claim: only one
 * instance fires it, once. */
const char script_fire[] =
    PRELUDE "if redis.call('ZREM', K('timers'), a.member) == 0 then\n"
            "  return cjson.encode({r = 'gone'})\n"
            "end\n"
            "local ak = K('alert', a.aid)\n"
            "local s = redis.call('HMGET', ak, 'state', 'device_id',"
            "  'alert_type')\n"
            "if s[1] ~= 'open' then return cjson.encode({r = 'closed'}) end\n"
            "if a.expire then\n"
            "  redis.call('HSET', ak, 'state', 'expired')\n"
            "  stop_timers(ak, a.aid)\n"
            "  closed(a.aid, s[3])\n"
            "  retire(a.aid, s[2])\n"
            "  ev(a.aid, s[2], {event = 'expired', at = a.now})\n"
            "  return cjson.encode({r = 'expired'})\n"
            "end\n"
            "local event = 'alert.escalated'\n"
            "if a.tier == '0' then event = 'alert.raised' end\n"
            "local n = 0\n"
            "for _, d in ipairs(a.deliveries) do\n"
            /* a tier or repeat skips whoever an earlier notification is
             * still being retried to on that channel: it goes out when
             * they are back, one, not a burst of every repeat missed
             * meanwhile, and an outage does not pile up one pending
             * delivery per repeat (dispatch.c) */
            "  local u = redis.call('HGET', K('unreached', a.aid),"
            "    d[1] .. '|' .. d[2])\n"
            "  if u then u = cjson.decode(u) end\n"
            /* nor whoever an SMS gateway holds one for (queued): it
             * sends that one once its link is back, and each resend
             * would add a copy to its queue */
            "  if not (u and (u.retrying or u.queued)) then\n"
            "    deliver(a.aid, d[1], d[2], event, a.tier)\n"
            "    n = n + 1\n"
            "  end\n"
            "end\n"
            "redis.call('HINCRBY', ak, 'ndeliveries', n)\n"
            "redis.call('HSET', ak, 'tier', a.tier)\n"
            "if a.next then\n"
            "  redis.call('ZADD', K('timers'), a.next[2], a.next[1])\n"
            "  redis.call('HSET', ak, 'timer', a.next[1])\n"
            "else\n"
            "  redis.call('HDEL', ak, 'timer')\n"
            "end\n"
            "if a.tier ~= '0' then\n"
            "  ev(a.aid, s[2], {event = 'escalated', tier = tonumber(a.tier),"
            "    at = a.now})\n"
            "end\n"
            "return cjson.encode({r = 'fired', device_id = s[2]})\n";

/* A timer that can never fire (escalate.c): its alert is gone, or it is
 * not of a form the relay writes (then no aid is given).  Its alert is
 * looked for again here, atomically with the removal: an alert written
 * with that id since the timer was read keeps its timer. */
const char script_timer_drop[] =
    PRELUDE "if a.aid and redis.call('EXISTS', K('alert', a.aid)) == 1 then\n"
            "  return cjson.encode({r = 'kept'})\n"
            "end\n"
            "local n = redis.call('ZREM', K('timers'), a.member)\n"
            "return cjson.encode({r = n == 1 and 'dropped' or 'gone'})\n";

/* What a timer needs to plan the next tier. */
const char script_brief[] = PRELUDE
    "local f = redis.call('HMGET', K('alert', a.aid), 'state', 'policy',"
    "  'alert_type', 'received_ms', 'recipients', 'drill', 'duress_ms')\n"
    "if not f[1] then return cjson.encode({exists = false}) end\n"
    "return cjson.encode({exists = true, state = f[1], policy = f[2],"
    "  alert_type = f[3], received_ms = f[4], recipients = f[5],"
    "  drill = f[6] == '1', duress_ms = f[7] or nil})\n";

/* What a delivery needs to know about its alert. */
const char script_meta[] = PRELUDE
    "local f = redis.call('HMGET', K('alert', a.aid), 'device_id',"
    "  'alert_type', 'created_at', 'received_at', 'ref', 'state',"
    "  'acked_by', 'acked_at', 'cancelled_at', 'ct:' .. a.rid, 'd:' .. a.sid,"
    "  'tier', 'drill', 'last_seen', 'interval_s', 'duress', 'duress_at',"
    "  'envelope_hash', 'cancel_signed', 'cancel_sig', 'acked_statement')\n"
    "if not f[1] then return cjson.encode({exists = false}) end\n"
    /* a later position: its own box and time (script_location) */
    "if a.event == 'alert.location' then\n"
    "  local l = redis.call('HMGET', K('alert', a.aid), 'ct:@' .. a.tier,"
    "    'ct:@' .. a.tier .. ':' .. a.rid)\n"
    "  f[10] = l[2]\n"
    "  if l[1] then f[3] = string.sub(l[1], 1, string.find(l[1], '|', 1,"
    "    true) - 1) end\n"
    "end\n"
    "local u = redis.call('HEXISTS', K('unreached', a.aid),"
    "  a.rid .. '|' .. (a.ch or ''))\n"
    "return cjson.encode({exists = true, unreached = u == 1, device_id = f[1],"
    "  alert_type = f[2], created_at = f[3], received_at = f[4],"
    "  ref = f[5], state = f[6], acked_by = f[7] or nil,"
    "  acked_at = f[8] or nil, cancelled_at = f[9] or nil,"
    "  ciphertext = f[10] or nil, done = f[11] and true or false,"
    "  drill = f[13] == '1', last_seen = f[14] or nil,"
    "  interval_s = f[15] or nil, duress = f[16] == '1',"
    "  duress_at = f[17] or nil, envelope_hash = f[18] or nil,"
    "  cancel_signed = f[19] or nil, cancel_sig = f[20] or nil,"
    "  acked_statement = f[21] or nil})\n";

/* A notification went through. */
const char script_done[] = PRELUDE
    "local ak = K('alert', a.aid)\n"
    "redis.call('XACK', K('deliveries'), 'dispatch', a.sid)\n"
    "redis.call('XDEL', K('deliveries'), a.sid)\n"
    /* purged (retention, erasure): nothing to record it in */
    "if redis.call('EXISTS', ak) == 0 then return cjson.encode({r = 'ok'})"
    " end\n"
    "local first = redis.call('HSETNX', ak, 'd:' .. a.sid, a.now_ms)\n"
    "if first == 1 and (a.event == 'alert.raised' or"
    "    a.event == 'alert.escalated' or a.event == 'alert.duress') then\n"
    "  redis.call('HSETNX', ak, 'delivered:' .. a.rid, a.now_ms)\n"
    "  redis.call('SADD', K('notified', a.aid), a.rid .. '|' .. a.ch)\n"
    /* not when a delivery report said it failed before this ran */
    "  reached(ak, a.aid, a.rid .. '|' .. a.ch, a.ch ~= 'sms' or"
    "    redis.call('HGET', ak, 'smsreport:' .. a.rid) ~= 'failed')\n"
    "  local n = redis.call('HINCRBY', ak, 'ndelivered', 1)\n"
    "  if a.ch == 'sms' then\n"
    "    redis.call('SET', K('lastsms', a.rid),"
    "      redis.call('HGET', ak, 'drill') or '0', 'EX', 604800)\n"
    "  end\n"
    "  local f = redis.call('HMGET', ak, 'ndeliveries', 'device_id',"
    "    'state')\n"
    /* It went through after the alert was taken or cancelled:
     * that person must hear so too. */
    "  if f[3] == 'acknowledged' then\n"
    "    deliver(a.aid, a.rid, a.ch, 'alert.acknowledged', '-1')\n"
    "  elseif f[3] == 'cancelled' then\n"
    "    deliver(a.aid, a.rid, a.ch, 'alert.cancelled', '-1')\n"
    "  end\n"
    /* an SMS gateway's 2xx says it took the message, not that the
     * phone got it; a delivery report may have come first
     * (script_report): it said so already */
    "  local e = {event = 'delivered', recipient = a.alias,"
    "    channel = a.ch, delivered = n, total = tonumber(f[1]),"
    "    at = a.now}\n"
    "  if a.ch == 'sms' then e.confirmed = false end\n"
    "  if a.ch ~= 'sms' or not redis.call('HGET', ak, 'smsreport:' .."
    "      a.rid) then\n"
    "    ev(a.aid, f[2], e)\n"
    "  end\n"
    "end\n"
    "return cjson.encode({r = 'ok'})\n";

/* A notification to an open alert failed max_attempts times: its
 * recipient is marked unreached (the history says so, once), the next
 * tier comes at once, and the notification stays pending: it is tried
 * again until it goes through or the alert closes.  Not for a duress
 * alarm: it reaches every tier already, and its repeats keep their
 * interval (duress.h). */
const char script_unreached[] = PRELUDE
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "  'duress')\n"
    "if not s[1] then return cjson.encode({r = 'gone'}) end\n"
    "if redis.call('HEXISTS', K('unreached', a.aid),"
    "    a.rid .. '|' .. a.ch) == 0 then\n"
    "  unreached(a.aid, a.rid, a.ch, {recipient = a.alias, channel = a.ch,"
    "    reason = a.reason, since = a.now, retrying = true})\n"
    "  ev(a.aid, s[3], {event = 'failed', recipient = a.alias,"
    "    channel = a.ch, reason = a.reason, at = a.now, retrying = true})\n"
    "end\n"
    "if s[1] == 'open' and s[2] and s[4] ~= '1' then\n"
    "  redis.call('ZADD', K('timers'), 'XX', a.now_ms, s[2])\n"
    "end\n"
    "return cjson.encode({r = 'ok'})\n";

/* Recipients that cannot be reached at all (a missed check-in sealed
 * only to recipients no longer in the directory, checkin_unsealed.h):
 * each marked once, given up, with its failed event, as script_fail
 * marks one after its attempts; the next tier at once, as there. */
const char script_unreached_all[] = PRELUDE
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "  'duress')\n"
    "if not s[1] then return cjson.encode({r = 'gone'}) end\n"
    "local n = 0\n"
    "for _, w in ipairs(a.who) do\n"
    "  if redis.call('HEXISTS', K('unreached', a.aid),"
    "      w[1] .. '|' .. a.ch) == 0 then\n"
    "    unreached(a.aid, w[1], a.ch, {recipient = w[2], channel = a.ch,"
    "      reason = a.reason, since = a.now, retrying = false})\n"
    "    ev(a.aid, s[3], {event = 'failed', recipient = w[2],"
    "      channel = a.ch, reason = a.reason, at = a.now,"
    "      retrying = false})\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "if n > 0 and s[1] == 'open' and s[2] and s[4] ~= '1' then\n"
    "  redis.call('ZADD', K('timers'), 'XX', a.now_ms, s[2])\n"
    "end\n"
    "return cjson.encode({r = 'ok', n = n})\n";

/* A notification was given up (the alert closed or expired while its
 * recipient was unreached, it cannot be sent at all, or an SMS gateway
 * only queued it): dead letter, the history says so, and for an open
 * alert (not a duress alarm) the next tier at once.  A queued SMS may
 * still reach its phone: its recipient counts as sent to (a reply to
 * it acknowledges, they hear who took it), not as delivered.
 * Acknowledging the entry in the group is the claim: recorded once. */
const char script_fail[] = PRELUDE
    "local ak = K('alert', a.aid)\n"
    "if redis.call('XACK', K('deliveries'), 'dispatch', a.sid) == 0 then\n"
    "  return cjson.encode({r = 'again'})\n"
    "end\n"
    "redis.call('XDEL', K('deliveries'), a.sid)\n"
    "redis.call('XADD', K('deadletter'), 'MAXLEN', '~', '100000', '*',"
    "  'alert_id', a.aid, 'recipient_id', a.rid, 'channel', a.ch,"
    "  'event', a.event, 'tier', a.tier, 'reason', a.reason, 'at', a.now)\n"
    "if (a.event == 'alert.raised' or a.event == 'alert.escalated' or"
    "    a.event == 'alert.duress') and redis.call('EXISTS', ak) == 1 then\n"
    "  local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "    'duress')\n"
    "  local u = redis.call('HGET', K('unreached', a.aid), a.rid .. '|' .."
    "    a.ch)\n"
    "  local since, reason = a.now, a.reason\n"
    "  if u then since = cjson.decode(u).since or a.now end\n"
    /* the device's status keeps the reason it had at the cancel, as
     * after a duress cancel (the dead letter says why it ended) */
    "  if u and s[1] == 'cancelled' then\n"
    "    reason = cjson.decode(u).reason or reason\n"
    "  end\n"
    "  unreached(a.aid, a.rid, a.ch, {recipient = a.alias, channel = a.ch,"
    "    reason = reason, since = since, retrying = false,"
    "    queued = a.queued or nil})\n"
    "  if a.queued then\n"
    "    redis.call('SADD', K('notified', a.aid), a.rid .. '|' .. a.ch)\n"
    "  end\n"
    "  ev(a.aid, s[3], {event = 'failed', recipient = a.alias,"
    "    channel = a.ch, reason = a.reason, at = a.now, retrying = false})\n"
    /* the next tier at once, the first time this recipient and channel
     * fail only: were it each time, a notification that fails at once
     * (a queued SMS, a message the gateway refuses) would fire every
     * tier and repeat back to back, each failing again */
    "  if not u and s[1] == 'open' and s[2] and s[4] ~= '1' then\n"
    "    redis.call('ZADD', K('timers'), 'XX', a.now_ms, s[2])\n"
    "  end\n"
    "end\n"
    "return cjson.encode({r = 'ok'})\n";

/* An alarm SMS is about to go out asking for delivery reports
 * (sms_report.h): its credential, until when a report is taken, and
 * what a failure would put in the dead letter.  One per recipient: a
 * later SMS to them replaces it, and what the last one's report said
 * (smsreport:) goes with it: that was about another SMS, and kept, it
 * would keep this one from clearing the recipient's unreached entry
 * and its receipt (script_done). */
const char script_report_wait[] =
    PRELUDE "local ak = K('alert', a.aid)\n"
            "if redis.call('EXISTS', ak) == 0 then\n"
            "  return cjson.encode({r = 'gone'})\n"
            "end\n"
            "redis.call('HDEL', ak, 'smsreport:' .. a.rid)\n"
            "local k = K('report', a.aid)\n"
            "redis.call('HSET', k, a.rid, cjson.encode({c = a.c, u = a.u,"
            "  event = a.event, tier = a.tier}))\n"
            "redis.call('EXPIRE', k, a.ttl)\n"
            "return cjson.encode({r = 'ok'})\n";

/* What a report for alert a.aid, recipient a.rid must match: read only,
 * so that a forged report changes nothing (the caller compares). */
const char script_report_get[] =
    PRELUDE "local v = redis.call('HGET', K('report', a.aid), a.rid)\n"
            "if not v then return cjson.encode({r = 'none'}) end\n"
            "local w = cjson.decode(v)\n"
            "return cjson.encode({r = 'ok', c = w.c, u = w.u})\n";

/* A final report whose credential matched: taken once.  Delivered: the
 * receipt says so, confirmed (after script_done's unconfirmed one, or
 * instead of it when the report came first).  Not delivered: as an
 * SMS that failed its attempts (script_fail): unreached, dead letter,
 * failed receipt, the next tier at once for an open alert. */
const char script_report[] = PRELUDE
    "local k = K('report', a.aid)\n"
    "local v = redis.call('HGET', k, a.rid)\n"
    "if not v or cjson.decode(v).c ~= a.c then\n"
    "  return cjson.encode({r = 'none'})\n"
    "end\n"
    "local w = cjson.decode(v)\n"
    "redis.call('HDEL', k, a.rid)\n"
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "  'duress')\n"
    "if not s[1] then return cjson.encode({r = 'gone'}) end\n"
    "if a.delivered then\n"
    "  redis.call('HSET', ak, 'smsreport:' .. a.rid, 'delivered')\n"
    /* reached after all (an SMS the gateway queued, one sent again
     * after its earlier one failed): no longer unreached, with
     * script_done's duress rule */
    "  reached(ak, a.aid, a.rid .. '|sms', true)\n"
    "  ev(a.aid, s[3], {event = 'delivered', recipient = a.alias,"
    "    channel = 'sms', confirmed = true, at = a.now})\n"
    "  return cjson.encode({r = 'delivered'})\n"
    "end\n"
    "redis.call('HSET', ak, 'smsreport:' .. a.rid, 'failed')\n"
    "redis.call('XADD', K('deadletter'), 'MAXLEN', '~', '100000', '*',"
    "  'alert_id', a.aid, 'recipient_id', a.rid, 'channel', 'sms',"
    "  'event', w.event or 'alert.raised', 'tier', w.tier or '0',"
    "  'reason', a.reason, 'at', a.now)\n"
    "local u = redis.call('HEXISTS', K('unreached', a.aid), a.rid .. '|sms')\n"
    /* kept apart from the unreached entry, which a later SMS the gateway
     * takes clears (script_done) */
    "local first = redis.call('HSETNX', ak, 'smsfailed:' .. a.rid,"
    "  a.now_ms)\n"
    "unreached(a.aid, a.rid, 'sms', {recipient = a.alias, channel = 'sms',"
    "  reason = a.reason, since = a.now, retrying = false})\n"
    "ev(a.aid, s[3], {event = 'failed', recipient = a.alias,"
    "  channel = 'sms', reason = a.reason, at = a.now, retrying = false})\n"
    /* as script_fail: the first failure of this recipient's SMS only,
     * or a centre failing every SMS at once would fire tier after tier */
    "if u == 0 and first == 1 and s[1] == 'open' and s[2] and"
    "    s[4] ~= '1' then\n"
    "  redis.call('ZADD', K('timers'), 'XX', a.now_ms, s[2])\n"
    "end\n"
    "return cjson.encode({r = 'failed'})\n";

const char script_drop[] =
    PRELUDE "redis.call('XACK', K('deliveries'), 'dispatch', a.sid)\n"
            "redis.call('XDEL', K('deliveries'), a.sid)\n"
            "return cjson.encode({r = 'ok'})\n";

/* A person acknowledged: by alert id or reference (HTTPS), or by
 * reference (SMS, only from a number that was sent that reference:
 * of the recipients with that number, a.owners [rid, alias], the first
 * that was sent it by SMS takes it; the answer's rid says who).
 * Over HTTPS, only
 * a recipient the alert was addressed to or that a tier reached may;
 * anyone else gets what an alert that does not exist gets. */
const char script_ack[] = PRELUDE
    "local aid = a.aid\n"
    "if a.ref then\n"
    "  aid = redis.call('GET', K('ref', a.ref))\n"
    "  if aid and a.ch == 'sms' then\n"
    "    local who = nil\n"
    "    for _, o in ipairs(a.owners or {{a.rid, a.alias}}) do\n"
    "      if not who and redis.call('SISMEMBER', K('notified', aid),"
    "          o[1] .. '|sms') == 1 then who = o end\n"
    "    end\n"
    "    if not who then return cjson.encode({r = 'unknown'}) end\n"
    "    a.rid, a.alias = who[1], who[2]\n"
    "  end\n"
    "  if not aid then return cjson.encode({r = 'unknown'}) end\n"
    "end\n"
    "local ak = K('alert', aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'device_id', 'acked_by',"
    "  'received_ms', 'recipients', 'alert_type', 'drill')\n"
    "if not s[1] then return cjson.encode({r = 'unknown'}) end\n"
    "if a.ch ~= 'sms' then\n"
    "  local on = false\n"
    "  for r in string.gmatch(s[5] or '', '[^,]+') do\n"
    "    if r == a.rid then on = true end\n"
    "  end\n"
    "  for _, m in ipairs(redis.call('SMEMBERS', K('notified', aid))) do\n"
    "    if string.sub(m, 1, #a.rid + 1) == a.rid .. '|' then on = true end\n"
    "  end\n"
    "  if not on then return cjson.encode({r = 'unknown'}) end\n"
    "end\n"
    "if s[1] == 'cancelled' then\n"
    "  return cjson.encode({r = 'cancelled', aid = aid, rid = a.rid})\n"
    "end\n"
    /* A signed statement (ack_signed.h) must name this alert and the
     * envelope the device sent; it is kept and passed on unchanged. */
    "if a.st and (a.st.alert_id ~= aid or a.st.envelope_sha256 ~="
    "    redis.call('HGET', ak, 'envelope_hash')) then\n"
    "  return cjson.encode({r = 'mismatch', aid = aid})\n"
    "end\n"
    "local attested = nil\n"
    "if not a.st then attested = 'relay' end\n"
    "if s[1] == 'acknowledged' then\n"
    "  ev(aid, s[2], {event = 'acknowledged', by = a.alias, channel = a.ch,"
    "    at = a.now, first = false, statement = a.st,"
    "    attested = attested})\n"
    "  return cjson.encode({r = 'again', aid = aid, by = s[3],"
    "    drill = s[7] == '1', rid = a.rid})\n"
    "end\n"
    "redis.call('HSET', ak, 'state', 'acknowledged', 'acked_by', a.alias,"
    "  'acked_rid', a.rid, 'acked_at', a.now, 'acked_channel', a.ch)\n"
    "if a.st then\n"
    "  redis.call('HSET', ak, 'acked_statement', cjson.encode(a.st))\n"
    "end\n"
    "stop_timers(ak, aid)\n"
    "closed(aid, s[6])\n"
    "retire(aid, s[2])\n"
    "fanout(aid, 'alert.acknowledged', a.rid .. '|' .. a.ch)\n"
    "ev(aid, s[2], {event = 'acknowledged', by = a.alias, channel = a.ch,"
    "  at = a.now, first = true, statement = a.st, attested = attested})\n"
    "return cjson.encode({r = 'first', aid = aid, by = a.alias,"
    "  received_ms = s[4], drill = s[7] == '1', rid = a.rid})\n";

/* The device cancelled its alert. */
const char script_cancel[] = PRELUDE SIGNED_CANCEL
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'device_id', 'alert_type',"
    "  'duress')\n"
    "if not s[1] or s[2] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    /* after a duress cancel no cancel ends it, v1 (PINs cleared) or v2 */
    "if s[1] == 'cancelled' or s[4] == '1' then\n"
    "  return cjson.encode({r = 'already'})\n"
    "end\n"
    "redis.call('HSET', ak, 'state', 'cancelled', 'cancelled_at', a.now)\n"
    "signed_cancel(ak)\n"
    "stop_timers(ak, a.aid)\n"
    "closed(a.aid, s[3])\n"
    "retire(a.aid, a.dev)\n"
    "fanout(a.aid, 'alert.cancelled', '')\n"
    "local e = cancelled_event()\n"
    "ev(a.aid, a.dev, e)\n"
    "return cjson.encode({r = 'cancelled', receipt = e})\n";

/* One alert and its history, for its own device only. */
const char script_status[] = PRELUDE
    "local f = redis.call('HMGET', K('alert', a.aid), 'device_id', 'state',"
    "  'alert_type', 'created_at', 'received_at', 'ref', 'drill', 'duress',"
    "  'duress_at', 'cancelled_at')\n"
    "if not f[1] or f[1] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    /* after a duress cancel the device sees what a real one leaves; after
     * either, who was not reached as it stood at the cancel */
    "if f[8] == '1' then f[2] = 'cancelled' else f[9] = f[10] end\n"
    "local evs = {}\n"
    "for i, j in ipairs(redis.call('LRANGE', K('events', a.aid), 0, -1)) do\n"
    "  evs[i] = cjson.decode(j)\n"
    "end\n"
    "local out = {r = 'ok', alert_id = a.aid, state = f[2],"
    "  alert_type = f[3], created_at = f[4], received_at = f[5], ref = f[6],"
    "  events = evs, drill = f[7] == '1'}\n"
    "local un = redis.call('HVALS', K('unreached', a.aid))\n"
    /* a duress alarm goes on: who was reached since is not told */
    "if f[8] == '1' then\n"
    "  local h = redis.call('HGETALL', K('alert', a.aid))\n"
    "  for i = 1, #h, 2 do\n"
    "    if string.sub(h[i], 1, 10) == 'unreached@' then\n"
    "      table.insert(un, h[i + 1])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if #un > 0 then\n"
    "  out.unreached = {}\n"
    "  for _, j in ipairs(un) do\n"
    "    local u = cjson.decode(j)\n"
    "    if f[9] then u.retrying = false end\n"
    "    if not f[9] or (u.since or '') <= f[9] then\n"
    "      table.insert(out.unreached, u)\n"
    "    end\n"
    "  end\n"
    "  if #out.unreached == 0 then out.unreached = nil end\n"
    "end\n"
    "return cjson.encode(out)\n";

/* A device's most recent alerts. */
const char script_list[] =
    PRELUDE "local out = {}\n"
            "local ids = redis.call('ZREVRANGE', K('device', a.dev), 0,"
            "  tonumber(a.limit) - 1)\n"
            "for i, id in ipairs(ids) do\n"
            "  local f = redis.call('HMGET', K('alert', id), 'alert_type',"
            "    'created_at', 'state', 'ref', 'drill', 'duress')\n"
            "  if f[6] == '1' then f[3] = 'cancelled' end\n"
            "  out[i] = {alert_id = id, alert_type = f[1], created_at = f[2],"
            "    state = f[3], ref = f[4], drill = f[5] == '1'}\n"
            "end\n"
            "return cjson.encode({r = 'ok', alerts = out})\n";

/* For /metrics, cheap whatever the history: deliveries not yet
 * completed (completed ones are deleted, so the stream's length is the
 * queue) and the oldest one's id, the dead letters, and per alert type
 * how many alerts are open and since when the oldest (P:open:TYPE is
 * kept by the scripts that open and close alerts). */
const char script_queue[] = PRELUDE
    "local out = {depth = redis.call('XLEN', K('deliveries')),"
    "  deadletter = redis.call('XLEN', K('deadletter')), open = {}}\n"
    "local f = redis.call('XRANGE', K('deliveries'), '-', '+', 'COUNT', 1)\n"
    "if f[1] then out.oldest = f[1][1] end\n"
    "for _, t in ipairs(a.types) do\n"
    "  local o = redis.call('ZRANGE', K('open', t), 0, 0, 'WITHSCORES')\n"
    "  out.open[t] = {n = redis.call('ZCARD', K('open', t)),"
    "    oldest_ms = o[2]}\n"
    "end\n"
    "return cjson.encode(out)\n";

/* The newest dead letters, up to a.limit, and how many there are. */
const char script_deadletter_list[] = PRELUDE
    "local out = {}\n"
    "for i, e in ipairs(redis.call('XREVRANGE', K('deadletter'), '+', '-',"
    "    'COUNT', tonumber(a.limit))) do\n"
    "  local o = {id = e[1]}\n"
    "  for j = 1, #e[2], 2 do o[e[2][j]] = e[2][j + 1] end\n"
    "  out[i] = o\n"
    "end\n"
    "return cjson.encode({total = redis.call('XLEN', K('deadletter')),"
    "  entries = out})\n";

/* Dead letters back into the deliveries stream, marked replayed (sent
 * whatever the alert's state, up to max_attempts), each moved once:
 * a.ids, or with a.all the oldest a.limit. */
const char script_deadletter_replay[] = PRELUDE
    "local ids = a.ids or {}\n"
    "if a.all then\n"
    "  ids = {}\n"
    "  for i, e in ipairs(redis.call('XRANGE', K('deadletter'), '-', '+',"
    "      'COUNT', tonumber(a.limit))) do ids[i] = e[1] end\n"
    "end\n"
    "local done, unknown = {}, {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local e = redis.call('XRANGE', K('deadletter'), id, id)[1]\n"
    "  if not e then\n"
    "    table.insert(unknown, id)\n"
    "  else\n"
    "    local f = {}\n"
    "    for j = 1, #e[2], 2 do f[e[2][j]] = e[2][j + 1] end\n"
    "    local sid = redis.call('XADD', K('deliveries'), '*', 'alert_id',"
    "      f.alert_id or '', 'recipient_id', f.recipient_id or '',"
    "      'channel', f.channel or '', 'event', f.event or '', 'tier',"
    "      f.tier or '0', 'replay', '1')\n"
    "    redis.call('XDEL', K('deadletter'), id)\n"
    "    local uk = K('unreached', f.alert_id or '')\n"
    "    local m = (f.recipient_id or '') .. '|' .. (f.channel or '')\n"
    "    local u = redis.call('HGET', uk, m)\n"
    "    if u then\n"
    "      u = cjson.decode(u)\n"
    "      u.retrying = true\n"
    "      redis.call('HSET', uk, m, cjson.encode(u))\n"
    "    end\n"
    "    table.insert(done, {id = id, delivery = sid, alert_id = f.alert_id,"
    "      recipient_id = f.recipient_id, channel = f.channel})\n"
    "  end\n"
    "end\n"
    "return cjson.encode({replayed = done, unknown = unknown})\n";

/* Whether the last alarm SMS to a recipient was a drill. */
const char script_lastsms[] =
    PRELUDE "return cjson.encode({drill = redis.call('GET',"
            "  K('lastsms', a.rid)) == '1'})\n";

/* The highest directory version any relay on this Redis has run with:
 * a relay started with an older one (an old file restored) finds out. */
const char script_directory[] = PRELUDE
    "local cur = tonumber(redis.call('GET', K('directory_version')) or "
    "'-1')\n"
    "if a.version < cur then return cjson.encode({ok = false, highest = "
    "cur}) end\n"
    "if a.version > cur then redis.call('SET', K('directory_version'), "
    "a.version) end\n"
    "return cjson.encode({ok = true, highest = a.version})\n";

/* Cancel v2 (duress.c): a.duress '0' cancels as script_cancel does; '1'
 * gives the device the receipt of a real cancel, then keeps the alert
 * open (reopens it), marks it duress (from then on its events go to
 * P:duress_events:A, never to the device), sends alert.duress to
 * a.deliveries (every tier) at once and goes on escalating. */
const char script_duress[] = PRELUDE SIGNED_CANCEL
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'device_id', 'alert_type',"
    "  'duress', 'received_ms', 'drill')\n"
    "if not s[1] or s[2] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    "if s[4] == '1' or (a.duress ~= '1' and s[1] == 'cancelled') then\n"
    "  return cjson.encode({r = 'already'})\n"
    "end\n"
    "if a.duress ~= '1' then\n"
    "  redis.call('HSET', ak, 'state', 'cancelled', 'cancelled_at', a.now)\n"
    "  signed_cancel(ak)\n"
    "  stop_timers(ak, a.aid)\n"
    "  closed(a.aid, s[3])\n"
    "  retire(a.aid, a.dev)\n"
    "  fanout(a.aid, 'alert.cancelled', '')\n"
    "  local e = cancelled_event()\n"
    "  ev(a.aid, a.dev, e)\n"
    "  return cjson.encode({r = 'cancelled', receipt = e})\n"
    "end\n"
    "redis.call('HSET', ak, 'duress_at', a.now, 'duress_ms', a.now_ms,"
    "  'state', 'open', 'tier', a.tier)\n"
    "signed_cancel(ak)\n"
    /* open again: its retention periods no longer run */
    "unretire(a.aid, a.dev)\n"
    "stop_timers(ak, a.aid)\n"
    "redis.call('ZADD', K('open', s[6] == '1' and 'drill' or s[3]),"
    "  s[5] or 0, a.aid)\n"
    "for _, d in ipairs(a.deliveries) do\n"
    "  deliver(a.aid, d[1], d[2], 'alert.duress', a.tier)\n"
    "end\n"
    "redis.call('HINCRBY', ak, 'ndeliveries', #a.deliveries)\n"
    "if a.next then\n"
    "  redis.call('ZADD', K('timers'), a.next[2], a.next[1])\n"
    "  redis.call('HSET', ak, 'timer', a.next[1])\n"
    "end\n"
    /* last, as in a real cancel: the receipt the device gets */
    "local r, e = 'cancelled', nil\n"
    "if s[1] == 'cancelled' then r = 'already' else\n"
    "  e = cancelled_event()\n"
    "  ev(a.aid, a.dev, e)\n"
    "end\n"
    "redis.call('HSET', ak, 'duress', '1')\n"
    "ev(a.aid, a.dev, {event = 'duress', at = a.now,"
    "  notifications = #a.deliveries})\n"
    "return cjson.encode({r = r, duress = true, receipt = e,"
    "  notifications = #a.deliveries})\n";
/* A later position of an open alert (location.h), by its own device:
 * at most one per a.min_ms, at most a.max in all (0: no bound), the
 * newest a.keep kept.  Everything lives in the alert's hash under
 * "ct:@" (the sealed boxes by sequence number and recipient, and each
 * update's created_at with its recipients), so the content sweep and
 * the alert's expiry take them with its other ciphertexts.  Sent as
 * alert.location to each recipient the alert has reached by webhook;
 * the delivery's tier is the sequence number. */
const char script_location[] = PRELUDE
    "local ak = K('alert', a.aid)\n"
    "local f = redis.call('HMGET', ak, 'device_id', 'state', 'alert_type',"
    "  'drill', 'loc_n', 'loc_ms')\n"
    "if not f[1] or f[1] ~= a.dev then return cjson.encode({r = 'unknown'})"
    " end\n"
    "if f[2] ~= 'open' then return cjson.encode({r = 'closed', state = f[2]})"
    " end\n"
    "if f[3] ~= a.type or (f[4] or '0') ~= a.drill then\n"
    "  return cjson.encode({r = 'mismatch'})\n"
    "end\n"
    "local last = tonumber(f[6] or '0')\n"
    "if a.now_ms - last < a.min_ms then\n"
    "  return cjson.encode({r = 'rate', retry_after_ms = a.min_ms -"
    "    (a.now_ms - last)})\n"
    "end\n"
    "local n = tonumber(f[5] or '0')\n"
    "if a.max > 0 and n >= a.max then\n"
    "  return cjson.encode({r = 'limit', max = a.max})\n"
    "end\n"
    "local seq = redis.call('HINCRBY', ak, 'loc_n', 1)\n"
    "redis.call('HSET', ak, 'loc_ms', string.format('%d', a.now_ms))\n"
    "local rids, sent = {}, 0\n"
    "for _, m in ipairs(redis.call('SMEMBERS', K('notified', a.aid))) do\n"
    "  local s = string.find(m, '|', 1, true)\n"
    "  local rid = string.sub(m, 1, s - 1)\n"
    "  if string.sub(m, s + 1) == 'webhook' and a.cts[rid] then\n"
    "    redis.call('HSET', ak, 'ct:@' .. seq .. ':' .. rid, a.cts[rid])\n"
    "    table.insert(rids, rid)\n"
    "    deliver(a.aid, rid, 'webhook', 'alert.location', tostring(seq))\n"
    "    sent = sent + 1\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', ak, 'ct:@' .. seq, a.created .. '|' .."
    "  table.concat(rids, ','))\n"
    "local old = seq - a.keep\n"
    "if old > 0 then\n"
    "  local o = redis.call('HGET', ak, 'ct:@' .. old)\n"
    "  if o then\n"
    "    local del = {'ct:@' .. old}\n"
    "    local b = string.find(o, '|', 1, true)\n"
    "    for rid in string.gmatch(string.sub(o, b + 1), '[^,]+') do\n"
    "      table.insert(del, 'ct:@' .. old .. ':' .. rid)\n"
    "    end\n"
    "    redis.call('HDEL', ak, unpack(del))\n"
    "  end\n"
    "end\n"
    "return cjson.encode({r = 'ok', seq = seq, sent = sent})\n";
