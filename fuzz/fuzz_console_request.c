/*
 * libFuzzer target: what alertconsole's page listener reads of a request
 * (console/console_req.c), without a console: the Origin check, the
 * login, language, note and closure bodies, the alert path and the
 * export query.  The input is five fields split at '\n' (Host, Origin,
 * Sec-Fetch-Site, the path, the query of /api/export; an empty header
 * field stands for one not sent), then the body.  What the parsers claim
 * is checked too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_req.h"
#include "console_users.h"
#include "console_work.h"
#include "util.h"

#define FIELDS 5

static const char *
header(const char *f)
{
	return f != NULL && f[0] != '\0' ? f : NULL;
}

static void
check_body(const char *body, size_t len)
{
	const char *name, *password, *t;
	char lang[3];
	json_t *o;

	if (console_req_login(body, len, &o, &name, &password) == 0 &&
	    (!console_users_name_ok(name) ||
	        strlen(password) > CONSOLE_PASS_MAX))
		abort();
	json_decref(o);
	if (console_req_lang(body, len, lang) == 0 && strcmp(lang, "nl") &&
	    strcmp(lang, "en") && lang[0] != '\0')
		abort();
	o = json_loadb(body, len, 0, NULL);
	if ((t = console_req_text(o, "text", 1)) != NULL &&
	    (t[0] == '\0' || strlen(t) > CONSOLE_NOTE_MAX))
		abort();
	if ((t = console_req_text(o, "note", 0)) != NULL &&
	    strlen(t) > CONSOLE_NOTE_MAX)
		abort();
	json_decref(o);
}

static void
check_request(char **f)
{
	struct console_export_args a;
	const char *action = NULL;
	char id[33];
	int rc;

	(void)console_req_origin_ok(0, header(f[0]), header(f[1]),
	    header(f[2]));
	(void)console_req_origin_ok(1, header(f[0]), header(f[1]),
	    header(f[2]));
	if (f[3] != NULL &&
	    (rc = console_req_alert_path(f[3], id, &action)) != -1 &&
	    (rc == 0) != alert_id_valid(id))
		abort();
	rc = console_req_export(f[4], &a);
	if (rc == 0 && a.alert[0] != '\0' && !alert_id_valid(a.alert))
		abort();
	if (rc == 0 && a.alert[0] == '\0' &&
	    (a.from < 0 || a.to < 0 || a.from > (1LL << 40) ||
	        a.to > (1LL << 40)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[FIELDS] = {0}, *p = buf, *nl;
	size_t i;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < FIELDS && p != NULL; i++) {
		f[i] = p;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		p = nl;
	}
	check_request(f);
	/* the body: what follows the fields, NULs and all */
	if (p != NULL)
		check_body((const char *)data + (p - buf), size - (p - buf));
	free(buf);
	return 0;
}
