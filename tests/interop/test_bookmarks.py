"""Bookmarks (XEP-0402 with #compat and #compat-pep, XEP-0048, XEP-0411)
as clients live them: an older client (slixmpp's own XEP-0048 plugin,
which writes private storage as Psi and Gajim before 1.x did, or the
PEP node storage:bookmarks as Converse did) beside a modern one that
publishes one XEP-0402 item per room as Conversations and Gajim do; the
limit; bookmarks kept while the module was off; what was acknowledged
after a restart and kill -9.

The XEP's examples are in scripts/bookmarks_*.scs; these are the cases
that need a real client library, a server of their own or a kill.
"""
import time

import pytest
from slixmpp.plugins.xep_0048 import Bookmarks
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import im
from im import Accounts
from test_pep import (error, login_with_caps, next_event, publish,
                      publish_options)

SERVER_OPTIONS = {"modules": im.IM_MODULES}

BOOKMARKS = "urn:xmpp:bookmarks:1"
LEGACY = "storage:bookmarks"
PRIVATE = "jabber:iq:private"
PUBSUB = "http://jabber.org/protocol/pubsub"
# XEP-0402 §3.3 (Example 5).
OPTIONS = {"persist_items": "true", "max_items": "max",
           "send_last_published_item": "never", "access_model": "whitelist"}
BURST = 60
KILL_AFTER = 10


@pytest.fixture
def fresh_server(request, tmp_path_factory, certs):
    """A palabred of the test's own; sm_extra (indirect parametrization)
    gives its settings."""
    s = im.make_server(tmp_path_factory.mktemp("bookmarks"), certs,
                       sm_extra=getattr(request, "param", ""))
    try:
        s.start()
        yield s
    finally:
        s.stop()


# ---- a modern client (XEP-0402), as Conversations ------------------------------

def add(one, room, name=None, nick=None, **options):
    conference = "<conference xmlns='%s'%s autojoin='true'>%s</conference>" % (
        BOOKMARKS, " name='%s'" % name if name else "",
        "<nick>%s</nick>" % nick if nick else "")
    return publish(one, BOOKMARKS, room, conference, **(options or OPTIONS))


def rooms(one):
    """{room: name} of the :1 node."""
    answer = one.iq("get", ET.fromstring(
        "<pubsub xmlns='%s'><items node='%s'/></pubsub>" % (PUBSUB, BOOKMARKS)))
    if im.error_of(answer) == ("cancel", "item-not-found"):
        return {}
    assert answer.get("type") == "result", im.show(answer)
    return {i.get("id"): i.find("{%s}conference" % BOOKMARKS).get("name")
            for i in answer.iter("{%s}item" % PUBSUB)}


# ---- an older client (XEP-0048), slixmpp's plugin -----------------------------

def legacy(one):
    """one's slixmpp with its XEP-0048 plugin."""
    x = one.client.xmpp
    x.register_plugin("xep_0048")
    return x["xep_0048"]


def legacy_rooms(one, method="xep_0049"):
    """{room: name} and the URLs, as the older client reads them from
    private storage (xep_0049) or the PEP node (xep_0223)."""
    answer = one.client.run(legacy(one).get_bookmarks(method=method))
    if method == "xep_0049":
        storage = answer["private"]["bookmarks"]
    else:
        storage = answer["pubsub"]["items"]["item"]["bookmarks"]
    return ({str(c["jid"]): c["name"] for c in storage["conferences"]},
            sorted(u["url"] for u in storage["urls"]))


def legacy_store(one, conferences, urls=(), method="xep_0049"):
    storage = Bookmarks()
    for room, name in conferences:
        storage.add_conference(room, "Hamlet", name=name, autojoin=True)
    for url in urls:
        storage.add_url(url, name=url)
    answer = one.client.run(legacy(one).set_bookmarks(storage, method=method))
    assert answer["type"] == "result", answer


def error_text(answer):
    t = answer.find("{%s}error/{%s}text" % (im.CLIENT, im.STANZAS))
    return t.text if t is not None else ""


# ---- the two kinds of clients together -------------------------------------------

@pytest.mark.parametrize("method", ["xep_0049", "xep_0223"])
def test_older_and_modern_clients_see_the_same_rooms(clients, server, method):
    jid = Accounts(server).new("hamlet")
    phone = login_with_caps(clients, jid, "Phone", [BOOKMARKS], "phone")
    desktop = im.login(clients, jid, "desktop")
    legacy_store(desktop, [("elsinore@conference.localhost", "Elsinore"),
                           ("wittenberg@conference.localhost", None)],
                 ["https://example.org/hamlet"], method)
    heard = {next_event(phone, BOOKMARKS).find(
        ".//{%s}item" % "http://jabber.org/protocol/pubsub#event").get("id")
        for _ in range(2)}
    assert heard == {"elsinore@conference.localhost",
                     "wittenberg@conference.localhost"}
    assert rooms(phone) == {"elsinore@conference.localhost": "Elsinore",
                            "wittenberg@conference.localhost":
                            "wittenberg@conference.localhost"}
    assert add(phone, "players@conference.localhost", "The Players") \
        .get("type") == "result"
    assert legacy_rooms(desktop, method) == (
        {"elsinore@conference.localhost": "Elsinore",
         "wittenberg@conference.localhost": "wittenberg@conference.localhost",
         "players@conference.localhost": "The Players"},
        ["https://example.org/hamlet"])
    # the older client drops a room: one retraction, in both forms
    legacy_store(desktop, [("elsinore@conference.localhost", "Elsinore"),
                           ("players@conference.localhost", "The Players")],
                 method=method)
    assert set(rooms(phone)) == {"elsinore@conference.localhost",
                                 "players@conference.localhost"}
    other = "xep_0223" if method == "xep_0049" else "xep_0049"
    assert set(legacy_rooms(desktop, other)[0]) == set(rooms(phone))


def test_a_read_sent_behind_a_write_sees_it(clients, server):
    """A user's requests run in the order sent: a get sent without
    waiting for the set's answer reads what the set wrote."""
    one = im.login(clients, Accounts(server).new("hamlet"))
    answers = {}
    one.client.xmpp.register_handler(Callback(
        "answers", MatchXPath("{jabber:client}iq"),
        lambda iq: answers.__setitem__(iq["id"], iq.xml)))
    for i in range(5):
        one.send("<iq type='set' id='s%d'><query xmlns='%s'><storage xmlns="
                 "'%s'><conference jid='r%d@conference.localhost'/></storage>"
                 "</query></iq>" % (i, PRIVATE, LEGACY, i))
        one.send("<iq type='get' id='g%d'><query xmlns='%s'><storage xmlns="
                 "'%s'/></query></iq>" % (i, PRIVATE, LEGACY))
    deadline = time.monotonic() + 10
    while len(answers) < 10:
        assert time.monotonic() < deadline, sorted(answers)
        clients.sleep(0.01)
    for i in range(5):
        assert answers["s%d" % i].get("type") == "result"
        got = [c.get("jid") for c in answers["g%d" % i].iter(
            "{%s}conference" % LEGACY)]
        assert got == ["r%d@conference.localhost" % i]


# ---- the limit -----------------------------------------------------------------

@pytest.mark.parametrize("fresh_server", ["<bookmarks-max>3</bookmarks-max>"],
                         indirect=True)
def test_past_the_limit_a_new_room_is_refused(fresh_server, clients):
    one = im.login(clients, Accounts(fresh_server).new("hamlet"))
    for i in range(3):
        assert add(one, "r%d@conference.localhost" % i).get("type") == \
            "result"
    refused = add(one, "r3@conference.localhost")
    assert error(refused) == ("not-allowed", "max-items-exceeded")
    assert "at most 3 bookmarks" in error_text(refused)
    # a room already there may change
    assert add(one, "r0@conference.localhost", "Renamed").get("type") == \
        "result"
    refused = one.iq("set", ET.fromstring(
        "<query xmlns='%s'><storage xmlns='%s'>%s</storage></query>"
        % (PRIVATE, LEGACY, "".join(
            "<conference jid='x%d@conference.localhost'/>" % i
            for i in range(4)))))
    assert im.error_of(refused) == ("modify", "policy-violation")
    assert "at most 3 bookmarks" in error_text(refused)
    assert sorted(rooms(one)) == ["r%d@conference.localhost" % i
                                  for i in range(3)]
    assert rooms(one)["r0@conference.localhost"] == "Renamed"


def test_a_node_that_keeps_fewer_items_refuses_rather_than_drops(
        clients, server):
    """A client that made the node keep 2 items: the third room is
    refused, not the first bookmark dropped (XEP-0060 §7.1.2's trim)."""
    one = im.login(clients, Accounts(server).new("hamlet"))
    small = dict(OPTIONS, max_items="2")
    for i in range(2):
        assert add(one, "r%d@conference.localhost" % i, **small) \
            .get("type") == "result"
    refused = add(one, "r2@conference.localhost", **small)
    assert error(refused) == ("not-allowed", "max-items-exceeded")
    assert "at most 2 bookmarks" in error_text(refused)
    assert sorted(rooms(one)) == ["r0@conference.localhost",
                                  "r1@conference.localhost"]


# ---- bookmarks of before ---------------------------------------------------------

def test_bookmarks_stored_while_the_module_was_off_are_kept(
        fresh_server, clients):
    """XEP-0411 §4: bookmarks that reached private storage alone (the
    module off) are copied to the :1 node when they are first read."""
    without = im.IM_MODULES.replace(" bookmarks", "")
    text = open(fresh_server.config).read()
    fresh_server.stop()
    fresh_server.write_config(text.replace(im.IM_MODULES, without))
    fresh_server.start()
    jid = Accounts(fresh_server).new("hamlet")
    desktop = im.login_retrying(clients, jid, "desktop")
    legacy_store(desktop, [("elsinore@conference.localhost", "Elsinore")],
                 ["https://example.org/hamlet"])
    fresh_server.stop()
    fresh_server.write_config(text)
    fresh_server.start()
    desktop = im.login_retrying(clients, jid, "desktop")
    assert legacy_rooms(desktop) == (
        {"elsinore@conference.localhost": "Elsinore"},
        ["https://example.org/hamlet"])
    phone = im.login(clients, jid, "phone")
    assert rooms(phone) == {"elsinore@conference.localhost": "Elsinore"}


# ---- persistence -----------------------------------------------------------------

def test_survives_a_restart(fresh_server, clients):
    jid = Accounts(fresh_server).new("hamlet")
    one = im.login(clients, jid)
    legacy_store(one, [("elsinore@conference.localhost", "Elsinore")],
                 ["https://example.org/hamlet"])
    add(one, "players@conference.localhost", "The Players")
    im.restart(fresh_server)
    one = im.login_retrying(clients, jid)
    expected = ({"elsinore@conference.localhost": "Elsinore",
                 "players@conference.localhost": "The Players"},
                ["https://example.org/hamlet"])
    assert legacy_rooms(one) == expected
    assert legacy_rooms(one, "xep_0223")[0] == expected[0]
    assert rooms(one) == expected[0]


@pytest.mark.parametrize("how", ["items", "private"])
def test_acknowledged_bookmarks_survive_kill_9(fresh_server, clients, how):
    """A burst of bookmarks, added as Conversations does (one item each)
    or as an older client does (the whole list each time, one more room);
    the sm is killed after some answers: every acknowledged room is
    there, in every form, once it is back."""
    jid = Accounts(fresh_server).new("hamlet")
    one = im.login(clients, jid)
    victim = fresh_server.wait_for_components(["sm"])["sm"]
    acknowledged = set()

    def on_iq(iq):
        if iq["type"] == "result" and iq["id"].startswith("burst-"):
            acknowledged.add(int(iq["id"][len("burst-"):]))
            if len(acknowledged) == KILL_AFTER:
                im.sigkill([victim])
    one.client.xmpp.register_handler(Callback(
        "burst results", MatchXPath("{jabber:client}iq"), on_iq))
    for i in range(BURST):
        if how == "items":
            one.send("<iq type='set' id='burst-%d'><pubsub xmlns='%s'>"
                     "<publish node='%s'><item id='r%d@conference.localhost'>"
                     "<conference xmlns='%s'/></item></publish>%s</pubsub>"
                     "</iq>" % (i, PUBSUB, BOOKMARKS, i, BOOKMARKS,
                                publish_options(**OPTIONS)))
        else:
            one.send("<iq type='set' id='burst-%d'><query xmlns='%s'><storage"
                     " xmlns='%s'>%s</storage></query></iq>" % (
                         i, PRIVATE, LEGACY, "".join(
                             "<conference jid='r%d@conference.localhost'/>"
                             % k for k in range(i + 1))))
    deadline = time.monotonic() + 20
    while len(acknowledged) < KILL_AFTER:
        assert time.monotonic() < deadline, "no results before the kill"
        clients.sleep(0.005)
    clients.sleep(0.5)
    acked = set(acknowledged)
    fresh_server.wait_for_components(["sm"], timeout=10, exclude={victim})
    one = im.login_retrying(clients, jid, "again")
    wanted = {"r%d@conference.localhost" % i for i in acked}
    if how == "private":  # each list holds the rooms of those before it
        wanted = {"r%d@conference.localhost" % k
                  for k in range(max(acked) + 1)}
    assert wanted <= set(rooms(one))
    assert wanted <= set(legacy_rooms(one)[0])
    assert wanted <= set(legacy_rooms(one, "xep_0223")[0])
    print("%s: %d of %d acknowledged before the kill"
          % (how, len(acked), BURST))
