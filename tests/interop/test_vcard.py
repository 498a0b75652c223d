"""Stored vCards (XEP-0054) and their photo hashes (XEP-0153): what the
scripted exchange (scripts/vcard.scs) cannot show: a real photo's size,
the size limit, and what survives a restart and kill -9.

Each test has a palabred of its own (fresh_server), since it stops or
kills it or changes the limit.
"""
import base64
import hashlib
import os
import xml.etree.ElementTree as ET

import pytest

import im
from im import Accounts
from test_persistence import burst_of_roster_sets, wait_until

NS = "{vcard-temp}"
UPDATE = "{vcard-temp:x:update}"
STANZAS = "{urn:ietf:params:xml:ns:xmpp-stanzas}"


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    # c2s's default stanza size, not the tests' 10000: room for photos
    s = im.make_server(tmp_path_factory.mktemp("vcard"), certs,
                       max_stanza_size=262144)
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def accounts(fresh_server):
    return Accounts(fresh_server)


def photo(size):
    """size random bytes, and their base64 wrapped at 76 columns as
    Psi and many others send it."""
    data = os.urandom(size)
    b64 = base64.b64encode(data).decode()
    return data, "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))


def vcard(fn, binval=None):
    vc = ET.Element(NS + "vCard")
    ET.SubElement(vc, NS + "FN").text = fn
    if binval is not None:
        p = ET.SubElement(vc, NS + "PHOTO")
        ET.SubElement(p, NS + "TYPE").text = "image/png"
        ET.SubElement(p, NS + "BINVAL").text = binval
    return vc


def get_vcard(client, jid):
    answer = client.iq("get", ET.Element(NS + "vCard"), to=jid)
    assert answer.get("type") == "result", ET.tostring(answer)
    return answer.find(NS + "vCard")


def photo_hash(presence):
    x = presence.find(UPDATE + "x")
    p = x.find(UPDATE + "photo") if x is not None else None
    return p.text if p is not None else None


def test_a_photo_of_90_kb_is_kept_and_its_hash_follows_a_restart(
        fresh_server, clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    bob = im.login(clients, accounts.new("bob"))
    im.befriend(alice, bob)
    data, b64 = photo(90 * 1024)
    answer = alice.iq("set", vcard("Alice", b64))
    assert answer.get("type") == "result", ET.tostring(answer)
    alice_jid = alice.bare
    alice.logout()

    im.restart(fresh_server)

    bob = im.login_retrying(clients, bob.bare)
    got = get_vcard(bob, alice_jid)
    assert got.find(NS + "FN").text == "Alice"
    binval = got.find(NS + "PHOTO").find(NS + "BINVAL").text
    assert base64.b64decode(binval) == data
    # Alice's client says nothing of avatars: the server adds the hash
    # (XEP-0398 §4), once it has read it (after her first presence,
    # which is sent again with it).
    alice = im.login(clients, alice_jid)
    want = hashlib.sha1(data).hexdigest()
    while True:
        p = bob.next_presence("available", from_=alice_jid)
        if photo_hash(p) == want:
            break
        assert photo_hash(p) is None, ET.tostring(p)


def test_a_vcard_over_the_limit_is_refused_and_nothing_changes(
        fresh_server, clients, accounts):
    alice = im.login(clients, accounts.new("alice"))
    assert alice.iq("set", vcard("Small")).get("type") == "result"
    _, b64 = photo(100 * 1024)  # 136 kB once in base64
    answer = alice.iq("set", vcard("Big", b64))
    assert answer.get("type") == "error", ET.tostring(answer)
    error = answer.find("{jabber:client}error")
    assert error.get("type") == "modify"
    assert error.find(STANZAS + "not-acceptable") is not None
    text = error.find(STANZAS + "text").text
    assert "at most 131072 bytes" in text, text
    assert get_vcard(alice, alice.bare).find(NS + "FN").text == "Small"


@pytest.mark.parametrize("how", ["kill-sm", "kill-everything"])
def test_acknowledged_vcard_sets_survive_kill_9(fresh_server, clients,
                                                accounts, how):
    """A burst of sets, kill -9 in its middle: the vCard found after is
    the last acknowledged one or a later one (sets apply in order), never
    an earlier one."""
    alice_jid = accounts.new("alice")
    alice = im.login(clients, alice_jid)
    victims = im.kill_victims(fresh_server, how)

    def payload(i):
        return ET.tostring(vcard("v%d" % i, photo(2048)[1])).decode()
    acknowledged = burst_of_roster_sets(alice, 100, 10,
                                        lambda: im.sigkill(victims), payload)
    wait_until(clients, lambda: len(acknowledged) >= 10, 10,
               "10 results of 100 vCard sets")
    clients.sleep(0.5)
    last = max(acknowledged)
    im.recover_from_kill(fresh_server, how, victims)

    alice = im.login_retrying(clients, alice_jid, "again")
    fn = get_vcard(alice, alice_jid).find(NS + "FN").text
    assert int(fn[1:]) >= last, "acknowledged v%d, found %s" % (last, fn)
    print("%s: v%d acknowledged last, %s stored" % (how, last, fn))
