/*
 * The highest directory version seen, kept in Redis.
 */
#include <stdlib.h>

#include <jansson.h>

#include "directory.h"
#include "directory_version.h"
#include "log.h"
#include "relay.h"
#include "store.h"
#include "store_scripts.h"
#include "xmalloc.h"

struct version_check {
	struct relay *relay;
	long long version;
	int at_start;
};

static void
directory_version_cb(json_t *reply, const char *err, void *arg)
{
	struct version_check *vc = arg;
	json_int_t highest;

	if (reply == NULL) {
		/* Redis went away; the next ready records it. */
		log_debug("directory version not recorded: %s", err);
		free(vc);
		return;
	}
	highest = json_integer_value(json_object_get(reply, "highest"));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		log_warnx("directory version %lld is older than version %lld "
		          "that relays of this organisation already ran with "
		          "(a rollback?)%s",
		    vc->version, (long long)highest,
		    vc->at_start ? ": refusing to run; install the current "
		                   "signed directory"
		                 : "");
		if (vc->at_start)
			relay_fail(vc->relay);
	}
	free(vc);
}

void
directory_version_record(struct relay *relay, int at_start)
{
	struct version_check *vc;

	if (relay->cfg->dir == NULL || !store_ready(relay->store))
		return;
	vc = xcalloc(1, sizeof(*vc));
	vc->relay = relay;
	vc->version = relay->cfg->dir->version;
	vc->at_start = at_start;
	store_eval(relay->store, script_directory,
	    json_pack("{s:I}", "version", (json_int_t)vc->version),
	    directory_version_cb, vc);
}

int
directory_version_behind(const struct relay *relay, long long highest)
{
	const struct directory *d = relay->cfg->dir;

	return d != NULL && highest > d->version;
}
