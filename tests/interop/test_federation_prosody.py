"""Federation with Prosody (Debian's 0.12) as the remote server: palabred
serves a.test, Prosody serves p.test, each on its own loopback address,
both resolving through the test's dnsmasq. Chat and subscriptions, both
ways; by dialback with self-signed certificates, and by SASL EXTERNAL
with certificates from a CA both trust, where both refuse anything less."""
import pytest

import im
from dnsmasq import Dnsmasq
from federation import Peer
from prosody import Prosody
from testca import TestCA, self_signed
from xmpp import Clients


class Pair:
    """palabred (a.test) and Prosody (p.test). With rooms, each has a
    room service, conference.a.test and conference.p.test, published in
    DNS; with certificates from the CA, each domain's certificate names
    its room service too (without, the services go by dialback).
    components: {name: secret} of external components palabred accepts
    (Peer's), published in DNS and named by a.test's certificate from the
    CA as its room service is."""

    def __init__(self, tmp, secure, rooms=False, components=None):
        def sub(name):
            d = tmp / name
            d.mkdir(exist_ok=True)
            return str(d)
        self.dns = Dnsmasq(sub("dns"))
        self.palabre = self.prosody = None
        if secure:
            ca = TestCA(sub("ca"))

            def names(d):
                """What d's certificate names: d, its room service, and
                for a.test palabred's components."""
                mine = tuple(components or ()) if d == "a.test" else ()
                return (d,) + (("conference." + d,) if rooms else ()) + mine
            a_cert, p_cert = (ca.issue(d, dns=names(d))
                              for d in ("a.test", "p.test"))
            a_ca = p_ca = ca.file
            strict = ("    <require-valid-certificate>true"
                      "</require-valid-certificate>\n"
                      "    <ca-file>%s</ca-file>\n" % ca.file)
        else:
            a_cert = self_signed(sub("self-a"), "a.test")
            p_cert = self_signed(sub("self-p"), "p.test")
            a_ca, p_ca, strict = a_cert[0], None, ""
        self.palabre = Peer(sub("a.test"), "a.test", "127.0.0.12", self.dns,
                            certificate=a_cert, ca_file=a_ca,
                            s2s_options=strict, muc=rooms,
                            components=components)
        self.prosody = Prosody(
            sub("p.test"), "p.test", "127.0.0.13", self.dns,
            certificate=p_cert, ca_file=p_ca, s2s_secure_auth=secure,
            components={"conference.p.test": ("muc", {})} if rooms else None)
        self.dns.add_host("p.test", "127.0.0.13")
        for name in ("p.test",) + (("conference.p.test",) if rooms else ()):
            self.dns.add_srv("_xmpp-server._tcp", name, "p.test",
                             self.prosody.s2s_port)
        self.dns.start()
        self.palabre.start()
        self.prosody.start()

    def users(self, clients):
        alice = self.palabre.login(clients, "alice")
        return alice, self.prosody_user(clients)

    def prosody_user(self, clients):
        """A new account pat-N@p.test, logged in to Prosody."""
        pat = "pat-%d@p.test" % id(clients)
        self.prosody.add_user(pat, im.PASSWORD)
        clients.server = self.prosody
        # Prosody 0.12 offers SCRAM-SHA-1 and PLAIN.
        return im.login(clients, pat, mech="SCRAM-SHA-1")

    def stop(self):
        for one in (self.prosody, self.palabre):
            if one:
                one.stop()
        self.dns.stop()

    def logs(self):
        return ("--- palabred ---\n%s\n--- prosody ---\n%s"
                % (self.palabre.log_text(6000), self.prosody.log_text(6000)))


def started_pair(directory, how, rooms=False, components=None):
    """A Pair in directory, authenticated as how says ("dialback" or
    "external"), for a fixture to yield from; stopped afterwards."""
    p = None
    try:
        p = Pair(directory, secure=how == "external", rooms=rooms,
                 components=components)
        yield p
    finally:
        if p:
            p.stop()


@pytest.fixture(scope="module", params=["dialback", "external"])
def pair(request, tmp_path_factory):
    yield from started_pair(tmp_path_factory.mktemp(request.param),
                            request.param)


@pytest.fixture
def clients():
    c = Clients(None)
    yield c
    c.close()


def chat(sender, receiver, body, pair):
    sender.send_message(receiver.bare, body)
    try:
        got = receiver.next_message(from_=sender.bare, timeout=20)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, pair.logs())) from None
    assert got.findtext("{jabber:client}body") == body, im.show(got)


def test_chat_both_ways(pair, clients):
    alice, pat = pair.users(clients)
    chat(alice, pat, "hello Prosody, from palabre", pair)
    chat(pat, alice, "hello palabre, from Prosody", pair)
    log = pair.palabre.log_text(0)
    method = "SASL EXTERNAL" if pair.prosody.s2s_secure_auth else "dialback"
    assert "accepted us (a.test) by " + method in log, pair.logs()


def test_subscriptions_both_ways(pair, clients):
    alice, pat = pair.users(clients)
    alice.roster_set(pat.bare)
    alice.next_push(pat.bare)
    # palabre's user asks, Prosody's approves.
    alice.send_presence(pat.bare, "subscribe")
    pat.next_presence("subscribe", from_=alice.bare, timeout=20)
    pat.send_presence(alice.bare, "subscribed")
    alice.next_push(pat.bare, where=lambda i: i.subscription == "to"
                    and i.ask is None, timeout=20)
    alice.next_presence("available", from_=pat.bare, timeout=20)
    # Prosody's user asks, palabre's approves.
    pat.send_presence(alice.bare, "subscribe")
    alice.next_presence("subscribe", from_=pat.bare, timeout=20)
    alice.send_presence(pat.bare, "subscribed")
    alice.next_push(pat.bare, where=lambda i: i.subscription == "both",
                    timeout=20)
    pat.next_presence("available", from_=alice.bare, timeout=20)
    # Presence now flows both ways.
    pat.send_presence(status="at lunch")
    p = alice.next_presence("available", from_=pat.bare, timeout=20)
    assert p.findtext("{jabber:client}status") == "at lunch"
    alice.logout()
    pat.next_presence("unavailable", from_=alice.bare, timeout=20)
