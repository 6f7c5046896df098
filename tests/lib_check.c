/*
 * tests/test_libalertclient.py's C side: libalertclient's error paths
 * (NULL and malformed arguments, a bad configuration path, status texts),
 * then both loops against a real relay: the library's own (step mode,
 * the client freed from its last callback) and a caller's libevent base;
 * and the modes the other tests drive (lib_check_ops.c).
 *
 *	lib_check CONFIG
 *	lib_check enroll BUNDLE CONFIG
 *	lib_check lang CONFIG              (a host with its own text domain)
 *	lib_check two CONFIG OTHER ALERT   (two clients in one process)
 *	lib_check follow CONFIG ALERT FLAGS
 *	lib_check send CONFIG [cancel | refused]
 *	lib_check cancel CONFIG ALERT PIN
 *	lib_check rotate CONFIG            (a send, a line on stdin, a send)
 *
 * Prints one line per check; exit 0 when all passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alertclient.h"

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond)                                                      \
			printf("ok %s\n", #cond);                              \
		else {                                                         \
			printf("FAILED %s (line %d)\n", #cond, __LINE__);      \
			failures++;                                            \
		}                                                              \
	} while (0)

struct seen {
	const char *name; /* printed before each event, when set */
	int events, failed, done, status;
	int freed; /* events told after free_me was freed */
	int acks, verified; /* AR_EV_ACKNOWLEDGED: how many, the last check */
	char ack_text[512]; /* the last acknowledgement's line */
	char id[AR_ALERT_ID_LEN]; /* the last AR_EV_ACCEPTED's */
	ar_client *free_me; /* freed from the last callback */
	int gone; /* free_me was freed */
	struct event_base *base; /* broken out of at the end */
};

static void
on_event(void *ctx, const struct ar_event *ev)
{
	struct seen *s = ctx;

	s->events++;
	s->freed += s->gone;
	printf("%s%sevent %d op %d alert %s: %s%s%s\n",
	    s->name != NULL ? s->name : "", s->name != NULL ? " " : "",
	    ev->type, ev->op, ev->alert_id != NULL ? ev->alert_id : "-",
	    ev->reason != NULL ? ev->reason
	                       : (ev->text != NULL ? ev->text : ""),
	    ev->code != NULL ? " code " : "", ev->code != NULL ? ev->code : "");
	fflush(stdout);
	if (ev->type == AR_EV_ACKNOWLEDGED) {
		s->acks++;
		s->verified = ev->verified;
	}
	/* ar_status tells its history as AR_EV_RECEIPT */
	if (ev->event != NULL && strcmp(ev->event, "acknowledged") == 0)
		snprintf(s->ack_text, sizeof(s->ack_text), "%s",
		    ev->text != NULL ? ev->text : "");
	if (ev->type == AR_EV_ACCEPTED && ev->alert_id != NULL)
		snprintf(s->id, sizeof(s->id), "%s", ev->alert_id);
	if (ev->type == AR_EV_FAILED || ev->type == AR_EV_DONE) {
		s->failed += ev->type == AR_EV_FAILED;
		s->done += ev->type == AR_EV_DONE;
		s->status = ev->status;
		if (s->free_me != NULL && !s->gone) {
			ar_client_free(s->free_me);
			s->gone = 1;
		}
		if (s->base != NULL)
			event_base_loopbreak(s->base);
	}
}

/* Steps c until *ends operations ended, at most 30 s; 0 when they did. */
static int
step_until(ar_client *c, const struct seen *s, int ends)
{
	int i;

	for (i = 0; i < 300 && s->failed + s->done < ends; i++)
		if (ar_client_step(c, 100) != AR_OK)
			break;
	return s->failed + s->done >= ends ? 0 : -1;
}

static void
check_arguments(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct ar_location far = {100.0, 5.0, -1};
	char id[AR_ALERT_ID_LEN], small[8], why[512];
	struct seen s;
	ar_client *c = (ar_client *)&s;

	memset(&s, 0, sizeof(s));
	CHECK(strcmp(ar_strerror(AR_OK), "success") == 0);
	CHECK(strcmp(ar_strerror(999), "unknown status") == 0);
	CHECK(strcmp(ar_strerror(-1), "unknown status") == 0);
	CHECK(strcmp(ar_strerror(AR_E_STORAGE), "unknown status") != 0);
	CHECK(strcmp(ar_strerror(20), "unknown status") == 0);
	CHECK(strcmp(ar_strerror(AR_E_PIN), "unknown status") != 0);
	CHECK(strcmp(ar_version(), "1.0.0") == 0);
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s, NULL, 0) == AR_E_NOT_INIT);
	CHECK(c == NULL);
	CHECK(ar_enroll("/nonexistent", conf, 0, NULL, 0) == AR_E_NOT_INIT);
	CHECK(ar_init() == AR_OK);
	CHECK(ar_init() == AR_OK);
	CHECK(ar_enroll(NULL, conf, 0, NULL, 0) == AR_E_INVAL);
	CHECK(ar_enroll("/nonexistent", conf, 0x100, NULL, 0) == AR_E_INVAL);
	CHECK(ar_enroll("/nonexistent/device.bundle", "/nonexistent/a.conf", 0,
	          NULL, 0) == AR_E_BUNDLE);
	CHECK(ar_client_new(NULL, conf, NULL, &cb, &s, NULL, 0) == AR_E_INVAL);
	CHECK(ar_client_new(&c, "/nonexistent/alertctl.conf", NULL, &cb, &s,
	          why, sizeof(why)) == AR_E_CONFIG);
	CHECK(c == NULL);
	printf("why: %s\n", why);
	CHECK(strstr(why, "/nonexistent/alertctl.conf") != NULL);
	CHECK(
	    ar_client_new(&c, conf, NULL, &cb, &s, why, sizeof(why)) == AR_OK);
	CHECK(why[0] == '\0');
	CHECK(c != NULL && ar_client_device_id(c) != NULL);
	CHECK(ar_send(c, NULL, NULL, NULL, 0, id, sizeof(id), NULL) ==
	    AR_E_INVAL);
	CHECK(ar_send(c, "fire", NULL, NULL, 0, id, sizeof(id), NULL) ==
	    AR_E_INVAL);
	CHECK(ar_send(c, "panic", NULL, NULL, 0, small, sizeof(small), NULL) ==
	    AR_E_NOSPACE);
	CHECK(ar_send(c, "panic", NULL, NULL, 0, NULL, 33, NULL) == AR_E_INVAL);
	CHECK(ar_send(c, "panic", NULL, &far, 0, id, sizeof(id), NULL) ==
	    AR_E_INVAL);
	CHECK(ar_send(c, "panic", NULL, NULL,
	          AR_SEND_WAIT_ACK | AR_SEND_WAIT_DELIVERED, id, sizeof(id),
	          NULL) == AR_E_INVAL);
	CHECK(ar_send(c, "panic", NULL, NULL, 0x1000, id, sizeof(id), NULL) ==
	    AR_E_INVAL);
	strcpy(id, "not-an-alert-id");
	CHECK(ar_send(c, "panic", NULL, NULL, AR_SEND_AGAIN, id, sizeof(id),
	          NULL) == AR_E_INVAL);
	CHECK(ar_client_needs_pin(NULL) == 0);
	CHECK(ar_client_needs_pin(c) == 0); /* no PIN file */
	CHECK(ar_cancel(c, "xyz", NULL) == AR_E_INVAL);
	CHECK(ar_cancel(NULL, "0123456789abcdef0123456789abcdef", NULL) ==
	    AR_E_INVAL);
	CHECK(ar_status(c, NULL) == AR_E_INVAL);
	CHECK(
	    ar_follow(c, "0123456789ABCDEF0123456789ABCDEF", 0) == AR_E_INVAL);
	CHECK(ar_follow(c, "0123456789abcdef0123456789abcdef", 0x100) ==
	    AR_E_INVAL);
	CHECK(ar_client_set_option(c, 999, 1) == AR_E_INVAL);
	CHECK(ar_client_set_option(c, AR_OPT_TIMEOUT, -1) == AR_E_INVAL);
	CHECK(ar_client_set_option(c, AR_OPT_TIMEOUT, 20) == AR_OK);
	CHECK(ar_client_step(NULL, 0) == AR_E_INVAL);
	CHECK(ar_client_step(c, -1) == AR_E_INVAL);
	CHECK(ar_client_step(c, 0) == AR_OK);
	CHECK(ar_client_pending(c) == 0);
	CHECK(s.events == 0);
	ar_client_free(c);
	ar_client_free(NULL);
}

/* Step mode: statuses of two alerts the relay does not know, the client
 * freed when the first one ends: nothing of the other is told after
 * that, in the same step or later (the step frees the client at its
 * end). */
static void
check_step(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct seen s;
	ar_client *c;

	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s, NULL, 0) == AR_OK);
	CHECK(ar_status(c, "0123456789abcdef0123456789abcdef") == AR_OK);
	CHECK(s.events == 0); /* nothing before the call returned */
	CHECK(ar_client_pending(c) == 1);
	CHECK(ar_status(c, "00000000000000000000000000000002") == AR_OK);
	s.free_me = c;
	CHECK(step_until(c, &s, 1) == 0);
	CHECK(s.failed == 1);
	CHECK(s.status == AR_E_UNKNOWN_ALERT);
	CHECK(s.gone == 1);
	CHECK(s.freed == 0);
}

/* The caller's loop: the client freed with an operation under way, not
 * from a callback; the loop then runs on without it. */
static void
check_free_pending(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct event_base *base = event_base_new();
	struct timeval a_bit = {0, 300000};
	struct seen s;
	ar_client *c;

	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, base, &cb, &s, NULL, 0) == AR_OK);
	CHECK(ar_status(c, "fedcba9876543210fedcba9876543211") == AR_OK);
	CHECK(ar_follow(c, "fedcba9876543210fedcba9876543212", 0) == AR_OK);
	CHECK(ar_client_pending(c) == 2);
	event_base_loop(base, EVLOOP_ONCE); /* the operations started */
	ar_client_free(c);
	s.gone = 1;
	event_base_loopexit(base, &a_bit);
	event_base_dispatch(base);
	CHECK(s.freed == 0);
	event_base_free(base);
}

/* The caller's loop: the same request, the client freed after it. */
static void
check_base(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct event_base *base = event_base_new();
	struct timeval bound = {30, 0};
	struct seen s;
	ar_client *c;

	memset(&s, 0, sizeof(s));
	s.base = base;
	CHECK(ar_client_new(&c, conf, base, &cb, &s, NULL, 0) == AR_OK);
	CHECK(ar_client_step(c, 0) == AR_E_LOOP);
	CHECK(ar_status(c, "fedcba9876543210fedcba9876543210") == AR_OK);
	event_base_loopexit(base, &bound);
	event_base_dispatch(base);
	CHECK(s.failed == 1);
	CHECK(s.status == AR_E_UNKNOWN_ALERT);
	ar_client_free(c);
	event_base_free(base);
}

/* ar_enroll from a bundle into conf: once, refused again, forced. */
static void
check_enroll(const char *bundle, const char *conf)
{
	char id[128], small[2];
	ar_client *c;
	FILE *f;

	CHECK(ar_init() == AR_OK);
	/* too small a buffer: refused before anything is written */
	CHECK(ar_enroll(bundle, conf, 0, small, sizeof(small)) == AR_E_NOSPACE);
	CHECK((f = fopen(conf, "r")) == NULL);
	if (f != NULL)
		fclose(f);
	CHECK(ar_enroll(bundle, conf, 0, id, sizeof(id)) == AR_OK);
	printf("enrolled %s\n", id);
	CHECK(ar_enroll(bundle, conf, 0, NULL, 0) == AR_E_EXISTS);
	CHECK(ar_enroll(bundle, conf, AR_ENROLL_FORCE, small, sizeof(small)) ==
	    AR_E_NOSPACE);
	CHECK(
	    ar_enroll(bundle, conf, AR_ENROLL_FORCE, id, sizeof(id)) == AR_OK);
	CHECK(ar_client_new(&c, conf, NULL, NULL, NULL, NULL, 0) == AR_OK);
	CHECK(c != NULL && strcmp(ar_client_device_id(c), id) == 0);
	ar_client_free(c);
}

/* A host program with a text domain of its own, in its locale: the
 * library's texts are still in the library's catalogue's language. */
static int
check_lang(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct seen s;
	ar_client *c;

	setlocale(LC_ALL, "");
	textdomain("lib_check_host");
	CHECK(ar_init() == AR_OK);
	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s, NULL, 0) == AR_OK);
	CHECK(ar_status(c, "0123456789abcdef0123456789abcdef") == AR_OK);
	s.free_me = c;
	CHECK(step_until(c, &s, 1) == 0);
	CHECK(s.status == AR_E_UNKNOWN_ALERT);
	return failures;
}

/* Two clients of two configurations on one loop, each checking the
 * acknowledgements of alert by its own directory; one freed from its
 * last callback while the other goes on. */
static int
check_two(const char *conf, const char *other, const char *alert)
{
	struct ar_callbacks cb = {on_event};
	struct event_base *base = event_base_new();
	struct timeval bound = {30, 0};
	struct seen a, b;
	ar_client *ca, *cb_;

	CHECK(ar_init() == AR_OK);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.name = "A";
	b.name = "B";
	CHECK(ar_client_new(&ca, conf, base, &cb, &a, NULL, 0) == AR_OK);
	CHECK(ar_client_new(&cb_, other, base, &cb, &b, NULL, 0) == AR_OK);
	/* A's started first, B's last: each answer comes after both */
	CHECK(ar_status(ca, alert) == AR_OK);
	CHECK(ar_status(cb_, alert) == AR_OK);
	b.free_me = cb_;
	event_base_loopexit(base, &bound);
	while (a.failed + a.done + b.failed + b.done < 2 &&
	    event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	CHECK(a.done == 1 && b.done == 1 && b.gone == 1);
	printf("A ack: %s\nB ack: %s\n", a.ack_text, b.ack_text);
	/* B is gone; A goes on, checking by its own directory still */
	a.ack_text[0] = '\0';
	CHECK(ar_status(ca, alert) == AR_OK);
	while (a.failed + a.done < 2 && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	CHECK(a.done == 2);
	printf("A again: %s\n", a.ack_text);
	ar_client_free(ca);
	event_base_free(base);
	return failures;
}

/* ar_follow until it ends: 0 when done, 3 when it failed. */
static int
check_follow(const char *conf, const char *alert, unsigned flags)
{
	struct ar_callbacks cb = {on_event};
	struct seen s;
	ar_client *c;
	int i;

	CHECK(ar_init() == AR_OK);
	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s, NULL, 0) == AR_OK);
	CHECK(ar_follow(c, alert, flags) == AR_OK);
	for (i = 0; i < 1200 && s.failed + s.done == 0; i++)
		if (ar_client_step(c, 100) != AR_OK)
			break;
	printf("follow ended: done %d failed %d status %d acks %d "
	       "verified %d\n",
	    s.done, s.failed, s.status, s.acks, s.verified);
	ar_client_free(c);
	return s.done == 1 ? 0 : 3;
}

/* ar_send called directly (and its AR_E_STORAGE), then with "cancel"
 * ar_cancel of the same alert; with "refused" every relay refuses it. */
static int
check_send(const char *conf, const char *then)
{
	int cancel = then != NULL && strcmp(then, "cancel") == 0;
	int refused = then != NULL && strcmp(then, "refused") == 0;
	struct ar_callbacks cb = {on_event};
	char id[AR_ALERT_ID_LEN], why[512];
	struct seen s;
	ar_client *c;
	int rc;

	CHECK(ar_init() == AR_OK);
	memset(&s, 0, sizeof(s));
	CHECK(
	    ar_client_new(&c, conf, NULL, &cb, &s, why, sizeof(why)) == AR_OK);
	rc = ar_send(c, "test", "lib_check", NULL, 0, id, sizeof(id), NULL);
	printf("send rc %d (%s) alert %s: %s\n", rc, ar_strerror(rc), id,
	    ar_client_reason(c));
	CHECK(step_until(c, &s, 1) == 0);
	if (refused)
		CHECK(s.failed == 1 && s.status == AR_E_REFUSED);
	else
		CHECK(strcmp(s.id, id) == 0);
	printf("send ended: status %d\n", s.status);
	if (cancel) {
		CHECK(ar_cancel(c, id, NULL) == AR_OK);
		CHECK(step_until(c, &s, 2) == 0);
		printf("cancel ended: status %d\n", s.status);
	}
	ar_client_free(c);
	return failures;
}

/* Two ar_send on one client, with the relay's certificate switched in
 * between (the test says so on stdin): the second connects with the pins
 * of the directory the first one verified. */
static int
check_rotate(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	char id[AR_ALERT_ID_LEN], line[64];
	struct seen s;
	ar_client *c;

	CHECK(ar_init() == AR_OK);
	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s, NULL, 0) == AR_OK);
	CHECK(ar_client_set_option(c, AR_OPT_TIMEOUT, 25) == AR_OK);
	CHECK(
	    ar_send(c, "test", "voor", NULL, 0, id, sizeof(id), NULL) == AR_OK);
	CHECK(step_until(c, &s, 1) == 0);
	printf("first ended: status %d\n", s.status);
	fflush(stdout);
	CHECK(fgets(line, sizeof(line), stdin) != NULL);
	CHECK(ar_send(c, "test", "na", NULL, 0, id, sizeof(id), NULL) == AR_OK);
	CHECK(step_until(c, &s, 2) == 0);
	CHECK(s.done == 2 && strcmp(s.id, id) == 0);
	printf("second ended: status %d\n", s.status);
	ar_client_free(c);
	return failures == 0 ? 0 : 1;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ar_cancel with a PIN: its status, whatever it is, how long the call
 * took (the PIN check runs off the loop), and how it ended; then
 * another one freed while its PIN check is under way. */
static int
check_cancel(const char *conf, const char *alert, const char *pin)
{
	struct ar_callbacks cb = {on_event};
	struct timespec t0;
	struct seen s;
	ar_client *c;
	int rc;

	CHECK(ar_init() == AR_OK);
	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s, NULL, 0) == AR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ar_cancel(c, alert, pin);
	printf("cancel rc %d (%s): %s\n", rc, ar_strerror(rc),
	    ar_client_reason(c));
	printf("cancel returned after %ld ms\n", ms_since(&t0));
	if (rc == AR_OK) {
		CHECK(step_until(c, &s, 1) == 0);
		printf("cancel ended: status %d after %ld ms\n", s.status,
		    ms_since(&t0));
		CHECK(ar_cancel(c, alert, "0000") == AR_OK);
	}
	ar_client_free(c);
	s.gone = 1;
	CHECK(s.freed == 0);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: lib_check CONFIG | enroll BUNDLE CONFIG | lang CONFIG |\n"
	    "       two CONFIG OTHER ALERT | follow CONFIG ALERT FLAGS |\n"
	    "       send CONFIG [cancel | refused] | cancel CONFIG ALERT PIN "
	    "|\n"
	    "       rotate CONFIG\n");
	return 2;
}

/* The modes other than the first: -1 for none of them. */
static int
run_mode(int argc, char **argv)
{
	const char *m = argv[1];

	if (argc == 3 && strcmp(m, "lang") == 0)
		return check_lang(argv[2]);
	if (argc == 5 && strcmp(m, "two") == 0)
		return check_two(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(m, "follow") == 0)
		return check_follow(argv[2], argv[3],
		    (unsigned)strtoul(argv[4], NULL, 0));
	if ((argc == 3 || argc == 4) && strcmp(m, "send") == 0)
		return check_send(argv[2], argc == 4 ? argv[3] : NULL);
	if (argc == 5 && strcmp(m, "cancel") == 0)
		return check_cancel(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(m, "rotate") == 0)
		return check_rotate(argv[2]);
	return -1;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc == 4 && strcmp(argv[1], "enroll") == 0) {
		check_enroll(argv[2], argv[3]);
		printf("%d failed\n", failures);
		return failures == 0 ? 0 : 1;
	}
	if (argc >= 3 && (rc = run_mode(argc, argv)) >= 0) {
		printf("%d failed\n", failures);
		return rc;
	}
	if (argc != 2)
		return usage();
	check_arguments(argv[1]);
	check_step(argv[1]);
	check_base(argv[1]);
	check_free_pending(argv[1]);
	printf("%d failed\n", failures);
	return failures == 0 ? 0 : 1;
}
