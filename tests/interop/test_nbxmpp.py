"""Gajim 1.7 against palabre, through the library Gajim is built on:
python-nbxmpp 4.2 (nbxmppclient.py), whose modules build Gajim's own
stanzas. Each test does what a Gajim user does and checks what that user
would see: the server-information page, carbons, the profile editor,
avatars, OMEMO's device lists and bundles between two real clients,
bookmarks after a reconnect, history from the archive, server version and
uptime. Gajim's windows cannot run headless; its calls into nbxmpp are
those of gajim/common/modules/*.py in Debian's gajim 1.7.3 (named with
each test).
"""
import datetime
import struct
import zlib

import nbxmpp
import pytest

import im
from nbxmppclient import Gajim, Loop

from nbxmpp.errors import StanzaError
from nbxmpp.modules.user_avatar import Avatar
from nbxmpp.modules.vcard4 import VCard
from nbxmpp.modules.vcard_temp import VCard as VCardTemp
from nbxmpp.namespaces import Namespace
from nbxmpp.protocol import JID
from nbxmpp.structs import BookmarkData, OMEMOBundle

# Real OMEMO bundles (100 prekeys, as python-axolotl makes) are ~9 KB:
# the stanza size of config.xml.dist, not the tests' default.
SERVER_OPTIONS = {"modules": im.IM_MODULES, "max_stanza_size": 262144}

NODE_MAX = "http://jabber.org/protocol/pubsub#config-node-max"


@pytest.fixture
def gajim(request, server):
    """gajim("alice") → a new account logged in as Gajim does;
    gajim(jid, resource=…) logs in an existing one again. All logged out
    after the test."""
    request.node.palabre_server = server
    loop = Loop()
    made = []

    def login(name_or_jid, resource="gajim"):
        jid = name_or_jid if "@" in name_or_jid \
            else im.Accounts(server).new(name_or_jid)
        one = Gajim(loop, server, jid, im.PASSWORD, resource=resource)
        made.append(one)
        return one.login()
    yield login
    for one in made:
        one.disconnect()


def befriend(a, b):
    """A mutual presence subscription, as Gajim's "add contact" and
    "allow" make it (roster item by the server, presences by nbxmpp)."""
    for user, contact in ((a, b), (b, a)):
        user.client.send_stanza(nbxmpp.Presence(to=contact.bare,
                                                typ="subscribe"))
        contact.wait_presence(lambda p: p.type.value == "subscribe"
                              and str(p.jid.bare) == user.bare,
                              "a subscription request")
        contact.client.send_stanza(nbxmpp.Presence(to=user.bare,
                                                   typ="subscribed"))
        user.wait_presence(lambda p: p.type.value == "subscribed",
                           "the approval")
    for one in (a, b):
        one.send_presence()  # presence now goes to the contact too
    a.ping()
    b.ping()


# ---- 1. the server-information page ----------------------------------------

def gajim_server_page(one):
    """The feature rows of Gajim's Server Info window (gtk/server_info.py
    _get_features) as {name: shown available}, computed as each Gajim
    module's pass_disco does from the server's and the account's
    disco#info."""
    server = set(one.server_info.features)
    account = set(one.account_info.features)
    pep = any(i.category == "pubsub" and i.type == "pep"
              for i in one.account_info.identities)
    return {
        "XEP-0045: Multi-User Chat": False,  # a room service among items
        "XEP-0054: vcard-temp": Namespace.VCARD in server,
        "XEP-0077: In-Band Registration": Namespace.REGISTER in server,
        "XEP-0163: Personal Eventing Protocol": pep,
        "XEP-0163: #publish-options":
            Namespace.PUBSUB_PUBLISH_OPTIONS in account,
        "XEP-0191: Blocking Command": Namespace.BLOCKING in server,
        "XEP-0198: Stream Management": one.client.features.has_sm(),
        "XEP-0258: Security Labels in XMPP": Namespace.SECLABEL in server,
        "XEP-0280: Message Carbons": Namespace.CARBONS in server,
        "XEP-0313: Message Archive Management": Namespace.MAM_2 in account,
        "XEP-0363: HTTP File Upload": False,  # a component among items
        "XEP-0398: Avatar Conversion": Namespace.VCARD_CONVERSION in account,
        "XEP-0411: Bookmarks Conversion":
            Namespace.BOOKMARK_CONVERSION in account,
        "XEP-0402: Bookmarks Compat": Namespace.BOOKMARKS_COMPAT in account,
        "XEP-0402: Bookmarks Compat PEP":
            Namespace.BOOKMARKS_COMPAT_PEP in account,
    }


# What Gajim's page shows missing that issue 13 does not cover: rooms
# (their own issue), registration, stream management (the mobile issue),
# security labels (nobody's), HTTP upload (the web issue).
NOT_ISSUE_13 = {
    "XEP-0045: Multi-User Chat",
    "XEP-0077: In-Band Registration",
    "XEP-0198: Stream Management",
    "XEP-0258: Security Labels in XMPP",
    "XEP-0363: HTTP File Upload",
}


def test_server_info_page(gajim):
    """Issue 13's rows of Gajim's server-information page say available;
    and Gajim picks XEP-0402 for bookmarks (Bookmarks._bookmark_module:
    #publish-options, #compat-pep and pubsub#config-node-max)."""
    alice = gajim("alice")
    page = gajim_server_page(alice)
    missing = {name for name, shown in page.items() if not shown}
    assert missing <= NOT_ISSUE_13, "missing on Gajim's page: %s" % (
        sorted(missing - NOT_ISSUE_13))
    assert NODE_MAX in alice.account_info.features, \
        "without config-node-max Gajim 1.7 stores bookmarks the old way"
    items = alice.call(alice.module("Discovery").disco_items,
                       alice.jid.domain)
    assert not any(i.jid.domain.startswith(("conference.", "upload."))
                   for i in items.items)  # rows 0045/0363 rightly off


# ---- 2. carbons -------------------------------------------------------------

def test_carbons_between_two_gajims(gajim):
    """Gajim enables carbons on login (Carbons.pass_disco); a message sent
    from the desktop shows on the laptop (a 'sent' carbon, unwrapped by
    nbxmpp), and a reply to the desktop shows there too ('received')."""
    desktop = gajim("alice")
    laptop = gajim(desktop.bare, resource="laptop")
    bob = gajim("bob")
    desktop.send_chat(bob.bare, "from the desktop")
    _, got = bob.wait_message(lambda p: p.body == "from the desktop",
                              "the message")
    _, copy = laptop.wait_message(lambda p: p.is_sent_carbon,
                                  "the sent carbon")
    assert copy.body == "from the desktop"
    assert str(copy.jid) == bob.bare
    bob.send_chat(desktop.full, "to the desktop")
    desktop.wait_message(lambda p: p.body == "to the desktop", "the reply")
    _, copy = laptop.wait_message(lambda p: p.is_received_carbon,
                                  "the received carbon")
    assert copy.body == "to the desktop"
    assert str(copy.jid.bare) == bob.bare


# ---- 3. the profile editor --------------------------------------------------

def profile_vcard():
    vcard = VCard()
    vcard.add_property("fn", value="Alice Liddell")
    vcard.add_property("nickname", values=["alice"])
    vcard.add_property("email", value="alice@example.org")
    vcard.add_property("note", value="down the rabbit hole")
    return vcard


def test_profile_editor_round_trip(gajim):
    """Gajim 1.7's profile window (gtk/profile.py): opens with VCard4
    request_vcard and the access models of the vcard4, avatar and nick
    nodes; Save publishes the vCard4 (XEP-0292 over PEP) and the nick;
    after a reconnect the window shows what was saved, still private."""
    alice = gajim("alice")
    # No node yet: item-not-found (XEP-0060 §6.5.9.11, §8.2.3.4); Gajim
    # shows an empty profile and logs the access models' errors.
    pubsub = alice.module("PubSub")
    for method, args in ((alice.module("VCard4").request_vcard, ()),
                         *((pubsub.get_access_model, (node,)) for node in (
                             Namespace.VCARD4_PUBSUB,
                             Namespace.AVATAR_METADATA,
                             Namespace.AVATAR_DATA, Namespace.NICK))):
        with pytest.raises(StanzaError) as e:
            alice.call(method, *args)
        assert e.value.condition == "item-not-found", (method, args)
    alice.call(alice.module("VCard4").set_vcard, profile_vcard(),
               public=False)
    alice.call(alice.module("Nickname").set_nickname, "Alice", public=False)
    alice.disconnect()
    again = gajim(alice.bare)
    vcard = again.call(again.module("VCard4").request_vcard)
    assert str(vcard.to_node()) == str(profile_vcard().to_node())
    for node in (Namespace.VCARD4_PUBSUB, Namespace.NICK):
        assert again.call(again.module("PubSub").get_access_model,
                          node) == "presence"


def test_vcard_temp_round_trip(gajim):
    """vcard-temp as nbxmpp's VCardTemp sets and reads it (Gajim reads
    contacts' with it, Gajim before 1.3 edited the profile with it)."""
    alice = gajim("alice")
    vcard = VCardTemp()
    vcard.data = {"FN": "Alice Liddell", "NICKNAME": "alice",
                  "URL": "https://example.org/alice"}
    alice.call(alice.module("VCardTemp").set_vcard, vcard)
    alice.disconnect()
    again = gajim(alice.bare)
    got = again.call(again.module("VCardTemp").request_vcard)
    for key, value in vcard.data.items():
        assert got.data.get(key) == value, (key, got.data)


# ---- 4. avatars -------------------------------------------------------------

def png(width, height, rgb=(200, 30, 60)):
    """A real PNG image (what Gajim's avatar selector publishes)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                         0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def test_avatar_seen_by_a_contact(gajim):
    """Gajim's profile window publishes an avatar (UserAvatar.set_avatar:
    data, then metadata); the contact's Gajim gets the metadata
    notification (its caps say +notify) and fetches the data
    (UserAvatar._request_avatar_data); and, by XEP-0398, the hash in
    presence and the vCard photo (VCardAvatars) are the same image."""
    alice = gajim("alice")
    bob = gajim("bob")
    befriend(alice, bob)
    image = png(64, 64)
    avatar = Avatar()
    avatar.add_image_source(image, "image/png", 64, 64)
    sha = avatar.metadata.default
    alice.call(alice.module("UserAvatar").set_avatar, avatar, public=False)
    _, event = bob.wait_message(
        lambda p: p.is_pubsub_event and
        p.pubsub_event.node == Namespace.AVATAR_METADATA and
        p.pubsub_event.data is not None and p.pubsub_event.data.infos,
        "the avatar notification")
    assert str(event.jid) == alice.bare
    assert event.pubsub_event.data.default == sha
    data = bob.call(bob.module("UserAvatar").request_avatar_data, sha,
                    jid=alice.bare)
    assert data.data == image
    # XEP-0398 §2: presence carries the hash of the converted photo.
    _, presence = bob.wait_presence(
        lambda p: str(p.jid.bare) == alice.bare and p.avatar_sha == sha,
        "alice's presence with the avatar hash")
    card = bob.call(bob.module("VCardTemp").request_vcard, alice.bare)
    photo, photo_sha = card.get_avatar()
    assert photo == image and photo_sha == sha


# ---- 5. OMEMO ---------------------------------------------------------------

def omemo_bundle(seed):
    """A bundle shaped as python-axolotl's: 33-byte keys, a 64-byte
    signature, 100 prekeys (the crypto itself is not what is tested)."""
    key = lambda n: bytes([5]) + bytes((seed * 7 + n + i) % 256
                                       for i in range(32))
    return OMEMOBundle(spk={"id": 1, "key": key(1)},
                       spk_signature=bytes(range(64)),
                       ik=key(2),
                       otpks=[{"id": i, "key": key(100 + i)}
                              for i in range(1, 101)])


def devicelist_event(one, owner):
    _, props = one.wait_message(
        lambda p: p.is_pubsub_event and
        p.pubsub_event.node == Namespace.OMEMO_TEMP_DL and
        str(p.jid.bare) == owner.bare and p.pubsub_event.data,
        "%s's OMEMO device list" % owner.bare)
    return props.pubsub_event.data


def start_omemo(one, device):
    """The OMEMO plugin at login (omemo/modules/omemo.py): reads its own
    device list, publishes it with its device, then its bundle."""
    try:
        own = one.call(one.module("OMEMO").request_devicelist) or []
    except StanzaError as e:
        assert e.condition == "item-not-found", e
        own = []
    one.call(one.module("OMEMO").set_devicelist, own + [device])
    one.call(one.module("OMEMO").set_bundle, omemo_bundle(device), device)


def test_omemo_between_two_gajims(gajim):
    """Two Gajims with the OMEMO plugin: each publishes its device list
    and bundle (legacy eu.siacs.conversations.axolotl nodes, open access,
    publish-options); each gets the other's device list as a PEP
    notification (+notify in caps) and fetches the bundle: what the
    plugin needs to start a session."""
    alice = gajim("alice")
    bob = gajim("bob")
    befriend(alice, bob)
    start_omemo(alice, 1111)
    assert devicelist_event(bob, alice) == [1111]
    start_omemo(bob, 2222)
    assert devicelist_event(alice, bob) == [2222]
    for one, other, device in ((bob, alice, 1111), (alice, bob, 2222)):
        assert one.call(one.module("OMEMO").request_devicelist,
                        other.bare) == [device]
        bundle = one.call(one.module("OMEMO").request_bundle, other.bare,
                          device)
        assert bundle == omemo_bundle(device)


def test_omemo_device_list_at_login(gajim):
    """A Gajim that logs in after its contact published gets the device
    list at once (XEP-0163 §6.2: the last item, on presence with
    +notify caps); a second device of alice adds itself to the list."""
    alice = gajim("alice")
    bob = gajim("bob")
    befriend(alice, bob)
    start_omemo(alice, 1111)
    devicelist_event(bob, alice)
    bob.disconnect()
    laptop = gajim(alice.bare, resource="laptop")
    assert devicelist_event(laptop, alice) == [1111]
    alice.messages.clear()  # her own first publication's notification
    start_omemo(laptop, 3333)
    assert devicelist_event(alice, alice) == [1111, 3333]
    bob = gajim(bob.bare)
    assert devicelist_event(bob, alice) == [1111, 3333]


# ---- 6. bookmarks -----------------------------------------------------------

def gajim_bookmark_module(one):
    """Gajim 1.7's choice (common/modules/bookmarks.py _bookmark_module)."""
    account = set(one.account_info.features)
    if Namespace.PUBSUB_PUBLISH_OPTIONS not in account:
        return "PrivateBookmarks"
    if Namespace.BOOKMARKS_COMPAT_PEP in account and NODE_MAX in account:
        return "NativeBookmarks"
    if Namespace.BOOKMARK_CONVERSION in account:
        return "PEPBookmarks"
    return "PrivateBookmarks"


ROOMS = [BookmarkData(jid=JID.from_string("tea@conference.example"),
                      name="Tea party", nick="alice", autojoin=True),
         BookmarkData(jid=JID.from_string("croquet@conference.example"),
                      name="Croquet", nick="alice", autojoin=False)]


def by_jid(bookmarks):
    return sorted(((str(b.jid), b.name, b.nick, b.autojoin)
                   for b in bookmarks))


def test_bookmarks_after_reconnect(gajim):
    """Gajim stores its bookmarks with the module it picks (XEP-0402 on
    palabre), and finds them after a reconnect; a Gajim or Psi reading
    XEP-0048 private storage sees the same rooms (#compat)."""
    alice = gajim("alice")
    chosen = gajim_bookmark_module(alice)
    assert chosen == "NativeBookmarks"
    alice.call(alice.module(chosen).store_bookmarks, ROOMS)
    alice.ping()  # NativeBookmarks publishes without awaiting answers
    alice.disconnect()
    again = gajim(alice.bare)
    assert by_jid(again.call(again.module(chosen).request_bookmarks)) == \
        by_jid(ROOMS)
    old = again.call(again.module("PrivateBookmarks").request_bookmarks)
    assert by_jid(old) == by_jid(ROOMS)


# ---- 7. the archive ---------------------------------------------------------

def test_history_from_the_archive(gajim):
    """A Gajim that was closed catches up as MAM._execute_query does:
    MAM.make_query on its own archive from a start date, then again
    after the last id until complete (pages of 2 here, 70 in Gajim; nbxmpp
    4.2 cannot send a 'with' field: its jid-single field fails to build,
    and Gajim never sends one), and finds the conversation in order."""
    start = datetime.datetime.utcnow() - datetime.timedelta(seconds=2)
    alice = gajim("alice")
    bob = gajim("bob")
    said = []
    for i in range(5):
        who, to = (alice, bob) if i % 2 == 0 else (bob, alice)
        body = "line %d" % i
        who.send_chat(to.bare, body)
        to.wait_message(lambda p, b=body: p.body == b, body)
        said.append((who.bare, body))
    alice.disconnect()
    again = gajim(alice.bare, resource="laptop")
    got, after, pages = [], None, 0
    while True:
        queryid = "q%d" % pages
        result = again.call(again.module("MAM").make_query, again.bare,
                            queryid=queryid, start=start, after=after,
                            max_=2)
        pages += 1
        for _ in range(min(2, len(said) - len(got))):
            _, props = again.wait_message(
                lambda p, q=queryid: p.is_mam_message and
                p.mam.query_id == q, "an archived message")
            got.append(props)
        if result.complete:
            break
        after = result.rsm.last
        assert pages < 5, "the archive does not end"
    assert [(str(p.from_.bare), p.body) for p in got] == said
    assert pages == 3
    stamps = [p.mam.timestamp for p in got]
    assert stamps == sorted(stamps)
    assert again.messages == []  # nothing more than the pages


# ---- 8. version, uptime, time, last seen ------------------------------------

def test_server_version_uptime_and_time(gajim):
    """The server-information page asks the server's software version and
    last activity (its uptime); Gajim's contact tooltip asks a contact's
    entity time, and last activity of an offline contact's bare JID."""
    alice = gajim("alice")
    domain = alice.jid.domain
    version = alice.call(alice.module("SoftwareVersion")
                         .request_software_version, domain)
    assert version.name == "palabre" and version.version
    uptime = alice.call(alice.module("LastActivity").request_last_activity,
                        domain)
    assert 0 <= uptime.seconds < 3600
    now = alice.call(alice.module("EntityTime").request_entity_time, domain)
    assert now  # a formatted local time of the server
    bob = gajim("bob")
    befriend(alice, bob)
    bob.module("EntityTime").enable()
    assert alice.call(alice.module("EntityTime").request_entity_time,
                      bob.full)  # client to client, through palabre
    bob.client.send_stanza(nbxmpp.Presence(typ="unavailable",
                                           status="gone to tea"))
    alice.wait_presence(lambda p: str(p.jid.bare) == bob.bare and
                        p.type.value == "unavailable", "bob leaving")
    seen = alice.call(alice.module("LastActivity").request_last_activity,
                      bob.bare)
    assert 0 <= seen.seconds < 60 and seen.status == "gone to tea"
