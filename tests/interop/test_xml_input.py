"""What clients send that the XML layer must take as it is.

- A start tag of 20 or 200 KiB (the stream header before login; a message
  carrying an inline picture after it) is parsed as soon as its last byte
  arrives, although the sender then goes quiet (issue 11, item 5: expat's
  reparse deferral kept it waiting for as many bytes again).
- <xml:foo/> inside a message or a roster item crosses the c2s -> sm hop
  (item 6: it was serialized with the XML namespace as the default one,
  which the sm could not parse, and the stanza was dropped in silence).
- A stream in UTF-16, or declaring another encoding than UTF-8, is the
  stream error unsupported-encoding (RFC 6120 §11.6, §4.9.3.22).
- A CDATA section of whitespace between stanzas survives the idle sweep
  that releases a quiet conn's parser.

This module's server: max-stanza-size 256 KiB (config.xml.dist's), the
IM modules.
"""
import time

import pytest

import im
from palabre import USERS
from rawstream import RawStream, has, q, show

SERVER_OPTIONS = {"modules": im.IM_MODULES, "max_stanza_size": 256 * 1024}

ALICE, BOB = "alice@localhost", "bob@localhost"
KiB = 1024
HEADER = ("<stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams'%s>")
XML_NS = "http://www.w3.org/XML/1998/namespace"


def logged_in(raw, jid, resource):
    s = raw()
    s.login(jid, USERS[jid], resource=resource)
    return s


# ---- item 5: big start tags --------------------------------------------------

@pytest.mark.parametrize("size", [20 * KiB, 200 * KiB])
def test_big_stream_header_is_answered_at_once(raw, size):
    s = raw()
    s.send(HEADER % (" data='%s'" % ("a" * size)))
    s.expect_header()
    features = s.expect("stream:features")
    assert has(features, "tls:starttls"), show(features)


@pytest.mark.parametrize("size", [20 * KiB, 200 * KiB])
def test_big_message_start_tag_is_delivered_at_once(raw, size):
    alice = logged_in(raw, ALICE, "pc")
    bob = logged_in(raw, BOB, "phone")
    picture = "a" * size
    alice.send("<message to='bob@localhost/phone' type='chat' id='pic' "
               "data='%s'><body>a picture</body></message>" % picture)
    # Alice sends nothing more: the message is complete, and delivered.
    msg = bob.expect("client:message", timeout=10)
    assert msg.get("id") == "pic" and msg.get("data") == picture
    assert msg.findtext(q("client:body")) == "a picture"


def test_start_tag_sent_a_byte_at_a_time_before_login(server):
    s = RawStream(server.c2s_port, timeout=30)
    try:
        s.sock.setsockopt(6, 1, 1)  # TCP_NODELAY: one segment a byte
        for byte in (HEADER % (" data='%s'" % ("a" * 20 * KiB))).encode():
            s.sock.sendall(bytes([byte]))
        s.expect_header()
        s.expect("stream:features")
    finally:
        s.close()


def test_cdata_section_between_stanzas_outlives_the_idle_sweep(raw):
    # Whitespace in a CDATA section is well-formed between stanzas. c2s
    # releases the parser of a conn quiet for a sweep (5 s, the second
    # sweep at the latest): it must not do so inside the section, where a
    # new parser would take "]]>" for content (and the scanner would feed
    # it every byte of the next start tag as it came, quadratic).
    s = raw()
    s.send(HEADER % "")
    s.expect_header()
    s.expect("stream:features")
    s.send("<![CDATA[ ")
    time.sleep(11)
    s.send(" ]]><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    s.expect("tls:proceed")


# ---- item 6: the XML namespace ----------------------------------------------

def test_xml_prefixed_element_in_a_message_is_delivered(raw):
    alice = logged_in(raw, ALICE, "pc")
    bob = logged_in(raw, BOB, "phone")
    alice.send("<message to='bob@localhost/phone' type='chat' id='x1'>"
               "<body>hi</body><xml:foo xml:lang='fr'><bar/></xml:foo>"
               "</message>")
    msg = bob.expect("client:message")
    foo = msg.find("{%s}foo" % XML_NS)
    assert foo is not None, show(msg)
    assert foo.get("{%s}lang" % XML_NS) == "fr"
    assert foo.find(q("client:bar")) is not None, show(msg)


def test_roster_item_with_xml_prefixed_element_is_answered(raw):
    alice = logged_in(raw, ALICE, "pc")
    alice.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'>"
               "<item jid='carol@localhost' name='Carol'><group>Friends"
               "</group><xml:g/></item></query></iq>")
    answer = alice.expect("client:iq")
    while answer.get("id") != "r1":  # the roster push comes first
        answer = alice.expect("client:iq")
    assert answer.get("type") == "result", show(answer)


# ---- item 9: encodings other than UTF-8 --------------------------------------

@pytest.mark.parametrize("encoded", [
    b"\xff\xfe" + (HEADER % "").encode("utf-16-le"),
    b"\xfe\xff" + (HEADER % "").encode("utf-16-be"),
    (HEADER % "").encode("utf-16-le"),
], ids=["utf-16le-bom", "utf-16be-bom", "utf-16le"])
def test_utf16_stream_is_unsupported_encoding(raw, encoded):
    s = raw()
    s.send(encoded)
    s.expect_header()
    s.expect_stream_error("unsupported-encoding")


def test_declared_encoding_other_than_utf8_is_unsupported(raw):
    s = raw()
    s.send("<?xml version='1.0' encoding='ISO-8859-1'?>" + HEADER % "")
    s.expect_header()
    s.expect_stream_error("unsupported-encoding")


def test_declared_utf8_is_fine(raw):
    s = raw()
    s.send("<?xml version='1.0' encoding='utf-8'?>" + HEADER % "")
    s.expect_header()
    assert has(s.expect("stream:features"), "tls:starttls")
