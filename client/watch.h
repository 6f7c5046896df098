/*
 * What send --wait waits for (the following itself is libalertclient's,
 * lib/ar_follow.c): a notification that went through, or a person's
 * acknowledgement.
 */
#ifndef ALERTCTL_WATCH_H
#define ALERTCTL_WATCH_H

#define WATCH_SEEN_MAX 4096 /* events remembered for not telling twice */

enum watch_until {
	WATCH_NONE, /* no following: send ends at accepted */
	WATCH_DELIVERED, /* a notification went through */
	WATCH_ACK, /* a person acknowledged the alert */
};

/* "none", "delivered" or "ack"; -1 for anything else. */
int watch_until_parse(const char *s, enum watch_until *out);
/* "delivered", "acknowledged": for messages. */
const char *watch_until_name(enum watch_until until);

#endif
