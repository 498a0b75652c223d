"""Presence between contacts (RFC 6121 §4) and pending requests (§3.1.3).

Every test makes its own users. The test that kills a c2s has a
palabred of its own with two c2s processes, so that the contact who
watches is on the other one. Directed presence to a full JID and a
subscription request to every available resource are
scripts/presence_*.scs.
"""
import os
import signal

import pytest

import im
from im import Accounts, befriend, forget, settle, subscribe

SERVER_OPTIONS = {"modules": im.IM_MODULES}


@pytest.fixture
def accounts(request):
    from conftest import server_of
    return Accounts(server_of(request))


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("presence"), certs,
                       processes=2)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def login(clients, jid, resource="pc", **options):
    return im.login(clients, jid, resource, **options)


def follows(watcher, user):
    """watcher subscribes to user's presence (user's item: 'from')."""
    watcher.roster_set(user.bare)
    subscribe(watcher, user)


def availability(one, other):
    """The types of the presences one got from other so far (taken)."""
    return [p.get("type", "available") for p in one.presences_from(other)
            if p.get("type") not in im.SUBSCRIPTION_TYPES]


# ---- broadcast ------------------------------------------------------------------

def test_initial_presence_reaches_only_contacts_subscribed_to_it(clients,
                                                                  accounts):
    alice_jid = accounts.new("alice")
    alice = login(clients, alice_jid)
    bob = login(clients, accounts.new("bob"))      # follows alice: 'from'
    carol = login(clients, accounts.new("carol"))  # mutual: 'both'
    dave = login(clients, accounts.new("dave"))    # alice follows dave: 'to'
    erin = login(clients, accounts.new("erin"))    # in the roster: 'none'
    follows(bob, alice)
    befriend(alice, carol)
    alice.roster_set(dave.bare)
    subscribe(alice, dave)
    alice.roster_set(erin.bare)
    alice.logout()
    forget(bob, carol, dave, erin)

    login(clients, alice_jid, "laptop", status="back")

    for contact in (bob, carol):
        presence = contact.next_presence("available",
                                         from_=alice_jid + "/laptop")
        assert presence.findtext("{jabber:client}status") == "back"
    settle(bob, carol, dave, erin)
    for outsider in (dave, erin):
        got = outsider.presences_from(alice_jid)
        assert got == [], "%s is not subscribed to alice, got %s" % (
            outsider.bare, [im.show(p) for p in got])


def test_login_brings_the_current_presence_of_followed_contacts(clients,
                                                                 accounts):
    alice_jid = accounts.new("alice")
    alice = login(clients, alice_jid)
    bob = login(clients, accounts.new("bob"))
    carol = login(clients, accounts.new("carol"))
    alice.roster_set(bob.bare)
    subscribe(alice, bob)       # alice follows bob
    follows(carol, alice)       # carol follows alice, not the reverse
    alice.logout()
    bob.send_presence(status="out to lunch", show_="away")
    carol.send_presence(status="carol is here")
    settle(bob, carol)

    alice = login(clients, alice_jid, "laptop")

    presence = alice.next_presence("available", from_=bob.bare)
    assert presence.get("from") == bob.jid
    assert presence.findtext("{jabber:client}status") == "out to lunch"
    assert presence.findtext("{jabber:client}show") == "away"
    settle(alice)
    leaked = [im.show(p) for p in alice.presences_from(carol.bare)
              if p.get("type") is None]
    assert leaked == [], \
        "alice does not follow carol (RFC 6121 §4.3.2): %s" % leaked


def test_login_does_not_show_a_contact_who_left_as_available(clients,
                                                             accounts):
    # RFC 6121 §4.3.2: a probe for a contact with no available resource
    # never gets an available presence back (at most unavailable).
    alice_jid = accounts.new("alice")
    alice = login(clients, alice_jid)
    bob = login(clients, accounts.new("bob"), status="here for now")
    befriend(alice, bob)
    alice.logout()
    bob.logout()

    alice = login(clients, alice_jid, "laptop")

    settle(alice)
    got = [p.get("type", "available") for p in
           alice.presences_from(bob.bare)]
    assert set(got) <= {"unavailable"}, got


def test_new_resource_learns_the_presence_of_contacts_and_own_resources(
        clients, accounts):
    alice_jid = accounts.new("alice")
    pc = login(clients, alice_jid, "pc", status="at the desk")
    bob = login(clients, accounts.new("bob"), status="bob here")
    befriend(pc, bob)

    phone = login(clients, alice_jid, "phone")

    assert phone.next_presence("available", from_=bob.jid) is not None
    own = phone.next_presence("available", from_=alice_jid + "/pc")
    assert own.findtext("{jabber:client}status") == "at the desk"
    # and bob sees the new resource
    bob.next_presence("available", from_=alice_jid + "/phone")


def test_status_change_is_broadcast_to_contacts(clients, accounts):
    alice = login(clients, accounts.new("alice"))
    bob = login(clients, accounts.new("bob"))
    befriend(alice, bob)
    alice.send_presence(status="gone fishing", show_="xa")
    presence = bob.next_presence("available", from_=alice.jid)
    assert presence.findtext("{jabber:client}status") == "gone fishing"
    assert presence.findtext("{jabber:client}show") == "xa"


def test_priority_change_is_broadcast_and_routes_messages(clients,
                                                          accounts):
    alice_jid = accounts.new("alice")
    pc = login(clients, alice_jid, "pc", priority=5)
    phone = login(clients, alice_jid, "phone", priority=1)
    bob = login(clients, accounts.new("bob"))
    befriend(pc, bob)
    bob.send_message(alice_jid, "to the pc")
    assert pc.next_message(bob.bare).findtext("{jabber:client}body") == \
        "to the pc"

    pc.available(priority=0)

    presence = bob.next_presence("available", from_=alice_jid + "/pc")
    assert presence.findtext("{jabber:client}priority") == "0"
    bob.send_message(alice_jid, "to the phone now")
    assert phone.next_message(bob.bare).findtext("{jabber:client}body") == \
        "to the phone now"
    settle(pc)
    assert pc.messages.items == []


# ---- going away -------------------------------------------------------------------

def test_logout_is_broadcast_as_unavailable(clients, accounts):
    alice = login(clients, accounts.new("alice"))
    bob = login(clients, accounts.new("bob"))
    follows(bob, alice)
    forget(bob)
    jid = alice.jid
    alice.logout()
    bob.next_presence("unavailable", from_=jid)


def test_unavailable_presence_is_broadcast(clients, accounts):
    alice = login(clients, accounts.new("alice"))
    bob = login(clients, accounts.new("bob"))
    follows(bob, alice)
    forget(bob)
    alice.send_presence(type_="unavailable", status="brb")
    presence = bob.next_presence("unavailable", from_=alice.jid)
    assert presence.findtext("{jabber:client}status") == "brb"


def test_dropped_connection_is_broadcast_as_unavailable(clients, accounts):
    # The socket closes without </stream:stream>.
    alice = login(clients, accounts.new("alice"))
    bob = login(clients, accounts.new("bob"))
    follows(bob, alice)
    forget(bob)
    jid = alice.jid
    alice.drop()
    bob.next_presence("unavailable", from_=jid)


def test_killed_c2s_is_broadcast_as_unavailable(fresh_server, clients,
                                                accounts):
    fresh_server.wait_for_components(["sm", "c2s.1", "c2s.2"])
    bob = login(clients, accounts.new("bob"))
    bob_c2s = im.c2s_of(fresh_server, bob)
    alice_jid = accounts.new("alice")
    for attempt in range(30):  # SO_REUSEPORT spreads connections
        alice = login(clients, alice_jid, "r%d" % attempt)
        if im.c2s_of(fresh_server, alice) != bob_c2s:
            break
        alice.logout()
    else:
        raise AssertionError("every connection went to %s" % bob_c2s)
    follows(bob, alice)
    forget(bob)
    victim = fresh_server.components()[im.c2s_of(fresh_server, alice)]

    os.kill(victim, signal.SIGKILL)

    bob.next_presence("unavailable", from_=alice.jid, timeout=10)
    # and bob's own connection lives on
    bob.ping()


def test_directed_presence_reaches_a_stranger_and_so_does_logout(
        clients, accounts):
    # RFC 6121 §4.6: no subscription needed; the server remembers it and
    # sends unavailable when the session ends.
    alice = login(clients, accounts.new("alice"))
    dave = login(clients, accounts.new("dave"))
    alice.send_presence(to=dave.bare, status="hi stranger")
    presence = dave.next_presence("available", from_=alice.jid)
    assert presence.findtext("{jabber:client}status") == "hi stranger"
    jid = alice.jid
    alice.logout()
    dave.next_presence("unavailable", from_=jid)


# ---- subscription requests that wait ----------------------------------------------------

def test_pending_subscription_request_is_resent_at_each_login(clients,
                                                               accounts):
    # RFC 6121 §3.1.3: kept until answered, delivered when the contact
    # becomes available.
    alice_jid = accounts.new("alice")
    bob = login(clients, accounts.new("bob"))
    bob.roster_set(alice_jid)
    bob.send_presence(alice_jid, "subscribe")
    settle(bob)

    # connected and interested, not available: not yet
    alice = login(clients, alice_jid, "pc", available=False)
    settle(alice)
    assert alice.presences_from(bob.bare) == []
    alice.available()
    request = alice.next_presence("subscribe", from_=bob.bare)
    assert request.get("from") == bob.bare
    alice.logout()

    alice = login(clients, alice_jid, "laptop")
    alice.next_presence("subscribe", from_=bob.bare)
    alice.send_presence(bob.bare, "subscribed")
    bob.next_presence("subscribed", from_=alice_jid)
    alice.logout()

    alice = login(clients, alice_jid, "tablet")
    settle(alice)
    assert alice.presences_from(bob.bare) == [], "the request was answered"
