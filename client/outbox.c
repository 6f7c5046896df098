/*
 * The outbox: the exact signed envelope of every alert this device sent
 * (outbox.h).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "i18n.h"
#include "atomic_file.h"
#include "b64.h"
#include "envelope.h"
#include "util.h"
#include "frame.h"
#include "log.h"
#include "outbox.h"
#include "xmalloc.h"

#define OUTBOX_CONTEXT "alertctl outbox v1"

char *
outbox_dir(const struct client_config *cfg)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (cfg->outbox != NULL)
		return xstrdup(cfg->outbox);
	if (state != NULL && state[0] == '/')
		return xasprintf("%s/alertrelay/outbox", state);
	if (home != NULL && home[0] == '/')
		return xasprintf("%s/.local/state/alertrelay/outbox", home);
	return NULL;
}

void
outbox_mac(const struct alert *a, const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char mac[OUTBOX_MAC_BYTES])
{
	unsigned char key[crypto_generichash_KEYBYTES];
	crypto_generichash_state st;
	struct alert copy = *a;
	char *text;
	size_t i;

	/* The time of this attempt is not part of what the alert says. */
	copy.created_at[0] = '\0';
	text = alert_encode(&copy);
	/* A key of its own, derived from the device seed. */
	crypto_generichash(key, sizeof(key),
	    (const unsigned char *)OUTBOX_CONTEXT, strlen(OUTBOX_CONTEXT), sk,
	    crypto_sign_SEEDBYTES);
	crypto_generichash_init(&st, key, sizeof(key), OUTBOX_MAC_BYTES);
	if (text != NULL)
		crypto_generichash_update(&st, (unsigned char *)text,
		    strlen(text) + 1);
	for (i = 0; i < cfg->nrecipients; i++) {
		crypto_generichash_update(&st,
		    (const unsigned char *)cfg->recipients[i].id,
		    strlen(cfg->recipients[i].id) + 1);
		crypto_generichash_update(&st, cfg->recipients[i].pk,
		    sizeof(cfg->recipients[i].pk));
	}
	crypto_generichash_final(&st, mac, OUTBOX_MAC_BYTES);
	sodium_memzero(key, sizeof(key));
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
}

/* One level; a directory made here is made durable in its parent, or
 * an entry fsync'd inside it could vanish with it in a crash. */
static int
outbox_mkdir_one(const char *path)
{
	if (mkdir(path, 0700) == 0) {
		(void)atomic_file_sync_dir(path);
		return 0;
	}
	return errno == EEXIST ? 0 : -1;
}

static int
outbox_mkdir(const char *dir)
{
	char *copy = xstrdup(dir), *p;
	int rc = 0;

	for (p = copy + 1; rc == 0 && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		rc = outbox_mkdir_one(copy);
		*p = '/';
	}
	if (rc == 0)
		rc = outbox_mkdir_one(copy);
	if (rc != 0)
		log_warn(_("outbox %s"), copy);
	free(copy);
	return rc;
}

/* Old entries go: a resend makes sense for hours, not months. */
static void
outbox_prune(const char *dir)
{
	time_t cutoff = time(NULL) - (time_t)OUTBOX_KEEP_DAYS * 86400;
	struct dirent *de;
	struct stat st;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strlen(de->d_name) < 34 || de->d_name[32] != '.' ||
		    strspn(de->d_name, "0123456789abcdef") != 32)
			continue;
		if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    st.st_mtime < cutoff)
			unlinkat(dirfd(dp), de->d_name, 0);
	}
	closedir(dp);
}

static json_t *
outbox_entry(const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES])
{
	char machex[OUTBOX_MAC_BYTES * 2 + 1], *sig64;
	json_t *o;

	sodium_bin2hex(machex, sizeof(machex), mac, OUTBOX_MAC_BYTES);
	sig64 = b64_encode(s->sig, sizeof(s->sig));
	/* track: send and watch resend it until it is marked accepted. */
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:b}", "v", 1, "alert_id",
	    s->alert_id, "mac", machex, "envelope", s->envelope, "sig", sig64,
	    "track", 1);
	free(sig64);
	return o;
}

/* The entry written whole beside path (tmp, a leftover of which the next
 * write removes) and given its name; hold: kept open, locked. */
static int
outbox_write(const char *tmp, const char *path, const json_t *o, int replace,
    int *hold)
{
	struct atomic_file af;
	int ok;

	if (atomic_file_begin(&af, path, tmp, 0) != 0)
		return -1;
	/* Locked before it has its name: nobody can list it unheld. */
	ok = (hold == NULL || flock(af.fd, LOCK_EX | LOCK_NB) == 0) &&
	    json_dumpfd(o, af.fd, JSON_COMPACT) == 0 &&
	    /* link, not rename: an existing entry stays as it is, unless
	     * asked to replace it.  An unsynced directory is let be, as
	     * before. */
	    atomic_file_commit(&af, 0600,
	        replace ? ATOMIC_FILE_REPLACE : ATOMIC_FILE_CREATE) != -1;
	if (ok && hold != NULL) {
		*hold = af.fd;
		af.fd = -1;
	} else if (ok) {
		ok = close(af.fd) == 0;
		af.fd = -1;
	}
	atomic_file_end(&af);
	return ok ? 0 : -1;
}

/* The entry at path, read through one descriptor; NULL when it cannot
 * be read, or when unheld is set and another open file description
 * holds its lock (a live sender owns it, see outbox.h).  The try is a
 * shared one, so that listers never block each other. */
static json_t *
outbox_read(const char *path, int unheld)
{
	json_error_t jerr;
	json_t *o = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (!unheld || flock(fd, LOCK_SH | LOCK_NB) == 0 ||
	    errno != EWOULDBLOCK)
		o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd); /* lets our shared lock go */
	return o;
}

static int
outbox_store(const char *dir, const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES], int replace, int *hold)
{
	char *path, *tmp;
	json_t *o;
	int rc;

	if (outbox_mkdir(dir) != 0)
		return -1;
	outbox_prune(dir);
	path = xasprintf("%s/%s.json", dir, s->alert_id);
	tmp = xasprintf("%s/.%s.tmp", dir, s->alert_id);
	o = outbox_entry(s, mac);
	if ((rc = outbox_write(tmp, path, o, replace, hold)) != 0)
		log_warn(_("outbox %s"), path);
	json_decref(o);
	free(path);
	free(tmp);
	return rc;
}

int
outbox_save(const char *dir, const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES], int *hold)
{
	return outbox_store(dir, s, mac, 0, hold);
}

int
outbox_replace(const char *dir, const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES], int *hold)
{
	char *path;
	int rc;

	if ((rc = outbox_store(dir, s, mac, 1, hold)) != 0)
		return rc;
	/* Unsent again: only after the new entry is on disk. */
	path = xasprintf("%s/%s.%s", dir, s->alert_id, OUTBOX_REFUSED);
	if (unlink(path) == 0)
		(void)atomic_file_sync_dir(path);
	free(path);
	return 0;
}

void
outbox_let_go(int *hold)
{
	if (*hold >= 0)
		close(*hold);
	*hold = -1;
}

int
outbox_entry_parse(const json_t *o,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], struct sealed_alert *s)
{
	const char *env = json_str(o, "envelope"), *sig = json_str(o, "sig");
	char err[128];
	struct envelope e;

	if (env == NULL || sig == NULL ||
	    b64_decode_exact(sig, s->sig, sizeof(s->sig)) != 0 ||
	    envelope_verify(env, strlen(env), s->sig, pk) != 0 ||
	    envelope_decode(env, strlen(env), &e, err, sizeof(err)) != 0)
		return 0;
	memcpy(s->alert_id, e.alert_id, sizeof(s->alert_id));
	memcpy(s->created_at, e.created_at, sizeof(s->created_at));
	s->envelope = xstrdup(env);
	envelope_free(&e);
	return 1;
}

/* 1 when the stored entry is this alert, intact, signed by this device. */
static int
outbox_entry_matches(const json_t *o, const char *alert_id,
    const unsigned char mac[OUTBOX_MAC_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], struct sealed_alert *s)
{
	char machex[OUTBOX_MAC_BYTES * 2 + 1];
	const char *m = json_str(o, "mac");

	sodium_bin2hex(machex, sizeof(machex), mac, OUTBOX_MAC_BYTES);
	if (m == NULL || strcmp(m, machex) != 0 ||
	    !outbox_entry_parse(o, pk, s))
		return 0;
	if (strcmp(s->alert_id, alert_id) != 0) {
		alert_seal_free(s);
		memset(s, 0, sizeof(*s));
		return 0;
	}
	return 1;
}

int
outbox_load(const char *dir, const char *alert_id,
    const unsigned char mac[OUTBOX_MAC_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], struct sealed_alert *s)
{
	char *path = xasprintf("%s/%s.json", dir, alert_id);
	json_error_t jerr;
	json_t *o;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (o != NULL && outbox_entry_matches(o, alert_id, mac, pk, s))
		rc = 1;
	else if (o != NULL || access(path, F_OK) == 0) {
		log_warnx(_("%s holds a different alert with this id; sending "
		            "a new one (the relay refuses it if it has the old "
		            "one)"),
		    path);
		rc = -1;
	}
	json_decref(o);
	free(path);
	return rc;
}

int
outbox_mark(const char *dir, const char *alert_id, const char *what,
    const char *text)
{
	char *path = xasprintf("%s/%s.%s", dir, alert_id, what);
	char *tmp = xasprintf("%s/.%s.%s.tmp", dir, alert_id, what);
	struct atomic_file af;
	int ok = 0;

	if (atomic_file_begin(&af, path, tmp, 0) == 0) {
		ok = atomic_file_put(af.fd, text, strlen(text)) == 0 &&
		    atomic_file_put(af.fd, "\n", 1) == 0 &&
		    atomic_file_commit(&af, 0600, ATOMIC_FILE_REPLACE) != -1;
		atomic_file_end(&af);
	}
	if (!ok)
		log_warn(_("outbox %s"), path);
	free(path);
	free(tmp);
	return ok ? 0 : -1;
}

int
outbox_marked(const char *dir, const char *alert_id, const char *what)
{
	char *path = xasprintf("%s/%s.%s", dir, alert_id, what);
	int rc = access(path, F_OK) == 0;

	free(path);
	return rc;
}

static int
outbox_wanted(const char *dir, const char *id, const json_t *o,
    enum outbox_which which)
{
	int track = 0;

	if (which == OUTBOX_UNSENT)
		return json_bool_get(o, "track", &track) == 0 && track &&
		    !outbox_marked(dir, id, OUTBOX_ACCEPTED) &&
		    !outbox_marked(dir, id, OUTBOX_REFUSED);
	return outbox_marked(dir, id, OUTBOX_ACCEPTED) &&
	    !outbox_marked(dir, id, OUTBOX_CLOSED);
}

static int
outbox_older(const void *a, const void *b)
{
	const struct sealed_alert *x = a, *y = b;
	int c = strcmp(x->created_at, y->created_at);

	return c != 0 ? c : strcmp(x->alert_id, y->alert_id);
}

size_t
outbox_list(const char *dir, enum outbox_which which, time_t since,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], const char *skip,
    size_t max, struct sealed_alert **out)
{
	struct sealed_alert *v = NULL, one;
	size_t n = 0, cap = 0;
	struct dirent *de;
	char id[33], *path;
	time_t created;
	json_t *o;
	DIR *dp;

	*out = NULL;
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		if (strlen(de->d_name) != 37 ||
		    strcmp(de->d_name + 32, ".json") != 0 ||
		    strspn(de->d_name, "0123456789abcdef") != 32)
			continue;
		memcpy(id, de->d_name, 32);
		id[32] = '\0';
		if (skip != NULL && strcmp(id, skip) == 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		/* unsent: not another sender's, while it lives */
		o = outbox_read(path, which == OUTBOX_UNSENT);
		free(path);
		memset(&one, 0, sizeof(one));
		if (o != NULL && outbox_wanted(dir, id, o, which) &&
		    outbox_entry_parse(o, pk, &one)) {
			if (strcmp(one.alert_id, id) != 0 ||
			    (which == OUTBOX_OPEN &&
			        (time_rfc3339_parse(one.created_at, &created) !=
			                0 ||
			            created < since)))
				alert_seal_free(&one);
			else {
				if (n == cap) {
					cap = cap ? cap * 2 : 8;
					v = xreallocarray(v, cap, sizeof(*v));
				}
				v[n++] = one;
			}
		}
		json_decref(o);
	}
	closedir(dp);
	if (n > 0)
		qsort(v, n, sizeof(*v), outbox_older);
	/* The newest max of them. */
	while (n > max) {
		alert_seal_free(&v[0]);
		memmove(v, v + 1, (n - 1) * sizeof(*v));
		n--;
	}
	*out = v;
	return n;
}
