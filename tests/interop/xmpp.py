"""Real XMPP clients (slixmpp) behind a small synchronous face.

Tests read as a conversation:

    alice = clients.login("alice@localhost/pc")
    bob = clients.login("bob@localhost/phone")
    alice.send_message(mto="bob@localhost/phone", mbody="hello")
    assert bob.next_message()["body"] == "hello"

All the clients of a test share one asyncio loop; every wait runs that
loop with a deadline, so a server that stays silent fails the test in
seconds instead of hanging it.
"""
import asyncio
import logging
from pathlib import Path

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from palabre import USERS

WAIT = 5.0  # seconds for anything the server should do at once
DEFAULT_MECH = "SCRAM-SHA-256"

logging.getLogger("slixmpp").setLevel(logging.CRITICAL)


class Clients:
    """The clients of one test, on one event loop."""

    def __init__(self, server):
        self.server = server
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.all = []

    def run(self, awaitable, timeout, what):
        try:
            return self.loop.run_until_complete(
                asyncio.wait_for(awaitable, timeout))
        except asyncio.TimeoutError:
            raise AssertionError("timed out after %.0f s waiting for %s"
                                 % (timeout, what)) from None

    def sleep(self, seconds):
        """Lets the clients run for a while (to see that nothing comes)."""
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def connect(self, jid, password=None, **options):
        """A client that starts connecting; see Client for options.

        Unless told (mech=None: slixmpp's own choice), clients use
        SCRAM-SHA-256 without channel binding: slixmpp left to itself tries
        -PLUS with tls-unique, which TLS 1.3 does not have (RFC 9266), and
        fails twice before it falls back."""
        options.setdefault("mech", DEFAULT_MECH)
        if password is None:
            password = USERS[jid.split("/")[0]]
        client = Client(self, jid, password, **options)
        self.all.append(client)
        return client

    def login(self, jid, password=None, *, timeout=10.0, **options):
        """A client logged in with a bound resource, or a failed test."""
        client = self.connect(jid, password, **options)
        client.wait_session(timeout)
        return client

    def login_failure(self, jid, password=None, **options):
        """Logs in expecting a SASL failure; returns its condition."""
        client = self.connect(jid, password, **options)
        return client.wait_auth_failure()

    def close(self):
        for client in self.all:
            try:
                client.xmpp.abort()
            except AttributeError:
                pass  # asyncio's transport was half torn down already
        self.loop.run_until_complete(asyncio.sleep(0.05))
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()
        asyncio.set_event_loop(None)


class Client:
    """One slixmpp ClientXMPP, connected to 127.0.0.1 with the test CA.

    Options: mech (force one SASL mechanism), direct_tls (use the XEP-0368
    port), max_tls (an ssl.TLSVersion to cap the protocol), port,
    channel_binding (False: behave as a client without channel binding,
    SCRAM gs2 flag "n"; by default False when mech is a SCRAM without
    -PLUS, since slixmpp would otherwise send "y", which a server that
    offers -PLUS must refuse as a downgrade, RFC 5802 §6)."""

    def __init__(self, clients, jid, password, *, mech=None,
                 direct_tls=False, max_tls=None, port=None,
                 channel_binding=None):
        self.clients = clients
        loop = clients.loop
        x = slixmpp.ClientXMPP(jid, password, sasl_mech=mech)
        x.loop = loop
        x.register_plugin("xep_0030")
        x.register_plugin("xep_0199")
        x.ca_certs = Path(clients.server.ca_file)
        if max_tls:
            x.ssl_context.maximum_version = max_tls
        if channel_binding is None:
            channel_binding = not (mech and mech.startswith("SCRAM")
                                   and not mech.endswith("-PLUS"))
        if not channel_binding:
            mechanisms = x["feature_mechanisms"]
            credentials = mechanisms.sasl_callback

            def without_channel_binding(required, optional):
                found = credentials(required, optional)
                if "channel_binding" in found:
                    found["channel_binding"] = b""
                return found
            mechanisms.sasl_callback = without_channel_binding
        self.xmpp = x
        self.session = loop.create_future()
        self.auth_failure = loop.create_future()
        self.stream_error = loop.create_future()
        self.disconnected = loop.create_future()
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        x.add_event_handler("session_start", self._on_session)
        x.add_event_handler("failed_auth", self._on_failed_auth)
        x.add_event_handler("stream_error", self._on_stream_error)
        x.add_event_handler("disconnected", self._on_disconnected)
        x.add_event_handler("connection_failed", self._on_disconnected)
        x.register_handler(Callback(
            "every message", MatchXPath("{jabber:client}message"),
            self.messages.put_nowait))
        x.register_handler(Callback(
            "every presence", MatchXPath("{jabber:client}presence"),
            self.presences.put_nowait))
        server = clients.server
        if port is None:
            port = server.tls_port if direct_tls else server.c2s_port
        x.connect(address=(getattr(server, "address", "127.0.0.1"), port),
                  use_ssl=direct_tls)

    # ---- events ---------------------------------------------------------

    @staticmethod
    def _settle(future, value):
        if not future.done():
            future.set_result(value)

    def _on_session(self, _):
        self._settle(self.session, True)

    def _on_failed_auth(self, stanza):
        self._settle(self.auth_failure, stanza["condition"])

    def _on_stream_error(self, error):
        self._settle(self.stream_error, error)

    def _on_disconnected(self, reason):
        self._settle(self.disconnected, reason)
        self._settle(self.session, False)
        self._settle(self.auth_failure, None)

    # ---- waiting --------------------------------------------------------

    def run(self, awaitable, timeout=WAIT, what="the server"):
        return self.clients.run(awaitable, timeout, what)

    @property
    def jid(self):
        """The bound full JID."""
        return self.xmpp.boundjid.full

    def wait_session(self, timeout=10.0):
        started = self.run(asyncio.shield(self.session), timeout,
                           "%s to log in" % self.xmpp.requested_jid)
        if not started:
            failure = self.auth_failure.result() \
                if self.auth_failure.done() else None
            raise AssertionError(
                "%s could not log in (SASL failure: %s, stream error: %s, "
                "disconnected: %s)\n--- palabred.log ---\n%s"
                % (self.xmpp.requested_jid, failure,
                   self.stream_error.result() if self.stream_error.done()
                   else None, self.disconnected.result(),
                   self.clients.server.log_text(6000)))
        return self

    def wait_auth_failure(self, timeout=10.0):
        race = asyncio.wait([self.session, self.auth_failure],
                            return_when=asyncio.FIRST_COMPLETED)
        self.run(race, timeout, "an answer to <auth/>")
        assert not (self.session.done() and self.session.result()), \
            "%s logged in, expected a SASL failure" % self.xmpp.requested_jid
        assert self.auth_failure.done() and self.auth_failure.result(), \
            "no SASL <failure/> before the stream ended (%s)" % (
                self.disconnected.result() if self.disconnected.done()
                else "")
        return self.auth_failure.result()

    def wait_stream_error(self, timeout=WAIT):
        """The condition of the stream error the server sends this client."""
        error = self.run(asyncio.shield(self.stream_error), timeout,
                         "a stream error for %s" % self.jid)
        return error["condition"]

    def wait_disconnected(self, timeout=WAIT):
        self.run(asyncio.shield(self.disconnected), timeout,
                 "%s to be disconnected" % self.jid)

    def next_message(self, timeout=WAIT):
        return self.run(self.messages.get(), timeout,
                        "a message for %s" % self.jid)

    def next_presence(self, timeout=WAIT):
        return self.run(self.presences.get(), timeout,
                        "a presence for %s" % self.jid)

    def no_message(self, within=1.0):
        """Asserts that no message arrives within `within` seconds."""
        self.clients.sleep(within)
        assert self.messages.empty(), "%s got an unexpected message: %s" % (
            self.jid, self.messages.get_nowait())

    # ---- sending --------------------------------------------------------

    def send_message(self, **kw):
        self.xmpp.send_message(**kw)

    def send_raw(self, data):
        self.xmpp.send_raw(data)

    def iq(self, iq, timeout=WAIT):
        """Sends an <iq/>; returns the answer, a result or an error."""
        async def ask():
            try:
                return await iq.send(timeout=timeout)
            except IqError as e:
                return e.iq
        try:
            return self.run(ask(), timeout + 1, "an answer to an iq")
        except IqTimeout:
            raise AssertionError("no answer to %s" % iq) from None

    def ping_server(self):
        """A round trip to the server: once it returns, whatever this client
        sent before has been handled by the session manager."""
        iq = self.xmpp.Iq(stype="get", sto=self.xmpp.boundjid.domain)
        iq.enable("ping")
        return self.iq(iq)

    def available(self, priority=0):
        """Sends available presence with priority, and waits until the
        server has taken it in (a ping round trip behind it)."""
        self.xmpp.send_presence(ppriority=priority)
        self.ping_server()
