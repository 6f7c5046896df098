/*
 * This relay's P:alive:<instance_id> (alive.h), refreshed by a timer on
 * the loop: a script each time, never waited for.
 */
#include <stdlib.h>

#include <event2/event.h>
#include <jansson.h>

#include "alive.h"
#include "directory.h"
#include "evtimer_ms.h"
#include "log.h"
#include "relay.h"
#include "relay_config.h"
#include "store.h"
#include "xmalloc.h"

struct alive {
	struct relay *relay;
	struct event *timer;
	int stopped;
};

static const char script_alive[] =
    "local a = cjson.decode(ARGV[1])\n"
    "local set = a.p .. ':alive'\n"
    "local k = set .. ':' .. a.id\n"
    "if a.version then\n"
    "  redis.call('SET', k, a.version, 'PX', a.ttl_ms)\n"
    "  redis.call('SADD', set, a.id)\n"
    "  redis.call('PEXPIRE', set, a.ttl_ms)\n"
    "else\n"
    /* stopped, or no signed directory: nothing to take over for */
    "  redis.call('DEL', k)\n"
    "  redis.call('SREM', set, a.id)\n"
    "end\n"
    "return cjson.encode({r = 'ok'})\n";

static void
alive_cb(json_t *reply, const char *err, void *arg)
{
	(void)arg;
	/* the next refresh tries again; the key outlives two misses */
	if (reply == NULL)
		log_debug("alive not refreshed: %s", err);
}

static void
alive_send(struct alive *al, int running)
{
	const struct directory *d = al->relay->cfg->dir;
	json_t *args;

	if (!store_ready(al->relay->store))
		return;
	args = json_pack("{s:s, s:I}", "id", al->relay->cfg->instance_id,
	    "ttl_ms", (json_int_t)ALIVE_TTL_MS);
	if (running && d != NULL)
		json_object_set_new(args, "version",
		    json_integer((json_int_t)d->version));
	store_eval(al->relay->store, script_alive, args, alive_cb, NULL);
}

static void
alive_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	alive_refresh(arg);
}

struct alive *
alive_new(struct relay *relay)
{
	struct alive *al = xcalloc(1, sizeof(*al));

	al->relay = relay;
	al->timer = evtimer_new(relay->base, alive_timer_cb, al);
	return al;
}

void
alive_refresh(struct alive *al)
{
	if (al == NULL || al->stopped)
		return;
	alive_send(al, 1);
	evtimer_del(al->timer);
	evtimer_add_ms(al->timer, ALIVE_REFRESH_MS);
}

void
alive_stop(struct alive *al)
{
	if (al == NULL || al->stopped)
		return;
	al->stopped = 1;
	evtimer_del(al->timer);
	alive_send(al, 0);
}

void
alive_free(struct alive *al)
{
	if (al == NULL)
		return;
	event_free(al->timer);
	free(al);
}
