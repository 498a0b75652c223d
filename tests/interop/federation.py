"""Federation test setups: palabred servers for domains under .test, each
on its own loopback address, found through SRV records that a real
dnsmasq (the servers' `resolver`) publishes.

    dns = Dnsmasq(tmp / "dns")
    a = Peer(tmp / "a", "a.test", "127.0.0.2", dns, certificate=(crt, key),
             ca_file=ca)
    b = Peer(tmp / "b", "b.test", "127.0.0.3", dns, …)
    dns.start(); a.start(); b.start()
    alice = a.login(clients, "alice")         # an im.IM on a.test

Clients of every server share one slixmpp event loop (one Clients), so a
test can wait on one user while another's client keeps running.
"""
import base64

import im
from component import ComponentStream, components_section
from palabre import Palabre, free_ports
from rawstream import RawStream

S2S_HEADER = ("<?xml version='1.0'?><stream:stream from='%s' to='%s' "
              "version='1.0' xmlns='jabber:server' "
              "xmlns:db='jabber:server:dialback' "
              "xmlns:stream='http://etherx.jabber.org/streams'>")


def s2s_section(address, ports, dns, *, connect_timeout=10, options=""):
    """ports: (STARTTLS port, direct TLS port or None)."""
    listen = '    <listen address="%s" port="%d"/>\n' % (address, ports[0])
    if ports[1]:
        listen += ('    <listen address="%s" port="%d" tls="direct"/>\n'
                   % (address, ports[1]))
    return ('  <s2s>\n'
            '%s'
            '    <resolver address="%s" port="%d"/>\n'
            '    <connect-timeout>%d</connect-timeout>\n'
            '%s'
            '  </s2s>\n' % (listen, dns.address, dns.port, connect_timeout,
                            options))


class Peer:
    """A palabred serving `domain`, its s2s port on `address`, published
    in dns (SRV _xmpp-server._tcp and an A record) when made. With
    direct_tls, a direct TLS port too (XEP-0368), and only that one is
    published (_xmpps-server._tcp)."""

    def __init__(self, directory, domain, address, dns, *, certificate,
                 ca_file, s2s_ca_file=None, connect_timeout=10,
                 s2s_options="", publish=True, direct_tls=False, also=None,
                 muc=False, components=None):
        """also: {domain: (crt, key)} of further domains it serves. muc:
        a room service, conference.DOMAIN, published in dns as well
        (peers connect to it for dialback, and to send to rooms).
        components: {name: secret} of external components (XEP-0114) it
        accepts on component_port, each name published in dns as the
        room service is (component() connects one), each open to
        federation (federate="true"), unless its value is (secret,
        False): then for palabred's own users only.""" 
        self.domain = domain
        self.muc = "conference." + domain if muc else None
        given = dict(components or {})
        self.components = {n: v[0] if isinstance(v, tuple) else v
                           for n, v in given.items()}
        federated = {n for n, v in given.items() if not isinstance(v, tuple)}
        self.component_port = free_ports(1)[0] if components else None
        certificates = dict(also or {})
        certificates[domain] = certificate
        self.address = address
        self.s2s_port, tls_port = free_ports(2, address)
        self.s2s_tls_port = tls_port if direct_tls else None
        options = s2s_options
        if s2s_ca_file:
            options += "    <ca-file>%s</ca-file>\n" % s2s_ca_file
        extra = "  <muc/>\n" if muc else ""
        if components:
            extra += components_section(directory, self.components,
                                        self.component_port, federated)
        self.server = im.make_server(
            directory, {}, domains=(domain,) + tuple(also or ()), users={},
            certificates=certificates, ca_file=ca_file,
            extra_config=s2s_section(address,
                                     (self.s2s_port, self.s2s_tls_port), dns,
                                     connect_timeout=connect_timeout,
                                     options=options)
            + extra)
        names = list(certificates) + ([self.muc] if muc else []) \
            + list(self.components)
        for name in names if publish else ():
            dns.add_host(name, address)
            if direct_tls:
                dns.add_srv("_xmpps-server._tcp", name, name, tls_port)
            else:
                dns.add_srv("_xmpp-server._tcp", name, name, self.s2s_port)

    def start(self):
        self.server.start()
        self.server.wait_for_components(
            ["sm", "c2s.1", "s2s"] + (["muc"] if self.muc else [])
            + (["accept"] if self.components else []))
        if self.components:
            self.server.wait_for_ports(self.component_port)
        return self

    def component(self, name, **options):
        """A ComponentStream connected as component name (XEP-0114 §3:
        its header and handshake done)."""
        stream = ComponentStream(self.component_port, **options)
        return stream.connect_as(name, self.components[name])

    def stop(self):
        self.server.stop()

    def login(self, clients, name, domain=None):
        """A new account name-N@domain, logged in as Gajim would."""
        clients.server = self.server
        accounts = im.Accounts(self.server, domain or self.domain)
        return im.login(clients, accounts.new(name))

    def log_text(self, tail=20000):
        return self.server.log_text(tail)


class RawS2S(RawStream):
    """A scripted server-to-server stream to a Peer, as domain `local`;
    certificate (crt, key) is presented as the TLS client certificate."""

    def __init__(self, peer, local, *, certificate=None, timeout=5.0):
        self.local = local
        self.remote = peer.domain
        self.certificate = certificate
        super().__init__(peer.s2s_port, address=peer.address,
                         server_name=peer.domain, timeout=timeout)

    def tls_context(self):
        ctx = super().tls_context()
        if self.certificate:
            ctx.load_cert_chain(*self.certificate)
        return ctx

    def stream_header(self, to):
        return S2S_HEADER % (self.local, to)

    def external(self):
        """STARTTLS, then SASL EXTERNAL as `local`; returns the answer."""
        features = self.starttls(self.remote)
        assert "EXTERNAL" in [m.text for m in features.iter()
                              if m.tag.endswith("}mechanism")], \
            "no EXTERNAL offered: %s" % self.dump()
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='EXTERNAL'>%s</auth>"
                  % base64.b64encode(self.local.encode()).decode())
        return self.read_element()
