"""Private XML storage (XEP-0049): limits, and what was acknowledged
survives a restart and kill -9. The protocol itself is in
scripts/private.scs.

Each test has a palabred of its own: it sets limits, stops or kills it.
"""
import time

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import im
from im import ET, Accounts

PRIVATE = "jabber:iq:private"
BURST = 100
KILL_AFTER = 10


SMALL = ("<private-item-bytes>1024</private-item-bytes>"
         "<private-namespaces>3</private-namespaces>")


@pytest.fixture
def fresh_server(request, tmp_path_factory, certs):
    """A palabred of the test's own, with the limits of SMALL where the
    test asks (indirect parametrization), else room for its bursts."""
    sm_extra = getattr(request, "param",
                       "<private-namespaces>1000</private-namespaces>")
    s = im.make_server(tmp_path_factory.mktemp("private"), certs,
                       sm_extra=sm_extra)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def query(ns, name="prefs", text=None):
    q = ET.Element("{%s}query" % PRIVATE)
    el = ET.SubElement(q, "{%s}%s" % (ns, name))
    if text is not None:
        el.text = text
    return q


def store(user, ns, text):
    return user.iq("set", query(ns, text=text))


def fetch(user, ns):
    """The text of ns's element, None when nothing is stored."""
    answer = user.iq("get", query(ns))
    assert answer.get("type") == "result", im.show(answer)
    el = answer.find("{%s}query/{%s}prefs" % (PRIVATE, ns))
    assert el is not None, im.show(answer)
    return el.text


def error_text(iq):
    t = iq.find("{%s}error/{%s}text" % (im.CLIENT, im.STANZAS))
    return t.text if t is not None else ""


@pytest.mark.parametrize("fresh_server", [SMALL], indirect=True)
def test_limits_refuse_with_a_text(fresh_server, clients):
    user = im.login(clients, Accounts(fresh_server).new("hamlet"))
    for i in range(3):
        assert store(user, "urn:example:%d" % i, "v%d" % i) \
            .get("type") == "result"
    # a fourth namespace is past the limit; replacing one is not
    refused = store(user, "urn:example:3", "v3")
    assert im.error_of(refused) == ("modify", "policy-violation")
    assert "at most 3 namespaces" in error_text(refused)
    assert store(user, "urn:example:0", "new").get("type") == "result"
    # one item too large; what was stored stays
    refused = store(user, "urn:example:1", "x" * 2000)
    assert im.error_of(refused) == ("modify", "policy-violation")
    assert "at most 1024 bytes" in error_text(refused)
    assert fetch(user, "urn:example:0") == "new"
    assert fetch(user, "urn:example:1") == "v1"
    assert fetch(user, "urn:example:3") is None


@pytest.mark.parametrize("fresh_server", [SMALL], indirect=True)
def test_sets_sent_at_once_do_not_pass_the_limit(fresh_server, clients):
    """The requests of one user run one at a time: of ten new namespaces
    sent without waiting, three are stored, the others refused."""
    user = im.login(clients, Accounts(fresh_server).new("hamlet"))
    answers = {}
    user.client.xmpp.register_handler(Callback(
        "private answers", MatchXPath("{jabber:client}iq"),
        lambda iq: answers.__setitem__(iq["id"], iq["type"])))
    for i in range(10):
        user.send("<iq type='set' id='p%d'><query xmlns='%s'><prefs "
                  "xmlns='urn:example:%d'/></query></iq>" % (i, PRIVATE, i))
    deadline = time.monotonic() + 10
    while len([k for k in answers if k.startswith("p")]) < 10:
        assert time.monotonic() < deadline, answers
        clients.sleep(0.01)
    results = sorted(k for k, v in answers.items() if v == "result")
    assert results == ["p0", "p1", "p2"], answers


def test_survives_a_restart(fresh_server, clients):
    jid = Accounts(fresh_server).new("hamlet")
    user = im.login(clients, jid)
    store(user, "exodus:prefs", "Hamlet")
    store(user, "storage:rosternotes", "Alas")
    im.restart(fresh_server)
    user = im.login_retrying(clients, jid)
    assert fetch(user, "exodus:prefs") == "Hamlet"
    assert fetch(user, "storage:rosternotes") == "Alas"


@pytest.mark.parametrize("how", ["kill-sm", "kill-everything"])
def test_acknowledged_sets_survive_kill_9(fresh_server, clients, how):
    jid = Accounts(fresh_server).new("hamlet")
    user = im.login(clients, jid)
    victims = im.kill_victims(fresh_server, how)
    acknowledged = set()

    def on_iq(iq):
        if iq["type"] == "result" and iq["id"].startswith("burst-"):
            acknowledged.add(int(iq["id"][len("burst-"):]))
            if len(acknowledged) == KILL_AFTER:
                im.sigkill(victims)
    user.client.xmpp.register_handler(Callback(
        "burst results", MatchXPath("{jabber:client}iq"), on_iq))
    for i in range(BURST):
        user.send("<iq type='set' id='burst-%d'><query xmlns='%s'><prefs "
                  "xmlns='urn:burst:%d'>v%d</prefs></query></iq>"
                  % (i, PRIVATE, i, i))
    deadline = time.monotonic() + 10
    while len(acknowledged) < KILL_AFTER:
        assert time.monotonic() < deadline, "no results before the kill"
        clients.sleep(0.005)
    clients.sleep(0.5)
    acked = set(acknowledged)
    im.recover_from_kill(fresh_server, how, victims)

    user = im.login_retrying(clients, jid, "again")
    lost = [i for i in sorted(acked) if fetch(user, "urn:burst:%d" % i)
            != "v%d" % i]
    assert lost == [], "acknowledged sets lost: %s" % lost
    print("%s: %d of %d acknowledged before the kill"
          % (how, len(acked), BURST))
