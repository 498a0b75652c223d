"""Fixtures: certificates, a running palabred, real clients.

- `certs` (session): self-signed certificates for localhost and
  chat.example, and a CA file that trusts both.
- `server` (module): one palabred shared by the tests of a module; a
  module may set SERVER_OPTIONS = {...} (arguments of palabre.Palabre),
  and SERVER_CLASS (a subclass, e.g. component.Components).
- `fresh_server` (function): a palabred of its own, for tests that kill or
  stop it.
- `started` (function): started(server) starts a server a test made (its
  own configuration) and stops it after the test.
- `clients` (function): a factory of slixmpp clients on one event loop.
- `raw` (function): opens RawStream connections to `server` and closes them.
- `ldap_directory` (session): the data every slapd serves (slapd.py).
- `slapd` (module): one running slapd shared by the tests of a module.
- `slapds` (function): slapds() → a new running slapd of the same data, for
  tests that stop, pause or kill it (failover); all stopped after the test.
  slapds(require_tls=True): one that serves nothing without StartTLS.

A missing dependency (palabred not built, openssl missing) fails the test;
nothing here skips. Every test is stopped after TEST_TIMEOUT seconds.
"""
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from palabre import Palabre, make_certificate  # noqa: E402
from rawstream import RawStream  # noqa: E402
from slapd import Directory, Slapd  # noqa: E402
from xmpp import Clients  # noqa: E402

TEST_TIMEOUT = 60


@pytest.fixture(autouse=True)
def deadline():
    """No test may hang: SIGALRM fails it after TEST_TIMEOUT seconds."""
    def expired(signum, frame):
        raise TimeoutError("test ran over %d s" % TEST_TIMEOUT)
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    found = {}
    pems = []
    for domain in ("localhost", "chat.example"):
        crt, key = make_certificate(str(directory), domain)
        found[domain] = {"crt": crt, "key": key}
        with open(crt) as f:
            pems.append(f.read())
    found["ca_file"] = str(directory / "ca.pem")
    with open(found["ca_file"], "w") as f:
        f.write("".join(pems))
    return found


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, certs):
    options = getattr(request.module, "SERVER_OPTIONS", {})
    server_class = getattr(request.module, "SERVER_CLASS", Palabre)
    s = server_class(tmp_path_factory.mktemp("palabred"), certs, **options)
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = Palabre(tmp_path_factory.mktemp("fresh"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def started(request):
    servers = []

    def start(server):
        servers.append(server)
        request.node.palabre_server = server  # its log in a failure report
        return server.start()
    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def clients(request):
    """clients.login(jid) → a logged-in slixmpp client of `server` (or of
    `fresh_server` when the test uses that one)."""
    c = Clients(server_of(request))
    yield c
    c.close()


def server_of(request):
    name = "fresh_server" if "fresh_server" in request.fixturenames \
        else "server"
    server = request.getfixturevalue(name)
    request.node.palabre_server = server  # for the log in a failure report
    return server


@pytest.fixture
def raw(request):
    """raw() → a RawStream to the STARTTLS port; raw(direct_tls=True) to
    the direct TLS port. Options as RawStream's."""
    server = server_of(request)
    streams = []

    def connect(direct_tls=False, port=None, **options):
        if port is None:
            port = server.tls_port if direct_tls else server.c2s_port
        options.setdefault("ca_file", server.ca_file)
        s = RawStream(port, direct_tls=direct_tls, **options)
        streams.append(s)
        return s
    yield connect
    for s in streams:
        s.close()


def pytest_runtest_makereport(item, call):
    """Appends the palabred log to a failing test's report."""
    if call.when != "call" or call.excinfo is None:
        return
    server = getattr(item, "palabre_server", None)
    funcargs = getattr(item, "funcargs", {})
    server = server or funcargs.get("server") or funcargs.get("fresh_server")
    if server is not None:
        item.add_report_section("call", "palabred.log", server.log_text(8000))
    for name in ("slapd", "slapds"):
        for s in getattr(funcargs.get(name), "started", [funcargs.get(name)]):
            if isinstance(s, Slapd):
                item.add_report_section("call", "slapd.log %s" % s.uri,
                                        s.log_text(3000))


# ---- a real slapd (LDAP account backend) -----------------------------------

@pytest.fixture(scope="session")
def ldap_directory(tmp_path_factory):
    return Directory(tmp_path_factory.mktemp("ldap"))


@pytest.fixture(scope="module")
def slapd(ldap_directory, tmp_path_factory):
    s = Slapd(tmp_path_factory.mktemp("slapd"), ldap_directory)
    try:
        s.start()
        yield s
    finally:
        s.stop()


class SlapdFactory:
    """slapds() starts one more slapd; .started lists them all."""

    def __init__(self, data, tmp_path_factory):
        self.data = data
        self.tmp = tmp_path_factory
        self.started = []

    def __call__(self, **options):
        s = Slapd(self.tmp.mktemp("slapd"), self.data, **options)
        self.started.append(s)
        return s.start()

    def stop_all(self):
        for s in self.started:
            s.stop()


@pytest.fixture
def slapds(ldap_directory, tmp_path_factory):
    factory = SlapdFactory(ldap_directory, tmp_path_factory)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def chat(request):
    """chat(server) → Clients of that server (one per test)."""
    made = []

    def make(server):
        assert not made, "one Clients per test (one event loop)"
        request.node.palabre_server = server
        made.append(Clients(server))
        return made[0]
    yield make
    for c in made:
        c.close()
