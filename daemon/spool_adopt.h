/*
 * The spool files of workers that no longer run: with [relay] workers =
 * N, worker i > 0 appends to spool_dir/spool.log.i (spool.c).  After a
 * restart with fewer workers nobody would read spool.log.i for i >= N,
 * and the alerts in it, accepted, would never reach Redis.  Worker 0
 * (or the only relay) takes their records into its own file, fsynced,
 * before it removes them: a crash in between leaves a second copy, which
 * the replay ignores, never none.  Only a file whose lock it can take
 * (spool_file.h): one a running process holds is still in use, and
 * taking it would lose what that process appends to it afterwards.
 */
#ifndef ALERTRELAY_SPOOL_ADOPT_H
#define ALERTRELAY_SPOOL_ADOPT_H

#include "spool_file.h"

/* Every spool.log.i in dir with i >= nworkers, not locked by a running
 * process: each whole record is appended to into, then, once a sync of
 * into covers them, every line is handed to cb (like spool_file_open()'s
 * lines) and the file is removed.  A file not taken whole stays, and is
 * said: none of its lines reaches cb, and what of it was appended to into
 * is cut off again. */
void spool_adopt(const char *dir, long nworkers, struct spool_file *into,
    spool_file_line_cb cb, void *arg);

/* Bytes: a larger file is read again after the sync rather than kept in
 * memory meanwhile; if that read fails, the relay exits (spool_adopt.c).
 * Set only by gdb in tests. */
extern size_t spool_adopt_keep_max;

#endif
