/*
 * The Lua scripts of an alert's life (store_scripts.h): accepted,
 * escalated by its timers, acknowledged, cancelled (duress or real),
 * its later positions, and what its device and the relay read of it.
 * The scripts of its notifications are in store_delivery_scripts.c.
 */
#include "store.h"
#include "store_scripts.h"
#include "store_scripts_int.h"

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
	"end\n" SHOWN_CANCEL

/* A cancel, with either PIN, of a duress alarm its device still sees as
 * the own PIN would have left it (field "shown", set by script_duress's
 * a.quiet: a check-in's done too late under duress).  After the own PIN
 * that cancel ends the alarm; here the device gets the same receipt and
 * from then on sees it cancelled, while the alarm goes on for the
 * recipients, as after a duress cancel: once duress, no device ends it.
 * Its operator's record: a line of P:duress_events:A, "duress_alarm" in
 * the log and audit, and alert.duress when the duress PIN gave it. */
#define SHOWN_CANCEL                                                           \
	"local function shown_cancel(ak)\n"                                    \
	"  redis.call('HSET', ak, 'shown', 'cancelled')\n"                     \
	"  redis.call('ZREM', K('timers'), a.aid .. '|sx')\n"                  \
	"  shown_closed(ak, a.aid, a.dev, string.format('%d', clock_ms()))\n"  \
	"  local e = cancelled_event()\n"                                      \
	"  if redis.call('HGET', ak, 'drill') == '1' then e.drill = true "     \
	"end\n"                                                                \
	"  to_device(a.aid, a.dev, e)\n"                                       \
	"  redis.call('RPUSH', K('duress_events', a.aid), cjson.encode("       \
	"    {event = 'device_cancel', at = a.now, duress = a.duress == "      \
	"'1'}))\n"                                                             \
	"  return cjson.encode({r = 'duress_alarm', receipt = e,"              \
	"    duress = a.duress == '1' or nil, notifications = 0})\n"           \
	"end\n"

/* Accept an alert with its first notifications and timers, or recognise
 * a resend.  From the local spool (spool.c), a.done were delivered from
 * there and a.queued ([rid, channel, alias]) are kept by an SMS gateway:
 * neither is sent again; each of a.queued is given up as script_fail
 * gives up an SMS queued with Redis up (dead letter, not reached, the
 * next tier at once), as of the alert's arrival. */
const char script_ingest[] = PRELUDE GIVE_UP
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
    /* a check-in ended under duress (ingest_alert_as): after a real
     * done the device has no alert to list or ask about, so after this
     * one neither (script_status, script_list) */
    "if a.duress then\n"
    "  redis.call('HSET', ak, 'duress', '1', 'duress_at', a.received,"
    "    'duress_ms', a.received_ms, 'checkin_duress', '1')\n"
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
    "for _, q in ipairs(a.queued or {}) do done[q[1] .. '|' .. q[2]] = true"
    " end\n"
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
    "local s = redis.call('HMGET', ak, 'state', 'timer', 'device_id',"
    "  'duress')\n"
    "for _, q in ipairs(a.queued or {}) do\n"
    "  dead_letter(a.aid, q[1], q[2], a.event or 'alert.raised', a.tier,"
    "    a.queued_reason, a.received)\n"
    "  give_up(a.aid, s, {rid = q[1], alias = q[3], ch = q[2],"
    "    reason = a.queued_reason, at = a.received, at_ms = a.received_ms,"
    "    queued = true})\n"
    "end\n"
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
            /* "|sx": an alarm made duress by a check-in request too late: its
             * device sees it expire as the own PIN's would, while it goes on
             * for the recipients, as duress alarms do (ev()); never closed */
            "if a.shown_expire then\n"
            "  if redis.call('HGET', ak, 'shown') ~= 'open' then\n"
            "    return cjson.encode({r = 'closed'})\n"
            "  end\n"
            "  ev(a.aid, s[2], {event = 'expired', at = a.now})\n"
            "  return cjson.encode({r = 'shown_expired'})\n"
            "end\n"
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

/* What a timer needs to plan the next tier; a device's cancel v2 reads
 * it too (duress.c, a.dev and a.duress, its PIN's flag given).  To the
 * device an alert of another device, or a duress alarm it saw close
 * longer ago than the history period (unseen), does not exist, here as
 * in script_duress: so its cancel is answered "unknown" after this one
 * round trip, as the own PIN's expired alarm is, not after a second.
 * That duress alarm is kept for the recipients: the cancel, with either
 * PIN, is told to them (P:duress_events:A) and the answer says so to
 * the relay's log (seen), never to the device. */
const char script_brief[] = PRELUDE
    "local f = redis.call('HMGET', K('alert', a.aid), 'state', 'policy',"
    "  'alert_type', 'received_ms', 'recipients', 'drill', 'duress_ms',"
    "  'device_id', 'duress', 'shown_ms')\n"
    "if not f[1] or (a.dev and f[8] ~= a.dev) then\n"
    "  return cjson.encode({exists = false})\n"
    "end\n"
    "if a.dev and unseen(f[9], f[10]) then\n"
    "  redis.call('RPUSH', K('duress_events', a.aid), cjson.encode("
    "    {event = 'device_cancel', at = a.now, duress = a.duress == '1',"
    "    unseen = true}))\n"
    "  keep(a.aid)\n"
    "  return cjson.encode({exists = false, unseen = true})\n"
    "end\n"
    "return cjson.encode({exists = true, state = f[1], policy = f[2],"
    "  alert_type = f[3], received_ms = f[4], recipients = f[5],"
    "  drill = f[6] == '1', duress_ms = f[7] or nil})\n";

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
    "local once = 'again:' .. a.rid .. '|' .. a.ch .. '|' .."
    "  (a.st and a.st.kind or '')\n"
    "if not a.st then attested = 'relay' end\n"
    "if s[1] == 'acknowledged' then\n"
    /* once per recipient, channel and statement kind (a later
     * on_the_way, closed): a leaked token repeating it must not grow
     * the events, receipts or audit log.  The first repeat is noted
     * (audited: the retry after a 503 says the replicas have it), the
     * rest only counted.  After a first taken by a relay of before, its
     * taker's first repeat is recorded once */
    "  local was = redis.call('HGET', ak, once)\n"
    "  if was then\n"
    "    local noted = string.sub(was, 1, 1) ~= '+'\n"
    "    if noted then redis.call('HSET', ak, once, '+' .. was) end\n"
    "    redis.call('HINCRBY', ak, 'ack_repeats', 1)\n"
    "    return cjson.encode({r = 'again', repeated = true, noted = noted,"
    "      aid = aid, by = s[3], drill = s[7] == '1', rid = a.rid})\n"
    "  end\n"
    "  redis.call('HSET', ak, once, a.now)\n"
    "  ev(aid, s[2], {event = 'acknowledged', by = a.alias, channel = a.ch,"
    "    at = a.now, first = false, statement = a.st,"
    "    attested = attested})\n"
    "  return cjson.encode({r = 'again', aid = aid, by = s[3],"
    "    drill = s[7] == '1', rid = a.rid})\n"
    "end\n"
    "redis.call('HSET', ak, 'state', 'acknowledged', 'acked_by', a.alias,"
    "  'acked_rid', a.rid, 'acked_at', a.now, 'acked_channel', a.ch, once,"
    "  a.now)\n"
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
    "  'duress', 'shown', 'shown_ms')\n"
    /* as gone as the own PIN's closed alarm (unseen) */
    "if not s[1] or s[2] ~= a.dev or unseen(s[4], s[6]) then\n"
    "  return cjson.encode({r = 'unknown'})\n"
    "end\n"
    "if s[5] and s[5] ~= 'cancelled' then return shown_cancel(ak) end\n"
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
    "  'duress_at', 'cancelled_at', 'checkin_duress', 'shown', 'shown_ms')\n"
    /* a duress alarm its device saw closed longer ago than the history
     * period: gone, as the own PIN's closed one would be (unseen) */
    "if not f[1] or f[1] ~= a.dev or f[11] == '1' or unseen(f[8], f[13])"
    "  then\n"
    "  return cjson.encode({r = 'unknown'})\n"
    "end\n"
    /* after a duress cancel the device sees what a real one leaves; after
     * either, who was not reached as it stood at the cancel; after a
     * check-in's done too late under duress, what the own PIN leaves */
    "if f[8] ~= '1' then f[9] = f[10] end\n"
    "f[2] = seen_state(f[2], f[8], f[12])\n"
    /* the newest STATUS_EVENTS only: a list grown by relays of before
     * (or a flood) costs Redis no more, and the answer fits a frame */
    "local ek, evs = K('events', a.aid), {}\n"
    "for i, j in ipairs(redis.call('LRANGE', ek, -" STATUS_EVENTS ", -1))"
    "    do\n"
    "  evs[i] = cjson.decode(j)\n"
    "end\n"
    "local out = {r = 'ok', alert_id = a.aid, state = f[2],"
    "  alert_type = f[3], created_at = f[4], received_at = f[5], ref = f[6],"
    "  events = evs, drill = f[7] == '1'}\n"
    "local left = redis.call('LLEN', ek) - #evs\n"
    "if left > 0 then out.events_omitted = left end\n"
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
    /* retried no more once cancelled, in the device's eyes too */
    "    if f[9] and f[2] == 'cancelled' then u.retrying = false end\n"
    "    if not f[9] or (u.since or '') <= f[9] then\n"
    "      table.insert(out.unreached, u)\n"
    "    end\n"
    "  end\n"
    "  if #out.unreached == 0 then out.unreached = nil end\n"
    "end\n"
    "return cjson.encode(out)\n";

/* A device's most recent alerts (a.limit of them, as many as there
 * would be had it no alert of a check-in ended under duress). */
const char script_list[] =
    PRELUDE "local out = {}\n"
            "local n = tonumber(a.limit)\n"
            "local ids = redis.call('ZREVRANGE', K('device', a.dev), 0,"
            "  n + 15)\n"
            "for _, id in ipairs(ids) do\n"
            "  if #out >= n then break end\n"
            "  local f = redis.call('HMGET', K('alert', id), 'alert_type',"
            "    'created_at', 'state', 'ref', 'drill', 'duress',"
            "    'checkin_duress', 'shown', 'shown_ms')\n"
            /* as script_status shows it */
            "  f[3] = seen_state(f[3], f[6], f[8])\n"
            /* a check-in ended under duress: not this device's to see */
            "  if f[7] ~= '1' then\n"
            /* seen closed longer ago than the history period: listed as
             * the own PIN's closed alarm whose hash has expired */
            "    if unseen(f[6], f[9]) then f = {} end\n"
            "    out[#out + 1] = {alert_id = id, alert_type = f[1],"
            "      created_at = f[2], state = f[3], ref = f[4],"
            "      drill = f[5] == '1'}\n"
            "  end\n"
            "end\n"
            "return cjson.encode({r = 'ok', alerts = out})\n";

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
 * P:duress_events:A, not to the device: ev()), sends alert.duress to
 * a.deliveries (every tier) at once and goes on escalating.  a.quiet:
 * the same duress without a cancel (a check-in's done or extend too
 * late, checkin_duress.c): no receipt, the answer "marked"; its device
 * is then told what the own PIN's alarm would tell and does not betray
 * the duress (ev(): acknowledged, expired). */
const char script_duress[] = PRELUDE SIGNED_CANCEL
    "local ak = K('alert', a.aid)\n"
    "local s = redis.call('HMGET', ak, 'state', 'device_id', 'alert_type',"
    "  'duress', 'received_ms', 'drill', 'shown', 'shown_ms', 'closed_ms')\n"
    "if not s[1] or s[2] ~= a.dev or unseen(s[4], s[8]) then\n"
    "  return cjson.encode({r = 'unknown'})\n"
    "end\n"
    "if s[7] and s[7] ~= 'cancelled' and not a.quiet then\n"
    "  return shown_cancel(ak)\n"
    "end\n"
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
    /* the device sees it closed from its real close (a late request on
     * a closed alarm, a duress cancel of a cancelled one) or from now (a
     * duress cancel): its list and status keep it no longer than the own
     * PIN's closed alarm (unseen, retire) */
    "if s[1] ~= 'open' or not a.quiet then\n"
    "  local ms = string.format('%d', clock_ms())\n"
    "  if s[9] and (a.quiet or s[1] == 'cancelled') then ms = s[9] end\n"
    "  shown_closed(ak, a.aid, a.dev, ms)\n"
    "end\n"
    /* a.quiet: the own PIN's alarm would expire at max_age; then its
     * device sees this one expire (script_fire), the alarm goes on.  A
     * member of its own, "|sx": a relay of before it, firing "|x",
     * would close the duress alarm; it drops "|sx" as malformed */
    "local xs = a.quiet and s[1] == 'open' and"
    "  redis.call('ZSCORE', K('timers'), a.aid .. '|x')\n"
    "stop_timers(ak, a.aid)\n"
    "if xs then redis.call('ZADD', K('timers'), xs, a.aid .. '|sx') end\n"
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
    /* a check-in too late under duress (checkin_duress.c): the device
     * was told what the own PIN hears, with no cancel to show */
    "if a.quiet then\n"
    "  r = 'marked'\n"
    /* the device goes on seeing what the own PIN leaves: the alarm as
     * it was (script_status, script_list), its cancel one that looks
     * real (shown_cancel) */
    "  redis.call('HSET', ak, 'shown', s[1])\n"
    "elseif s[1] == 'cancelled' then r = 'already' else\n"
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
    "  'drill', 'loc_n', 'loc_ms', 'shown', 'duress', 'shown_ms')\n"
    "if not f[1] or f[1] ~= a.dev or unseen(f[8], f[9]) then\n"
    "  return cjson.encode({r = 'unknown'})\n"
    "end\n"
    /* the state the device sees (seen_state): after a duress cancel
     * cancelled, after a late duress request the own PIN's, whatever the
     * duress alarm's own is */
    "local seen = seen_state(f[2], f[8], f[7])\n"
    "if seen ~= 'open' then return cjson.encode({r = 'closed', state = seen})"
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
