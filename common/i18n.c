/*
 * Where the catalogues are and which language is used.  A program run
 * from the build tree finds build/locale beside it; an installed one
 * finds LOCALEDIR.  ALERTRELAY_LOCALEDIR overrides both.
 */
#include <limits.h>
#include <stdio.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"

#ifndef LOCALEDIR
#define LOCALEDIR "/usr/local/share/locale"
#endif

static char i18n_dir[PATH_MAX];

/* "C", "POSIX", "C.UTF-8" and the empty string choose no language. */
static int
i18n_unchosen(const char *v)
{
	return v == NULL || *v == '\0' || strcmp(v, "C") == 0 ||
	    strcmp(v, "POSIX") == 0 || strncmp(v, "C.", 2) == 0;
}

/* The locale variable that decides messages, as POSIX orders them. */
static const char *
i18n_requested(void)
{
	const char *names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((v = getenv(names[i])) != NULL && *v != '\0')
			return v;
	return NULL;
}

static const char *
i18n_find_dir(void)
{
	const char *env = getenv("ALERTRELAY_LOCALEDIR");
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0')
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(i18n_dir, sizeof(i18n_dir),
			        "%s/locale", exe) < sizeof(i18n_dir) &&
			    stat(i18n_dir, &st) == 0 && S_ISDIR(st.st_mode))
				return i18n_dir;
		}
	}
	return LOCALEDIR;
}

void
i18n_init(void)
{
	const char *req = i18n_requested();
	const char *language = getenv("LANGUAGE");
	char lang[32];
	size_t n;

	setlocale(LC_ALL, "");
	if ((language == NULL || *language == '\0') && i18n_unchosen(req))
		setenv("LANGUAGE", "nl", 1);
	else if ((language == NULL || *language == '\0') && req != NULL) {
		/* nl_NL.UTF-8 asked for but not installed: the messages
		 * still follow it. */
		n = strcspn(req, ".@");
		if (n < sizeof(lang)) {
			memcpy(lang, req, n);
			lang[n] = '\0';
			setenv("LANGUAGE", lang, 1);
		}
	}
	/* gettext ignores LANGUAGE under the "C" locale; C.UTF-8 is always
	 * there on Debian and changes nothing else. */
	if (strcmp(setlocale(LC_MESSAGES, NULL), "C") == 0)
		setlocale(LC_MESSAGES, "C.UTF-8");
	bindtextdomain(I18N_DOMAIN, i18n_find_dir());
	bind_textdomain_codeset(I18N_DOMAIN, "UTF-8");
	textdomain(I18N_DOMAIN);
}

const char *
i18n_language(void)
{
	/* The catalogue's own header says which language it is. */
	const char *probe = dgettext(I18N_DOMAIN, "LANGUAGE=en");

	return strcmp(probe, "LANGUAGE=en") == 0 ? "en" : probe + 9;
}
