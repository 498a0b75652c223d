"""Sessions and delivery (RFC 6120 §7, RFC 6121 §8) and disco.

Ping is scripts/ping.scs."""
import pytest
from slixmpp.xmlstream import ET

from rawstream import NS, q, show
from palabre import USERS

ALICE, BOB, CAROL = "alice@localhost", "bob@localhost", "carol@localhost"


def error_condition(stanza):
    return stanza["error"]["condition"]


# ---- chatting ----------------------------------------------------------------

def test_two_users_chat(clients):
    alice = clients.login(ALICE + "/pc")
    bob = clients.login(BOB + "/phone")
    alice.send_message(mto=BOB + "/phone", mbody="hello bob", mtype="chat")
    msg = bob.next_message()
    assert msg["from"] == ALICE + "/pc"
    assert msg["body"] == "hello bob"
    assert msg["type"] == "chat"
    bob.send_message(mto=ALICE + "/pc", mbody="hi alice", mtype="chat")
    msg = alice.next_message()
    assert (msg["from"], msg["body"]) == (BOB + "/phone", "hi alice")


def test_users_of_two_local_domains_chat(clients):
    alice = clients.login(ALICE + "/pc")
    erin = clients.login("erin@chat.example/tablet")
    erin.available()
    alice.send_message(mto="erin@chat.example", mbody="across domains")
    msg = erin.next_message()
    assert (msg["from"], msg["body"]) == (ALICE + "/pc", "across domains")


def test_from_is_stamped_by_the_server(clients):
    # RFC 6120 §8.1.2.1: the server sets `from` to the sender's full JID,
    # whatever the client put there.
    alice = clients.login(ALICE + "/pc")
    bob = clients.login(BOB + "/phone")
    alice.send_raw("<message to='%s/phone' from='carol@localhost/x' "
                   "type='chat'><body>who am I</body></message>" % BOB)
    msg = bob.next_message()
    assert msg["from"] == ALICE + "/pc"


def test_message_to_full_jid_goes_to_that_resource_only(clients):
    pc = clients.login(ALICE + "/pc")
    phone = clients.login(ALICE + "/phone")
    pc.available(priority=10)
    phone.available(priority=0)
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=ALICE + "/phone", mbody="to the phone")
    assert phone.next_message()["body"] == "to the phone"
    pc.no_message(within=0.5)


def test_message_to_bare_jid_goes_to_highest_priority(clients):
    pc = clients.login(ALICE + "/pc")
    phone = clients.login(ALICE + "/phone")
    pc.available(priority=5)
    phone.available(priority=1)
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=ALICE, mbody="to alice", mtype="chat")
    msg = pc.next_message()
    assert (msg["from"], msg["body"]) == (BOB + "/desk", "to alice")
    phone.no_message(within=0.5)


def test_message_to_bare_jid_skips_negative_priority(clients):
    # RFC 6121 §8.5.2.1.1: a negative priority resource never gets
    # messages sent to the bare JID.
    bot = clients.login(ALICE + "/bot")
    pc = clients.login(ALICE + "/pc")
    bot.available(priority=-1)
    pc.available(priority=0)
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=ALICE, mbody="not for bots", mtype="chat")
    assert pc.next_message()["body"] == "not for bots"
    bot.no_message(within=0.5)


def test_message_to_user_with_only_negative_priority_bounces(clients):
    bot = clients.login(ALICE + "/bot")
    bot.available(priority=-5)
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=ALICE, mbody="anyone?", mtype="chat")
    error = bob.next_message()
    assert error["type"] == "error"
    assert error_condition(error) == "service-unavailable"
    bot.no_message(within=0.5)


def test_message_to_user_without_available_resource_bounces(clients):
    # Offline storage comes later: for now the sender learns it failed.
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=CAROL, mbody="are you there?", mtype="chat")
    error = bob.next_message()
    assert error["type"] == "error"
    assert error["from"].bare == CAROL
    assert error_condition(error) == "service-unavailable"


def test_message_to_logged_in_but_unavailable_user_bounces(clients):
    # Bound but no initial presence: not available (RFC 6121 §4.2).
    carol = clients.login(CAROL + "/quiet")
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=CAROL, mbody="psst", mtype="chat")
    error = bob.next_message()
    assert (error["type"], error_condition(error)) == \
        ("error", "service-unavailable")
    carol.no_message(within=0.3)


def test_message_to_unknown_user_bounces(clients):
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto="nobody@localhost", mbody="hello?", mtype="chat")
    error = bob.next_message()
    assert (error["type"], error_condition(error)) == \
        ("error", "service-unavailable")


def test_message_to_gone_full_jid_goes_to_bare_jid(clients):
    # RFC 6121 §8.5.3.2.1: a message for an unavailable resource is
    # handled as if sent to the bare JID.
    pc = clients.login(ALICE + "/pc")
    pc.available(priority=1)
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=ALICE + "/gone", mbody="for any alice", mtype="chat")
    assert pc.next_message()["body"] == "for any alice"


# ---- presence among one's own resources ----------------------------------------

def test_presence_is_broadcast_to_own_resources(clients):
    pc = clients.login(ALICE + "/pc")
    pc.available(priority=1)
    phone = clients.login(ALICE + "/phone")
    phone.xmpp.send_presence(pstatus="on the go")
    while True:  # pc may first see its own presence (RFC 6121 §4.2.2)
        presence = pc.next_presence()
        if presence["from"] == ALICE + "/phone":
            break
    assert presence["status"] == "on the go"
    assert presence["type"] == "available"


def test_going_offline_is_broadcast_to_own_resources(clients):
    pc = clients.login(ALICE + "/pc")
    pc.available(priority=1)
    phone = clients.login(ALICE + "/phone")
    phone.available()
    phone.xmpp.disconnect()
    while True:
        presence = pc.next_presence()
        if presence["from"] == ALICE + "/phone" and \
                presence["type"] == "unavailable":
            break


# ---- resources -----------------------------------------------------------------

def test_server_generates_resource_when_none_requested(clients):
    a = clients.login(ALICE)
    b = clients.login(ALICE)
    assert a.xmpp.boundjid.bare == ALICE and a.xmpp.boundjid.resource
    assert b.xmpp.boundjid.resource
    assert a.jid != b.jid


def test_conflicting_resource_replaces_old_session(clients):
    old = clients.login(ALICE + "/pc")
    new = clients.login(ALICE + "/pc")
    assert old.wait_stream_error() == "conflict"
    old.wait_disconnected()
    bob = clients.login(BOB + "/desk")
    bob.send_message(mto=ALICE + "/pc", mbody="for the new pc")
    assert new.next_message()["body"] == "for the new pc"


def test_legacy_session_iq_is_answered(clients):
    # Older Psi sends it after binding (RFC 3921 §3).
    alice = clients.login(ALICE + "/pc")
    iq = alice.xmpp.Iq(stype="set")
    iq.append(ET.Element("{%s}session" % NS["session"]))
    assert alice.iq(iq)["type"] == "result"


# ---- stanza errors -------------------------------------------------------------

@pytest.mark.parametrize("bad", ["@localhost", "bob@localhost/",
                                 "a" * 1024 + "@localhost", "bob@loc@host"])
def test_bad_jid_in_to_is_jid_malformed(raw, bad):
    s = raw()
    s.login(BOB, USERS[BOB], resource="desk")
    s.send("<message to='%s' id='m1' type='chat'><body>x</body></message>"
           % bad)
    error = s.expect("client:message")
    assert error.get("type") == "error", show(error)
    assert error.get("id") == "m1", show(error)
    assert error.find(q("client:error/stanzas:jid-malformed")) is not None, \
        show(error)
    # the stream goes on
    s.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/>"
           "</iq>")
    assert s.expect("client:iq").get("id") == "p1"


def test_iq_with_unknown_namespace_is_service_unavailable(clients):
    alice = clients.login(ALICE + "/pc")
    iq = alice.xmpp.Iq(stype="get", sto="localhost")
    iq.append(ET.Element("{urn:example:no-such-thing}query"))
    answer = alice.iq(iq)
    assert answer["type"] == "error"
    assert error_condition(answer) == "service-unavailable"


def test_iq_to_user_with_unknown_namespace_is_service_unavailable(clients):
    # RFC 6121 §8.5.1: the server answers for the bare JID.
    alice = clients.login(ALICE + "/pc")
    iq = alice.xmpp.Iq(stype="get", sto=BOB)
    iq.append(ET.Element("{urn:example:no-such-thing}query"))
    answer = alice.iq(iq)
    assert (answer["type"], error_condition(answer)) == \
        ("error", "service-unavailable")


# ---- the server's own services ---------------------------------------------------

def test_disco_info_of_server_lists_ping_and_disco(clients):
    alice = clients.login(ALICE + "/pc")
    iq = alice.xmpp.Iq(stype="get", sto="localhost")
    iq.enable("disco_info")
    info = alice.iq(iq)
    assert info["type"] == "result", info
    features = set(info["disco_info"]["features"])
    assert "urn:xmpp:ping" in features
    assert "http://jabber.org/protocol/disco#info" in features
    identities = {(c, t) for c, t, _, _ in info["disco_info"]["identities"]}
    assert ("server", "im") in identities


def test_disco_items_of_server_is_answered(clients):
    alice = clients.login(ALICE + "/pc")
    iq = alice.xmpp.Iq(stype="get", sto="localhost")
    iq.enable("disco_items")
    assert alice.iq(iq)["type"] == "result"
