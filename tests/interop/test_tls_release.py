"""c2s lets go of OpenSSL's state of an idle TLS 1.3 session.

c2s releases a session once it is bound (or, when OpenSSL still held
something then, at the first idle sweep, every 5 s, that finds it quiet
for a whole period): its records then go through palabre's own TLS 1.3
record layer (lib/tls_record.c), with the keys alone (lib/tls.c,
tls_conn_release).

- A session just bound is released at once, not a sweep period later
  (a burst of logins would keep every handshake's state meanwhile); one
  quiet for a second after its initial presence gives back its XML parser
  too, and talks on with a new one.

- Two clients quiet past two sweeps still chat both ways, and through a
  KeyUpdate asking for ours (RFC 8446 §4.6.3), which Python's ssl module
  cannot send: it is asked of OpenSSL through ctypes.
- 300 sessions quiet past two sweeps: c2s's resident memory per session
  is printed (the budget is 10 KiB), and they chat afterwards.
"""
import asyncio
import base64
import ctypes
import ctypes.util
import ssl
import time

from palabre import USERS
from rawstream import q, show, tag

SWEEP_S = 5  # C2S_IDLE_SWEEP_MS: quiet for one sweep, released at the next
QUIET_S = 2 * SWEEP_S + 1
ALICE, BOB = "alice@localhost", "bob@localhost"
RELEASED = "TLS state released"
LOGIN_QUIET = "quiet after its login"
# hold_idle_sessions logs in 50 at a time from one address, more exchanges
# than <auth-throttle>'s default per-address 30 has places for under way:
# the excess waits for a place, with the default throttle.


def chat(sender, receiver, to, text):
    sender.send("<message to='%s' type='chat'><body>%s</body></message>"
                % (to, text))
    message = receiver.expect("client:message")
    body = message.find(q("client:body"))
    assert body is not None and body.text == text, show(message)


def key_update_requested(sock):
    """SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) on a Python ssl
    socket: its next write sends a KeyUpdate asking for the peer's.

    Like rawstream.export_keying_material, this reaches the SSL* inside
    the _ssl._SSLSocket object (after PyObject_HEAD and one PyObject*) and
    checks that it is the right one by asking OpenSSL for the version."""
    libssl = ctypes.CDLL(ctypes.util.find_library("ssl") or "libssl.so.3")
    libssl.SSL_get_version.restype = ctypes.c_char_p
    libssl.SSL_get_version.argtypes = [ctypes.c_void_p]
    libssl.SSL_key_update.argtypes = [ctypes.c_void_p, ctypes.c_int]
    ptr = ctypes.c_void_p.from_address(id(sock._sslobj) + 3 * ctypes.sizeof(
        ctypes.c_void_p)).value
    assert ptr and libssl.SSL_get_version(ptr).decode() == sock.version(), \
        "cannot reach OpenSSL's SSL* from Python's ssl socket"
    assert libssl.SSL_key_update(ptr, 1) == 1, "SSL_key_update failed"


def test_session_released_when_bound(server, raw):
    released = server.log_text(0).count(RELEASED)
    alice, bob = raw(), raw()
    alice_jid = alice.login(ALICE, USERS[ALICE], resource="bound")
    bob_jid = bob.login(BOB, USERS[BOB], resource="bound")
    # A sweep releases only what stayed quiet for a whole period (5 s)
    # after its last read, the bind iq: this is well before.
    deadline = time.monotonic() + SWEEP_S - 1
    while server.log_text(0).count(RELEASED) < released + 2:
        assert time.monotonic() < deadline, \
            "the sessions were not released when bound"
        time.sleep(0.1)
    chat(alice, bob, bob_jid, "right after bind")
    chat(bob, alice, alice_jid, "y" * 9000)


def expect_message(receiver, text):
    """The next message, past the presence stanzas that come first."""
    while True:
        el = receiver.read_element()
        if el.tag != tag("client:presence"):
            break
    assert el.tag == tag("client:message"), show(el)
    body = el.find(q("client:body"))
    assert body is not None and body.text == text, show(el)


def test_session_quiet_after_initial_presence_lets_go(server, raw):
    quiet = server.log_text(0).count(LOGIN_QUIET)
    alice, bob = raw(), raw()
    alice_jid = alice.login(ALICE, USERS[ALICE], resource="presence")
    bob_jid = bob.login(BOB, USERS[BOB], resource="presence")
    alice.send("<presence/>")
    bob.send("<presence/>")
    # Before any sweep (every 5 s) could have found them quiet.
    deadline = time.monotonic() + SWEEP_S - 1
    while server.log_text(0).count(LOGIN_QUIET) < quiet + 2:
        assert time.monotonic() < deadline, \
            "the sessions quiet after their login kept their parser"
        time.sleep(0.1)
    alice.send("<message to='%s' type='chat'><body>new parser</body>"
               "</message>" % bob_jid)
    expect_message(bob, "new parser")
    bob.send("<message to='%s' type='chat'><body>and back</body>"
             "</message>" % alice_jid)
    expect_message(alice, "and back")


def test_quiet_sessions_chat_and_update_keys_after_release(server, raw):
    released = server.log_text(0).count(RELEASED)
    alice, bob = raw(), raw()
    alice_jid = alice.login(ALICE, USERS[ALICE], resource="quiet")
    bob_jid = bob.login(BOB, USERS[BOB], resource="quiet")
    assert alice.tls_version == "TLSv1.3" and bob.tls_version == "TLSv1.3"
    time.sleep(QUIET_S)
    assert server.log_text(0).count(RELEASED) >= released + 2, \
        "the quiet sessions were not released"
    chat(alice, bob, bob_jid, "after release")
    chat(bob, alice, alice_jid, "x" * 9000)  # several records
    for i in range(3):
        key_update_requested(alice.sock)
        chat(alice, bob, bob_jid, "after key update %d" % i)
        chat(bob, alice, alice_jid, "and back %d" % i)


# ---- many idle sessions -----------------------------------------------------

SESSIONS = 300
PASSWORD = "idle-Secret-0"


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


async def expect(reader, marker):
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        assert chunk, "closed while waiting for %r: %r" % (marker, data[-300:])
        data += chunk
    return data


async def login(server, i, ctx):
    """STARTTLS, PLAIN, bind, presence: a client that then stays quiet."""
    reader, writer = await asyncio.open_connection(server.address,
                                                   server.c2s_port)
    header = ("<?xml version='1.0'?><stream:stream to='localhost' "
              "version='1.0' xmlns='jabber:client' "
              "xmlns:stream='http://etherx.jabber.org/streams'>").encode()
    writer.write(header)
    await expect(reader, b"</stream:features>")
    writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await expect(reader, b"<proceed")
    await writer.start_tls(ctx, server_hostname="localhost")
    assert writer.get_extra_info("ssl_object").version() == "TLSv1.3"
    writer.write(header)
    await expect(reader, b"</stream:features>")
    token = "\0idle%d\0%s" % (i, PASSWORD)
    writer.write(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>%s</auth>"
                  % base64.b64encode(token.encode()).decode()).encode())
    await expect(reader, b"<success")
    writer.write(header)
    await expect(reader, b"</stream:features>")
    writer.write(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:"
                 b"ns:xmpp-bind'><resource>idle</resource></bind></iq>")
    await expect(reader, b"</iq>")
    writer.write(b"<presence/>")
    return reader, writer


async def hold_idle_sessions(server, pid):
    ctx = ssl.create_default_context(cafile=server.ca_file)
    limit = asyncio.Semaphore(50)

    async def one(i):
        async with limit:
            return await login(server, i, ctx)
    before = vm_rss_kib(pid)
    sessions = await asyncio.gather(*(one(i) for i in range(SESSIONS)))
    await asyncio.sleep(QUIET_S)
    after = vm_rss_kib(pid)
    print("\nc2s: RSS %d KiB -> %d KiB with %d idle TLS 1.3 sessions: "
          "%.2f KiB per idle session"
          % (before, after, SESSIONS, (after - before) / SESSIONS))
    try:
        for sender, receiver in ((0, 1), (1, 0), (SESSIONS - 1, 0)):
            text = b"from %d after release" % sender
            sessions[sender][1].write(
                b"<message to='idle%d@localhost/idle' type='chat'>"
                b"<body>%s</body></message>" % (receiver, text))
            await expect(sessions[receiver][0], text)
    finally:
        for _, writer in sessions:
            writer.close()


def test_idle_sessions_memory_and_chat_after_release(server):
    server.ctl_ok("-i", "4096", "user", "import", stdin="".join(
        "idle%d@localhost %s\n" % (i, PASSWORD) for i in range(SESSIONS)))
    pid = server.components()["c2s.1"]
    released = server.log_text(0).count(RELEASED)
    asyncio.run(hold_idle_sessions(server, pid))
    assert server.log_text(0).count(RELEASED) >= released + SESSIONS, \
        "the idle sessions were not released"
