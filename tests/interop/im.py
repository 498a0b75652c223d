"""Instant messaging helpers: rosters, subscriptions, presence, blocking.

Tests of the IM features read as a conversation between fresh users:

    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    alice.roster_set(bob.bare, name="Bob", groups=["Friends"])
    push = alice.next_push()
    assert push.item(bob.bare).subscription == "none"
    alice.send_presence(bob.bare, "subscribe")
    assert bob.next_presence("subscribe").get("from") == alice.bare

Every test makes its own accounts (palabrectl user add, a few ms each), so
the rosters of one test never leak into another on a shared server. An
IM client answers nothing on its own (slixmpp's automatic subscription
handling is off): whatever a test sees, the server did.
"""
import asyncio
import datetime
import itertools
import os
import signal
import time
from collections import namedtuple

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from palabre import Palabre, pid_alive
from xmpp import WAIT

IM_MODULES = "roster presence offline blocking disco ping version time last contacts extdisco caps pep vcard carbons private mam avatar_convert bookmarks"
PASSWORD = "Im-Secret-pw-1"

ROSTER = "jabber:iq:roster"
BLOCKING = "urn:xmpp:blocking"
BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
DELAY = "urn:xmpp:delay"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
CLIENT = "jabber:client"

SUBSCRIPTION_TYPES = ("subscribe", "subscribed", "unsubscribe",
                      "unsubscribed")

# After a stanza, the server may still be writing to disk before it sends
# what follows from it (roster pushes wait for durability): a ping round
# trip plus this is "the server is done".
SETTLE = 0.25

_serial = itertools.count(1)


# ---- servers and accounts ------------------------------------------------------

def make_server(directory, certs, sm_extra="", **options):
    """A Palabre with the IM modules on; sm_extra is XML put inside <sm>
    (e.g. the offline quota)."""
    options.setdefault("modules", IM_MODULES)
    server = Palabre(directory, certs, **options)
    if sm_extra:
        with open(server.config) as f:
            text = f.read()
        server.write_config(text.replace("</sm>", sm_extra + "\n  </sm>"))
    return server


class Accounts:
    """accounts.new("alice") → a new account alice-N@localhost."""

    def __init__(self, server, domain="localhost"):
        self.server = server
        self.domain = domain

    def new(self, name):
        jid = "%s-%d-%d@%s" % (name, os.getpid() % 1000, next(_serial),
                               self.domain)
        self.server.ctl_ok("user", "add", jid, stdin=PASSWORD + "\n")
        return jid


def restart(server):
    """Stops palabred cleanly (SIGTERM) and starts it again on the same
    configuration and data."""
    server.stop()
    server.start()
    server.wait_for_components(["sm", "c2s.1"], timeout=10)


def sigkill(pids):
    """SIGKILL of each of pids still running."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_everything(server):
    """SIGKILL of the sm, every c2s and palabred itself, each by its pid
    (no process gets to flush or say goodbye); then waits until all are
    gone."""
    components = server.components()
    victims = [components[n] for n in sorted(components)] + [server.pid]
    sigkill(victims)
    server.proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in victims):
        assert time.monotonic() < deadline, "killed processes still alive"
        time.sleep(0.05)


def kill_component(server, name, restart_within=10.0):
    """SIGKILL of one component (sm, c2s.1); waits for palabred to run a
    new one; returns the new pid."""
    old = server.wait_for_components([name])[name]
    os.kill(old, signal.SIGKILL)
    return server.wait_for_components([name], timeout=restart_within,
                                      exclude={old})[name]


def stop_by(server, how):
    """Stops what keeps the data and brings it back: "restart" (SIGTERM,
    start), "kill-sm" (palabred runs a new sm) or "kill-everything"
    (kill -9 of every process, then start)."""
    if how == "restart":
        restart(server)
    elif how == "kill-sm":
        kill_component(server, "sm")
    else:
        kill_everything(server)
        server.start()


def kill_victims(server, how):
    """The pids a kill -9 in the middle of a burst takes: the sm
    ("kill-sm"), or the sm, c2s.1 and palabred ("kill-everything")."""
    components = server.wait_for_components(["sm", "c2s.1"])
    if how == "kill-sm":
        return [components["sm"]]
    return [components["sm"], components["c2s.1"], server.pid]


def recover_from_kill(server, how, victims):
    """After sigkill(victims): waits for palabred's new sm ("kill-sm"),
    or for palabred to be gone and starts it again."""
    if how == "kill-sm":
        server.wait_for_components(["sm"], timeout=10, exclude=set(victims))
    else:
        server.proc.wait(timeout=10)
        server.start()


# ---- stanzas as data -----------------------------------------------------------

Item = namedtuple("Item", "jid name subscription ask approved groups")


def parse_item(el):
    return Item(jid=el.get("jid"), name=el.get("name"),
                subscription=el.get("subscription", "none"),
                ask=el.get("ask"), approved=el.get("approved"),
                groups=sorted(g.text or "" for g in
                              el.findall("{%s}group" % ROSTER)))


class Roster:
    """A roster result or push: ver and items by bare JID."""

    def __init__(self, iq):
        self.iq = iq
        self.query = iq.find("{%s}query" % ROSTER)
        self.ver = self.query.get("ver") if self.query is not None else None
        self.items = {}
        if self.query is not None:
            for el in self.query.findall("{%s}item" % ROSTER):
                item = parse_item(el)
                self.items[item.jid] = item

    def item(self, jid):
        assert jid in self.items, "no item for %s in %s" % (jid, show(self.iq))
        return self.items[jid]

    def state(self, jid):
        """(subscription, ask) of jid's item, or None without an item."""
        item = self.items.get(jid)
        return (item.subscription, item.ask) if item else None

    def __repr__(self):
        return show(self.iq)


def show(el):
    return ET.tostring(el, encoding="unicode") if el is not None \
        else "(nothing)"


def error_of(iq_or_message):
    """(type, condition) of a stanza's <error/>, or None."""
    error = iq_or_message.find("{%s}error" % CLIENT)
    if error is None:
        return None
    conditions = [c.tag.split("}")[1] for c in error
                  if c.tag.startswith("{%s}" % STANZAS) and
                  not c.tag.endswith("}text")]
    return (error.get("type"), conditions[0] if conditions else None)


def delay_stamp(message):
    """The XEP-0203 stamp of a message as a UTC datetime, or None."""
    delay = message.find("{%s}delay" % DELAY)
    if delay is None:
        return None
    stamp = delay.get("stamp", "")
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def roster_item_xml(jid=None, name=None, groups=(), subscription=None):
    item = ET.Element("{%s}item" % ROSTER)
    if jid is not None:
        item.set("jid", jid)
    if name is not None:
        item.set("name", name)
    if subscription is not None:
        item.set("subscription", subscription)
    for group in groups:
        ET.SubElement(item, "{%s}group" % ROSTER).text = group
    return item


# ---- the mailbox -------------------------------------------------------------

class Inbox:
    """Stanzas of one kind as they arrive; take() removes the first one
    that matches, waiting for it."""

    def __init__(self):
        self.items = []
        self.changed = asyncio.Event()

    def put(self, stanza):
        self.items.append(stanza)
        self.changed.set()

    async def take(self, match):
        while True:
            for i, el in enumerate(self.items):
                if match(el):
                    del self.items[i]
                    return el
            self.changed.clear()
            await self.changed.wait()

    def drain(self, match=lambda el: True):
        found = [el for el in self.items if match(el)]
        self.items = [el for el in self.items if not match(el)]
        return found


# ---- a client ------------------------------------------------------------------

class IM:
    """A slixmpp client (xmpp.Client) seen as XML: roster pushes,
    presences and messages land in inboxes as ElementTree elements; block
    list pushes are answered (scripts/blocking.scs checks them)."""

    def __init__(self, client):
        self.client = client
        self.clients = client.clients
        x = client.xmpp
        x.auto_authorize = None  # answer no subscription request on our own
        x.auto_subscribe = False
        self.pushes = Inbox()
        self.presences = Inbox()
        self.messages = Inbox()
        x.register_handler(Callback(
            "im roster push", MatchXPath("{%s}iq/{%s}query" % (CLIENT, ROSTER)),
            self._on_roster_iq))
        for what in ("block", "unblock"):
            x.register_handler(Callback(
                "im %s push" % what,
                MatchXPath("{%s}iq/{%s}%s" % (CLIENT, BLOCKING, what)),
                self._on_block_push))
        x.register_handler(Callback(
            "im presence", MatchXPath("{%s}presence" % CLIENT),
            lambda st: self.presences.put(st.xml)))
        x.register_handler(Callback(
            "im message", MatchXPath("{%s}message" % CLIENT),
            lambda st: self.messages.put(st.xml)))

    def _on_roster_iq(self, iq):
        if iq["type"] == "set":  # slixmpp's own handler answers it
            self.pushes.put(iq.xml)

    def _on_block_push(self, iq):
        if iq["type"] == "set":  # answered (XEP-0191 §3.3), not kept
            iq.reply().send()

    # ---- who ----------------------------------------------------------

    @property
    def jid(self):
        return self.client.jid

    @property
    def bare(self):
        return self.client.xmpp.boundjid.bare

    def run(self, awaitable, timeout, what):
        return self.clients.run(awaitable, timeout, what)

    # ---- sending ------------------------------------------------------

    def send(self, xml):
        self.client.send_raw(xml)

    def iq(self, type_, payload, to=None, timeout=WAIT):
        """Sends an iq with payload (an Element); returns the answer as an
        Element (result or error)."""
        iq = self.client.xmpp.Iq(stype=type_)
        if to:
            iq["to"] = to
        iq.append(payload)
        return self.client.iq(iq, timeout=timeout).xml

    def ping(self):
        return self.client.ping_server()

    # ---- roster -------------------------------------------------------

    def roster_get_iq(self, ver=None):
        query = ET.Element("{%s}query" % ROSTER)
        if ver is not None:
            query.set("ver", ver)
        return self.iq("get", query)

    def roster(self, ver=None):
        """The roster (a result, asserted)."""
        answer = self.roster_get_iq(ver)
        assert answer.get("type") == "result", \
            "roster get failed: %s" % show(answer)
        return Roster(answer)

    def roster_set_iq(self, *items):
        query = ET.Element("{%s}query" % ROSTER)
        for item in items:
            query.append(item)
        return self.iq("set", query)

    def roster_set(self, jid, name=None, groups=()):
        """Adds or updates jid's item; asserts the result."""
        answer = self.roster_set_iq(roster_item_xml(jid, name, groups))
        assert answer.get("type") == "result", \
            "roster set of %s failed: %s" % (jid, show(answer))
        return answer

    def roster_remove(self, jid):
        answer = self.roster_set_iq(roster_item_xml(jid,
                                                    subscription="remove"))
        assert answer.get("type") == "result", \
            "roster remove of %s failed: %s" % (jid, show(answer))
        return answer

    def next_push(self, jid=None, where=None, timeout=WAIT):
        """The next roster push (about jid, when given; whose item for jid
        satisfies where(item), when given) as a Roster."""
        def about(iq):
            if jid is None:
                return True
            item = Roster(iq).items.get(jid)
            return item is not None and (where is None or where(item))
        iq = self.run(self.pushes.take(about), timeout,
                      "a roster push%s for %s (got: %s)"
                      % (" about " + jid if jid else "", self.jid,
                         [show(p) for p in self.pushes.items]))
        return Roster(iq)

    def pushes_about(self, jid):
        """The roster pushes about jid received so far (taken)."""
        return [Roster(iq) for iq in
                self.pushes.drain(lambda iq: Roster(iq).state(jid))]

    # ---- presence ----------------------------------------------------------

    def send_presence(self, to=None, type_=None, priority=None, status=None,
                      show_=None):
        attrs = ""
        if to:
            attrs += " to='%s'" % to
        if type_:
            attrs += " type='%s'" % type_
        body = ""
        if show_:
            body += "<show>%s</show>" % show_
        if status:
            body += "<status>%s</status>" % status
        if priority is not None:
            body += "<priority>%d</priority>" % priority
        self.send("<presence%s>%s</presence>" % (attrs, body))

    def available(self, priority=0, status=None):
        """Broadcast presence; returns once the server has taken it in."""
        self.send_presence(priority=priority, status=status)
        self.ping()

    def next_presence(self, type_=None, from_=None, timeout=WAIT):
        """The next presence of type_ ('available' for no type) from
        from_ (a bare or full JID), taken from the inbox."""
        def match(p):
            if type_ is not None and p.get("type", "available") != type_:
                return False
            if from_ is not None:
                sender = p.get("from", "")
                if sender != from_ and sender.split("/")[0] != from_:
                    return False
            return True
        return self.run(self.presences.take(match), timeout,
                        "a presence (type %s, from %s) for %s (got: %s)"
                        % (type_ or "any", from_ or "anyone", self.jid,
                           [show(p) for p in self.presences.items]))

    def presences_from(self, jid, types=None):
        """Presences from jid (bare or full) received so far (taken)."""
        def match(p):
            return (p.get("from", "").split("/")[0] == jid.split("/")[0]
                    and (types is None
                         or p.get("type", "available") in types))
        return self.presences.drain(match)

    def subscription_presences(self, jid):
        return self.presences_from(jid, SUBSCRIPTION_TYPES)

    # ---- messages -----------------------------------------------------

    def send_message(self, to, body, type_="chat", id_=None):
        attrs = " to='%s'" % to
        if type_:
            attrs += " type='%s'" % type_
        if id_:
            attrs += " id='%s'" % id_
        self.send("<message%s><body>%s</body></message>" % (attrs, body))

    def next_message(self, from_=None, timeout=WAIT):
        def match(m):
            return from_ is None or \
                m.get("from", "").split("/")[0] == from_.split("/")[0]
        return self.run(self.messages.take(match), timeout,
                        "a message%s for %s" % (
                            " from " + from_ if from_ else "", self.jid))

    # ---- blocking -----------------------------------------------------

    def blocklist_iq(self):
        return self.iq("get", ET.Element("{%s}blocklist" % BLOCKING))

    def blocklist(self):
        answer = self.blocklist_iq()
        assert answer.get("type") == "result", show(answer)
        el = answer.find("{%s}blocklist" % BLOCKING)
        assert el is not None, "no <blocklist/> in %s" % show(answer)
        return sorted(i.get("jid") for i in el.findall("{%s}item" % BLOCKING))

    def block_iq(self, what, *jids):
        el = ET.Element("{%s}%s" % (BLOCKING, what))
        for jid in jids:
            ET.SubElement(el, "{%s}item" % BLOCKING).set("jid", jid)
        return self.iq("set", el)

    # ---- ending -------------------------------------------------------

    def logout(self):
        """Ends the stream cleanly (</stream:stream>) and waits."""
        self.client.xmpp.disconnect()
        self.client.wait_disconnected(timeout=WAIT)

    def drop(self):
        """Closes the TCP connection without ending the stream."""
        self.client.xmpp.abort()
        self.client.wait_disconnected(timeout=WAIT)


def login(clients, jid, resource="pc", *, roster=True, available=True,
          priority=0, status=None, timeout=10.0, **options):
    """An IM client for jid/resource, logged in; by default it asks for
    the roster (an interested resource) and sends initial presence (an
    available resource), as Gajim does. options as xmpp.Client's (e.g.
    mech for a server without SCRAM-SHA-256)."""
    client = clients.connect(jid + "/" + resource, PASSWORD, **options)
    im = IM(client)
    client.wait_session(timeout)
    if roster:
        im.roster()
    if available:
        im.send_presence(priority=priority, status=status)
        im.ping()
    return im


def login_retrying(clients, jid, resource="pc", within=10.0, **options):
    """login(), retried until `within` seconds have passed (after a kill,
    while palabred restarts what it lost)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return login(clients, jid, resource,
                         timeout=max(1.0, deadline - time.monotonic()),
                         **options)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            clients.sleep(0.2)


def settle(*ims):
    """Lets the server finish what it does about what was sent: a ping
    round trip for every client, then SETTLE seconds."""
    for im in ims:
        im.ping()
    ims[0].clients.sleep(SETTLE)


def subscribe(user, contact):
    """user asks for contact's presence and contact approves (RFC 6121
    §3.1); returns once both have the roster pushes that say so."""
    user.send_presence(contact.bare, "subscribe")
    contact.next_presence("subscribe", from_=user.bare)
    contact.send_presence(user.bare, "subscribed")
    contact.next_push(user.bare, where=lambda item: item.subscription in
                      ("from", "both"))
    user.next_push(contact.bare, where=lambda item: item.subscription in
                   ("to", "both") and item.ask is None)


def befriend(a, b):
    """A mutual subscription (both sides 'both'), then a clean slate: the
    pushes and presences it brought are forgotten."""
    a.roster_set(b.bare)
    subscribe(a, b)
    subscribe(b, a)
    forget(a, b)


def forget(*ims):
    """Lets the server finish, then forgets what the clients got."""
    settle(*ims)
    for one in ims:
        one.pushes.drain()
        one.presences.drain()
        one.messages.drain()


def stream_features(server, jid):
    """The <stream:features/> offered to jid after authentication (where
    rosterver and pre-approval are announced), read with a raw stream."""
    from rawstream import RawStream
    local, domain = jid.split("@")
    s = RawStream(server.c2s_port, server_name=domain,
                  ca_file=server.ca_file)
    try:
        s.starttls(to=domain)
        answer = s.auth_plain(local, PASSWORD)
        assert answer.tag.endswith("}success"), show(answer)
        return s.open(to=domain)
    finally:
        s.close()


def c2s_of(server, one):
    """The name of the c2s component ('c2s.1', 'c2s.2' …) that holds
    one's connection."""
    port = one.client.xmpp.transport.get_extra_info("sockname")[1]
    return c2s_holding(server, port)


def c2s_holding(server, port):
    """The name of the c2s component that holds the connection from
    127.0.0.1:port: the server side of that TCP connection, found in
    /proc/net/tcp, is a socket that process has open."""
    wanted = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (local.endswith(":%04X" % server.c2s_port)
                    and remote.endswith(":%04X" % port)):
                wanted = "socket:[%s]" % inode
    assert wanted, "no server side for the connection from port %d" % port
    for name, pid in server.components().items():
        if not name.startswith("c2s"):
            continue
        fd_dir = "/proc/%d/fd" % pid
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(os.path.join(fd_dir, fd)) == wanted:
                    return name
            except OSError:
                pass
    raise AssertionError("no c2s process holds %s" % wanted)
