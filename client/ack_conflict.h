/*
 * What a relay's 409 to an acknowledgement says (docs/PROTOCOL.md, the
 * ack listener): that the alert was cancelled, or something else, such
 * as a signed statement that does not match the alert.  Shared by
 * `alertctl ack` and alertconsole, so both tell a person "cancelled"
 * only when the relay said so.
 */
#ifndef ALERTCTL_ACK_CONFLICT_H
#define ALERTCTL_ACK_CONFLICT_H

#include <stddef.h>

/* 1 when the 409's body says the alert was cancelled: its "code", or
 * from a relay of before the code its "error" text; 0 otherwise (also
 * for a body that is no JSON object). */
int ack_conflict_cancelled(const char *body, size_t len);

#endif
