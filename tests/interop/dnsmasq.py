"""A real dnsmasq (Debian dnsmasq-base) as the test resolver.

    dns = Dnsmasq(tmp)
    dns.add_host("a.test", "127.0.0.4")                      # A
    dns.add_srv("_xmpp-server._tcp", "a.test", "a.test", 5269)  # SRV
    dns.add_no_service("_xmpp-server._tcp", "b.test")        # SRV "."
    with dns:                                # or dns.start() … dns.stop()
        dns.address, dns.port                # 127.0.0.1, a free high port
        dns.forwarder                        # "127.0.0.1@PORT" (libunbound)
        query(dns, "a.test", "A")            # → ["127.0.0.4"]

It listens on 127.0.0.1 only, on a port chosen per instance when it is
made (UDP and TCP, free, below the ephemeral range, so that a Prosody
configured before start() can be given it),
answers only from its own records (no /etc/hosts, no resolv.conf, no
configuration file, nothing forwarded anywhere), and answers NXDOMAIN for
any other name under .test (--local=/test/). Records live on the command
line, so they are fixed at start(): restart() takes in records added
since (same port). Host records have TTL 0, so a resolver that asked
before a restart does not keep the old answer. Every query is logged to
DIR/dnsmasq.log. The process runs in the foreground (-k) and is stopped by
its process id.
"""
import os
import pwd
import random
import socket
import struct
import time

from daemon import Daemon, read

DNSMASQ = "/usr/sbin/dnsmasq"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
START_TRIES = 5


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_udp_tcp_port(address="127.0.0.1"):
    """A port free for both UDP and TCP on address right now, below the
    ephemeral range (so that no outgoing connection takes it before
    dnsmasq binds it: tests publish the port before starting dnsmasq)."""
    low, _ = ephemeral_range()
    low = max(low, 12000)
    for _ in range(200):
        port = random.randrange(low - 10000, low)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            try:
                u.bind((address, port))
                t.bind((address, port))
            except OSError:
                continue
            return port
        finally:
            u.close()
            t.close()
    raise AssertionError("no port free for both UDP and TCP on " + address)


# ---- a minimal DNS client (stdlib), for the readiness probe ---------------

def dns_query_packet(name, qtype=1, ident=None):
    ident = random.randrange(1 << 16) if ident is None else ident
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)  # RD
    qname = b"".join(bytes([len(p)]) + p.encode("ascii")
                     for p in name.rstrip(".").split(".")) + b"\0"
    return ident, header + qname + struct.pack("!HH", qtype, 1)


def probe(address, port, name="dnsmasq-ready.test", timeout=0.5):
    """The rcode of dnsmasq's UDP answer to an A query for name, or None
    when nothing answers in time."""
    ident, packet = dns_query_packet(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (address, port))
            while True:
                data, _ = s.recvfrom(4096)
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] \
                        == ident:
                    return data[3] & 0x0F
        except (socket.timeout, ConnectionRefusedError):
            return None


class Dnsmasq(Daemon):
    """One dnsmasq process serving the records it was given."""

    program = "dnsmasq"
    start_timeout = START_TIMEOUT
    stop_timeout = STOP_TIMEOUT

    def __init__(self, directory, address="127.0.0.1"):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        assert address.startswith("127."), "loopback only: %s" % address
        self.address = address
        # Chosen now, so that a Prosody configured before start() knows
        # it; changed by start() only if nobody has read it yet.
        self._port = free_udp_tcp_port(address)
        self._published = False
        self.log = os.path.join(self.dir, "dnsmasq.log")
        self.pidfile = os.path.join(self.dir, "dnsmasq.pid")
        self.records = []  # dnsmasq options, one per record

    # ---- records (before start, or restart() after) ------------------------

    def add_host(self, name, ip):
        """An A record (AAAA when ip has a colon) name → ip, TTL 0."""
        self.records.append("--host-record=%s,%s,0" % (name, ip))
        return self

    def add_srv(self, service, name, target, port, priority=0, weight=0):
        """An SRV record SERVICE.NAME → target:port, e.g.
        add_srv("_xmpp-server._tcp", "a.test", "a.test", 5269).
        target "." publishes "service not available" (RFC 2782)."""
        if target == ".":
            return self.add_no_service(service, name)
        self.records.append("--srv-host=%s.%s,%s,%d,%d,%d" % (
            service, name, target, port, priority, weight))
        return self

    def add_no_service(self, service, name):
        """An SRV record SERVICE.NAME with target "." (the service is
        decidedly not available at this domain)."""
        self.records.append("--srv-host=%s.%s" % (service, name))
        return self

    def add_cname(self, alias, target):
        """A CNAME alias → target (target must be a record of ours)."""
        self.records.append("--cname=%s,%s" % (alias, target))
        return self

    # ---- the process -----------------------------------------------------

    @property
    def port(self):
        self._published = True
        return self._port

    @property
    def forwarder(self):
        """This server as libunbound spells a forwarder: ADDRESS@PORT."""
        return "%s@%d" % (self.address, self.port)

    def argv(self):
        return [DNSMASQ, "--keep-in-foreground",
                "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--bind-interfaces", "--listen-address=" + self.address,
                "--port=%d" % self._port, "--local=/test/",
                "--no-negcache", "--local-ttl=0",
                # root would otherwise switch to "nobody"
                "--user=" + pwd.getpwuid(os.getuid()).pw_name,
                "--pid-file=" + self.pidfile,
                "--log-facility=" + self.log, "--log-queries",
                *self.records]

    def start(self):
        assert os.access(DNSMASQ, os.X_OK), (
            "%s is missing: run tools/install-deps.sh test (Debian package "
            "dnsmasq-base)" % DNSMASQ)
        assert not self.running(), "dnsmasq runs already"
        for attempt in range(START_TRIES):
            if attempt and not self._published:
                self._port = free_udp_tcp_port(self.address)
            with open(self.log, "a") as f:
                f.write("--- starting: %s\n" % " ".join(self.argv()))
            self.launch(self.argv(), os.path.join(self.dir, "dnsmasq.out"),
                        cwd=self.dir)
            with self.stopped_on_failure():
                ready = self._wait_ready()
            if ready:
                return self
            # It exited: the port was taken in between. Another port if
            # nobody knows this one yet, else the same one a little later.
            self.stop()
            time.sleep(0.2)
        raise AssertionError("dnsmasq could not bind %s:%d in %d tries\n%s"
                             % (self.address, self._port, START_TRIES,
                                self.log_text()))

    def _wait_ready(self):
        """True once it answers; False when it exited (port taken)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                if "Address already in use" in self.log_text():
                    return False
                raise AssertionError(
                    "dnsmasq exited with %d\n%s"
                    % (self.proc.returncode, self.log_text()))
            if probe(self.address, self._port, timeout=0.2) is not None:
                try:
                    socket.create_connection((self.address, self._port),
                                             timeout=1).close()
                    return True
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    "dnsmasq did not answer on %s:%d within %.0f s\n%s"
                    % (self.address, self._port, START_TIMEOUT,
                       self.log_text()))
            time.sleep(0.05)

    def restart(self):
        """Stops and starts again with the current records (on the same
        port once anybody has read .port or .forwarder)."""
        self.stop()
        return self.start()

    def log_text(self, tail=6000):
        text = read(self.log) + read(os.path.join(self.dir, "dnsmasq.out"))
        return text[-tail:] if tail else text


# ---- asking it (python3-pycares) ---------------------------------------------

QUERY_TIMEOUT = 3.0


def query(dns, name, qtype="A", timeout=QUERY_TIMEOUT):
    """Asks dns (a Dnsmasq, or an (address, port) pair) with c-ares.

    Returns a sorted list: A/AAAA → ["127.0.0.4"], SRV → [(priority,
    weight, port, target)] with target "." for "no service", CNAME →
    [target]. Raises LookupError("ARES_ENOTFOUND") for NXDOMAIN (and
    LookupError with another c-ares code for other failures)."""
    import pycares  # python3-pycares; imported here so that the fixture
    import select   # itself works without it

    address, port = (dns.address, dns.port) if isinstance(dns, Dnsmasq) \
        else dns
    channel = pycares.Channel(servers=[address], udp_port=port,
                              tcp_port=port, timeout=timeout / 2, tries=2,
                              flags=pycares.ARES_FLAG_NOSEARCH)
    outcome = []

    def done(result, error):
        outcome.append((result, error))

    qtypes = {"A": pycares.QUERY_TYPE_A, "AAAA": pycares.QUERY_TYPE_AAAA,
              "SRV": pycares.QUERY_TYPE_SRV,
              "CNAME": pycares.QUERY_TYPE_CNAME}
    channel.query(name, qtypes[qtype], done)
    deadline = time.monotonic() + timeout
    while not outcome:
        if time.monotonic() > deadline:
            raise AssertionError("no DNS answer for %s %s from %s:%d "
                                 "within %.0f s" % (name, qtype, address,
                                                    port, timeout))
        readable, writable = channel.getsock()
        if not readable and not writable:
            break
        r, w, _ = select.select(readable, writable, [],
                                min(0.2, channel.timeout() or 0.2))
        if not r and not w:
            channel.process_fd(pycares.ARES_SOCKET_BAD,
                               pycares.ARES_SOCKET_BAD)
        for fd in r:
            channel.process_fd(fd, pycares.ARES_SOCKET_BAD)
        for fd in w:
            channel.process_fd(pycares.ARES_SOCKET_BAD, fd)
    assert outcome, "c-ares gave up on %s %s without an answer" % (name,
                                                                   qtype)
    result, error = outcome[0]
    if error:
        raise LookupError(pycares.errno.errorcode.get(error, error))
    if qtype in ("A", "AAAA"):
        return sorted(r.host for r in result)
    if qtype == "SRV":
        return sorted((r.priority, r.weight, r.port, r.host or ".")
                      for r in result)
    return [result.cname]
