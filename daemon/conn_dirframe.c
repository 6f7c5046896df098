/*
 * The directory answer, encoded once per directory (see conn_dirframe.h).
 * It may be megabytes: encoding it for each request made every device
 * that fetches it cost the relay several copies, while a device on a
 * slow link took its time reading one.  Each output buffer now holds a
 * counted reference to one copy, freed when the last one is done.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conn_dirframe.h"
#include "frame.h"
#include "xmalloc.h"

struct dirframe {
	long long version;
	unsigned char hash[crypto_generichash_BYTES];
	size_t refs; /* the cache's own, and one per buffer holding it */
	size_t len;
	unsigned char data[]; /* length header, then the payload */
};

static struct dirframe *conn_dirframe_cached;

static void
conn_dirframe_unref(const void *data, size_t len, void *arg)
{
	struct dirframe *f = arg;

	(void)data;
	(void)len;
	if (--f->refs == 0)
		free(f);
}

/* The frame's JSON text; NULL if it cannot be encoded. */
static char *
conn_dirframe_encode(const struct directory *d)
{
	json_t *o = json_pack("{s:s, s:I, s:o}", "type", "directory", "version",
	    (json_int_t)d->version, "signed",
	    json_stringn(d->signed_text, d->signed_len));
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

size_t
conn_dirframe_size(const struct directory *d)
{
	char *s = conn_dirframe_encode(d);
	size_t n = s != NULL ? strlen(s) : 0;

	free(s);
	return n;
}

static struct dirframe *
conn_dirframe_build(const struct directory *d)
{
	char *s = conn_dirframe_encode(d);
	struct dirframe *f = NULL;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	/* refused at load (relay_directory.c): only a bug gets here */
	if (n > 0 && n <= DIRECTORY_FRAME_MAX) {
		f = xmalloc(sizeof(*f) + FRAME_HEADER + n);
		f->version = d->version;
		memcpy(f->hash, d->payload_hash, sizeof(f->hash));
		f->refs = 1;
		f->len = FRAME_HEADER + n;
		f->data[0] = (unsigned char)(n >> 24);
		f->data[1] = (unsigned char)(n >> 16);
		f->data[2] = (unsigned char)(n >> 8);
		f->data[3] = (unsigned char)n;
		memcpy(f->data + FRAME_HEADER, s, n);
	}
	free(s);
	return f;
}

int
conn_dirframe_push(struct evbuffer *out, const struct directory *d)
{
	struct dirframe *f = conn_dirframe_cached;

	/* A reload that keeps the version keeps the content too: the
	 * relay refuses anything else.  The hash makes sure. */
	if (f == NULL || f->version != d->version ||
	    memcmp(f->hash, d->payload_hash, sizeof(f->hash)) != 0) {
		conn_dirframe_clear();
		if ((f = conn_dirframe_build(d)) == NULL)
			return -1;
		conn_dirframe_cached = f;
	}
	f->refs++;
	if (evbuffer_add_reference(out, f->data, f->len, conn_dirframe_unref,
	        f) != 0) {
		f->refs--;
		return -1;
	}
	return 0;
}

void
conn_dirframe_clear(void)
{
	if (conn_dirframe_cached != NULL)
		conn_dirframe_unref(NULL, 0, conn_dirframe_cached);
	conn_dirframe_cached = NULL;
}
