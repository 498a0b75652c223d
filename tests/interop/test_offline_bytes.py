"""The offline quota bounds bytes as well as messages (sm/offline-quota-
bytes): once a user's stored messages would pass it, the sender gets
<service-unavailable/> "offline storage is full", and what was stored
comes at the next login.

This module's server: the IM modules, messages of at most 10,000 bytes
(max-stanza-size), QUOTA_BYTES of offline storage per user.
"""
import pytest

import im
from im import Accounts, settle
from xmpp import Clients

QUOTA_BYTES = 20000
BODY = "x" * 6000  # stored with its envelope and delay: about 6.3 kB


@pytest.fixture
def server(tmp_path, certs):
    s = im.make_server(tmp_path, certs, sm_extra=(
        "<offline-quota-bytes>%d</offline-quota-bytes>" % QUOTA_BYTES))
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_past_the_byte_quota_the_sender_is_told_and_the_rest_is_kept(
        server):
    clients = Clients(server)
    try:
        accounts = Accounts(server)
        alice = im.login(clients, accounts.new("alice"))
        bob_jid = accounts.new("bob")
        for i in range(3):
            alice.send_message(bob_jid, "%d %s" % (i, BODY), id_="k%d" % i)
        alice.send_message(bob_jid, "3 %s" % BODY, id_="over")
        error = alice.next_message()
        assert (error.get("type"), error.get("id")) == ("error", "over"), \
            im.show(error)
        assert im.error_of(error) == ("cancel", "service-unavailable"), \
            im.show(error)
        text = error.findtext("{jabber:client}error/{%s}text" % im.STANZAS)
        assert text == "offline storage is full", im.show(error)
        # A short one still fits beside the three.
        alice.send_message(bob_jid, "short", id_="short")
        settle(alice)
        assert alice.messages.items == [], [
            im.show(m) for m in alice.messages.items]

        bob = im.login(clients, bob_jid)
        got = [bob.next_message() for _ in range(4)]
        assert [m.get("id") for m in got] == ["k0", "k1", "k2", "short"]
        assert got[2].findtext("{jabber:client}body") == "2 " + BODY
        # Delivered, the storage has room again.
        bob.logout()
        alice.send_message(bob_jid, "4 %s" % BODY, id_="again")
        settle(alice)
        assert alice.messages.items == []
    finally:
        clients.close()
