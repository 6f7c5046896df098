/*
 * What `alertctl pincode set` and `clear` do to the PIN file once the
 * current PIN is known (docs/SECURITY.md, "Duress").  The official's own
 * PIN changes the PINs.  The duress PIN, or a PIN set under duress, is
 * taken as the change looks to whoever forced it, the file kept forced
 * (pinfile.h, version 2): the PINs shown are the new ones, or none, and
 * every cancel is a duress cancel until the official's own PIN sets PINs
 * again.  On a file that shows no PINs no current PIN is asked (a device
 * without PINs asks none): there the own PIN given as the new PIN is
 * what ends the forced state.
 */
#ifndef ALERTCTL_PINCODE_CHANGE_H
#define ALERTCTL_PINCODE_CHANGE_H

#include <stddef.h>

#include "pinfile.h"

/* Sets the PINs pin and duress.  cur: the file as it is (NULL: none);
 * m: how the current PIN matched (pinfile_check_current), PIN_NORMAL
 * when cur shows no PINs and none was asked.  0, or -1 with why in err. */
int pincode_change_set(const char *path, const struct pinfile *cur,
    enum pin_match m, const char *pin, const char *duress, char *err,
    size_t errlen);
/* Clears the PINs of cur, which shows PINs; m as above.  0, or -1. */
int pincode_change_clear(const char *path, const struct pinfile *cur,
    enum pin_match m, char *err, size_t errlen);

#endif
