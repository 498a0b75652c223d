"""Offline messages (XEP-0160, RFC 6121 §8.5.2.2) with XEP-0203 stamps.

Messages for a user without an available resource wait in the server and
come at the user's next available presence of non-negative priority, in
order, each stamped with when the server took it. What the server
accepted survives a restart and kill -9. Delivery once, to a resource
gone, and headline and groupchat messages are scripts/offline.scs.
"""
import datetime
import time

import pytest

import im
from im import Accounts, settle

SERVER_OPTIONS = {"modules": im.IM_MODULES}

# XMPP gives the sender no receipt for a message: a second is ample for
# the server to have written it (group commit, synchronous=FULL), so a
# message sent that long before a kill -9 has been accepted.
ACCEPTED_WITHIN = 1.0


@pytest.fixture
def accounts(request):
    from conftest import server_of
    return Accounts(server_of(request))


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("offline"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def body(message):
    return message.findtext("{jabber:client}body")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def assert_nothing_more(one):
    settle(one)
    assert one.messages.items == [], "unexpected: %s" % [
        im.show(m) for m in one.messages.items]


# ---- stored, delivered -----------------------------------------------------------

def test_messages_to_an_offline_user_come_at_the_next_login_in_order(
        clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob_jid = accounts.new("bob")
    before = now() - datetime.timedelta(seconds=1)
    alice.send_message(bob_jid, "one", type_="chat")
    alice.send_message(bob_jid, "two", type_=None)       # normal
    alice.send_message(bob_jid, "three", type_="normal")
    alice.send_message(bob_jid, "four", type_="chat")
    settle(alice)
    after = now() + datetime.timedelta(seconds=1)
    assert alice.messages.items == [], "stored, not bounced: %s" % [
        im.show(m) for m in alice.messages.items]

    bob = im.login(clients, bob_jid)

    got = [bob.next_message() for _ in range(4)]
    assert [body(m) for m in got] == ["one", "two", "three", "four"]
    assert [m.get("type", "normal") for m in got] == \
        ["chat", "normal", "normal", "chat"]
    stamps = []
    for m in got:
        assert m.get("from") == alice.jid, im.show(m)
        stamp = im.delay_stamp(m)
        assert stamp is not None, "no XEP-0203 delay: %s" % im.show(m)
        assert before <= stamp <= after, (stamp, before, after)
        delay = m.find("{%s}delay" % im.DELAY)
        assert delay.get("from") in (None, "localhost"), im.show(m)
        stamps.append(stamp)
    assert stamps == sorted(stamps)
    assert_nothing_more(bob)


def test_offline_messages_wait_for_available_presence(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob_jid = accounts.new("bob")
    alice.send_message(bob_jid, "when you are back")
    settle(alice)
    # bound but not available, then available with a negative priority:
    # neither is "back" (XEP-0160 §3)
    bob = im.login(clients, bob_jid, available=False)
    assert_nothing_more(bob)
    bob.available(priority=-1)
    assert_nothing_more(bob)
    bob.available(priority=0)
    assert body(bob.next_message()) == "when you are back"


def test_only_negative_priority_resources_count_as_offline(clients,
                                                          accounts):
    # RFC 6121 §8.5.2.1.1: a negative priority resource never gets
    # messages for the bare JID; they wait for a resource that does.
    alice = im.login(clients, accounts.new("alice"))
    bob_jid = accounts.new("bob")
    bot = im.login(clients, bob_jid, "bot", priority=-1)
    alice.send_message(bob_jid, "for a human", id_="h1")
    assert_nothing_more(alice)
    assert_nothing_more(bot)
    human = im.login(clients, bob_jid, "desk")
    assert body(human.next_message()) == "for a human"
    assert_nothing_more(bot)


def test_message_to_an_unknown_user_is_bounced_not_stored(clients,
                                                          accounts):
    alice = im.login(clients, accounts.new("alice"))
    alice.send_message("nobody-at-all@localhost", "hello?", id_="m1")
    error = alice.next_message()
    assert error.get("type") == "error" and error.get("id") == "m1"
    assert im.error_of(error)[1] == "service-unavailable"


# ---- not stored --------------------------------------------------------------------

def test_error_message_is_neither_stored_nor_answered(clients, accounts):
    # RFC 6120 §8.3.1: an error is never answered with an error, so two
    # servers cannot bounce one back and forth.
    alice = im.login(clients, accounts.new("alice"))
    bob_jid = accounts.new("bob")
    alice.send("<message to='%s' type='error' id='e1'><body>bounced"
               "</body><error type='cancel'><service-unavailable xmlns="
               "'urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
               % bob_jid)
    alice.send("<message to='nobody-here@localhost' type='error' id='e2'>"
               "<error type='cancel'><item-not-found xmlns="
               "'urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
    alice.send_message(bob_jid, "marker")
    assert_nothing_more(alice)
    bob = im.login(clients, bob_jid)
    assert body(bob.next_message()) == "marker"
    assert_nothing_more(bob)


# ---- quota -------------------------------------------------------------------------

OFFLINE_QUOTA = 3


def test_full_quota_gives_the_sender_a_clear_error(tmp_path, certs):
    from xmpp import Clients
    server = im.make_server(tmp_path, certs, sm_extra=QUOTA_CONFIG)
    clients = None
    try:
        server.start()
        clients = Clients(server)
        accounts = Accounts(server)
        alice = im.login(clients, accounts.new("alice"))
        bob_jid = accounts.new("bob")
        for i in range(OFFLINE_QUOTA):
            alice.send_message(bob_jid, "kept %d" % i, id_="k%d" % i)
        alice.send_message(bob_jid, "one too many", id_="over")
        error = alice.next_message()
        assert (error.get("type"), error.get("id")) == ("error", "over"), \
            im.show(error)
        assert im.error_of(error)[1] in ("service-unavailable",
                                         "resource-constraint"), \
            im.show(error)
        # docs/configuration.md, sm/offline-quota: the sender is told why
        text = error.findtext("{jabber:client}error/{%s}text" % im.STANZAS)
        assert text and "full" in text, im.show(error)
        assert_nothing_more(alice)
        bob = im.login(clients, bob_jid)
        assert [body(bob.next_message()) for _ in range(OFFLINE_QUOTA)] == \
            ["kept %d" % i for i in range(OFFLINE_QUOTA)]
        assert_nothing_more(bob)
        # delivered, the storage is free again
        bob.logout()
        alice.send_message(bob_jid, "room again", id_="again")
        assert_nothing_more(alice)
    finally:
        if clients:
            clients.close()
        server.stop()


QUOTA_CONFIG = "<offline-quota>%d</offline-quota>" % OFFLINE_QUOTA


# ---- durability --------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["restart", "kill-sm", "kill-everything"])
def test_offline_messages_survive(fresh_server, clients, accounts, how):
    alice = im.login(clients, accounts.new("alice"))
    bob_jid = accounts.new("bob")
    for i in range(5):
        alice.send_message(bob_jid, "kept %d" % i)
    settle(alice)
    time.sleep(ACCEPTED_WITHIN)

    im.stop_by(fresh_server, how)

    bob = im.login_retrying(clients, bob_jid)
    got = [bob.next_message() for _ in range(5)]
    assert [body(m) for m in got] == ["kept %d" % i for i in range(5)]
    assert all(im.delay_stamp(m) for m in got)
    assert_nothing_more(bob)
