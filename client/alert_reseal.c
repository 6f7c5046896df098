/*
 * Sealing an unsent alert again to a newer directory (alert_reseal.h).
 */
#include <string.h>

#include "ack_verify.h"
#include "alert_reseal.h"
#include "alert_seal.h"
#include "i18n.h"
#include "log.h"
#include "outbox.h"

enum alert_reseal_result
alert_reseal(struct device *d, const struct alert *a, long long *sealed_dir,
    const char *dir, struct resend *q, size_t i, int must_keep, int *hold)
{
	const struct client_config *cfg = &d->cfg;
	unsigned char mac[OUTBOX_MAC_BYTES];
	struct sealed_alert fresh;
	char err[256];
	int held = -1, kept = *hold != OUTBOX_NOT_KEPT;

	if (!cfg->has_org || cfg->nrecipients == 0 ||
	    cfg->dir_version <= *sealed_dir || (must_keep && kept && *hold < 0))
		return ALERT_RESEAL_NONE;
	if (alert_seal(a, cfg, d->sk, &fresh, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return ALERT_RESEAL_FAILED;
	}
	/* On disk first: a crash after the send must leave these bytes for
	 * the next run, not the old ones (a conflict at the relay).  With
	 * no old ones on disk, there is nothing a next run could send. */
	outbox_mac(a, cfg, d->sk, mac);
	if ((dir == NULL || outbox_replace(dir, &fresh, mac, &held) != 0) &&
	    must_keep && kept) {
		log_warnx(_("alert %s: the outbox cannot keep it sealed to "
		            "directory version %lld; it goes as it was sealed"),
		    a->alert_id, cfg->dir_version);
		alert_seal_free(&fresh);
		return ALERT_RESEAL_FAILED;
	}
	if (held >= 0) { /* the new entry is ours now, the old one gone */
		outbox_let_go(hold);
		*hold = held;
	}
	*sealed_dir = cfg->dir_version;
	/* what a signed acknowledgement of it must name (ack_verify.h) */
	ack_verify_sent(d->av, fresh.alert_id, fresh.envelope,
	    strlen(fresh.envelope));
	resend_replace(q, i, &fresh);
	return ALERT_RESEAL_DONE;
}
