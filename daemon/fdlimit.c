/*
 * Raising the limit on open files.
 */
#include <sys/resource.h>

#include <errno.h>
#include <string.h>

#include "fdlimit.h"
#include "log.h"

void
fdlimit_raise(long max_connections, long http)
{
	rlim_t want = (rlim_t)max_connections + (rlim_t)http + FDLIMIT_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
	    ? want
	    : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
		    (unsigned long long)rl.rlim_cur);
		return;
	}
	if (rl.rlim_cur < want)
		log_warnx("open files: need %llu (max_connections %ld + %d), "
		          "hard limit %llu: fewer devices can connect; raise "
		          "LimitNOFILE= in the unit or ulimit -Hn",
		    (unsigned long long)want, max_connections, FDLIMIT_RESERVE,
		    (unsigned long long)rl.rlim_cur);
	else
		log_info("open files limit raised to %llu",
		    (unsigned long long)rl.rlim_cur);
}
