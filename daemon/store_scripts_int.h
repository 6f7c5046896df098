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

#endif
