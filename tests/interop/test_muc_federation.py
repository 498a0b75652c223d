"""Rooms across federation (XEP-0045 over s2s), with Prosody (Debian's
0.12) as the other server: palabred serves a.test and its room service
conference.a.test, Prosody serves p.test and its MUC component
conference.p.test (test_federation_prosody.Pair, with rooms).

- A Prosody user enters a palabre room, talks in it, exchanges private
  messages with a palabre user through it, and leaves. Prosody connects
  to conference.a.test as to any domain: palabre's s2s answers for the
  room service (dialback, or SASL EXTERNAL when a.test's certificate
  names conference.a.test too).
- A palabre user enters a Prosody room (creating it), talks, and when
  the user's session ends the room hears that the user left (the sm
  owes directed presence its unavailable, RFC 6121 §4.6.3).
- A remote occupant that cannot be reached any more is removed with
  status 333: when the router has no route to its server (the s2s
  process is down), and when its server answers with an error (its
  session is gone: RFC 6121 §8.5.3.2.1).
"""
import re
import socket
import time

import pytest

import im
from test_federation_prosody import started_pair
from xmpp import Clients

MUC = "http://jabber.org/protocol/muc"
MUC_USER = MUC + "#user"
MUC_OWNER = MUC + "#owner"
DELAY = "urn:xmpp:delay"
TIMEOUT = 20  # a first stanza to a peer waits for DNS, TLS and dialback


@pytest.fixture(scope="module", params=["dialback", "external"])
def pair(request, tmp_path_factory):
    yield from started_pair(tmp_path_factory.mktemp("rooms-" + request.param),
                            request.param, rooms=True)


@pytest.fixture
def clients():
    c = Clients(None)
    yield c
    c.close()


# ---- an occupant, as its client sees the room ------------------------------

def codes(presence):
    x = presence.find("{%s}x" % MUC_USER)
    return set() if x is None else {
        s.get("code") for s in x.findall("{%s}status" % MUC_USER)}


class Occupant:
    """user (an im.IM) in room as nick."""

    def __init__(self, user, room, nick, pair):
        self.user, self.room, self.nick, self.pair = user, room, nick, pair
        self.jid = "%s/%s" % (room, nick)

    def fail(self, e):
        raise AssertionError("%s\n%s" % (e, self.pair.logs())) from None

    def presence(self, nick, type_=None, timeout=TIMEOUT):
        """The next presence of type_ from room/nick."""
        try:
            return self.user.next_presence(type_ or "available",
                                           "%s/%s" % (self.room, nick),
                                           timeout=timeout)
        except AssertionError as e:
            self.fail(e)

    def message(self, from_, body=None, timeout=TIMEOUT):
        """The next message from from_ (room/nick, or the room)."""
        def match(m):
            return m.get("from") == from_ and (
                body is None or m.findtext("{jabber:client}body") == body)
        try:
            return self.user.run(self.user.messages.take(match), timeout,
                                 "a message from %s to %s (got: %s)"
                                 % (from_, self.user.jid,
                                    [im.show(m) for m in
                                     self.user.messages.items]))
        except AssertionError as e:
            self.fail(e)

    def enter(self, history=""):
        """Sends the join presence (XEP-0045 §7.2.2); returns its own
        presence (status 110)."""
        self.user.send("<presence to='%s'><x xmlns='%s'>%s</x></presence>"
                       % (self.jid, MUC, history))
        own = self.presence(self.nick)
        assert "110" in codes(own), im.show(own)
        return own

    def create(self):
        """Enters a new room and accepts the default configuration, an
        instant room (§10.1.2)."""
        own = self.enter()
        assert "201" in codes(own), "not a new room: %s" % im.show(own)
        form = ("<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'/>"
                "</query>" % MUC_OWNER)
        answer = self.user.iq("set", im.ET.fromstring(form), to=self.room,
                              timeout=TIMEOUT)
        assert answer.get("type") == "result", im.show(answer)

    def say(self, body):
        self.user.send("<message to='%s' type='groupchat'><body>%s</body>"
                       "</message>" % (self.room, body))

    def whisper(self, nick, body):
        """A private message through the room (§7.5)."""
        self.user.send("<message to='%s/%s' type='chat'><body>%s</body>"
                       "</message>" % (self.room, nick, body))

    def leave(self):
        self.user.send("<presence to='%s' type='unavailable'/>" % self.jid)
        self.presence(self.nick, "unavailable")


def meet(a, p):
    """a creates the room, p enters it; each sees the other."""
    a.create()
    p.enter()
    p.presence(a.nick)
    a.presence(p.nick)


# ---- a Prosody user in a palabre room ---------------------------------------

def test_prosody_user_in_palabre_room(pair, clients):
    alice, pat = pair.users(clients)
    room = "team-%d@conference.a.test" % id(clients)
    a = Occupant(alice, room, "alice", pair)
    p = Occupant(pat, room, "pat", pair)
    a.create()
    a.say("before you came")
    a.message(room + "/alice", "before you came")
    # §7.2.3: the others' presence, then one's own; §7.2.15: history.
    p.enter()
    p.presence("alice")
    old = p.message(room + "/alice", "before you came")
    assert old.find("{%s}delay" % DELAY) is not None, im.show(old)
    seen = a.presence("pat")
    item = seen.find("{%s}x/{%s}item" % (MUC_USER, MUC_USER))
    assert item.get("jid", "").startswith(pat.bare + "/"), im.show(seen)
    # §7.4: each message reaches every occupant, from its nick.
    p.say("hello from Prosody")
    a.message(room + "/pat", "hello from Prosody")
    p.message(room + "/pat", "hello from Prosody")
    a.say("hello from palabre")
    p.message(room + "/alice", "hello from palabre")
    # §7.5: private messages, both ways, marked as through the room.
    p.whisper("alice", "psst, alice")
    pm = a.message(room + "/pat", "psst, alice")
    assert pm.find("{%s}x" % MUC_USER) is not None, im.show(pm)
    a.whisper("pat", "psst, pat")
    p.message(room + "/alice", "psst, pat")
    # §7.14: leaving.
    p.leave()
    gone = a.presence("pat", "unavailable")
    assert "333" not in codes(gone), im.show(gone)


def test_room_service_authenticated(pair, clients):
    """Prosody accepted the room service as itself: by dialback when
    a.test's certificate does not name conference.a.test, by its
    certificate (SASL EXTERNAL) when it does."""
    alice, pat = pair.users(clients)
    room = "auth-%d@conference.a.test" % id(clients)
    Occupant(alice, room, "alice", pair).create()
    Occupant(pat, room, "pat", pair).enter()
    log = pair.palabre.log_text(0)
    how = "SASL EXTERNAL" if pair.prosody.s2s_secure_auth else "dialback"
    assert re.search(r"p\.test accepted us \(conference\.a\.test\) by "
                     + how, log), pair.logs()


# ---- a palabre user in a Prosody room ---------------------------------------

def test_palabre_user_in_prosody_room(pair, clients):
    alice, pat = pair.users(clients)
    room = "cafe-%d@conference.p.test" % id(clients)
    a = Occupant(alice, room, "alice", pair)
    p = Occupant(pat, room, "pat", pair)
    meet(a, p)
    a.say("bonjour from palabre")
    p.message(room + "/alice", "bonjour from palabre")
    a.message(room + "/alice", "bonjour from palabre")
    p.say("hi from Prosody")
    a.message(room + "/pat", "hi from Prosody")
    # The connection is lost, not a word to the room: palabre's sm
    # sends the room the unavailable presence it is owed (RFC 6121
    # §4.6.3).
    alice.drop()
    p.presence("alice", "unavailable")


# ---- occupants that cannot be reached ----------------------------------------

@pytest.fixture
def lone_pair(tmp_path):
    """A Pair of its own (dialback): these tests kill daemons."""
    yield from started_pair(tmp_path, "dialback", rooms=True)


def s2s_down(pair, at_least_ms=1600):
    """Kills palabred's s2s (by pid) until the supervisor waits at least
    at_least_ms before starting the next one (the delay doubles at each
    quick restart): for that long the router has no route to any other
    server."""
    server = pair.palabre.server
    old = pair.s2s_killed = set()
    while True:
        pid = server.wait_for_components(["s2s"], timeout=10,
                                         exclude=old)["s2s"]
        old.add(pid)
        im.sigkill([pid])
        pattern = re.compile(r"component s2s \(pid %d\) killed by signal "
                             r"9; restarting in (\d+) ms" % pid)
        deadline = time.monotonic() + 5
        while not pattern.search(server.log_text(0)):
            assert time.monotonic() < deadline, pair.logs()
            time.sleep(0.02)
        if int(pattern.search(server.log_text(0)).group(1)) >= at_least_ms:
            return


def s2s_back(pair):
    """Waits for a new s2s and for its port."""
    pair.palabre.server.wait_for_components(["s2s"], timeout=10,
                                            exclude=pair.s2s_killed)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((pair.palabre.address,
                                      pair.palabre.s2s_port), 1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, pair.logs()
            time.sleep(0.05)


def prosody_crash(pair):
    """kill -9 of Prosody (by pid), and a new one on the same data: its
    users' sessions are gone, and nobody told the rooms."""
    prosody = pair.prosody
    im.sigkill([prosody.pid])
    prosody.proc.wait(timeout=10)
    prosody.close_output()
    prosody.start()


def test_unreachable_occupant_removed(lone_pair, clients):
    pair = lone_pair
    alice, pat = pair.users(clients)
    room = "fragile@conference.a.test"
    a = Occupant(alice, room, "alice", pair)
    p = Occupant(pat, room, "pat", pair)
    meet(a, p)
    # No route: the router returns the room's message to pat to the
    # muc (FRAME_NO_ROUTE), which removes pat, saying why (333).
    s2s_down(pair)
    a.say("anyone there?")
    gone = a.presence("pat", "unavailable", timeout=5)
    assert "333" in codes(gone), im.show(gone)
    assert "removed from %s: no route to its server" % room \
        in pair.palabre.log_text(0), pair.logs()
    # Back: pat enters again; then Prosody crashes and comes back
    # without pat's session. Prosody answers the next message to pat
    # with an error (service-unavailable), which removes pat (333).
    s2s_back(pair)
    p.enter()
    a.presence("pat")
    prosody_crash(pair)
    a.say("still there?")
    gone = a.presence("pat", "unavailable")
    assert "333" in codes(gone), im.show(gone)
    assert "removed from %s: service-unavailable" % room \
        in pair.palabre.log_text(0), pair.logs()
