/* TEMPORARY: weak stand-ins until sms_gateway.c lands; delete then. */
#include <stdio.h>
#include <string.h>

#include "sms_gateway.h"

__attribute__((weak)) int
sms_gateway_set(struct sms_gateway *gw, const char *dir, const char *key,
    const char *value, char *err, size_t errlen)
{
	(void)gw;
	(void)dir;
	(void)key;
	(void)value;
	snprintf(err, errlen, "SMS gateways are not built in yet");
	return -1;
}

__attribute__((weak)) int
sms_gateway_check(struct sms_gateway *gw, char *err, size_t errlen)
{
	(void)gw;
	(void)err;
	(void)errlen;
	return 0;
}

__attribute__((weak)) void
sms_gateway_clear(struct sms_gateway *gw)
{
	(void)gw;
}

__attribute__((weak)) int
sms_number_valid(const char *number)
{
	return number[0] == '+';
}

__attribute__((weak)) size_t
sms_format_alert(char *out, size_t outlen, const char *alert_type,
    const char *alias, time_t t, const char *ref)
{
	(void)t;
	return (size_t)snprintf(out, outlen, "ALERT %s from %s ref %s",
	    alert_type, alias, ref);
}

__attribute__((weak)) size_t
sms_format_event(char *out, size_t outlen, const char *event, const char *ref,
    const char *by, time_t t)
{
	(void)t;
	(void)by;
	return (size_t)snprintf(out, outlen, "%s %s", event, ref);
}

__attribute__((weak)) struct http_req *
sms_send(struct http_client *hc, const struct sms_gateway *gw, const char *to,
    const char *text, const char *ref, long connect_timeout_ms, long timeout_ms,
    sms_done_cb cb, void *arg)
{
	(void)hc;
	(void)gw;
	(void)to;
	(void)text;
	(void)ref;
	(void)connect_timeout_ms;
	(void)timeout_ms;
	(void)cb;
	(void)arg;
	return NULL;
}
