/*
 * tests/test_libalertclient.py's C side: libalertclient's error paths
 * (NULL and malformed arguments, a bad configuration path, status texts),
 * then both loops against a real relay: the library's own (step mode,
 * the client freed from its last callback) and a caller's libevent base.
 *
 *	lib_check CONFIG
 *
 * Prints one line per check; exit 0 when all passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	int events, failed, done, status;
	ar_client *free_me; /* freed from the last callback */
	struct event_base *base; /* broken out of at the end */
};

static void
on_event(void *ctx, const struct ar_event *ev)
{
	struct seen *s = ctx;

	s->events++;
	printf("event %d op %d alert %s: %s\n", ev->type, ev->op,
	    ev->alert_id != NULL ? ev->alert_id : "-",
	    ev->reason != NULL ? ev->reason
	                       : (ev->text != NULL ? ev->text : ""));
	if (ev->type == AR_EV_FAILED || ev->type == AR_EV_DONE) {
		s->failed += ev->type == AR_EV_FAILED;
		s->done += ev->type == AR_EV_DONE;
		s->status = ev->status;
		if (s->free_me != NULL)
			ar_client_free(s->free_me);
		if (s->base != NULL)
			event_base_loopbreak(s->base);
	}
}

static void
check_arguments(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct ar_location far = {100.0, 5.0, -1};
	char id[AR_ALERT_ID_LEN], small[8];
	struct seen s;
	ar_client *c = (ar_client *)&s;

	memset(&s, 0, sizeof(s));
	CHECK(strcmp(ar_strerror(AR_OK), "success") == 0);
	CHECK(strcmp(ar_strerror(999), "unknown status") == 0);
	CHECK(strcmp(ar_strerror(-1), "unknown status") == 0);
	CHECK(strcmp(ar_strerror(19), "unknown status") == 0);
	CHECK(strcmp(ar_strerror(AR_E_PIN), "unknown status") != 0);
	CHECK(strcmp(ar_version(), "1.0.0") == 0);
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s) == AR_E_NOT_INIT);
	CHECK(c == NULL);
	CHECK(ar_enroll("/nonexistent", conf, 0, NULL, 0) == AR_E_NOT_INIT);
	CHECK(ar_init() == AR_OK);
	CHECK(ar_init() == AR_OK);
	CHECK(ar_enroll(NULL, conf, 0, NULL, 0) == AR_E_INVAL);
	CHECK(ar_enroll("/nonexistent", conf, 0x100, NULL, 0) == AR_E_INVAL);
	CHECK(ar_enroll("/nonexistent/device.bundle", "/nonexistent/a.conf", 0,
	          NULL, 0) == AR_E_BUNDLE);
	CHECK(ar_client_new(NULL, conf, NULL, &cb, &s) == AR_E_INVAL);
	CHECK(ar_client_new(&c, "/nonexistent/alertctl.conf", NULL, &cb, &s) ==
	    AR_E_CONFIG);
	CHECK(c == NULL);
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s) == AR_OK);
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
	CHECK(ar_follow(c, "0123456789ABCDEF0123456789ABCDEF") == AR_E_INVAL);
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

/* Step mode: a status of an alert the relay does not know. */
static void
check_step(const char *conf)
{
	struct ar_callbacks cb = {on_event};
	struct seen s;
	ar_client *c;
	int i;

	memset(&s, 0, sizeof(s));
	CHECK(ar_client_new(&c, conf, NULL, &cb, &s) == AR_OK);
	CHECK(ar_status(c, "0123456789abcdef0123456789abcdef") == AR_OK);
	CHECK(s.events == 0); /* nothing before the call returned */
	CHECK(ar_client_pending(c) == 1);
	s.free_me = c;
	for (i = 0; i < 300 && s.failed + s.done == 0; i++)
		if (ar_client_step(c, 100) != AR_OK)
			break;
	CHECK(s.failed == 1);
	CHECK(s.status == AR_E_UNKNOWN_ALERT);
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
	CHECK(ar_client_new(&c, conf, base, &cb, &s) == AR_OK);
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

	CHECK(ar_init() == AR_OK);
	CHECK(ar_enroll(bundle, conf, 0, id, sizeof(id)) == AR_OK);
	printf("enrolled %s\n", id);
	CHECK(ar_enroll(bundle, conf, 0, NULL, 0) == AR_E_EXISTS);
	CHECK(ar_enroll(bundle, conf, AR_ENROLL_FORCE, small, sizeof(small)) ==
	    AR_E_NOSPACE);
	CHECK(
	    ar_enroll(bundle, conf, AR_ENROLL_FORCE, id, sizeof(id)) == AR_OK);
	CHECK(ar_client_new(&c, conf, NULL, NULL, NULL) == AR_OK);
	CHECK(c != NULL && strcmp(ar_client_device_id(c), id) == 0);
	ar_client_free(c);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "enroll") == 0) {
		check_enroll(argv[2], argv[3]);
		printf("%d failed\n", failures);
		return failures == 0 ? 0 : 1;
	}
	if (argc != 2) {
		fprintf(stderr,
		    "usage: lib_check CONFIG | enroll BUNDLE CONFIG\n");
		return 2;
	}
	check_arguments(argv[1]);
	check_step(argv[1]);
	check_base(argv[1]);
	printf("%d failed\n", failures);
	return failures == 0 ? 0 : 1;
}
