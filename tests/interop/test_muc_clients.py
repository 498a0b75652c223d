"""Rooms with real client libraries: Gajim 1.7's (python-nbxmpp 4.2,
nbxmppclient.py) and slixmpp's XEP-0045 plugin (xep_0045), in one room.

Gajim finds the room service as its MUC module's pass_disco does (the
domain's disco#items, then each item's disco#info: a conference/text
identity with the MUC feature), looks the room up as its join does
(nbxmpp's MUC.request_info), and enters with the presence of its _join
(caps, and <history maxchars='0'/>: Gajim 1.7 takes a room's history
from the room's archive, XEP-0313, never from the join). Bob, on
slixmpp, creates the room (join_muc_wait, then the instant room of
set_room_config with an empty form), they talk, and Carol, on slixmpp,
enters later asking for the history (maxstanzas) and gets it in order.
Gajim reads what was said before it came from the room's archive: it
finds urn:xmpp:mam:2 in the room's disco#info, enters, and queries.
"""
import nbxmpp
import pytest
from slixmpp.plugins.xep_0004 import Form

import im
from nbxmppclient import Gajim, Loop
from nbxmpp.namespaces import Namespace

SERVER_OPTIONS = {"modules": im.IM_MODULES, "extra_config": "  <muc/>\n"}
ROOM = "lounge@conference.localhost"
MAM_2 = "urn:xmpp:mam:2"


@pytest.fixture
def gajim(request, server):
    """gajim("alice") → a new account logged in as Gajim does; logged
    out after the test."""
    request.node.palabre_server = server
    server.wait_for_components(["muc"])
    loop = Loop()
    made = []

    def login(name):
        one = Gajim(loop, server, im.Accounts(server).new(name), im.PASSWORD)
        made.append(one)
        return one.login()
    yield login
    for one in made:
        one.disconnect()


def slixmpp_user(clients, server, name):
    """A slixmpp client with the XEP-0045 plugin, logged in and
    available."""
    client = clients.connect(im.Accounts(server).new(name) + "/pc",
                             im.PASSWORD)
    client.xmpp.register_plugin("xep_0045")
    client.wait_session()
    client.xmpp.send_presence()
    client.ping_server()
    return client


def find_room_service(one):
    """What Gajim's Discovery does after login: disco#info of each item
    of the domain, handed to each module's pass_disco; MUC's keeps the
    first conference/text service with the MUC feature."""
    disco = one.module("Discovery")
    items = one.call(disco.disco_items, one.jid.domain)
    for item in items.items:
        info = one.call(disco.disco_info, item.jid)
        if info.is_gateway:
            continue
        if any(i.category == "conference" and i.type == "text"
               for i in info.identities) and Namespace.MUC in info.features:
            return str(info.jid)
    return None


def gajim_join(one, room, nick):
    """Gajim's MUC.join: the room's info (request_info, as disco_muc),
    then _join's presence; waits for the self-presence (110) and the
    subject, which ends a join (XEP-0045 §7.2.16). Returns the messages
    that came between them."""
    one.call(one.module("MUC").request_info, room, request_vcard=True,
             allow_redirect=True)
    presence = nbxmpp.Presence(to="%s/%s" % (room, nick))
    caps = one.module("EntityCaps").caps
    presence.setTag("c", namespace=Namespace.CAPS, attrs=caps._asdict())
    muc_x = presence.setTag(Namespace.MUC + " x")
    muc_x.setTag("history", {"maxchars": "0"})
    one.client.send_stanza(presence)
    one.wait_presence(lambda p: p.is_muc_self_presence, "its own presence")
    before = len(one.messages)
    one.wait_message(lambda p: p.is_muc_subject, "the subject")
    return [props for _, props in one.messages[before:]]


def slixmpp_says(client, body, room=ROOM):
    client.xmpp.send_message(mto=room, mbody=body, mtype="groupchat")
    client.ping_server()  # sent, and the server is done with it


def slixmpp_hears(client, nick, body):
    """The next groupchat message of the room from nick with body, as
    the plugin hands it (the muc::ROOM::message event)."""
    async def wait():
        while True:
            msg = await client.messages.get()
            if (msg["type"] == "groupchat" and msg["from"].bare == ROOM
                    and msg["from"].resource == nick
                    and msg["body"] == body):
                return msg
    return client.run(wait(), what="%r from %s" % (body, nick))


def test_gajim_and_slixmpp_in_one_room(gajim, clients, server):
    alice = gajim("alice")
    assert find_room_service(alice) == "conference.localhost", \
        "Gajim finds no group chat service"
    bob = slixmpp_user(clients, server, "bob")
    muc = bob.xmpp["xep_0045"]
    own, _subject, _occupants, _history = bob.run(
        muc.join_muc_wait(ROOM, "bob", maxstanzas=0, timeout=5),
        what="bob to enter")
    assert 201 in own["muc"]["status_codes"], own  # a new room
    bob.run(muc.set_room_config(ROOM, Form()), what="the instant room")
    slixmpp_says(bob, "welcome")
    # Gajim enters: no history (maxchars='0'), bob in the room.
    between = gajim_join(alice, ROOM, "alice")
    assert not any(p.body for p in between), \
        "history despite maxchars='0': %s" % [p.body for p in between]
    bob_there = alice.presences
    assert any(p.muc_nickname == "bob" for _, p in bob_there), bob_there
    # They talk, each hearing the other and itself.
    alice.client.send_stanza(nbxmpp.Message(to=ROOM, body="hi bob",
                                            typ="groupchat"))
    alice.ping()
    slixmpp_hears(bob, "alice", "hi bob")
    alice.wait_message(lambda p: p.muc_nickname == "alice"
                       and p.body == "hi bob", "its own message")
    slixmpp_says(bob, "hi alice")
    _, heard = alice.wait_message(lambda p: p.body == "hi alice",
                                  "bob's message")
    assert heard.type.value == "groupchat" and heard.muc_nickname == "bob"
    assert str(heard.muc_jid) == ROOM
    # Carol comes later and asks for the history: in order, delayed.
    carol = slixmpp_user(clients, server, "carol")
    _own, _subject, occupants, history = carol.run(
        carol.xmpp["xep_0045"].join_muc_wait(ROOM, "carol", maxstanzas=10,
                                             timeout=5),
        what="carol to enter")
    assert sorted(p["from"].resource for p in occupants) == [
        "alice", "bob", "carol"]  # the plugin counts its own presence
    assert [(m["from"].resource, m["body"]) for m in history] == [
        ("bob", "welcome"), ("alice", "hi bob"), ("bob", "hi alice")]
    # Gajim sees her come, and sees bob leave.
    alice.wait_presence(lambda p: p.muc_nickname == "carol"
                        and p.type.is_available, "carol's presence")
    muc.leave_muc(ROOM, "bob")
    bob.ping_server()
    alice.wait_presence(lambda p: p.muc_nickname == "bob"
                        and p.type.is_unavailable, "bob's leaving")


def test_gajim_finds_room_archive(gajim, clients, server):
    alice = gajim("alice")
    bob = slixmpp_user(clients, server, "bob")
    room = "archived@conference.localhost"
    muc = bob.xmpp["xep_0045"]
    bob.run(muc.join_muc_wait(room, "bob", maxstanzas=0, timeout=5),
            what="bob to enter")
    bob.run(muc.set_room_config(room, Form()), what="the instant room")
    info = alice.call(alice.module("MUC").request_info, room).info
    assert info.has_mam_2, info.features
    # What Gajim then does to show what was said before it came: it
    # enters (asking for no history), then queries the room's archive
    # (MAM.make_query on the room's JID).
    slixmpp_says(bob, "before alice", room=room)
    gajim_join(alice, room, "alice")
    result = alice.call(alice.module("MAM").make_query, room,
                        queryid="r1", max_=10)
    assert result.complete
    _, got = alice.wait_message(
        lambda p: p.is_mam_message and p.mam.query_id == "r1",
        "the room's archived message")
    assert (got.body, got.muc_nickname) == ("before alice", "bob")
