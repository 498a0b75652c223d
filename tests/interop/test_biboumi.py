"""A real gateway as an external component (XEP-0114): biboumi (XMPP ↔
IRC, Debian's package) plugged into palabred, against an ngircd IRC
server started by the test (irc.py), everything on loopback.

A palabre user joins the IRC channel #test as a room,
#test%127.0.0.1@irc.localhost (biboumi's room JID: channel%server), and
talks both ways with an IRC user connected to ngircd directly.
"""
import time
import xml.etree.ElementTree as ET

import pytest

from component import Components
from irc import Biboumi, IrcClient, Ngircd

GATEWAY, SECRET = "irc.localhost", "biboumi-Secret-9"
IRC_SERVER = "127.0.0.1"
ROOM = "#test%%%s@%s" % (IRC_SERVER, GATEWAY)
ALICE = "alice@localhost"
NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = NS_MUC + "#user"


@pytest.fixture(scope="module")
def world(tmp_path_factory, certs):
    """palabred serving irc.localhost, ngircd, and biboumi connected."""
    base = tmp_path_factory.mktemp("biboumi")
    server = Components(base / "palabred", certs, {GATEWAY: SECRET})
    irc = Ngircd(base / "ngircd")
    gateway = Biboumi(base / "biboumi", GATEWAY, SECRET,
                      server.component_port)
    try:
        irc.start()
        server.start()
        gateway.start()
        wait_for(lambda: "component %s connected" % GATEWAY
                 in server.log_text(), 10, "biboumi to connect",
                 lambda: server.log_text() + gateway.log_text())
        yield server, irc, gateway
    finally:
        gateway.stop()
        server.stop()
        irc.stop()


@pytest.fixture
def server(world):
    return world[0]


def wait_for(condition, timeout, what, log):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %d s\n%s"
                                 % (what, timeout, log()))
        time.sleep(0.05)


def command(alice, to, payload):
    """An ad-hoc command step (XEP-0050) as an iq set; the answer."""
    iq = alice.xmpp.Iq(stype="set", sto=to)
    iq.append(ET.fromstring(payload))
    return alice.iq(iq)


def configure_irc_port(alice, port):
    """XEP-0050 'configure' on the IRC server's JID, as a user does from
    a client: biboumi connects to ngircd's port, without TLS (its
    defaults are 6667, and 6697 and 6670 with TLS)."""
    to = "%s@%s" % (IRC_SERVER, GATEWAY)
    form = command(alice, to, "<command xmlns='%s' node='configure' "
                   "action='execute'/>" % NS_COMMANDS)
    assert form["type"] == "result", form
    session = form.xml.find("{%s}command" % NS_COMMANDS).get("sessionid")
    done = command(alice, to,
                   "<command xmlns='%s' node='configure' sessionid='%s' "
                   "action='complete'><x xmlns='%s' type='submit'>"
                   "<field var='ports'><value>%d</value></field>"
                   "<field var='tls_ports'/></x></command>"
                   % (NS_COMMANDS, session, NS_DATA, port))
    assert done["type"] == "result", done
    status = done.xml.find("{%s}command" % NS_COMMANDS).get("status")
    assert status == "completed", done


def next_groupchat(client, sender):
    """The next groupchat message from sender (an occupant's JID) with a
    body; skips the subject and biboumi's notices."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = client.next_message()
        if (m["type"] == "groupchat" and str(m["from"]) == sender
                and m["body"]):
            return m
    raise AssertionError("no groupchat message from %s" % sender)


def join_room(alice, nick):
    """Joins the room (XEP-0045 §7.2.1) and waits for the self-presence
    (status 110) that ends the join."""
    occupant = "%s/%s" % (ROOM, nick)
    alice.send_raw("<presence to='%s'><x xmlns='%s'/></presence>"
                   % (occupant, NS_MUC))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        p = alice.next_presence(timeout=15)
        assert p["type"] != "error", p
        statuses = [s.get("code") for s in p.xml.iter(
            "{%s}status" % NS_MUC_USER)]
        if str(p["from"]) == occupant and "110" in statuses:
            return occupant
    raise AssertionError("no self-presence from %s" % occupant)


def test_xmpp_user_and_irc_user_talk_in_a_channel(world, clients):
    server, irc, gateway = world
    bob = IrcClient(irc.port, "bob")
    try:
        bob.join("#test")
        alice = clients.login(ALICE + "/pc")
        configure_irc_port(alice, irc.port)
        join_room(alice, "alice")
        # ngircd tells bob that alice joined, through biboumi.
        bob.expect(lambda w: w[0].startswith(":alice!") and
                   w[1] == "JOIN", "alice's JOIN")
        alice.send_message(mto=ROOM, mtype="groupchat",
                           mbody="hello from XMPP")
        alice.ping_server()
        bob.expect(lambda w: w[0].startswith(":alice!") and
                   w[1:3] == ["PRIVMSG", "#test"] and
                   " ".join(w[3:]) == ":hello from XMPP",
                   "alice's message on IRC")
        bob.send("PRIVMSG #test :hello from IRC")
        m = next_groupchat(alice, ROOM + "/bob")
        assert m["body"] == "hello from IRC"
    finally:
        bob.close()
