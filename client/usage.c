#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alertctl.h"
#include "usage.h"

static const struct usage_text {
	const char *command;
	const char *text;
} usage_texts[] = {
    {NULL,
        "Usage: alertctl [-c CONFIG] [-v] COMMAND [ARGS]\n"
        "\n"
        "Commands:\n"
        "  keygen device PREFIX        new device key pair: PREFIX.key, "
        "PREFIX.pub\n"
        "  keygen recipient PREFIX     new recipient key pair\n"
        "  keygen webhook-secret FILE  new webhook secret (whsec_...)\n"
        "  pin CERTFILE                print the relay certificate's pin\n"
        "  send --type TYPE [...]      send an alert through the relay\n"
        "  receive --listen ADDR [...] receive alerts as a webhook endpoint\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE  client configuration (default: $ALERTCTL_CONF,\n"
        "                     else ~/.config/alertrelay/alertctl.conf)\n"
        "  -v, --verbose      more diagnostics on stderr\n"
        "  -h, --help         this help; 'alertctl COMMAND --help' for more\n"
        "  -V, --version      print the version\n"
        "\n"
        "Exit status: 0 success, 1 failure, 2 usage error.\n"},
    {"keygen",
        "Usage: alertctl keygen device PREFIX\n"
        "       alertctl keygen recipient PREFIX\n"
        "       alertctl keygen webhook-secret FILE\n"
        "\n"
        "device:         Ed25519 signing key pair of a panic device.\n"
        "recipient:      X25519 key pair of a contact point; alerts are\n"
        "                encrypted to its public key.\n"
        "webhook-secret: secret shared by the relay and a webhook receiver.\n"
        "\n"
        "Secret files get mode 0600.  Existing files are never overwritten.\n"
        "For key pairs the public key is printed on stdout.\n"},
    {"pin",
        "Usage: alertctl pin CERTFILE\n"
        "\n"
        "Prints the pin of the relay's PEM certificate: the base64 SHA-256\n"
        "of its public key.  Put it in relay_pin in the client config.\n"},
    {"send",
        "Usage: alertctl [-c CONFIG] send --type panic|threat|test\n"
        "           [--message TEXT] [--lat DEG --lon DEG [--accuracy M]]\n"
        "           [--timeout SECONDS] [--alert-id HEX32]\n"
        "\n"
        "Encrypts the alert to every recipient in the config, signs it with\n"
        "the device key and delivers it to the relay over pinned TLS 1.3,\n"
        "retrying across relays until the relay confirms it is stored.\n"
        "\n"
        "  -t, --type TYPE     panic, threat or test (required)\n"
        "  -m, --message TEXT  free text for the recipients\n"
        "      --lat, --lon    position in decimal degrees\n"
        "      --accuracy M    accuracy of the position in metres\n"
        "      --timeout S     give up after S seconds (default 30)\n"
        "      --alert-id ID   resend an earlier alert (its id is printed\n"
        "                      first, as alert_id=...)\n"
        "  -c, --config FILE   client configuration\n"
        "\n"
        "Exit status 0 only once the relay accepted the alert.\n"},
    {"receive",
        "Usage: alertctl receive --listen HOST:PORT --key KEYFILE\n"
        "           --secret FILE|whsec_... --devices DIR\n"
        "           [--recipient-id ID] [--path PATH] [--pretty]\n"
        "\n"
        "Runs the contact point's webhook endpoint (plain HTTP; put it\n"
        "behind TLS or keep it on loopback).  Each verified alert is printed\n"
        "as one JSON line on stdout before the request is answered 200.\n"
        "\n"
        "  -l, --listen ADDR      address to listen on (port 0: any free "
        "port)\n"
        "  -k, --key FILE         recipient secret key (from keygen "
        "recipient)\n"
        "  -s, --secret S         webhook secret: a file, or whsec_... itself\n"
        "  -d, --devices DIR      device public keys, as DIR/<device_id>.pub\n"
        "      --recipient-id ID  refuse alerts addressed to another "
        "recipient\n"
        "      --path PATH        accept only this URL path (default: any)\n"
        "      --pretty           human-readable blocks instead of JSON\n"},
};

static const struct usage_text *
usage_find(const char *command)
{
	size_t i;

	for (i = 0; i < sizeof(usage_texts) / sizeof(usage_texts[0]); i++) {
		const char *c = usage_texts[i].command;

		if ((c == NULL && command == NULL) ||
		    (c != NULL && command != NULL && strcmp(c, command) == 0))
			return &usage_texts[i];
	}
	return NULL;
}

void
usage_print(const char *command, FILE *f)
{
	const struct usage_text *u = usage_find(command);

	if (u != NULL)
		fputs(u->text, f);
}

int
usage_known(const char *command)
{
	return command != NULL && usage_find(command) != NULL;
}

int
usage_error(const char *command, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (command != NULL)
		log_warnx("%s: %s (see 'alertctl %s --help')", command, msg,
		    command);
	else
		log_warnx("%s (see 'alertctl --help')", msg);
	return EXIT_USAGE;
}
