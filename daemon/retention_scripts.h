/*
 * The Lua scripts of the data's life cycle (retention.h, audit.h,
 * admin_forget.h), beside the alert's own (store_scripts.h, which lists
 * the alert's keys).  Keys of their own, with P the prefix:
 *
 *   P:retire:content  sorted set of closed alerts by close time (ms):
 *                     their ciphertexts go at [retention] alert_content
 *   P:retire:index    sorted set "A|D" by close time: the alert leaves
 *                     device D's list at [retention] device_index
 *   P:retire:stream   sorted set of closed alerts' ids in P:alerts by
 *                     close time: deleted at [retention] alert_history
 *   P:audit:I         stream of relay instance I's audit records
 *                     (field "r": the record's line)
 *   P:audit:last:I    the line of I's last audit record
 *   P:audit:head:I    the line of I's last signed head (audit.signed)
 *   P:audit_instances set of every instance I whose sweep ran, so that
 *                     the sweep trims the streams of instances no longer
 *                     running too
 */
#ifndef ALERTRELAY_RETENTION_SCRIPTS_H
#define ALERTRELAY_RETENTION_SCRIPTS_H

/* Lua functions for store_scripts.c's prelude: keep(aid) gives the keys
 * of a closed alert written to after its close the time its hash has
 * left; retire(aid, dev) starts the periods of a closed alert (a.rt:
 * the periods in seconds, added by store_eval()); unretire(aid, dev)
 * stops them again for a closed alert that a duress cancel reopens
 * (duress.h): an open alert is never purged.  Its SMS reference lives
 * again too (relive_ref): kept, set anew when it had expired, or, when
 * another alert holds it by now, the first free one of a.refs (then
 * the device's status shows the new one: rather that than an alarm
 * nobody can take by SMS).  alert_keys(aid): the
 * keys of one alert that live and go with its hash, P:duress_events:A
 * included.  P:report:A (SMS delivery reports awaited) has a TTL of its
 * own; retire() never lets it outlive the alert's history.  A duress
 * alarm its device saw close earlier (field shown_ms, store_scripts_int.h)
 * keeps that time for its device's list: the own PIN's left it then.
 * Times are
 * Redis's
 * own (TIME), like the streams' ids that the sweep trims. */
#define RETIRE_PRELUDE                                                         \
	"local function clock_ms()\n"                                          \
	"  local t = redis.call('TIME')\n"                                     \
	"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"end\n"                                                                \
	"local function alert_keys(aid)\n"                                     \
	"  return {K('alert', aid), K('events', aid), K('notified', aid),"     \
	"    K('unreached', aid), K('duress_events', aid)}\n"                  \
	"end\n"                                                                \
	"local function keep(aid)\n"                                           \
	"  local t = redis.call('PTTL', K('alert', aid))\n"                    \
	"  if t > 0 then\n"                                                    \
	"    redis.call('PEXPIRE', K('events', aid), t)\n"                     \
	"    redis.call('PEXPIRE', K('notified', aid), t)\n"                   \
	"    redis.call('PEXPIRE', K('unreached', aid), t)\n"                  \
	"    redis.call('PEXPIRE', K('duress_events', aid), t)\n"              \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function retire(aid, dev)\n"                                    \
	"  local r = a.rt\n"                                                   \
	"  if not r then return end\n"                                         \
	"  local ak = K('alert', aid)\n"                                       \
	"  local now = clock_ms()\n"                                           \
	"  redis.call('HSET', ak, 'closed_ms', string.format('%d', now))\n"    \
	"  for _, k in ipairs(alert_keys(aid)) do\n"                           \
	"    redis.call('EXPIRE', k, r.history)\n"                             \
	"  end\n"                                                              \
	"  if redis.call('TTL', K('report', aid)) > r.history then\n"          \
	"    redis.call('EXPIRE', K('report', aid), r.history)\n"              \
	"  end\n"                                                              \
	"  local ref = redis.call('HGET', ak, 'ref')\n"                        \
	"  if ref and redis.call('GET', K('ref', ref)) == aid then\n"          \
	"    redis.call('EXPIRE', K('ref', ref), r.sms_refs)\n"                \
	"  end\n"                                                              \
	"  redis.call('ZADD', K('retire', 'content'), now, aid)\n"             \
	"  local sid = redis.call('HGET', ak, 'relay_id')\n"                   \
	"  if sid then redis.call('ZADD', K('retire', 'stream'), now, sid) "   \
	"end\n"                                                                \
	"  local seen = redis.call('HGET', ak, 'shown_ms')\n"                  \
	"  redis.call('ZADD', K('retire', 'index'), seen or now,"              \
	"    aid .. '|' .. (dev or ''))\n"                                     \
	"end\n"                                                                \
	"local function relive_ref(ak, aid)\n"                                 \
	"  local ref = redis.call('HGET', ak, 'ref')\n"                        \
	"  if not ref then return end\n"                                       \
	"  if redis.call('GET', K('ref', ref)) == aid then\n"                  \
	"    redis.call('PERSIST', K('ref', ref))\n"                           \
	"    return\n"                                                         \
	"  end\n"                                                              \
	"  if redis.call('SET', K('ref', ref), aid, 'NX') then return end\n"   \
	"  for _, c in ipairs(a.refs or {}) do\n"                              \
	"    if redis.call('SET', K('ref', c), aid, 'NX') then\n"              \
	"      redis.call('HSET', ak, 'ref', c)\n"                             \
	"      return\n"                                                       \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function unretire(aid, dev)\n"                                  \
	"  local ak = K('alert', aid)\n"                                       \
	"  relive_ref(ak, aid)\n"                                              \
	"  if not redis.call('HGET', ak, 'closed_ms') then return end\n"       \
	"  for _, k in ipairs(alert_keys(aid)) do\n"                           \
	"    redis.call('PERSIST', k)\n"                                       \
	"  end\n"                                                              \
	"  redis.call('ZREM', K('retire', 'content'), aid)\n"                  \
	"  local sid = redis.call('HGET', ak, 'relay_id')\n"                   \
	"  if sid then redis.call('ZREM', K('retire', 'stream'), sid) end\n"   \
	"  redis.call('ZREM', K('retire', 'index'), aid .. '|' .. (dev or "    \
	"''))\n"                                                               \
	"  redis.call('HDEL', ak, 'closed_ms')\n"                              \
	"end\n"

extern const char script_retention_sweep[];
extern const char script_forget[];
extern const char script_audit_load[];
extern const char script_audit_append[];
extern const char script_audit_read[];

#endif
