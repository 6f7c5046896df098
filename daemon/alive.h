/*
 * Which relays of this Redis run, and with which signed directory
 * version.  A relay behind on the directory gives back what it cannot
 * decide on (delivery.c, checkin_timer.c) for as long as a relay with
 * the newer directory runs, however busy (no room in flight) or slow it
 * is; only once none runs (stopped for good, or the newer directory
 * rolled back) does the DIRECTORY_GIVEBACK_MAX_MS bound apply.
 *
 * Keys, with P the prefix and I an instance id:
 *   P:alive:I  the directory version instance I runs with; TTL
 *              ALIVE_TTL_MS, refreshed every ALIVE_REFRESH_MS, deleted
 *              at a clean stop
 *   P:alive    set of the instance ids that may have P:alive:I; ids
 *              whose key expired are taken out by NEWER_ALIVE; TTL
 *              ALIVE_TTL_MS, refreshed with each P:alive:I
 */
#ifndef ALERTRELAY_ALIVE_H
#define ALERTRELAY_ALIVE_H

struct relay;
struct alive;

/* Three refreshes per TTL: a refresh late by a busy loop or a slow
 * Redis reply does not make a running relay look gone. */
#define ALIVE_REFRESH_MS 2000
#define ALIVE_TTL_MS (3 * ALIVE_REFRESH_MS)
/* How many instance ids one script looks at: bounded whatever the set
 * holds (instances are few; more only when ids change often, and those
 * expire). */
#define ALIVE_SCAN_MAX "32"

/* Lua, after a PRELUDE: newer_alive(mine, dirv) is true when dirv (the
 * highest directory version of this Redis) is above mine (this relay's)
 * and some relay runs with dirv or newer.  Ids whose key expired (a
 * relay killed) are taken out of P:alive on the way. */
#define NEWER_ALIVE                                                            \
	"local function newer_alive(mine, dirv)\n"                             \
	"  if not dirv or not mine or dirv <= mine then return false end\n"    \
	"  local set = K('alive')\n"                                           \
	"  for _, id in ipairs(redis.call('SRANDMEMBER', set, "                \
	"      " ALIVE_SCAN_MAX ")) do\n"                                      \
	"    local v = tonumber(redis.call('GET', K('alive', id)) or '')\n"    \
	"    if not v then redis.call('SREM', set, id)\n"                      \
	"    elseif v >= dirv then return true end\n"                          \
	"  end\n"                                                              \
	"  return false\n"                                                     \
	"end\n"

struct alive *alive_new(struct relay *relay);
/* Says so now (Redis reachable, or the directory reloaded) and from
 * then on every ALIVE_REFRESH_MS. */
void alive_refresh(struct alive *al);
/* A clean stop: no longer said; relays behind count their bound from
 * now, not from ALIVE_TTL_MS later. */
void alive_stop(struct alive *al);
void alive_free(struct alive *al);

#endif
