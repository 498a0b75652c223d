"""Directory vCards (issue 4 item 6, issue 13 item 2): a user's vcard-temp
(XEP-0054) read from the user's entry in a real slapd, whose fields are
read-only, merged with what the user set (the photo …);
server/sm/vcard*.c.

The directories of test_ldap.py's LdapPalabre, with <vcard/> (the default
attribute map) and the "vcard" module on. A local-backend server shows
that users of domains without a directory keep their whole vCards.
"""
import asyncio
import time
import xml.etree.ElementTree as ET

import pytest

from palabre import Palabre, USERS
from slapd import MAIN_DOMAIN, RESEARCH_DOMAIN
from test_ldap import LDAP_TIMEOUT, LdapPalabre, domain_certs  # noqa: F401
from xmpp import Clients

NS = "{vcard-temp}"
STANZAS = "{urn:ietf:params:xml:ns:xmpp-stanzas}"
MODULES = "disco ping vcard"


class VcardPalabre(LdapPalabre):
    """LdapPalabre with the vcard module and <vcard>vcard_xml</vcard> in
    each directory."""

    def __init__(self, *args, vcard_xml="<vcard/>", **kw):
        super().__init__(*args, **kw)
        with open(self.config) as f:
            config = f.read()
        assert "<modules>disco ping</modules>" in config
        config = config.replace("<modules>disco ping</modules>",
                                "<modules>%s</modules>" % MODULES)
        config = config.replace("  </ldap>\n",
                                "    %s\n  </ldap>\n" % vcard_xml)
        self.write_config(config)


@pytest.fixture
def vcard_server(request, tmp_path_factory, domain_certs, ldap_directory):
    """vcard_server(directories, **options) → a started VcardPalabre."""
    started = []

    def start(directories, **options):
        s = VcardPalabre(tmp_path_factory.mktemp("palabred-vcard"),
                         domain_certs, ldap_directory, directories,
                         **options)
        started.append(s)
        request.node.palabre_server = s
        return s.start()
    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, domain_certs, ldap_directory, slapd):
    s = VcardPalabre(tmp_path_factory.mktemp("palabred-vcard"), domain_certs,
                     ldap_directory, {"central": {"uris": [slapd.uri]}})
    try:
        s.start()
        yield s
    finally:
        s.stop()


def vcard_iq(client, to=None, stype="get", payload=None):
    """What Gajim sends: <iq type='get' to='bare'><vCard
    xmlns='vcard-temp'/></iq>; returns the answer's XML."""
    iq = client.xmpp.Iq(stype=stype)
    if to:
        iq["to"] = to
    iq.append(payload if payload is not None else ET.Element(NS + "vCard"))
    return client.iq(iq, timeout=3 * LDAP_TIMEOUT + 5).xml


def text(vcard, path):
    found = vcard.find("/".join(NS + p for p in path.split("/")))
    return found.text if found is not None else None


def vcard_of(answer):
    assert answer.get("type") == "result", ET.tostring(answer)
    vc = answer.find(NS + "vCard")
    assert vc is not None, ET.tostring(answer)
    return vc


def error_of(answer):
    assert answer.get("type") == "error", ET.tostring(answer)
    e = answer.find("{jabber:client}error")
    conditions = [c.tag[len(STANZAS):] for c in e if c.tag.startswith(
        STANZAS) and not c.tag.endswith("}text")]
    return e.get("type"), conditions[0]


def assert_vcard_is(vc, person):
    assert text(vc, "FN") == person.cn
    assert text(vc, "N/GIVEN") == person.first
    assert text(vc, "N/FAMILY") == person.last
    assert text(vc, "EMAIL/USERID") == person.mail
    tel = vc.find(NS + "TEL")
    assert tel is not None
    assert tel.find(NS + "NUMBER").text == person.telephone
    assert tel.find(NS + "VOICE") is not None
    assert tel.find(NS + "WORK") is not None
    assert text(vc, "ORG/ORGUNIT") == person.ou
    assert text(vc, "JABBERID") == person.jid


@pytest.mark.parametrize("first", ["Alice", "Denis"])
def test_own_vcard_from_the_directory_in_both_domains(shared, chat,
                                                      ldap_directory, first):
    p = ldap_directory.named(first)
    c = chat(shared).login(p.jid + "/gajim", p.password, mech="PLAIN")
    for to in (None, p.jid):
        vc = vcard_of(vcard_iq(c, to))
        assert_vcard_is(vc, p)


def test_exact_telephone_number_of_a_known_person(shared, chat,
                                                  ldap_directory):
    alice = ldap_directory.named("Alice")
    bruno = ldap_directory.named("Bruno")
    # The fixture's numbering: Alice is person 0, Bruno person 1.
    assert alice.telephone == "+33 1 39 63 00 00"
    assert bruno.telephone == "+33 1 39 63 00 01"
    c = chat(shared).login(alice.jid + "/gajim", alice.password,
                           mech="PLAIN")
    vc = vcard_of(vcard_iq(c, bruno.jid))
    assert vc.find(NS + "TEL").find(NS + "NUMBER").text == "+33 1 39 63 00 01"
    assert text(vc, "ORG/ORGUNIT") == "IT"


def test_vcard_of_other_users_in_both_domains(shared, chat, ldap_directory):
    alice = ldap_directory.named("Alice")
    c = chat(shared).login(alice.jid + "/gajim", alice.password,
                           mech="PLAIN")
    for person in (ldap_directory.named("Emma"),
                   ldap_directory.named("Gaelle"),
                   ldap_directory.some(MAIN_DOMAIN, "ssha", skip=7)[0],
                   ldap_directory.some(RESEARCH_DOMAIN, "ssha")[0]):
        answer = vcard_iq(c, person.jid)
        assert answer.get("from") == person.jid
        assert answer.get("id")
        assert_vcard_is(vcard_of(answer), person)


def test_many_vcards_at_once(shared, chat, ldap_directory):
    alice = ldap_directory.named("Alice")
    clients = chat(shared)
    c = clients.login(alice.jid + "/gajim", alice.password, mech="PLAIN")
    people = ldap_directory.some(MAIN_DOMAIN, "ssha", count=20, skip=30)

    async def ask_all():
        iqs = []
        for p in people:
            iq = c.xmpp.Iq(stype="get", sto=p.jid)
            iq.append(ET.Element(NS + "vCard"))
            iqs.append(iq.send(timeout=10))
        return await asyncio.gather(*iqs)
    answers = c.run(ask_all(), 12, "vCards")
    for p, answer in zip(people, answers):
        assert answer["from"] == p.jid
        assert_vcard_is(vcard_of(answer.xml), p)


def test_set_changing_a_directory_field_is_refused_naming_it(
        shared, chat, ldap_directory):
    p = ldap_directory.named("Chloe")
    c = chat(shared).login(p.jid + "/gajim", p.password, mech="PLAIN")
    mine = vcard_of(vcard_iq(c))
    mine.find(NS + "FN").text = "Someone Else"
    ET.SubElement(mine, NS + "NICKNAME").text = "chl"
    answer = vcard_iq(c, None, stype="set", payload=mine)
    assert error_of(answer) == ("cancel", "not-allowed")
    t = answer.find("{jabber:client}error").find(STANZAS + "text")
    assert t is not None and t.text.startswith("FN comes from the "
                                               "organisation's directory")
    # Unchanged, the nickname too: nothing of a refused set is kept.
    vc = vcard_of(vcard_iq(c))
    assert text(vc, "FN") == p.cn
    assert vc.find(NS + "NICKNAME") is None


def photo_of(vc):
    return text(vc, "PHOTO/BINVAL")


@pytest.mark.parametrize("first", ["Alice", "Denis"])
def test_gajim_edit_profile_keeps_the_directory_and_adds_a_photo(
        shared, chat, ldap_directory, first):
    """Gajim's profile editor gets the vCard, lets the user add a photo
    and a nickname, and sends the whole vCard back: it succeeds, and
    everyone sees the directory's fields with the user's."""
    p = ldap_directory.named(first)
    clients = chat(shared)
    c = clients.login(p.jid + "/gajim", p.password, mech="PLAIN")
    mine = vcard_of(vcard_iq(c))
    ET.SubElement(mine, NS + "NICKNAME").text = first.lower()
    ET.SubElement(mine, NS + "BDAY").text = "1990-01-01"
    photo = ET.SubElement(mine, NS + "PHOTO")
    ET.SubElement(photo, NS + "TYPE").text = "image/png"
    ET.SubElement(photo, NS + "BINVAL").text = "aGVsbG8="
    assert vcard_iq(c, None, stype="set", payload=mine).get(
        "type") == "result"
    other = ldap_directory.named("Bruno")
    b = clients.login(other.jid + "/pc", other.password, mech="PLAIN")
    for vc in (vcard_of(vcard_iq(c)), vcard_of(vcard_iq(b, p.jid))):
        assert_vcard_is(vc, p)
        assert text(vc, "NICKNAME") == first.lower()
        assert text(vc, "BDAY") == "1990-01-01"
        assert photo_of(vc) == "aGVsbG8="
        assert len(vc.findall(NS + "FN")) == 1
        assert len(vc.findall(NS + "JABBERID")) == 1

    # A client that sets its avatar alone (a vCard of a PHOTO only):
    # the directory's fields stay, the user's nickname goes (a set
    # replaces the user's part, XEP-0054 §3.2).
    only = ET.Element(NS + "vCard")
    photo = ET.SubElement(only, NS + "PHOTO")
    ET.SubElement(photo, NS + "BINVAL").text = "d29ybGQ="
    assert vcard_iq(c, None, stype="set", payload=only).get(
        "type") == "result"
    vc = vcard_of(vcard_iq(b, p.jid))
    assert_vcard_is(vc, p)
    assert photo_of(vc) == "d29ybGQ="
    assert vc.find(NS + "NICKNAME") is None


def test_the_directory_wins_over_what_was_stored(vcard_server, slapd, chat,
                                                 ldap_directory):
    """NICKNAME is the user's while the map leaves it out; once the
    administrator maps it, the directory's value shows."""
    only_fn = ('<vcard defaults="false"><field name="FN" attribute="cn"/>'
               '</vcard>')
    server = vcard_server({"central": {"uris": [slapd.uri]}},
                          vcard_xml=only_fn)
    p = ldap_directory.named("Emma")
    clients = chat(server)
    c = clients.login(p.jid + "/gajim", p.password, mech="PLAIN")
    mine = vcard_of(vcard_iq(c))
    ET.SubElement(mine, NS + "NICKNAME").text = "em"
    assert vcard_iq(c, None, stype="set", payload=mine).get(
        "type") == "result"
    assert text(vcard_of(vcard_iq(c)), "NICKNAME") == "em"

    server.stop()
    with open(server.config) as f:
        config = f.read()
    server.write_config(config.replace(
        only_fn, only_fn.replace(
            "</vcard>", '<field name="NICKNAME" attribute="uid"/></vcard>')))
    server.start()
    c = clients.login(p.jid + "/again", p.password, mech="PLAIN")
    vc = vcard_of(vcard_iq(c))
    assert text(vc, "FN") == p.cn
    assert [n.text for n in vc.findall(NS + "NICKNAME")] == [p.uid]


def test_unknown_user_of_an_ldap_domain(shared, chat, ldap_directory):
    """The sm checks the account first (the directory says there is no
    such entry): service-unavailable, as for any unknown user (RFC 6121
    §8.5.1), without the module."""
    p = ldap_directory.named("Alice")
    c = chat(shared).login(p.jid + "/gajim", p.password, mech="PLAIN")
    for jid in ("nobody.atall@" + MAIN_DOMAIN,
                "nobody.atall@" + RESEARCH_DOMAIN,
                # A person of the other domain is not one of this one.
                ldap_directory.named("Denis").localpart + "@" + MAIN_DOMAIN):
        assert error_of(vcard_iq(c, jid)) == ("cancel",
                                              "service-unavailable")


def test_disco_lists_vcard_temp(shared, chat, ldap_directory):
    p = ldap_directory.named("Alice")
    c = chat(shared).login(p.jid + "/gajim", p.password, mech="PLAIN")
    iq = c.xmpp.Iq(stype="get", sto=MAIN_DOMAIN)
    iq.append(ET.Element("{http://jabber.org/protocol/disco#info}query"))
    answer = c.iq(iq).xml
    features = {f.get("var") for f in answer.iter(
        "{http://jabber.org/protocol/disco#info}feature")}
    assert "vcard-temp" in features


def test_configured_attribute_map(vcard_server, slapd, chat,
                                  ldap_directory):
    server = vcard_server(
        {"central": {"uris": [slapd.uri]}},
        vcard_xml='<vcard defaults="false">'
                  '<field name="FN" attribute="mail"/>'
                  '<field name="TEL" attribute="telephoneNumber"/>'
                  '<field name="NICKNAME" attribute="uid"/>'
                  '</vcard>')
    p = ldap_directory.named("Bruno")
    c = chat(server).login(p.jid + "/gajim", p.password,
                           mech="SCRAM-SHA-256")
    vc = vcard_of(vcard_iq(c))
    assert text(vc, "FN") == p.mail
    assert text(vc, "NICKNAME") == p.uid
    assert vc.find(NS + "TEL").find(NS + "NUMBER").text == p.telephone
    assert vc.find(NS + "N") is None
    assert vc.find(NS + "ORG") is None
    assert vc.find(NS + "EMAIL") is None


def test_stopped_directory_answers_wait_while_others_chat(
        vcard_server, slapds, chat, ldap_directory):
    directory = slapds()
    server = vcard_server({"central": {"uris": [directory.uri]}})
    alice, denis = ldap_directory.named("Alice"), ldap_directory.named(
        "Denis")
    clients = chat(server)
    a = clients.login(alice.jid + "/pc", alice.password, mech="PLAIN")
    d = clients.login(denis.jid + "/pc", denis.password, mech="PLAIN")
    # Both users are loaded (known to exist) before the directory stops.
    vcard_of(vcard_iq(a, denis.jid))

    directory.pause()
    # SIGSTOP may take a moment to stop every thread of slapd: wait until
    # it stops answering.
    deadline = time.monotonic() + 5
    while directory.answers(within=0.5):
        assert time.monotonic() < deadline, "slapd still answers"
    iq = a.xmpp.Iq(stype="get", sto=denis.jid)
    iq.append(ET.Element(NS + "vCard"))
    started = time.monotonic()
    pending = iq.send(timeout=4 * LDAP_TIMEOUT + 8)
    for i in range(5):
        t = time.monotonic()
        a.send_message(mto=d.jid, mbody="still here %d" % i)
        assert d.next_message(timeout=1.0)["body"] == "still here %d" % i
        d.send_message(mto=a.jid, mbody="me too %d" % i)
        assert a.next_message(timeout=1.0)["body"] == "me too %d" % i
        assert time.monotonic() - t < 1.0

    async def wait():
        from slixmpp.exceptions import IqError
        try:
            return await pending
        except IqError as e:
            return e.iq
    answer = a.run(wait(), 4 * LDAP_TIMEOUT + 10, "the vCard error")
    assert time.monotonic() - started < 4 * LDAP_TIMEOUT + 5
    kind, cond = error_of(answer.xml)
    assert (kind, cond) == ("wait", "remote-server-timeout")

    directory.resume()
    deadline = time.monotonic() + 4 * LDAP_TIMEOUT + 8
    while True:
        answer = vcard_iq(a, denis.jid)
        if answer.get("type") == "result" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert_vcard_is(vcard_of(answer), denis)


# ---- a domain without a directory ---------------------------------------

def test_local_domain_keeps_what_users_set(tmp_path_factory, certs,
                                           request):
    """Without a directory a user's vCard is whole the user's."""
    s = Palabre(tmp_path_factory.mktemp("palabred-vcard-local"), certs,
                modules=MODULES)
    request.node.palabre_server = s
    s.start()
    clients = Clients(s)
    try:
        a = clients.login("alice@localhost/pc", USERS["alice@localhost"])
        vc = vcard_of(vcard_iq(a))
        assert len(vc) == 0
        assert error_of(vcard_iq(a, "bob@localhost")) == ("cancel",
                                                          "item-not-found")
        mine = ET.Element(NS + "vCard")
        ET.SubElement(mine, NS + "FN").text = "Alice"
        ET.SubElement(mine, NS + "JABBERID").text = "alice@localhost"
        assert vcard_iq(a, None, stype="set", payload=mine).get(
            "type") == "result"
        b = clients.login("bob@localhost/pc", USERS["bob@localhost"])
        vc = vcard_of(vcard_iq(b, "alice@localhost"))
        assert text(vc, "FN") == "Alice"
        assert text(vc, "JABBERID") == "alice@localhost"
    finally:
        clients.close()
        s.stop()
