"""Message archive (XEP-0313) with stanza ids (XEP-0359).

Both sides of a conversation are archived, the recipient's copy carries
the archive's <stanza-id/>, an offline message too; a call proposal
(XEP-0353) is kept, what a person would not read later is not; the
archive survives a restart and kill -9, old messages go after the
retention period, and `palabrectl user del` leaves nothing of the user.
The protocol's examples (paging, filters, preferences, errors) are
scripts/mam*.scs.
"""
import os
import sqlite3
import time
import xml.etree.ElementTree as ET

import pytest

import im
from im import Accounts, settle, show

SERVER_OPTIONS = {"modules": im.IM_MODULES}

MAM = "urn:xmpp:mam:2"
SID = "urn:xmpp:sid:0"
FORWARD = "urn:xmpp:forward:0"
CLIENT = "jabber:client"
JMI = "urn:xmpp:jingle-message:0"
HINTS = "urn:xmpp:hints"
CHATSTATES = "http://jabber.org/protocol/chatstates"
# The archive is written at the end of the sm's loop turn, its
# transaction a moment later: a message delivered that long before a
# kill -9 is in it.
ARCHIVED_WITHIN = 1.0

_queries = iter(range(1, 1 << 30))


@pytest.fixture
def accounts(request):
    from conftest import server_of
    return Accounts(server_of(request))


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("mam"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def archive(one, **fields):
    """One's archive, first page: [(id, forwarded <message/>)], and the
    iq's answer."""
    qid = "q%d" % next(_queries)
    query = ET.Element("{%s}query" % MAM, queryid=qid)
    if fields:
        x = ET.SubElement(query, "{jabber:x:data}x", type="submit")
        for var, value in [("FORM_TYPE", MAM)] + sorted(fields.items()):
            f = ET.SubElement(x, "{jabber:x:data}field", var=var)
            ET.SubElement(f, "{jabber:x:data}value").text = value
    answer = one.iq("set", query)
    assert answer.get("type") == "result", show(answer)

    def ours(m):
        r = m.find("{%s}result" % MAM)
        return r is not None and r.get("queryid") == qid
    items = []
    for m in one.messages.drain(ours):
        r = m.find("{%s}result" % MAM)
        items.append((r.get("id"),
                      r.find("{%s}forwarded/{%s}message" % (FORWARD, CLIENT))))
    return items, answer


def bodies(items):
    return [m.findtext("{%s}body" % CLIENT) for _, m in items]


def stanza_id(message, by):
    for sid in message.findall("{%s}stanza-id" % SID):
        if sid.get("by") == by:
            return sid.get("id")
    return None


def body_message(to, body, extra=""):
    return ("<message to='%s' type='chat'><body>%s</body>%s</message>"
            % (to, body, extra))


# ---- both sides, stanza ids --------------------------------------------------------

def test_both_sides_are_archived_and_the_recipient_sees_the_id(
        clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    alice.send_message(bob.bare, "hello bob")
    got = bob.next_message(from_=alice.jid)
    sid = stanza_id(got, bob.bare)
    assert sid and len(sid) >= 22, show(got)
    assert stanza_id(got, alice.bare) is None, \
        "the sender's id stays home: %s" % show(got)

    items, _ = archive(bob)
    assert [i for i, _ in items] == [sid]
    assert bodies(items) == ["hello bob"]
    assert items[0][1].get("from") == alice.jid

    items, _ = archive(alice)
    assert bodies(items) == ["hello bob"]
    assert items[0][1].get("to") == bob.bare
    assert items[0][0] != sid, "each archive has its own ids"


def test_offline_message_is_archived_and_keeps_its_id(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob_jid = accounts.new("bob")
    alice.send_message(bob_jid, "while you were out")
    settle(alice)
    bob = im.login(clients, bob_jid)
    got = bob.next_message(from_=alice.jid)
    sid = stanza_id(got, bob_jid)
    assert sid, show(got)
    items, _ = archive(bob)
    assert [(i, b) for (i, _), b in zip(items, bodies(items))] == \
        [(sid, "while you were out")]


def test_a_call_is_archived_chat_states_and_no_store_are_not(
        clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    alice.send("<message to='%s' type='chat' id='call1'>"
               "<propose xmlns='%s' id='c1'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
               "</propose><store xmlns='%s'/></message>"
               % (bob.bare, JMI, HINTS))
    alice.send("<message to='%s' type='chat'><composing xmlns='%s'/>"
               "</message>" % (bob.bare, CHATSTATES))
    alice.send(body_message(bob.bare, "off the record",
                            "<no-store xmlns='%s'/>" % HINTS))
    alice.send("<message to='%s' type='headline'><body>news</body>"
               "</message>" % bob.bare)
    alice.send("<message to='%s' type='error'><body>bad</body>"
               "<error type='cancel'><item-not-found xmlns="
               "'urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
               "</message>" % bob.bare)
    alice.send_message(bob.bare, "on the record")
    bob.next_message(from_=alice.jid)
    settle(alice, bob)
    items, _ = archive(bob)
    assert len(items) == 2, [show(m) for _, m in items]
    assert items[0][1].find("{%s}propose" % JMI) is not None
    assert bodies(items)[1] == "on the record"
    items, _ = archive(alice)
    assert len(items) == 2, [show(m) for _, m in items]


def test_a_message_refused_by_a_block_is_not_archived(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    answer = bob.block_iq("block", alice.bare)
    assert answer.get("type") == "result", show(answer)
    alice.send_message(bob.bare, "let me in")
    settle(alice, bob)
    assert archive(bob)[0] == []
    assert archive(alice)[0] == [], "refused, not sent"


def test_only_ones_own_archive(clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    query = ET.Element("{%s}query" % MAM)
    answer = alice.iq("set", query, to=bob.bare)
    assert im.error_of(answer)[1] == "forbidden", show(answer)


# ---- persistence -------------------------------------------------------------------

def test_archive_survives_restart_and_kill_9(fresh_server, clients, accounts):
    alice_jid, bob_jid = accounts.new("alice"), accounts.new("bob")
    alice = im.login(clients, alice_jid)
    bob = im.login(clients, bob_jid)
    alice.send_message(bob_jid, "before the restart")
    bob.next_message()
    alice.logout()
    bob.logout()
    im.restart(fresh_server)

    alice = im.login_retrying(clients, alice_jid)
    bob = im.login(clients, bob_jid)
    alice.send_message(bob_jid, "before the kill")
    bob.next_message()
    settle(alice, bob)
    time.sleep(ARCHIVED_WITHIN)
    im.kill_everything(fresh_server)
    fresh_server.start()
    fresh_server.wait_for_components(["sm", "c2s.1"], timeout=10)
    bob = im.login_retrying(clients, bob_jid, resource="again")
    assert bodies(archive(bob)[0]) == ["before the restart",
                                       "before the kill"]


def test_preferences_survive_a_restart(fresh_server, clients, accounts):
    alice_jid, bob_jid = accounts.new("alice"), accounts.new("bob")
    bob = im.login(clients, bob_jid)
    prefs = ET.Element("{%s}prefs" % MAM, default="never")
    ET.SubElement(prefs, "{%s}always" % MAM)
    ET.SubElement(prefs, "{%s}never" % MAM)
    answer = bob.iq("set", prefs)
    assert answer.get("type") == "result", show(answer)
    bob.logout()
    im.restart(fresh_server)
    bob = im.login_retrying(clients, bob_jid)
    alice = im.login(clients, alice_jid)
    alice.send_message(bob_jid, "not kept")
    got = bob.next_message()
    assert stanza_id(got, bob_jid) is None, show(got)
    assert archive(bob)[0] == []
    assert bodies(archive(alice)[0]) == ["not kept"], "alice keeps hers"


# ---- retention ---------------------------------------------------------------------

def test_retention_deletes_messages_older_than_the_period(
        fresh_server, clients, accounts):
    alice_jid, bob_jid = accounts.new("alice"), accounts.new("bob")
    bob = im.login(clients, bob_jid)
    alice = im.login(clients, alice_jid)
    alice.send_message(bob_jid, "old")
    alice.send_message(bob_jid, "recent")
    bob.next_message()
    bob.next_message()
    settle(alice, bob)
    alice.logout()
    bob.logout()
    fresh_server.stop()
    # "old" three days back, "recent" one: only "old" is past 2 days.
    db = sqlite3.connect(os.path.join(fresh_server.dir, "data", "sm.sqlite"))
    day = 86400 * 1000000
    with db:
        db.execute("UPDATE archive SET stamp = stamp - ? WHERE"
                   " instr(message, '>old<')", (3 * day,))
        db.execute("UPDATE archive SET stamp = stamp - ? WHERE"
                   " instr(message, '>recent<')", (day,))
    db.close()
    with open(fresh_server.config) as f:
        text = f.read()
    fresh_server.write_config(text.replace(
        "</sm>", "<mam-retention-days>2</mam-retention-days></sm>"))
    fresh_server.start()
    fresh_server.wait_for_components(["sm", "c2s.1"], timeout=10)
    bob = im.login_retrying(clients, bob_jid)
    deadline = time.monotonic() + 5
    while bodies(archive(bob)[0]) != ["recent"]:
        assert time.monotonic() < deadline, bodies(archive(bob)[0])
        time.sleep(0.1)


# ---- account deletion --------------------------------------------------------------

def test_user_del_leaves_nothing_of_the_user(fresh_server, clients, accounts):
    alice_jid, bob_jid = accounts.new("alice"), accounts.new("bob")
    alice = im.login(clients, alice_jid)
    bob = im.login(clients, bob_jid)
    im.befriend(alice, bob)
    alice.block_iq("block", "spam@example.org")
    alice.send_message(bob_jid, "goodbye")
    bob.next_message()
    bob.logout()
    bob_offline = "for the record"
    alice.send_message(bob_jid, bob_offline)
    settle(alice)
    alice.logout()
    time.sleep(ARCHIVED_WITHIN)

    db_path = os.path.join(fresh_server.dir, "data", "sm.sqlite")

    def rows(user):
        db = sqlite3.connect(db_path)
        try:
            return db.execute(
                "SELECT (SELECT count(*) FROM items WHERE user = ?1),"
                " (SELECT count(*) FROM archive WHERE user ="
                " (SELECT id FROM jids WHERE jid = ?1))",
                (user,)).fetchone()
        finally:
            db.close()
    assert all(rows(alice_jid)) and all(rows(bob_jid)), \
        (rows(alice_jid), rows(bob_jid))
    fresh_server.ctl_ok("user", "del", alice_jid)
    assert rows(alice_jid) == (0, 0)
    fresh_server.ctl_ok("user", "del", bob_jid)
    assert rows(bob_jid) == (0, 0)
