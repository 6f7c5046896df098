/*
 * The signed check-in request, both ways (checkin_req.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checkin_req.h"
#include "envelope.h"
#include "frame.h"

static const char *const checkin_ops[] = {"start", "extend", "done"};

const char *
checkin_op_name(enum checkin_op op)
{
	return checkin_ops[op];
}

char *
checkin_req_encode(const struct checkin_req *r)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "op", checkin_op_name(r->op),
	    "checkin_id", r->checkin_id, "device_id", r->device_id,
	    "created_at", r->created_at, "v", CHECKIN_VERSION);
	if (o == NULL)
		return NULL;
	if (r->pinned)
		json_object_set_new(o, "duress", json_integer(r->duress != 0));
	if (r->op != CHECKIN_DONE) {
		json_object_set_new(o, "deadline", json_string(r->deadline));
		json_object_set_new(o, "release_at",
		    json_string(r->release_at));
		json_object_set_new(o, "alert_id", json_string(r->alert_id));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static int
checkin_req_op(const char *name, enum checkin_op *op)
{
	size_t i;

	for (i = 0; name != NULL && i < 3; i++)
		if (strcmp(name, checkin_ops[i]) == 0) {
			*op = (enum checkin_op)i;
			return 0;
		}
	return -1;
}

/* The timer's fields of start and extend. */
static int
checkin_req_timer(const json_t *o, struct checkin_req *r, char *err,
    size_t errlen)
{
	if (json_str_copy(o, "deadline", r->deadline, sizeof(r->deadline)) !=
	        0 ||
	    json_str_copy(o, "release_at", r->release_at,
	        sizeof(r->release_at)) != 0 ||
	    json_str_copy(o, "alert_id", r->alert_id, sizeof(r->alert_id)) !=
	        0 ||
	    !alert_id_valid(r->alert_id) ||
	    time_rfc3339_parse(r->deadline, &r->deadline_t) != 0 ||
	    time_rfc3339_parse(r->release_at, &r->release_t) != 0) {
		snprintf(err, errlen,
		    "checkin: missing or bad deadline, release_at or "
		    "alert_id");
		return -1;
	}
	if (r->release_t < r->deadline_t) {
		snprintf(err, errlen, "checkin: release_at before deadline");
		return -1;
	}
	return 0;
}

/* The duress flag: absent, or 0 or 1 on an extend or a done. */
static int
checkin_req_duress(const json_t *o, struct checkin_req *r, char *err,
    size_t errlen)
{
	const json_t *d = json_object_get(o, "duress");

	if (d == NULL)
		return 0;
	if (!json_is_integer(d) || r->op == CHECKIN_START ||
	    (json_integer_value(d) != 0 && json_integer_value(d) != 1)) {
		snprintf(err, errlen,
		    "checkin: duress is 0 or 1, on extend and done only");
		return -1;
	}
	r->pinned = 1;
	r->duress = (int)json_integer_value(d);
	return 0;
}

int
checkin_req_decode(const char *json, size_t len, struct checkin_req *r,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o, *v;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "checkin: not a JSON object");
		goto out;
	}
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != CHECKIN_VERSION) {
		snprintf(err, errlen, "checkin: unsupported version");
		goto out;
	}
	if (checkin_req_op(json_str(o, "op"), &r->op) != 0 ||
	    json_str_copy(o, "checkin_id", r->checkin_id,
	        sizeof(r->checkin_id)) != 0 ||
	    !alert_id_valid(r->checkin_id) ||
	    json_str_copy(o, "device_id", r->device_id, sizeof(r->device_id)) !=
	        0 ||
	    !id_valid(r->device_id) ||
	    json_str_copy(o, "created_at", r->created_at,
	        sizeof(r->created_at)) != 0 ||
	    time_rfc3339_parse(r->created_at, &r->created_t) != 0) {
		snprintf(err, errlen,
		    "checkin: missing or bad op, checkin_id, device_id or "
		    "created_at");
		goto out;
	}
	if (r->op != CHECKIN_DONE && checkin_req_timer(o, r, err, errlen) != 0)
		goto out;
	if (checkin_req_duress(o, r, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void
checkin_sign(const char *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES])
{
	sig_sign_ctx(SIGCTX_CHECKIN, json, len, sk, sig);
}

int
checkin_verify(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	return sig_verify_ctx(SIGCTX_CHECKIN, json, len, sig, pk);
}
