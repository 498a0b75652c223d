"""What a client may not send: bad XML, restricted XML, too much of it.

The shared server runs with <max-stanza-size>10000</max-stanza-size> and
<max-depth>32</max-depth>.
"""
from palabre import USERS

BOB, DAVE = "bob@localhost", "dave@localhost"
HEADER = ("<stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams'>")


def logged_in(raw):
    s = raw()
    s.login(DAVE, USERS[DAVE], resource="raw")
    return s


def test_bad_xml_closes_that_stream_and_others_keep_chatting(clients, raw):
    alice = clients.login("alice@localhost/pc")
    bob = clients.login(BOB + "/phone")
    s = logged_in(raw)
    s.send("<message to='bob@localhost/phone'><body>oops</bod></message>")
    s.expect_stream_error("not-well-formed")
    alice.send_message(mto=BOB + "/phone", mbody="still here")
    msg = bob.next_message()
    assert (msg["from"], msg["body"]) == ("alice@localhost/pc", "still here")


def test_bad_xml_before_tls_is_not_well_formed(raw):
    s = raw()
    s.open()
    s.send("<<>")
    s.expect_stream_error("not-well-formed")


def test_undeclared_prefix_is_not_well_formed(raw):
    s = logged_in(raw)
    s.send("<foo:message to='bob@localhost'/>")
    s.expect_stream_error(("not-well-formed", "invalid-namespace"))


def test_doctype_is_restricted_xml(raw):
    s = raw()
    s.send("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY boom "
           "'boom'>]>" + HEADER)
    s.expect_stream_error("restricted-xml")


def test_processing_instruction_is_restricted_xml(raw):
    s = logged_in(raw)
    s.send("<?evil please?>")
    s.expect_stream_error("restricted-xml")


def test_entity_reference_is_refused(raw):
    # Only the five predefined entities exist without a DTD; anything else
    # is a reference to an undeclared entity.
    s = logged_in(raw)
    s.send("<message to='bob@localhost'><body>&boom;</body></message>")
    s.expect_stream_error(("restricted-xml", "not-well-formed"))


def test_oversize_stanza_is_policy_violation(clients, raw):
    bob = clients.login(BOB + "/phone")
    s = logged_in(raw)
    s.send("<message to='bob@localhost/phone' type='chat'><body>%s</body>"
           "</message>" % ("x" * 20000))
    s.expect_stream_error("policy-violation")
    bob.no_message(within=0.5)


def test_oversize_stanza_without_end_is_refused_early(raw):
    # The limit holds while the stanza is still coming, not only at its end.
    s = logged_in(raw)
    s.send("<message to='bob@localhost/phone'><body>" + "x" * 30000)
    s.expect_stream_error("policy-violation")


def test_stanza_under_the_limit_is_delivered(clients, raw):
    bob = clients.login(BOB + "/phone")
    s = logged_in(raw)
    body = "y" * 8000
    s.send("<message to='bob@localhost/phone' type='chat'><body>%s</body>"
           "</message>" % body)
    assert bob.next_message()["body"] == body


def test_many_stanzas_under_the_limit_are_fine(clients, raw):
    # The limit is per stanza, not per stream.
    bob = clients.login(BOB + "/phone")
    s = logged_in(raw)
    for i in range(5):
        s.send("<message to='bob@localhost/phone' type='chat'><body>%d %s"
               "</body></message>" % (i, "z" * 5000))
    for i in range(5):
        assert bob.next_message()["body"].startswith("%d " % i)


def test_too_deep_nesting_is_policy_violation(raw):
    s = logged_in(raw)
    s.send("<message to='bob@localhost'>" + "<x>" * 100 + "</x>" * 100
           + "</message>")
    s.expect_stream_error("policy-violation")


def test_client_closing_its_stream_gets_the_close_back(raw):
    s = logged_in(raw)
    s.send("</stream:stream>")
    s.expect_closed()


def test_bad_stream_namespace_is_invalid_namespace(raw):
    s = raw()
    s.send("<stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
           "xmlns:stream='http://example.com/not-streams'>")
    s.expect_stream_error("invalid-namespace")
