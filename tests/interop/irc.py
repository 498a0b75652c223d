"""An IRC network for the gateway tests: ngircd (Debian's ngircd) as the
IRC server, biboumi (Debian's biboumi, an XMPP ↔ IRC gateway that is an
external component, XEP-0114) plugged into palabred, and a raw IRC
client.

    irc = Ngircd(tmp / "ngircd").start()         # 127.0.0.1, a free port
    gw = Biboumi(tmp / "biboumi", "irc.localhost", "secret",
                 server.component_port).start()  # connects to palabred
    bob = IrcClient(irc.port, "bob")             # NICK, USER, 001
    bob.join("#test")
    …
    gw.stop(); irc.stop()                        # by pid

Each daemon runs in the foreground in a directory of its own, with its
configuration and its output (ngircd.out, biboumi.out) there, on
loopback only. ngircd, started as root, runs as nobody (it refuses
root); biboumi keeps its database (SQLite) in its directory, answers no
identd (identd_port=0), and logs at debug level to its output.
"""
import os
import socket
import time

from daemon import Daemon, free_ports, read

NGIRCD = "/usr/sbin/ngircd"
BIBOUMI = "/usr/bin/biboumi"


class Ngircd(Daemon):
    program = "ngircd"
    start_timeout, stop_timeout = 10.0, 5.0

    def __init__(self, directory):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.address = "127.0.0.1"
        self.port = free_ports(1)[0]
        self.config = os.path.join(self.dir, "ngircd.conf")
        self.out = os.path.join(self.dir, "ngircd.out")
        with open(self.config, "w") as f:
            f.write("[Global]\n"
                    "Name = irc.test\n"
                    "Info = palabre test IRC server\n"
                    "AdminInfo1 = palabre tests\n"
                    "AdminInfo2 = loopback only\n"
                    "AdminEMail = nobody@localhost\n"
                    "Listen = %s\n"
                    "Ports = %d\n"
                    "MotdPhrase = palabre tests\n"
                    "[Limits]\n"
                    "MaxNickLength = 30\n"
                    "[Options]\n"
                    "DNS = no\n"
                    "Ident = no\n"
                    "PAM = no\n" % (self.address, self.port))
        os.chmod(self.dir, 0o755)
        os.chmod(self.config, 0o644)

    def start(self):
        assert os.access(NGIRCD, os.X_OK), \
            "%s is missing: tools/install-deps.sh test" % NGIRCD
        self.launch([NGIRCD, "--nodaemon", "--config", self.config],
                    self.out, cwd=self.dir)
        with self.stopped_on_failure():
            self.wait_for_ports(self.port)
        return self

    def log_text(self):
        return "--- ngircd.out ---\n" + read(self.out)[-8000:]


class Biboumi(Daemon):
    program = "biboumi"
    start_timeout, stop_timeout = 10.0, 5.0

    def __init__(self, directory, hostname, secret, component_port):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.hostname = hostname
        self.config = os.path.join(self.dir, "biboumi.cfg")
        self.out = os.path.join(self.dir, "biboumi.out")
        with open(self.config, "w") as f:
            f.write("hostname=%s\n"
                    "password=%s\n"
                    "xmpp_server_ip=127.0.0.1\n"
                    "port=%d\n"
                    "db_name=%s\n"
                    "identd_port=0\n"
                    "policy_directory=%s\n"
                    "realname_customization=true\n"
                    "log_file=\n"
                    "log_level=0\n"
                    % (hostname, secret, component_port,
                       os.path.join(self.dir, "biboumi.sqlite"), self.dir))
        os.chmod(self.config, 0o600)

    def start(self):
        """Starts biboumi; it connects to palabred at once (the caller
        waits for palabred to say so)."""
        assert os.access(BIBOUMI, os.X_OK), \
            "%s is missing: tools/install-deps.sh test" % BIBOUMI
        self.launch([BIBOUMI, self.config], self.out, cwd=self.dir)
        return self

    def log_text(self):
        return "--- biboumi.out ---\n" + read(self.out)[-8000:]


class IrcClient:
    """A raw IRC client (RFC 2812): registers, answers PING, and waits
    for lines with a deadline."""

    def __init__(self, port, nick, timeout=10.0):
        self.nick = nick
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buffer = b""
        self.lines = []  # everything read, for failure messages
        self.send("NICK %s" % nick)
        self.send("USER %s 0 * :IRC user %s" % (nick, nick))
        self.expect(lambda words: words[1:2] == ["001"], "a welcome (001)")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def read_line(self, deadline):
        while b"\r\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return None
            if not data:
                raise AssertionError("the IRC server closed the "
                                     "connection\n" + self.dump())
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        text = line.decode("utf-8", "replace")
        self.lines.append(text)
        if text.startswith("PING "):
            self.send("PONG " + text[5:])
        return text

    def expect(self, matches, what, timeout=None):
        """Reads until a line whose words matches(words) accepts;
        returns that line."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            line = self.read_line(deadline)
            if line is None:
                raise AssertionError("no %s from the IRC server within "
                                     "%.0f s\n%s" % (what, timeout
                                                     or self.timeout,
                                                     self.dump()))
            if matches(line.split(" ")):
                return line

    def join(self, channel):
        self.send("JOIN " + channel)
        self.expect(lambda w: w[1:2] == ["366"], "end of NAMES for "
                    + channel)

    def dump(self):
        return "--- IRC lines seen by %s ---\n%s" % (
            self.nick, "\n".join(self.lines[-40:]))

    def close(self):
        try:
            self.send("QUIT :done")
            self.sock.close()
        except OSError:
            pass
