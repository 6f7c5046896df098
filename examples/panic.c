/*
 * A panic button in a few lines on libalertclient: sends a panic alert
 * and prints what happens to it until a person has acknowledged it.
 *
 *	cc -o panic panic.c $(pkg-config --cflags --libs alertclient)
 *	./panic [CONFIG] [MESSAGE]
 *
 * No libevent of its own: the library's loop is stepped (ar_client_step).
 * Exit 0 once acknowledged, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include <alertclient.h>

struct panic {
	int done;
	int ok;
};

static void
on_event(void *ctx, const struct ar_event *ev)
{
	struct panic *p = ctx;

	switch (ev->type) {
	case AR_EV_ACCEPTED:
		printf("accepted %s by the relay (%s)\n", ev->alert_id,
		    ev->relay_id);
		break;
	case AR_EV_ACKNOWLEDGED:
		printf("acknowledged by %s (%s)\n", ev->operator_name,
		    ev->verified == AR_ACK_VERIFIED ? "signature verified"
		        : ev->verified == AR_ACK_FORGED
		        ? "FORGED, still waiting"
		        : "relay's word");
		break;
	case AR_EV_DONE:
		p->done = 1;
		p->ok = 1;
		break;
	case AR_EV_FAILED:
		printf("failed: %s (%s)\n", ar_strerror(ev->status),
		    ev->reason != NULL ? ev->reason : "");
		p->done = 1;
		break;
	default:
		if (ev->text != NULL)
			printf("%s\n", ev->text);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct ar_callbacks cb;
	struct panic p = {0, 0};
	char alert_id[AR_ALERT_ID_LEN], why[512];
	ar_client *c;
	int rc;

	if ((rc = ar_init()) != AR_OK) {
		fprintf(stderr, "ar_init: %s\n", ar_strerror(rc));
		return 1;
	}
	memset(&cb, 0, sizeof(cb));
	cb.on_event = on_event;
	rc = ar_client_new(&c, argc > 1 ? argv[1] : NULL, NULL, &cb, &p, why,
	    sizeof(why));
	if (rc != AR_OK) {
		fprintf(stderr, "open: %s: %s\n", ar_strerror(rc), why);
		return 1;
	}
	rc = ar_send(c, "panic", argc > 2 ? argv[2] : NULL, NULL,
	    AR_SEND_WAIT_ACK, alert_id, sizeof(alert_id), NULL);
	if (rc != AR_OK) {
		fprintf(stderr, "send: %s\n", ar_strerror(rc));
		ar_client_free(c);
		return 1;
	}
	printf("alert_id=%s\n", alert_id);
	fflush(stdout);
	while (!p.done)
		if (ar_client_step(c, 1000) != AR_OK)
			break;
	ar_client_free(c);
	return p.ok ? 0 : 1;
}
