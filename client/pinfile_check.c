/*
 * Which PIN was entered, against the hashes of a PIN file (pinfile.h).
 * Every check runs Argon2id over the same four hashes whatever the file
 * says and whatever matched, so that neither the time of a check nor
 * which branch it took tells the duress PIN from the own one, a forced
 * file from a plain one.  That work is also what limits guessing: each
 * try costs it, at cancel and at set and clear alike.
 */
#include <string.h>

#include <sodium.h>

#include "pinfile.h"

/* Bits of what pin matched: the own PIN, the duress PIN, a shown one. */
struct pinfile_bits {
	unsigned own, duress, shown;
};

static unsigned
pinfile_verify(const char *hash, const char *pin)
{
	return crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0;
}

/* Four verifications always: a file without shown PINs has its own two
 * checked twice. */
static struct pinfile_bits
pinfile_bits(const struct pinfile *pf, const char *pin)
{
	struct pinfile_bits b;
	const char *s1 = pf->shown ? pf->shown_pin : pf->pin;
	const char *s2 = pf->shown ? pf->shown_duress : pf->duress;
	unsigned x, y;

	b.own = pinfile_verify(pf->pin, pin);
	/* Once the coercer has set PINs, the duress PIN they watched being
	 * typed as the current one is, to them, a replaced PIN: it must
	 * fail as one, or they could test whether the change was real. */
	b.duress = pinfile_verify(pf->duress, pin) & (unsigned)(pf->shown == 0);
	x = pinfile_verify(s1, pin);
	y = pinfile_verify(s2, pin);
	b.shown = (x | y) & (unsigned)(pf->shown != 0);
	return b;
}

static enum pin_match
pinfile_match(unsigned normal, unsigned accepted)
{
	/* normal wins; no branch on the result */
	return (enum pin_match)(normal | ((accepted & (normal ^ 1u)) << 1));
}

enum pin_match
pinfile_check(const struct pinfile *pf, const char *pin)
{
	struct pinfile_bits b = pinfile_bits(pf, pin);
	/* a forced file: whatever the PIN, the cancel is a duress one */
	unsigned normal = b.own & (unsigned)(pf->forced == 0);

	return pinfile_match(normal, b.own | b.duress | b.shown);
}

enum pin_match
pinfile_check_current(const struct pinfile *pf, const char *pin)
{
	struct pinfile_bits b = pinfile_bits(pf, pin);

	return pinfile_match(b.own, b.duress | b.shown);
}

int
pinfile_is_own(const struct pinfile *pf, const char *pin)
{
	char scratch[crypto_pwhash_STRBYTES];
	unsigned own;

	if (pf != NULL) {
		own = pinfile_verify(pf->pin, pin);
		return (int)(own & (unsigned)(pf->forced != 0));
	}
	/* no file: the same Argon2id work, for nothing */
	(void)pinfile_hash_pin(scratch, pin);
	sodium_memzero(scratch, sizeof(scratch));
	return 0;
}
