/* Loading [contactpoint] from alertctl.conf (cp_config.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "afile.h"
#include "b64.h"
#include "client_config.h"
#include "cp_config.h"
#include "i18n.h"
#include "log.h"
#include "ltime.h"
#include "xmalloc.h"

struct cp_parse {
	struct cp_config *cfg;
	char *dir;
	int errors;
	FILE *f;
	int line; /* counted by the reader: inih does not pass it */
};

#define CP_O(f) offsetof(struct cp_config, f)

static const struct cp_key {
	const char *name;
	size_t offset;
	int is_path;
} cp_keys[] = {
    {"ack_url", CP_O(ack_url), 0},
    {"relay_pin", CP_O(relay_pin), 0},
    {"cacert", CP_O(cacert), 1},
    {"token_file", CP_O(token_file), 1},
    {"recipient_key", CP_O(recipient_key), 1},
    {"sign_key", CP_O(sign_key), 1},
    {"directory", CP_O(directory), 1},
    {"org_key", CP_O(org_key), 0},
    {"timezone", CP_O(timezone), 0},
};

/* org_key is a key or a file: a file is resolved like other paths. */
static char *
cp_config_value(const struct cp_parse *p, const struct cp_key *k, const char *v)
{
	unsigned char pk[32];

	if (strcmp(k->name, "org_key") == 0 &&
	    b64_decode_exact(v, pk, sizeof(pk)) != 0 && v[0] != '/')
		return xasprintf("%s/%s", p->dir, v);
	if (k->is_path && v[0] != '/')
		return xasprintf("%s/%s", p->dir, v);
	return xstrdup(v);
}

static int
cp_config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct cp_parse *p = arg;
	int lineno = p->line;
	size_t i;
	char **slot;

	/* [client] timezone is client_config.c's to check; it is read here
	 * too, so that one zone serves a person on both sides. */
	if (strcmp(section, "client") == 0 && name != NULL &&
	    strcmp(name, "timezone") == 0 && p->cfg->client_timezone == NULL) {
		p->cfg->client_timezone = xstrdup(value);
		return 1;
	}
	if (strcmp(section, "contactpoint") != 0)
		return 1;
	p->cfg->present = 1;
	if (name == NULL)
		return 1;
	for (i = 0; i < sizeof(cp_keys) / sizeof(cp_keys[0]); i++) {
		if (strcmp(name, cp_keys[i].name) != 0)
			continue;
		slot = (char **)((char *)p->cfg + cp_keys[i].offset);
		if (*slot != NULL || *value == '\0') {
			log_warnx("%s:%d: %s %s", p->cfg->path, lineno, name,
			    *value == '\0' ? "has no value" : "given twice");
			p->errors++;
			return 1;
		}
		*slot = cp_config_value(p, &cp_keys[i], value);
		return 1;
	}
	log_warnx("%s:%d: unknown key '%s' in [contactpoint]", p->cfg->path,
	    lineno, name);
	p->errors++;
	return 1;
}

static char *
cp_config_reader(char *buf, int size, void *arg)
{
	struct cp_parse *p = arg;

	if (fgets(buf, size, p->f) == NULL)
		return NULL;
	p->line++;
	return buf;
}

int
cp_config_load(const char *path, struct cp_config *cfg)
{
	struct cp_parse p = {cfg, NULL, 0, NULL, 0};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = xstrdup(path);
	if ((p.f = fopen(path, "r")) == NULL) {
		log_warn("configuration %s", path);
		return -1;
	}
	p.dir = afile_dirname(path);
	rc = ini_parse_stream(cp_config_reader, &p, cp_config_handler, &p);
	fclose(p.f);
	free(p.dir);
	if (rc != 0) {
		log_warnx("%s:%d: syntax error", path, rc);
		p.errors++;
	}
	return p.errors == 0 ? 0 : -1;
}

int
cp_config_find(const char *config, struct cp_config *cfg)
{
	char *path;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (config != NULL)
		return cp_config_load(config, cfg);
	if ((path = client_config_default_path()) == NULL ||
	    access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	rc = cp_config_load(path, cfg);
	free(path);
	return rc;
}

int
cp_config_zone(const struct cp_config *cfg, const char *given,
    const char **name)
{
	*name = given != NULL              ? given
	    : cfg->timezone != NULL        ? cfg->timezone
	    : cfg->client_timezone != NULL ? cfg->client_timezone
	                                   : LTIME_DEFAULT_ZONE;
	/* An unknown name would silently give UTC, which a person would
	 * take for local time. */
	if (ltime_zone_valid(*name) != 0)
		return -1;
	ltime_set_zone(*name);
	return 0;
}

void
cp_config_free(struct cp_config *cfg)
{
	size_t i;

	for (i = 0; i < sizeof(cp_keys) / sizeof(cp_keys[0]); i++)
		free(*(char **)((char *)cfg + cp_keys[i].offset));
	free(cfg->client_timezone);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}
