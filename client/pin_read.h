/*
 * Reading a PIN: from the terminal without echo when stdin is one
 * (the prompt on stderr), else one line from stdin.  Never from the
 * command line, where ps and the shell's history would show it.
 */
#ifndef ALERTCTL_PIN_READ_H
#define ALERTCTL_PIN_READ_H

#include <stddef.h>

#include "pinfile.h"

/* The PIN into buf (PIN_MAX + 2 bytes at least), without its newline:
 * 0, or -1 at end of input, or on a line too long or too short. */
int pin_read(const char *prompt, char *buf, size_t len);

#endif
