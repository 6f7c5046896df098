/*
 * alertconsole forget DEVICE-ID --by NAME [--force]: erases one
 * device's data from the console's database (AVG/GDPR art. 17): every
 * webhook, timeline row and claim of its alerts, its device notices and
 * its device state, in one transaction, recorded in retention_log first
 * (who, when, how many of each; not whose), which is what lets the
 * timeline's trigger allow it (console_retention_db.c).  It runs beside
 * a running console: SQLite's WAL and a busy timeout let each wait for
 * the other's short transactions.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "console.h"
#include "console_db.h"
#include "console_db_view.h"
#include "console_users.h"
#include "i18n.h"
#include "log.h"
#include "util.h"

/* How long it waits for the console's own transaction (one webhook or
 * one sweep step: milliseconds). */
#define CONSOLE_FORGET_BUSY_MS 10000

static const char console_forget_usage[] =
    "usage: alertconsole [-c console.conf] forget DEVICE-ID --by NAME "
    "[--force]\n";

/* The device's alerts (?1) by alert_device (kept until alert_history
 * ends: its webhooks, which name the device, may be gone), and every
 * webhook that names the device (its notices, whose alert_id is their
 * own, and whatever came about its alerts).  The webhooks are read with
 * json_extract, so most of them before the write lock (those up to
 * forget_mark) and only the newer ones within it (console_forget_run):
 * the console waits for the short part only. */
static const char console_forget_mark[] =
    "INSERT INTO forget_mark SELECT COALESCE(MAX(id), 0) FROM webhook";
static const char console_forget_before[] =
    "INSERT OR IGNORE INTO forget_ids SELECT alert_id FROM webhook WHERE"
    " id <= (SELECT id FROM forget_mark) AND " CONSOLE_DB_DEVICE " = ?1";
static const char console_forget_after[] =
    "INSERT OR IGNORE INTO forget_ids SELECT alert_id FROM webhook WHERE"
    " id > (SELECT id FROM forget_mark) AND " CONSOLE_DB_DEVICE " = ?1";
static const char console_forget_ids[] =
    "INSERT OR IGNORE INTO forget_ids SELECT alert_id FROM alert_device"
    " WHERE device_id = ?1";

#define FORGET_IN " WHERE alert_id IN (SELECT alert_id FROM forget_ids)"

enum { F_ALERTS, F_OPEN, F_WEBHOOKS, F_TIMELINE, F_CLAIMS, F_DEVICE, F_N };

static const char *const console_forget_count_sql[F_N] = {
    "SELECT COUNT(*) FROM alert_device" FORGET_IN,
    "SELECT COUNT(*) FROM open_alert" FORGET_IN,
    "SELECT COUNT(*) FROM webhook" FORGET_IN,
    "SELECT COUNT(*) FROM timeline" FORGET_IN,
    "SELECT COUNT(*) FROM claim" FORGET_IN,
    "SELECT COUNT(*) FROM device_state WHERE device_id = ?1",
};

/* The record first (the trigger on erasing asks for it), then the rows:
 * the timeline before the webhooks its triggers may look at. */
static const char *const console_forget_steps[] = {
    "INSERT INTO retention_log (at, by, what, rows, detail) VALUES"
    " (unixepoch(), ?2, 'erasure', ?3, ?4)",
    "INSERT INTO erasing (alert_id, erasure_id) SELECT alert_id, (SELECT"
    " MAX(id) FROM retention_log WHERE what = 'erasure') FROM forget_ids",
    "DELETE FROM timeline WHERE alert_id IN (SELECT alert_id FROM erasing)",
    "DELETE FROM claim WHERE alert_id IN (SELECT alert_id FROM erasing)",
    "DELETE FROM open_alert WHERE alert_id IN (SELECT alert_id FROM"
    " erasing)",
    "DELETE FROM webhook WHERE alert_id IN (SELECT alert_id FROM erasing)",
    "DELETE FROM alert_device WHERE alert_id IN (SELECT alert_id FROM"
    " erasing)",
    "DELETE FROM device_state WHERE device_id = ?1",
    "DELETE FROM erasing",
    "DROP TABLE temp.forget_ids",
    "DROP TABLE temp.forget_mark",
};

struct console_forget {
	const char *device, *by;
	long long n[F_N];
	char detail[160];
};

/* One statement with the erasure's parameters (those it names); its
 * first column's value in *out when out is given. */
static int
console_forget_sql(sqlite3 *db, const char *sql, struct console_forget *f,
    long long *out)
{
	sqlite3_stmt *s;
	int rc, i, n;
	long long total = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return log_warnx("database: %s", sqlite3_errmsg(db)), -1;
	n = sqlite3_bind_parameter_count(s);
	for (i = F_WEBHOOKS; i < F_N; i++)
		total += f->n[i];
	if (n >= 1)
		sqlite3_bind_text(s, 1, f->device, -1, SQLITE_STATIC);
	if (n >= 2) {
		sqlite3_bind_text(s, 2, f->by, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, total);
		sqlite3_bind_text(s, 4, f->detail, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return log_warnx("database: %s", sqlite3_errmsg(db)), -1;
	return 0;
}

/* The webhooks that name the device up to now, outside the write
 * lock, into temporary tables (the console's file is not written). */
static int
console_forget_scan(sqlite3 *db, struct console_forget *f)
{
	char *err = NULL;

	if (sqlite3_exec(db,
	        "CREATE TEMP TABLE IF NOT EXISTS forget_ids "
	        "(alert_id TEXT PRIMARY KEY);"
	        "CREATE TEMP TABLE IF NOT EXISTS forget_mark (id INTEGER)",
	        NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("database: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return console_forget_sql(db, console_forget_mark, f, NULL) != 0 ||
	        console_forget_sql(db, console_forget_before, f, NULL) != 0
	    ? -1
	    : 0;
}

/* Within the write lock: the rest of the ids, and how many of each. */
static int
console_forget_count(sqlite3 *db, struct console_forget *f)
{
	int i;

	if (console_forget_sql(db, console_forget_ids, f, NULL) != 0 ||
	    console_forget_sql(db, console_forget_after, f, NULL) != 0)
		return -1;
	for (i = 0; i < F_N; i++)
		if (console_forget_sql(db, console_forget_count_sql[i], f,
		        &f->n[i]) != 0)
			return -1;
	snprintf(f->detail, sizeof(f->detail),
	    "alerts=%lld open=%lld webhooks=%lld timeline=%lld claims=%lld "
	    "device_state=%lld",
	    f->n[F_ALERTS], f->n[F_OPEN], f->n[F_WEBHOOKS], f->n[F_TIMELINE],
	    f->n[F_CLAIMS], f->n[F_DEVICE]);
	return 0;
}

static int
console_forget_erase(sqlite3 *db, struct console_forget *f)
{
	size_t i;

	for (i = 0;
	     i < sizeof(console_forget_steps) / sizeof(console_forget_steps[0]);
	     i++)
		if (console_forget_sql(db, console_forget_steps[i], f, NULL) !=
		    0)
			return -1;
	return 0;
}

/* 0 erased, 1 refused or failed (nothing changed). */
static int
console_forget_run(sqlite3 *db, struct console_forget *f, int force)
{
	if (console_forget_scan(db, f) != 0)
		return 1;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		log_warnx("database: %s", sqlite3_errmsg(db));
		return 1;
	}
	if (console_forget_count(db, f) != 0)
		goto fail;
	/* an open alert may be someone still in danger, in an operator's
	 * hands: erased only when whoever asks says so */
	if (f->n[F_OPEN] > 0 && !force) {
		fprintf(stderr,
		    _("%lld alert(s) of device %s are still open: nothing "
		      "erased. Close them in the console first, or give "
		      "--force.\n"),
		    f->n[F_OPEN], f->device);
		goto fail;
	}
	if (console_forget_erase(db, f) != 0 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	printf(_("Device %s erased: %lld alert(s), %lld webhook(s), %lld "
	         "timeline row(s), %lld claim(s), %lld device state(s).\n"),
	    f->device, f->n[F_ALERTS], f->n[F_WEBHOOKS], f->n[F_TIMELINE],
	    f->n[F_CLAIMS], f->n[F_DEVICE]);
	log_info("erasure by %s: %s", f->by, f->detail);
	return 0;
fail:
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return 1;
}

static int
console_forget_args(int argc, char **argv, struct console_forget *f, int *force)
{
	static const struct option longopts[] = {
	    {"by", required_argument, NULL, 'b'},
	    {"force", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0; /* 0: glibc starts afresh (a new argv) */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'b')
			f->by = optarg;
		else if (ch == 'f')
			*force = 1;
		else
			return -1;
	}
	/* argv[0], "forget", is getopt's program name */
	if (optind + 1 != argc || f->by == NULL)
		return -1;
	f->device = argv[optind];
	return id_valid(f->device) && console_users_name_ok(f->by) ? 0 : -1;
}

/* The erased rows' bytes out of console.db-wal: the WAL's frames still
 * hold the notes as they were written, until a checkpoint has copied
 * every frame and the WAL is cut to nothing.  The running console holds
 * no read transaction between requests, so this goes through; a reader
 * of an older snapshot (a backup) may keep it from doing so for longer
 * than the wait: then the console's next retention sweep tries again
 * (it sees another process's commit: console_retention.c), and the
 * operator is told. */
static void
console_forget_truncate(struct console_db *db)
{
	if (console_db_truncate(db, CONSOLE_FORGET_BUSY_MS) == 1)
		return;
	fprintf(stderr,
	    _("The erased rows may stay in console.db-wal until the "
	      "console's next retention sweep: the database was busy.\n"));
	log_warnx("erasure: console.db-wal not truncated (busy), left to "
	          "the console's next sweep");
}

/* argv: "forget", DEVICE-ID, --by NAME, [--force]. */
int
console_forget_cmd(struct console_config *cfg, int argc, char **argv)
{
	struct console_forget f;
	struct console_db *db;
	int force = 0, rc;

	memset(&f, 0, sizeof(f));
	i18n_init();
	if (console_forget_args(argc, argv, &f, &force) != 0) {
		fputs(console_forget_usage, stderr);
		return 2;
	}
	/* as the console's user, so that the database stays its own */
	if ((db = console_user_db(cfg)) == NULL)
		return 1;
	sqlite3_busy_timeout(console_db_sqlite(db), CONSOLE_FORGET_BUSY_MS);
	rc = console_forget_run(console_db_sqlite(db), &f, force);
	if (rc == 0)
		console_forget_truncate(db);
	console_db_close(db);
	return rc;
}
