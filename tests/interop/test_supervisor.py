"""palabred keeps its components running and stops them cleanly.

Each test here has a palabred of its own (fresh_server) since it kills
parts of it.
"""
import os
import signal
import time

from palabre import USERS, pid_alive

ALICE, BOB = "alice@localhost", "bob@localhost"
RESTART_WITHIN = 10.0  # seconds to be back: first restart within ~1 s


def login_again(clients, jid, within=RESTART_WITHIN):
    """Logs jid in, retrying until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        try:
            return clients.login(jid, timeout=max(1.0, deadline
                                                  - time.monotonic()))
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            clients.sleep(0.2)


def test_components_run_as_their_own_processes(fresh_server):
    found = fresh_server.wait_for_components(["sm", "c2s.1"])
    assert len(set(found.values()) | {fresh_server.pid}) == 3


def test_killed_c2s_is_restarted_and_clients_log_in_again(fresh_server,
                                                          clients):
    alice = clients.login(ALICE + "/pc")
    old = fresh_server.wait_for_components(["c2s.1"])["c2s.1"]
    os.kill(old, signal.SIGKILL)
    alice.wait_disconnected()
    new = fresh_server.wait_for_components(["c2s.1"], timeout=RESTART_WITHIN,
                                           exclude={old})["c2s.1"]
    assert new != old
    alice = login_again(clients, ALICE + "/pc")
    bob = login_again(clients, BOB + "/phone")
    alice.send_message(mto=BOB + "/phone", mbody="back again")
    assert bob.next_message()["body"] == "back again"
    assert fresh_server.proc.poll() is None, "palabred itself died"


def test_killed_sm_is_restarted_and_clients_log_in_again(fresh_server,
                                                         clients):
    old = fresh_server.wait_for_components(["sm"])["sm"]
    os.kill(old, signal.SIGKILL)
    new = fresh_server.wait_for_components(["sm"], timeout=RESTART_WITHIN,
                                           exclude={old})["sm"]
    assert new != old
    alice = login_again(clients, ALICE + "/pc")
    bob = login_again(clients, BOB + "/phone")
    alice.send_message(mto=BOB + "/phone", mbody="sessions are back")
    assert bob.next_message()["body"] == "sessions are back"
    assert alice.ping_server()["type"] == "result"


def test_restart_is_logged(fresh_server):
    old = fresh_server.wait_for_components(["sm"])["sm"]
    before = len(fresh_server.log_text(tail=None))
    os.kill(old, signal.SIGKILL)
    new = fresh_server.wait_for_components(["sm"], timeout=RESTART_WITHIN,
                                           exclude={old})["sm"]
    time.sleep(0.2)
    log = fresh_server.log_text(tail=None)[before:]
    # one line says the old sm died, one that the new one started
    assert any("sm" in line and str(old) in line
               for line in log.splitlines()), log
    assert any("sm" in line and str(new) in line
               for line in log.splitlines()), log


def test_several_c2s_processes_share_the_ports(tmp_path, certs):
    from palabre import Palabre
    from xmpp import Clients
    server = Palabre(tmp_path, certs, processes=2)
    clients = None
    try:
        server.start()
        found = server.wait_for_components(["sm", "c2s.1", "c2s.2"])
        assert found["c2s.1"] != found["c2s.2"]
        clients = Clients(server)
        # enough connections that both processes get some (SO_REUSEPORT
        # spreads them by a hash of the source port)
        alices = [clients.login(ALICE + "/r%d" % i) for i in range(8)]
        bob = clients.login(BOB + "/phone")
        for a in alices:
            a.send_message(mto=BOB + "/phone", mbody=a.jid)
        got = {bob.next_message()["body"] for _ in alices}
        assert got == {a.jid for a in alices}
    finally:
        if clients:
            clients.close()
        server.stop()


def test_sigterm_sends_system_shutdown_and_stops_everything(fresh_server,
                                                             clients, raw):
    alice = clients.login(ALICE + "/pc")
    dave = raw()
    dave.login("dave@localhost", USERS["dave@localhost"])
    components = fresh_server.wait_for_components(["sm", "c2s.1"])
    fresh_server.signal(signal.SIGTERM)
    # <stream:error><system-shutdown/></stream:error></stream:stream>
    dave.expect_stream_error("system-shutdown", timeout=10)
    assert dave.stream_ended, "no </stream:stream> after the error"
    assert alice.wait_stream_error(timeout=10) == "system-shutdown"
    alice.wait_disconnected()
    assert fresh_server.wait_exit(timeout=10) == 0
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in components.values()):
        assert time.monotonic() < deadline, "components outlived palabred"
        time.sleep(0.05)
