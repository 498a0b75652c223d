"""Fixtures: certificates, a running palabred, real clients.

- `certs` (session): self-signed certificates for localhost and
  chat.example, and a CA file that trusts both.
- `server` (module): one palabred shared by the tests of a module; a
  module may set SERVER_OPTIONS = {...} (arguments of palabre.Palabre).
- `fresh_server` (function): a palabred of its own, for tests that kill or
  stop it.
- `clients` (function): a factory of slixmpp clients on one event loop.
- `raw` (function): opens RawStream connections to `server` and closes them.

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
    s = Palabre(tmp_path_factory.mktemp("palabred"), certs, **options)
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
