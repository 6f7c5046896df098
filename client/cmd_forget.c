/*
 * alertctl device forget ID: erase one device's data at the relay, on
 * request of the person it belongs to (docs/PRIVACY.md), through its
 * admin listener with the admin token:
 *
 *	POST http://HOST:PORT/device/forget  {"device_id":ID,"by":NAME}
 *
 * Every alert, event, index and stream entry of that device goes; the
 * relay's audit log keeps that an erasure happened, by NAME, and how
 * many records.  The device stays enrolled: revoke it for that.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin_request.h"
#include "alertctl.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define FORGET_TIMEOUT_S 300L /* a device with years of alerts */

static int
forget_run(const char *admin, const char *token_file, const char *id,
    const char *by)
{
	json_t *req = json_pack("{s:s, s:s}", "device_id", id, "by", by), *a;
	char *body = json_dumps(req, JSON_COMPACT), why[256];
	const struct admin_request q = {"device forget", admin, token_file,
	    "/device/forget", body, 1, FORGET_TIMEOUT_S};
	struct http_reply *r = xcalloc(1, sizeof(*r));
	const char *error;
	int rc = EXIT_FAIL;

	json_decref(req);
	if (admin_request_run(&q, r) == 0) {
		a = json_loadb(r->body, r->len, 0, NULL);
		error = json_string_value(json_object_get(a, "error"));
		if (r->status == 200 && json_is_object(a)) {
			out_line("erased device %s: alerts: %lld, stream "
			         "entries: %lld, keys: %lld",
			    id,
			    (long long)json_integer_value(
			        json_object_get(a, "alerts")),
			    (long long)json_integer_value(
			        json_object_get(a, "entries")),
			    (long long)json_integer_value(
			        json_object_get(a, "keys")));
			rc = EXIT_OK;
		} else
			log_warnx("device forget: HTTP %ld from %s: %s",
			    r->status, admin,
			    error ? out_clean(error, why, sizeof(why))
			          : "not an answer of alertrelayd");
		json_decref(a);
	}
	free(body);
	free(r);
	return rc;
}

/* argv[0] is "forget". */
int
cmd_device_forget(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"admin", required_argument, NULL, 'a'},
	    {"token-file", required_argument, NULL, 't'},
	    {"by", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *admin = ADMIN_DEFAULT_ADDRESS, *by = getenv("USER");
	const char *token_file = getenv("ALERTCTL_ADMIN_TOKEN_FILE");
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			admin = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'b':
			by = optarg;
			break;
		case 'h':
			usage_print("device", stdout);
			return EXIT_OK;
		default:
			return usage_error("device", "bad option");
		}
	}
	if (argc - optind != 1 || !id_valid(argv[optind]))
		return usage_error("device", "forget ID");
	if (by == NULL || !id_valid(by))
		return usage_error("device",
		    "--by NAME: who asks (letters, digits, -_.)");
	if (admin_address_valid(admin) != 0)
		return usage_error("device", "--admin '%s' is not host:port",
		    admin);
	if (token_file == NULL || token_file[0] == '\0') {
		log_warnx("device forget: give the token of the relay's "
		          "[admin] token_file with --token-file");
		return EXIT_FAIL;
	}
	return forget_run(admin, token_file, argv[optind], by);
}
