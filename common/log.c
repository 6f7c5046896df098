/*
 * Logging: one event per line, to stderr or syslog.
 *
 * Under systemd (JOURNAL_STREAM set) stderr lines carry "<N>" priority
 * prefixes so journald records the level.  Otherwise stderr lines get a
 * timestamp.  Fatal messages always reach the operator: they go to the
 * chosen destination and, when that is syslog, to stderr as well.
 *
 * A person at a terminal (alertctl's commands, log_set_human) gets
 * "alertctl: message" instead, and "alertctl: error: message" (the
 * label translated) for what ends the command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "i18n.h"
#include "log.h"

static const char *log_progname = "alertrelay";
static int log_level = LOG_INFO;
static enum log_dest log_dest = LOG_TO_STDERR;
static int log_journal;
static int log_human;

void
log_init(const char *progname, int level, enum log_dest dest)
{
	log_progname = progname;
	log_level = level;
	log_dest = dest;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (dest == LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_level = level;
}

void
log_set_human(int on)
{
	log_human = on;
	/* JOURNAL_STREAM is inherited by every program of a desktop
	 * session: at a terminal a person reads stderr, not journald. */
	if (on && isatty(STDERR_FILENO))
		log_journal = 0;
}

int
log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
	    {"error", LOG_ERR},
	    {"warning", LOG_WARNING},
	    {"notice", LOG_NOTICE},
	    {"info", LOG_INFO},
	    {"debug", LOG_DEBUG},
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

static const char *
log_level_name(int pri)
{
	switch (pri) {
	case LOG_CRIT:
		return "fatal";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void
log_stderr(int pri, const char *msg)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", pri, msg);
		return;
	}
	/* -v (debug) asks for the detailed lines. */
	if (log_human && log_level < LOG_DEBUG) {
		/* TRANSLATORS: the label of a line that ends the command,
		 * "alertctl: error: ..." */
		fprintf(stderr, "%s: %s%s\n", log_progname,
		    pri <= LOG_ERR ? _("error: ") : "", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%d]: %s: %s\n", stamp,
	    ts.tv_nsec / 1000000, log_progname, (int)getpid(),
	    log_level_name(pri), msg);
}

/* The last warning or error, for a fatal line to repeat; per thread, so
 * that the library can tell a caller why its own call failed. */
static __thread char log_last[1024];

const char *
log_last_problem(void)
{
	return log_last[0] != '\0' ? log_last : "no reason was logged";
}

void
log_forget_problem(void)
{
	log_last[0] = '\0';
}

static void
log_vemit(int pri, int with_errno, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;
	size_t n;

	if (pri > log_level && pri != LOG_CRIT && pri > LOG_WARNING)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	/* One event, one line: fold any newline a caller let through. */
	for (n = 0; msg[n] != '\0'; n++)
		if (msg[n] == '\n' || msg[n] == '\r')
			msg[n] = ' ';
	if (pri <= LOG_WARNING && pri != LOG_CRIT)
		snprintf(log_last, sizeof(log_last), "%s", msg);
	if (pri > log_level && pri != LOG_CRIT) {
		errno = saved;
		return;
	}
	if (log_dest == LOG_TO_SYSLOG) {
		syslog(pri, "%s", msg);
		if (pri == LOG_CRIT)
			log_stderr(pri, msg);
	} else
		log_stderr(pri, msg);
	errno = saved;
}

#define LOG_BODY(pri, with_errno)                                              \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vemit(pri, with_errno, fmt, ap);                           \
		va_end(ap);                                                    \
	} while (0)

void
log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

void
log_fatalx_status(int status, const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(status);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 1);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, 1);
}

void
log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, 0);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, 0);
}
