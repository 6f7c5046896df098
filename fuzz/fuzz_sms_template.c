/*
 * libFuzzer target: SMS templates as the configuration gives them
 * (daemon/sms_template.c).  The first byte picks the kind and language;
 * the rest is up to six fields split at '\n': the template, then the
 * alias, who acknowledged, the alert type, the reference and the tier
 * put into it.  A template the check accepts must give, with any
 * values, one SMS: valid text, GSM-7 basic characters, at most 160.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms_template.h"
#include "sms_text.h"

#define FIELDS 6

static size_t
gsm_chars(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = 0;
	long cp;

	while (*p != '\0') {
		cp = sms_text_utf8_next(&p);
		if (cp < 0x20 || sms_text_gsm_char(cp) != cp)
			abort();
		n++;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[FIELDS] = {0}, *p, out[SMS_TEXT_MAX], err[256];
	struct sms_template_vars v;
	enum sms_template_kind kind;
	enum sms_language lang;
	size_t i, n;

	if (size < 1 || size > 4096)
		return 0;
	kind = (enum sms_template_kind)(data[0] % SMS_TPL_N);
	lang = (data[0] / SMS_TPL_N) % 2 ? SMS_LANG_EN : SMS_LANG_NL;
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (p = buf, i = 0; i < FIELDS && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	memset(&v, 0, sizeof(v));
	v.alias = f[1];
	v.by = f[2];
	v.type = f[3];
	v.ref = f[4] != NULL ? f[4] : "K7Q2M9XD";
	v.tier = f[5];
	v.t = 1700000000;
	/* a drill's prefix must fit whatever the check let through */
	v.drill = (data[0] / (2 * SMS_TPL_N)) % 2;
	/* and so must a revoked device's note, or none */
	v.revoked = (data[0] / (4 * SMS_TPL_N)) % 2;
	(void)sms_template_looks_ours(f[0], f[0]);
	/* Unchecked templates must not crash either. */
	n = sms_template_expand(lang, f[0], &v, out, sizeof(out));
	if (n != strlen(out))
		abort();
	if (sms_template_check(kind, f[0], err, sizeof(err)) == 0 &&
	    sms_text_ref_valid(v.ref) && strlen(v.ref) <= 8) {
		n = sms_template_expand(lang, f[0], &v, out, sizeof(out));
		if (n == 0 || !sms_text_valid(out) || gsm_chars(out) > 160)
			abort();
	}
	/* The built-in texts pass their own check. */
	if (sms_template_check(kind, sms_template_default(lang, kind), err,
	        sizeof(err)) != 0)
		abort();
	free(buf);
	return 0;
}
