"""Last Activity (XEP-0012) across time and restarts: what a script
cannot check (scripts/last.scs has the protocol). Each test has a
palabred of its own, since it stops or kills it.
"""
import time

import pytest
from slixmpp.xmlstream import ET

import im
from im import Accounts

LAST = "jabber:iq:last"


@pytest.fixture
def fresh_server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("last"), certs)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def last(client, to):
    """(seconds, status) of a last activity request to `to`."""
    answer = client.iq("get", ET.Element("{%s}query" % LAST), to=to)
    assert answer.get("type") == "result", ET.tostring(answer)
    query = answer.find("{%s}query" % LAST)
    return int(query.get("seconds")), query.text


def test_server_uptime_counts_from_the_start(fresh_server, clients):
    """§5: the seconds since the sm started; a restart starts again."""
    romeo = im.login(clients, Accounts(fresh_server).new("romeo"))
    first, status = last(romeo, "localhost")
    assert status is None
    time.sleep(2.1)
    second, _ = last(romeo, "localhost")
    assert first + 2 <= second <= first + 4
    romeo.logout()
    im.restart(fresh_server)
    romeo = im.login_retrying(clients, romeo.bare)
    assert last(romeo, "localhost")[0] <= 2


def test_logout_survives_restart_and_kill(fresh_server, clients):
    """§3: the time and status of the last logout, kept through storage:
    a clean restart and a kill -9 lose neither."""
    accounts = Accounts(fresh_server)
    romeo = im.login(clients, accounts.new("romeo"))
    juliet = im.login(clients, accounts.new("juliet"))
    im.subscribe(romeo, juliet)
    assert last(romeo, juliet.bare) == (0, None)
    # Gone without an unavailable presence: the server sends one for
    # her (RFC 6121 §4.5), without a status.
    juliet.drop()
    time.sleep(2.1)
    seconds, status = last(romeo, juliet.bare)
    assert 2 <= seconds <= 4 and status is None
    juliet = im.login(clients, juliet.bare)
    assert last(romeo, juliet.bare) == (0, None)
    juliet.send_presence(type_="unavailable", status="Gone fishing")
    juliet.logout()
    assert last(romeo, juliet.bare)[1] == "Gone fishing"
    romeo.logout()

    im.restart(fresh_server)
    romeo = im.login_retrying(clients, romeo.bare)
    seconds, status = last(romeo, juliet.bare)
    assert 0 <= seconds <= 5 and status == "Gone fishing"

    im.kill_everything(fresh_server)
    fresh_server.start()
    fresh_server.wait_for_components(["sm", "c2s.1"], timeout=10)
    romeo = im.login_retrying(clients, romeo.bare)
    assert last(romeo, juliet.bare)[1] == "Gone fishing"


def test_user_never_logged_out_is_not_found(fresh_server, clients):
    """A user who never logged out since the server keeps logouts: no
    time to tell (item-not-found), but not forbidden either."""
    accounts = Accounts(fresh_server)
    romeo = im.login(clients, accounts.new("romeo"))
    juliet = im.login(clients, accounts.new("juliet"), available=False)
    romeo.send_presence(juliet.bare, "subscribe")
    juliet.send_presence(romeo.bare, "subscribed")
    im.settle(romeo, juliet)
    answer = romeo.iq("get", ET.Element("{%s}query" % LAST), to=juliet.bare)
    assert answer.get("type") == "error"
    assert answer.find("{%s}error/{%s}item-not-found"
                       % (im.CLIENT, im.STANZAS)) is not None
