"""Rosters (RFC 6121 §2) and roster versioning (XEP-0237).

Every test makes its own users on the module's server. Get, set,
update, remove and a get with the current version, as exchanges, are
scripts/roster_*.scs.
"""
import pytest

import im
from im import Accounts, forget, roster_item_xml, show

# No c2s/rate-limit: filling a roster sends 1000 sets and 1000 answers to
# their pushes at once (test_c2s_flow tests the limit).
SERVER_OPTIONS = {"modules": im.IM_MODULES, "c2s_extra": "<rate-limit/>"}


@pytest.fixture
def accounts(server):
    return Accounts(server)


@pytest.fixture
def alice(clients, accounts):
    return im.login(clients, accounts.new("alice"))


def error_condition(answer):
    assert answer.get("type") == "error", \
        "expected an error, got %s" % show(answer)
    return im.error_of(answer)[1]


# ---- get, set, update, remove --------------------------------------------------

def test_update_keeps_the_subscription(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    im.befriend(alice, bob)
    alice.roster_set(bob.bare, "Bobby", ["Pals"])
    item = alice.next_push(bob.bare).item(bob.bare)
    assert (item.name, item.subscription) == ("Bobby", "both")
    assert alice.roster().item(bob.bare).subscription == "both"


def test_removing_a_contact_cancels_both_subscriptions(clients, accounts):
    # RFC 6121 §2.5.2: the server sends unsubscribe and unsubscribed to
    # the contact, who sees the user go offline and loses the item's
    # subscription.
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    im.befriend(alice, bob)
    alice.roster_remove(bob.bare)
    assert alice.next_push(bob.bare).item(bob.bare).subscription == "remove"
    bob.next_presence("unsubscribe", from_=alice.bare)
    bob.next_presence("unsubscribed", from_=alice.bare)
    bob.next_presence("unavailable", from_=alice.jid)
    item = bob.next_push(alice.bare, where=lambda i: i.subscription ==
                         "none").item(alice.bare)
    assert item.ask is None
    assert bob.roster().state(alice.bare) == ("none", None)
    assert bob.bare not in alice.roster().items


def test_subscription_changes_are_pushed_to_every_interested_resource(
        clients, accounts):
    alice_jid = accounts.new("alice")
    pc = im.login(clients, alice_jid, "pc")
    phone = im.login(clients, alice_jid, "phone")
    bob = im.login(clients, accounts.new("bob"))
    pc.roster_set(bob.bare)
    im.subscribe(pc, bob)
    for resource in (pc, phone):
        resource.next_push(bob.bare, where=lambda i: i.ask == "subscribe")
    phone.next_push(bob.bare, where=lambda i: i.subscription == "to")


# ---- errors ----------------------------------------------------------------------

def test_two_items_in_one_set_are_bad_request(alice, accounts):
    # RFC 6121 §2.3.3
    bob, carol = accounts.new("bob"), accounts.new("carol")
    answer = alice.roster_set_iq(roster_item_xml(bob), roster_item_xml(carol))
    assert error_condition(answer) == "bad-request"
    assert alice.roster().items == {}


def test_item_without_jid_is_bad_request(alice):
    answer = alice.roster_set_iq(roster_item_xml(None, name="nobody"))
    assert error_condition(answer) == "bad-request"
    assert alice.roster().items == {}


def test_malformed_jid_is_refused(alice):
    answer = alice.roster_set_iq(roster_item_xml("bob@loc@host"))
    assert error_condition(answer) in ("jid-malformed", "bad-request")
    assert alice.roster().items == {}


def test_duplicate_groups_are_bad_request(alice, accounts):
    answer = alice.roster_set_iq(roster_item_xml(accounts.new("bob"),
                                                 groups=["Same", "Same"]))
    assert error_condition(answer) == "bad-request"


def test_empty_group_is_not_acceptable(alice, accounts):
    answer = alice.roster_set_iq(roster_item_xml(accounts.new("bob"),
                                                 groups=[""]))
    assert error_condition(answer) == "not-acceptable"


# server/sm/roster.h: 1000 items, 32 groups per item, 1023 bytes of a name
# or group (RFC 6121 §2.3.3: a server may limit them).
MAX_ITEMS, MAX_GROUPS, MAX_TEXT = 1000, 32, 1023


def test_over_long_name_is_not_acceptable(alice, accounts):
    bob = accounts.new("bob")
    answer = alice.roster_set_iq(roster_item_xml(bob, "n" * (MAX_TEXT + 1)))
    assert error_condition(answer) == "not-acceptable"
    assert bob not in alice.roster().items
    # the longest name allowed is kept whole
    alice.roster_set(bob, "n" * MAX_TEXT)
    assert alice.roster().item(bob).name == "n" * MAX_TEXT


def test_over_long_group_is_not_acceptable(alice, accounts):
    answer = alice.roster_set_iq(roster_item_xml(accounts.new("bob"),
                                                 groups=["g" * (MAX_TEXT
                                                                + 1)]))
    assert error_condition(answer) == "not-acceptable"


def test_too_many_groups_are_refused(alice, accounts):
    bob = accounts.new("bob")
    groups = ["group %d" % i for i in range(MAX_GROUPS + 1)]
    answer = alice.roster_set_iq(roster_item_xml(bob, groups=groups))
    assert error_condition(answer) in ("policy-violation", "not-acceptable",
                                       "resource-constraint")
    assert bob not in alice.roster().items
    alice.roster_set(bob, groups=groups[:MAX_GROUPS])
    assert len(alice.roster().item(bob).groups) == MAX_GROUPS


def test_a_full_roster_refuses_one_more_contact(alice):
    answers = {}
    done = im.asyncio.Event()

    def on_iq(iq):
        if (iq["id"] or "").startswith("fill-"):
            answers[iq["id"]] = iq["type"]
            if len(answers) == MAX_ITEMS:
                done.set()
    alice.client.xmpp.register_handler(im.Callback(
        "fill", im.MatchXPath("{jabber:client}iq"), on_iq))
    for i in range(MAX_ITEMS):
        alice.send("<iq type='set' id='fill-%d'><query xmlns='%s'><item "
                   "jid='c%d@example.net'/></query></iq>" % (i, im.ROSTER, i))
    alice.run(done.wait(), 30, "%d roster set results" % MAX_ITEMS)
    assert set(answers.values()) == {"result"}
    answer = alice.roster_set_iq(roster_item_xml("one-more@example.net"))
    assert error_condition(answer) in ("policy-violation",
                                       "resource-constraint", "not-allowed")
    # changing a contact already there is still fine
    alice.roster_set("c0@example.net", "still editable")
    assert len(alice.roster().items) == MAX_ITEMS


def test_own_jid_cannot_be_added(alice):
    answer = alice.roster_set_iq(roster_item_xml(alice.bare, "me"))
    assert error_condition(answer) in ("not-allowed", "bad-request",
                                       "not-acceptable", "forbidden")
    assert alice.roster().items == {}


def test_subscription_cannot_be_set_by_the_client(alice, accounts):
    # RFC 6121 §2.1.2.5: a subscription other than "remove" in a roster
    # set is ignored; the client cannot grant itself a subscription.
    bob = accounts.new("bob")
    answer = alice.roster_set_iq(roster_item_xml(bob, subscription="both"))
    if answer.get("type") == "result":
        assert alice.roster().state(bob) == ("none", None)
    else:
        assert bob not in alice.roster().items


def test_ask_cannot_be_set_by_the_client(alice, accounts):
    bob = accounts.new("bob")
    item = roster_item_xml(bob)
    item.set("ask", "subscribe")
    answer = alice.roster_set_iq(item)
    if answer.get("type") == "result":
        assert alice.roster().state(bob) == ("none", None)


def test_another_users_roster_cannot_be_read_or_changed(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    bob.roster_set(accounts.new("carol"), "secret friend")
    query = im.ET.Element("{%s}query" % im.ROSTER)
    answer = alice.iq("get", query, to=bob.bare)
    assert error_condition(answer) in ("forbidden", "service-unavailable",
                                       "not-authorized"), show(answer)
    query = im.ET.Element("{%s}query" % im.ROSTER)
    query.append(roster_item_xml(alice.bare, "planted"))
    answer = alice.iq("set", query, to=bob.bare)
    assert error_condition(answer) in ("forbidden", "service-unavailable")
    assert alice.bare not in bob.roster().items


# ---- XEP-0237 roster versioning ----------------------------------------------------

def test_roster_versioning_is_advertised(server, accounts):
    features = im.stream_features(server, accounts.new("alice"))
    assert features.find("{urn:xmpp:features:rosterver}ver") is not None, \
        show(features)


def test_roster_result_carries_a_version(alice):
    roster = alice.roster(ver="")
    assert roster.ver is not None, \
        "a client that asked with ver gets a ver (XEP-0237): %s" % roster


def test_pushes_carry_a_new_version(alice, accounts):
    before = alice.roster(ver="").ver
    bob = accounts.new("bob")
    alice.roster_set(bob, "Bob")
    first = alice.next_push(bob).ver
    alice.roster_remove(bob)
    second = alice.next_push(bob).ver
    assert first and second, "pushes carry ver (XEP-0237 §2.3)"
    assert len({before, first, second}) == 3, (before, first, second)
    # the version of the last push is the current one
    assert len(alice.roster_get_iq(ver=second)) == 0
    assert alice.roster(ver="").ver == second


def test_get_with_an_old_version_brings_the_client_up_to_date(alice,
                                                               accounts):
    bob, carol, dave = (accounts.new(n) for n in ("bob", "carol", "dave"))
    alice.roster_set(bob, "Bob")
    alice.roster_set(carol, "Carol")
    forget(alice)
    old = alice.roster(ver="").ver
    alice.roster_set(dave, "Dave")
    alice.roster_set(carol, "Caroline")
    alice.roster_remove(bob)
    forget(alice)
    current = alice.roster(ver="").ver
    answer = alice.roster_get_iq(ver=old)
    assert answer.get("type") == "result", show(answer)
    if len(answer):
        # the whole roster, with the current version
        roster = im.Roster(answer)
        assert sorted(roster.items) == sorted([carol, dave])
        assert roster.item(carol).name == "Caroline"
        assert roster.ver == current
    else:
        # an empty result, then the changes as pushes (XEP-0237 §2.4)
        known = {}
        last_ver = None
        for _ in range(3):
            push = alice.next_push()
            known.update(push.items)
            last_ver = push.ver
        assert known[bob].subscription == "remove"
        assert known[carol].name == "Caroline"
        assert known[dave].name == "Dave"
        assert last_ver == current


def test_unchanged_roster_keeps_its_version(alice, accounts):
    alice.roster_set(accounts.new("bob"))
    alice.next_push()
    assert alice.roster(ver="").ver == alice.roster(ver="").ver
