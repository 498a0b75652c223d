#!/bin/sh
# bench/load/smoke.sh: xmppload against a real palabred, briefly.
#
# Starts build/palabred (B=build-load for another build directory) from a
# temporary configuration on free ports of 127.0.0.1, creates accounts
# with palabrectl, runs each scenario of xmppload for a second or two and
# checks its JSON report: no failure, and the counts expected. Stops
# palabred by its pid. Usage: [B=build] [KEEP=1] sh bench/load/smoke.sh
# (KEEP=1 keeps the temporary directory: log, reports).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/${B:-build}
PALABRED=$BUILD/palabred
PALABRECTL=$BUILD/palabrectl
XMPPLOAD=$BUILD/xmppload
USERS=40
for f in "$PALABRED" "$PALABRECTL" "$XMPPLOAD"; do
	[ -x "$f" ] || { echo "smoke: $f is missing (make B=${B:-build} all bench-tools)"; exit 1; }
done

TMP=$(mktemp -d /tmp/xmppload-smoke.XXXXXX)
PID=
stop_palabred() {
	[ -n "$PID" ] || return 0
	if kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		i=0
		while kill -0 "$PID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
	fi
	wait "$PID" 2>/dev/null || true
	PID=
}
finish() {
	status=$?
	stop_palabred
	if [ $status -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$TMP"
	elif [ $status -eq 0 ]; then
		echo "smoke: palabred's log and the reports are in $TMP"
	else
		echo "smoke: FAILED; palabred's log and the reports are in $TMP"
	fi
	exit $status
}
trap finish EXIT
trap 'exit 1' INT TERM

# ---- palabred ---------------------------------------------------------------
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
PORT=$1 TLS_PORT=$2
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$TMP/localhost.key" \
	-out "$TMP/localhost.crt" 2>/dev/null
mkdir "$TMP/data"
cat > "$TMP/config.xml" <<XML
<?xml version="1.0"?>
<palabred>
  <pidfile>palabred.pid</pidfile>
  <log level="info"/>
  <router><socket>router.sock</socket></router>
  <storage><path>data</path></storage>
  <host domain="localhost">
    <certificate>localhost.crt</certificate>
    <key>localhost.key</key>
    <auth backend="local"/>
  </host>
  <c2s>
    <listen address="127.0.0.1" port="$PORT"/>
    <listen address="127.0.0.1" port="$TLS_PORT" tls="direct"/>
    <require-starttls>true</require-starttls>
    <mechanisms>SCRAM-SHA-256 SCRAM-SHA-1 PLAIN</mechanisms>
  </c2s>
  <sm><modules>roster presence offline blocking disco ping</modules></sm>
  <muc/>
</palabred>
XML
i=0
while [ $i -lt $USERS ]; do
	echo "bench$i@localhost bench-Secret-1"; i=$((i + 1))
done | "$PALABRECTL" -c "$TMP/config.xml" -i 4096 user import >/dev/null

"$PALABRED" -c "$TMP/config.xml" 2>"$TMP/palabred.log" &
PID=$!
python3 - "$PORT" "$TLS_PORT" <<'PY' || { cat "$TMP/palabred.log"; exit 1; }
import socket, sys, time
deadline = time.monotonic() + 15
for port in map(int, sys.argv[1:]):
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("smoke: palabred does not listen on %d" % port)
            time.sleep(0.1)
PY
sleep 0.5 # the sm serves the domain shortly after the ports open

# ---- xmppload -------------------------------------------------------------
RUN=0
# run NAME CHECK XMPPLOAD-ARGS...: CHECK is a Python expression on the
# report r (f: the number of failures).
run() {
	name=$1 check=$2
	shift 2
	RUN=$((RUN + 1))
	report="$TMP/$RUN-$name.json"
	if ! timeout 120 "$XMPPLOAD" --domain localhost --report "$report" \
		--timeout 10 "$@" 2>"$TMP/$RUN-$name.err"; then
		echo "smoke: $name: xmppload failed"; cat "$TMP/$RUN-$name.err"
		[ -f "$report" ] && cat "$report"
		exit 1
	fi
	python3 - "$report" "$check" "$name" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
f = sum(r["failures"].values())
if not eval(sys.argv[2]):
    print("smoke: %s: FAILED %s\n%s" % (sys.argv[3], sys.argv[2],
                                        json.dumps(r, indent=1)))
    sys.exit(1)
print("smoke: %-24s ok  (%s)" % (sys.argv[3], sys.argv[2]))
PY
}
STARTTLS="--connect 127.0.0.1:$PORT"
DIRECT="--connect 127.0.0.1:$TLS_PORT --tls direct"

run idle-plain 'f == 0 and r["sessions_ok"] == 20 and r["bytes_per_session"] > 0' \
	$STARTTLS --scenario idle --sessions 20 --hold 1
grep -q '^HOLDING 20$' "$TMP/$RUN-idle-plain.err" || {
	echo "smoke: idle did not write HOLDING 20"; exit 1; }
run idle-direct-scram256 'f == 0 and r["sessions_ok"] == 20' \
	$DIRECT --scenario idle --sessions 20 --hold 1 --mech SCRAM-SHA-256 \
	--processes 2 --sources 127.0.0.2-127.0.0.9
grep -q 'accepted from 127\.0\.0\.3:' "$TMP/palabred.log" || {
	echo "smoke: --sources: no connection from 127.0.0.3"; exit 1; }
# all but the first --concurrency handshakes resume
run login-scram1-resume 'f == 0 and r["logins"] > 10 and r["tls_resumed"] >= r["sessions_ok"] - 4' \
	$STARTTLS --scenario login --sessions 10 --concurrency 4 --duration 2 \
	--mech SCRAM-SHA-1 --resume
run login-rate 'f == 0 and 30 <= r["logins"] <= 45' \
	$STARTTLS --scenario login --sessions 10 --rate 20 --duration 2
run chat-saturation 'f == 0 and r["messages"]["lost"] == 0 and r["messages"]["received"] > 100 and r["latency_ms"]["p99"] > 0' \
	$STARTTLS --scenario chat --sessions 10 --duration 2 --window 4
run chat-rate 'f == 0 and r["messages"]["lost"] == 0 and 300 <= r["messages"]["sent"] <= 420' \
	$STARTTLS --scenario chat --sessions 10 --duration 2 --msg-rate 180 --processes 2
run roster-setup 'f == 0 and r["subscriptions"] == 24 == r["subscriptions_expected"]' \
	$STARTTLS --scenario roster-setup --sessions 12 --contacts 2 --processes 2
run roster-setup-again 'f == 0 and r["subscriptions"] == 24' \
	$STARTTLS --scenario roster-setup --sessions 12 --contacts 2
run presence 'f == 0 and r["presences"]["received"] > 0 and r["logins"] > 0' \
	$STARTTLS --scenario presence --sessions 12 --contacts 2 --duration 2 \
	--concurrency 3
# two rooms of 10, 4 senders (2 a room): each message to its room's 10
run muc-rate 'f == 0 and r["muc"]["owners"] == 2 and r["muc"]["occupants"] == 20 and 70 <= r["messages"]["sent"] <= 82 and r["messages"]["received"] == r["messages"]["expected"] == 10 * r["messages"]["sent"] and r["presences"]["received"] > 0' \
	$STARTTLS --scenario muc --sessions 20 --rooms 2 --senders 4 \
	--msg-rate 40 --duration 2 --hold 0.2 --processes 2
grep -q '^JOINING 20$' "$TMP/$RUN-muc-rate.err" &&
	grep -q '^JOINED 18$' "$TMP/$RUN-muc-rate.err" || {
	echo "smoke: muc did not write JOINING 20 and JOINED 18"; exit 1; }
run muc-saturation 'f == 0 and r["messages"]["lost"] == 0 and r["messages"]["received"] > 1000 and r["latency_ms"]["p99"] > 0' \
	$STARTTLS --scenario muc --sessions 20 --senders 2 --window 4 \
	--duration 2 --hold 0

grep -E '\b(error|ERROR)\b' "$TMP/palabred.log" | head -5 || true
echo "smoke: all $RUN runs passed"
