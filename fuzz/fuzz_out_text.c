/*
 * libFuzzer harness for what alertctl and alertconsole make of text from
 * the relay before a person sees it (client/out.c): out_clean must give
 * valid UTF-8 without a character out_char calls bad, within its buffer,
 * and out_name either the name itself or "?"; receipt_word (the relay's
 * state, event or type as a word) never the relay's text itself, and
 * nothing bad, whichever caller prints it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "out.h"
#include "receipt.h"

/* Nothing out_char calls bad, and every character whole. */
static void
check_clean(const char *s)
{
	size_t k;
	int bad;

	for (; *s != '\0'; s += k) {
		k = out_char(s, &bad);
		if (bad || k == 0 || k > 4)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[64], word[RECEIPT_WORD_MAX];
	const char *name, *w;
	size_t len = size % sizeof(buf) + 1;

	memcpy(s, data, size);
	s[size] = '\0';
	out_clean(s, buf, len);
	if (strlen(buf) >= len)
		abort();
	check_clean(buf);
	w = receipt_word(s, word, len);
	if (w == s || (w == word && strlen(w) >= len))
		abort();
	check_clean(w);
	name = out_name(s);
	if (name != s && strcmp(name, "?") != 0)
		abort();
	if (name == s) {
		if (strlen(s) > DIRECTORY_ALIAS_MAX)
			abort();
		check_clean(s);
	}
	free(s);
	return 0;
}
