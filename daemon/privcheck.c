/*
 * Started as root, alertrelayd reads its files as root and then becomes
 * [relay] user.  After that it opens the spool, and every reload reads
 * the configuration, the TLS certificate and key, the directory and every
 * secret file again, as that user.  A file only root can read makes
 * every reload fail; a spool_dir the user cannot write, the start.
 *
 * The check asks the kernel rather than guessing from modes: a child
 * process takes the same identity privdrop() gives the relay (its group
 * only, then the gid, then the uid) and tries to open each file, so
 * owners, modes, ACLs and the directories above all count as they will.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privcheck.h"
#include "xmalloc.h"

enum privcheck_kind {
	PC_FILE, /* read by reload */
	PC_SECRET, /* read by reload; only its owner may read it */
	PC_SPOOL, /* a directory the relay writes to */
};

struct privcheck_item {
	char *what; /* "[recipient x] webhook_secret_file" */
	const char *path;
	enum privcheck_kind kind;
};

struct privcheck_list {
	struct privcheck_item *items;
	size_t n;
};

static void
privcheck_add(struct privcheck_list *l, const char *path,
    enum privcheck_kind kind, char *what)
{
	if (path == NULL || path[0] == '\0') {
		free(what);
		return;
	}
	l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
	l->items[l->n].what = what;
	l->items[l->n].path = path;
	l->items[l->n].kind = kind;
	l->n++;
}

static void
privcheck_collect(const struct relay_config *cfg, struct privcheck_list *l)
{
	const struct recipient_entry *r;
	const struct sms_gateway *gw;
	size_t i;

	privcheck_add(l, cfg->path, PC_FILE, xstrdup("the configuration"));
	privcheck_add(l, cfg->tls_cert, PC_FILE, xstrdup("[relay] tls_cert"));
	privcheck_add(l, cfg->tls_key, PC_SECRET, xstrdup("[relay] tls_key"));
	privcheck_add(l, cfg->directory_path, PC_FILE,
	    xstrdup("[relay] directory"));
	privcheck_add(l, cfg->spool_dir, PC_SPOOL,
	    xstrdup("[relay] spool_dir"));
	privcheck_add(l, cfg->admin_token_file, PC_SECRET,
	    xstrdup("[admin] token_file"));
	for (i = 0; i < cfg->nrecipients; i++) {
		r = &cfg->recipients[i];
		privcheck_add(l, r->webhook_secret_file, PC_SECRET,
		    xasprintf("[recipient %s] webhook_secret_file", r->id));
		privcheck_add(l, r->ack_token_file, PC_SECRET,
		    xasprintf("[recipient %s] ack_token_file", r->id));
	}
	for (i = 0; i < cfg->ngateways; i++) {
		gw = &cfg->gateways[i];
		privcheck_add(l, gw->password_file, PC_SECRET,
		    xasprintf("[gateway %s] password_file", gw->name));
		privcheck_add(l, gw->mo_token_file, PC_SECRET,
		    xasprintf("[gateway %s] mo_token_file", gw->name));
	}
}

/* In the child, as the user: 0 or the errno of the attempt. */
static int
privcheck_try(const struct privcheck_item *it)
{
	char *log;
	int fd, rc = 0;

	if (it->kind == PC_SPOOL) {
		if (access(it->path, R_OK | W_OK | X_OK) != 0)
			return errno;
		/* A spool.log left by root would be refused too. */
		log = xasprintf("%s/spool.log", it->path);
		if ((fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)) != -1)
			close(fd);
		else if (errno != ENOENT)
			rc = errno;
		free(log);
		return rc;
	}
	/* O_NONBLOCK: a FIFO put there must not hang the check. */
	fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return errno;
	close(fd);
	return 0;
}

static void
privcheck_child(const struct passwd *pw, const struct privcheck_list *l,
    int wfd)
{
	gid_t gid = pw->pw_gid;
	size_t i;
	int e;

	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		_exit(2);
	for (i = 0; i < l->n; i++) {
		e = privcheck_try(&l->items[i]);
		if (write(wfd, &e, sizeof(e)) != (ssize_t)sizeof(e))
			_exit(3);
	}
	_exit(0);
}

/* The errno of each item as the user, in *errsp (allocated here, after
 * the fork: the child must hold nothing of its own, it ends in _exit);
 * -1 if it could not be found out. */
static int
privcheck_as(const struct passwd *pw, const struct privcheck_list *l,
    int **errsp)
{
	size_t got = 0, want = l->n * sizeof(int);
	int p[2], status, *errs;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL); /* the child must not write our buffers twice */
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		privcheck_child(pw, l, p[1]);
	}
	close(p[1]);
	*errsp = errs = xcalloc(l->n + 1, sizeof(*errs));
	while (got < want &&
	    ((n = read(p[0], (char *)errs + got, want - got)) > 0 ||
	        (n == -1 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return got == want && WIFEXITED(status) && WEXITSTATUS(status) == 0
	    ? 0
	    : -1;
}

/* 1 for a problem, 0 for a note. */
static int
privcheck_report(const struct privcheck_item *it, const char *user, int e,
    FILE *errout)
{
	switch (it->kind) {
	case PC_SPOOL:
		/* Under systemd, StateDirectory= makes it before the start. */
		if (e == ENOENT) {
			fprintf(errout,
			    "%s: %s does not exist yet: the start fails unless "
			    "systemd makes it (StateDirectory=); otherwise: "
			    "install -d -o %s -m 0700 %s\n",
			    it->path, it->what, user, it->path);
			return 0;
		}
		fprintf(errout,
		    "%s: %s: user %s cannot write to it (%s), so the relay "
		    "would not start; fix: chown %s %s && chmod 700 %s (under "
		    "systemd: StateDirectory=)\n",
		    it->path, it->what, user, strerror(e), user, it->path,
		    it->path);
		break;
	case PC_SECRET:
		fprintf(errout,
		    "%s: %s: user %s cannot read it (%s), so every reload "
		    "would fail; fix: chown %s %s && chmod 600 %s (or install "
		    "-o %s -m 0600 SOURCE %s), or hand it over as a systemd "
		    "credential: LoadCredential=NAME:%s in the unit and "
		    "cred:NAME as the value\n",
		    it->path, it->what, user, strerror(e), user, it->path,
		    it->path, user, it->path, it->path);
		break;
	case PC_FILE:
		fprintf(errout,
		    "%s: %s: user %s cannot read it (%s), so every reload "
		    "would fail; fix: chgrp %s %s && chmod g+r %s (and let "
		    "%s search the directories above)\n",
		    it->path, it->what, user, strerror(e), user, it->path,
		    it->path, user);
		break;
	}
	return 1;
}

int
privcheck(const struct relay_config *cfg, FILE *errout)
{
	struct privcheck_list l = {NULL, 0};
	struct passwd *pw;
	int *errs = NULL, problems = 0;
	size_t i;

	if (cfg->user[0] == '\0') {
		fprintf(errout,
		    "%s: [relay] user is not set: started as root, alertrelayd "
		    "refuses to run; set user = alertrelay (the user of the "
		    "systemd unit), or start it as that user\n",
		    cfg->path);
		return 1;
	}
	if ((pw = getpwnam(cfg->user)) == NULL)
		return 0; /* the configuration check reported it */
	if (pw->pw_uid == 0) {
		fprintf(errout,
		    "%s: [relay] user = %s is root; choose an unprivileged "
		    "user\n",
		    cfg->path, cfg->user);
		return 1;
	}
	privcheck_collect(cfg, &l);
	if (privcheck_as(pw, &l, &errs) != 0) {
		fprintf(errout, "%s: cannot check the files as user %s\n",
		    cfg->path, cfg->user);
		problems = 1;
	} else
		for (i = 0; i < l.n; i++)
			if (errs[i] != 0)
				problems += privcheck_report(&l.items[i],
				    cfg->user, errs[i], errout);
	for (i = 0; i < l.n; i++)
		free(l.items[i].what);
	free(l.items);
	free(errs);
	return problems;
}
