"""A scripted XMPP stream over a plain socket, for what slixmpp can't say.

In the spirit of OpenSMTPD's smtpscript: send this, expect that.

    s = RawStream(server.c2s_port)
    features = s.open("localhost")
    assert has(features, "tls:starttls/tls:required")
    s.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
           "AGFsaWNlAHNlY3JldA==</auth>")
    s.expect_stream_error("policy-violation")  # or a <failure/>

Every read has a deadline (5 s unless told), so a silent server fails the
test instead of hanging it.
"""
import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import socket
import ssl
import time
import xml.etree.ElementTree as ET

NS = {
    "stream": "http://etherx.jabber.org/streams",
    "streams": "urn:ietf:params:xml:ns:xmpp-streams",
    "tls": "urn:ietf:params:xml:ns:xmpp-tls",
    "sasl": "urn:ietf:params:xml:ns:xmpp-sasl",
    "bind": "urn:ietf:params:xml:ns:xmpp-bind",
    "session": "urn:ietf:params:xml:ns:xmpp-session",
    "client": "jabber:client",
    "stanzas": "urn:ietf:params:xml:ns:xmpp-stanzas",
    "sasl-cb": "urn:xmpp:sasl-cb:0",
    "server": "jabber:server",
    "db": "jabber:server:dialback",
}

STREAM_HEADER = ("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
                 "xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams'>")


def q(path):
    """'sasl:mechanisms/sasl:mechanism' → ElementTree path in Clark notation."""
    parts = []
    for step in path.split("/"):
        if ":" in step:
            prefix, local = step.split(":", 1)
            parts.append("{%s}%s" % (NS[prefix], local))
        else:
            parts.append(step)
    return "/".join(parts)


def tag(name):
    return q(name)


def has(element, path):
    return element is not None and element.find(q(path)) is not None


def mechanisms(features):
    return [m.text for m in features.findall(q("sasl:mechanisms/sasl:mechanism"))]


def show(element):
    return ET.tostring(element, encoding="unicode") if element is not None \
        else "(nothing)"


class StreamClosed(AssertionError):
    pass


class RawStream:
    def __init__(self, port, *, direct_tls=False, server_name="localhost",
                 ca_file=None, timeout=5.0, max_tls=None,
                 address="127.0.0.1", source=None):
        """source: the local address to connect from (e.g. 127.0.0.2)."""
        self.timeout = timeout
        self.server_name = server_name
        self.ca_file = ca_file
        self.max_tls = max_tls
        self.sock = socket.create_connection(
            (address, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.closed = False
        self.header = None
        self.transcript = []
        self._new_parser()
        if direct_tls:
            self.start_tls()

    # ---- TLS ----------------------------------------------------------

    def tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ca_file:
            ctx.load_verify_locations(cafile=self.ca_file)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.max_tls:
            ctx.maximum_version = self.max_tls
        return ctx

    def start_tls(self):
        """TLS handshake on the socket (after <proceed/>, or at once for
        direct TLS)."""
        self.sock = self.tls_context().wrap_socket(
            self.sock, server_hostname=self.server_name)
        self._new_parser()

    @property
    def tls_version(self):
        return self.sock.version() if isinstance(self.sock, ssl.SSLSocket) \
            else None

    def peer_certificate_names(self):
        """DNS names of the certificate the server presented."""
        der = self.sock.getpeercert(binary_form=True)
        pem = ssl.DER_cert_to_PEM_cert(der)
        import subprocess
        out = subprocess.run(["openssl", "x509", "-noout", "-ext",
                              "subjectAltName"], input=pem,
                             capture_output=True, text=True, timeout=10)
        return [n.strip()[4:] for n in out.stdout.replace("\n", ",").split(",")
                if n.strip().startswith("DNS:")]

    # ---- reading ------------------------------------------------------

    def _new_parser(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.pending = []
        self.stream_ended = False

    def _feed(self, data):
        self.transcript.append(("in", data))
        self.parser.feed(data)
        for event, el in self.parser.read_events():
            if event == "start":
                self.depth += 1
                if self.depth == 1:
                    self.header = el
            else:
                self.depth -= 1
                if self.depth == 1:
                    self.pending.append(el)
                    self.header.remove(el)  # keep the tree small
                elif self.depth == 0:
                    self.stream_ended = True

    def _fill(self, deadline):
        """Reads once from the socket; False when the peer closed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                "timed out waiting for the server\n" + self.dump())
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(
                "timed out waiting for the server\n" + self.dump())
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        self._feed(data)
        return True

    def read_element(self, timeout=None):
        """The next top-level element the server sent."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.pending:
            if self.stream_ended or self.closed:
                raise StreamClosed("stream closed by the server\n"
                                   + self.dump())
            self._fill(deadline)
        return self.pending.pop(0)

    def expect(self, name, timeout=None):
        """Reads the next element and asserts its name ('sasl:success')."""
        el = self.read_element(timeout)
        assert el.tag == tag(name), "expected <%s>, got %s\n%s" % (
            name, show(el), self.dump())
        return el

    def expect_header(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.header is None:
            if self.closed:
                raise StreamClosed("closed before a stream header\n"
                                   + self.dump())
            self._fill(deadline)
        return self.header

    def expect_stream_error(self, condition, timeout=None):
        """The server sends <stream:error><CONDITION/> then closes.
        condition may be a tuple of the conditions that would be right."""
        allowed = condition if isinstance(condition, tuple) else (condition,)
        el = self.read_element(timeout)
        assert el.tag == tag("stream:error"), \
            "expected <stream:error><%s/>, got %s\n%s" % (
                condition, show(el), self.dump())
        got = [c.tag.split("}")[1] for c in el
               if c.tag.startswith("{%s}" % NS["streams"])
               and c.tag != tag("streams:text")]
        assert len(got) == 1 and got[0] in allowed, \
            "expected stream error %s, got %s" % (condition, show(el))
        self.expect_closed(timeout)
        return el

    def expect_closed(self, timeout=None):
        """The server ends the stream (</stream:stream> or closing TCP)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not (self.stream_ended or self.closed):
            self._fill(deadline)
        assert not self.pending, "more after the end of the stream: %s" % (
            [show(e) for e in self.pending])

    def dump(self):
        lines = []
        for direction, data in self.transcript[-30:]:
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) \
                else data
            lines.append("%s %s" % ("C:" if direction == "out" else "S:",
                                    text[:2000]))
        return "--- transcript ---\n" + "\n".join(lines)

    # ---- writing ------------------------------------------------------

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.transcript.append(("out", data))
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- the usual steps ------------------------------------------------

    def stream_header(self, to):
        return STREAM_HEADER % to

    def open(self, to="localhost"):
        """Opens a stream to `to`; returns its <stream:features/>."""
        self._new_parser()
        self.header = None
        self.send(self.stream_header(to))
        self.expect_header()
        return self.expect("stream:features")

    def starttls(self, to="localhost"):
        """STARTTLS on a fresh stream; returns the features after TLS."""
        features = self.open(to)
        assert has(features, "tls:starttls"), show(features)
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.expect("tls:proceed")
        self.start_tls()
        return self.open(to)

    def auth(self, mechanism, initial=None):
        """Sends <auth/>; initial is bytes (None: no initial response)."""
        if initial is None:
            body = ""
        elif initial == b"":
            body = "="
        else:
            body = base64.b64encode(initial).decode()
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='%s'>%s</auth>" % (mechanism, body))
        return self.read_element()

    def response(self, data):
        body = base64.b64encode(data).decode() if data else ""
        self.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                  "%s</response>" % body)
        return self.read_element()

    def auth_plain(self, username, password):
        return self.auth("PLAIN", b"\0" + username.encode() + b"\0"
                         + password.encode())

    def bind(self, resource=None):
        """Binds a resource; returns the <iq/> answer."""
        res = "<resource>%s</resource>" % resource if resource else ""
        self.send("<iq type='set' id='bind1'><bind xmlns='%s'>%s</bind></iq>"
                  % (NS["bind"], res))
        return self.expect("client:iq")

    def login(self, jid, password, resource="raw", direct_tls=False):
        """STARTTLS (unless direct TLS), PLAIN, bind; returns the full JID."""
        user, domain = jid.split("@")
        if direct_tls:
            self.open(domain)
        else:
            self.starttls(domain)
        ok = self.auth_plain(user, password)
        assert ok.tag == tag("sasl:success"), show(ok)
        features = self.open(domain)
        assert has(features, "bind:bind"), show(features)
        iq = self.bind(resource)
        assert iq.get("type") == "result", show(iq)
        return iq.find(q("bind:bind/bind:jid")).text


# ---- SCRAM by hand (RFC 5802), with channel binding ----------------------

def channel_binding(sock, cb_type):
    """Channel-binding data of an ssl socket for cb_type."""
    if cb_type == "tls-unique":
        return sock.get_channel_binding("tls-unique")
    if cb_type == "tls-server-end-point":
        # RFC 5929 §4.1: hash of the server's certificate, SHA-256 for
        # certificates signed with SHA-1 or SHA-256 (ours: sha256WithRSA).
        return hashlib.sha256(sock.getpeercert(binary_form=True)).digest()
    if cb_type == "tls-exporter":
        # RFC 9266: 32 bytes of EXPORTER-Channel-Binding, empty context.
        return export_keying_material(sock, b"EXPORTER-Channel-Binding", 32)
    raise ValueError(cb_type)


def export_keying_material(sock, label, length):
    """SSL_export_keying_material on a Python ssl socket.

    Python's ssl module has no binding for it, so this reaches the SSL*
    inside the _ssl._SSLSocket object (CPython: after PyObject_HEAD and
    one PyObject*) and checks that it is the right one by asking OpenSSL
    for the connection's protocol version and comparing with Python's."""
    libssl = ctypes.CDLL(ctypes.util.find_library("ssl") or "libssl.so.3")
    libssl.SSL_get_version.restype = ctypes.c_char_p
    libssl.SSL_get_version.argtypes = [ctypes.c_void_p]
    libssl.SSL_export_keying_material.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
        ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    sslobj = sock._sslobj
    ptr = ctypes.c_void_p.from_address(id(sslobj) + 3 * ctypes.sizeof(
        ctypes.c_void_p)).value
    assert ptr and libssl.SSL_get_version(ptr).decode() == sock.version(), \
        "cannot reach OpenSSL's SSL* from Python's ssl socket"
    out = ctypes.create_string_buffer(length)
    rc = libssl.SSL_export_keying_material(ptr, out, length, label,
                                           len(label), None, 0, 0)
    assert rc == 1, "SSL_export_keying_material failed"
    return out.raw


def scram_login(stream, mechanism, username, password, cb_type=None,
                cb_data=None):
    """Runs SCRAM-SHA-1(-PLUS) or SCRAM-SHA-256(-PLUS) on stream.

    cb_type: for -PLUS, the channel binding type; otherwise "y" to send the
    gs2 flag y (client could bind, thinks the server can't), else "n".
    cb_data: channel-binding bytes to send instead of the true ones.
    Returns the server's last element (<success/> or <failure/>); on
    success also checks the server signature (mutual authentication)."""
    digest = hashlib.sha256 if "SHA-256" in mechanism else hashlib.sha1
    plus = mechanism.endswith("-PLUS")
    if plus:
        gs2 = b"p=" + cb_type.encode() + b",,"
        if cb_data is None:
            cb_data = channel_binding(stream.sock, cb_type)
    else:
        gs2 = b"y,," if cb_type == "y" else b"n,,"
        cb_data = b""
    cnonce = base64.b64encode(os.urandom(18))
    first_bare = b"n=" + username.encode() + b",r=" + cnonce
    answer = stream.auth(mechanism, gs2 + first_bare)
    if answer.tag != tag("sasl:challenge"):
        return answer
    server_first = base64.b64decode(answer.text or "")
    attrs = dict(kv.split(b"=", 1) for kv in server_first.split(b","))
    assert attrs[b"r"].startswith(cnonce), server_first
    salted = hashlib.pbkdf2_hmac(digest().name, password.encode(),
                                 base64.b64decode(attrs[b"s"]),
                                 int(attrs[b"i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = digest(client_key).digest()
    final_bare = (b"c=" + base64.b64encode(gs2 + cb_data) + b",r="
                  + attrs[b"r"])
    auth_message = first_bare + b"," + server_first + b"," + final_bare
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    answer = stream.response(final_bare + b",p=" + base64.b64encode(proof))
    if answer.tag == tag("sasl:success"):
        server_key = hmac.new(salted, b"Server Key", digest).digest()
        expected = hmac.new(server_key, auth_message, digest).digest()
        final = base64.b64decode(answer.text or "")
        assert final == b"v=" + base64.b64encode(expected), \
            "the server's SCRAM signature is wrong: %r" % final
    return answer
