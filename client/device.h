/*
 * What every command that speaks to the relay as this device needs: the
 * client configuration and the device key, and (for cancel, status and
 * list) one set of options.
 */
#ifndef ALERTCTL_DEVICE_H
#define ALERTCTL_DEVICE_H

#include <jansson.h>

#include "alertctl.h"
#include "client_config.h"

#define DEVICE_TIMEOUT_DEFAULT 30
#define DEVICE_TIMEOUT_MAX 86400
#define DEVICE_LIST_MAX 100

struct ack_verifier;

/* Opened in place and never moved: av points into cfg and at sk. */
struct device {
	struct client_config cfg;
	unsigned char *sk; /* Ed25519, guarded memory */
	struct ack_verifier *av; /* this device's checks (ack_verify.h) */
};

/* config: -c, else the default path.  -1 when the configuration or the
 * key cannot be used (logged); device_close() in any case. */
int device_open(struct device *d, const char *config);
/* The same, telling what failed: -1 the configuration (or its
 * directory), -2 the key. */
int device_open_parts(struct device *d, const char *config);
void device_close(struct device *d);
/* With an organisation key and no directory cached yet: fetches and
 * verifies it (trust.h), so there are recipients to seal to.  -1 with
 * why; -2 when a relay refused this device (revoked or unknown). */
int device_fetch_directory(struct device *d, long timeout_s, char *why,
    size_t whylen);

/* The options every device command takes (send too): -c, -v, -h,
 * --timeout.  Commands number their own long options from
 * DEVICE_GETOPT_NEXT. */
#define DEVICE_GETOPT_TIMEOUT 0x100
#define DEVICE_GETOPT_NEXT 0x101
#define DEVICE_SHORTOPTS "c:vh"
/* clang-format off */
#define DEVICE_LONGOPTS                                                        \
	{"timeout", required_argument, NULL, DEVICE_GETOPT_TIMEOUT},           \
	{"config", required_argument, NULL, 'c'},                              \
	{"verbose", no_argument, NULL, 'v'},                                   \
	{"help", no_argument, NULL, 'h'}
/* clang-format on */

/* Handles getopt's ch when it is one of those: 0, -1 after --help, or
 * EXIT_USAGE (reported) for a bad value or any other option. */
int device_opt(const char *command, int ch, const char **config,
    long *timeout_s);

/* Options of cancel, status and list; which ones a command takes. */
#define DEVICE_OPT_ALERT_ID 0x1 /* one argument: the alert_id */
#define DEVICE_OPT_JSON 0x2 /* --json */
#define DEVICE_OPT_LIMIT 0x4 /* --limit N */

struct device_opts {
	const struct device *dev; /* once opened (device_command_run) */
	const char *config;
	const char *alert_id;
	long timeout_s;
	long limit; /* 0: the relay's default */
	int json;
};

/* 0, or EXIT_USAGE (reported), or -1 after --help. */
int device_opts_parse(const char *command, unsigned takes, int argc,
    char **argv, const struct globals *g, struct device_opts *o);

/* A command that is one request to the relay and its answer. */
struct device_command {
	const char *name; /* "cancel" */
	unsigned takes; /* DEVICE_OPT_* */
	const char *answer; /* the answer's type: "cancelled" */
	json_t *(*frame)(const struct device *, const struct device_opts *);
	/* Prints the answer; returns the exit code. */
	int (*answered)(const json_t *o, void *opts);
	/* Optional: an error answer; -1 as usual, else the exit code. */
	int (*refused)(const json_t *o, void *opts);
};

/* Options, configuration, key, request, answer: the exit code. */
int device_command_run(const struct device_command *c, int argc, char **argv,
    const struct globals *g);

#endif
