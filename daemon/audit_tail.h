/*
 * The last records of the audit file, read back when the chain's head is
 * read from Redis (audit.c): a relay stopped or killed while Redis was
 * away, or within the batching delay, has records in the file that Redis
 * never got.  The chain goes on after the file's last record, those
 * records go to Redis first, and no number is given out twice.  A file
 * behind Redis (cut back, or restored from an older copy) is told by
 * the number of its last record.
 */
#ifndef ALERTRELAY_AUDIT_TAIL_H
#define ALERTRELAY_AUDIT_TAIL_H

#include <stddef.h>

#define AUDIT_TAIL_MAX (1024 * 1024) /* bytes read from the file's end */

/* The file's last run of consecutive records of one instance, oldest
 * first: lines[i] has number seqs[i] = seqs[0] + i. */
struct audit_tail {
	char **lines;
	long long *seqs;
	size_t n;
	long long last_seq; /* the file's last whole record's; 0: none */
};

/* Reads the last AUDIT_TAIL_MAX bytes of the file open on fd (opened
 * before privileges were dropped; path for the log): the run of whole
 * records of instance that ends the file, at most back to the first one
 * after after_seq, and the number of the last whole record of instance
 * whatever it is.  An empty file is an empty run; 0, or -1 (logged)
 * when the file cannot be read. */
int audit_tail_read(int fd, const char *path, const char *instance,
    long long after_seq, struct audit_tail *t);
/* The last line, or NULL. */
const char *audit_tail_last(const struct audit_tail *t);
void audit_tail_clear(struct audit_tail *t);

#endif
