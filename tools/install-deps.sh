#!/bin/sh
# Installs the Debian packages palabre needs: `build` for make run,
# `test` for make check. Installs only what is missing; never starts a
# system service (slapd, dnsmasq, prosody are started by the tests).
set -e
BUILD="build-essential pkg-config libexpat1-dev libssl-dev libsasl2-dev
libsasl2-modules libldap-dev libuv1-dev libc-ares-dev libsqlite3-dev
libidn-dev openssl"
TEST="check python3 python3-pytest python3-slixmpp slapd ldap-utils dnsmasq-base
prosody lua-unbound python3-pycares"

case "$1" in
build) want="$BUILD" ;;
test) want="$BUILD $TEST" ;;
*) echo "usage: install-deps.sh build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
