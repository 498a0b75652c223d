"""What palabre acknowledged survives a restart and kill -9.

Each test has a palabred of its own (fresh_server), since it stops or
kills it.
"""
import time

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import im
from im import Accounts, settle, subscribe

BURST = 200
KILL_AFTER = 10  # acknowledged sets before the kill


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("persistence"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def accounts(fresh_server):
    return Accounts(fresh_server)


def test_roster_and_pending_subscriptions_survive_a_restart(
        fresh_server, clients, accounts):
    alice_jid, bob_jid, carol_jid, dave_jid, erin_jid = (
        accounts.new(n) for n in ("alice", "bob", "carol", "dave", "erin"))
    alice = im.login(clients, alice_jid)
    erin = im.login(clients, erin_jid)
    alice.roster_set(bob_jid, "Bob", ["Friends", "Work"])
    alice.roster_set(carol_jid, "Carol")
    alice.send_presence(carol_jid, "subscribe")    # carol is offline
    im.befriend(alice, erin)
    alice.logout()
    dave = im.login(clients, dave_jid)
    dave.send_presence(alice_jid, "subscribe")     # alice is offline
    settle(dave)

    im.restart(fresh_server)

    alice = im.login_retrying(clients, alice_jid)
    roster = alice.roster()
    assert roster.item(bob_jid) == im.Item(bob_jid, "Bob", "none", None,
                                           None, ["Friends", "Work"])
    assert roster.state(carol_jid) == ("none", "subscribe")
    assert roster.item(carol_jid).name == "Carol"
    assert roster.state(erin_jid) == ("both", None)
    assert dave_jid not in roster.items
    # the request that waited for alice
    alice.next_presence("subscribe", from_=dave_jid)
    # the request alice made waits for carol
    carol = im.login(clients, carol_jid)
    carol.next_presence("subscribe", from_=alice_jid)


def roster_set_xml(i):
    return ("<query xmlns='%s'><item jid='contact-%d@example.net' "
            "name='n%d'/></query>" % (im.ROSTER, i, i))


def burst_of_roster_sets(alice, count, kill_after, kill,
                         payload=roster_set_xml):
    """Sends count iq sets of payload(i) (roster sets unless told)
    without waiting; calls kill() from the handler of the kill_after-th
    result, so that the kill falls in the middle of the burst. Returns
    the set of the indexes whose result came back (it grows as results
    arrive)."""
    acknowledged = set()

    def on_iq(iq):
        id_ = iq["id"] or ""
        if iq["type"] == "result" and id_.startswith("burst-"):
            acknowledged.add(int(id_[len("burst-"):]))
            if len(acknowledged) == kill_after:
                kill()
    alice.client.xmpp.register_handler(Callback(
        "burst results", MatchXPath("{jabber:client}iq"), on_iq))
    for i in range(count):
        alice.send("<iq type='set' id='burst-%d'>%s</iq>" % (i, payload(i)))
    return acknowledged


def wait_until(clients, condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        clients.sleep(0.005)


@pytest.mark.parametrize("how", ["kill-sm", "kill-everything"])
def test_acknowledged_roster_sets_survive_kill_9(fresh_server, clients,
                                                 accounts, how):
    alice_jid = accounts.new("alice")
    alice = im.login(clients, alice_jid)
    victims = im.kill_victims(fresh_server, how)

    acknowledged = burst_of_roster_sets(alice, BURST, KILL_AFTER,
                                        lambda: im.sigkill(victims))
    # results already on their way when the kill came still count
    wait_until(clients, lambda: len(acknowledged) >= KILL_AFTER, 10,
               "%d results of %d roster sets" % (KILL_AFTER, BURST))
    clients.sleep(0.5)
    acked = set(acknowledged)
    im.recover_from_kill(fresh_server, how, victims)

    alice = im.login_retrying(clients, alice_jid, "again")
    items = alice.roster().items
    stored = {int(j.split("@")[0][len("contact-"):]) for j in items}
    lost = sorted(acked - stored)
    assert lost == [], "%d acknowledged roster sets lost: %s (%d acked, " \
        "%d stored)" % (len(lost), lost[:20], len(acked), len(stored))
    assert stored <= set(range(BURST))
    for i in stored:
        assert items["contact-%d@example.net" % i].name == "n%d" % i
    print("%s: %d of %d acknowledged before the kill, %d stored"
          % (how, len(acked), BURST, len(stored)))


def test_pending_requests_survive_kill_9(fresh_server, clients, accounts):
    alice_jid, bob_jid = accounts.new("alice"), accounts.new("bob")
    bob = im.login(clients, bob_jid)
    bob.roster_set(alice_jid)
    bob.send_presence(alice_jid, "subscribe")
    bob.next_push(alice_jid, where=lambda i: i.ask == "subscribe")

    im.kill_everything(fresh_server)
    fresh_server.start()

    alice = im.login_retrying(clients, alice_jid)
    alice.next_presence("subscribe", from_=bob_jid)
    bob = im.login(clients, bob_jid)
    assert bob.roster().state(alice_jid) == ("none", "subscribe")
    alice.send_presence(bob_jid, "subscribed")
    bob.next_push(alice_jid, where=lambda i: i.subscription == "to")


def test_subscription_survives_kill_9(fresh_server, clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    alice.roster_set(bob.bare)
    subscribe(alice, bob)          # pushes sent: acknowledged
    alice_jid, bob_jid = alice.bare, bob.bare

    im.kill_everything(fresh_server)
    fresh_server.start()

    alice = im.login_retrying(clients, alice_jid)
    assert alice.roster().state(bob_jid) == ("to", None)
    bob = im.login(clients, bob_jid, status="back after the crash")
    presence = alice.next_presence("available", from_=bob_jid)
    assert presence.findtext("{jabber:client}status") == \
        "back after the crash"


def test_roster_version_carries_on_across_a_restart(fresh_server, clients,
                                                    accounts):
    # XEP-0237: a version names one roster. After a restart the same
    # roster keeps its version, and the next change gets a version no
    # client has seen (a counter that starts again would hand out an old
    # version for a new roster, and the client would never learn).
    alice_jid = accounts.new("alice")
    alice = im.login(clients, alice_jid)
    alice.roster_set(accounts.new("bob"), "Bob")
    alice.roster_set(accounts.new("carol"), "Carol")
    seen = set()
    for _ in range(2):
        seen.add(alice.next_push().ver)
    current = alice.roster(ver="").ver
    seen.add(current)

    im.restart(fresh_server)

    alice = im.login_retrying(clients, alice_jid, roster=False)
    assert len(alice.roster_get_iq(ver=current)) == 0, \
        "the roster did not change, its version must still be current"
    alice.roster(ver=current)  # now interested
    dave = accounts.new("dave")
    alice.roster_set(dave, "Dave")
    push = alice.next_push(dave)
    assert push.ver not in seen, (push.ver, seen)
    answer = alice.roster_get_iq(ver=current)
    assert len(answer) > 0 or alice.next_push(dave) is not None
