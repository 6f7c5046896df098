/*
 * alertconsole user add|list|remove|passwd: the operators' accounts, in
 * the console's database (console_users.c).  A password is read from
 * the terminal (twice, not echoed) or, when stdin is not a terminal,
 * as one line from stdin; never from the command line, which other
 * users of the host can see.
 */
#include <sys/stat.h>

#include <grp.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "console.h"
#include "console_db.h"
#include "console_users.h"
#include "log.h"
#include "text_char.h"
#include "privdrop.h"

static const char console_user_usage[] =
    "usage: alertconsole [-c console.conf] user add NAME "
    "[--role operator|supervisor]\n"
    "       alertconsole [-c console.conf] user passwd NAME\n"
    "       alertconsole [-c console.conf] user remove NAME\n"
    "       alertconsole [-c console.conf] user list\n";

/* One line into buf (without its newline); -1 at EOF or when too long. */
static int
console_user_line(FILE *in, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, in) == NULL)
		return -1;
	n = strcspn(buf, "\n");
	if (buf[n] != '\n' && !feof(in))
		return -1;
	buf[n] = '\0';
	return 0;
}

static int
console_user_prompt(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int rc;

	if (tty == NULL)
		return -1;
	fputs(prompt, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	rc = console_user_line(tty, buf, len);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return rc;
}

static int
console_user_password(char *buf, size_t len)
{
	char again[CONSOLE_PASS_MAX + 2];
	int rc = 0;

	if (!isatty(STDIN_FILENO)) {
		if (console_user_line(stdin, buf, len) != 0)
			return log_warnx("no password on stdin"), -1;
	} else if (console_user_prompt("Password: ", buf, len) != 0 ||
	    console_user_prompt("Again: ", again, sizeof(again)) != 0)
		rc = -1;
	else if (strcmp(buf, again) != 0) {
		log_warnx("the passwords differ");
		rc = -1;
	}
	sodium_memzero(again, sizeof(again));
	if (rc == 0 && strlen(buf) < CONSOLE_PASS_MIN) {
		log_warnx("a password needs at least %d characters",
		    CONSOLE_PASS_MIN);
		rc = -1;
	}
	return rc;
}

static int
console_user_run(struct sqlite3 *db, const char *verb, const char *name,
    const char *role)
{
	char pw[CONSOLE_PASS_MAX + 2];
	int rc = -1;

	if (strcmp(verb, "list") == 0)
		return console_users_list(db);
	if (strcmp(verb, "remove") == 0)
		rc = console_users_remove(db, name);
	else if (console_user_password(pw, sizeof(pw)) != 0)
		rc = -1;
	else if (strcmp(verb, "add") == 0)
		rc = console_users_add(db, name, role, pw);
	else
		rc = console_users_passwd(db, name, pw);
	sodium_memzero(pw, sizeof(pw));
	if (rc == 0)
		log_info("user %s: %s done", name, verb);
	return rc;
}

static int
console_user_args(int argc, char **argv, const char **role)
{
	static const struct option longopts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0; /* 0: glibc starts afresh (a new argv) */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'r' || !console_users_role_ok(optarg))
			return -1;
		*role = optarg;
	}
	return 0;
}

/* As whom the database is opened: the configured user; or, run as
 * root without one (systemd's DynamicUser=, whose state directory sits
 * behind /var/lib/private, 0700), the owner of the state directory,
 * from inside it.  Never as root on a directory root does not own. */
struct console_db *
console_user_db(struct console_config *cfg)
{
	struct stat st;

	if (geteuid() != 0 || cfg->user[0] != '\0')
		return privdrop(cfg->user) == 0
		    ? console_db_open(cfg->state_dir)
		    : NULL;
	if (stat(cfg->state_dir, &st) != 0) {
		log_warn("state_dir %s", cfg->state_dir);
		return NULL;
	}
	if (st.st_uid == 0)
		return console_db_open(cfg->state_dir);
	if (chdir(cfg->state_dir) != 0 || setgroups(0, NULL) != 0 ||
	    setgid(st.st_gid) != 0 || setuid(st.st_uid) != 0 || getuid() == 0) {
		log_warn("cannot become the owner of %s", cfg->state_dir);
		return NULL;
	}
	return console_db_open(".");
}

/* argv: "user", VERB, [NAME], [--role R]. */
int
console_user_cmd(struct console_config *cfg, int argc, char **argv)
{
	const char *role = "operator", *verb, *name = NULL;
	struct console_db *db;
	int rc;

	/* getopt moves VERB and NAME after the options */
	if (console_user_args(argc, argv, &role) != 0 || optind >= argc)
		goto usage;
	verb = argv[optind];
	if (strcmp(verb, "list") == 0 ? optind + 1 != argc : optind + 2 != argc)
		goto usage;
	if (strcmp(verb, "list") != 0) {
		name = argv[optind + 1];
		if (!console_users_name_ok(name)) {
			log_warnx("a name is 1 to %d characters, no control "
			          "characters, no space at either end",
			    CONSOLE_NAME_MAX);
			return 2;
		}
	}
	/* A new name also passes the relay's rule for the "by" of an
	 * acknowledgement (text_char.h): with a bidi override or a C1
	 * control in it, every acknowledgement the operator makes would be
	 * refused.  Names already there keep working for remove and
	 * passwd. */
	if (strcmp(verb, "add") == 0 && !text_ok(name, CONSOLE_NAME_MAX)) {
		log_warnx("a name with a bidi override or isolate or a C1 "
		          "control character is refused: the relay would "
		          "refuse every acknowledgement made under it");
		return 2;
	}
	if (strcmp(verb, "list") != 0 && strcmp(verb, "add") != 0 &&
	    strcmp(verb, "remove") != 0 && strcmp(verb, "passwd") != 0)
		goto usage;
	/* as the console's user, so that the database stays its own */
	if ((db = console_user_db(cfg)) == NULL)
		return 1;
	rc = console_user_run(console_db_sqlite(db), verb, name, role);
	console_db_close(db);
	return rc == 0 ? 0 : 1;
usage:
	fputs(console_user_usage, stderr);
	return 2;
}
