"""A real coturn (Debian coturn's turnserver) and a small TURN client.

    with Coturn(tmp, secret="s3cret") as turn:     # or start() … stop()
        turn.address, turn.port                   # 127.0.0.1, per run
        allocate(turn.address, turn.port, username, password)
            # → ("success", (relayed ip, port)) or ("error", 401)

coturn runs in the foreground, with no configuration file (-n) and
everything on its command line: the TURN REST API's shared secret
(use-auth-secret, static-auth-secret), a realm, UDP and TCP on one port
of 127.0.0.1 only, relay ports of 127.0.0.1, no TLS, no DTLS, no CLI, no
RFC 5780 second port, its user database and log in its own directory.
It is stopped by its process id.

The client speaks STUN (RFC 8489) over UDP: a Binding request to see
that the server is up, and an Allocate (RFC 8656 §7) with long-term
credentials (RFC 8489 §9.2): the first, bare, gets 401 with the realm
and a nonce; the second carries USERNAME, REALM, NONCE and
MESSAGE-INTEGRITY keyed with MD5(username:realm:password).
"""
import hashlib
import hmac
import os
import random
import socket
import struct
import time

from daemon import Daemon, read
from dnsmasq import free_udp_tcp_port

TURNSERVER = "/usr/bin/turnserver"
REALM = "palabre.test"
RELAY_PORTS = 50  # relay endpoints coturn may open

MAGIC = 0x2112A442
BINDING, ALLOCATE, REFRESH = 0x001, 0x003, 0x004
SUCCESS, ERROR = 0x100, 0x110  # class bits added to the method
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
LIFETIME, XOR_RELAYED_ADDRESS = 0x000D, 0x0016
REALM_ATTR, NONCE, REQUESTED_TRANSPORT = 0x0014, 0x0015, 0x0019
UDP = 17


# ---- STUN messages ------------------------------------------------------

def attribute(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def message(kind, tid, attributes=b""):
    return struct.pack("!HHI", kind, len(attributes), MAGIC) + tid + \
        attributes


def with_integrity(kind, tid, attributes, key):
    """The message with MESSAGE-INTEGRITY last (RFC 8489 §14.5): HMAC-SHA1
    over the message whose length already counts that attribute."""
    header = struct.pack("!HHI", kind, len(attributes) + 24, MAGIC) + tid
    mac = hmac.new(key, header + attributes, hashlib.sha1).digest()
    return header + attributes + attribute(MESSAGE_INTEGRITY, mac)


def parse(data):
    """(type, transaction id, {attribute type: value})."""
    kind, length, magic = struct.unpack("!HHI", data[:8])
    assert magic == MAGIC, "not a STUN message: %r" % data[:20]
    tid, body, attrs = data[8:20], data[20:20 + length], {}
    while len(body) >= 4:
        t, n = struct.unpack("!HH", body[:4])
        attrs.setdefault(t, body[4:4 + n])
        body = body[4 + (n + 3) // 4 * 4:]
    return kind, tid, attrs


def error_code(attrs):
    value = attrs.get(ERROR_CODE, b"\0\0\0\0")
    return (value[2] & 7) * 100 + value[3]


def xor_address(value):
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC >> 16)
    ip = struct.unpack("!I", value[4:8])[0] ^ MAGIC
    return socket.inet_ntoa(struct.pack("!I", ip)), port


def exchange(sock, request, address, timeout=2.0):
    """Sends request, returns the parsed answer of the same transaction."""
    sock.settimeout(timeout)
    sock.sendto(request, address)
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        data, _ = sock.recvfrom(2048)
        kind, tid, attrs = parse(data)
        if tid == request[8:20]:
            return kind, attrs


# ---- TURN --------------------------------------------------------------

def allocate(host, port, username, password):
    """An Allocate with long-term credentials, released at once when it
    succeeded: ("success", relayed address) or ("error", code)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        transport = attribute(REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))
        kind, attrs = exchange(sock, message(ALLOCATE, os.urandom(12),
                                             transport), (host, port))
        assert kind == ALLOCATE | ERROR and error_code(attrs) == 401, \
            "a bare Allocate should get 401, got %#x %r" % (kind, attrs)
        realm, nonce = attrs[REALM_ATTR], attrs[NONCE]
        key = hashlib.md5(b"%s:%s:%s" % (username.encode(), realm,
                                         password.encode())).digest()
        signed = (transport + attribute(USERNAME, username.encode()) +
                  attribute(REALM_ATTR, realm) + attribute(NONCE, nonce))
        kind, attrs = exchange(sock, with_integrity(
            ALLOCATE, os.urandom(12), signed, key), (host, port))
        if kind != ALLOCATE | SUCCESS:
            return "error", error_code(attrs)
        relayed = xor_address(attrs[XOR_RELAYED_ADDRESS])
        release = (attribute(LIFETIME, struct.pack("!I", 0)) +
                   attribute(USERNAME, username.encode()) +
                   attribute(REALM_ATTR, realm) + attribute(NONCE, nonce))
        exchange(sock, with_integrity(REFRESH, os.urandom(12), release,
                                      key), (host, port))
        return "success", relayed
    finally:
        sock.close()


def binding_answers(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        kind, _ = exchange(sock, message(BINDING, os.urandom(12)),
                           (host, port), timeout=0.3)
        return kind == BINDING | SUCCESS
    except OSError:
        return False
    finally:
        sock.close()


def rest_credentials(secret, expiry, user):
    """The TURN REST API's credentials (what palabre hands out), for
    tests that make their own: username "EXPIRY:USER", password
    base64(HMAC-SHA1(secret, username))."""
    import base64
    username = "%d:%s" % (expiry, user)
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1)
    return username, base64.b64encode(mac.digest()).decode()


# ---- the server ---------------------------------------------------------

class Coturn(Daemon):
    program = "turnserver"
    start_timeout = 15.0
    stop_timeout = 5.0

    def __init__(self, directory, secret):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.address = "127.0.0.1"
        self.port = free_udp_tcp_port(self.address)
        self.secret = secret
        self.log = os.path.join(self.dir, "turnserver.log")

    def argv(self):
        low = random.randrange(40000, 49000)
        return [TURNSERVER, "-n",
                "--listening-ip", self.address,
                "--listening-port", str(self.port),
                "--relay-ip", self.address,
                "--min-port", str(low),
                "--max-port", str(low + RELAY_PORTS - 1),
                "--use-auth-secret", "--static-auth-secret", self.secret,
                "--realm", REALM,
                "--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780",
                "--userdb", os.path.join(self.dir, "turndb"),
                "--pidfile", os.path.join(self.dir, "turnserver.pid"),
                "--log-file", "stdout", "--simple-log", "--verbose"]

    def start(self):
        self.launch(self.argv(), self.log, cwd=self.dir)
        with self.stopped_on_failure():
            deadline = self.wait_for_ports(self.port)
            while not binding_answers(self.address, self.port):
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    raise AssertionError("turnserver does not answer STUN "
                                         "on %s:%d\n%s" % (
                                             self.address, self.port,
                                             self.log_text()))
        return self

    def log_text(self, tail=4000):
        return read(self.log)[-tail:]
