"""Gajim 1.7's XMPP side without its windows: clients of python-nbxmpp
(4.2, the library Gajim 1.7 is built on), driven by the test through the
GLib main loop, logging in and asking what Gajim asks, through nbxmpp's
own modules, so every stanza is the one Gajim sends.

    loop = nbxmppclient.Loop()
    alice = nbxmppclient.Gajim(loop, server, jid).login()
    info = loop.call(alice.module("Discovery").disco_info, "localhost")

Gajim pins the certificate the user accepted; these clients accept the
test server's own certificate the same way (set_accepted_certificates),
so every other TLS check stays on.
"""
import time

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

import nbxmpp  # noqa: E402
from nbxmpp.client import Client  # noqa: E402
from nbxmpp.const import ConnectionProtocol, ConnectionType  # noqa: E402
from nbxmpp.namespaces import Namespace  # noqa: E402
from nbxmpp.protocol import JID  # noqa: E402
from nbxmpp.structs import DiscoIdentity, StanzaHandler  # noqa: E402

from xmpp import WAIT  # noqa: E402

# Gajim 1.7's caps (gajim/common/const.py COMMON_FEATURES and
# helpers.get_optional_features), the OMEMO plugin's +notify among them:
# PEP sends a contact's notifications only for nodes named here.
GAJIM_FEATURES = [
    Namespace.BYTESTREAM, Namespace.MUC, Namespace.COMMANDS,
    Namespace.DISCO_INFO, Namespace.LAST, Namespace.DATA,
    Namespace.ENCRYPTED, Namespace.PING, Namespace.CHATSTATES,
    Namespace.RECEIPTS, Namespace.TIME_REVISED, Namespace.VERSION,
    Namespace.ROSTERX, Namespace.SECLABEL, Namespace.CONFERENCE,
    Namespace.CORRECT, Namespace.CHATMARKERS, Namespace.EME,
    Namespace.XHTML_IM, Namespace.HASHES_2, Namespace.HASHES_SHA256,
    Namespace.JINGLE, Namespace.JINGLE_FILE_TRANSFER_5,
    Namespace.AVATAR_METADATA + "+notify",
    Namespace.NICK + "+notify",
    Namespace.BOOKMARKS_1 + "+notify",
    Namespace.OMEMO_TEMP_DL + "+notify",
]
GAJIM_IDENTITY = DiscoIdentity(category="client", type="pc", name="Gajim")
GAJIM_NODE = "https://gajim.org"


class Loop:
    """The GLib main context the clients run in, turned by the test."""

    def __init__(self):
        self.context = GLib.MainContext.default()

    def until(self, condition, timeout=WAIT, what="the server"):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.1f s waiting for %s"
                                     % (timeout, what))
            if not self.context.iteration(False):
                time.sleep(0.002)

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        self.until(lambda: time.monotonic() >= end, seconds + 1)

    def call(self, method, *args, timeout=WAIT, **kwargs):
        """Runs an nbxmpp task (a module's request) to its end: its
        result, or its error raised (nbxmpp.errors.StanzaError …)."""
        done = []

        def finished(task):  # kept alive by this frame: nbxmpp holds weakly
            done.append(task.get_result())
        method(*args, callback=finished, **kwargs)
        self.until(lambda: done, timeout, method.__name__)
        if isinstance(done[0], Exception):
            raise done[0]
        return done[0]


class Gajim:
    """One account's nbxmpp Client, logged in as Gajim 1.7 logs in
    (gajim/common/client.py): disco#info of the server and the account,
    carbons enabled when offered, roster, presence with caps. Messages it
    gets land in .messages as (stanza, properties), after nbxmpp's modules
    parsed them (carbons unwrapped, PEP events, MAM results)."""

    def __init__(self, loop, server, jid, password, resource="gajim",
                 features=GAJIM_FEATURES):
        self.loop = loop
        self.server = server
        self.jid = JID.from_string(jid)
        self.password = password
        self.resource = resource
        self.messages = []
        self.presences = []
        self.server_info = None
        self.account_info = None
        self.client = None
        self._state = []  # the Client's signals: connected, disconnected …
        self.features = features

    @property
    def bare(self):
        return str(self.jid.bare)

    @property
    def full(self):
        return str(self.client.get_bound_jid())

    def module(self, name):
        return self.client.get_module(name)

    def call(self, method, *args, **kwargs):
        return self.loop.call(method, *args, **kwargs)

    # ---- the stream -------------------------------------------------------

    def connect(self):
        """The stream, authenticated and bound; nothing asked yet."""
        c = Client(log_context=self.bare)
        c.set_username(self.jid.localpart)
        c.set_domain(self.jid.domain)
        c.set_resource(self.resource)
        c.set_password(self.password)
        c.set_custom_host("%s:%d" % (self.server.address, self.server.c2s_port),
                          ConnectionProtocol.TCP, ConnectionType.START_TLS)
        crt = "%s/%s.crt" % (self.server.dir, self.jid.domain)
        c.set_accepted_certificates([Gio.TlsCertificate.new_from_file(crt)])
        state = []
        c.subscribe("connected", lambda *a: state.append("connected"))
        c.subscribe("connection-failed", lambda *a: state.append("failed"))
        c.subscribe("disconnected", lambda *a: state.append("disconnected"))
        c.register_handler(StanzaHandler(name="message",
                                         callback=self._on_message,
                                         priority=90))
        c.register_handler(StanzaHandler(name="presence",
                                         callback=self._on_presence,
                                         priority=90))
        self.client = c
        self._state = state
        c.connect()
        self.loop.until(lambda: state, 10, "%s to log in" % self.bare)
        assert state[0] == "connected", \
            "%s: %s %s" % (self.bare, state, c.get_error())
        return self

    def login(self):
        """connect(), then what Gajim does on 'connected' and in its
        connect machine, in its order."""
        self.connect()
        disco = self.module("Discovery")
        self.server_info = self.call(disco.disco_info, self.jid.domain)
        if Namespace.CARBONS in self.server_info.features:
            self.enable_carbons()
        self.account_info = self.call(disco.disco_info, self.bare)
        self.call(self.module("Roster").request_roster, None)
        self.module("EntityCaps").set_caps([GAJIM_IDENTITY], self.features,
                                          GAJIM_NODE)
        self.send_presence()
        return self

    def enable_carbons(self):
        """Gajim's Carbons.pass_disco: the same iq, here with its answer
        awaited."""
        iq = nbxmpp.Iq("set")
        iq.setTag("enable", namespace=Namespace.CARBONS)
        answer = self.send_and_wait(iq)
        assert answer.getType() == "result", str(answer)

    def send_presence(self, **attrs):
        """Gajim's Presence.get_presence: the caps of set_caps in it."""
        presence = nbxmpp.Presence(**attrs)
        caps = self.module("EntityCaps").caps
        presence.setTag("c", namespace=Namespace.CAPS, attrs=caps._asdict())
        self.client.send_stanza(presence)
        self.ping()

    def send_and_wait(self, stanza, timeout=WAIT):
        answers = []
        self.client.send_stanza(stanza,
                                callback=lambda _c, s, *a: answers.append(s))
        self.loop.until(lambda: answers, timeout, "an answer to %s" % stanza)
        return answers[0]

    def ping(self):
        """A round trip to the server: what was sent before is done."""
        self.call(self.module("Ping").ping, self.jid.domain)

    def disconnect(self):
        if self.client is None:
            return
        if self._state[-1:] == ["connected"]:
            self.client.disconnect()
            self.loop.until(lambda: self._state[-1:] == ["disconnected"],
                            WAIT, "%s to disconnect" % self.bare)
        self.client.destroy()
        self.client = None

    # ---- what arrives -----------------------------------------------------

    def _on_message(self, _client, stanza, properties):
        self.messages.append((stanza, properties))

    def _on_presence(self, _client, stanza, properties):
        self.presences.append((stanza, properties))

    def wait_message(self, match, what, timeout=WAIT):
        """The first (stanza, properties) received that match(properties)
        accepts, taken from .messages."""
        return self._take(self.messages, match, what, timeout)

    def wait_presence(self, match, what, timeout=WAIT):
        return self._take(self.presences, match, what, timeout)

    def _take(self, inbox, match, what, timeout):
        found = []

        def look():
            for i, (_stanza, props) in enumerate(inbox):
                if match(props):
                    found.append(inbox.pop(i))
                    return True
            return False
        self.loop.until(look, timeout, "%s for %s" % (what, self.bare))
        return found[0]

    def send_chat(self, to, body):
        """A chat message with an origin id (XEP-0359), as Gajim sends
        one."""
        message = nbxmpp.Message(to=to, body=body, typ="chat")
        message.setOriginID(nbxmpp.util.generate_id())
        self.client.send_stanza(message)
        return message
