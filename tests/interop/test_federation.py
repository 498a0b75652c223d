"""Federation between palabred servers (issue 5): each domain on its own
loopback address, found through SRV records served by a real dnsmasq.

Two worlds: self-signed certificates, where servers accept each other by
Server Dialback (XEP-0220), and certificates from a test CA that both
trust, where they use SASL EXTERNAL (XEP-0178) and may require it."""
import socket
import time

import pytest

import im
from dnsmasq import Dnsmasq
from federation import Peer, RawS2S
from rawstream import StreamClosed, show
from testca import TestCA, self_signed

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def error_condition(stanza):
    err = stanza.find("{jabber:client}error")
    assert err is not None, "not an error: %s" % im.show(stanza)
    conds = [c.tag.split("}")[1] for c in err if c.tag.startswith(
        "{%s}" % STANZAS) and not c.tag.endswith("}text")]
    return err.get("type"), conds


def chat(sender, receiver, body):
    sender.send_message(receiver.bare, body)
    got = receiver.next_message(from_=sender.bare, timeout=15)
    assert got.findtext("{jabber:client}body") == body, im.show(got)
    return got


class World:
    """dnsmasq and the peers of one module, with a shared Clients."""

    def __init__(self, tmp, with_ca):
        self.tmp = tmp
        self.dns = Dnsmasq(self.sub("dns"))
        self.peers = []
        if with_ca:
            self.ca = TestCA(self.sub("ca"))

    def sub(self, name):
        d = self.tmp / name
        d.mkdir(exist_ok=True)
        return str(d)

    def certificate(self, domain, **names):
        if hasattr(self, "ca"):
            return self.ca.issue(domain, **names), self.ca.file
        crt, key = self_signed(self.sub("self-" + domain), domain)
        return (crt, key), crt

    def peer(self, domain, address, *, certificate=None, also=(), **options):
        (crt, key), ca_file = certificate or self.certificate(domain)
        if hasattr(self, "ca"):
            options.setdefault("s2s_ca_file", self.ca.file)
        if also:
            options["also"] = {d: self.certificate(d)[0] for d in also}
            ca_file = None  # the clients trust every domain's certificate
        p = Peer(self.sub(domain), domain, address, self.dns,
                 certificate=(crt, key), ca_file=ca_file, **options)
        self.peers.append(p)
        return p

    def stop(self):
        for p in self.peers:
            p.stop()
        self.dns.stop()


@pytest.fixture(scope="module")
def dialback_world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("dialback"), with_ca=False)
    try:
        w.a = w.peer("a.test", "127.0.0.2", also=("a2.test",))
        w.b = w.peer("b.test", "127.0.0.3")
        w.f = w.peer("f.test", "127.0.0.8", direct_tls=True)
        # A domain whose server is published but does not listen.
        w.dns.add_host("dead.test", "127.0.0.9")
        w.dns.add_srv("_xmpp-server._tcp", "dead.test", "dead.test", 9)
        w.dns.add_no_service("_xmpp-server._tcp", "noservice.test")
        w.dns.start()
        for p in (w.a, w.b, w.f):
            p.start()
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="module")
def ca_world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("external"), with_ca=True)
    try:
        strict = "    <require-valid-certificate>true</require-valid-certificate>\n"
        w.c = w.peer("c.test", "127.0.0.4", s2s_options=strict)
        w.d = w.peer("d.test", "127.0.0.5", s2s_options=strict)
        # e.test presents a valid certificate, but for another domain.
        w.e = w.peer("e.test", "127.0.0.6",
                     certificate=w.certificate("other.test"))
        w.spoof_cert, _ = w.certificate("spoof.test")
        w.dns.start()
        for p in (w.c, w.d, w.e):
            p.start()
        yield w
    finally:
        w.stop()


@pytest.fixture
def clients(request):
    from xmpp import Clients
    c = Clients(None)
    yield c
    c.close()


# ---- dialback ---------------------------------------------------------


def test_chat_both_ways_by_dialback(dialback_world, clients):
    w = dialback_world
    alice = w.a.login(clients, "alice")
    bob = w.b.login(clients, "bob")
    chat(alice, bob, "hello from a.test")
    chat(bob, alice, "hello back from b.test")
    assert "by dialback" in w.a.log_text(0)
    assert "by dialback" in w.b.log_text(0)


def test_direct_tls_peer_found_by_xmpps_server_srv(dialback_world, clients):
    """f.test publishes only _xmpps-server._tcp (XEP-0368): TLS from the
    first byte, both ways."""
    w = dialback_world
    alice = w.a.login(clients, "alice")
    frank = w.f.login(clients, "frank")
    chat(alice, frank, "over direct TLS")
    chat(frank, alice, "indeed")
    assert "direct TLS" in w.a.log_text(0)


def test_second_local_domain_shares_the_stream(dialback_world, clients):
    """a.test and a2.test live on one server: once a.test's stream to
    b.test is up, a2.test is authenticated over it by dialback (XEP-0220
    piggybacking) instead of a second connection."""
    w = dialback_world
    alice = w.a.login(clients, "alice")
    anna = w.a.login(clients, "anna", domain="a2.test")
    bob = w.b.login(clients, "bob")
    chat(alice, bob, "first a.test")
    chat(anna, bob, "then a2.test")
    chat(bob, anna, "and back to a2.test")
    assert "a2.test -> b.test, over the stream of conn" in w.a.log_text(0)


def test_dialback_key_with_markup_is_refused(dialback_world):
    """A key is passed on to the authoritative server inside our own
    db:verify: one that could be markup there is refused, not sent."""
    w = dialback_world
    s = RawS2S(w.a, "b.test")
    try:
        s.starttls("a.test")
        s.send("<db:result from='b.test' to='a.test'>x&lt;/db:verify&gt;"
               "&lt;message to='u@b.test'/&gt;</db:result>")
        answer = s.expect("db:result")
        assert answer.get("type") == "invalid", show(answer)
    finally:
        s.close()
    assert "message to='u@b.test'" not in w.b.log_text(0)


def test_many_messages_keep_their_order(dialback_world, clients):
    w = dialback_world
    alice = w.a.login(clients, "alice")
    bob = w.b.login(clients, "bob")
    for i in range(50):
        alice.send_message(bob.bare, "m%d" % i)
    got = [bob.next_message(from_=alice.bare, timeout=15).findtext(
        "{jabber:client}body") for _ in range(50)]
    assert got == ["m%d" % i for i in range(50)]


def test_subscription_and_presence_across_domains(dialback_world, clients):
    w = dialback_world
    alice = w.a.login(clients, "alice")
    bob = w.b.login(clients, "bob")
    alice.roster_set(bob.bare, name="Bob")
    alice.next_push(bob.bare)
    im.subscribe(alice, bob)
    # Approved: alice now gets bob's presence, as she would locally.
    alice.next_presence("available", from_=bob.bare, timeout=15)
    bob.send_presence(status="in a meeting")
    p = alice.next_presence("available", from_=bob.bare, timeout=15)
    assert p.findtext("{jabber:client}status") == "in a meeting"
    assert alice.roster().state(bob.bare) == ("to", None)
    assert bob.roster().item(alice.bare).subscription == "from"
    # And the other way round.
    im.subscribe(bob, alice)
    assert alice.roster().item(bob.bare).subscription == "both"
    assert bob.roster().item(alice.bare).subscription == "both"
    bob.logout()
    p = alice.next_presence("unavailable", from_=bob.bare, timeout=15)
    assert p.get("from").split("/")[0] == bob.bare


def test_iq_to_a_remote_user_is_answered(dialback_world, clients):
    w = dialback_world
    alice = w.a.login(clients, "alice")
    # No such account on b.test: b.test's server answers for it.
    answer = alice.iq("get", im.ET.Element("{urn:xmpp:ping}ping"),
                      to="nobody@b.test/x", timeout=15)
    assert answer.get("type") == "error", im.show(answer)
    assert answer.get("from") == "nobody@b.test/x"


@pytest.mark.parametrize("domain", ["nowhere.test", "noservice.test",
                                    "dead.test"])
def test_unreachable_domain_bounces(dialback_world, clients, domain):
    """No DNS name, a '.' SRV target, a server that does not listen: the
    sender learns it at once, as remote-server-not-found."""
    alice = dialback_world.a.login(clients, "alice")
    alice.send_message("someone@" + domain, "anyone there?")
    bounce = alice.next_message(from_="someone@" + domain, timeout=15)
    assert bounce.get("type") == "error"
    assert error_condition(bounce) == ("cancel", ["remote-server-not-found"])
    assert bounce.findtext("{jabber:client}body") == "anyone there?"


def test_presence_to_unreachable_domain_is_not_bounced(dialback_world,
                                                        clients):
    alice = dialback_world.a.login(clients, "alice")
    alice.send_presence("someone@nowhere.test", "subscribe")
    alice.send_message("someone@nowhere.test", "marker")
    bounce = alice.next_message(from_="someone@nowhere.test", timeout=15)
    assert error_condition(bounce)[1] == ["remote-server-not-found"]
    im.settle(alice)
    errors = alice.presences.drain(lambda p: p.get("type") == "error")
    assert errors == [], [im.show(p) for p in errors]


def test_peer_killed_mid_conversation(dialback_world, clients):
    w = dialback_world
    alice = w.a.login(clients, "alice")
    bob = w.b.login(clients, "bob")
    chat(alice, bob, "before")
    im.kill_everything(w.b.server)
    alice.send_message(bob.bare, "while b.test is down")
    bounce = alice.next_message(from_=bob.bare, timeout=20)
    assert bounce.get("type") == "error", im.show(bounce)
    assert error_condition(bounce)[1] == ["remote-server-not-found"]
    # b.test comes back: federation resumes by itself.
    w.b.start()
    bob = w.b.login(clients, "bob")
    chat(alice, bob, "after")


def test_a_silent_server_times_out(tmp_path, clients):
    """A server that accepts TCP and never says a word: the stanzas that
    wait for it bounce with remote-server-timeout after connect-timeout;
    those past the queue's bound bounce at once."""
    w = World(tmp_path, with_ca=False)
    silent = socket.socket()
    silent.bind(("127.0.0.7", 0))
    silent.listen(8)
    try:
        a = w.peer("a.test", "127.0.0.2", connect_timeout=3,
                   s2s_options="    <queue-size>3</queue-size>\n")
        w.dns.add_host("silent.test", "127.0.0.7")
        w.dns.add_srv("_xmpp-server._tcp", "silent.test", "silent.test",
                      silent.getsockname()[1])
        w.dns.start()
        a.start()
        alice = a.login(clients, "alice")
        started = time.monotonic()
        for i in range(5):
            alice.send_message("x@silent.test", "hello %d?" % i)
        bounces = [alice.next_message(from_="x@silent.test", timeout=15)
                   for _ in range(5)]
        elapsed = time.monotonic() - started
        by_body = {b.findtext("{jabber:client}body"): error_condition(b)
                   for b in bounces}
        full = ("wait", ["resource-constraint"])
        late = ("wait", ["remote-server-timeout"])
        assert by_body == {"hello 0?": late, "hello 1?": late,
                           "hello 2?": late, "hello 3?": full,
                           "hello 4?": full}, by_body
        assert 2.5 < elapsed < 9, elapsed
    finally:
        silent.close()
        w.stop()


def test_a_silent_address_does_not_hide_the_next_one(tmp_path, clients):
    """g.test's first SRV target drops connections (a full accept queue:
    SYNs go unanswered); palabre gives that address up after a third of
    connect-timeout and reaches the second target."""
    w = World(tmp_path, with_ca=False)
    hole = socket.socket()
    hole.bind(("127.0.0.21", 0))
    hole.listen(0)
    fillers = []
    try:
        for _ in range(3):  # fill the accept queue; later SYNs are dropped
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(hole.getsockname())
            fillers.append(f)
        a = w.peer("a.test", "127.0.0.2", connect_timeout=9)
        g = w.peer("g.test", "127.0.0.22", publish=False)
        w.dns.add_host("hole.g.test", "127.0.0.21")
        w.dns.add_host("xmpp.g.test", "127.0.0.22")
        w.dns.add_srv("_xmpp-server._tcp", "g.test", "hole.g.test",
                      hole.getsockname()[1], priority=0)
        w.dns.add_srv("_xmpp-server._tcp", "g.test", "xmpp.g.test",
                      g.s2s_port, priority=10)
        w.dns.start()
        a.start()
        g.start()
        alice = a.login(clients, "alice")
        gus = g.login(clients, "gus")
        started = time.monotonic()
        chat(alice, gus, "through the second address")
        assert 2.5 < time.monotonic() - started < 8.5
        assert "no answer from 127.0.0.21" in a.log_text(0)
    finally:
        for f in fillers:
            f.close()
        hole.close()
        w.stop()


def test_idle_route_closes_and_comes_back(tmp_path, clients):
    w = World(tmp_path, with_ca=False)
    idle = "    <idle-timeout>2</idle-timeout>\n"
    try:
        a = w.peer("a.test", "127.0.0.2", s2s_options=idle)
        b = w.peer("b.test", "127.0.0.3", s2s_options=idle)
        w.dns.start()
        a.start()
        b.start()
        alice = a.login(clients, "alice")
        bob = b.login(clients, "bob")
        chat(alice, bob, "before the pause")
        deadline = time.monotonic() + 10
        while "idle, closing" not in a.log_text(0):
            assert time.monotonic() < deadline, a.log_text()
            clients.sleep(0.2)
        chat(alice, bob, "after the pause")
        chat(bob, alice, "still here")
    finally:
        w.stop()


# ---- certificates and SASL EXTERNAL -------------------------------------


def test_chat_both_ways_by_sasl_external(ca_world, clients):
    """c.test and d.test require valid certificates: no dialback at all."""
    w = ca_world
    carol = w.c.login(clients, "carol")
    dave = w.d.login(clients, "dave")
    chat(carol, dave, "signed by the CA")
    chat(dave, carol, "so is mine")
    assert "by SASL EXTERNAL" in w.c.log_text(0)
    assert "by dialback" not in w.c.log_text(0)


def test_wrong_domain_certificate_is_refused(ca_world, clients):
    """e.test's certificate is valid but names other.test: c.test, which
    requires certificates, accepts nothing from it, either way."""
    w = ca_world
    erin = w.e.login(clients, "erin")
    carol = w.c.login(clients, "carol")
    erin.send_message(carol.bare, "let me in")
    bounce = erin.next_message(from_=carol.bare, timeout=20)
    assert bounce.get("type") == "error", im.show(bounce)
    carol.send_message(erin.bare, "no")
    bounce = carol.next_message(from_=erin.bare, timeout=20)
    assert error_condition(bounce)[1] == ["remote-server-not-found"]
    assert carol.messages.drain() == []


def test_external_refused_for_a_domain_the_certificate_does_not_name(
        ca_world):
    w = ca_world
    s = RawS2S(w.c, "d.test", certificate=w.spoof_cert)
    try:
        features = s.starttls("c.test")
        # The certificate names spoof.test, the header says d.test.
        assert "EXTERNAL" not in [m.text for m in features.iter()
                                  if m.tag.endswith("}mechanism")], \
            show(features)
    finally:
        s.close()


def test_spoofed_from_is_refused(ca_world, clients):
    """A peer authenticated as spoof.test may not send from d.test."""
    w = ca_world
    carol = w.c.login(clients, "carol")
    s = RawS2S(w.c, "spoof.test", certificate=w.spoof_cert)
    try:
        answer = s.external()
        assert answer.tag.endswith("}success"), show(answer)
        s.open("c.test")
        s.send("<message from='dave@d.test/x' to='%s'><body>it is me, "
               "dave</body></message>" % carol.bare)
        s.expect_stream_error("invalid-from")
    finally:
        s.close()
    im.settle(carol)
    assert carol.messages.drain() == []


def test_authenticated_peer_can_send(ca_world, clients):
    """The same stream, from its own domain: delivered."""
    w = ca_world
    carol = w.c.login(clients, "carol")
    s = RawS2S(w.c, "spoof.test", certificate=w.spoof_cert)
    try:
        assert s.external().tag.endswith("}success")
        s.open("c.test")
        s.send("<message from='mallory@spoof.test/x' to='%s' type='chat'>"
               "<body>hi carol</body></message>" % carol.bare)
        got = carol.next_message(from_="mallory@spoof.test", timeout=10)
        assert got.findtext("{jabber:client}body") == "hi carol"
    finally:
        s.close()


def test_stanzas_before_authentication_are_refused(ca_world):
    s = RawS2S(ca_world.c, "spoof.test", certificate=ca_world.spoof_cert)
    try:
        s.starttls("c.test")
        s.send("<message from='a@spoof.test' to='b@c.test'><body>x</body>"
               "</message>")
        s.expect_stream_error("not-authorized")
    finally:
        s.close()


def test_plain_stream_must_start_tls(ca_world):
    s = RawS2S(ca_world.c, "spoof.test")
    try:
        features = s.open("c.test")
        assert features.find(
            "{urn:ietf:params:xml:ns:xmpp-tls}starttls/"
            "{urn:ietf:params:xml:ns:xmpp-tls}required") is not None
        s.send("<db:result from='spoof.test' to='c.test'>abc</db:result>")
        s.expect_stream_error("policy-violation")
    finally:
        s.close()


def test_unknown_host_is_refused(ca_world):
    s = RawS2S(ca_world.c, "spoof.test")
    try:
        s.send(s.stream_header("not-served.test"))
        s.expect_header()
        s.expect_stream_error("host-unknown")
    finally:
        s.close()
