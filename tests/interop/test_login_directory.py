"""A directory that does not answer delays only the logins that need it
(issue 11 item 4, ARCHITECTURE.md §9: lookups that wait alone).

One palabred, two domains: localhost with local accounts, example.org
from an LDAP directory that stops answering (a slapd stopped with
SIGSTOP, or a listener that never says a word). More people try to log
in to example.org than c2s's worker pool had threads; each SASL step
waits for the directory's timeout. Meanwhile Dave logs in to localhost:
his login is timed, and must not wait as long as one directory timeout.
"""
import base64
import time

import pytest

from bystander import login
from palabre import USERS, throttle_element
from rawstream import RawStream
from slapd import MAIN_DOMAIN
from test_ldap import NO_THROTTLE
from test_sm_directory import MixedPalabre, hung_directory  # noqa: F401

LDAP_TIMEOUT = 4  # seconds, per operation of the directory
HUNG_LOGINS = 8   # twice libuv's default pool of 4 threads


def start_plain(server, username):
    """A stream to example.org that sends PLAIN's <auth/> and does not
    wait for the answer."""
    s = RawStream(server.c2s_port, server_name=MAIN_DOMAIN,
                  ca_file=server.ca_file, timeout=10)
    s.starttls(MAIN_DOMAIN)
    s.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
           "mechanism='PLAIN'>%s</auth>"
           % base64.b64encode(b"\0%s\0secret" % username.encode())
           .decode())
    return s


@pytest.mark.parametrize("hung_directory", ["sigstop", "silent-listener"],
                         indirect=True)
def test_logins_to_a_hung_directory_do_not_delay_the_local_domain(
        request, tmp_path_factory, certs, ldap_directory, hung_directory):
    uri, hang = hung_directory
    server = MixedPalabre(tmp_path_factory.mktemp("mixed"), certs,
                          ldap_directory, uri, timeout=LDAP_TIMEOUT)
    # The throttle is not what this test is about: off.
    with open(server.config) as f:
        config = f.read()
    server.write_config(config.replace(
        "  <c2s>\n", "  <c2s>\n" + throttle_element(NO_THROTTLE)))
    request.node.palabre_server = server
    hung = []
    try:
        server.start()
        hang()
        hung = [start_plain(server, "someone%d" % i)
                for i in range(HUNG_LOGINS)]
        time.sleep(0.3)  # their steps reach c2s's workers
        started = time.monotonic()
        dave = login(server, "dave@localhost", USERS["dave@localhost"])
        login_time = time.monotonic() - started

        print()
        print("Dave's login, %d logins to the hung directory (%s) under "
              "way: %.0f ms" % (HUNG_LOGINS, request.node.callspec.id,
                                login_time * 1000))
        assert login_time < LDAP_TIMEOUT / 2
        dave.close()
    finally:
        for s in hung:
            s.close()
        server.stop()
