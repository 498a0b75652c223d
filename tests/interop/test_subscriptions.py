"""Presence subscriptions, table-driven over RFC 6121 Appendix A.

For every state of alice's item for bob (A.1) and every event (A.2: alice
sends subscribe, unsubscribe, subscribed or unsubscribed to bob; A.3: bob
sends one to alice), a fresh pair of users is brought into the state by
real stanzas, the event happens, and the test checks:

- alice's roster pushes: every push about bob carries the new state
  (subscription, ask), and there is one when the state changed;
- what the other side receives: the subscription stanza is delivered,
  from the sender's bare JID, exactly when the tables say so;
- the stored state: alice's and bob's roster gets after the event.

Both users are local, so an outbound event of one side is an inbound
event of the other: bob's state is always the mirror of alice's (To and
From swapped, Pending Out and Pending In swapped), and the tables of A.2
and A.3 together say what each side sees.
"""
import pytest

import im
from im import Accounts, settle

SERVER_OPTIONS = {"modules": im.IM_MODULES}

# ---- RFC 6121 Appendix A ------------------------------------------------------

NONE = "None"
NONE_OUT = "None + Pending Out"
NONE_IN = "None + Pending In"
NONE_OUT_IN = "None + Pending Out/In"
TO = "To"
TO_IN = "To + Pending In"
FROM = "From"
FROM_OUT = "From + Pending Out"
BOTH = "Both"
STATES = [NONE, NONE_OUT, NONE_IN, NONE_OUT_IN, TO, TO_IN, FROM, FROM_OUT,
          BOTH]
SAME = None  # "no state change"

# A.2: the user's server processing an outbound stanza: (route?, new state)
OUTBOUND = {
    "subscribe": {                     # A.2.1
        NONE: (True, NONE_OUT),
        NONE_OUT: (True, SAME),
        NONE_IN: (True, NONE_OUT_IN),
        NONE_OUT_IN: (True, SAME),
        TO: (True, SAME),
        TO_IN: (True, SAME),
        FROM: (True, FROM_OUT),
        FROM_OUT: (True, SAME),
        BOTH: (True, SAME),
    },
    "unsubscribe": {                   # A.2.2
        NONE: (True, SAME),
        NONE_OUT: (True, NONE),
        NONE_IN: (True, SAME),
        NONE_OUT_IN: (True, NONE_IN),
        TO: (True, NONE),
        TO_IN: (True, NONE_IN),
        FROM: (True, SAME),
        FROM_OUT: (True, FROM),
        BOTH: (True, FROM),
    },
    "subscribed": {                    # A.2.3
        NONE: (False, SAME),
        NONE_OUT: (False, SAME),
        NONE_IN: (True, FROM),
        NONE_OUT_IN: (True, FROM_OUT),
        TO: (False, SAME),
        TO_IN: (True, BOTH),
        FROM: (False, SAME),
        FROM_OUT: (False, SAME),
        BOTH: (False, SAME),
    },
    "unsubscribed": {                  # A.2.4
        NONE: (False, SAME),
        NONE_OUT: (False, SAME),
        NONE_IN: (True, NONE),
        NONE_OUT_IN: (True, NONE_OUT),
        TO: (False, SAME),
        TO_IN: (True, TO),
        FROM: (True, NONE),
        FROM_OUT: (True, NONE_OUT),
        BOTH: (True, TO),
    },
}

# A.3: the contact's server processing an inbound stanza:
# (deliver to the user?, new state)
INBOUND = {
    "subscribe": {                     # A.3.1
        NONE: (True, NONE_IN),
        NONE_OUT: (True, NONE_OUT_IN),
        NONE_IN: (False, SAME),
        NONE_OUT_IN: (False, SAME),
        TO: (True, TO_IN),
        TO_IN: (False, SAME),
        FROM: (False, SAME),       # the server answers subscribed itself
        FROM_OUT: (False, SAME),
        BOTH: (False, SAME),
    },
    "unsubscribe": {                   # A.3.2
        NONE: (False, SAME),
        NONE_OUT: (False, SAME),
        NONE_IN: (True, NONE),
        NONE_OUT_IN: (True, NONE_OUT),
        TO: (False, SAME),
        TO_IN: (True, TO),
        FROM: (True, NONE),
        FROM_OUT: (True, NONE_OUT),
        BOTH: (True, TO),
    },
    "subscribed": {                    # A.3.3
        NONE: (False, SAME),
        NONE_OUT: (True, TO),
        NONE_IN: (False, SAME),
        NONE_OUT_IN: (True, TO_IN),
        TO: (False, SAME),
        TO_IN: (False, SAME),
        FROM: (False, SAME),
        FROM_OUT: (True, BOTH),
        BOTH: (False, SAME),
    },
    "unsubscribed": {                  # A.3.4
        NONE: (False, SAME),
        NONE_OUT: (True, NONE),
        NONE_IN: (False, SAME),
        NONE_OUT_IN: (True, NONE_IN),
        TO: (True, NONE),
        TO_IN: (True, NONE_IN),
        FROM: (False, SAME),
        FROM_OUT: (True, FROM),
        BOTH: (True, FROM),
    },
}

# What a roster shows of a state: (subscription, ask). Pending In is not
# in the roster (RFC 6121 §2.1.2.5).
ROSTER_VIEW = {
    NONE: ("none", None), NONE_OUT: ("none", "subscribe"),
    NONE_IN: ("none", None), NONE_OUT_IN: ("none", "subscribe"),
    TO: ("to", None), TO_IN: ("to", None),
    FROM: ("from", None), FROM_OUT: ("from", "subscribe"),
    BOTH: ("both", None),
}

MIRROR = {NONE: NONE, NONE_OUT: NONE_IN, NONE_IN: NONE_OUT,
          NONE_OUT_IN: NONE_OUT_IN, TO: FROM, TO_IN: FROM_OUT, FROM: TO,
          FROM_OUT: TO_IN, BOTH: BOTH}

# RFC 6121 §3.4: with pre-approval, an outbound subscribed in these states
# is not routed but remembered (approved='true' on the item).
PRE_APPROVABLE = (NONE, NONE_OUT, TO)


def transition(sender_state, event):
    """One side sends `event` to the other, whose state mirrors the
    sender's. Returns (sender's new state, delivered?, receiver's new
    state), by A.2 then A.3."""
    routed, sender_new = OUTBOUND[event][sender_state]
    sender_new = sender_new or sender_state
    receiver_state = MIRROR[sender_state]
    if not routed:
        return sender_new, False, receiver_state
    delivered, receiver_new = INBOUND[event][receiver_state]
    receiver_new = receiver_new or receiver_state
    assert receiver_new == MIRROR[sender_new], \
        "the tables disagree on %s / %s" % (sender_state, event)
    return sender_new, delivered, receiver_new


# ---- a pair of users -------------------------------------------------------------

class Pair:
    """alice and bob, both logged in, interested and available, with the
    state of alice's item for bob that the server should have."""

    def __init__(self, clients, accounts):
        self.alice = im.login(clients, accounts.new("alice"))
        self.bob = im.login(clients, accounts.new("bob"))
        self.state = None  # alice has no item for bob yet
        self.bob_has_item = False

    def side(self, who):
        return (self.alice, self.bob) if who == "alice" else \
            (self.bob, self.alice)

    def send(self, who, event):
        """`who` ("alice" or "bob") sends a subscription stanza of type
        `event` to the other."""
        sender, receiver = self.side(who)
        sender.send_presence(receiver.bare, event)

    def step(self, who, event):
        """Drives one step while bringing the pair into a state: checks
        the pushes and the delivery as it goes, so that a broken step
        names itself."""
        alice_state = self.state
        sender_state = alice_state if who == "alice" else MIRROR[alice_state]
        sender_new, delivered, receiver_new = transition(sender_state, event)
        sender, receiver = self.side(who)
        self.send(who, event)
        what = "%s sends %s to %s (alice's state: %s)" % (
            who, event, "bob" if who == "alice" else "alice", alice_state)
        if delivered:
            got = receiver.next_presence(event, from_=sender.bare)
            assert got.get("from") == sender.bare, \
                "%s: delivered from %s" % (what, got.get("from"))
        for im_, old, new in ((sender, sender_state, sender_new),
                              (receiver, MIRROR[sender_state],
                               receiver_new)):
            has_item = im_ is self.alice or self.bob_has_item or \
                ROSTER_VIEW[new] != ("none", None)
            if has_item and ROSTER_VIEW[new] != ROSTER_VIEW[old]:
                other = receiver.bare if im_ is sender else sender.bare
                push = im_.next_push(other)
                assert push.state(other) == ROSTER_VIEW[new], \
                    "%s: push to %s is %s, expected %s (%s)" % (
                        what, im_.jid, push.state(other), ROSTER_VIEW[new],
                        new)
        self.state = sender_new if who == "alice" else receiver_new
        if ROSTER_VIEW[MIRROR[self.state]] != ("none", None):
            self.bob_has_item = True

    def settle(self):
        settle(self.alice, self.bob)

    def forget_traffic(self):
        """Lets the server finish, then forgets whatever came (presence
        exchanged on approval, pushes already checked)."""
        self.settle()
        for side in (self.alice, self.bob):
            side.pushes.drain()
            side.presences.drain()


# How each state of A.1 is reached: alice first adds bob to her roster
# (state None), then the pair exchanges these stanzas.
WAY_TO = {
    NONE: [],
    NONE_OUT: [("alice", "subscribe")],
    NONE_IN: [("bob", "subscribe")],
    NONE_OUT_IN: [("alice", "subscribe"), ("bob", "subscribe")],
    TO: [("alice", "subscribe"), ("bob", "subscribed")],
    TO_IN: [("alice", "subscribe"), ("bob", "subscribed"),
            ("bob", "subscribe")],
    FROM: [("bob", "subscribe"), ("alice", "subscribed")],
    FROM_OUT: [("bob", "subscribe"), ("alice", "subscribed"),
               ("alice", "subscribe")],
    BOTH: [("bob", "subscribe"), ("alice", "subscribed"),
           ("alice", "subscribe"), ("bob", "subscribed")],
}


def pair_in_state(clients, accounts, state):
    """A fresh alice and bob, where alice's item for bob is in `state`."""
    pair = Pair(clients, accounts)
    pair.alice.roster_set(pair.bob.bare)
    push = pair.alice.next_push(pair.bob.bare)
    assert push.state(pair.bob.bare) == ("none", None), push
    pair.state = NONE
    for who, event in WAY_TO[state]:
        pair.step(who, event)
    assert pair.state == state
    pair.forget_traffic()
    return pair


def expected_roster_view(pair, state, who):
    """What `who`'s roster get should show for the other side."""
    if who == "alice":
        return ROSTER_VIEW[state]
    view = ROSTER_VIEW[MIRROR[state]]
    if not pair.bob_has_item and view == ("none", None):
        return None  # bob never had an item for alice
    return view


# ---- the table ------------------------------------------------------------------

@pytest.fixture(scope="module")
def accounts(server):
    return Accounts(server)


@pytest.fixture(scope="module")
def pre_approval(server):
    """Whether the server offers pre-approval (RFC 6121 §3.4): the
    stream feature urn:xmpp:features:pre-approval."""
    features = im.stream_features(server, Accounts(server).new("probe"))
    return features.find("{urn:xmpp:features:pre-approval}sub") is not None


ROWS = [(state, who, event)
        for who in ("alice", "bob")
        for event in ("subscribe", "unsubscribe", "subscribed",
                      "unsubscribed")
        for state in STATES]


def row_id(row):
    state, who, event = row
    direction = "outbound" if who == "alice" else "inbound"
    return "%s-%s-%s" % (direction, event,
                         state.replace(" + ", "+").replace(" ", "")
                         .replace("/", ""))


def subscribed_to(state):
    """Whether the user (alice) receives the contact's presence."""
    return state in (TO, TO_IN, BOTH)


def check_availability(got, before, after, event):
    """got: the types of the non-subscription presences a side received
    from the other after the event; before/after: that side's state.

    Gaining a subscription brings the contact's current presence (RFC 6121
    §3.1.5); having it cancelled (unsubscribed) brings its unavailable
    presence first (§3.2.2, a MUST); unsubscribing oneself may bring one
    (§3.3.3). Otherwise a duplicate of what the side already knows is
    harmless, but never an available presence from someone it does not
    follow (a leak) nor an unavailable one from someone it follows (the
    contact would look offline)."""
    if subscribed_to(after) and not subscribed_to(before):
        assert "available" in got and set(got) == {"available"}, \
            "expected the contact's presence, got %s" % got
    elif subscribed_to(before) and not subscribed_to(after):
        if event == "unsubscribed":
            assert "unavailable" in got and set(got) == {"unavailable"}, \
                "expected unavailable presence, got %s" % got
        else:
            assert set(got) <= {"unavailable"}, got
    elif subscribed_to(after):
        assert set(got) <= {"available"}, \
            "a followed contact must not look offline: %s" % got
    else:
        assert set(got) <= {"unavailable"}, \
            "presence leaked to a non-subscriber: %s" % got


@pytest.mark.parametrize("row", ROWS, ids=[row_id(r) for r in ROWS])
def test_appendix_a(clients, accounts, pre_approval, row):
    state, who, event = row
    pair = pair_in_state(clients, accounts, state)
    alice, bob = pair.alice, pair.bob
    sender, receiver = pair.side(who)
    sender_state = state if who == "alice" else MIRROR[state]
    sender_new, delivered, receiver_new = transition(sender_state, event)
    new = sender_new if who == "alice" else receiver_new
    pre_approved = (pre_approval and who == "alice" and
                    event == "subscribed" and state in PRE_APPROVABLE)

    pair.send(who, event)

    if delivered:
        got = receiver.next_presence(event, from_=sender.bare)
        assert got.get("from") == sender.bare, \
            "the server must stamp the bare JID (RFC 6121 §3.1.2): %s" \
            % im.show(got)
    pair.settle()

    # what else each side got from the other: no more subscription
    # stanzas; presence as the subscriptions changed
    for side, other, before, after in (
            (alice, bob, state, new),
            (bob, alice, MIRROR[state], MIRROR[new])):
        name = "alice" if side is alice else "bob"
        got = side.presences_from(other.bare)
        subscription = [im.show(p) for p in got
                        if p.get("type") in im.SUBSCRIPTION_TYPES]
        assert subscription == [], "%s also got %s (%s)" % (
            name, subscription, "a second copy" if delivered and
            side is receiver else "not to be delivered")
        availability = [p.get("type", "available") for p in got
                        if p.get("type") not in im.SUBSCRIPTION_TYPES]
        try:
            check_availability(availability, before, after, event)
        except AssertionError as e:
            raise AssertionError("%s, from %s (%s → %s): %s" % (
                name, "bob" if name == "alice" else "alice", before, after,
                e)) from None

    # roster pushes: every one carries the new state; one at least if
    # the state shown in the roster changed
    for side, other, before, after, has_item in (
            (alice, bob, state, new, True),
            (bob, alice, MIRROR[state], MIRROR[new], pair.bob_has_item or
             ROSTER_VIEW[MIRROR[new]] != ("none", None))):
        name = "alice" if side is alice else "bob"
        pushes = side.pushes_about(other.bare)
        views = [p.state(other.bare) for p in pushes]
        if side is alice and pre_approved:
            # RFC 6121 §3.4.1: remembered, pushed with approved='true'
            assert pushes, "no push for the pre-approval"
            assert all(p.item(other.bare).approved == "true"
                       for p in pushes), pushes
        elif has_item and ROSTER_VIEW[after] != ROSTER_VIEW[before]:
            assert pushes, "%s got no roster push (expected %s: %s)" % (
                name, after, ROSTER_VIEW[after])
        allowed = [ROSTER_VIEW[after]]
        if not has_item:
            # a pending request dropped: some servers say it with a
            # removal of an item the client never saw, which is harmless
            allowed.append(("remove", None))
        assert all(v in allowed for v in views), \
            "%s's pushes say %s, expected %s (%s)" % (
                name, views, ROSTER_VIEW[after], after)

    # the stored state, both sides
    roster = alice.roster()
    assert roster.state(bob.bare) == ROSTER_VIEW[new], \
        "alice's roster has %s for bob, expected %s (%s)" % (
            roster.state(bob.bare), ROSTER_VIEW[new], new)
    if pre_approved:
        assert roster.item(bob.bare).approved == "true", roster
    else:
        assert roster.item(bob.bare).approved in (None, "false"), roster
    if ROSTER_VIEW[MIRROR[new]] != ("none", None):
        pair.bob_has_item = True
    expected = expected_roster_view(pair, new, "bob")
    got = bob.roster().state(alice.bare)
    if expected is None:
        assert got in (None, ("none", None)), \
            "bob's roster has %s for alice, expected nothing" % (got,)
    else:
        assert got == expected, \
            "bob's roster has %s for alice, expected %s (%s)" % (
                got, expected, MIRROR[new])


# ---- kept across a restart ---------------------------------------------------------

@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("subscriptions"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_every_state_survives_a_restart(fresh_server, clients):
    accounts = Accounts(fresh_server)
    pairs = {state: pair_in_state(clients, accounts, state)
             for state in STATES}
    names = {state: (pair.alice.bare, pair.bob.bare)
             for state, pair in pairs.items()}
    bob_items = {state: pair.bob_has_item for state, pair in pairs.items()}

    im.restart(fresh_server)

    for state in STATES:
        alice_jid, bob_jid = names[state]
        alice = im.login_retrying(clients, alice_jid, "again")
        bob = im.login(clients, bob_jid, "again")
        assert alice.roster().state(bob_jid) == ROSTER_VIEW[state], state
        view = ROSTER_VIEW[MIRROR[state]]
        got = bob.roster().state(alice_jid)
        if not bob_items[state] and view == ("none", None):
            assert got in (None, ("none", None)), (state, got)
        else:
            assert got == view, (state, got, view)
        # pending requests come again to whoever has one waiting
        settle(alice, bob)
        for me, other, my_state in ((alice, bob, state),
                                    (bob, alice, MIRROR[state])):
            requests = [p.get("type") for p in
                        me.subscription_presences(other.bare)]
            waiting = my_state in (NONE_IN, NONE_OUT_IN, TO_IN)
            assert requests == (["subscribe"] if waiting else []), \
                "%s, %s got %s" % (state, me.bare, requests)


# ---- pre-approval (RFC 6121 §3.4) -------------------------------------------------

def test_pre_approval_does_what_the_stream_features_say(clients, accounts,
                                                        pre_approval):
    """Advertised: a contact alice approved in advance is subscribed at
    once when asking, and alice is not asked. Not advertised: the early
    'subscribed' is dropped and the later request reaches alice."""
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    alice.roster_set(bob.bare)
    alice.send_presence(bob.bare, "subscribed")   # before any request
    settle(alice, bob)
    assert bob.subscription_presences(alice.bare) == [], \
        "an early 'subscribed' is never routed (RFC 6121 A.2.3)"
    bob.send_presence(alice.bare, "subscribe")
    if pre_approval:
        bob.next_presence("subscribed", from_=alice.bare)
        alice.next_push(bob.bare, where=lambda i: i.subscription == "from")
        settle(alice)
        assert alice.subscription_presences(bob.bare) == []
    else:
        alice.next_presence("subscribe", from_=bob.bare)
        assert alice.roster().item(bob.bare).approved in (None, "false"), \
            "pre-approval is not advertised, yet it was recorded"
