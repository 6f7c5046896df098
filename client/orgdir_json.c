/*
 * Listings of the organisation directory as one JSON document each.
 * Only the members named in orgdir_json.h are copied, so that what
 * scripts read stays the same when directory.json grows.
 */
#include <jansson.h>

#include "alertctl.h"
#include "orgdir_json.h"
#include "out.h"

/* obj[key] copied, or null when absent. */
static json_t *
orgdir_json_member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v != NULL ? json_incref(v) : json_null();
}

static json_t *
orgdir_json_pick(const json_t *obj, const char *const *keys, size_t n)
{
	json_t *out = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(out, keys[i],
		    orgdir_json_member(obj, keys[i]));
	return out;
}

/* {name: [each entry's keys]} on stdout. */
static int
orgdir_json_list(const struct orgdir *o, const char *name,
    const char *const *keys, size_t n,
    void (*more)(const json_t *src, json_t *out))
{
	json_t *list = json_array(), *doc, *e;
	const json_t *src;
	size_t i;
	int rc;

	json_array_foreach(orgdir_list(o, name), i, src)
	{
		e = orgdir_json_pick(src, keys, n);
		if (more != NULL)
			more(src, e);
		json_array_append_new(list, e);
	}
	doc = json_pack("{s:o}", name, list);
	rc = doc != NULL && out_json(doc) == 0 ? EXIT_OK : EXIT_FAIL;
	json_decref(doc);
	return rc;
}

static void
orgdir_json_retired(const json_t *src, json_t *out)
{
	static const char *const keys[] = {"public_key", "until"};
	json_t *list = json_array(), *r = json_object_get(src, "retired_keys");
	const json_t *k;
	size_t i;

	json_array_foreach(r, i, k)
	{
		json_array_append_new(list, orgdir_json_pick(k, keys, 2));
	}
	json_object_set_new(out, "retired_keys", list);
}

int
orgdir_json_devices(const struct orgdir *o)
{
	static const char *const keys[] = {"id", "alias", "status",
	    "public_key"};

	return orgdir_json_list(o, "devices", keys, 4, orgdir_json_retired);
}

static void
orgdir_json_channels(const json_t *src, json_t *out)
{
	static const char *const keys[] = {"webhook", "sms"};

	json_object_set_new(out, "channels",
	    orgdir_json_pick(json_object_get(src, "channels"), keys, 2));
}

int
orgdir_json_recipients(const struct orgdir *o)
{
	static const char *const keys[] = {"id", "alias", "public_key"};

	return orgdir_json_list(o, "recipients", keys, 3, orgdir_json_channels);
}
