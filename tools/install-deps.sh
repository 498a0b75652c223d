#!/bin/sh
# Installs the Debian packages palabre needs: `build` for make run,
# `test` for make check, `bench` for bench/compare (the other servers it
# measures palabre against; kept out of `test` so make check stays quick),
# `fuzz` for make fuzz (clang's libFuzzer; make check needs no clang).
# Installs only what is missing; never starts a system service (slapd,
# dnsmasq, prosody, coturn, biboumi, ngircd, ejabberd, jabberd2 are
# started by the tests and the benchmark, each in a private directory).
set -e
BUILD="build-essential pkg-config libexpat1-dev libssl-dev libsasl2-dev
libsasl2-modules libldap-dev libuv1-dev libc-ares-dev libsqlite3-dev
libidn-dev openssl sqlite3"
TEST="check python3 python3-pytest python3-slixmpp python3-nbxmpp slapd
ldap-utils dnsmasq-base prosody lua-unbound python3-pycares clang-format-14 coturn
biboumi ngircd"
# bench/servers.py runs these with private configs under a work directory
# (ejabberd through erl, from its dependency erlang-base).
BENCH="python3 openssl prosody ejabberd jabberd2"
FUZZ="clang libclang-rt-14-dev"

case "$1" in
build) want="$BUILD" ;;
test) want="$BUILD $TEST" ;;
bench) want="$BUILD $BENCH" ;;
fuzz) want="$BUILD $FUZZ" ;;
*) echo "usage: install-deps.sh build|test|bench|fuzz" >&2; exit 2 ;;
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
if [ "$1" = bench ]; then
	# policy-rc.d kept ejabberd, jabberd2 and epmd from starting (their
	# postinst call invoke-rc.d); say so if one runs anyway, without
	# stopping anything that may belong to someone else.
	for p in epmd beam.smp jabberd2-router jabberd2-sm jabberd2-c2s \
		jabberd2-s2s; do
		pids=$(pgrep -x "$p" || true)
		[ -n "$pids" ] && echo "install-deps.sh: $p runs (pid $pids):" \
			"started by a package? bench/servers.py starts its own" >&2
	done
fi
exit 0
