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
	char *body = json_dumps(req, JSON_COMPACT);
	const struct admin_request q = {"device forget", admin, token_file,
	    "/device/forget", body, 1, FORGET_TIMEOUT_S};

	json_decref(req);
	a = admin_request_json(&q);
	free(body);
	if (a == NULL)
		return EXIT_FAIL;
	out_line("erased device %s: alerts: %lld, stream entries: %lld, "
	         "keys: %lld",
	    id, (long long)json_integer_value(json_object_get(a, "alerts")),
	    (long long)json_integer_value(json_object_get(a, "entries")),
	    (long long)json_integer_value(json_object_get(a, "keys")));
	json_decref(a);
	return EXIT_OK;
}

/* argv[0] is "forget". */
int
cmd_device_forget(int argc, char **argv)
{
	static const struct option longopts[] = {
	    ADMIN_REQUEST_LONGOPTS,
	    {"by", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *admin, *token_file, *by = getenv("USER");
	int ch;

	admin_request_defaults(&admin, &token_file);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (admin_request_opt(ch, &admin, &token_file))
			continue;
		switch (ch) {
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
	if (admin_request_check("device", admin, &token_file) != 0)
		return EXIT_USAGE;
	if (admin_request_token_given("device forget", token_file) != 0)
		return EXIT_FAIL;
	return forget_run(admin, token_file, argv[optind], by);
}
