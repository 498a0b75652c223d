"""External components (XEP-0114) reached from another server, with
Prosody (Debian's 0.12) as that server: palabred serves a.test and
accepts two components, played by component.py's ComponentStream;
Prosody serves p.test (test_federation_prosody.Pair, with components).

- irc.a.test, a sub-domain of a.test: presented with a.test's
  certificate (lib/tls_hosts.c), which names it in the "external"
  variant (Prosody then accepts it by SASL EXTERNAL) and not in the
  "dialback" one;
- gateway.test, under no host of palabred's: presented with the first
  host's certificate, a.test's, which names it too in the "external"
  variant; in the "dialback" one it goes by dialback.

Each name is published in the test's DNS as a gateway's administrator
publishes it (an SRV record to palabred's s2s port). A Prosody user asks
the component for its version (an iq), writes to a JID at it (a
message) and gets the component's answers; the component writes to the
user from its own domain; a component that is not connected is answered
for by palabred (remote-server-timeout), and the error reaches the
Prosody user.
"""
import re
import threading
from xml.sax.saxutils import escape, quoteattr

import pytest

import im
from rawstream import StreamClosed, q
# clients: the fixture of the Prosody pairs' tests, one slixmpp loop.
from test_federation_prosody import clients, started_pair  # noqa: F401

IRC, GATEWAY, STAFF = "irc.a.test", "gateway.test", "staff.a.test"
# staff.a.test is for a.test's users only (no federate="true").
COMPONENTS = {IRC: "irc-secret-1", GATEWAY: "gateway-secret-2",
              STAFF: ("staff-secret-3", False)}
VERSION = "jabber:iq:version"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
TIMEOUT = 20  # a first stanza to a peer waits for DNS, TLS and dialback


@pytest.fixture(scope="module", params=["dialback", "external"])
def pair(request, tmp_path_factory):
    yield from started_pair(
        tmp_path_factory.mktemp("components-" + request.param),
        request.param, components=COMPONENTS)


class Gateway:
    """A connected component that answers as a gateway would, on a thread
    of its own while the test's clients run: a jabber:iq:version get
    gets its name and version, a message with a body its echo from the
    JID it was sent to. What it got is in `received`."""

    def __init__(self, stream, name):
        self.stream, self.name = stream, name
        self.received = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping.is_set():
            try:
                el = self.stream.read_element(timeout=0.2)
            except StreamClosed:
                return
            except AssertionError:  # nothing within 0.2 s
                continue
            self.received.append(el)
            self.answer(el)

    def answer(self, el):
        to, from_ = quoteattr(el.get("to")), quoteattr(el.get("from"))
        if el.tag == q("component:iq") and el.get("type") == "get" \
                and el.find("{%s}query" % VERSION) is not None:
            self.send("<iq type='result' id=%s from=%s to=%s>"
                      "<query xmlns='%s'><name>test gateway</name>"
                      "<version>1.0</version></query></iq>"
                      % (quoteattr(el.get("id")), to, from_, VERSION))
        body = el.findtext(q("component:body"))
        if el.tag == q("component:message") and body is not None:
            self.send("<message type='chat' from=%s to=%s><body>echo: %s"
                      "</body></message>" % (to, from_, escape(body)))

    def send(self, xml):
        self.stream.send(xml)

    def close(self):
        """Ends the stream and waits for palabred's end: the name is free
        for the next test's component (else: conflict)."""
        self.stopping.set()
        self.thread.join()
        self.send("</stream:stream>")
        self.stream.expect_closed()
        self.stream.close()


@pytest.fixture(params=[IRC, GATEWAY])
def gateway(request, pair):
    g = Gateway(pair.palabre.component(request.param, timeout=TIMEOUT),
                request.param)
    yield g
    g.close()


def next_message(pair, user, from_):
    """user's next message from from_ (the servers' logs if none comes)."""
    try:
        return user.next_message(from_=from_, timeout=TIMEOUT)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, pair.logs())) from None


def ask(pair, user, to, body):
    """user writes body to `to`; returns the answer from `to`."""
    user.send_message(to, body)
    return next_message(pair, user, to)


def test_prosody_user_and_component(pair, clients, gateway):
    pat = pair.prosody_user(clients)
    name = gateway.name
    # An iq to the component's domain, answered by the component.
    query = im.ET.fromstring("<query xmlns='%s'/>" % VERSION)
    answer = pat.iq("get", query, to=name, timeout=TIMEOUT)
    assert (answer.get("type"), answer.get("from")) == ("result", name), \
        "%s\n%s" % (im.show(answer), pair.logs())
    assert answer.findtext("{%s}query/{%s}name" % (VERSION, VERSION)) \
        == "test gateway", im.show(answer)
    iq = gateway.received[0]
    assert (iq.get("from"), iq.get("to")) == (pat.jid, name), im.show(iq)
    # A message to a JID at it, and the component's answer.
    echo = ask(pair, pat, "bot@" + name, "hello gateway")
    assert echo.findtext("{jabber:client}body") == "echo: hello gateway", \
        im.show(echo)
    # The component writes first, from its own domain.
    gateway.send("<message type='chat' from='%s' to='%s'><body>news from "
                 "the gateway</body></message>" % (name, pat.bare))
    news = next_message(pair, pat, name)
    assert news.get("from") == name, im.show(news)
    assert news.findtext("{jabber:client}body") == "news from the gateway"


def test_component_authenticated(pair, clients, gateway):
    """Each way, the component's name is authenticated as a name of
    palabre's own: Prosody accepted it by SASL EXTERNAL when a.test's
    certificate names it, by dialback when it does not; and palabre
    let p.test send to it (by dialback for that name, by SASL EXTERNAL
    to any of palabre's)."""
    pat = pair.prosody_user(clients)
    ask(pair, pat, "bot@" + gateway.name, "who are you?")
    log = pair.palabre.log_text(0)
    external = pair.prosody.s2s_secure_auth
    how = "SASL EXTERNAL" if external else "dialback"
    assert re.search(r"p\.test accepted us \(%s\) by %s"
                     % (re.escape(gateway.name), how), log), pair.logs()
    assert "p.test may now send to %s" % (
        "our domains" if external else gateway.name) in log, pair.logs()


@pytest.mark.parametrize("name", [IRC, GATEWAY])
def test_component_away_is_an_error_for_the_remote_user(pair, clients, name):
    """palabred holds the name while its component is away, and answers
    for it (remote-server-timeout, as Prosody does): the error goes back
    through federation to the sender, from the JID it wrote to."""
    pat = pair.prosody_user(clients)
    error = ask(pair, pat, "bot@" + name, "anyone there?")
    assert error.get("type") == "error", im.show(error)
    assert error.find("{jabber:client}error/{%s}remote-server-timeout"
                      % STANZAS) is not None, im.show(error)
    # palabred's answer, not one Prosody made up when it could not reach
    # the name.
    assert error.findtext("{jabber:client}error/{%s}text" % STANZAS) \
        == "%s is not connected" % name, im.show(error)


def test_component_for_local_users_refuses_remote_ones(pair, clients):
    """staff.a.test is connected but not open to federation: the
    Prosody user's message gets not-allowed, from palabred, saying
    why; the component gets nothing."""
    staff = Gateway(pair.palabre.component(STAFF, timeout=TIMEOUT), STAFF)
    try:
        pat = pair.prosody_user(clients)
        error = ask(pair, pat, "bot@" + STAFF, "let me in")
        assert error.get("type") == "error", im.show(error)
        assert error.find("{jabber:client}error/{%s}not-allowed"
                          % STANZAS) is not None, im.show(error)
        assert error.findtext("{jabber:client}error/{%s}text" % STANZAS) \
            == "%s serves the users of this server only" % STAFF, \
            im.show(error)
        assert staff.received == []
    finally:
        staff.close()
