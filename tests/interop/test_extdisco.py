"""Calls through a real coturn with credentials from palabre (XEP-0215).

A user asks its server for TURN servers (XEP-0215 §3.2) and gets
credentials of the TURN REST API; coturn, set up as docs/calls.md says
(use-auth-secret, the same static-auth-secret, read by palabre from a
file), grants an Allocate with them (RFC 8656 §7.2), and refuses one
with a password changed, credentials past their expiry, or signed with
another secret. The scripted exchanges (scripts/extdisco_*.scs) check
the protocol's examples; this checks that the credentials really work.
"""
import datetime
import os
import time

import pytest
from slixmpp.xmlstream import ET

import im
from coturn import Coturn, allocate, rest_credentials
from palabre import Palabre

NS = "urn:xmpp:extdisco:2"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
SECRET = "coturn-and-palabre-share-this"
TTL = 3600


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    with Coturn(tmp_path_factory.mktemp("coturn"), SECRET) as t:
        yield t


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs, turn):
    """palabred whose localhost lists the coturn (the secret in a file);
    chat.example lists nothing."""
    services = ('    <external-services>\n'
                '      <turn host="%s" port="%d" secret-file="turn-secret"'
                ' ttl="%d"/>\n'
                '    </external-services>\n' % (turn.address, turn.port, TTL))
    s = Palabre(tmp_path_factory.mktemp("palabred"), certs,
                modules=im.IM_MODULES, host_extra={"localhost": services})
    with open(os.path.join(s.dir, "turn-secret"), "w") as f:
        f.write(SECRET + "\n")
    try:
        s.start()
        yield s
    finally:
        s.stop()


def services(user, type_=None, to="localhost"):
    query = ET.Element("{%s}services" % NS)
    if type_:
        query.set("type", type_)
    return user.iq("get", query, to=to)


def turn_udp(answer):
    found = [s for s in answer.iter("{%s}service" % NS)
             if s.get("type") == "turn" and s.get("transport") == "udp"]
    assert len(found) == 1, im.show(answer)
    return found[0]


def test_palabre_credentials_open_a_turn_allocation(clients, turn):
    alice = im.IM(clients.login("alice@localhost/pc"))
    before = int(time.time())
    service = turn_udp(services(alice, "turn"))
    assert (service.get("host"), service.get("port")) == \
        (turn.address, str(turn.port))
    # draft-uberti-behave-turn-rest §2.2: "expiry:user", the expiry
    # what 'expires' says (XEP-0215 §2, XEP-0082 UTC), ttl seconds on.
    expiry, user = service.get("username").split(":", 1)
    assert user == "alice@localhost"
    assert before + TTL <= int(expiry) <= time.time() + TTL
    stamp = datetime.datetime.strptime(service.get("expires"),
                                       "%Y-%m-%dT%H:%M:%SZ")
    assert stamp.replace(tzinfo=datetime.timezone.utc).timestamp() == \
        int(expiry)
    outcome, relayed = allocate(turn.address, turn.port,
                                service.get("username"),
                                service.get("password"))
    assert outcome == "success", (relayed, turn.log_text())
    assert relayed[0] == turn.address


def test_credentials_request_works_too(clients, turn):
    """§3.3: credentials asked for one service."""
    alice = im.IM(clients.login("alice@localhost/pc"))
    query = ET.Element("{%s}credentials" % NS)
    ET.SubElement(query, "{%s}service" % NS, host=turn.address, type="turn")
    answer = alice.iq("get", query, to="localhost")
    service = turn_udp(answer)
    assert allocate(turn.address, turn.port, service.get("username"),
                    service.get("password"))[0] == "success"


def test_changed_expired_or_foreign_credentials_fail(clients, turn):
    alice = im.IM(clients.login("alice@localhost/pc"))
    service = turn_udp(services(alice, "turn"))
    username, password = service.get("username"), service.get("password")
    changed = password[:5] + ("A" if password[5] != "A" else "B") + \
        password[6:]
    assert allocate(turn.address, turn.port, username, changed) == \
        ("error", 401)
    # The user part is signed too: another user cannot take them over.
    other = username.split(":")[0] + ":bob@localhost"
    assert allocate(turn.address, turn.port, other, password) == \
        ("error", 401)
    past = rest_credentials(SECRET, int(time.time()) - 60, "alice@localhost")
    assert allocate(turn.address, turn.port, *past) == ("error", 401)
    foreign = rest_credentials("not-the-secret", int(time.time()) + 600,
                               "alice@localhost")
    assert allocate(turn.address, turn.port, *foreign) == ("error", 401)


def test_only_a_configured_host_advertises_it(clients):
    """§5: the feature on localhost's disco#info, not on chat.example's,
    which answers service-unavailable (§2)."""
    alice = im.IM(clients.login("alice@localhost/pc"))
    erin = im.IM(clients.login("erin@chat.example/pc"))

    def features(user, domain):
        info = user.iq("get", ET.Element("{%s}query" % DISCO_INFO),
                       to=domain)
        return {f.get("var") for f in info.iter("{%s}feature" % DISCO_INFO)}
    assert NS in features(alice, "localhost")
    assert NS not in features(erin, "chat.example")
    assert im.error_of(services(erin, to="chat.example")) == \
        ("cancel", "service-unavailable")
    assert im.error_of(services(erin, to="localhost")) == \
        ("auth", "forbidden")


def test_the_secret_is_never_logged(clients, server):
    alice = im.IM(clients.login("alice@localhost/pc"))
    turn_udp(services(alice))
    assert SECRET not in server.log_text(tail=0)
