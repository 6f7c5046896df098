#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "b64.h"
#include "keyfile.h"
#include "xmalloc.h"

int
keyfile_write_text(const char *path, const char *text, int secret, char *err,
    size_t errlen)
{
	int fd;
	size_t len = strlen(text);
	mode_t mode = secret ? 0600 : 0644;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* The umask may have widened nothing, but make the mode exact. */
	if (fchmod(fd, mode) == -1 || write(fd, text, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
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

int
keyfile_read_text(const char *path, int secret, char **text, char *err,
    size_t errlen)
{
	char buf[KEYFILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: secret key readable by group or others (mode %03o); "
		    "chmod 600 it",
		    path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	n = read(fd, buf, KEYFILE_MAX + 1);
	close(fd);
	if (n < 0 || n > KEYFILE_MAX) {
		snprintf(err, errlen, "%s: unreadable or too long", path);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	len = (size_t)n;
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	        buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\n', len) != NULL) {
		snprintf(err, errlen, "%s: expected one line of text", path);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	*text = xstrdup(buf);
	sodium_memzero(buf, sizeof(buf));
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
