/*
 * An alert not yet at any relay, sealed again to the newer directory the
 * device verified after it sealed it (docs/RELIABILITY.md): the same
 * alert (alert_id, created_at, type, text, place, drill) signed again by
 * the device, with new sealed boxes and the new recipient list, so that
 * a recipient the directory dropped cannot read it and one it added
 * gets it.  Shared by alertctl button and libalertclient's ar_send.
 */
#ifndef ALERTCTL_ALERT_RESEAL_H
#define ALERTCTL_ALERT_RESEAL_H

#include <stddef.h>

#include "alert.h"
#include "device.h"
#include "resend.h"

enum alert_reseal_result {
	ALERT_RESEAL_NONE, /* sealed to the directory in use already */
	ALERT_RESEAL_DONE, /* item i now holds the new sealing */
	ALERT_RESEAL_FAILED, /* logged; item i keeps the old sealing */
};

/* Item i of q is alert a, sealed to directory *sealed_dir.  When d holds
 * a newer one, a is sealed to its recipients, the outbox entry in dir
 * is replaced (one fsync'd rename) before item i takes the new envelope,
 * and *sealed_dir follows.  must_keep: an outbox that cannot keep the
 * new sealing leaves everything as it was (what is sent is what a later
 * run sends again), and only an alert this process alone has is sealed
 * again, since no other sender can have sent its bytes: one whose entry
 * it holds (*hold, see outbox.h), or one the outbox never kept
 * (*hold OUTBOX_NOT_KEPT: with no entry on disk, an outbox that cannot
 * keep the new sealing either changes nothing a later run would send).
 * Else the new one goes all the same (the old one was refused
 * everywhere).  *hold then holds the new entry, if the outbox kept it.
 * The caller checks that it has not sent the old bytes itself
 * (resend_sent), or that they were refused. */
enum alert_reseal_result alert_reseal(struct device *d, const struct alert *a,
    long long *sealed_dir, const char *dir, struct resend *q, size_t i,
    int must_keep, int *hold);

#endif
