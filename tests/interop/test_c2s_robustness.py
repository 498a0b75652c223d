"""c2s under stress and at the edges of negotiation.

- A client that never reads while another floods it is closed with
  <policy-violation/> once its waiting output passes the cap
  (max(1 MiB, 4 × max-stanza-size)); c2s's memory stays small and the
  other users keep chatting.
- <starttls/> in the middle of a SASL exchange is refused.
- The 'to' of the bind and session iqs is prepared (RFC 7622).
- The stream features after SASL announce roster versioning (XEP-0237)
  and pre-approval (RFC 6121 §3.4) when those modules run.
- An unknown user's SCRAM salt is stable, on every c2s process, like a
  real user's: the salt does not tell who exists.

This module's server: require-starttls false (SCRAM in clear), the
default modules (disco ping), max-stanza-size 10000 (a 1 MiB cap).
"""
import base64
import select
import ssl
import threading
import time

import pytest

import im
from im import Accounts
from palabre import USERS, Palabre
from rawstream import NS, has, q, scram_login, show, tag

SERVER_OPTIONS = {"require_starttls": False}

ALICE, BOB, CAROL, DAVE = ("alice@localhost", "bob@localhost",
                           "carol@localhost", "dave@localhost")
MiB = 1 << 20


# ---- helpers -------------------------------------------------------------------

def login_in_clear(stream, jid, resource):
    """SCRAM-SHA-256 without TLS (require-starttls is false), then bind;
    returns the full JID."""
    user, domain = jid.split("@")
    stream.open(domain)
    answer = scram_login(stream, "SCRAM-SHA-256", user, USERS[jid])
    assert answer.tag == tag("sasl:success"), show(answer)
    features = stream.open(domain)
    assert has(features, "bind:bind"), show(features)
    iq = stream.bind(resource)
    assert iq.get("type") == "result", show(iq)
    return iq.find(q("bind:bind/bind:jid")).text


def vm_rss(pid):
    """Resident memory of pid in bytes, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


class Flood:
    """count messages of about size bytes each, sent to `to` on a raw
    stream's socket as fast as the kernel takes them (one thread), while
    another thread reads and drops what the server sends back (the
    errors once the target is gone), so that the flooder itself is never
    a client that does not read."""

    def __init__(self, stream, to, count, size):
        filler = "x" * size
        self.data = "".join(
            "<message to='%s' type='chat' id='f%d'><body>%s</body></message>"
            % (to, i, filler) for i in range(count)).encode()
        self.sock = stream.sock
        self.sock.settimeout(30)
        self.sent = 0
        self.error = None
        self.done = threading.Event()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for t in self.threads:
            t.start()

    def _send(self):
        try:
            view = memoryview(self.data)
            while self.sent < len(view) and not self.stop.is_set():
                chunk = view[self.sent:self.sent + 65536]
                self.sock.sendall(chunk)
                self.sent += len(chunk)
        except OSError as e:
            self.error = e
        finally:
            self.done.set()

    def _read(self):
        while not self.stop.is_set():
            try:
                readable, _, _ = select.select([self.sock], [], [], 0.2)
                if readable and not self.sock.recv(1 << 16):
                    return  # the server closed the flooder's stream
            except (OSError, ValueError):
                return  # closed under us: the test is over

    def wait_sent(self, timeout):
        """Waits until everything is sent (the reader goes on)."""
        finished = self.done.wait(timeout)
        assert finished, "the flood was not sent within %.0f s (%d of %d " \
            "bytes)" % (timeout, self.sent, len(self.data))
        assert self.error is None, "the flooder's connection failed after " \
            "%d of %d bytes: %r" % (self.sent, len(self.data), self.error)

    def close(self):
        """Stops both threads (the sender after its current chunk)."""
        self.stop.set()
        for t in self.threads:
            t.join(5)


class PeakRss:
    """Samples pid's VmRSS every 10 ms in a thread; .peak is the highest."""

    def __init__(self, pid):
        self.pid = pid
        self.start = self.peak = vm_rss(pid)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self.stop.wait(0.01):
            try:
                self.peak = max(self.peak, vm_rss(self.pid))
            except (OSError, AssertionError):
                return  # gone: the assertions will say why

    @property
    def growth(self):
        return self.peak - self.start

    def finish(self):
        self.stop.set()
        self.thread.join(5)


def drain(sock, timeout):
    """Everything left to read on sock until the server closes it."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        assert time.monotonic() < deadline, \
            "the server did not close the stream within %.0f s (%d bytes " \
            "read)" % (timeout, sum(map(len, chunks)))
        try:
            data = sock.recv(1 << 16)
        except (ConnectionResetError, ssl.SSLError) as e:
            return b"".join(chunks), e
        if not data:
            return b"".join(chunks), None
        chunks.append(data)


class Chat:
    """alice (ALICE/pc) and bob (BOB/phone) chatting, round after round."""

    def __init__(self, alice, bob, deadline):
        self.alice, self.bob = alice, bob
        self.deadline = deadline
        self.rounds = 0

    def round(self):
        """alice says something to bob, bob answers; each arrives within
        the usual wait."""
        self.rounds += 1
        n = self.rounds
        self.alice.send_message(mto=BOB + "/phone", mbody="ping %d" % n,
                                mtype="chat")
        assert self.bob.next_message()["body"] == "ping %d" % n
        self.bob.send_message(mto=ALICE + "/pc", mbody="pong %d" % n,
                              mtype="chat")
        assert self.alice.next_message()["body"] == "pong %d" % n

    def until(self, condition, what):
        """Chats until condition() is true, at most until the deadline;
        what() says what was awaited."""
        while not condition():
            assert time.monotonic() < self.deadline, \
                "timed out waiting for %s (after %d rounds of chat)" % (
                    what(), self.rounds)
            self.round()


# ---- 1. a client that does not read ------------------------------------------

@pytest.fixture
def flood():
    """flood(stream, to, count, size) → a running Flood, stopped at the
    end of the test whatever happens."""
    floods = []

    def start(*args):
        floods.append(Flood(*args))
        return floods[-1]
    yield start
    for f in floods:
        f.close()


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    """A server of its own for the flood, so that its memory is the
    flood's alone; like the module's (SCRAM in clear). No rate limit:
    the output cap is what is tested here (several senders together can
    still outrun a reader that a rate limit each would spare)."""
    s = Palabre(tmp_path_factory.mktemp("flood"), certs,
                require_starttls=False, c2s_extra="<rate-limit/>")
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_client_that_never_reads_is_closed_and_memory_stays_bounded(
        fresh_server, clients, raw, flood):
    # 50,000 messages of 1 KiB: a server that kept them all for the
    # victim would grow by more than the bound below.
    count, size = 50000, 1024
    c2s = fresh_server.wait_for_components(["c2s.1"])["c2s.1"]
    alice = clients.login(ALICE + "/pc")
    bob = clients.login(BOB + "/phone")
    prober = clients.login(ALICE + "/probe")

    victim = raw(timeout=10)
    victim_jid = victim.login(DAVE, USERS[DAVE], resource="sleepy")
    # From here on, nobody reads the victim's socket.
    flooder = raw()
    login_in_clear(flooder, CAROL, "hose")
    rss = PeakRss(c2s)
    flooding = flood(flooder, victim_jid, count, size)

    # alice and bob chat all along. A prober writes to the victim too:
    # once the server has ended the victim's session, the prober's
    # messages come back as errors.
    chat = Chat(alice, bob, deadline=time.monotonic() + 20)

    def victim_gone():
        prober.send_message(mto=victim_jid, mbody="there?", mtype="chat")
        while not prober.messages.empty():
            m = prober.messages.get_nowait()
            assert (m["type"], m["from"]) == ("error", victim_jid), m
            return True
        return False
    chat.until(victim_gone, lambda: "the server to end the victim's "
               "session (c2s grew by %d bytes so far)" % rss.growth)

    # Now the victim reads, at once (a client that still does not read
    # after NETCONN_CLOSE_TIMEOUT_MS is cut off without a word): what waited
    # for it, then the stream error, then the end.
    data, reset = drain(victim.sock, timeout=10)
    assert len(data) < count * size, \
        "the victim got the whole flood (%d bytes)" % len(data)
    tail = data[-400:].decode("utf-8", "replace")
    assert "<stream:error>" in tail and "policy-violation" in tail, \
        "the victim's last bytes (%d in all, reset: %r): %s" % (
            len(data), reset, tail)
    assert tail.rstrip().endswith("</stream:stream>"), tail

    chat.until(flooding.done.is_set, lambda: "the flood to be sent (%d of "
               "%d bytes)" % (flooding.sent, len(flooding.data)))
    flooding.wait_sent(timeout=1)
    chat.round()
    rss.finish()
    assert rss.growth < 32 * MiB, \
        "c2s grew from %d to %d bytes during a %d-byte flood" % (
            rss.start, rss.peak, len(flooding.data))


# ---- 2. no STARTTLS in the middle of SASL ------------------------------------

def test_starttls_in_the_middle_of_sasl_fails_and_closes(raw):
    # RFC 6120 §5.4.2.2: <failure/> and close. A SASL exchange begun in
    # clear must not go on inside TLS.
    s = raw()
    s.open()
    challenge = s.auth("SCRAM-SHA-1", b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL")
    assert challenge.tag == tag("sasl:challenge"), show(challenge)
    s.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    s.expect("tls:failure")
    s.expect_closed()
    # No TLS handshake: the server is gone, not waiting for a ClientHello.
    with pytest.raises(OSError):
        s.start_tls()


# ---- 3. the 'to' of bind and session -------------------------------------------

def authenticated(raw, jid):
    """A raw stream past STARTTLS and SASL PLAIN, before binding."""
    user, domain = jid.split("@")
    s = raw()
    s.starttls(domain)
    answer = s.auth_plain(user, USERS[jid])
    assert answer.tag == tag("sasl:success"), show(answer)
    features = s.open(domain)
    assert has(features, "bind:bind"), show(features)
    return s


@pytest.mark.parametrize("to", [None, "localhost", "LOCALHOST"])
def test_bind_addressed_to_the_server_binds(raw, to):
    # RFC 7622 §3.2: LOCALHOST is localhost once prepared.
    s = authenticated(raw, DAVE)
    s.send("<iq type='set' id='b1'%s><bind xmlns='%s'><resource>desk"
           "</resource></bind></iq>"
           % (" to='%s'" % to if to else "", NS["bind"]))
    iq = s.expect("client:iq")
    assert (iq.get("type"), iq.get("id")) == ("result", "b1"), show(iq)
    assert iq.find(q("bind:bind/bind:jid")).text == DAVE + "/desk", show(iq)
    s.send("<iq type='set' id='s1' to='localhost'><session xmlns='%s'/></iq>"
           % NS["session"])
    iq = s.expect("client:iq")
    assert (iq.get("type"), iq.get("id")) == ("result", "s1"), show(iq)
    s.send("<iq type='get' id='p1' to='localhost'>"
           "<ping xmlns='urn:xmpp:ping'/></iq>")
    iq = s.expect("client:iq")
    assert (iq.get("type"), iq.get("id")) == ("result", "p1"), show(iq)


# ---- 4. features of the modules ------------------------------------------------

ROSTERVER = "{urn:xmpp:features:rosterver}ver"
PRE_APPROVAL = "{urn:xmpp:features:pre-approval}sub"


@pytest.mark.parametrize("modules,announced", [
    (im.IM_MODULES, {ROSTERVER, PRE_APPROVAL}),
    ("disco ping", set())], ids=["modules-on", "modules-off"])
def test_features_after_sasl_follow_the_modules(tmp_path, certs, modules,
                                               announced):
    server = Palabre(tmp_path, certs, modules=modules)
    try:
        server.start()
        features = im.stream_features(server, Accounts(server).new("alice"))
    finally:
        server.stop()
    assert has(features, "bind:bind"), show(features)
    found = {child.tag for child in features} & {ROSTERVER, PRE_APPROVAL}
    assert found == announced, show(features)


# ---- 5. unknown users' salts --------------------------------------------------

@pytest.fixture(scope="module")
def two_c2s(tmp_path_factory, certs):
    # Exchanges left after the server-first-message count as failed
    # attempts: this many would be throttled.
    s = Palabre(tmp_path_factory.mktemp("two-c2s"), certs, processes=2,
                auth_throttle={"per-address": 0, "per-account": 0})
    try:
        s.start()
        s.wait_for_components(["sm", "c2s.1", "c2s.2"])
        yield s
    finally:
        s.stop()


def server_first_message(server, mechanism, user):
    """(salt, iterations, c2s process) of a SCRAM exchange started for
    user on a new connection, which is then dropped."""
    from rawstream import RawStream
    s = RawStream(server.c2s_port, ca_file=server.ca_file)
    try:
        s.starttls()
        answer = s.auth(mechanism, b"n,,n=" + user.encode() + b",r=abcdefgh")
        assert answer.tag == tag("sasl:challenge"), show(answer)
        attrs = dict(kv.split(b"=", 1) for kv in
                     base64.b64decode(answer.text).split(b","))
        process = im.c2s_holding(server, s.sock.getsockname()[1])
        return attrs[b"s"], attrs[b"i"], process
    finally:
        s.close()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_unknown_users_salt_is_stable_on_every_process_like_a_real_one(
        two_c2s, mechanism):
    salts = {"nobody": set(), "alice": set()}
    processes = {"nobody": set(), "alice": set()}
    # At least 10 connections each, and until both processes have
    # answered for nobody (SO_REUSEPORT spreads connections by a hash of
    # the source port).
    for attempt in range(40):
        if attempt >= 10 and processes["nobody"] == {"c2s.1", "c2s.2"}:
            break
        for user in salts:
            salt, iterations, process = server_first_message(
                two_c2s, mechanism, user)
            salts[user].add((salt, iterations))
            processes[user].add(process)
    assert processes["nobody"] == {"c2s.1", "c2s.2"}, processes
    assert len(salts["alice"]) == 1, salts["alice"]
    assert len(salts["nobody"]) == 1, salts["nobody"]
    (real_salt, real_iterations), = salts["alice"]
    (fake_salt, fake_iterations), = salts["nobody"]
    assert fake_iterations == real_iterations
    assert len(base64.b64decode(fake_salt)) == \
        len(base64.b64decode(real_salt))
