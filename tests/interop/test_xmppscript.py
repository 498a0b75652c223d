"""The script runner itself (xmppscript.py): a wrong script is refused
with its line, a stanza matches as scripts/README.md says, and a script
the server does not follow fails with a message that shows why.
"""
import pytest

import xmppscript
from xmppscript import Mismatch, ScriptError, ScriptFailure, match, parse

HEADER = """# A test of the runner

[Client] Romeo
\tjid: romeo@localhost

-----

Romeo connects

"""


def script(body):
    return parse(HEADER + body, "t.scs")


def element(xml):
    return xmppscript.ET.fromstring(xmppscript.WRAPPER % xml)[0]


def matches(expected, received):
    return match(element(expected), element(received))


def mismatch(expected, received):
    with pytest.raises(Mismatch) as e:
        matches(expected, received)
    return str(e.value)


def failure(server, body, timeout=xmppscript.STEP_TIMEOUT):
    with pytest.raises(ScriptFailure) as e:
        xmppscript.run(script(body), server, timeout)
    return str(e.value)


# ---- reading a script -------------------------------------------------------

def test_a_script_has_a_title_clients_and_steps():
    s = script("Romeo sends:\n\t<presence/>\n\nRomeo disconnects\n")
    assert s.title == "A test of the runner"
    assert s.clients["Romeo"].jid == "romeo@localhost"
    assert [(st.line, st.action) for st in s.steps] == \
        [(8, "connects"), (10, "sends:"), (13, "disconnects")]
    assert s.steps[1].xml.strip() == "<presence/>"


@pytest.mark.parametrize("body, error", [
    ("Juliet connects\n", "t.scs:10: no [Client] Juliet in the header"),
    ("Romeo dances\n", "t.scs:10: expected 'NAME connects'"),
    ("Romeo sends:\n\t<presence>\n", "t.scs:11: the XML is not "
     "well-formed"),
    ("Romeo sends:\n\t<presence>\n\t\t<status>\n\t</presence>\n",
     "t.scs:13: the XML is not well-formed: mismatched tag"),
    ("Romeo sends:\n\t<presence><x:y/></presence>\n",
     "t.scs:11: the XML is not well-formed: unbound prefix"),
    ("Romeo sends:\n\nRomeo disconnects\n", "t.scs:10: Romeo sends: no "
     "stanza"),
    ("Romeo connects\n", "t.scs:10: Romeo is already connected"),
    ("Romeo disconnects\nRomeo sends:\n\t<presence/>\n",
     "t.scs:11: Romeo sends before it connects"),
    ("Romeo sends:\n\t<presence to='${Juliet's JID}'/>\n",
     "t.scs:10: unknown variable ${Juliet's JID}"),
    ("Romeo sends:\n\t<presence to='{scansion:any}'/>\n",
     "t.scs:10: {scansion:any} and {capture:…} belong in what a client "
     "receives"),
])
def test_a_wrong_script_is_refused_with_its_line(body, error):
    with pytest.raises(ScriptError) as e:
        script(body)
    assert str(e.value).startswith(error), str(e.value)


def test_a_client_needs_a_jid():
    with pytest.raises(ScriptError) as e:
        parse("[Client] Romeo\n\tresource: pc\n-----\n", "t.scs")
    assert str(e.value) == "t.scs:1: client Romeo needs 'jid: user@domain'"


def test_a_header_needs_its_line_of_dashes():
    with pytest.raises(ScriptError) as e:
        parse("[Client] Romeo\n\tjid: romeo@localhost\n", "t.scs")
    assert "no line of dashes" in str(e.value)


def test_a_variable_captured_before_may_be_used():
    script("Romeo receives:\n\t<iq id='{capture:the id}'/>\n\n"
           "Romeo sends:\n\t<iq type='result' id='${the id}'/>\n")


# ---- matching ---------------------------------------------------------------

def test_what_the_script_does_not_write_is_not_checked():
    assert matches("<iq type='result'/>",
                   "<iq type='result' id='1' from='localhost'>"
                   "<query xmlns='jabber:iq:roster'/></iq>") == {}


def test_children_match_in_any_order():
    matches("<message><body>hi</body><thread>t</thread></message>",
            "<message><thread>t</thread><subject/><body>hi</body></message>")


def test_each_expected_child_needs_a_received_one_of_its_own():
    why = mismatch("<q xmlns='x'><i a='1'/><i/></q>",
                   "<q xmlns='x'><i a='1'/></q>")
    assert why == "/q: not every element expected has one received of its " \
        "own (2 expected, 1 received)", why


def test_any_stands_for_any_value_but_not_for_none():
    matches("<iq id='{scansion:any}'/>", "<iq id='x7'/>")
    assert mismatch("<iq id='{scansion:any}'/>", "<iq/>") == \
        "/iq: no attribute id (expected '{scansion:any}')"


def test_capture_takes_the_value():
    assert matches("<iq id='{capture:push}'><query xmlns='jabber:iq:roster' "
                   "ver='{capture:ver}'/></iq>",
                   "<iq id='p1'><query xmlns='jabber:iq:roster' ver='7'/></iq>"
                   ) == {"push": "p1", "ver": "7"}


def test_a_wrong_value_names_the_attribute_and_both_values():
    assert mismatch("<iq><query xmlns='jabber:iq:roster'><item "
                    "subscription='both'/></query></iq>",
                    "<iq><query xmlns='jabber:iq:roster'><item "
                    "subscription='none'/></query></iq>") == \
        "/iq/query/item: attribute subscription is 'none', expected 'both'"


def test_text_is_compared_without_surrounding_space():
    matches("<message><body>\n  Hello\n</body></message>",
            "<message><body>Hello</body></message>")
    assert mismatch("<message><body>Hello</body></message>",
                    "<message><body>Bye</body></message>") == \
        "/message/body: text is 'Bye', expected 'Hello'"


def test_a_namespace_is_part_of_the_name():
    assert mismatch("<iq><query xmlns='jabber:iq:roster'/></iq>",
                    "<iq><query xmlns='jabber:iq:private'/></iq>") == \
        "/iq: no <query xmlns='jabber:iq:roster'/> as expected among 1 " \
        "received"
    assert mismatch("<query xmlns='jabber:iq:roster'/>",
                    "<query xmlns='jabber:iq:private'/>") == \
        "/query: expected <query xmlns='jabber:iq:roster'/>, received " \
        "<query xmlns='jabber:iq:private'/>"


def test_strict_wants_exactly_the_attributes_and_children_written():
    strict = "<iq type='result' scansion:strict='true'/>"
    matches(strict, "<iq type='result'/>")
    assert mismatch(strict, "<iq type='result' from='localhost'/>") == \
        "/iq: attribute from not expected (strict)"
    assert mismatch(strict, "<iq type='result'><query xmlns='q'/></iq>") \
        == "/iq: 1 children, expected exactly 0 (strict)"


def test_received_stanzas_are_shown_with_xmlns_not_prefixes():
    el = element("<iq type='result'><query xmlns='jabber:iq:roster' "
                 "ver='1'><item jid='a@b'/></query></iq>")
    assert xmppscript.to_xml(el) == (
        '<iq type="result"><query xmlns="jabber:iq:roster" ver="1">'
        '<item jid="a@b"/></query></iq>')


# ---- against palabred -------------------------------------------------------

PING = """Romeo sends:
\t<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>

"""


def test_a_script_the_server_follows_passes(server):
    xmppscript.run(script(
        PING + "Romeo receives:\n"
        "\t<iq type='result' id='p1' from='{capture:server}'/>\n\n"
        "Romeo sends:\n"
        "\t<iq type='get' id='p2' to='${server}'><ping xmlns='urn:xmpp:ping'/>"
        "</iq>\n\n"
        "Romeo receives:\n"
        "\t<iq type='result' id='p2' from='localhost'/>\n\n"
        "Romeo receives nothing\n\n"
        "Romeo disconnects\n"), server)


def test_a_wrong_answer_fails_showing_expected_and_received(server):
    message = failure(server, PING + "Romeo receives:\n"
                      "\t<iq type='error' id='p1'/>\n")
    assert message.startswith(
        "t.scs:13: Romeo receives: /iq: attribute type is 'result', "
        "expected 'error'\nexpected:\n  <iq type=\"error\" id=\"p1\"/>\n"
        "received:\n  <iq "), message
    assert "C: <iq type=\"get\" id=\"p1\"" in message, \
        "the transcript of the exchange: " + message


def test_an_answer_that_never_comes_fails_after_the_step_timeout(server):
    message = failure(server, "Romeo receives:\n\t<message/>\n", timeout=1)
    assert message.startswith(
        "t.scs:10: Romeo receives: timed out after 1 s waiting for stanza "
        "1 of 1\nexpected:\n  <message/>\nreceived:\n  nothing\n"), message


def test_stanzas_of_one_step_may_come_in_any_order_but_all_must(server):
    message = failure(server, PING + PING.replace("p1", "p2") +
                      "Romeo receives:\n"
                      "\t<iq id='p2'/>\n\t<iq id='p1'/>\n\t<iq id='p3'/>\n",
                      timeout=1)
    assert "waiting for stanza 3 of 3" in message, message


def test_receives_nothing_fails_when_something_comes(server):
    message = failure(server, PING + "Romeo receives nothing\n")
    assert message.startswith(
        "t.scs:13: Romeo receives nothing: received:\n  <iq "), message
    assert 'id="p1"' in message.split("\n")[1], message


def test_a_stream_error_is_expected_like_a_stanza_and_a_closed_stream_fails(
        server):
    too_big = "<message><body>%s</body></message>" % ("x" * 20000)
    message = failure(server, "Romeo sends:\n\t%s\n\nRomeo receives:\n"
                      "\t<stream:error><policy-violation xmlns='urn:ietf:"
                      "params:xml:ns:xmpp-streams'/></stream:error>\n\n"
                      "Romeo receives:\n\t<message/>\n" % too_big)
    assert message.startswith(
        "t.scs:16: Romeo receives: the server closed the stream waiting for "
        "stanza 1 of 1\nexpected:\n  <message/>\nreceived:\n  "), message
