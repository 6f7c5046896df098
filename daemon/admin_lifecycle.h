/*
 * The data's life cycle on the admin listener, for `alertctl audit` and
 * `alertctl device forget` (admin.c checks the token before calling):
 *
 *	GET  /audit?instance=I&after=ID&count=N	a page of instance I's
 *		audit records (default: this relay's), after stream id ID
 *		("-": from the first), at most N (1..1000, default 500):
 *		{"records":[LINE...],"ids":[...],"next":ID,"head":LINE,
 *		 "last":LINE}
 *	POST /device/forget  {"device_id":D,"by":NAME}: every alert,
 *		event, index and stream entry of device D erased, in
 *		bounded steps; answers {"alerts":N,"entries":M,"keys":K}.
 *		The audit log keeps only that an erasure happened, by
 *		whom, from where and how many records.
 */
#ifndef ALERTRELAY_ADMIN_LIFECYCLE_H
#define ALERTRELAY_ADMIN_LIFECYCLE_H

struct relay;
struct evhttp_request;
struct admin_lifecycle;

struct admin_lifecycle *admin_lifecycle_new(struct relay *relay);
/* Cancels what waits for Redis; before evhttp frees the requests. */
void admin_lifecycle_free(struct admin_lifecycle *l);
void admin_lifecycle_audit(struct admin_lifecycle *l,
    struct evhttp_request *req);
void admin_lifecycle_forget(struct admin_lifecycle *l,
    struct evhttp_request *req, const char *peer);

#endif
