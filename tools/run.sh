#!/bin/sh
# make run: prepares run/ (configuration, a self-signed certificate for
# localhost, the data directory) once, then starts palabred in the
# foreground.
set -e
cd "$(dirname "$0")/.."
mkdir -p run
if [ ! -f run/config.xml ]; then
	# The embedded default: domain localhost, SQLite accounts, loopback only.
	sed -e 's/address="0.0.0.0"/address="127.0.0.1"/' config.xml.dist > run/config.xml
	echo "created run/config.xml from config.xml.dist"
fi
if [ ! -f run/localhost.crt ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-keyout run/localhost.key -out run/localhost.crt 2>/dev/null
	chmod 600 run/localhost.key
	echo "created a self-signed certificate for localhost in run/"
fi
cat <<'EOT'

palabred is starting on localhost (STARTTLS on 5222, direct TLS on 5223).
In another terminal, add a user (the password is asked for):

    build/palabrectl -c run/config.xml user add alice@localhost

then log in as alice@localhost with Gajim, Profanity or any XMPP client
(server 127.0.0.1, port 5222; accept the self-signed certificate).
Rooms are on conference.localhost (e.g. join team@conference.localhost).
Stop palabred with Ctrl-C.

EOT
exec build/palabred -c run/config.xml
