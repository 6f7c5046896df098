/*
 * The Lua scripts of an alert's notifications (store_scripts.h): what a
 * delivery reads, went through, failed, given up (dead letter, unreached,
 * the next tier at once), SMS delivery reports, the dead letters and the
 * queue's figures.  The scripts of the alert's own life are in
 * store_scripts.c.
 */
#include "alive.h"
#include "store.h"
#include "store_scripts.h"
#include "store_scripts_int.h"

/* What a delivery needs to know about its alert; newer_alive only for
 * a relay behind (a.v below dirv), which then gives back rather than
 * decide while a relay with the newer directory runs (delivery.c). */
const char script_meta[] = PRELUDE NEWER_ALIVE
    "local f = redis.call('HMGET', K('alert', a.aid), 'device_id',"
    "  'alert_type', 'created_at', 'received_at', 'ref', 'state',"
    "  'acked_by', 'acked_at', 'cancelled_at', 'ct:' .. a.rid, 'd:' .. a.sid,"
    "  'tier', 'drill', 'last_seen', 'interval_s', 'duress', 'duress_at',"
    "  'envelope_hash', 'cancel_signed', 'cancel_sig', 'acked_statement',"
    "  'gb:' .. a.sid)\n"
    "if not f[1] then return cjson.encode({exists = false}) end\n"
    /* a later position: its own box and time (script_location) */
    "if a.event == 'alert.location' then\n"
    "  local l = redis.call('HMGET', K('alert', a.aid), 'ct:@' .. a.tier,"
    "    'ct:@' .. a.tier .. ':' .. a.rid)\n"
    "  f[10] = l[2]\n"
    "  if l[1] then f[3] = string.sub(l[1], 1, string.find(l[1], '|', 1,"
    "    true) - 1) end\n"
    "end\n"
    "local dirv = tonumber(redis.call('GET', K('directory_version')) or '')\n"
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
    "  acked_statement = f[21] or nil, dirv = dirv,"
    "  given_back_ms = tonumber(f[22] or ''),"
    "  newer_alive = newer_alive(a.v, dirv)})\n";

/* A notification given back by a relay behind on the signed directory
 * (delivery.c): pending again as if idle a.idle_ms, so that the next
 * claim round of any instance takes it.  When it was first given back
 * is kept on its alert (gb:, read by script_meta) so that every relay
 * and restart bounds the give-backs from the same moment; a.restart (a
 * relay with the newer directory runs) moves it to now: the bound
 * counts only once none runs. */
const char script_give_back[] =
    PRELUDE "redis.call('XCLAIM', K('deliveries'), 'dispatch', a.consumer, 0,"
            "  a.sid, 'IDLE', a.idle_ms, 'JUSTID')\n"
            "local ak = K('alert', a.aid)\n"
            "if redis.call('EXISTS', ak) == 1 then\n"
            "  redis.call(a.restart and 'HSET' or 'HSETNX', ak, 'gb:' .. a.sid,"
            "    a.now_ms)\n"
            "end\n"
            "return cjson.encode({r = 'ok'})\n";

/* A relay that knows the recipient has the notification given back:
 * the bound starts again at the next give-back (a relay with the newer
 * directory runs, retrying a receiver that is down). */
const char script_taken_back[] =
    PRELUDE "redis.call('HDEL', K('alert', a.aid), 'gb:' .. a.sid)\n"
            "return cjson.encode({r = 'ok'})\n";

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
const char script_unreached_all[] = PRELUDE GIVE_UP
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "  'duress')\n"
    "if not s[1] then return cjson.encode({r = 'gone'}) end\n"
    "local n = 0\n"
    "for _, w in ipairs(a.who) do\n"
    "  if redis.call('HEXISTS', K('unreached', a.aid),"
    "      w[1] .. '|' .. a.ch) == 0 then\n"
    "    give_up(a.aid, s, {rid = w[1], alias = w[2], ch = a.ch,"
    "      reason = a.reason, at = a.now, at_ms = a.now_ms})\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return cjson.encode({r = 'ok', n = n})\n";

/* A notification was given up (the alert closed or expired while its
 * recipient was unreached, it cannot be sent at all, or an SMS gateway
 * only queued it): dead letter, the history says so, and for an open
 * alert (not a duress alarm) the next tier at once.  A queued SMS may
 * still reach its phone: its recipient counts as sent to (a reply to
 * it acknowledges, they hear who took it), not as delivered.
 * Acknowledging the entry in the group is the claim: recorded once. */
const char script_fail[] = PRELUDE GIVE_UP
    "local ak = K('alert', a.aid)\n"
    "if redis.call('XACK', K('deliveries'), 'dispatch', a.sid) == 0 then\n"
    "  return cjson.encode({r = 'again'})\n"
    "end\n"
    "redis.call('XDEL', K('deliveries'), a.sid)\n"
    "dead_letter(a.aid, a.rid, a.ch, a.event, a.tier, a.reason, a.now)\n"
    "if (a.event == 'alert.raised' or a.event == 'alert.escalated' or"
    "    a.event == 'alert.duress') and redis.call('EXISTS', ak) == 1 then\n"
    "  local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "    'duress')\n"
    "  give_up(a.aid, s, {rid = a.rid, alias = a.alias, ch = a.ch,"
    "    reason = a.reason, at = a.now, at_ms = a.now_ms, keep = true,"
    "    queued = a.queued})\n"
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
const char script_report[] = PRELUDE GIVE_UP
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
    "dead_letter(a.aid, a.rid, 'sms', w.event or 'alert.raised',"
    "  w.tier or '0', a.reason, a.now)\n"
    /* kept apart from the unreached entry, which a later SMS the gateway
     * takes clears (script_done): the next tier is brought forward for
     * the first failure of this recipient's SMS only, or a centre failing
     * every SMS at once would fire tier after tier */
    "local first = redis.call('HSETNX', ak, 'smsfailed:' .. a.rid,"
    "  a.now_ms)\n"
    "give_up(a.aid, s, {rid = a.rid, alias = a.alias, ch = 'sms',"
    "  reason = a.reason, at = a.now, at_ms = a.now_ms, again = first == 0})\n"
    "return cjson.encode({r = 'failed'})\n";

const char script_drop[] =
    PRELUDE "redis.call('XACK', K('deliveries'), 'dispatch', a.sid)\n"
            "redis.call('XDEL', K('deliveries'), a.sid)\n"
            "return cjson.encode({r = 'ok'})\n";

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
