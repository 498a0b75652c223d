"""An external component (XEP-0114) over a plain socket, for the tests:
the stream header, the handshake, then stanzas either way.

    c = ComponentStream(port)
    c.open("irc.localhost")          # our header; returns the stream id
    c.handshake("secret")            # <handshake/> expected
    c.send("<message from='bot@irc.localhost' to='alice@localhost'>…")
    m = c.expect("component:message")

And Components, a palabred with <components>: its secret files written
in its directory and its port chosen per run.
"""
import hashlib
import os

from palabre import Palabre, free_ports
from rawstream import NS, RawStream

NS["component"] = "jabber:component:accept"

HEADER = ("<?xml version='1.0'?><stream:stream to='%s' "
          "xmlns='jabber:component:accept' "
          "xmlns:stream='http://etherx.jabber.org/streams'>")


def handshake_digest(stream_id, secret):
    """XEP-0114 §3: lowercase hex of SHA-1(stream id ‖ secret)."""
    return hashlib.sha1((stream_id + secret).encode()).hexdigest()


class ComponentStream(RawStream):
    def open(self, name):
        """Opens a stream as component `name`; returns the server's stream
        id (its header must come from name)."""
        self._new_parser()
        self.header = None
        self.send(HEADER % name)
        header = self.expect_header()
        assert header.get("from") == name, "header from %r\n%s" % (
            header.get("from"), self.dump())
        assert header.get("id"), "no stream id\n" + self.dump()
        return header.get("id")

    def handshake(self, secret, stream_id=None):
        """Sends the handshake for the current stream (the server answers
        <handshake/> on success)."""
        digest = handshake_digest(stream_id or self.header.get("id"), secret)
        self.send("<handshake>%s</handshake>" % digest)

    def connect_as(self, name, secret):
        """open and handshake, asserting success."""
        self.open(name)
        self.handshake(secret)
        answer = self.read_element()
        assert answer.tag == "{%s}handshake" % NS["component"], \
            "expected <handshake/>, got %s" % self.dump()
        assert not list(answer) and not (answer.text or "").strip()
        return self


def components_section(directory, components, port, federated=()):
    """The <components> section serving components {name: secret} on
    127.0.0.1:port, each secret written in a file of its own in
    directory (the configuration's); those named in federated get
    federate="true" (users of other servers may use them)."""
    os.makedirs(str(directory), exist_ok=True)
    elements = ""
    for i, (name, secret) in enumerate(components.items()):
        path = os.path.join(str(directory), "component%d.secret" % i)
        with open(path, "w") as f:
            f.write(secret + "\n")
        os.chmod(path, 0o600)
        elements += ('    <component name="%s" secret-file="%s"%s/>\n'
                     % (name, os.path.basename(path),
                        ' federate="true"' if name in federated else ""))
    return ('  <components>\n'
            '    <listen address="127.0.0.1" port="%d"/>\n%s'
            '  </components>\n' % (port, elements))


class Components(Palabre):
    """A palabred with <components> listening on a free port, serving
    components: {name: secret}, each secret in a file of its own."""

    def __init__(self, directory, certs, components, **options):
        self.component_port = free_ports(1)[0]
        extra = components_section(directory, components, self.component_port)
        options["extra_config"] = options.get("extra_config", "") + extra
        super().__init__(directory, certs, **options)

    def start(self):
        super().start()
        with self.stopped_on_failure():
            self.wait_for_ports(self.component_port)
        return self

    def component(self, **options):
        """A ComponentStream to the component port (not opened)."""
        return ComponentStream(self.component_port, **options)
