/*
 * The receiver's persistent memory of alerts shown (shown.h): a seen.c
 * table in memory, an append-only file on disk.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "afile.h"
#include "log.h"
#include "seen.h"
#include "shown.h"
#include "util.h"
#include "xmalloc.h"

struct shown {
	struct seen *mem;
	size_t cap;
	char *path; /* DIR/shown, NULL: memory only */
	int fd; /* appending to path */
	int lockfd;
	size_t lines; /* keys in the file */
};

static const char *const shown_kinds[] = {"alert:", "acknowledged:",
    "cancelled:", "duress:", "location:", "device.offline:", "device.online:",
    "device.checkin_failed:"};

int
shown_key_valid(const char *line, size_t len)
{
	char id[33];
	size_t i, k;

	for (i = 0; i < sizeof(shown_kinds) / sizeof(shown_kinds[0]); i++) {
		k = strlen(shown_kinds[i]);
		if (len != k + 32 || memcmp(line, shown_kinds[i], k) != 0)
			continue;
		memcpy(id, line + k, 32);
		id[32] = '\0';
		return alert_id_valid(id);
	}
	return 0;
}

/* The whole file, bounded: a file larger than twice the cap is damaged
 * anyway, and its newest keys are at its end. */
static char *
shown_slurp(const char *path, size_t cap, size_t *len, int *toolong)
{
	size_t max = (2 * cap + 2) * (SHOWN_KEY_MAX + 1), want;
	struct stat st;
	char *buf;
	off_t off = 0;
	ssize_t n;
	int fd;

	*toolong = 0;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	want = (size_t)st.st_size;
	if (want > max) {
		*toolong = 1;
		off = st.st_size - (off_t)max;
		want = max;
	}
	buf = xmalloc(want + 1);
	while (*len < want &&
	    (n = pread(fd, buf + *len, want - *len, off + (off_t)*len)) > 0)
		*len += (size_t)n;
	close(fd);
	buf[*len] = '\0';
	return buf;
}

size_t
shown_load_text(struct shown *s, const char *text, size_t len, int skip_header)
{
	const char *p = text, *end = text + len, *nl;
	size_t bad = 0;
	int first = 1;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end; /* no newline: torn, unless it is a key */
		if (first && skip_header) {
			if ((size_t)(nl - p) != strlen(SHOWN_HEADER) ||
			    memcmp(p, SHOWN_HEADER, (size_t)(nl - p)) != 0)
				bad++;
		} else if (shown_key_valid(p, (size_t)(nl - p))) {
			char key[SHOWN_KEY_MAX + 1];

			memcpy(key, p, (size_t)(nl - p));
			key[nl - p] = '\0';
			seen_add(s->mem, key);
			s->lines++;
		} else
			bad++;
		first = 0;
		p = nl + 1;
	}
	return bad;
}

/* The file as it should be: the header and what mem holds. */
static int
shown_rewrite(struct shown *s)
{
	size_t i, n = seen_count(s->mem), len = 0;
	char *text = xmalloc((n + 1) * (SHOWN_KEY_MAX + 1) + 1), err[512];
	int rc;

	len = (size_t)sprintf(text, "%s\n", SHOWN_HEADER);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s\n", seen_at(s->mem, i));
	rc = afile_write(s->path, text, len, 0600, AFILE_REPLACE, err,
	    sizeof(err));
	free(text);
	if (rc != 0) {
		log_warnx("%s", err);
		return -1;
	}
	s->lines = n;
	if (s->fd != -1)
		close(s->fd);
	s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (s->fd == -1) {
		log_warn("%s", s->path);
		return -1;
	}
	return 0;
}

/* Reads what is there; a damaged file is reported and set aside. */
static int
shown_load(struct shown *s)
{
	size_t len, bad;
	int toolong;
	char *text, *aside;

	if ((text = shown_slurp(s->path, s->cap, &len, &toolong)) == NULL) {
		if (errno != ENOENT) {
			log_warn("%s", s->path);
			return -1;
		}
		return shown_rewrite(s); /* the first start */
	}
	bad = shown_load_text(s, text, len, !toolong);
	free(text);
	if (len == 0)
		return shown_rewrite(s); /* created, never written */
	if (bad > 0 || toolong) {
		aside = xasprintf("%s.corrupt", s->path);
		log_warnx(_("%s is damaged (%zu bad line(s)%s); kept as %s, "
		            "%zu alert(s) still remembered"),
		    s->path, bad, toolong ? _(", too long") : "", aside,
		    seen_count(s->mem));
		if (rename(s->path, aside) != 0)
			log_warn("%s", aside);
		free(aside);
		return shown_rewrite(s);
	}
	if (s->lines >= 2 * s->cap)
		return shown_rewrite(s);
	if ((s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1) {
		log_warn("%s", s->path);
		return -1;
	}
	return 0;
}

/* One receiver per file: a second would interleave and evict blindly. */
static int
shown_lock(struct shown *s, const char *dir)
{
	char *lock = xasprintf("%s/%s.lock", dir, SHOWN_FILE);

	s->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd == -1)
		log_warn("%s", lock);
	else if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		log_warnx(_("%s: another receiver uses this --state-dir"),
		    lock);
		close(s->lockfd);
		s->lockfd = -1;
	}
	free(lock);
	return s->lockfd == -1 ? -1 : 0;
}

struct shown *
shown_open(const char *dir, size_t cap)
{
	struct shown *s = xcalloc(1, sizeof(*s));
	char err[512];

	s->mem = seen_new(cap);
	s->cap = cap;
	s->fd = s->lockfd = -1;
	if (dir == NULL)
		return s;
	if (afile_mkdirs(dir, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		shown_close(s);
		return NULL;
	}
	s->path = xasprintf("%s/%s", dir, SHOWN_FILE);
	if (shown_lock(s, dir) != 0 || shown_load(s) != 0) {
		shown_close(s);
		return NULL;
	}
	log_info(_("%s: %zu alert(s) remembered"), s->path, seen_count(s->mem));
	return s;
}

int
shown_has(const struct shown *s, const char *key)
{
	return seen_has(s->mem, key);
}

static int
shown_append(struct shown *s, const char *key)
{
	char line[SHOWN_KEY_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s\n", key);

	if (s->fd == -1 || write(s->fd, line, (size_t)n) != n ||
	    fdatasync(s->fd) != 0) {
		log_warn(_("cannot remember %s in %s"), key,
		    s->path != NULL ? s->path : "-");
		return -1;
	}
	s->lines++;
	return 0;
}

int
shown_add(struct shown *s, const char *key)
{
	if (!shown_key_valid(key, strlen(key)))
		return -1;
	if (seen_has(s->mem, key))
		return 0;
	seen_add(s->mem, key);
	if (s->path == NULL)
		return 0;
	if (shown_append(s, key) != 0)
		return -1;
	if (s->lines >= 2 * s->cap)
		return shown_rewrite(s);
	return 0;
}

void
shown_close(struct shown *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	if (s->lockfd != -1)
		close(s->lockfd);
	seen_free(s->mem);
	free(s->path);
	free(s);
}
