/*
 * One logging family for both programs.  Every call writes one line.
 * The *_warn and log_fatal variants append strerror(errno).
 * Never pass secrets or alert content to these functions.
 */
#ifndef ALERTRELAY_LOG_H
#define ALERTRELAY_LOG_H

#include <syslog.h>

#define PRINTFLIKE(n, m) __attribute__((format(printf, n, m)))

/* Destinations: stderr (plain, or with <N> prefixes under journald). */
enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG };

void log_init(const char *progname, int level, enum log_dest dest);
void log_set_level(int level);
/* For a person at a terminal: "progname: message", no time, no pid;
 * "progname: error: message" for log_error* and log_fatal*.  At the
 * debug level (-v) the detailed lines come back. */
void log_set_human(int on);
int log_level_parse(const char *name); /* -1 when unknown */

/* The text of the last warning or error logged: a fatal line repeats
 * it, since an operator may see only the last line (systemctl status). */
const char *log_last_problem(void);
/* Starts afresh: a problem logged after this is one's own (this thread). */
void log_forget_problem(void);

void log_fatal(const char *fmt, ...) PRINTFLIKE(1, 2) __attribute__((noreturn));
/* log_fatalx() with the exit status given (workers.h's 78, say). */
void log_fatalx_status(int status, const char *fmt, ...) PRINTFLIKE(2, 3)
    __attribute__((noreturn));
void log_fatalx(const char *fmt, ...) PRINTFLIKE(1, 2)
    __attribute__((noreturn));
/* An error that ends the command, which still returns (its exit status
 * tells the caller). */
void log_error(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_errorx(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_info(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_debug(const char *fmt, ...) PRINTFLIKE(1, 2);

#endif
