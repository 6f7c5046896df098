/*
 * The audit log's append-only file, written by a thread of its own so
 * that write() and fdatasync() never hold up the event loop.  The loop
 * appends lines to a buffer under a mutex; the thread swaps it for an
 * empty one, writes it whole and syncs, and so on.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_file.h"
#include "log.h"
#include "xmalloc.h"

#define AUDIT_FILE_MAX_BUF (64 * 1024 * 1024) /* then lines are dropped */

struct audit_file {
	int fd;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf; /* lines waiting for the writer */
	size_t len, cap;
	int stop;
	int started; /* the writer runs (started after daemon() forked) */
	int torn; /* the file ended inside a line when it was opened */
	unsigned long dropped; /* lines refused while the buffer was full */
};

/* torn: the file ends inside a line (a write failed part way through
 * one).  The next batch then starts on a line of its own, so what
 * follows still parses (verify names the record that was cut); a write
 * that failed between lines leaves nothing to mend, and no empty line. */
static void
audit_file_write_all(int fd, const char *p, size_t n, int *torn)
{
	const char *start = p;
	ssize_t w;

	while (*torn && (w = write(fd, "\n", 1)) != 1)
		if (w >= 0 || errno != EINTR) {
			log_warn(
			    "audit file: write (%zu bytes of records lost)", n);
			return;
		}
	*torn = 0;
	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			log_warn(
			    "audit file: write (%zu bytes of records lost)", n);
			*torn = p != start && p[-1] != '\n';
			return;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fdatasync(fd) != 0)
		log_warn("audit file: fdatasync");
}

/* 1 when the file ends inside a line: the relay (or the host) stopped
 * while writing a record.  The first record written now starts on a
 * line of its own, so the torn one is not joined to it and everything
 * after it still parses; verify names the torn record. */
static int
audit_file_torn(int fd, const char *path)
{
	struct stat st;
	char c;

	if (fstat(fd, &st) != 0 || st.st_size == 0 ||
	    pread(fd, &c, 1, st.st_size - 1) != 1 || c == '\n')
		return 0;
	log_warnx("audit file %s: its last line is cut off (the relay "
	          "stopped while writing it); new records start on a line of "
	          "their own",
	    path);
	return 1;
}

static void *
audit_file_writer(void *arg)
{
	struct audit_file *f = arg;
	char *buf;
	size_t len;
	int stop, torn = f->torn;

	for (;;) {
		pthread_mutex_lock(&f->mu);
		while (f->len == 0 && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		buf = f->buf;
		len = f->len;
		stop = f->stop;
		f->buf = NULL;
		f->len = f->cap = 0;
		pthread_mutex_unlock(&f->mu);
		if (len > 0)
			audit_file_write_all(f->fd, buf, len, &torn);
		free(buf);
		if (stop && len == 0)
			return NULL;
	}
}

struct audit_file *
audit_file_open(const char *path)
{
	struct audit_file *f;
	int fd;

	/* read too: the last byte says whether a line was torn */
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		log_warn("[audit] file %s", path);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->torn = audit_file_torn(fd, path);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

int
audit_file_fd(const struct audit_file *f)
{
	return f->fd;
}

void
audit_file_append(struct audit_file *f, const char *line)
{
	size_t n = strlen(line);

	if (f == NULL)
		return;
	/* Threads do not survive fork(): started at the first record. */
	if (!f->started) {
		if ((errno = pthread_create(&f->thread, NULL, audit_file_writer,
		         f)) != 0)
			log_fatal("exiting: audit file: cannot start its "
			          "writer");
		f->started = 1;
	}
	pthread_mutex_lock(&f->mu);
	if (f->len + n + 1 > AUDIT_FILE_MAX_BUF) {
		if (f->dropped++ == 0)
			log_warnx("audit file: the disk does not keep up; "
			          "records are not written to it (Redis still "
			          "has them)");
	} else {
		if (f->len + n + 1 > f->cap) {
			f->cap = (f->len + n + 1) * 2;
			f->buf = xreallocarray(f->buf, f->cap, 1);
		}
		memcpy(f->buf + f->len, line, n);
		f->buf[f->len + n] = '\n';
		f->len += n + 1;
	}
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void
audit_file_close(struct audit_file *f)
{
	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->stop = 1;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
	}
	if (f->dropped > 0)
		log_warnx("audit file: %lu records not written (the disk "
		          "did not keep up)",
		    f->dropped);
	close(f->fd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}
