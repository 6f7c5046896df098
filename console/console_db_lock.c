/*
 * The running console's hold on its own schema (console_db.h,
 * console_db_lock): once the schema is set up and upgraded, an SQLite
 * authorizer refuses every statement that would change it.
 *
 * Why: the timeline's append-only triggers and the retention triggers
 * (console_retention_db.c) hold against any single DML statement, but
 * not against DROP TRIGGER, an ALTER TABLE that renames the table from
 * under them, PRAGMA writable_schema or an ATTACHed file.  A bug or an
 * injection in the running console can now only reach rows, through
 * the triggers; the schema is changed by the console's own start (its
 * upgrades) and by nobody after.
 */
#include <string.h>

#include <sqlite3.h>

#include "console_db.h"
#include "log.h"

/* The pragmas the running console asks (the retention sweep,
 * console_retention.c), and whether with an argument; every other
 * pragma, and these with another argument, is refused. */
static const struct {
	const char *name;
	int with_arg;
} console_db_lock_pragmas[] = {
    {"auto_vacuum", 0},
    {"data_version", 0},
    {"freelist_count", 0},
    {"user_version", 0},
    {"incremental_vacuum", 1},
};

static int
console_db_lock_pragma(const char *name, const char *arg)
{
	size_t i;

	for (i = 0; i < sizeof(console_db_lock_pragmas) /
	         sizeof(console_db_lock_pragmas[0]);
	     i++)
		if (strcasecmp(name, console_db_lock_pragmas[i].name) == 0)
			return arg == NULL ||
			        console_db_lock_pragmas[i].with_arg
			    ? SQLITE_OK
			    : SQLITE_DENY;
	return SQLITE_DENY;
}

/* The schema's own table, written by hand only with writable_schema
 * (refused, and by SQLITE_DBCONFIG_DEFENSIVE), refused here too. */
static int
console_db_lock_schema_table(const char *table)
{
	return table != NULL &&
	    (strcasecmp(table, "sqlite_master") == 0 ||
	        strcasecmp(table, "sqlite_schema") == 0 ||
	        strcasecmp(table, "sqlite_temp_master") == 0 ||
	        strcasecmp(table, "sqlite_temp_schema") == 0);
}

static int
console_db_lock_verdict(int action, const char *a1, const char *a2)
{
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		return console_db_lock_schema_table(a1) ? SQLITE_DENY
		                                        : SQLITE_OK;
	case SQLITE_PRAGMA:
		return console_db_lock_pragma(a1, a2);
	default:
		/* CREATE, DROP, ALTER, ATTACH, DETACH, REINDEX, ANALYZE,
		 * virtual tables, and whatever a newer SQLite adds */
		return SQLITE_DENY;
	}
}

static int
console_db_lock_auth(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	int verdict = console_db_lock_verdict(action, a1, a2);

	(void)arg;
	(void)dbname;
	(void)trigger;
	/* never a statement of the console's own: a bug or an attack.
	 * The action's number only: the names are the statement's text. */
	if (verdict == SQLITE_DENY)
		log_warnx("database: a statement refused, the schema is "
		          "locked (authorizer action %d)",
		    action);
	return verdict;
}

int
console_db_lock(struct console_db *d)
{
	sqlite3 *db = console_db_sqlite(d);
	int on = -1;

	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) !=
	        SQLITE_OK ||
	    on != 1 ||
	    sqlite3_set_authorizer(db, console_db_lock_auth, NULL) !=
	        SQLITE_OK) {
		log_warnx("database: cannot lock the schema: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}
