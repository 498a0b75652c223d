"""XEP-0398 conversion between PEP avatars (XEP-0084) and vCard photos
(XEP-0153), server/sm/avatar_convert.c, beyond what the scripts
(scripts/avatar_*.scs) show: what survives a restart and kill -9, the
size limits of either side (the reason in the log), and a user of an
LDAP domain, whose vCard's directory fields stay read-only while the
photo is the user's.

Each test has a palabred of its own, since it stops or kills it or
changes a limit.
"""
import base64
import hashlib
import os
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

import im
from im import Accounts
from test_ldap import domain_certs  # noqa: F401
from test_persistence import wait_until

VCARD = "{vcard-temp}"
UPDATE = "{vcard-temp:x:update}"
PUBSUB = "http://jabber.org/protocol/pubsub"
DATA = "urn:xmpp:avatar:data"
METADATA = "urn:xmpp:avatar:metadata"


def png(width, height, noise=0):
    """A PNG of width x height, with noise random bytes in a chunk of its
    own (the size a photo has, without the pixels)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    rows = b"".join(b"\0" + b"\x80" * 3 * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                         0, 0, 0))
            + chunk(b"prVt", os.urandom(noise))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def pubsub_publish(node, item_id, payload):
    ps = ET.Element("{%s}pubsub" % PUBSUB)
    item = ET.SubElement(ET.SubElement(ps, "{%s}publish" % PUBSUB,
                                       node=node), "{%s}item" % PUBSUB)
    if item_id:
        item.set("id", item_id)
    item.append(payload)
    return ps


def publish_avatar(client, image):
    """XEP-0084 §4.1 and §4.2: the data, then the metadata."""
    data = ET.Element("{%s}data" % DATA)
    data.text = base64.b64encode(image).decode()
    answer = client.iq("set", pubsub_publish(DATA, sha1(image), data))
    assert answer.get("type") == "result", ET.tostring(answer)
    metadata = ET.Element("{%s}metadata" % METADATA)
    ET.SubElement(metadata, "{%s}info" % METADATA, bytes=str(len(image)),
                  id=sha1(image), type="image/png")
    answer = client.iq("set", pubsub_publish(METADATA, sha1(image),
                                             metadata))
    assert answer.get("type") == "result", ET.tostring(answer)


def items(client, node, owner=None):
    """The items of owner's node (one's own by default); None when the
    node does not exist."""
    ps = ET.Element("{%s}pubsub" % PUBSUB)
    ET.SubElement(ps, "{%s}items" % PUBSUB, node=node)
    answer = client.iq("get", ps, to=owner)
    if answer.get("type") == "error":
        return None
    return answer.find("{%s}pubsub/{%s}items" % (PUBSUB, PUBSUB))


def metadata_ids(client, owner=None):
    found = items(client, METADATA, owner)
    if found is None:
        return []
    return [i.get("id") for i in found.iter("{%s}info" % METADATA)]


def vcard(fn, image=None):
    vc = ET.Element(VCARD + "vCard")
    ET.SubElement(vc, VCARD + "FN").text = fn
    if image is not None:
        p = ET.SubElement(vc, VCARD + "PHOTO")
        ET.SubElement(p, VCARD + "TYPE").text = "image/png"
        ET.SubElement(p, VCARD + "BINVAL").text = \
            base64.b64encode(image).decode()
    return vc


def get_vcard(client, jid=None):
    answer = client.iq("get", ET.Element(VCARD + "vCard"), to=jid)
    assert answer.get("type") == "result", ET.tostring(answer)
    return answer.find(VCARD + "vCard")


def vcard_photo(client, jid=None):
    b = get_vcard(client, jid).find(VCARD + "PHOTO/" + VCARD + "BINVAL")
    return base64.b64decode(b.text) if b is not None else None


def photo_hash(presence):
    p = presence.find(UPDATE + "x/" + UPDATE + "photo")
    return p.text if p is not None else None


@pytest.fixture
def avatar_server(request, tmp_path_factory, certs):
    """avatar_server(sm_extra="") → a started palabred of its own."""
    started = []

    def start(sm_extra=""):
        s = im.make_server(tmp_path_factory.mktemp("avatar"), certs,
                           sm_extra=sm_extra, max_stanza_size=262144)
        started.append(s)
        request.node.palabre_server = s
        s.start()
        return s
    yield start
    for s in started:
        s.stop()


def lose_and_restart(s, how):
    if how == "restart":
        im.restart(s)
    else:
        im.kill_everything(s)
        s.start()


@pytest.mark.parametrize("how", ["restart", "kill-everything"])
def test_a_pep_avatar_stays_the_vcard_photo_and_presence_hash(
        avatar_server, chat, how):
    s = avatar_server()
    clients = chat(s)
    accounts = Accounts(s)
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    im.befriend(alice, bob)
    image = png(64, 64, 4000)
    publish_avatar(alice, image)
    # §4: her presence is sent again with the hash, once the vCard is
    # written: the conversion is durable then.
    p = bob.next_presence("available", from_=alice.bare)
    assert photo_hash(p) == sha1(image), ET.tostring(p)
    alice_jid, bob_jid = alice.bare, bob.bare

    lose_and_restart(s, how)

    bob = im.login_retrying(clients, bob_jid)
    assert vcard_photo(bob, alice_jid) == image
    alice = im.login(clients, alice_jid)
    assert metadata_ids(alice) == [sha1(image)]
    while True:
        p = bob.next_presence("available", from_=alice_jid)
        if photo_hash(p) == sha1(image):
            break
        assert photo_hash(p) is None, ET.tostring(p)


@pytest.mark.parametrize("how", ["restart", "kill-everything"])
def test_a_vcard_photo_stays_the_pep_avatar(avatar_server, chat, how):
    s = avatar_server()
    clients = chat(s)
    alice_jid = Accounts(s).new("alice")
    alice = im.login(clients, alice_jid)
    image = png(32, 48, 2000)
    answer = alice.iq("set", vcard("Alice", image))
    assert answer.get("type") == "result", ET.tostring(answer)
    wait_until(clients, lambda: metadata_ids(alice) == [sha1(image)], 5,
               "the vCard photo in the metadata node")

    lose_and_restart(s, how)

    alice = im.login_retrying(clients, alice_jid)
    found = items(alice, METADATA)
    info = found.find("{%s}item/{%s}metadata/{%s}info"
                      % (PUBSUB, METADATA, METADATA))
    assert info.attrib == {"bytes": str(len(image)), "id": sha1(image),
                           "type": "image/png", "width": "32",
                           "height": "48"}
    data = items(alice, DATA).find("{%s}item/{%s}data" % (PUBSUB, DATA))
    assert base64.b64decode(data.text) == image
    assert get_vcard(alice).find(VCARD + "FN").text == "Alice"


def test_a_pep_avatar_over_vcard_max_bytes_is_not_converted(avatar_server,
                                                            chat):
    s = avatar_server("<vcard-max-bytes>4096</vcard-max-bytes>")
    clients = chat(s)
    alice = im.login(clients, Accounts(s).new("alice"))
    small = png(8, 8, 100)
    publish_avatar(alice, small)
    wait_until(clients, lambda: vcard_photo(alice) == small, 5,
               "the small avatar in the vCard")
    big = png(64, 64, 4000)  # 5.5 kB in base64
    publish_avatar(alice, big)
    wait_until(clients, lambda: "more than vcard-max-bytes (4096)"
               in s.log_text(), 5, "the reason in the log")
    assert "the PEP avatar %s was not copied into the vCard" % sha1(big) \
        in s.log_text()
    # The vCard keeps the photo it had; the PEP avatar is the big one.
    assert vcard_photo(alice) == small
    assert metadata_ids(alice) == [sha1(big)]


def test_a_vcard_photo_over_pep_max_item_bytes_is_not_converted(
        avatar_server, chat):
    s = avatar_server("<pep-max-item-bytes>4096</pep-max-item-bytes>")
    clients = chat(s)
    alice = im.login(clients, Accounts(s).new("alice"))
    big = png(64, 64, 4000)
    answer = alice.iq("set", vcard("Alice", big))
    assert answer.get("type") == "result", ET.tostring(answer)
    wait_until(clients, lambda: "the item is larger than pep-max-item-bytes"
               in s.log_text(), 5, "the reason in the log")
    assert "the vCard photo %s was not published as a PEP avatar" \
        % sha1(big) in s.log_text()
    assert items(alice, METADATA) is None
    assert vcard_photo(alice) == big


# ---- a directory's user --------------------------------------------------------

@pytest.fixture
def ldap_avatar_server(tmp_path_factory, domain_certs, ldap_directory,
                       slapd):
    from test_ldap_vcard import VcardPalabre
    s = VcardPalabre(tmp_path_factory.mktemp("palabred-avatar"),
                     domain_certs, ldap_directory,
                     {"central": {"uris": [slapd.uri]}})
    with open(s.config) as f:
        config = f.read()
    s.write_config(config.replace(
        "<modules>disco ping vcard</modules>",
        "<modules>roster presence disco ping caps pep vcard avatar_convert"
        "</modules>"))
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_a_directory_user_converts_both_ways(ldap_avatar_server, chat,
                                             ldap_directory):
    """The vCard's directory fields stay the directory's (read-only,
    merged at each get); the photo is the user's, in PEP and in the
    vCard alike (Gajim's profile editor sends back the whole vCard it
    got, with a new photo)."""
    p = ldap_directory.named("Alice")
    alice = im.IM(chat(ldap_avatar_server).login(p.jid + "/gajim",
                                                 p.password, mech="PLAIN"))
    image = png(16, 16, 500)
    publish_avatar(alice, image)
    wait_until(alice.clients, lambda: vcard_photo(alice) == image, 5,
               "the PEP avatar in the vCard")
    mine = get_vcard(alice)
    assert mine.find(VCARD + "FN").text == p.cn
    assert mine.find(VCARD + "EMAIL/" + VCARD + "USERID").text == p.mail

    mine.remove(mine.find(VCARD + "PHOTO"))
    other = png(24, 8, 500)
    mine.extend(vcard("", other).findall(VCARD + "PHOTO"))
    answer = alice.iq("set", mine)
    assert answer.get("type") == "result", ET.tostring(answer)
    wait_until(alice.clients, lambda: metadata_ids(alice) == [sha1(other)],
               5, "the vCard photo in the metadata node")

    mine.remove(mine.find(VCARD + "PHOTO"))
    answer = alice.iq("set", mine)
    assert answer.get("type") == "result", ET.tostring(answer)
    wait_until(alice.clients, lambda: metadata_ids(alice) == [], 5,
               "an empty metadata")
    assert items(alice, METADATA) is not None
    mine = get_vcard(alice)
    assert mine.find(VCARD + "PHOTO") is None
    assert mine.find(VCARD + "FN").text == p.cn
