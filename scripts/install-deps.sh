#!/bin/sh
# Installs what alertrelay needs to build, test and run its demo, from
# Debian's packages.  A no-op when everything is already there.
set -eu

PKGS="gcc make pkg-config openssl ca-certificates testssl.sh
libevent-dev libssl-dev libsodium-dev libhiredis-dev libcurl4-openssl-dev
libjansson-dev libinih-dev libsqlite3-dev gettext libgpiod-dev libgps-dev
gpsd gpsd-clients libjs-leaflet
redis-server redis-tools kannel kannel-extras mandoc systemd nftables libseccomp2
python3 python3-pytest python3-pytest-timeout python3-nacl python3-openssl python3-redis python3-prometheus-client python3-yaml
clang-format clang libclang-rt-14-dev valgrind
dpkg-dev debhelper fakeroot lintian prometheus prometheus-alertmanager
chromium chromium-driver python3-selenium"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# Kannel is only a test peer here (the tests start their own bearerbox and
# smsbox on free ports): keep the package's system service off.
# Alertmanager is only make bench's point of comparison (bench/
# alertmanager.py starts its own on a free loopback port): the package's
# system service stays off, like Kannel's.
# nftables is only the packet filter of a test (test_console_stream_dead_
# peer.py adds a table of its own and removes it); Debian leaves its
# service, which would load /etc/nftables.conf, disabled.  libseccomp2
# is only tests/deny_syscalls.py's filter (a file system without hard
# links, test_setup.py).
case "$missing" in
*prometheus-alertmanager*)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
	fi
	if [ -x /etc/init.d/prometheus-alertmanager ]; then
		/etc/init.d/prometheus-alertmanager stop >/dev/null 2>&1 || true
		update-rc.d prometheus-alertmanager disable >/dev/null 2>&1 || true
	fi
	;;
esac
case "$missing" in
*kannel*)
	if [ -x /etc/init.d/kannel ]; then
		/etc/init.d/kannel stop >/dev/null 2>&1 || true
		update-rc.d kannel disable >/dev/null 2>&1 || true
	fi
	;;
esac
