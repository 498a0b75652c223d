"""A directory that does not answer delays only the stanzas that need it
(issue 11 item 4, ARCHITECTURE.md §9: lookups that wait alone).

One palabred, two domains: localhost with local accounts, example.org
from an LDAP directory that stops answering: a slapd stopped with
SIGSTOP, or a listener that accepts connections and never says a word.
Alice, of localhost, writes to people of example.org whom the session
manager has not loaded: each needs an account check that hangs until the
directory's timeout. Meanwhile Bob and Carol, of localhost, chat and Dave
logs in: their latency is printed, and no message of theirs may wait as
long as one directory timeout.
"""
import os
import socket
import threading
import time

import pytest

from bystander import chat, login, summary
from palabre import USERS, Palabre, make_certificate
from slapd import MAIN_DOMAIN
from test_ldap import NO_THROTTLE, LdapPalabre

LDAP_TIMEOUT = 2   # seconds, per operation of the directory
WRITES = 20        # Alice's messages to people of example.org
MESSAGES = 30      # Bob to Carol
LOCAL_USERS = {jid: pw for jid, pw in USERS.items()
               if jid.endswith("@localhost")}


class MixedPalabre(Palabre):
    """localhost with local accounts; example.org from the directory at
    uri, which answers each operation within timeout seconds or fails."""

    def __init__(self, directory, certs, data, uri, timeout=LDAP_TIMEOUT):
        own_dir = os.path.join(str(directory), "own")
        os.makedirs(own_dir)
        own = make_certificate(own_dir, MAIN_DOMAIN)
        super().__init__(directory, certs,
                         domains=("localhost", MAIN_DOMAIN),
                         users=LOCAL_USERS,
                         certificates={MAIN_DOMAIN: own})
        with open(self.config) as f:
            config = f.read()
        config = config.replace(
            '    <key>%s.key</key>\n    <auth backend="local"/>\n'
            % MAIN_DOMAIN,
            '    <key>%s.key</key>\n%s' % (
                MAIN_DOMAIN, LdapPalabre.ldap_auth(MAIN_DOMAIN, "central")))
        config = config.replace("  <c2s>\n", LdapPalabre.ldap_config(
            data, {"central": {"uris": [uri]}}, None, NO_THROTTLE,
            timeout, 2) + "  <c2s>\n")
        self.write_config(config)


class SilentListener(threading.Thread):
    """Accepts TCP connections on loopback and never answers."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.uri = "ldap://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.accepted = []

    def run(self):
        try:
            while True:
                self.accepted.append(self.sock.accept()[0])
        except OSError:
            pass  # closed

    def close(self):
        self.sock.close()
        for c in self.accepted:
            c.close()


@pytest.fixture
def hung_directory(request, slapds):
    """(uri, hang): a directory whose hang() makes it stop answering."""
    if request.param == "sigstop":
        s = slapds()
        yield s.uri, s.pause
        return
    listener = SilentListener()
    listener.start()
    try:
        yield listener.uri, lambda: None
    finally:
        listener.close()


@pytest.mark.parametrize("hung_directory", ["sigstop", "silent-listener"],
                         indirect=True)
def test_a_hung_directory_does_not_delay_the_local_domain(
        request, tmp_path_factory, certs, ldap_directory, hung_directory):
    uri, hang = hung_directory
    server = MixedPalabre(tmp_path_factory.mktemp("mixed"), certs,
                          ldap_directory, uri)
    request.node.palabre_server = server
    try:
        server.start()
        alice = login(server, "alice@localhost", USERS["alice@localhost"])
        bob = login(server, "bob@localhost", USERS["bob@localhost"])
        carol = login(server, "carol@localhost", USERS["carol@localhost"])
        hang()
        for i in range(WRITES):
            alice.send("<message to='someone%d@%s' id='w%d' type='chat'>"
                       "<body>hello</body></message>" % (i, MAIN_DOMAIN, i))
        time.sleep(0.2)
        latencies = chat(bob, carol, MESSAGES, 0.05)
        started = time.monotonic()
        dave = login(server, "dave@localhost", USERS["dave@localhost"])
        login_time = time.monotonic() - started

        print()
        print(summary("Bob -> Carol, the directory hung (%s)"
                      % request.node.callspec.id, latencies))
        print("Dave's login meanwhile: %.0f ms" % (login_time * 1000))
        assert len(latencies) == MESSAGES
        assert max(latencies) < LDAP_TIMEOUT, summary("Bob -> Carol",
                                                      latencies)
        assert login_time < LDAP_TIMEOUT
        for s in (alice, bob, carol, dave):
            s.close()
    finally:
        server.stop()
