/* Reading a PIN from the terminal or stdin (pin_read.h). */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "pin_read.h"

/* One line of stdin, read a byte at a time: nothing after it is taken
 * from stdin (the next PIN may follow). */
static int
pin_read_line(char *buf, size_t len)
{
	size_t n = 0;
	char ch;
	ssize_t r;

	while ((r = read(STDIN_FILENO, &ch, 1)) == 1 && ch != '\n') {
		if (n + 1 >= len) {
			sodium_memzero(buf, len);
			return -1;
		}
		buf[n++] = ch;
	}
	if (r != 1 && n == 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

int
pin_read(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	int rc;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = pin_read_line(buf, len);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputs("\n", stderr);
	}
	if (rc == 0 && (strlen(buf) < PIN_MIN || strlen(buf) > PIN_MAX)) {
		sodium_memzero(buf, len);
		return -1;
	}
	return rc;
}
