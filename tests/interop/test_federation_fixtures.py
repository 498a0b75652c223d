"""Self-tests of the federation test infrastructure, with Prosody as both
servers (palabre's s2s is not involved here).

- dnsmasq answers SRV, A and "no service" records, NXDOMAIN for other
  .test names, and refuses the rest (nothing is forwarded);
- the test CA issues certificates with the identities asked for;
- two Prosodys, p1.test on 127.0.0.4 and p2.test on 127.0.0.5, each
  published in dnsmasq by an _xmpp-server._tcp SRV record pointing at its
  s2s port (a free port: only the SRV record leads there), exchange
  messages both ways: once authenticated by dialback (self-signed
  certificates), once by certificates from the test CA with
  s2s_secure_auth (SASL EXTERNAL); and s2s_secure_auth refuses a peer
  whose certificate it cannot verify;
- palabre.py's federation options: its own address, given certificates,
  extra configuration.

Every daemon is stopped by its pid when the test ends, failed or not.
"""
import contextlib
import os
import socket
import subprocess

import pytest

from dnsmasq import Dnsmasq, probe, query
from palabre import Palabre, pid_alive
from prosody import Prosody
from testca import TestCA, describe, self_signed
from xmpp import Clients

WAIT = 15.0  # s2s needs DNS, two TCP connections, TLS and dialback

USERS = {"alice@p1.test": "alice-p1-Secret", "bob@p2.test": "bob-p2-Secret"}


# ---- dnsmasq --------------------------------------------------------------

@pytest.fixture
def dns(tmp_path):
    d = Dnsmasq(tmp_path / "dns")
    yield d
    d.stop()


def test_dnsmasq_answers_its_records_and_nxdomain(dns):
    dns.add_host("a.test", "127.0.0.4")
    dns.add_srv("_xmpp-server._tcp", "a.test", "xmpp.a.test", 5269,
                priority=5, weight=10)
    dns.add_srv("_xmpp-server._tcp", "a.test", "backup.a.test", 5270,
                priority=10)
    dns.add_no_service("_xmpp-server._tcp", "b.test")
    dns.start()
    assert query(dns, "a.test", "A") == ["127.0.0.4"], dns.log_text()
    assert query(dns, "_xmpp-server._tcp.a.test", "SRV") == [
        (5, 10, 5269, "xmpp.a.test"), (10, 0, 5270, "backup.a.test")]
    assert [r[3] for r in query(dns, "_xmpp-server._tcp.b.test", "SRV")] \
        == ["."]
    for name, qtype in (("unknown.test", "A"),
                        ("_xmpp-server._tcp.c.test", "SRV")):
        with pytest.raises(LookupError) as e:
            query(dns, name, qtype)
        assert str(e.value) == "ARES_ENOTFOUND", (name, e.value)
    # Names outside .test are not forwarded anywhere: refused.
    with pytest.raises(LookupError) as e:
        query(dns, "example.org", "A")
    assert str(e.value) != "ARES_ENOTFOUND"
    log = dns.log_text(0)
    assert "query[SRV] _xmpp-server._tcp.a.test from 127.0.0.1" in log
    assert "config unknown.test is NXDOMAIN" in log
    assert "forwarded" not in log


def test_dnsmasq_restart_keeps_its_port(dns):
    dns.add_host("a.test", "127.0.0.4")
    port = dns.port
    dns.start()
    dns.add_host("z.test", "127.0.0.9")
    dns.restart()
    assert dns.port == port
    assert query(dns, "z.test", "A") == ["127.0.0.9"]
    pid = dns.pid
    dns.stop()
    assert not pid_alive(pid), "dnsmasq %d still runs" % pid
    assert probe(dns.address, dns.port, timeout=0.3) is None


# ---- the test CA ------------------------------------------------------------

def verify(ca_file, crt, purpose):
    return subprocess.run(["openssl", "verify", "-CAfile", ca_file,
                           "-purpose", purpose, crt],
                          capture_output=True, text=True, timeout=30)


def test_ca_issues_the_identities_asked_for(tmp_path):
    ca = TestCA(tmp_path / "ca")
    crt, key = ca.issue("a.test", srv_ids=("a.test",),
                        xmpp_addrs=("a.test",))
    text = describe(crt)
    assert "DNS:a.test" in text
    assert "SRVName::_xmpp-server.a.test" in text, text
    assert "XmppAddr::a.test" in text, text
    assert "TLS Web Server Authentication" in text
    assert "TLS Web Client Authentication" in text
    for purpose in ("sslserver", "sslclient"):
        r = verify(ca.file, crt, purpose)
        assert r.returncode == 0, r.stdout + r.stderr
    assert os.stat(key).st_mode & 0o077 == 0

    only_srv, _ = ca.issue("a.test", dns=(), srv_ids=("a.test",), cn="")
    text = describe(only_srv)
    assert "DNS:" not in text and "SRVName::_xmpp-server.a.test" in text
    assert "CN" not in text.splitlines()[0], text

    own, _ = self_signed(tmp_path / "own", "a.test")
    assert "DNS:a.test" in describe(own)
    assert verify(ca.file, own, "sslserver").returncode != 0


# ---- two Prosodys -------------------------------------------------------------

class Federation:
    """dnsmasq and Prosodys, all stopped by close(); their users are
    xmpp.Clients on one event loop."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.dns = Dnsmasq(tmp_path / "dns")
        self.servers = []
        self.clients = None

    def prosody(self, domain, address, **options):
        """A Prosody for domain on address, with its A and SRV records."""
        p = Prosody(self.tmp / domain, domain, address, self.dns, **options)
        self.servers.append(p)
        self.dns.add_host(domain, address)
        self.dns.add_srv("_xmpp-server._tcp", domain, domain, p.s2s_port)
        for jid, password in USERS.items():
            if jid.endswith("@" + domain):
                p.add_user(jid, password)
        return p

    def start(self):
        self.dns.start()
        for p in self.servers:
            p.start()
        self.clients = Clients(None)
        return self

    def logs(self):
        return "\n".join(s.log_text(6000) for s in self.servers + [self.dns])

    @contextlib.contextmanager
    def reported(self):
        """A failure inside says what every daemon logged."""
        try:
            yield
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.logs())) from None

    def login(self, jid, server):
        """An xmpp.Client of server (a Prosody) logged in over STARTTLS on
        server.address, checking the server's certificate against
        server.ca_file, with available presence sent. Prosody 0.12 offers
        SCRAM-SHA-1 and PLAIN."""
        self.clients.server = server
        with self.reported():
            client = self.clients.login(jid + "/test", USERS[jid],
                                        mech="SCRAM-SHA-1", timeout=WAIT)
            client.available()
        return client

    def start_with_users(self, p1, p2):
        """Starts dnsmasq and the Prosodys; returns alice@p1.test and
        bob@p2.test, logged in."""
        self.start()
        return (self.login("alice@p1.test", p1),
                self.login("bob@p2.test", p2))

    def next_message(self, client, timeout=WAIT):
        with self.reported():
            return client.next_message(timeout)

    def close(self):
        if self.clients:
            self.clients.close()
        for p in self.servers:
            p.stop()
        self.dns.stop()


@pytest.fixture
def federation(tmp_path):
    f = Federation(tmp_path)
    yield f
    f.close()


def federate(federation, p1, p2):
    """Starts dnsmasq, p1.test and p2.test; alice@p1.test and bob@p2.test
    write to each other, both servers resolving through dnsmasq. Returns
    (prosody, its peer's domain, its log, the log's tail) for p1 and p2."""
    alice, bob = federation.start_with_users(p1, p2)
    alice.send_message(mto="bob@p2.test", mbody="hello from p1",
                       mtype="chat")
    m = federation.next_message(bob)
    assert (m["from"].bare, m["body"]) == ("alice@p1.test", "hello from p1")
    bob.send_message(mto=alice.jid, mbody="hello from p2", mtype="chat")
    m = federation.next_message(alice)
    assert (m["from"].bare, m["body"]) == ("bob@p2.test", "hello from p2")
    assert_resolved_by_dnsmasq(federation.dns, "p1.test", "p2.test")
    return [(p, peer, p.log_text(0), p.log_text())
            for p, peer in ((p1, "p2.test"), (p2, "p1.test"))]


def assert_resolved_by_dnsmasq(dns, *domains):
    log = dns.log_text(0)
    for domain in domains:
        assert "query[SRV] _xmpp-server._tcp.%s" % domain in log, log
        assert "query[A] %s" % domain in log, log


def test_prosodys_federate_by_dialback(federation):
    ss = federation.tmp / "certs"
    p1 = federation.prosody("p1.test", "127.0.0.4",
                            certificate=self_signed(ss, "p1.test"))
    p2 = federation.prosody("p2.test", "127.0.0.5",
                            certificate=self_signed(ss, "p2.test"))
    for p, peer, log, tail in federate(federation, p1, p2):
        # It could not verify the peer's certificate, neither as a TLS
        # server (outgoing) nor as a TLS client (incoming)…
        assert log.count("certificate chain validation result: invalid") \
            >= 2, tail
        assert "Offering SASL EXTERNAL" not in log, tail
        # …so each authenticated the other by dialback: it asked the
        # peer's authoritative server about the key received inbound, and
        # answered the peer's question about its own key.
        assert "Initiating dialback" in log, tail
        assert "asking %s if key" % peer in log, tail
        assert "verified dialback key... it is valid" in log, tail
        assert "Incoming s2s connection %s->%s complete" % (
            peer, p.domain) in log, tail
        assert "Outgoing s2s connection %s->%s complete" % (
            p.domain, peer) in log, tail


def test_prosodys_federate_by_ca_certificates(federation):
    ca = TestCA(federation.tmp / "ca")
    p1 = federation.prosody("p1.test", "127.0.0.4",
                            certificate=ca.issue("p1.test"),
                            ca_file=ca.file, s2s_secure_auth=True)
    p2 = federation.prosody("p2.test", "127.0.0.5",
                            certificate=ca.issue("p2.test"),
                            ca_file=ca.file, s2s_secure_auth=True)
    for p, peer, log, tail in federate(federation, p1, p2):
        # Valid both ways: the peer's certificate as a TLS server and as a
        # TLS client, for the peer's domain…
        assert log.count("certificate chain validation result: valid") \
            >= 2, tail
        assert log.count("certificate identity validation result: valid") \
            >= 2, tail
        # …so SASL EXTERNAL, inbound and outbound, and no dialback.
        assert "Accepting SASL EXTERNAL identity from %s" % peer in log, tail
        assert "SASL EXTERNAL with %s succeeded" % peer in log, tail
        assert "Initiating dialback" not in log, tail


def test_secure_auth_refuses_a_peer_it_cannot_verify(federation):
    """p2 requires a valid certificate (s2s_secure_auth); p1 only has a
    self-signed one: p2 does not take p1's message, which bounces."""
    ca = TestCA(federation.tmp / "ca")
    p1 = federation.prosody(
        "p1.test", "127.0.0.4",
        certificate=self_signed(federation.tmp / "certs", "p1.test"))
    p2 = federation.prosody("p2.test", "127.0.0.5",
                            certificate=ca.issue("p2.test"),
                            ca_file=ca.file, s2s_secure_auth=True)
    alice, bob = federation.start_with_users(p1, p2)
    alice.send_message(mto="bob@p2.test", mbody="let me in", mtype="chat")
    bounce = federation.next_message(alice)
    assert bounce["type"] == "error", bounce
    assert bounce["from"].bare == "bob@p2.test", bounce
    assert bounce["error"]["condition"] in ("remote-server-not-found",
                                            "remote-server-timeout",
                                            "not-authorized"), bounce
    assert bob.messages.empty(), bob.messages.get_nowait()
    log, tail = p2.log_text(0), p2.log_text()
    assert "certificate chain validation result: invalid" in log, tail
    assert "Forbidding insecure connection to/from p1.test" in log, tail
    assert "Offering SASL EXTERNAL" not in log, tail
    assert "Incoming s2s connection p1.test->p2.test complete" not in log, \
        tail


# ---- palabre.py's federation options ------------------------------------------

def test_palabre_on_its_own_address_with_given_certificates(tmp_path, certs):
    """Palabre(address=, certificates=, ca_file=, extra_config=): listens
    on 127.0.0.6 only, serves a.test with the CA-issued certificate, and
    its configuration ends with the extra XML."""
    ca = TestCA(tmp_path / "ca")
    server = Palabre(tmp_path / "palabred", certs, domains=("a.test",),
                     address="127.0.0.6",
                     certificates={"a.test": ca.issue("a.test")},
                     ca_file=ca.file, users={"ann@a.test": "ann-Secret-1"},
                     extra_config="  <!-- federation goes here -->\n")
    with open(server.config) as f:
        assert f.read().endswith(
            "  </sm>\n  <!-- federation goes here -->\n</palabred>\n")
    clients = None
    try:
        server.start()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.c2s_port),
                                     timeout=2).close()
        clients = Clients(server)
        # slixmpp checks the certificate against the test CA for a.test.
        clients.login("ann@a.test/test", "ann-Secret-1", mech="PLAIN",
                      timeout=WAIT)
    finally:
        if clients:
            clients.close()
        server.stop()


@pytest.mark.parametrize("identity, accepted", [
    ("srv-id", True),      # only SRVName _xmpp-server.p1.test
    ("xmppaddr", False),   # only XmppAddr p1.test: not enough for 0.12
    ("other-domain", False),  # a valid certificate, for other.test
])
def test_which_certificates_a_secure_prosody_accepts(federation, identity,
                                                     accepted):
    """p2 (s2s_secure_auth) trusts the CA; p1's CA-issued certificate
    names p1.test only in the way given. Prosody 0.12 checks a peer's
    identity with verify_identity(host, "xmpp-server", cert): SRV-ID and
    DNS-ID match, but XmppAddr is compared only for the service
    "_xmpp-server" (with the underscore), so an XmppAddr-only certificate
    is never valid for s2s, and the CN is ignored once any of these
    subjectAltNames is present."""
    ca = TestCA(federation.tmp / "ca")
    crt = {"srv-id": lambda: ca.issue("p1.test", dns=(),
                                      srv_ids=("p1.test",)),
           "xmppaddr": lambda: ca.issue("p1.test", dns=(),
                                        xmpp_addrs=("p1.test",)),
           "other-domain": lambda: ca.issue("other.test")}[identity]()
    p1 = federation.prosody("p1.test", "127.0.0.4", certificate=crt,
                            ca_file=ca.file)
    p2 = federation.prosody("p2.test", "127.0.0.5",
                            certificate=ca.issue("p2.test"),
                            ca_file=ca.file, s2s_secure_auth=True)
    alice, bob = federation.start_with_users(p1, p2)
    alice.send_message(mto="bob@p2.test", mbody="hello", mtype="chat")
    log = p2.log_text(0)
    if accepted:
        m = federation.next_message(bob)
        assert (m["from"].bare, m["body"]) == ("alice@p1.test", "hello")
        log = p2.log_text(0)
        assert "certificate identity validation result: valid" in log
        assert "Accepting SASL EXTERNAL identity from p1.test" in log, \
            p2.log_text()
    else:
        bounce = federation.next_message(alice)
        assert bounce["type"] == "error", bounce
        assert bob.messages.empty(), bob.messages.get_nowait()
        log = p2.log_text(0)
        assert "certificate chain validation result: valid" in log
        assert "certificate identity validation result: invalid" in log, \
            p2.log_text()
        assert "Accepting SASL EXTERNAL" not in log, p2.log_text()
        assert "Forbidding insecure connection to/from p1.test because its " \
            "certificate is not valid for this name" in log, p2.log_text()
