/*
 * The PIN file after a set or a clear, for the official's own PIN or a
 * duress one (pincode_change.h).  The file is replaced whole (afile.h:
 * synced, then renamed), so a forced state survives a crash or restart.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "afile.h"
#include "pincode_change.h"
#include "util.h"

/* Whether the change leaves the device forced.  Without a current PIN
 * (no PINs shown) the new PIN tells: the official's own one ends it.
 * pinfile_is_own runs Argon2id once in every case, file or not. */
static int
pincode_change_forced(const struct pinfile *cur, enum pin_match m,
    const char *pin)
{
	int own;

	if (cur != NULL && pinfile_shows_pins(cur))
		return m == PIN_DURESS;
	own = pinfile_is_own(cur, pin);
	return cur != NULL && !own;
}

/* The official's own hashes kept, the device forced, showing what the
 * coercer expects: the new PINs (hashed in shown_*) or none. */
static void
pincode_change_keep(struct pinfile *next, const struct pinfile *cur, int shown)
{
	memcpy(next->pin, cur->pin, sizeof(next->pin));
	memcpy(next->duress, cur->duress, sizeof(next->duress));
	next->forced = 1;
	next->shown = shown;
}

/* The new PINs as the official's own, nothing shown apart. */
static void
pincode_change_own(struct pinfile *next)
{
	memcpy(next->pin, next->shown_pin, sizeof(next->pin));
	memcpy(next->duress, next->shown_duress, sizeof(next->duress));
	sodium_memzero(next->shown_pin, sizeof(next->shown_pin));
	sodium_memzero(next->shown_duress, sizeof(next->shown_duress));
}

int
pincode_change_set(const char *path, const struct pinfile *cur,
    enum pin_match m, const char *pin, const char *duress, char *err,
    size_t errlen)
{
	struct pinfile next;
	int rc = -1;

	memset(&next, 0, sizeof(next));
	if (pinfile_hash_pin(next.shown_pin, pin) != 0 ||
	    pinfile_hash_pin(next.shown_duress, duress) != 0) {
		errf(err, errlen, "out of memory hashing the PINs");
		goto out;
	}
	if (pincode_change_forced(cur, m, pin))
		pincode_change_keep(&next, cur, 1);
	else
		pincode_change_own(&next);
	rc = pinfile_store(path, &next, err, errlen);
out:
	sodium_memzero(&next, sizeof(next));
	return rc;
}

int
pincode_change_clear(const char *path, const struct pinfile *cur,
    enum pin_match m, char *err, size_t errlen)
{
	struct pinfile next;
	int rc;

	if (m != PIN_DURESS) {
		/* synced: a crash must not bring the PINs (or a forced
		 * state) back */
		if (afile_remove(path) != 0) {
			errf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	memset(&next, 0, sizeof(next));
	pincode_change_keep(&next, cur, 0);
	rc = pinfile_store(path, &next, err, errlen);
	sodium_memzero(&next, sizeof(next));
	return rc;
}
