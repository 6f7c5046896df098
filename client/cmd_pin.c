/* alertctl pin: the SPKI pin of a relay certificate, for relay_pin. */
#include <getopt.h>
#include <stdio.h>

#include "i18n.h"
#include "alertctl.h"
#include "log.h"
#include "out.h"
#include "tls.h"
#include "usage.h"

int
cmd_pin(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char pin[TLS_PIN_LEN];
	int ch;

	(void)g;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch != 'h')
			return usage_error("pin", _("bad option"));
		usage_print("pin", stdout);
		return EXIT_OK;
	}
	if (argc - optind != 1)
		return usage_error("pin", _("expected one certificate file"));
	if (tls_pin_of_file(argv[optind], pin) != 0) {
		log_errorx(_("%s: not a readable PEM certificate"),
		    argv[optind]);
		return EXIT_FAIL;
	}
	return out_line("%s", pin) == 0 ? EXIT_OK : EXIT_FAIL;
}
