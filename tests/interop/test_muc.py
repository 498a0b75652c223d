"""Chat rooms (XEP-0045): the scripts of scripts/muc/*.scs, one test
each, run against a palabred with a muc service on each domain
(conference.localhost, conference.chat.example) and one service admin.
"""
import base64
import xml.etree.ElementTree as ET

import pytest

import im
import xmppscript

MUC = ("  <muc>\n"
       "    <admin>admin@localhost</admin>\n"
       "  </muc>\n")

SCRIPTS = xmppscript.scripts_in("muc")


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    # Stanzas as big as a room's vCard may be (test_room_vcard_size_limit).
    s = im.make_server(tmp_path_factory.mktemp("muc"), certs,
                       extra_config=MUC, max_stanza_size=262144)
    try:
        s.start()
        yield s
    finally:
        s.stop()



@pytest.mark.parametrize("path", SCRIPTS, ids=xmppscript.script_id)
def test_script(server, path):
    xmppscript.check(path, server)


def vcard(photo_bytes):
    """A vcard-temp element with a PNG PHOTO of photo_bytes bytes."""
    card = ET.Element("{vcard-temp}vCard")
    photo = ET.SubElement(card, "{vcard-temp}PHOTO")
    ET.SubElement(photo, "{vcard-temp}TYPE").text = "image/png"
    ET.SubElement(photo, "{vcard-temp}BINVAL").text = \
        base64.b64encode(b"\x89PNG" + b"\0" * (photo_bytes - 4)).decode()
    return card


def test_room_vcard_size_limit(server, clients):
    """A room's vCard (XEP-0486) is 128 KiB at most, as the accounts'
    default: a bigger one is refused with not-acceptable (RFC 6120
    §8.3.3.12) and the room keeps the one it had; one within the limit
    is taken."""
    romeo = im.login(clients, im.Accounts(server).new("romeo"))
    room = "gallery@conference.localhost"
    romeo.send("<presence to='%s/romeo'><x xmlns='%s'/></presence>"
               % (room, "http://jabber.org/protocol/muc"))
    romeo.next_presence(from_=room + "/romeo")
    owner = ET.Element("{http://jabber.org/protocol/muc#owner}query")
    ET.SubElement(owner, "{jabber:x:data}x", type="submit")
    assert im.error_of(romeo.iq("set", owner, to=room)) is None

    assert im.error_of(romeo.iq("set", vcard(90000), to=room)) is None
    too_big = romeo.iq("set", vcard(100000), to=room)
    assert im.error_of(too_big) == ("modify", "not-acceptable")

    kept = romeo.iq("get", ET.Element("{vcard-temp}vCard"), to=room)
    binval = kept.find(".//{vcard-temp}BINVAL")
    assert len(base64.b64decode(binval.text)) == 90000
