"""Blocking command (XEP-0191).

alice blocks bob: bob's messages and iqs are refused, his presence no
longer reaches her, she cannot write to him by mistake, and every
resource of hers that asked for the list hears of each change: the
list, its pushes and what is refused are scripts/blocking.scs; what
needs a restart, a subscription or a second domain is here.
"""
import pytest

import im
from im import Accounts, befriend, forget, settle, show

SERVER_OPTIONS = {"modules": im.IM_MODULES}


@pytest.fixture
def accounts(request):
    from conftest import server_of
    return Accounts(server_of(request))


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("blocking"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def block(one, *jids):
    answer = one.block_iq("block", *jids)
    assert answer.get("type") == "result", show(answer)


def unblock(one, *jids):
    answer = one.block_iq("unblock", *jids)
    assert answer.get("type") == "result", show(answer)


# ---- the list ----------------------------------------------------------------------

def test_blocking_is_advertised(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    iq = alice.client.xmpp.Iq(stype="get", sto="localhost")
    iq.enable("disco_info")
    info = alice.client.iq(iq)
    assert im.BLOCKING in set(info["disco_info"]["features"])


def test_block_without_items_is_bad_request(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    answer = alice.block_iq("block")
    assert im.error_of(answer)[1] == "bad-request", show(answer)


def test_block_with_malformed_jid_is_jid_malformed(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    answer = alice.block_iq("block", "bob@loc@host")
    assert im.error_of(answer)[1] in ("jid-malformed", "bad-request"), \
        show(answer)


# ---- what blocking does ---------------------------------------------------------------

def test_messages_from_a_blocked_contact_are_not_stored_offline(
        clients, accounts):
    alice_jid = accounts.new("alice")
    alice = im.login(clients, alice_jid)
    bob_jid = accounts.new("bob")
    block(alice, bob_jid)
    alice.logout()
    bob = im.login(clients, bob_jid)
    bob.send_message(alice_jid, "while you are away", id_="b3")
    error = bob.next_message()
    assert (error.get("type"), error.get("id")) == ("error", "b3")
    alice = im.login(clients, alice_jid)
    settle(alice)
    assert alice.messages.items == []


def test_presence_of_a_blocked_contact_is_not_delivered(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    befriend(alice, bob)
    block(alice, bob.bare)
    forget(alice, bob)
    bob.send_presence(status="can you see me")
    bob.send_presence(to=alice.jid, status="directed")
    bob.send_presence(alice.bare, "subscribe")
    settle(alice, bob)
    assert alice.presences_from(bob.bare) == []


def test_blocked_contact_sees_the_user_go_offline(clients, accounts):
    # XEP-0191 §3.3: blocking sends unavailable presence to a contact
    # that could see the user's presence.
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    befriend(alice, bob)
    block(alice, bob.bare)
    bob.next_presence("unavailable", from_=alice.jid)
    alice.send_presence(status="still here, not for bob")
    settle(alice, bob)
    assert [p.get("type") for p in bob.presences_from(alice.bare)] == []


def test_blocked_contact_does_not_learn_presence_at_login(clients,
                                                          accounts):
    # XEP-0191 §3.5: probes from a blocked contact go unanswered.
    alice = im.login(clients, accounts.new("alice"), status="hidden")
    bob_jid = accounts.new("bob")
    bob = im.login(clients, bob_jid)
    befriend(alice, bob)
    block(alice, bob_jid)
    bob.logout()
    bob = im.login(clients, bob_jid, "laptop")
    settle(alice, bob)
    assert [p.get("type") for p in bob.presences_from(alice.bare)
            if p.get("type") is None] == []


def test_unblocked_contact_gets_presence_again(clients, accounts):
    # XEP-0191 §3.4: on unblock the server sends the user's presence.
    alice = im.login(clients, accounts.new("alice"), status="hello again")
    bob = im.login(clients, accounts.new("bob"))
    befriend(alice, bob)
    block(alice, bob.bare)
    forget(alice, bob)
    unblock(alice, bob.bare)
    bob.next_presence("available", from_=alice.jid)
    bob.send_message(alice.jid, "good to be back")
    assert alice.next_message(bob.bare).findtext(
        "{jabber:client}body") == "good to be back"


def test_blocking_a_domain_blocks_its_users(clients, accounts):
    # XEP-0191 §3.2 and XEP-0016 matching: a bare domain blocks every JID
    # of that domain.
    alice = im.login(clients, accounts.new("alice"))
    erin = im.login(clients, Accounts(alice.clients.server,
                                      "chat.example").new("erin"))
    bob = im.login(clients, accounts.new("bob"))
    block(alice, "chat.example")
    erin.send_message(alice.jid, "from the other domain", id_="x1")
    assert erin.next_message().get("type") == "error"
    bob.send_message(alice.jid, "same domain")
    assert alice.next_message(bob.bare) is not None


# ---- kept ------------------------------------------------------------------------------

def test_block_list_survives_a_restart(fresh_server, clients, accounts):
    alice_jid = accounts.new("alice")
    alice = im.login(clients, alice_jid)
    bob_jid, carol_jid = accounts.new("bob"), accounts.new("carol")
    block(alice, bob_jid, carol_jid)
    unblock(alice, carol_jid)

    im.restart(fresh_server)

    alice = im.login_retrying(clients, alice_jid)
    assert alice.blocklist() == [bob_jid]
    bob = im.login(clients, bob_jid)
    bob.send_message(alice_jid, "still blocked?", id_="s1")
    assert bob.next_message().get("type") == "error"
