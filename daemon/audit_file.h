/*
 * The audit log's local append-only file: lines are handed to a writer
 * thread, which writes them and calls fdatasync() before it takes the
 * next batch, so the event loop never waits for the disk.  A record is
 * on disk within one write and one fdatasync() of being handed over,
 * and every record handed over is on disk once audit_file_close()
 * returns.
 */
#ifndef ALERTRELAY_AUDIT_FILE_H
#define ALERTRELAY_AUDIT_FILE_H

struct audit_file;

/* Opens (creates, mode 0600) path for appending and starts the writer;
 * NULL with errno and a logged reason on failure. */
struct audit_file *audit_file_open(const char *path);
/* The file's descriptor (opened for reading too), for audit_tail.h: read
 * before the first record of this process is appended. */
int audit_file_fd(const struct audit_file *f);
/* Copies line (a newline is added). */
void audit_file_append(struct audit_file *f, const char *line);
/* Writes what is left, syncs, stops the writer and closes the file. */
void audit_file_close(struct audit_file *f);

#endif
