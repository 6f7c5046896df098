/*
 * alertctl: the device side of alertrelay (key generation, pinning,
 * sending, following and cancelling alerts) and the contact point's
 * side (webhook receiver, acknowledgements).
 */
#ifndef ALERTCTL_H
#define ALERTCTL_H

#define ALERTCTL_VERSION "0.1.0"

/* Exit codes, for scripts and for the panic button's firmware
 * (alertctl(1), EXIT STATUS).  send: EXIT_FAIL means the relay does not
 * have the alert (it waits in the outbox); EXIT_REVOKED that the relays
 * refuse this device; EXIT_UNCONFIRMED that the relay has the alert but
 * --wait did not see it delivered or acknowledged. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_REVOKED 3
#define EXIT_UNCONFIRMED 4

/* Options given before the subcommand. */
struct globals {
	const char *config; /* -c, or NULL for the default */
	int verbose;
};

/* Each subcommand gets argv starting at its own name. */
int cmd_keygen(int argc, char **argv, struct globals *g);
int cmd_pin(int argc, char **argv, struct globals *g);
int cmd_send(int argc, char **argv, struct globals *g);
int cmd_receive(int argc, char **argv, struct globals *g);
int cmd_cancel(int argc, char **argv, struct globals *g);
int cmd_checkin(int argc, char **argv, struct globals *g);
int cmd_status(int argc, char **argv, struct globals *g);
int cmd_list(int argc, char **argv, struct globals *g);
int cmd_ack(int argc, char **argv, struct globals *g);
int cmd_watch(int argc, char **argv, struct globals *g);
/* The panic button at the desk (cmd_button.c). */
int cmd_button(int argc, char **argv, struct globals *g);
/* The administrator's directory, and enrolling a device from it. */
int cmd_org(int argc, char **argv, struct globals *g);
int cmd_device(int argc, char **argv, struct globals *g);
int cmd_recipient(int argc, char **argv, struct globals *g);
int cmd_directory(int argc, char **argv, struct globals *g);
int cmd_enroll(int argc, char **argv, struct globals *g);
int cmd_reload(int argc, char **argv, struct globals *g);
int cmd_deadletter(int argc, char **argv, struct globals *g);

#endif
