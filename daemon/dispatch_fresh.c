/*
 * Alerts just accepted here, for the first attempt of their first-tier
 * notifications (dispatch_fresh.h says why).  Entries are kept in the
 * order they came, so the oldest go first, and indexed by alert id.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "dispatch_fresh.h"
#include "store.h"
#include "strindex.h"
#include "util.h"
#include "xmalloc.h"

#define FRESH_BUCKETS 1024
#define FRESH_PARKED_MAX 256 /* recipients x channels of one tier */

struct fresh_parked {
	char stream_id[STORE_ID_MAX];
	char recipient_id[ID_MAX + 1];
};

struct fresh {
	TAILQ_ENTRY(fresh) entry;
	struct strlink by_id;
	char alert_id[ID_MAX + 1];
	int64_t born_ms;
	json_t *base; /* NULL while the answer is awaited */
	json_t *cts;
	struct fresh_parked *parked; /* read before the answer */
	size_t nparked;
};

struct fresh_alerts {
	TAILQ_HEAD(, fresh) entries;
	struct strindex *by_id;
	size_t n;
	fresh_release_cb release;
	void *arg;
};

struct fresh_alerts *
fresh_new(fresh_release_cb release, void *arg)
{
	struct fresh_alerts *f = xcalloc(1, sizeof(*f));

	TAILQ_INIT(&f->entries);
	f->by_id = strindex_new(FRESH_BUCKETS);
	f->release = release;
	f->arg = arg;
	return f;
}

static struct fresh *
fresh_find(struct fresh_alerts *f, const char *alert_id)
{
	struct strlink *l = strindex_first(f->by_id, alert_id);

	return l != NULL ? l->owner : NULL;
}

static json_t *
fresh_meta(const struct fresh *e, const char *recipient_id)
{
	json_t *m = json_copy(e->base), *ct;

	if (m == NULL)
		return NULL;
	if ((ct = json_object_get(e->cts, recipient_id)) != NULL)
		json_object_set(m, "ciphertext", ct);
	return m;
}

/* Removes e; what was parked on it goes on, with the alert if known. */
static void
fresh_drop(struct fresh_alerts *f, struct fresh *e, int with_meta)
{
	size_t i;

	TAILQ_REMOVE(&f->entries, e, entry);
	strindex_remove(f->by_id, &e->by_id);
	f->n--;
	for (i = 0; i < e->nparked; i++)
		f->release(e->parked[i].stream_id,
		    with_meta && e->base != NULL
		        ? fresh_meta(e, e->parked[i].recipient_id)
		        : NULL,
		    f->arg);
	json_decref(e->base);
	json_decref(e->cts);
	free(e->parked);
	free(e);
}

void
fresh_expire(struct fresh_alerts *f, int64_t now_ms)
{
	struct fresh *e;

	while ((e = TAILQ_FIRST(&f->entries)) != NULL &&
	    now_ms - e->born_ms >= FRESH_TTL_MS)
		fresh_drop(f, e, 0);
}

void
fresh_expect(struct fresh_alerts *f, const char *alert_id)
{
	struct fresh *e;

	fresh_expire(f, monotonic_ms());
	/* A second ingest of one id at once (a resend): the first owns it. */
	if (f->n >= FRESH_MAX || fresh_find(f, alert_id) != NULL)
		return;
	e = xcalloc(1, sizeof(*e));
	snprintf(e->alert_id, sizeof(e->alert_id), "%s", alert_id);
	e->born_ms = monotonic_ms();
	e->by_id.key = e->alert_id;
	e->by_id.owner = e;
	strindex_add(f->by_id, &e->by_id);
	TAILQ_INSERT_TAIL(&f->entries, e, entry);
	f->n++;
}

void
fresh_ready(struct fresh_alerts *f, const char *alert_id, json_t *base,
    json_t *cts)
{
	struct fresh *e = fresh_find(f, alert_id);
	struct fresh_parked *p;
	size_t i, n;

	if (e == NULL || e->base != NULL)
		return; /* not kept, or already answered (a resend's "dup") */
	if (base == NULL || cts == NULL) {
		fresh_drop(f, e, 0);
		return;
	}
	e->base = json_incref(base);
	e->cts = json_incref(cts);
	/* The entry stays for the deliveries not read yet. */
	p = e->parked;
	n = e->nparked;
	e->parked = NULL;
	e->nparked = 0;
	for (i = 0; i < n; i++)
		f->release(p[i].stream_id, fresh_meta(e, p[i].recipient_id),
		    f->arg);
	free(p);
}

enum fresh_state
fresh_lookup(struct fresh_alerts *f, const char *alert_id,
    const char *recipient_id, json_t **meta)
{
	struct fresh *e = fresh_find(f, alert_id);

	*meta = NULL;
	if (e == NULL || monotonic_ms() - e->born_ms >= FRESH_TTL_MS)
		return FRESH_NONE;
	if (e->base == NULL)
		return e->nparked < FRESH_PARKED_MAX ? FRESH_PENDING
		                                     : FRESH_NONE;
	if ((*meta = fresh_meta(e, recipient_id)) == NULL)
		return FRESH_NONE;
	return FRESH_READY;
}

void
fresh_park(struct fresh_alerts *f, const char *alert_id, const char *stream_id,
    const char *recipient_id)
{
	struct fresh *e = fresh_find(f, alert_id);
	struct fresh_parked *p;

	if (e == NULL || e->base != NULL || e->nparked >= FRESH_PARKED_MAX) {
		f->release(stream_id, NULL, f->arg); /* cannot happen */
		return;
	}
	e->parked =
	    xreallocarray(e->parked, e->nparked + 1, sizeof(*e->parked));
	p = &e->parked[e->nparked++];
	snprintf(p->stream_id, sizeof(p->stream_id), "%s", stream_id);
	snprintf(p->recipient_id, sizeof(p->recipient_id), "%s", recipient_id);
}

void
fresh_forget(struct fresh_alerts *f, const char *alert_id)
{
	struct fresh *e = fresh_find(f, alert_id);

	if (e != NULL)
		fresh_drop(f, e, 0);
}

void
fresh_free(struct fresh_alerts *f)
{
	struct fresh *e;

	if (f == NULL)
		return;
	/* nothing is released: the dispatcher is going away */
	while ((e = TAILQ_FIRST(&f->entries)) != NULL) {
		e->nparked = 0;
		fresh_drop(f, e, 0);
	}
	strindex_free(f->by_id);
	free(f);
}
