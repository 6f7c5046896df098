#!/bin/sh
# The alert path on loopback, end to end, in a throwaway directory:
#   alertctl send --TLS 1.3--> alertrelayd --> Redis (AOF, fsync always)
#                 --signed webhook--> alertctl receive (decrypts, verifies)
# Run by `make demo` (which sets $ALERTRELAY_BUILD).  Everything it starts
# is stopped on exit, by PID; nothing is left running.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${ALERTRELAY_BUILD:-$top/build}
alertctl=$build/alertctl
alertrelayd=$build/alertrelayd
py=/usr/bin/python3

for b in "$alertctl" "$alertrelayd"; do
	[ -x "$b" ] || { echo "demo: $b not built (run make)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/alertrelay-demo.XXXXXX")
pids=""

cleanup() {
	status=$?
	trap - EXIT INT TERM
	for pid in $pids; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "demo: pid $pid did not stop, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section() {
	printf '\n==== %s ====\n' "$*"
}

# wait_for FILE PATTERN SECONDS [PID]: until FILE has a line matching
# PATTERN; gives up early when process PID has exited.
wait_for() {
	n=0
	while [ $n -lt $(($3 * 10)) ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
			echo "demo: process $4 exited before '$2' appeared in $1:" >&2
			tail -n 20 "$1" >&2 || true
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "demo: no '$2' in $1 after $3 s:" >&2
	tail -n 20 "$1" >&2 || true
	return 1
}

free_ports() {
	$py -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()' "$1"
}

# shellcheck disable=SC2046
set -- $(free_ports 4)
relay_port=$1 redis_port=$2 hook1=$3 hook2=$4

section "1. Setup: keys, relay certificate, configuration (scripts/dev-setup)"
ALERTRELAY_BUILD=$build "$top/scripts/dev-setup" "$work/setup" \
	--relay-port "$relay_port" --redis-port "$redis_port" \
	--webhook-port "$hook1" "$hook2"
s=$work/setup

section "2. Redis on 127.0.0.1:$redis_port (appendonly yes, appendfsync always)"
redis-server --port "$redis_port" --bind 127.0.0.1 --appendonly yes \
	--appendfsync always --save '' --dir "$s/redis" --daemonize no \
	--logfile "$work/redis.log" &
pids="$pids $!"
wait_for "$work/redis.log" "Ready to accept connections" 10 $!
redis-cli -p "$redis_port" ping

section "3. alertrelayd on 127.0.0.1:$relay_port"
"$alertrelayd" -c "$s/alertrelayd.conf" -f 2>"$work/relay.log" &
pids="$pids $!"
wait_for "$work/relay.log" "listening on 127.0.0.1:$relay_port" 10 $!
wait_for "$work/relay.log" "redis connected" 10 $!
cat "$work/relay.log"

section "4. Receivers: alertctl receive for contactpunt and oncall-1"
for r in contactpunt:$hook1 oncall-1:$hook2; do
	id=${r%%:*} port=${r#*:}
	"$alertctl" receive --listen "127.0.0.1:$port" --key "$s/$id.key" \
		--secret "$s/$id.whsec" --devices "$s/devices" --pretty \
		>"$work/$id.out" 2>"$work/$id.err" &
	pids="$pids $!"
	wait_for "$work/$id.err" "listening on\|luistert op" 10 $!
	echo "$id: $(cat "$work/$id.err")"
done

section "5. The mayor presses the button: alertctl send --type panic"
msg="Er staat iemand bij de voordeur die niet weggaat"
echo "\$ alertctl -c alertctl.conf send --type panic --message \"$msg\" \\"
echo "      --lat 52.0907 --lon 5.1214 --accuracy 15 --timeout 20"
rc=0
"$alertctl" -c "$s/alertctl.conf" send --type panic --message "$msg" \
	--lat 52.0907 --lon 5.1214 --accuracy 15 --timeout 20 \
	>"$work/send.out" 2>&1 || rc=$?
cat "$work/send.out"
if [ $rc -ne 0 ]; then
	echo "demo: alertctl send failed (exit $rc)" >&2
	exit 1
fi
alert_id=$(sed -n 's/^alert_id=//p' "$work/send.out")

section "6. What the contact points received (decrypted and verified)"
for id in contactpunt oncall-1; do
	wait_for "$work/$id.out" "alert_id:" 20
	sleep 0.2
	echo "--- $id"
	cat "$work/$id.out"
done

section "7. What Redis holds (routing metadata; the message is only in ciphertexts)"
redis-cli -p "$redis_port" --no-raw xrange alertrelay:alerts - +
echo "hash alertrelay:alert:$alert_id has fields:" $(redis-cli -p "$redis_port" \
	--raw hkeys "alertrelay:alert:$alert_id")
if redis-cli -p "$redis_port" --raw hgetall "alertrelay:alert:$alert_id" |
	grep -q "voordeur"; then
	echo "demo: the message is readable in Redis!" >&2
	exit 1
fi

section "8. The relay's log"
cat "$work/relay.log"

section "Done: stopping everything this demo started"
