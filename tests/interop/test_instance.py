"""One palabred per configuration, and errors that a restart cannot fix.

A second palabred started on the configuration of a live one (to "test" a
changed config.xml, or `palabred -d` twice) refuses and exits non-zero
without touching the live one: its router socket, pidfile and ports stay.
A kill -9 leaves a socket file and a pidfile behind but no lock: the next
start works. A key that does not match its certificate, a client port
that cannot be bound, or a database made by a newer palabre stop palabred
with the reason and a non-zero exit, instead of a component restarted
forever.
"""
import os
import signal
import socket
import sqlite3
import subprocess
import time

from palabre import PALABRED, USERS, Palabre, pid_alive, proc_children, read
from xmpp import Clients

ALICE = "alice@localhost"
EXIT_WITHIN = 10.0  # seconds for palabred to give up on a fatal error


def run_to_exit(argv, cwd, timeout=EXIT_WITHIN):
    """Runs a palabred expected to exit by itself; stdout and stderr go to
    a file (a daemon keeps stderr open). Returns (exit status, output).
    One that runs on is stopped by its pid and fails the test."""
    out_path = os.path.join(cwd, "second.out")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # palabred stops its components
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise AssertionError("palabred ran on for %.0f s:\n%s"
                             % (timeout, read(out_path)))
    return proc.returncode, read(out_path)


def refusal(server, pid, what, path):
    return ("palabred: another palabred (pid %d) runs with %s: %s; stop it "
            "first" % (pid, what, os.path.join(server.dir, path)))


def assert_serving(server):
    """The live server still has its socket and logs a client in."""
    assert os.path.exists(os.path.join(server.dir, "router.sock"))
    clients = Clients(server)
    try:
        alice = clients.login(ALICE + "/after")
        assert alice.ping_server()["type"] == "result"
    finally:
        clients.close()


def test_second_palabred_on_the_same_config_refuses(fresh_server):
    status, out = run_to_exit([PALABRED, "-c", fresh_server.config],
                              fresh_server.dir)
    assert status != 0, out
    assert refusal(fresh_server, fresh_server.pid, "storage/path",
                   "data") in out, out
    assert fresh_server.running(), fresh_server.log_text()
    assert_serving(fresh_server)


def test_second_palabred_on_another_storage_but_the_same_socket_refuses(
        fresh_server, tmp_path, certs):
    other = Palabre(tmp_path, certs, users={})
    with open(other.config) as f:
        text = f.read()
    other.write_config(text.replace(
        "<socket>router.sock</socket>",
        "<socket>%s</socket>" % os.path.join(fresh_server.dir,
                                             "router.sock")))
    status, out = run_to_exit([PALABRED, "-c", other.config], other.dir)
    assert status != 0, out
    assert refusal(fresh_server, fresh_server.pid, "router/socket",
                   "router.sock") in out, out
    assert_serving(fresh_server)


class Background:
    """palabred -d: the daemon's pid comes from the pidfile; stopped by
    that pid, then its components by theirs."""

    def __init__(self, server):
        self.server = server
        self.pidfile = os.path.join(server.dir, "palabred.pid")
        self.pids = set()

    def start(self):
        status, out = run_to_exit([PALABRED, "-c", self.server.config, "-d"],
                                  self.server.dir)
        assert status == 0, out
        deadline = time.monotonic() + 15
        while not self.pid() or not self.accepts():
            assert time.monotonic() < deadline, read(self.pidfile)
            time.sleep(0.05)
        self.remember()
        return self.pid()

    def pid(self):
        try:
            return int(read(self.pidfile).strip())
        except ValueError:
            return None

    def accepts(self):
        try:
            socket.create_connection((self.server.address,
                                      self.server.c2s_port), 1).close()
            return True
        except OSError:
            return False

    def remember(self):
        pid = self.pid()
        if pid and pid_alive(pid):
            self.pids |= {pid} | set(proc_children(pid))

    def stop(self):
        self.remember()
        for pid in self.pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for pid in self.pids:
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_palabred_d_twice_refuses_and_keeps_the_pidfile(tmp_path, certs):
    server = Palabre(tmp_path, certs)
    daemon = Background(server)
    try:
        first = daemon.start()
        status, out = run_to_exit([PALABRED, "-c", server.config, "-d"],
                                  server.dir)
        daemon.remember()  # a second daemon, if it ran, is stopped too
        assert status != 0, out
        assert refusal(server, first, "storage/path", "data") in out, out
        assert daemon.pid() == first
        assert_serving(server)
    finally:
        daemon.stop()


def kill_9(pids):
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        while pid_alive(pid):
            time.sleep(0.05)


def test_start_after_kill_9_of_everything(fresh_server):
    components = fresh_server.wait_for_components(["sm", "c2s.1"])
    kill_9([fresh_server.pid] + list(components.values()))
    fresh_server.proc.wait()
    fresh_server.close_output()
    assert os.path.exists(os.path.join(fresh_server.dir, "router.sock"))
    fresh_server.start()
    assert_serving(fresh_server)


def test_palabred_d_after_kill_9_starts(tmp_path, certs):
    server = Palabre(tmp_path, certs)
    daemon = Background(server)
    try:
        first = daemon.start()
        kill_9([first] + proc_children(first))
        assert daemon.pid() == first  # left behind
        assert daemon.start() != first
        assert_serving(server)
    finally:
        daemon.stop()


def test_component_run_alone_connects_beside_a_supervisor(tmp_path, certs):
    server = Palabre(tmp_path, certs)
    with open(os.path.join(server.dir, "router.secret"), "w") as f:
        f.write("a-secret-of-16-characters-at-least\n")
    with open(server.config) as f:
        text = f.read()
    server.write_config(text.replace(
        "<socket>router.sock</socket>",
        "<socket>router.sock</socket><secret-file>router.secret"
        "</secret-file>"))
    alone = None
    try:
        server.start()
        log = os.path.join(server.dir, "alone.out")
        with open(log, "wb") as out:
            alone = subprocess.Popen(
                [PALABRED, "-c", server.config, "--component", "c2s.9"],
                cwd=server.dir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while "c2s: listening on" not in read(log):
            assert alone.poll() is None, read(log)
            assert time.monotonic() < deadline, read(log)
            time.sleep(0.05)
        assert "c2s.9 connected to the router" in read(log)
        assert_serving(server)
    finally:
        if alone and alone.poll() is None:
            alone.terminate()
            alone.wait(timeout=10)
        server.stop()


# ---- errors a restart cannot fix -------------------------------------------

def assert_stops_with(server, reason, started=True):
    """palabred exits non-zero within EXIT_WITHIN, saying why; started:
    it had spawned components, and stops them."""
    status, out = run_to_exit([PALABRED, "-c", server.config], server.dir)
    assert status != 0, out
    assert reason in out, out
    assert ("stopping palabred" in out) == started, out


def test_key_not_matching_its_certificate_stops_palabred(tmp_path, certs):
    server = Palabre(tmp_path, certs, certificates={
        "localhost": (certs["localhost"]["crt"],
                      certs["chat.example"]["key"])})
    # OpenSSL 3 finds it on loading the key: "cannot load the key
    # …/localhost.key: … key values mismatch"
    assert_stops_with(server, "key values mismatch")


def test_client_port_in_use_stops_palabred(tmp_path, certs):
    server = Palabre(tmp_path, certs)
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taken.bind((server.address, server.c2s_port))
        taken.listen()
        assert_stops_with(server, "c2s/listen: cannot listen on %s port %d: "
                          "Address already in use" % (server.address,
                                                      server.c2s_port),
                          started=False)
    finally:
        taken.close()


def test_palabred_of_another_config_on_the_same_client_port_refuses(
        fresh_server, tmp_path, certs):
    """Its c2s would share the port (SO_REUSEPORT) and take half of the
    clients: the supervisor checks that nobody listens there first."""
    other = Palabre(tmp_path, certs, users={})
    with open(other.config) as f:
        text = f.read()
    other.write_config(text.replace('port="%d"' % other.c2s_port,
                                    'port="%d"' % fresh_server.c2s_port))
    status, out = run_to_exit([PALABRED, "-c", other.config], other.dir)
    assert status != 0, out
    assert "c2s/listen: cannot listen on %s port %d" % (
        fresh_server.address, fresh_server.c2s_port) in out, out
    assert_serving(fresh_server)


def test_storage_of_a_newer_palabre_stops_palabred(tmp_path, certs):
    server = Palabre(tmp_path, certs)
    db = sqlite3.connect(os.path.join(server.dir, "data", "sm.sqlite"))
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    assert_stops_with(server, "the database has schema version 999, newer "
                      "than the version")


def test_accounts_of_a_newer_palabre_stop_palabred(tmp_path, certs):
    server = Palabre(tmp_path, certs)
    db = sqlite3.connect(os.path.join(server.dir, "data", "accounts.sqlite"))
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    assert_stops_with(server, "accounts.sqlite: the database has schema "
                      "version 999, newer than the version")
