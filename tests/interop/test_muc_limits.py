"""What rooms refuse to keep memory bounded, under a muc with
max-occupants 2: a presence bigger than a room takes (16 KiB), and a
third occupant (XEP-0045 §7.2.9). Each refusal is a stanza error that
says why; the room stays as it was.
"""
import pytest

import im
from im import Accounts
from xmpp import Clients

ROOM = "limits@conference.localhost"
MUC = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("muc_limits"), certs,
                       max_stanza_size=65536,
                       extra_config="  <muc><max-occupants>2</max-occupants>"
                                    "<max-owned-rooms>2</max-owned-rooms>"
                                    "</muc>\n")
    try:
        s.start()
        yield s
    finally:
        s.stop()


def enter(user, nick, status=""):
    user.send("<presence to='%s/%s'><x xmlns='%s'/>%s</presence>"
              % (ROOM, nick, MUC, status))
    return user.next_presence(from_="%s/%s" % (ROOM, nick))


def text_of(error):
    return error.findtext("{jabber:client}error/{%s}text" % im.STANZAS)


def test_a_presence_too_big_and_a_third_occupant_are_refused(server):
    clients = Clients(server)
    try:
        accounts = Accounts(server)
        romeo = im.login(clients, accounts.new("romeo"))
        self_presence = enter(romeo, "romeo")
        assert self_presence.get("type") is None, im.show(self_presence)
        romeo.send("<iq type='set' id='c1' to='%s'><query xmlns='%s#owner'>"
                   "<x xmlns='jabber:x:data' type='submit'/></query></iq>"
                   % (ROOM, MUC))
        romeo.ping()

        romeo.send("<presence to='%s/romeo'><status>%s</status></presence>"
                   % (ROOM, "x" * 20000))
        error = romeo.next_presence(type_="error")
        assert im.error_of(error) == ("modify", "not-acceptable"), \
            im.show(error)
        assert "16384 bytes" in text_of(error), im.show(error)

        juliet_jid = accounts.new("juliet")
        juliet = im.login(clients, juliet_jid)
        assert enter(juliet, "juliet").get("type") is None
        nurse = im.login(clients, accounts.new("nurse"))
        error = enter(nurse, "nurse")
        assert im.error_of(error) == ("cancel", "service-unavailable"), \
            im.show(error)
        assert text_of(error) == "The room is full.", im.show(error)
        # max-occupants counts nicks: Juliet's phone, another session of
        # her nick (§7.2.8), still enters; a nick of its own would be
        # one too many.
        phone = im.login(clients, juliet_jid, "phone")
        assert enter(phone, "juliet").get("type") is None
        error = enter(phone, "juliet-phone")
        assert im.error_of(error) == ("cancel", "service-unavailable"), \
            im.show(error)
        phone.send("<presence type='unavailable' to='%s/juliet'/>" % ROOM)
        phone.next_presence(type_="unavailable")
        # Juliet leaves: there is room again.
        juliet.send("<presence type='unavailable' to='%s/juliet'/>" % ROOM)
        juliet.next_presence(type_="unavailable")
        assert enter(nurse, "nurse").get("type") is None
    finally:
        clients.close()


def create(user, room, nick="owner"):
    user.send("<presence to='%s/%s'><x xmlns='%s'/></presence>"
              % (room, nick, MUC))
    return user.next_presence(from_="%s/%s" % (room, nick))


def test_one_user_owns_a_bounded_number_of_rooms(server):
    """max-owned-rooms 2: a third room is refused with a text saying
    why; once one of the two (temporary) is left, and so gone, a new
    one may be made."""
    clients = Clients(server)
    try:
        tybalt = im.login(clients, Accounts(server).new("tybalt"))
        for name in ("owned-a", "owned-b"):
            assert create(tybalt, name + "@conference.localhost").get(
                "type") is None
        error = create(tybalt, "owned-c@conference.localhost")
        assert im.error_of(error) == ("cancel", "not-allowed"), \
            im.show(error)
        assert "You own 2 rooms" in text_of(error), im.show(error)
        tybalt.send("<presence type='unavailable' "
                    "to='owned-a@conference.localhost/owner'/>")
        tybalt.next_presence(type_="unavailable")
        assert create(tybalt, "owned-c@conference.localhost").get(
            "type") is None
    finally:
        clients.close()
