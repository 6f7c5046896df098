/*
 * Outgoing HTTP(S) requests through libcurl's multi interface on the event
 * loop (http_client.h).
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "http_client.h"
#include "evtimer_ms.h"
#include "log.h"
#include "strindex.h"
#include "wipealloc.h"
#include "xmalloc.h"

#define HTTP_RESPONSE_MAX 16384 /* bodies are read this far, then cut */
#define HTTP_USER_AGENT "alertrelayd/" ALERTRELAY_VERSION
/* Transfers at once to one host: as many as curl keeps connections to
 * it, so curl never queues one itself (see http_host). */
#define HTTP_HOST_PARALLEL 16

#ifndef ALERTRELAY_VERSION
#define ALERTRELAY_VERSION "0.1.0"
#endif

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	TAILQ_HEAD(, http_req) reqs;
	TAILQ_HEAD(, http_req) done; /* finished, callbacks not yet made */
	struct strindex *hosts; /* http_host by origin */
};

/*
 * The transfers to one origin (scheme, host, port).  At most
 * HTTP_HOST_PARALLEL run in curl at once; the rest wait here, in order.
 * Left to curl, the extra transfers would wait in its pending list, which
 * curl 7.88's curl_multi_remove_handle() walks at every removal: a burst
 * of n deliveries to one receiver cost n squared (make bench: 28% of the
 * relay's CPU).  Queues are per origin, so a receiver that hangs holds up
 * only its own deliveries.
 */
struct http_host {
	struct strlink link; /* key: the origin */
	char *origin;
	int running;
	TAILQ_HEAD(, http_req) waiting;
};

struct http_req {
	struct http_client *hc;
	CURL *easy;
	struct curl_slist *headers;
	char *body; /* ours, not curl's: CURLOPT_POSTFIELDS does not copy */
	size_t bodylen;
	size_t received;
	int cut; /* we stopped reading at HTTP_RESPONSE_MAX */
	char *answer; /* the caller's (http_post_args), or NULL */
	size_t answerlen;
	http_done_cb cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode result; /* once finished */
	int finished; /* on hc->done, its callback still to come */
	struct http_host *host;
	int running; /* in curl; otherwise on host->waiting */
	TAILQ_ENTRY(http_req) entry;
	TAILQ_ENTRY(http_req) done_entry;
	TAILQ_ENTRY(http_req) wait_entry;
};

/* One per socket curl asks us to watch. */
struct http_sock {
	struct http_client *hc;
	curl_socket_t fd;
	struct event *ev;
};

/* "scheme://host:port" as curl reads the URL; a URL curl cannot parse
 * gets a key of its own, and curl reports the error. */
static char *
http_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *origin;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	        CURLUE_OK)
		origin = xasprintf("%s://%s:%s", scheme, host, port);
	else
		origin = xstrdup("(unparsed)");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return origin;
}

static struct http_host *
http_host_get(struct http_client *hc, const char *url)
{
	char *origin = http_origin(url);
	struct strlink *l = strindex_first(hc->hosts, origin);
	struct http_host *h;

	if (l != NULL) {
		free(origin);
		return l->owner;
	}
	h = xcalloc(1, sizeof(*h));
	h->origin = origin;
	h->link.key = h->origin;
	h->link.owner = h;
	TAILQ_INIT(&h->waiting);
	strindex_add(hc->hosts, &h->link);
	return h;
}

static void
http_host_put(struct http_client *hc, struct http_host *h)
{
	if (h->running > 0 || !TAILQ_EMPTY(&h->waiting))
		return;
	strindex_remove(hc->hosts, &h->link);
	free(h->origin);
	free(h);
}

static void
http_req_start(struct http_req *req)
{
	req->running = 1;
	req->host->running++;
	if (curl_multi_add_handle(req->hc->multi, req->easy) != CURLM_OK)
		log_fatalx("curl_multi_add_handle failed");
}

/* The body and header lines may hold a gateway's secret (an http
 * gateway's "{password}" template): wipe our copies once curl is done
 * with them. */
static void
http_req_wipe(struct http_req *req)
{
	struct curl_slist *l;

	for (l = req->headers; l != NULL; l = l->next)
		sodium_memzero(l->data, strlen(l->data));
	sodium_memzero(req->body, req->bodylen);
}

static void
http_req_free(struct http_req *req)
{
	struct http_host *h = req->host;
	struct http_req *next;

	if (req->finished)
		TAILQ_REMOVE(&req->hc->done, req, done_entry);
	if (req->running) {
		curl_multi_remove_handle(req->hc->multi, req->easy);
		h->running--;
		if ((next = TAILQ_FIRST(&h->waiting)) != NULL) {
			TAILQ_REMOVE(&h->waiting, next, wait_entry);
			http_req_start(next);
		}
	} else
		TAILQ_REMOVE(&h->waiting, req, wait_entry);
	http_host_put(req->hc, h);
	curl_easy_cleanup(req->easy);
	http_req_wipe(req);
	curl_slist_free_all(req->headers);
	free(req->body);
	TAILQ_REMOVE(&req->hc->reqs, req, entry);
	free(req);
}

/* All finished transfers are taken off curl's message queue first, and
 * only then removed: curl_multi_remove_handle() walks the messages still
 * queued, which made a burst of n completions cost n squared (make
 * bench showed it as most of the relay's CPU during an alert burst).
 * A callback may cancel another finished request: http_req_free() takes
 * it off the done list too. */
static void
http_check_done(struct http_client *hc)
{
	struct http_req *req;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(hc->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &req);
		req->result = msg->data.result;
		req->finished = 1;
		TAILQ_INSERT_TAIL(&hc->done, req, done_entry);
	}
	while ((req = TAILQ_FIRST(&hc->done)) != NULL) {
		long status = 0;
		const char *error = NULL;

		TAILQ_REMOVE(&hc->done, req, done_entry);
		req->finished = 0;
		/* A body we stopped reading came after a whole status line
		 * and headers: the status stands (a receiver that says 200
		 * with a long page has the delivery), the rest is dropped. */
		if (req->result == CURLE_OK ||
		    (req->result == CURLE_WRITE_ERROR && req->cut))
			curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE,
			    &status);
		if (status == 0 && req->result != CURLE_OK)
			error = req->errbuf[0]
			    ? req->errbuf
			    : curl_easy_strerror(req->result);
		if (req->cb != NULL)
			req->cb(status, error, req->arg);
		http_req_free(req);
	}
}

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *hc = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(hc->multi, fd, flags, &running);
	http_check_done(hc);
}

static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *hc = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(hc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(hc);
}

static int
http_timer_update(CURLM *multi, long timeout_ms, void *arg)
{
	struct http_client *hc = arg;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(hc->timer);
		return 0;
	}
	/* Never act from inside curl: a zero timeout runs on the next
	 * loop iteration. */
	evtimer_add_ms(hc->timer, timeout_ms);
	return 0;
}

static int
http_socket_update(CURL *easy, curl_socket_t fd, int action, void *arg,
    void *sockp)
{
	struct http_client *hc = arg;
	struct http_sock *hs = sockp;
	short kind;

	(void)easy;
	if (action == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
			curl_multi_assign(hc->multi, fd, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | (action & CURL_POLL_IN ? EV_READ : 0) |
	    (action & CURL_POLL_OUT ? EV_WRITE : 0);
	if (hs == NULL) {
		hs = xcalloc(1, sizeof(*hs));
		hs->hc = hc;
		hs->fd = fd;
		curl_multi_assign(hc->multi, fd, hs);
	} else
		event_free(hs->ev);
	hs->ev = event_new(hc->base, fd, kind, http_event_cb, hc);
	event_add(hs->ev, NULL);
	return 0;
}

struct http_client *
http_client_new(struct event_base *base)
{
	struct http_client *hc = xcalloc(1, sizeof(*hc));

	/* curl copies the URL, the credentials and the headers, and
	 * builds the request in buffers of its own: with these memory
	 * functions it wipes each of them when it frees it. */
	if (wipealloc_curl_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatalx("curl_global_init failed");
	hc->base = base;
	hc->multi = curl_multi_init();
	if (hc->multi == NULL)
		log_fatalx("curl_multi_init failed");
	hc->timer = evtimer_new(base, http_timer_cb, hc);
	TAILQ_INIT(&hc->reqs);
	TAILQ_INIT(&hc->done);
	hc->hosts = strindex_new(64);
	curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION,
	    http_socket_update);
	curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, hc);
	curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, http_timer_update);
	curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, hc);
	/* Keep a few connections per host warm for the next alert. */
	curl_multi_setopt(hc->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)HTTP_HOST_PARALLEL);
	return hc;
}

void
http_client_free(struct http_client *hc)
{
	if (hc == NULL)
		return;
	/* Remaining requests are dropped; their deliveries stay pending
	 * in Redis and are resumed by the next start. */
	while (!TAILQ_EMPTY(&hc->reqs))
		http_req_free(TAILQ_FIRST(&hc->reqs));
	curl_multi_cleanup(hc->multi);
	strindex_free(hc->hosts);
	event_free(hc->timer);
	free(hc);
	curl_global_cleanup();
}

/* The answer's body is counted and dropped, but for its start when the
 * caller keeps it (console_ack.c reads why the relay refused). */
static size_t
http_answer_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req *req = arg;
	size_t n = size * nmemb;

	if (req->answer != NULL && req->received < req->answerlen - 1) {
		size_t k = req->answerlen - 1 - req->received;

		k = k < n ? k : n;
		memcpy(req->answer + req->received, data, k);
		req->answer[req->received + k] = '\0';
	}
	req->received += n;
	/* An endpoint that streams an endless answer is cut off; its status
	 * still counts (http_check_done). */
	if (req->received > HTTP_RESPONSE_MAX) {
		req->cut = 1;
		return 0;
	}
	return n;
}

static void
http_client_trust(CURL *easy, const struct http_post_args *a)
{
	char *pin;

	if (a->pin != NULL) {
		pin = xasprintf("sha256//%s", a->pin);
		curl_easy_setopt(easy, CURLOPT_PINNEDPUBLICKEY, pin);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
		free(pin);
	} else if (a->cainfo != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, a->cainfo);
}

struct http_req *
http_post(struct http_client *hc, const struct http_post_args *a,
    http_done_cb cb, void *arg)
{
	struct http_req *req = xcalloc(1, sizeof(*req));
	size_t i;

	req->hc = hc;
	req->cb = cb;
	req->arg = arg;
	req->body = xmalloc(a->bodylen + 1);
	req->bodylen = a->bodylen;
	if ((req->answerlen = a->answerlen) > 0) {
		req->answer = a->answer;
		req->answer[0] = '\0';
	}
	if (a->bodylen > 0)
		memcpy(req->body, a->body, a->bodylen);
	for (i = 0; i < a->nheaders; i++)
		req->headers = curl_slist_append(req->headers, a->headers[i]);
	/* curl would send "Expect: 100-continue" for large bodies. */
	req->headers = curl_slist_append(req->headers, "Expect:");
	if ((req->easy = curl_easy_init()) == NULL)
		log_fatalx("curl_easy_init failed");
	curl_easy_setopt(req->easy, CURLOPT_URL, a->url);
	curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (a->method != NULL && strcmp(a->method, "GET") == 0)
		curl_easy_setopt(req->easy, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(req->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)a->bodylen);
		if (a->method != NULL && strcmp(a->method, "POST") != 0)
			curl_easy_setopt(req->easy, CURLOPT_CUSTOMREQUEST,
			    a->method);
	}
	if (a->userpwd != NULL) {
		curl_easy_setopt(req->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(req->easy, CURLOPT_USERPWD, a->userpwd);
	}
	curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	http_client_trust(req->easy, a);
	curl_easy_setopt(req->easy, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    a->connect_timeout_ms);
	curl_easy_setopt(req->easy, CURLOPT_TIMEOUT_MS, a->timeout_ms);
	curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(req->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, http_answer_cb);
	curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req);
	TAILQ_INSERT_TAIL(&hc->reqs, req, entry);
	req->host = http_host_get(hc, a->url);
	if (req->host->running < HTTP_HOST_PARALLEL)
		http_req_start(req);
	else
		TAILQ_INSERT_TAIL(&req->host->waiting, req, wait_entry);
	return req;
}

void
http_req_cancel(struct http_req *req)
{
	if (req != NULL)
		http_req_free(req);
}
