/*
 * For the harnesses of parsers that read a file by its path: the input
 * written to NAME in a directory of the harness's own, mode 0600 (as a
 * secret file must be), made at the first call.
 */
#ifndef ALERTRELAY_FUZZ_FILE_H
#define ALERTRELAY_FUZZ_FILE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_file_dir[] = "/tmp/fuzz_file.XXXXXX";
static int fuzz_file_made;

/* The input in fuzz_file_dir/name; its path into path. */
static inline void
fuzz_file_write(const char *name, const uint8_t *data, size_t size, char *path,
    size_t pathlen)
{
	int fd;

	if (!fuzz_file_made && mkdtemp(fuzz_file_dir) == NULL)
		abort();
	fuzz_file_made = 1;
	snprintf(path, pathlen, "%s/%s", fuzz_file_dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

#endif
