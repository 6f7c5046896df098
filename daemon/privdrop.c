/*
 * Dropping root to the configured user once the listeners are bound
 * (privdrop.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int
privdrop(const char *user)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0) {
		if (user[0] != '\0')
			log_info("not started as root: user = %s has no effect",
			    user);
		return 0;
	}
	if (user[0] == '\0') {
		log_warnx("refusing to run as root: set user = in [relay] or "
		          "start as an unprivileged user");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user = %s: no such user", user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0) {
		log_warnx("user = %s is root; choose an unprivileged user",
		    user);
		return -1;
	}
	/* The order matters: groups and gid while we still may. */
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		log_warn("dropping privileges to %s", user);
		return -1;
	}
	/* Verify: getting root back must be impossible. */
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != uid ||
	    geteuid() != uid || getgid() != gid || getegid() != gid) {
		log_warnx("privileges were not dropped; refusing to run");
		return -1;
	}
	log_info("running as %s (uid %u, gid %u)", user, (unsigned)uid,
	    (unsigned)gid);
	return 0;
}
