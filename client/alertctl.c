/*
 * alertctl main: global options, then dispatch to one cmd_*.c per
 * subcommand.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alertclient.h"
#include "alertctl.h"
#include "i18n.h"
#include "log.h"
#include "usage.h"

static const struct alertctl_command {
	const char *name;
	int (*run)(int, char **, struct globals *);
} alertctl_commands[] = {
    {"keygen", cmd_keygen},
    {"pin", cmd_pin},
    {"send", cmd_send},
    {"receive", cmd_receive},
    {"cancel", cmd_cancel},
    {"pincode", cmd_pincode},
    {"checkin", cmd_checkin},
    {"status", cmd_status},
    {"list", cmd_list},
    {"ack", cmd_ack},
    {"inbox", cmd_inbox},
    {"watch", cmd_watch},
    {"button", cmd_button},
    {"org", cmd_org},
    {"device", cmd_device},
    {"recipient", cmd_recipient},
    {"directory", cmd_directory},
    {"enroll", cmd_enroll},
    {"reload", cmd_reload},
    {"deadletter", cmd_deadletter},
    {"audit", cmd_audit},
};

static int
alertctl_dispatch(int argc, char **argv, struct globals *g)
{
	size_t i;

	for (i = 0;
	     i < sizeof(alertctl_commands) / sizeof(alertctl_commands[0]); i++)
		if (strcmp(argv[0], alertctl_commands[i].name) == 0)
			return alertctl_commands[i].run(argc, argv, g);
	return usage_error(NULL, _("unknown command '%s'"), argv[0]);
}

/* "alertctl help [COMMAND]", for those who type it that way. */
static int
alertctl_help(int argc, char **argv)
{
	if (argc < 2) {
		usage_print(NULL, stdout);
		return EXIT_OK;
	}
	if (!usage_known(argv[1]))
		return usage_error(NULL, _("unknown command '%s'"), argv[1]);
	usage_print(argv[1], stdout);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct globals g = {NULL, 0};
	int ch;

	/* libalertclient once (send goes through it); then the catalogue
	 * as alertctl finds it and alertctl's own log. */
	if (ar_init() != AR_OK)
		log_fatalx("%s", _("libsodium failed to initialise"));
	i18n_init();
	log_init("alertctl", LOG_INFO, LOG_TO_STDERR);
	/* A person reads this: "alertctl: ..." without times and pids
	 * (-v brings them back; watch and receive under a service manager
	 * or into a file keep them, cmd_watch.c, cmd_receive.c). */
	log_set_human(1);
	/* A relay or a reader that goes away is an error to handle, not a
	 * reason to die silently. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		log_fatalx("%s", _("libsodium failed to initialise"));

	/* "+": stop at the subcommand, whose options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			g.config = optarg;
			break;
		case 'v':
			g.verbose = 1;
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_print(NULL, stdout);
			return EXIT_OK;
		case 'V':
			puts("alertctl " ALERTCTL_VERSION);
			return EXIT_OK;
		default:
			return usage_error(NULL, "%s", _("unknown option"));
		}
	}
	if (optind >= argc) {
		/* A bare alertctl: what can be done, as a usage error. */
		usage_print(NULL, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0)
		return alertctl_help(argc - optind, argv + optind);
	return alertctl_dispatch(argc - optind, argv + optind, &g);
}
