"""Rooms survive the muc process: a restart (SIGTERM) or a kill -9 of
it, after which palabred runs a new one.

A persistent room (XEP-0045 §10.2, muc#roomconfig_persistentroom)
comes back with its configuration, affiliations (also the members its
invitations made, §9.3), subject, vCard and avatar (XEP-0486), archive
(XEP-0313) and discussion history (§7.2.15, read back from the
archive); what the owner was told (the iq result, the invitation)
was on disk. Its occupants are told the room went (XEP-0045 status
code 332, "system shutdown", sent by the sm for the process that can
say nothing any more) and can enter again. A room that is not
persistent is gone.

Each test has a palabred of its own, since it stops the muc process.
"""
import base64
import hashlib
import os
import signal
import sqlite3
import time

import pytest
from slixmpp.xmlstream import ET

import im
from im import Accounts, DELAY

MUC = ("  <muc>\n"
       "    <admin>admin@localhost</admin>\n"
       "  </muc>\n")

SERVICE = "conference.localhost"
MUC_NS = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"
MUC_OWNER = "http://jabber.org/protocol/muc#owner"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
XDATA = "jabber:x:data"
VCARD = "vcard-temp"
MAM = "urn:xmpp:mam:2"
SID = "urn:xmpp:sid:0"
FORWARD = "urn:xmpp:forward:0"
CLIENT = "jabber:client"
RESTART_WITHIN = 10.0


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("mucstore"), certs,
                       extra_config=MUC)
    try:
        s.start()
        s.wait_for_components(["muc"])
        yield s
    finally:
        s.stop()


@pytest.fixture
def accounts(fresh_server):
    return Accounts(fresh_server)


# ---- a room, as a client sees it -----------------------------------------

def q(ns, name):
    return "{%s}%s" % (ns, name)


def codes(presence):
    x = presence.find(q(MUC_USER, "x"))
    if x is None:
        return set()
    return {s.get("code") for s in x.findall(q(MUC_USER, "status"))}


def item_of(presence):
    return presence.find(q(MUC_USER, "x")).find(q(MUC_USER, "item"))


def enter(user, room, nick):
    """Presence to room/nick (§7.2.1); returns the self-presence (110)."""
    occupant = "%s/%s" % (room, nick)
    user.send("<presence to='%s'><x xmlns='%s'/></presence>"
              % (occupant, MUC_NS))
    return user.next_presence(from_=occupant)


def subject_on_entering(user, room):
    """The subject message every newcomer gets last (§7.2.16), from the
    room or from the occupant who set it."""
    def is_subject(m):
        return ((m.get("from") or "").split("/")[0] == room
                and m.find(q(CLIENT, "subject")) is not None
                and m.find(q(CLIENT, "body")) is None)
    return user.run(user.messages.take(is_subject), im.WAIT,
                    "the subject of %s" % room)


def history_on_entering(user, room):
    """The history messages received before the subject: [(body,
    stanza id, has a delay)], and the subject's text."""
    subject = subject_on_entering(user, room)
    found = user.messages.drain(
        lambda m: (m.get("from") or "").startswith(room + "/"))
    return ([(m.findtext(q(CLIENT, "body")), stanza_id(m),
              m.find(q(DELAY, "delay")) is not None) for m in found],
            subject.findtext(q(CLIENT, "subject")))


def stanza_id(message):
    for sid in message.findall(q(SID, "stanza-id")):
        if sid.get("by") == message.get("from").split("/")[0]:
            return sid.get("id")
    return None


def configure(owner, room, **fields):
    """Submits the room's configuration form (§10.2); the iq answer."""
    x = ET.Element(q(XDATA, "x"), type="submit")
    for var, value in fields.items():
        f = ET.SubElement(x, q(XDATA, "field"), var="muc#roomconfig_" + var)
        ET.SubElement(f, q(XDATA, "value")).text = value
    query = ET.Element(q(MUC_OWNER, "query"))
    query.append(x)
    return owner.iq("set", query, to=room)


def message_from(user, jid):
    """The next message from jid (a full JID), taken from the inbox."""
    return user.run(user.messages.take(lambda m: m.get("from") == jid),
                    im.WAIT, "a message from %s" % jid)


def say(user, room, nick, body):
    """A message to the room; its stanza id, as its echo carries it."""
    user.send("<message type='groupchat' to='%s'><body>%s</body></message>"
              % (room, body))
    echo = message_from(user, "%s/%s" % (room, nick))
    assert echo.findtext(q(CLIENT, "body")) == body
    return stanza_id(echo)


def archive(user, room):
    """The room's archive (XEP-0313 §4): [(stanza id, body)]."""
    iq = user.iq("set", ET.Element(q(MAM, "query"), queryid="all"),
                 to=room)
    assert iq.get("type") == "result", ET.tostring(iq)
    found = user.messages.drain(
        lambda m: m.find(q(MAM, "result")) is not None)
    return [(r.get("id"),
             r.find(q(FORWARD, "forwarded")).find(q(CLIENT, "message"))
             .findtext(q(CLIENT, "body")))
            for r in (m.find(q(MAM, "result")) for m in found)]


def disco_features(user, room):
    iq = user.iq("get", ET.Element(q(DISCO_INFO, "query")), to=room)
    assert iq.get("type") == "result", ET.tostring(iq)
    query = iq.find(q(DISCO_INFO, "query"))
    return ({f.get("var") for f in query.findall(q(DISCO_INFO, "feature"))},
            query.find(q(DISCO_INFO, "identity")).get("name"))


def stop_muc(server, how):
    """SIGTERM ("restart") or SIGKILL ("kill") of the muc process; waits
    for palabred to run a new one."""
    old = server.wait_for_components(["muc"])["muc"]
    os.kill(old, signal.SIGTERM if how == "restart" else signal.SIGKILL)
    server.wait_for_components(["muc"], timeout=RESTART_WITHIN,
                               exclude={old})


def told_room_went(user, room, nick):
    """The unavailable presence with 110 and 332 ("system shutdown")
    that makes a client enter again."""
    p = user.next_presence("unavailable", from_="%s/%s" % (room, nick),
                           timeout=RESTART_WITHIN)
    assert codes(p) == {"110", "332"}, ET.tostring(p)


def enter_again(user, room, nick):
    """Enters once the new muc process serves the room again."""
    deadline = RESTART_WITHIN
    while True:
        p = enter(user, room, nick)
        if p.get("type") != "error":
            return p
        deadline -= 0.2
        assert deadline > 0, ET.tostring(p)
        user.clients.sleep(0.2)


# ---- the tests -----------------------------------------------------------

@pytest.mark.parametrize("how", ["restart", "kill"])
def test_persistent_room_survives_the_muc_process(fresh_server, clients,
                                                   accounts, how):
    romeo = im.login(clients, accounts.new("romeo"))
    juliet = im.login(clients, accounts.new("juliet"))
    room = "verona-%s@%s" % (how, SERVICE)
    assert "201" in codes(enter(romeo, room, "romeo"))
    subject_on_entering(romeo, room)
    answer = configure(romeo, room, persistentroom="1", roomname="Verona",
                       roomdesc="A public place")
    assert answer.get("type") == "result", ET.tostring(answer)
    enter(juliet, room, "juliet")
    subject_on_entering(juliet, room)
    romeo.next_presence(from_=room + "/juliet")
    romeo.send("<message type='groupchat' to='%s'><subject>Act I"
               "</subject></message>" % room)
    for occupant in (romeo, juliet):  # once it is stored
        message_from(occupant, room + "/romeo")
    first = say(juliet, room, "juliet", "Two households")
    assert stanza_id(message_from(romeo, room + "/juliet")) == first
    second = say(romeo, room, "romeo", "In fair Verona")
    assert stanza_id(message_from(juliet, room + "/romeo")) == second
    # The archive holds both (a query runs after the appends).
    assert archive(romeo, room) == [(first, "Two households"),
                                    (second, "In fair Verona")]

    stop_muc(fresh_server, how)

    # The occupants are told, and enter again.
    told_room_went(romeo, room, "romeo")
    told_room_went(juliet, room, "juliet")
    again = enter_again(romeo, room, "romeo")
    assert "201" not in codes(again), "the room was made anew"
    assert item_of(again).get("affiliation") == "owner"
    # A newcomer gets the history from the archive, then the subject.
    nurse = im.login(clients, accounts.new("nurse"))
    enter(nurse, room, "nurse")
    history = [("Two households", first, True),
               ("In fair Verona", second, True)]
    assert history_on_entering(nurse, room) == (history, "Act I")
    assert archive(nurse, room) == [(first, "Two households"),
                                    (second, "In fair Verona")]
    features, name = disco_features(nurse, room)
    assert "muc_persistent" in features and MAM in features
    assert name == "Verona"
    enter_again(juliet, room, "juliet")
    assert history_on_entering(juliet, room) == (history, "Act I")
    # The room goes on: its archive too.
    third = say(juliet, room, "juliet", "Where civil blood")
    assert [i for i, _ in archive(romeo, room)] == [first, second, third]


@pytest.mark.parametrize("how", ["restart", "kill"])
def test_invited_member_survives_the_muc_process(fresh_server, clients,
                                                 accounts, how):
    """XEP-0045 §9.3: an invitation to a members-only room makes the
    invitee a member; she gets it once that is stored, so she can
    still enter after the muc process went right after it."""
    romeo = im.login(clients, accounts.new("romeo"))
    juliet = im.login(clients, accounts.new("juliet"))
    room = "cell-%s@%s" % (how, SERVICE)
    enter(romeo, room, "romeo")
    subject_on_entering(romeo, room)
    answer = configure(romeo, room, persistentroom="1", membersonly="1")
    assert answer.get("type") == "result", ET.tostring(answer)
    romeo.send("<message to='%s' id='inv1'><x xmlns='%s'>"
               "<invite to='%s'/></x></message>"
               % (room, MUC_USER, juliet.bare))
    invitation = message_from(juliet, room)
    invite = invitation.find(q(MUC_USER, "x")).find(q(MUC_USER, "invite"))
    assert invite.get("from") == romeo.bare, ET.tostring(invitation)

    stop_muc(fresh_server, how)

    told_room_went(romeo, room, "romeo")
    again = enter_again(juliet, room, "juliet")
    assert item_of(again).get("affiliation") == "member", ET.tostring(again)
    # Still members-only: whoever was not invited stays out (§7.2.6).
    mercutio = im.login(clients, accounts.new("mercutio"))
    refused = enter(mercutio, room, "mercutio")
    assert im.error_of(refused) == ("auth", "registration-required")


def room_vcard(photo):
    """A room's vCard (XEP-0486 §3.2) with photo as its PNG PHOTO."""
    card = ET.Element(q(VCARD, "vCard"))
    ET.SubElement(card, q(VCARD, "FN")).text = "The Capulets' orchard"
    p = ET.SubElement(card, q(VCARD, "PHOTO"))
    ET.SubElement(p, q(VCARD, "TYPE")).text = "image/png"
    ET.SubElement(p, q(VCARD, "BINVAL")).text = \
        base64.b64encode(photo).decode()
    return card


def avatar_hashes(user, room):
    """The room's muc#roominfo_avatarhash values (XEP-0486 §3.3)."""
    iq = user.iq("get", ET.Element(q(DISCO_INFO, "query")), to=room)
    for field in iq.iter(q(XDATA, "field")):
        if field.get("var") == "muc#roominfo_avatarhash":
            return [v.text for v in field.findall(q(XDATA, "value"))]
    return []


@pytest.mark.parametrize("how", ["restart", "kill"])
def test_room_vcard_survives_the_muc_process(fresh_server, clients,
                                             accounts, how):
    """The vCard an owner set and its avatar hash come back with the
    room: the owner's iq result came once they were stored."""
    romeo = im.login(clients, accounts.new("romeo"))
    room = "orchard-%s@%s" % (how, SERVICE)
    enter(romeo, room, "romeo")
    subject_on_entering(romeo, room)
    assert configure(romeo, room, persistentroom="1").get("type") == "result"
    photo = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    answer = romeo.iq("set", room_vcard(photo), to=room)
    assert im.error_of(answer) is None, ET.tostring(answer)

    stop_muc(fresh_server, how)

    told_room_went(romeo, room, "romeo")
    nurse = im.login(clients, accounts.new("nurse"))
    enter_again(nurse, room, "nurse")
    card = nurse.iq("get", ET.Element(q(VCARD, "vCard")), to=room)
    assert card.findtext(".//" + q(VCARD, "FN")) == "The Capulets' orchard"
    binval = card.findtext(".//" + q(VCARD, "BINVAL"))
    assert binval and base64.b64decode(binval) == photo, ET.tostring(card)
    assert avatar_hashes(nurse, room) == [hashlib.sha1(photo).hexdigest()]


def test_acknowledged_configuration_survives_kill(fresh_server, clients,
                                                 accounts):
    romeo = im.login(clients, accounts.new("romeo"))
    kept = "kept@" + SERVICE
    dropped = "dropped@" + SERVICE
    temporary = "temporary@" + SERVICE
    for room in (kept, dropped, temporary):
        enter(romeo, room, "romeo")
        subject_on_entering(romeo, room)
    assert configure(romeo, kept, persistentroom="1").get("type") == "result"
    assert configure(romeo, dropped,
                     persistentroom="1").get("type") == "result"
    assert configure(romeo, temporary).get("type") == "result"
    # No longer persistent: deleted from the storage.
    assert configure(romeo, dropped,
                     persistentroom="0").get("type") == "result"
    # The kill comes right after the last answer.
    stop_muc(fresh_server, "kill")

    nurse = im.login(clients, accounts.new("nurse"))
    assert "201" not in codes(enter_again(nurse, kept, "nurse"))
    for room in (dropped, temporary):
        assert "201" in codes(enter(nurse, room, "nurse")), room


def test_a_bad_configuration_value_is_refused(fresh_server, clients,
                                             accounts):
    romeo = im.login(clients, accounts.new("romeo"))
    room = "strict@" + SERVICE
    enter(romeo, room, "romeo")
    answer = configure(romeo, room, persistentroom="perhaps",
                       roomname="Not kept")
    assert answer.get("type") == "error"
    # A boolean that is not one is malformed (bad-request); a value
    # out of bounds is not-acceptable (room_config_submit.c).
    assert answer.find(q(CLIENT, "error")).find(
        "{urn:ietf:params:xml:ns:xmpp-stanzas}bad-request") is not None
    # All or nothing: the name did not change either.
    configure(romeo, room)
    assert disco_features(romeo, room)[1] != "Not kept"


def test_retention_deletes_older_room_messages(fresh_server, clients,
                                              accounts):
    romeo = im.login(clients, accounts.new("romeo"))
    room = "chronicle@" + SERVICE
    enter(romeo, room, "romeo")
    configure(romeo, room, persistentroom="1")
    say(romeo, room, "romeo", "old")
    say(romeo, room, "romeo", "recent")
    assert len(archive(romeo, room)) == 2
    fresh_server.stop()
    # "old" three days back, "recent" one: only "old" is past 2 days.
    db = sqlite3.connect(os.path.join(fresh_server.dir, "data",
                                      "muc.sqlite"))
    day = 86400 * 1000000
    with db:
        for body, days in (("old", 3), ("recent", 1)):
            db.execute("UPDATE archive SET stamp = stamp - ? WHERE"
                       " instr(message, ?)", (days * day, ">%s<" % body))
    db.close()
    with open(fresh_server.config) as f:
        text = f.read()
    fresh_server.write_config(text.replace(
        "</muc>", "<archive-retention-days>2</archive-retention-days></muc>"))
    fresh_server.start()
    fresh_server.wait_for_components(["sm", "c2s.1", "muc"], timeout=10)
    romeo = im.login_retrying(clients, romeo.bare)
    enter(romeo, room, "romeo")
    deadline = time.monotonic() + 5
    while [b for _, b in archive(romeo, room)] != ["recent"]:
        assert time.monotonic() < deadline, archive(romeo, room)
        time.sleep(0.1)
