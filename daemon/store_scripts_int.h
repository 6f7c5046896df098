/*
 * The Lua that the alert scripts share (store_scripts.c,
 * store_delivery_scripts.c): PRELUDE opens every one of them, with the
 * argument, key names, events, deliveries and reached(); GIVE_UP is
 * added by the scripts that give a notification up.
 */
#ifndef ALERTRELAY_STORE_SCRIPTS_INT_H
#define ALERTRELAY_STORE_SCRIPTS_INT_H

#include "retention_scripts.h"

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

/* The newest events a device's status shows (script_status): 200 of
 * about 150 bytes fit the default max_frame (64 KiB); conn_request.c
 * drops the oldest of them when a smaller max_frame or long signed
 * statements would not fit. */
#define STATUS_EVENTS "200"

/* The events of an alert keep the newest EVENTS_MAX.  An honest alert
 * stays far below: each notification (recipients x channels x tiers and
 * repeats within max_age: 20 x 2 x 12 = 480 for a large one) adds one
 * delivered or failed event, each tier one escalated, each recipient
 * and channel one acknowledged (script_ack), and a few more (accepted,
 * cancelled, duress, expired); one that outgrows it (a repeat of
 * seconds over a max_age of days) keeps its newest, as status shows
 * them.  A flood (a leaked token acknowledging again through a relay of
 * before, which records each repeat) cannot grow it past the bound with
 * this relay's scripts writing too; status reads the newest
 * STATUS_EVENTS whatever the length.  A duress alarm's own events
 * (P:duress_events:A, the operator's record of an alarm repeated for
 * days) are not capped: a repeated acknowledgement adds none there. */
#define EVENTS_MAX "2000"
#define CAPPED                                                                 \
	"local function capped(k, e)\n"                                        \
	"  if redis.call('RPUSH', k, cjson.encode(e)) > " EVENTS_MAX " then\n" \
	"    redis.call('LTRIM', k, -" EVENTS_MAX ", -1)\n"                    \
	"  end\n"                                                              \
	"end\n"

/* Shared by every script: argument, key names, events and deliveries.
 * ev(): an event of an alert for its device.  After a cancel (duress
 * ones look real) and on a duress alarm, to P:duress_events:A instead,
 * so that the device sees nothing the own PIN would not show: except,
 * on an alarm made duress by a check-in request too late (field shown,
 * not cancelled by the device), the events the own PIN's alarm would
 * bring too and that do not tell the duress: an acknowledgement (as a
 * repeat of one if the device already saw it acknowledged) and the
 * expiry at max_age (script_fire), which move shown with them.  Its
 * escalations, deliveries and failures stay hidden: a duress alarm
 * reaches every tier at once, and shown as they come they would say so
 * (docs/SECURITY.md, "Duress").  shown_closed(): the device saw such an
 * alarm (or a duress-cancelled one) close at ms, field shown_ms: from
 * then its list entry goes as the own PIN's closed alarm's would
 * (P:retire:index); unseen(): that was longer ago than the history
 * period, when the own PIN's alarm would be gone from Redis: the device
 * is answered as for an unknown alert and hears nothing more of it,
 * while the alarm itself is kept, open, for the recipients. */
#define PRELUDE                                                                \
	"local a = cjson.decode(ARGV[1])\n"                                    \
	"local P = a.p\n"                                                      \
	"local function K(...) return table.concat({P, ...}, ':') "            \
	"end\n" RETIRE_PRELUDE CAPPED                                          \
	"local function to_device(aid, dev, e)\n"                              \
	"  capped(K('events', aid), e)\n"                                      \
	"  redis.call('PUBLISH', K('receipts'), cjson.encode({device_id = "    \
	"dev,"                                                                 \
	"    alert_id = aid, receipt = e}))\n"                                 \
	"  keep(aid)\n"                                                        \
	"end\n"                                                                \
	"local function seen_state(state, duress, shown)\n"                    \
	"  if duress == '1' then return shown or 'cancelled' end\n"            \
	"  return state\n"                                                     \
	"end\n"                                                                \
	"local function shown_closed(ak, aid, dev, ms)\n"                      \
	"  redis.call('HSET', ak, 'shown_ms', ms)\n"                           \
	"  if a.rt then\n"                                                     \
	"    redis.call('ZADD', K('retire', 'index'), ms, aid .. '|' .. "      \
	"dev)\n"                                                               \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function unseen(duress, ms)\n"                                  \
	"  return duress == '1' and ms and a.rt and"                           \
	"    clock_ms() - tonumber(ms) >= a.rt.history * 1000\n"               \
	"end\n"                                                                \
	"local function ev(aid, dev, e)\n"                                     \
	"  local ak = K('alert', aid)\n"                                       \
	"  local f = redis.call('HMGET', ak, 'drill', 'duress', 'state',"      \
	"    'shown', 'shown_ms')\n"                                           \
	"  if f[1] == '1' then e.drill = true end\n"                           \
	"  if f[2] == '1' and f[4] and not unseen(f[2], f[5]) and"             \
	"      ((e.event == 'acknowledged' and f[4] ~= 'cancelled') or"        \
	"      (e.event == 'expired' and f[4] == 'open')) then\n"              \
	"    if f[4] == 'acknowledged' then e.first = false\n"                 \
	"    else shown_closed(ak, aid, dev, string.format('%d', clock_ms()))" \
	"    end\n"                                                            \
	"    redis.call('HSET', ak, 'shown', e.event)\n"                       \
	"    to_device(aid, dev, e)\n"                                         \
	"    return\n"                                                         \
	"  end\n"                                                              \
	"  -- after any cancel (duress ones look real), nothing more\n"        \
	"  if f[2] == '1' or (f[3] == 'cancelled' and e.event ~= 'cancelled')" \
	"  then\n"                                                             \
	"    redis.call('RPUSH', K('duress_events', aid), cjson.encode(e))\n"  \
	"    keep(aid)\n"                                                      \
	"    return\n"                                                         \
	"  end\n"                                                              \
	"  to_device(aid, dev, e)\n"                                           \
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
	"  redis.call('ZREM', K('timers'), aid .. '|x', aid .. '|sx')\n"       \
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

/* Giving a notification up, as script_fail, script_report and
 * script_unreached_all do (and script_ingest for an SMS queued from the
 * local spool): dead_letter() records it; give_up() marks its recipient
 * not reached, no longer retried, with the history's failed event, and
 * brings the next tier forward for an open alert that is not a duress
 * alarm (it reaches every tier already), the first time this recipient
 * and channel are given up only: were it each time, a notification that
 * fails at once (a queued SMS, a message the gateway refuses, a centre
 * failing every SMS) would fire every tier and repeat back to back.
 * s: the alert's state, timer, device_id and duress (HMGET); g: rid,
 * alias, ch, reason, at, at_ms; g.queued: an SMS gateway keeps it (the
 * recipient counts as sent to: a reply to it acknowledges); g.keep: an
 * earlier entry's since is kept, and after a cancel its reason (the
 * device's status keeps what it showed at the cancel, as after a duress
 * cancel; the dead letter says why it ended); g.again: given up before
 * in a way the entry does not show (script_report's smsfailed:). */
#define GIVE_UP                                                                \
	"local function dead_letter(aid, rid, ch, event, tier, reason, at)\n"  \
	"  redis.call('XADD', K('deadletter'), 'MAXLEN', '~', '100000', '*',"  \
	"    'alert_id', aid, 'recipient_id', rid, 'channel', ch, 'event',"    \
	"    event, 'tier', tier, 'reason', reason, 'at', at)\n"               \
	"end\n"                                                                \
	"local function give_up(aid, s, g)\n"                                  \
	"  local m = g.rid .. '|' .. g.ch\n"                                   \
	"  local old = redis.call('HGET', K('unreached', aid), m)\n"           \
	"  local since, reason = g.at, g.reason\n"                             \
	"  if old and g.keep then\n"                                           \
	"    local o = cjson.decode(old)\n"                                    \
	"    since = o.since or g.at\n"                                        \
	"    if s[1] == 'cancelled' then reason = o.reason or reason end\n"    \
	"  end\n"                                                              \
	"  unreached(aid, g.rid, g.ch, {recipient = g.alias, channel = g.ch,"  \
	"    reason = reason, since = since, retrying = false,"                \
	"    queued = g.queued or nil})\n"                                     \
	"  if g.queued then redis.call('SADD', K('notified', aid), m) end\n"   \
	"  ev(aid, s[3], {event = 'failed', recipient = g.alias,"              \
	"    channel = g.ch, reason = g.reason, at = g.at, retrying = "        \
	"false})\n"                                                            \
	"  if not old and not g.again and s[1] == 'open' and s[2] and"         \
	"      s[4] ~= '1' then\n"                                             \
	"    redis.call('ZADD', K('timers'), 'XX', g.at_ms, s[2])\n"           \
	"  end\n"                                                              \
	"end\n"

#endif
