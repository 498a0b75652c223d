"""PEP (XEP-0163) as clients live it: notifications filtered by XEP-0115
caps, the last item when a resource becomes available, items that
survive a restart and kill -9, the limits, and OMEMO's stanza flow
between two clients (Conversations' legacy namespace and OMEMO 2).

The scripts (scripts/pep_*.scs) hold the XEP's examples; these are the
cases that need several clients' caps, a server of their own or a kill.
Real Gajim, Dino or Conversations are not driven here: the OMEMO tests
send exactly the stanzas those clients send.
"""
import base64
import hashlib

import pytest

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import im
from im import Accounts, settle

SERVER_OPTIONS = {"modules": im.IM_MODULES}

PUBSUB = "http://jabber.org/protocol/pubsub"
OWNER = PUBSUB + "#owner"
EVENT = PUBSUB + "#event"
ERRORS = PUBSUB + "#errors"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
CAPS = "http://jabber.org/protocol/caps"
DATA = "jabber:x:data"
TUNE = "urn:xmpp:tune"
AXOLOTL = "eu.siacs.conversations.axolotl"
OMEMO2 = "urn:xmpp:omemo:2"


@pytest.fixture
def accounts(request):
    from conftest import server_of
    return Accounts(server_of(request))


# ---- a client with caps -------------------------------------------------------

def caps_ver(name, features):
    """XEP-0115 §5.1 for one identity client/pc/name and no forms."""
    s = "client/pc//%s<" % name + "".join(f + "<" for f in sorted(features))
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def answer_disco(one, name, features):
    """one answers disco#info queries with its identity and features
    (what every client does for XEP-0115 §6.2)."""
    def on_query(iq):
        if iq["type"] != "get":
            return
        node = iq.xml.find("{%s}query" % DISCO_INFO).get("node")
        feats = "".join("<feature var='%s'/>" % f for f in features)
        one.send("<iq type='result' id='%s' to='%s'><query xmlns='%s'%s>"
                 "<identity category='client' type='pc' name='%s'/>%s"
                 "</query></iq>" % (
                     iq["id"], iq["from"], DISCO_INFO,
                     " node='%s'" % node if node else "", name, feats))
    one.client.xmpp.register_handler(Callback(
        "disco#info", MatchXPath("{jabber:client}iq/{%s}query" % DISCO_INFO),
        on_query))


def login_with_caps(clients, jid, name, notify, resource="pc"):
    """Logs in as a client whose caps list disco#info and NODE+notify for
    each node of notify; its initial presence carries them."""
    features = [DISCO_INFO] + [n + "+notify" for n in notify]
    one = im.login(clients, jid, resource, available=False)
    answer_disco(one, name, features)
    one.send("<presence><c xmlns='%s' hash='sha-1' node='https://palabre."
             "test/%s' ver='%s'/></presence>"
             % (CAPS, name, caps_ver(name, features)))
    one.ping()
    return one


# ---- pubsub requests ---------------------------------------------------------

def publish_options(**fields):
    return ("<publish-options><x xmlns='%s' type='submit'><field var='FORM_"
            "TYPE' type='hidden'><value>%s#publish-options</value></field>"
            % (DATA, PUBSUB)
            + "".join("<field var='pubsub#%s'><value>%s</value></field>"
                      % (k, v) for k, v in fields.items())
            + "</x></publish-options>")


def publish(one, node, id_, payload, **options):
    xml = ("<pubsub xmlns='%s'><publish node='%s'><item id='%s'>%s</item>"
           "</publish>%s</pubsub>"
           % (PUBSUB, node, id_, payload,
              publish_options(**options) if options else ""))
    return one.iq("set", ET.fromstring(xml))


def items(one, owner, node, max_items=None, ids=()):
    xml = ("<pubsub xmlns='%s'><items node='%s'%s>%s</items></pubsub>"
           % (PUBSUB, node,
              " max_items='%d'" % max_items if max_items else "",
              "".join("<item id='%s'/>" % i for i in ids)))
    return one.iq("get", ET.fromstring(xml), to=owner)


def item_ids(answer):
    assert answer.get("type") == "result", im.show(answer)
    return [i.get("id") for i in answer.iter("{%s}item" % PUBSUB)]


def error(answer):
    """(stanza condition, pubsub condition) of an error answer."""
    assert answer.get("type") == "error", im.show(answer)
    e = answer.find("{jabber:client}error")
    conds = [c.tag.split("}")[1] for c in e
             if c.tag.startswith("{%s}" % im.STANZAS)
             and not c.tag.endswith("}text")]
    ps = [c.tag.split("}")[1] for c in e
          if c.tag.startswith("{%s}" % ERRORS)]
    return conds[0], ps[0] if ps else None


def events(one, node):
    """The pubsub events about node that one received so far (taken)."""
    def about(m):
        e = m.find("{%s}event" % EVENT)
        return e is not None and any(
            c.get("node") == node for c in e)
    return one.messages.drain(about)


def next_event(one, node, from_=None):
    def about(m):
        e = m.find("{%s}event" % EVENT)
        return (e is not None and any(c.get("node") == node for c in e)
                and from_ in (None, m.get("from")))
    return one.run(one.messages.take(about), 5.0,
                   "a %s event for %s" % (node, one.jid))


def event_item_ids(message):
    return [i.get("id") for i in message.iter("{%s}item" % EVENT)]


# ---- caps filtering ------------------------------------------------------------

def test_only_resources_whose_caps_ask_get_events_and_the_last_item(
        clients, accounts):
    alice = login_with_caps(clients, accounts.new("alice"), "Alice", [])
    bob_jid, carol_jid = accounts.new("bob"), accounts.new("carol")
    bob = login_with_caps(clients, bob_jid, "Listener", [TUNE])
    carol = login_with_caps(clients, carol_jid, "Deaf", [])
    im.befriend(alice, bob)
    im.befriend(alice, carol)

    assert item_ids(publish(alice, TUNE, "t1", "<tune xmlns='%s'/>" % TUNE)
                    ) == ["t1"]
    assert event_item_ids(next_event(bob, TUNE)) == ["t1"]
    settle(alice, bob, carol)
    assert events(carol, TUNE) == []
    assert events(alice, TUNE) == []  # her own caps did not ask

    # Bob's phone comes online: the last item (XEP-0163 §4.3) at once.
    phone = login_with_caps(clients, bob_jid, "Listener", [TUNE], "phone")
    assert event_item_ids(next_event(phone, TUNE)) == ["t1"]
    # Carol's second client neither.
    other = login_with_caps(clients, carol_jid, "Deaf", [], "other")
    settle(other)
    assert events(other, TUNE) == []
    # Alice's own resource that asks gets her publishes too.
    mine = login_with_caps(clients, alice.bare, "Alice2", [TUNE], "laptop")
    assert event_item_ids(next_event(mine, TUNE)) == ["t1"]
    publish(alice, TUNE, "t2", "<tune xmlns='%s'/>" % TUNE)
    for one in (bob, phone, mine):
        assert event_item_ids(next_event(one, TUNE)) == ["t2"]


def test_caps_that_do_not_verify_are_not_trusted(clients, accounts):
    """XEP-0115 §5.4: a disco#info answer whose hash differs from the
    announced ver is not cached: no notification on its word."""
    alice = login_with_caps(clients, accounts.new("alice"), "Alice", [])
    liar = im.login(clients, accounts.new("liar"), available=False)
    answer_disco(liar, "Liar", [DISCO_INFO, TUNE + "+notify"])
    liar.send("<presence><c xmlns='%s' hash='sha-1' node='x' ver='%s'/>"
              "</presence>" % (CAPS, caps_ver("Other", [DISCO_INFO])))
    im.befriend(alice, liar)
    publish(alice, TUNE, "t1", "<tune xmlns='%s'/>" % TUNE)
    settle(alice, liar)
    assert events(liar, TUNE) == []


# ---- persistence -------------------------------------------------------------------

@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("pep"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("how", ["restart", "kill-sm", "kill-everything"])
def test_published_items_and_configuration_survive(fresh_server, clients,
                                                   accounts, how):
    """The publish result comes once the write is durable: killed right
    after it, nothing acknowledged is lost."""
    alice_jid, bob_jid = accounts.new("alice"), accounts.new("bob")
    alice = im.login(clients, alice_jid)
    for i in range(3):
        publish(alice, "urn:xmpp:microblog:0", "p%d" % i,
                "<entry xmlns='http://www.w3.org/2005/Atom'>%d</entry>" % i,
                access_model="open", max_items="max")
    im.stop_by(fresh_server, how)
    bob = im.login_retrying(clients, bob_jid)
    assert item_ids(items(bob, alice_jid, "urn:xmpp:microblog:0")) == [
        "p0", "p1", "p2"]
    assert item_ids(items(bob, alice_jid, "urn:xmpp:microblog:0",
                          max_items=2)) == ["p1", "p2"]
    alice = im.login_retrying(clients, alice_jid)
    # The configuration came back too: the same options still meet it.
    assert item_ids(publish(alice, "urn:xmpp:microblog:0", "p3", "<x xmlns"
                            "='y'/>", access_model="open",
                            max_items="max")) == ["p3"]


# ---- limits ------------------------------------------------------------------------

LIMITS = ("<pep-max-items>3</pep-max-items>"
          "<pep-max-item-bytes>2048</pep-max-item-bytes>"
          "<pep-max-nodes>2</pep-max-nodes>")


def test_limits(tmp_path_factory, certs):
    from xmpp import Clients
    server = im.make_server(tmp_path_factory.mktemp("pep-limits"), certs,
                            sm_extra=LIMITS)
    clients = None
    try:
        server.start()
        clients = Clients(server)
        alice = im.login(clients, Accounts(server).new("alice"))
        big = "<x xmlns='big'>%s</x>" % ("a" * 3000)
        # XEP-0060 §7.1.3.4
        assert error(publish(alice, "n1", "1", big)) == (
            "not-acceptable", "payload-too-big")
        for i in range(5):
            publish(alice, "n1", str(i), "<x xmlns='y'/>", max_items="max")
        # max_items 'max' is the setting: the 3 most recent stay.
        assert item_ids(items(alice, alice.bare, "n1")) == ["2", "3", "4"]
        assert error(publish(alice, "n1", "5", "<x xmlns='y'/>",
                             max_items="4")) == (
            "conflict", "precondition-not-met")
        publish(alice, "n2", "1", "<x xmlns='y'/>")
        assert error(publish(alice, "n3", "1", "<x xmlns='y'/>")) == (
            "not-allowed", "max-nodes-exceeded")
        # XEP-0060 §7.1.3.6: one payload per item.
        assert error(publish(alice, "n1", "6", "<a xmlns='y'/><b xmlns="
                             "'y'/>")) == ("bad-request", "invalid-payload")
    finally:
        if clients:
            clients.close()
        server.stop()


def error_text(answer):
    e = answer.find("{jabber:client}error")
    t = e.find("{%s}text" % im.STANZAS) if e is not None else None
    return t.text if t is not None else None


def test_quota(tmp_path_factory, certs):
    """An account's items count against pep-quota-bytes: a publish that
    would pass it is refused with policy-violation (RFC 6120 §8.3.3.12)
    and a text naming the quota; replacing an item, max_items dropping
    the oldest, a retraction and a deletion make room; the count
    survives kill -9 (it is in the nodes' records)."""
    from xmpp import Clients
    server = im.make_server(tmp_path_factory.mktemp("pep-quota"), certs,
                            sm_extra="<pep-quota-bytes>65536"
                            "</pep-quota-bytes>")
    clients = None
    # Stanzas of at most 10000 bytes (c2s): 7 of these and a small one
    # fit in 65536 bytes, 8 do not.
    big = "<x xmlns='big'>%s</x>" % ("a" * 9000)
    small = "<x xmlns='small'>%s</x>" % ("b" * 2000)
    try:
        server.start()
        clients = Clients(server)
        jid = Accounts(server).new("alice")
        alice = im.login(clients, jid)
        for i in range(7):
            assert item_ids(publish(alice, "blog", str(i), big,
                                    max_items="max")) == [str(i)]
        full = publish(alice, "blog", "7", big, max_items="max")
        assert error(full) == ("policy-violation", None)
        assert "quota of 65536 bytes (pep-quota-bytes)" in error_text(full)
        # The same id replaces its item: no more bytes.
        assert item_ids(publish(alice, "blog", "2", big,
                                max_items="max")) == ["2"]
        # A node of one item: each publish drops the one before.
        assert item_ids(publish(alice, "avatar", "a", small)) == ["a"]
        assert item_ids(publish(alice, "avatar", "b", small)) == ["b"]
        im.kill_everything(server)
        server.start()
        alice = im.login_retrying(clients, jid)
        assert error(publish(alice, "blog", "7", big, max_items="max")) == (
            "policy-violation", None)
        retract = ("<pubsub xmlns='%s'><retract node='blog'><item id='0'/>"
                   "</retract></pubsub>" % PUBSUB)
        assert alice.iq("set", ET.fromstring(retract)).get("type") == (
            "result")
        assert item_ids(publish(alice, "blog", "7", big,
                                max_items="max")) == ["7"]
        delete = "<pubsub xmlns='%s'><delete node='blog'/></pubsub>" % OWNER
        assert alice.iq("set", ET.fromstring(delete)).get("type") == "result"
        for i in range(7):
            assert item_ids(publish(alice, "other", str(i), big,
                                    max_items="max")) == [str(i)]
    finally:
        if clients:
            clients.close()
        server.stop()


# ---- OMEMO ------------------------------------------------------------------------

def devicelist(ns, device):
    if ns == AXOLOTL:
        return "<list xmlns='%s'><device id='%d'/></list>" % (AXOLOTL, device)
    return "<devices xmlns='%s'><device id='%d'/></devices>" % (ns, device)


def bundle(ns, device):
    return ("<bundle xmlns='%s'><identityKey>key%d</identityKey></bundle>"
            % (ns, device))


@pytest.mark.parametrize("flavour", ["conversations", "omemo2"])
def test_omemo_devices_and_bundles_between_two_clients(clients, accounts,
                                                       flavour):
    """Each client publishes its device list with publish-options
    (access_model open), hears the other's through +notify, publishes
    its bundle and fetches the other's: what a user sees as "the other's
    device is trusted and a message can be encrypted"."""
    if flavour == "conversations":
        ns, devices = AXOLOTL, AXOLOTL + ".devicelist"

        def bundle_node(d):
            return AXOLOTL + ".bundles:%d" % d
        bundle_id, list_opts, bundle_opts = "current", {}, {}
    else:
        ns, devices = OMEMO2, OMEMO2 + ":devices"

        def bundle_node(d):
            return OMEMO2 + ":bundles"
        bundle_id = None
        list_opts = {"max_items": "1"}
        bundle_opts = {"max_items": "max"}
    juliet = login_with_caps(clients, accounts.new("juliet"), "Phone-" +
                             flavour, [devices])
    romeo = login_with_caps(clients, accounts.new("romeo"), "Phone-" +
                            flavour, [devices])
    im.befriend(juliet, romeo)
    ids = {juliet: 1111, romeo: 2222}
    for one in (juliet, romeo):
        assert item_ids(publish(one, devices, "current",
                                devicelist(ns, ids[one]),
                                access_model="open", **list_opts)) == [
            "current"]
    for one, other in ((juliet, romeo), (romeo, juliet)):
        # Her own list comes back to her too (her caps ask for it).
        assert next_event(one, devices, one.bare) is not None
        got = next_event(one, devices, other.bare)
        dev = got.find(".//{%s}device" % ns)
        assert dev is not None and dev.get("id") == str(ids[other])
    for one in (juliet, romeo):
        d = ids[one]
        assert publish(one, bundle_node(d), bundle_id or str(d),
                       bundle(ns, d), access_model="open",
                       **bundle_opts).get("type") == "result"
    for one, other in ((juliet, romeo), (romeo, juliet)):
        d = ids[other]
        if bundle_id:
            answer = items(one, other.bare, bundle_node(d), max_items=1)
        else:
            answer = items(one, other.bare, bundle_node(d), ids=[str(d)])
        key = answer.find(".//{%s}identityKey" % ns)
        assert key is not None and key.text == "key%d" % d, im.show(answer)
    # A stranger reads the open device list (OMEMO in group chats).
    stranger = im.login(clients, accounts.new("stranger"))
    assert item_ids(items(stranger, juliet.bare, devices)) == ["current"]
