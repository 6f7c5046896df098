/*
 * Which settings only a restart can apply, and which of them a new
 * configuration changes.  alertrelayd.conf(5) lists the same keys under
 * RELOAD; keep the two in step.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "relay_restart.h"

static const struct {
	const char *section;
	const char *key;
} relay_restart_keys[] = {
    {"relay", "listen"}, /* bound before privileges are dropped */
    {"relay", "user"}, /* privileges are dropped once */
    {"relay", "instance_id"}, /* the consumer name in Redis */
    {"relay", "spool_dir"}, /* opened once, holds alerts */
    {"relay", "reserve_fds"}, /* the descriptor budget is shared at start */
    {"relay", "workers"}, /* the processes are forked at start */
    {"admin", "listen"},
    {"admin", "max_connections"}, /* the listeners' limits: at start */
    {"admin", "max_connections_per_address"},
    {"admin", "conn_rate"},
    {"admin", "conn_burst"},
    {"admin", "request_timeout"},
    {"ack", "listen"},
    {"ack", "listen_plain"},
    {"ack", "max_connections"},
    {"ack", "max_connections_per_address"},
    {"ack", "conn_rate"},
    {"ack", "conn_burst"},
    {"ack", "request_timeout"},
    {"redis", "address"}, /* the connections are made once */
    {"redis", "sentinels"},
    {"redis", "master_name"},
    {"redis", "prefix"}, /* keys and streams of running deliveries */
    {"redis", "timeout"},
    /* [audit]: the key is read, the file opened, before privileges are
     * dropped */
    {"audit", "key_file"},
    {"audit", "file"},
};

size_t
relay_restart_needed(const struct relay_config *running,
    const struct relay_config *next, char *buf, size_t len)
{
	size_t i, n = 0, used = 0;
	int same;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0;
	     i < sizeof(relay_restart_keys) / sizeof(relay_restart_keys[0]);
	     i++) {
		same = relay_config_same(running, next,
		    relay_restart_keys[i].section, relay_restart_keys[i].key);
		if (same < 0)
			log_fatalx("relay_restart: no key [%s] %s",
			    relay_restart_keys[i].section,
			    relay_restart_keys[i].key);
		if (same)
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used,
			    "%s[%s] %s", n > 0 ? ", " : "",
			    relay_restart_keys[i].section,
			    relay_restart_keys[i].key);
		n++;
	}
	return n;
}
