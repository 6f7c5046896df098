/*
 * Key files (keyfile.h): written whole or not at all, read back with
 * their mode checked.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "atomic_file.h"
#include "b64.h"
#include "keyfile.h"
#include "util.h"
#include "xmalloc.h"

/*
 * Written whole beside path, then linked to it (atomic_file.h): a crash
 * or a full disk never leaves a key file cut short under its name (a
 * program would refuse to start on it until someone removed it by hand),
 * and nothing is overwritten.  A crash may leave a ".NAME.XXXXXX" file
 * beside it.
 */
int
keyfile_write_text(const char *path, const char *text, int secret, char *err,
    size_t errlen)
{
	if (atomic_file_write_line(path, text, secret ? 0600 : 0644,
	        ATOMIC_FILE_CREATE) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
keyfile_write(const char *path, const void *key, size_t len, int secret,
    char *err, size_t errlen)
{
	char *text = b64_encode(key, len);
	int rc;

	rc = keyfile_write_text(path, text, secret, err, errlen);
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

char *
keyfile_slurp(const char *path, size_t max, int secret, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		errf(err, errlen, "%s: not a regular file of at most %zu bytes",
		    path, max);
		close(fd);
		return NULL;
	}
	if (secret && (st.st_mode & 077) != 0) {
		errf(err, errlen,
		    "%s: secret key readable by group or others (mode %03o); "
		    "chmod 600 it",
		    path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	/* One byte more than stat said: a file that grew is noticed. */
	n = read(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (n != st.st_size) {
		errf(err, errlen, "%s: unreadable, or changed while read",
		    path);
		sodium_memzero(buf, (size_t)st.st_size + 1);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

int
keyfile_read_text(const char *path, int secret, char **text, char *err,
    size_t errlen)
{
	size_t len;
	char *buf = keyfile_slurp(path, KEYFILE_MAX, secret, &len, err, errlen);

	if (buf == NULL)
		return -1;
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	        buf[len - 1] == ' '))
		buf[--len] = '\0';
	/* A NUL inside would cut the text short unseen: a token of 40
	 * characters read as its first 16, or as nothing at all. */
	if (len == 0 || memchr(buf, '\n', len) != NULL ||
	    memchr(buf, '\0', len) != NULL) {
		errf(err, errlen, "%s: expected one line of text", path);
		sodium_memzero(buf, len);
		free(buf);
		return -1;
	}
	*text = buf;
	return 0;
}

int
keyfile_read(const char *path, void *key, size_t len, int secret, char *err,
    size_t errlen)
{
	char *text;
	int rc = 0;

	if (keyfile_read_text(path, secret, &text, err, errlen) != 0)
		return -1;
	if (b64_decode_exact(text, key, len) != 0) {
		snprintf(err, errlen, "%s: not a base64 key of %zu bytes", path,
		    len);
		rc = -1;
	}
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

int
keyfile_pubkey(const char *dir, const char *value, void *key, size_t len,
    char *err, size_t errlen)
{
	char *path;
	int rc;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "no key given");
		return -1;
	}
	if (b64_decode_exact(value, key, len) == 0)
		return 0;
	if ((path = keyfile_path(dir, value, err, errlen)) == NULL)
		return -1;
	rc = keyfile_read(path, key, len, 0, err, errlen);
	free(path);
	return rc;
}

char *
keyfile_path(const char *dir, const char *value, char *err, size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");

	if (strncmp(value, KEYFILE_CRED, strlen(KEYFILE_CRED)) != 0) {
		if (value[0] == '/' || value[0] == '\0' || dir == NULL ||
		    dir[0] == '\0')
			return xstrdup(value);
		return xasprintf("%s/%s", dir, value);
	}
	value += strlen(KEYFILE_CRED);
	if (value[0] == '\0' || strchr(value, '/') != NULL ||
	    strcmp(value, ".") == 0 || strcmp(value, "..") == 0) {
		errf(err, errlen, "cred:%s: not a credential name", value);
		return NULL;
	}
	if (creds == NULL || creds[0] != '/') {
		errf(err, errlen,
		    "cred:%s: no credentials directory (CREDENTIALS_DIRECTORY "
		    "is not set): is LoadCredential=%s:FILE set in the unit?",
		    value, value);
		return NULL;
	}
	return xasprintf("%s/%s", creds, value);
}

int
whsec_decode(const char *text, unsigned char **key, size_t *len)
{
	size_t plen = strlen(WHSEC_PREFIX);

	if (strncmp(text, WHSEC_PREFIX, plen) != 0)
		return -1;
	if (b64_decode(text + plen, strlen(text + plen), key, len) != 0)
		return -1;
	if (*len < WHSEC_MIN_BYTES) {
		sodium_memzero(*key, *len);
		free(*key);
		return -1;
	}
	return 0;
}

char *
whsec_generate(void)
{
	unsigned char raw[32];
	char *b64, *out;

	randombytes_buf(raw, sizeof(raw));
	b64 = b64_encode(raw, sizeof(raw));
	out = xasprintf("%s%s", WHSEC_PREFIX, b64);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(b64, strlen(b64));
	free(b64);
	return out;
}
