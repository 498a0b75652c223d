"""External components (XEP-0114): palabred's accept process, against a
component played over a raw socket (component.py).

The server serves localhost and chat.example, and two components:
gateway.localhost and other.localhost, each with its secret file.
"""
import time

import pytest

from component import Components
from palabre import read
from rawstream import NS, q

GATEWAY, GATEWAY_SECRET = "gateway.localhost", "gateway-secret-1"
OTHER, OTHER_SECRET = "other.localhost", "other-secret-2"
ALICE = "alice@localhost"


SERVER_CLASS = Components
SERVER_OPTIONS = {"components": {GATEWAY: GATEWAY_SECRET,
                                 OTHER: OTHER_SECRET}}


@pytest.fixture
def component(server):
    """component() → a ComponentStream, closed after the test."""
    streams = []

    def make():
        c = server.component()
        streams.append(c)
        return c
    yield make
    for c in streams:
        c.close()


def stanza_error(el):
    """The condition of a stanza error (<error><CONDITION/></error>)."""
    err = el.find(q("component:error"))
    assert err is not None, "no <error/> in %s" % el
    return [c.tag.split("}")[1] for c in err
            if c.tag.startswith("{%s}" % NS["stanzas"])
            and not c.tag.endswith("}text")][0]


# ---- the handshake (XEP-0114 §3) ------------------------------------------

def test_right_secret_gets_an_empty_handshake(component):
    c = component()
    stream_id = c.open(GATEWAY)
    c.handshake(GATEWAY_SECRET, stream_id)
    answer = c.read_element()
    assert answer.tag == q("component:handshake"), c.dump()


def test_handshake_in_uppercase_hex_is_accepted(component):
    from component import handshake_digest
    c = component()
    stream_id = c.open(OTHER)
    c.send("<handshake>%s</handshake>"
           % handshake_digest(stream_id, OTHER_SECRET).upper())
    assert c.read_element().tag == q("component:handshake"), c.dump()


def test_wrong_secret_is_not_authorized(component, server):
    c = component()
    c.open(GATEWAY)
    c.handshake("not-the-secret")
    c.expect_stream_error("not-authorized")
    # Nor may the secret of another component serve.
    c = component()
    c.open(GATEWAY)
    c.handshake(OTHER_SECRET)
    c.expect_stream_error("not-authorized")
    assert GATEWAY_SECRET not in read(server.log)


def test_stanza_before_handshake_is_not_authorized(component):
    c = component()
    c.open(GATEWAY)
    c.send("<message from='gateway.localhost' to='alice@localhost'>"
           "<body>early</body></message>")
    c.expect_stream_error("not-authorized")


def test_unknown_name_is_host_unknown(component):
    for name in ("nobody.localhost", "localhost"):
        c = component()
        c.send("<?xml version='1.0'?><stream:stream to='%s' "
               "xmlns='jabber:component:accept' "
               "xmlns:stream='http://etherx.jabber.org/streams'>" % name)
        c.expect_stream_error("host-unknown")


def test_client_namespace_is_invalid_namespace(component):
    c = component()
    c.send("<?xml version='1.0'?><stream:stream to='%s' "
           "xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams'>" % GATEWAY)
    c.expect_stream_error("invalid-namespace")


def test_a_name_connected_twice_is_a_conflict(component, clients):
    first = component().connect_as(GATEWAY, GATEWAY_SECRET)
    second = component()
    second.open(GATEWAY)
    second.handshake(GATEWAY_SECRET)
    second.expect_stream_error("conflict")
    # The first one still serves the name.
    alice = clients.login(ALICE + "/pc")
    alice.send_message(mto="bot@" + GATEWAY, mbody="still you?")
    alice.ping_server()  # runs the client's loop: the message leaves
    m = first.expect("component:message")
    assert m.find(q("component:body")).text == "still you?"


# ---- stanzas either way ----------------------------------------------------

def test_from_outside_the_component_is_invalid_from(component):
    for forged in (ALICE, "bot@" + OTHER, "localhost"):
        c = component().connect_as(GATEWAY, GATEWAY_SECRET)
        c.send("<message from='%s' to='bob@localhost'><body>forged</body>"
               "</message>" % forged)
        c.expect_stream_error("invalid-from")


def test_stanza_without_to_is_improper_addressing(component):
    c = component().connect_as(GATEWAY, GATEWAY_SECRET)
    c.send("<message from='bot@gateway.localhost'><body>to whom?</body>"
           "</message>")
    c.expect_stream_error("improper-addressing")


def test_user_and_component_talk_both_ways(component, clients):
    c = component().connect_as(GATEWAY, GATEWAY_SECRET)
    alice = clients.login(ALICE + "/pc")
    alice.send_message(mto="bot@" + GATEWAY, mbody="hello bot",
                       mtype="chat")
    alice.ping_server()
    m = c.expect("component:message")
    assert m.get("from") == alice.jid
    assert m.get("to") == "bot@" + GATEWAY
    assert m.find(q("component:body")).text == "hello bot"
    c.send("<message from='bot@gateway.localhost/r' to='%s' type='chat'>"
           "<body>hello alice</body></message>" % alice.jid)
    reply = alice.next_message()
    assert (str(reply["from"]), reply["body"]) == (
        "bot@gateway.localhost/r", "hello alice")


def test_component_asks_the_server(component):
    """An iq from the component to a local domain is answered by the sm
    (XEP-0199 ping), its 'to' and 'from' swapped."""
    c = component().connect_as(GATEWAY, GATEWAY_SECRET)
    c.send("<iq type='get' id='p1' from='gateway.localhost' to='localhost'>"
           "<ping xmlns='urn:xmpp:ping'/></iq>")
    iq = c.expect("component:iq")
    assert (iq.get("type"), iq.get("id"), iq.get("from"), iq.get("to")) == (
        "result", "p1", "localhost", "gateway.localhost")


def test_components_reach_each_other(component):
    gateway = component().connect_as(GATEWAY, GATEWAY_SECRET)
    other = component().connect_as(OTHER, OTHER_SECRET)
    gateway.send("<message from='a@gateway.localhost' to='b@other.localhost'>"
                 "<body>next door</body></message>")
    m = other.expect("component:message")
    assert (m.get("from"), m.find(q("component:body")).text) == (
        "a@gateway.localhost", "next door")


def test_domain_nobody_serves_is_remote_server_not_found(component):
    """No s2s here: the router finds no route, and the component gets
    the error (RFC 6120 §8.3.3.16)."""
    c = component().connect_as(GATEWAY, GATEWAY_SECRET)
    c.send("<iq type='get' id='x1' from='gateway.localhost' "
           "to='elsewhere.example'><ping xmlns='urn:xmpp:ping'/></iq>")
    iq = c.expect("component:iq")
    assert iq.get("type") == "error" and iq.get("id") == "x1"
    assert stanza_error(iq) == "remote-server-not-found"


def test_component_not_connected_answers_remote_server_timeout(
        component, clients):
    """The accept process holds the name while its component is away: a
    user's message gets an error at once (as Prosody answers), and it is
    never sent on to federation."""
    alice = clients.login(ALICE + "/pc")
    c = component().connect_as(OTHER, OTHER_SECRET)
    c.send("</stream:stream>")
    c.expect_closed()
    deadline = time.monotonic() + 5
    while True:
        alice.send_message(mto="bot@" + OTHER, mbody="anyone?")
        reply = alice.next_message()
        if reply["type"] == "error" or time.monotonic() > deadline:
            break
    assert reply["type"] == "error", reply
    assert reply["error"]["condition"] == "remote-server-timeout"
    assert reply["error"]["type"] == "wait"
    assert str(reply["from"]) == "bot@" + OTHER
    # Back again, it gets what is sent from now on.
    c = component().connect_as(OTHER, OTHER_SECRET)
    alice.send_message(mto="bot@" + OTHER, mbody="there you are")
    alice.ping_server()
    m = c.expect("component:message")
    assert m.find(q("component:body")).text == "there you are"
