#!/usr/bin/python3
"""The servers under test of bench/compare: palabre and, from Debian 12,
Prosody, ejabberd and jabberd2, each configured here on a loopback
address with a private work directory, started and stopped by process id.

    from servers import SERVERS, available, ServerError
    ok, why = available("ejabberd")
    s = SERVERS["ejabberd"]("/tmp/w/ejabberd", cert=(crt, key))
    s.add_users("user%d", 0, 10000, "secret-%d")   # before start()
    s.snapshot()   # keeps that data (stopped)
    s.start()      # returns once the c2s port accepts and a login works
    s.pids()       # every process of the server, for /proc RSS and CPU
    …              # load on s.address, s.c2s_port (STARTTLS), s.tls_port
    s.stop()       # SIGTERM, wait, SIGKILL, by pid; also after a failure
    s.restore()    # the snapshot's data again, for the next scenario

Every server gets the same setup: one virtual host (`domain`, bench.test
by default), c2s on free ports of `address` (127.0.0.0/8 only): STARTTLS
required on c2s_port and direct TLS (XEP-0368) on tls_port, TLS 1.2 or
better with the given certificate (a self-signed one is made in workdir
when none is given), no s2s, no registration, no HTTP, roster, presence,
offline messages and blocking on (jabberd2: privacy lists), a room
service (XEP-0045) on conference.DOMAIN (`muc_service`; None for
jabberd2, which has none), logs in
workdir at warning level (or what the server has closest to it). Everything the server writes
(configuration, data, logs, pid files, Erlang cookie, Mnesia) stays in
workdir; nothing in /etc or /var is read for its configuration or changed.

add_users(fmt, first, count, password): accounts fmt % i for i in
[first, first + count) on the domain (fmt is a local part such as
"user%d", or a whole JID such as "user%d@bench.test"); password is the
same for all, or formatted with i when it holds "%d". Each server's
accounts are made the fast way it allows and stored the way the server
stores them itself (see each class). Call it before start() (it works
while palabre, Prosody and jabberd2 run, not ejabberd).

Self-test, for every server (or those named):

    /usr/bin/python3 bench/servers.py selftest [-n USERS] [-a ADDRESS] [-k]
                                               [NAME…]

(-k keeps the work directories; they are kept anyway after a failure.)

Fresh data per scenario: once the accounts are made (before the first
start), snapshot() keeps a copy of what the server writes (its
data_paths); restore(), with the server stopped, puts that copy back, so
that each scenario of bench/bench.py starts on the same data, whatever
the scenarios before it left there (jabberd2's unindexed status and
logout tables grow with every login and logout, for instance), and
without the time or CPU of making the accounts in any figure.

What still differs between the servers is in each class's `differences`
(DIFFERENCES names the aspects): bench/bench.py's report prints them
beside the figures.

Standard library only; run with /usr/bin/python3 (Debian's).
"""
import base64
import contextlib
import gzip
import hashlib
import hmac
import multiprocessing
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
import warnings
import xml.etree.ElementTree as ET

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PALABRE_BUILD = os.path.join(ROOT, os.environ.get("PALABRE_BUILD", "build"))

# Debian's multiarch library directory (ejabberd's ERL_LIBS).
LIBDIR = os.path.join("/usr/lib", sysconfig.get_config_var("MULTIARCH")
                      or "x86_64-linux-gnu")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

NS_STREAM = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
NS_CLIENT = "jabber:client"
NS_ROSTER = "jabber:iq:roster"


class ServerError(Exception):
    """A server that could not be set up, started or logged in to; the
    message ends with the tail of its logs."""


# ---- processes and ports -------------------------------------------------

def free_ports(count, address="127.0.0.1"):
    """Ports free on address right now (the kernel picks them)."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(s)
            s.bind((address, 0))
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def proc_stat(pid):
    """(state, start time in clock ticks) of pid, or None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def pid_alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def proc_children(pid):
    """Direct children of pid (/proc/PID/task/*/children)."""
    children = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return children
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                children += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return children


def descendants(pid):
    """pid and every live process below it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in found or not pid_alive(p):
            continue
        found.append(p)
        todo += proc_children(p)
    return found


def tail(path, chars=4000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return text[-chars:]


def remove_path(path):
    """Removes a file or a directory tree, if there."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def copy_path(source, dest):
    """Copies a file or a directory tree (modes kept), if there."""
    if os.path.isdir(source):
        shutil.copytree(source, dest, symlinks=True)
    elif os.path.lexists(source):
        shutil.copy2(source, dest)


def raise_nofile():
    """Soft RLIMIT_NOFILE up to the hard one, for every server alike."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def nofile_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def dpkg_version(package):
    """The installed version of a Debian package, or None."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}",
                            package], capture_output=True, text=True,
                           timeout=30)
    except OSError:
        return None
    if r.returncode != 0 or "ok installed" not in r.stdout:
        return None
    return r.stdout.split("\t", 1)[1].strip()


def upstream(version):
    """'1:25.2.3+dfsg-1' → '25.2.3'."""
    v = version.split(":", 1)[-1].rsplit("-", 1)[0]
    return v.split("+", 1)[0]


def make_certificate(directory, domain):
    """A self-signed certificate for domain: DIR/DOMAIN.crt and .key."""
    os.makedirs(directory, exist_ok=True)
    crt = os.path.join(directory, domain + ".crt")
    key = os.path.join(directory, domain + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "30", "-subj", "/CN=" + domain,
         "-addext", "subjectAltName=DNS:" + domain,
         "-keyout", key, "-out", crt],
        check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return crt, key


# ---- accounts ------------------------------------------------------------

LOCALPART = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def expand_users(fmt, first, count, password, domain):
    """[(localpart, password)] for i in [first, first + count)."""
    users = []
    for i in range(first, first + count):
        name = fmt % i
        if "@" in name:
            name, _, host = name.partition("@")
            if host != domain:
                raise ServerError("%s@%s is not on %s" % (name, host, domain))
        if not LOCALPART.match(name):
            # Kept to what every server stores unchanged (no nodeprep, no
            # path encoding surprises).
            raise ServerError("local part %r: use [a-z0-9._-] only" % name)
        pw = password % i if "%d" in password else password
        if not pw or any(c.isspace() or ord(c) < 33 or ord(c) > 126
                         for c in pw):
            # Printable ASCII: SASLprep leaves it alone, and palabrectl
            # import reads "JID PASSWORD" lines.
            raise ServerError("passwords are printable ASCII without spaces")
        users.append((name, pw))
    return users


def scram_sha1(password, salt, iterations):
    """RFC 5802 (StoredKey, ServerKey) of password for SCRAM-SHA-1."""
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha1").digest()
    server_key = hmac.new(salted, b"Server Key", "sha1").digest()
    return hashlib.sha1(client_key).digest(), server_key


def _prosody_secret(args):
    name, password, iterations = args
    salt = str(uuid.uuid4())  # Prosody's util.uuid.generate(): a v4 UUID
    stored, server = scram_sha1(password, salt.encode(), iterations)
    return name, salt, stored.hex(), server.hex()


def _ejabberd_secret(args):
    name, password, iterations = args
    salt = os.urandom(16)  # ejabberd: p1_rand:bytes(16)
    stored, server = scram_sha1(password, salt, iterations)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return name, b64(stored), b64(server), b64(salt)


def parallel_map(func, items):
    """func over items on every core (PBKDF2 is what takes the time)."""
    items = list(items)
    workers = min(os.cpu_count() or 1, max(1, len(items) // 200))
    if workers <= 1:
        return [func(x) for x in items]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(func, items, chunksize=max(1, len(items) //
                                                   (workers * 8)))


# ---- an XMPP client login (STARTTLS or direct TLS, PLAIN, bind) ---------

class LoginError(Exception):
    pass


class Stream:
    """A blocking client stream, just enough to log in and check it."""

    def __init__(self, address, port, domain, ca_file, timeout=10.0,
                 direct_tls=False, max_tls=None):
        self.domain = domain
        self.ca_file = ca_file
        self.max_tls = max_tls
        self.deadline = time.monotonic() + timeout
        self.sock = socket.create_connection((address, port),
                                             timeout=timeout)
        self.transcript = []
        self.tls = None
        self.pending = []
        self.ended = True   # no stream open yet
        if direct_tls:
            self.start_tls()

    def tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ca_file:
            ctx.load_verify_locations(cafile=self.ca_file)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.max_tls:
            # Let the client offer old versions; the server must refuse.
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.maximum_version = self.max_tls
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        return ctx

    def start_tls(self):
        self.sock = self.tls_context().wrap_socket(
            self.sock, server_hostname=self.domain)
        self.tls = (self.sock.version(), self.sock.cipher()[0])

    def send(self, data):
        self.transcript.append("C: " + data)
        self.sock.sendall(data.encode())

    def open(self):
        """Sends a stream header; returns the server's <features/>."""
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.pending = []
        self.ended = False
        self.send("<?xml version='1.0'?><stream:stream to='%s' "
                  "version='1.0' xmlns='jabber:client' "
                  "xmlns:stream='%s'>" % (self.domain, NS_STREAM))
        return self.expect("{%s}features" % NS_STREAM)

    def read_element(self):
        while not self.pending:
            if self.ended:
                raise LoginError("the server ended the stream\n"
                                 + self.dump())
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise LoginError("timed out\n" + self.dump())
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise LoginError("timed out\n" + self.dump())
            except (OSError, ssl.SSLError) as e:
                raise LoginError("%s\n%s" % (e, self.dump()))
            if not data:
                raise LoginError("the server closed the connection\n"
                                 + self.dump())
            self.transcript.append("S: " + data.decode("utf-8", "replace"))
            self.parser.feed(data)
            for event, el in self.parser.read_events():
                if event == "start":
                    self.depth += 1
                    if self.depth == 1:
                        self.root = el
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.pending.append(el)
                        self.root.remove(el)
                    elif self.depth == 0:
                        self.ended = True
        return self.pending.pop(0)

    def expect(self, tag):
        el = self.read_element()
        if el.tag != tag:
            raise LoginError("expected %s, got %s\n%s"
                             % (tag, ET.tostring(el, encoding="unicode"),
                                self.dump()))
        return el

    def iq(self, xml, ident):
        self.send(xml)
        while True:
            el = self.read_element()
            if el.tag == "{%s}iq" % NS_CLIENT and el.get("id") == ident:
                if el.get("type") != "result":
                    raise LoginError("iq %s failed: %s\n%s"
                                     % (ident, ET.tostring(
                                         el, encoding="unicode"),
                                        self.dump()))
                return el

    def dump(self):
        return "--- transcript ---\n" + "\n".join(
            t[:1500] for t in self.transcript[-12:])

    def close(self):
        """Ends the stream as a polite client does: </stream:stream>, the
        server's one (up to 2 s), TLS close_notify, then the socket.
        (jabberd2 2.7 answers the next STARTTLS after a connection that
        ended without close_notify with internal-server-error, now and
        then: an OpenSSL error left in its queue.)"""
        try:
            self.send("</stream:stream>")
            self.deadline = min(self.deadline, time.monotonic() + 2)
            while not self.ended:
                self.read_element()
        except (OSError, LoginError, ET.ParseError):
            pass
        if isinstance(self.sock, ssl.SSLSocket):
            with contextlib.suppress(OSError, ValueError):
                self.sock.settimeout(2)
                self.sock = self.sock.unwrap()
        with contextlib.suppress(OSError):
            self.sock.close()


def mechanisms_of(features):
    return [m.text for m in features.iter("{%s}mechanism" % NS_SASL)]


def login(address, port, domain, user, password, *, ca_file=None,
          direct_tls=False, timeout=10.0, roster=True, then=None):
    """Logs user@domain in (STARTTLS unless direct_tls, SASL PLAIN, bind,
    session when the server requires it, a roster get); returns
    {"tls": (version, cipher), "mechanisms": [...], "jid": full JID,
    "seconds": …, "then": then(stream) when then is given, run on the
    logged-in stream}. Raises LoginError with the transcript."""
    t0 = time.monotonic()
    s = Stream(address, port, domain, ca_file, timeout, direct_tls)
    try:
        features = s.open()
        if not direct_tls:
            starttls = features.find("{%s}starttls" % NS_TLS)
            if starttls is None:
                raise LoginError("no STARTTLS offered\n" + s.dump())
            if starttls.find("{%s}required" % NS_TLS) is None:
                pre_tls = mechanisms_of(features)
                if pre_tls:
                    raise LoginError("SASL offered before TLS: %s\n%s"
                                     % (pre_tls, s.dump()))
            s.send("<starttls xmlns='%s'/>" % NS_TLS)
            s.expect("{%s}proceed" % NS_TLS)
            s.start_tls()
            features = s.open()
        mechs = mechanisms_of(features)
        if "PLAIN" not in mechs:
            raise LoginError("PLAIN not offered (%s)\n%s" % (mechs, s.dump()))
        token = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        s.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
               % (NS_SASL, token.decode()))
        answer = s.read_element()
        if answer.tag != "{%s}success" % NS_SASL:
            raise LoginError("authentication failed: %s\n%s"
                             % (ET.tostring(answer, encoding="unicode"),
                                s.dump()))
        features = s.open()
        if features.find("{%s}bind" % NS_BIND) is None:
            raise LoginError("no bind offered\n" + s.dump())
        iq = s.iq("<iq type='set' id='bind1'><bind xmlns='%s'>"
                  "<resource>bench</resource></bind></iq>" % NS_BIND, "bind1")
        jid = iq.findtext("{%s}bind/{%s}jid" % (NS_BIND, NS_BIND))
        session = features.find("{%s}session" % NS_SESSION)
        if session is not None and session.find(
                "{%s}optional" % NS_SESSION) is None:
            s.iq("<iq type='set' id='sess1'><session xmlns='%s'/></iq>"
                 % NS_SESSION, "sess1")
        if roster:
            s.iq("<iq type='get' id='roster1'><query xmlns='%s'/></iq>"
                 % NS_ROSTER, "roster1")
        result = {"tls": s.tls, "mechanisms": mechs, "jid": jid,
                  "seconds": time.monotonic() - t0}
        if then:
            result["then"] = then(s)
        return result
    finally:
        s.close()


def sasl_refuses(address, port, domain, user, password, *, ca_file=None,
                 timeout=10.0):
    """True when a PLAIN login with this (wrong) password is refused with
    a SASL <failure/>."""
    s = Stream(address, port, domain, ca_file, timeout)
    try:
        s.open()
        s.send("<starttls xmlns='%s'/>" % NS_TLS)
        s.expect("{%s}proceed" % NS_TLS)
        s.start_tls()
        s.open()
        token = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        s.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
               % (NS_SASL, token.decode()))
        return s.read_element().tag == "{%s}failure" % NS_SASL
    finally:
        s.close()


def refuses_tls(address, port, domain, version, *, direct_tls,
                timeout=10.0):
    """True when the server refuses a TLS handshake capped at version
    (ssl.TLSVersion.TLSv1_1), None when this client cannot even offer it
    (no answer either way)."""
    try:
        s = Stream(address, port, domain, None, timeout, False, version)
    except OSError:
        return None
    try:
        if not direct_tls:
            s.open()
            s.send("<starttls xmlns='%s'/>" % NS_TLS)
            s.expect("{%s}proceed" % NS_TLS)
        try:
            s.start_tls()
        except ssl.SSLError as e:
            if "NO_PROTOCOLS_AVAILABLE" in str(e) or \
                    "no protocols available" in str(e):
                return None
            return True
        except OSError:
            return True
        return False
    finally:
        with contextlib.suppress(OSError):
            s.sock.close()


# ---- the common part of every server -------------------------------------

# The aspects of Server.differences(), in the report's order.
DIFFERENCES = (
    ("passwords", "accounts, and what a PLAIN login computes"),
    ("durability", "durability of what it writes"),
    ("logging", "logging"),
    ("limits", "limits"),
    ("tcp", "TCP"),
    ("processes", "processes"),
    ("muc", "rooms (XEP-0045)"),
    ("own", "what it does that the others do not"),
)


class Server:
    name = "server"
    package = None            # the Debian package, None for palabre
    start_timeout = START_TIMEOUT
    stop_timeout = STOP_TIMEOUT
    tls_port = None
    data_paths = ()           # what the server writes, relative to workdir
    has_muc = True            # a room service on conference.DOMAIN

    def __init__(self, workdir, domain="bench.test", address="127.0.0.1",
                 cert=None):
        if not address.startswith("127."):
            raise ServerError("loopback addresses only: %s" % address)
        ok, why = available(self.name)
        if not ok:
            raise ServerError("%s is not available: %s" % (self.name, why))
        self.dir = os.path.abspath(str(workdir))
        os.makedirs(self.dir, exist_ok=True)
        self.domain = domain
        self.address = address
        self.muc_service = "conference." + domain if self.has_muc else None
        if cert is None:
            cert = make_certificate(os.path.join(self.dir, "cert"), domain)
        self.crt, self.key = (os.path.abspath(p) for p in cert)
        self.procs = []           # (label, Popen, log file) in start order
        self._known = {}          # pid → start time, every process seen
        self._outputs = []
        self.mechanisms = []
        self.check_account = None  # (localpart, password) for start()
        self.users = 0
        self.timings = {}
        self.last_login = None

    # what a subclass gives
    def launch(self, deadline):
        """Starts the server's processes (self.spawn)."""
        raise NotImplementedError

    def logs(self):
        """Log files shown when something fails, most useful first."""
        return []

    # ---- helpers for subclasses ----

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def combined_pem(self, name="server.pem"):
        """Certificate then key, in one file (ejabberd, jabberd2)."""
        with open(self.crt) as c, open(self.key) as k:
            return self.write(name, c.read().rstrip("\n") + "\n"
                              + k.read(), 0o600)

    def spawn(self, label, argv, env=None, cwd=None):
        out_path = self.path(label + ".out")
        out = open(out_path, "ab")
        self._outputs.append(out)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd or self.dir,
                                env=env, preexec_fn=raise_nofile,
                                start_new_session=True)
        self.procs.append((label, proc, out_path))
        self.remember()
        return proc

    def remember(self):
        for pid in self.pids():
            st = proc_stat(pid)
            if st:
                self._known.setdefault(pid, st[1])

    def log_tail(self):
        parts = []
        for p in self.logs() + [o for _, _, o in self.procs]:
            if os.path.exists(p):
                parts.append("--- %s ---\n%s" % (p, tail(p, 3000)))
        return "\n".join(parts) or "(no log written)"

    def fail(self, message):
        raise ServerError("%s: %s\n%s" % (self.name, message,
                                          self.log_tail()))

    def wait_port(self, port, deadline):
        while True:
            for label, proc, _ in self.procs:
                if proc.poll() is not None:
                    self.fail("%s exited with %d before %s:%d accepted "
                              "connections" % (label, proc.returncode,
                                               self.address, port))
            try:
                socket.create_connection((self.address, port),
                                         timeout=1).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail("%s:%d not accepting connections after %.0f s"
                          % (self.address, port, self.start_timeout))
            time.sleep(0.05)

    # ---- the interface ----

    def add_users(self, fmt, first, count, password):
        """Makes count accounts; returns the seconds it took."""
        users = expand_users(fmt, first, count, password, self.domain)
        if not users:
            return 0.0
        t0 = time.monotonic()
        self.store_users(users)
        seconds = time.monotonic() - t0
        self.users += len(users)
        if self.check_account is None:
            self.check_account = users[0]
        self.timings.setdefault("add_users", []).append(
            (len(users), seconds))
        return seconds

    def store_users(self, users):
        raise NotImplementedError

    def differences(self):
        """{aspect: text} for each of DIFFERENCES: how this server, as set
        up here, differs from the others (for the report)."""
        raise NotImplementedError

    def snapshot(self):
        """Keeps a copy of the data as it is now (call it once the
        accounts are made, the server stopped) for restore()."""
        if self.running():
            raise ServerError("%s: snapshot needs the server stopped"
                              % self.name)
        pristine = self.path("pristine")
        shutil.rmtree(pristine, ignore_errors=True)
        os.makedirs(pristine)
        for rel in self.data_paths:
            copy_path(self.path(rel), os.path.join(pristine, rel))

    def restore(self):
        """Puts the snapshot's data back in place of what the server
        wrote since; returns the seconds it took."""
        if self.running():
            raise ServerError("%s: restore needs the server stopped"
                              % self.name)
        pristine = self.path("pristine")
        if not os.path.isdir(pristine):
            raise ServerError("%s: restore without a snapshot" % self.name)
        t0 = time.monotonic()
        for rel in self.data_paths:
            remove_path(self.path(rel))
            copy_path(os.path.join(pristine, rel), self.path(rel))
        return time.monotonic() - t0

    def running(self):
        return any(proc.poll() is None for _, proc, _ in self.procs)

    def start(self):
        """Starts the server; returns once c2s_port (and tls_port) accept
        connections and, when accounts exist, a STARTTLS PLAIN login with
        bind and a roster get works (a server with several processes is
        ready only then). Raises ServerError with the log tail, after
        stopping whatever it started."""
        if self.running():
            raise ServerError("%s runs already" % self.name)
        t0 = time.monotonic()
        try:
            deadline = t0 + self.start_timeout
            self.launch(deadline)
            self.wait_port(self.c2s_port, deadline)
            if self.tls_port:
                self.wait_port(self.tls_port, deadline)
            self.remember()
            self.wait_login(deadline)
        except BaseException:
            self.stop()
            raise
        self.remember()
        self.timings["start"] = time.monotonic() - t0
        return self

    def wait_login(self, deadline):
        """Retries until a login works (jabberd2's sm, e.g., joins its
        router a moment after c2s listens)."""
        while True:
            try:
                if self.check_account:
                    user, password = self.check_account
                    self.last_login = login(self.address, self.c2s_port,
                                            self.domain, user, password,
                                            ca_file=self.crt)
                    self.mechanisms = self.last_login["mechanisms"]
                else:
                    self.mechanisms = self.probe_mechanisms()
                return
            except (LoginError, OSError) as e:
                error = e
            for label, proc, _ in self.procs:
                if proc.poll() is not None:
                    self.fail("%s exited with %d during the first login:\n%s"
                              % (label, proc.returncode, error))
            if time.monotonic() > deadline:
                self.fail("no login within %.0f s: %s"
                          % (self.start_timeout, error))
            time.sleep(0.2)

    def probe_mechanisms(self):
        s = Stream(self.address, self.c2s_port, self.domain, self.crt)
        try:
            s.open()
            s.send("<starttls xmlns='%s'/>" % NS_TLS)
            s.expect("{%s}proceed" % NS_TLS)
            s.start_tls()
            return mechanisms_of(s.open())
        finally:
            s.close()

    def login(self, user, password, direct_tls=False):
        """One login (see login()) as user (a local part) on this server."""
        port = self.tls_port if direct_tls else self.c2s_port
        return login(self.address, port, self.domain, user, password,
                     ca_file=self.crt, direct_tls=direct_tls)

    def pids(self):
        """Every live process of the server: those it started and their
        descendants."""
        found = []
        for _, proc, _ in self.procs:
            for pid in descendants(proc.pid):
                if pid not in found:
                    found.append(pid)
        return found

    def stop(self):
        """SIGTERM by pid to what start() launched (last started first),
        wait, SIGKILL; then any process of the server still alive (same
        pid and start time as when seen), by pid too."""
        self.remember()
        for label, proc, _ in reversed(self.procs):
            if proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=self.stop_timeout)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = [pid for pid, started in self._known.items()
                    if pid_alive(pid) and (proc_stat(pid) or (0, 0))[1]
                    == started]
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            limit = time.monotonic() + 3
            while time.monotonic() < limit and any(pid_alive(p)
                                                   for p in left):
                time.sleep(0.05)
        for out in self._outputs:
            out.close()
        self._outputs = []
        self.procs = []
        self._known = {}

    def leftovers(self, pids):
        """Those of pids still alive (after stop(), for the self-test)."""
        return [p for p in pids if pid_alive(p)]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def version(self):
        v = dpkg_version(self.package)
        return "%s %s (Debian %s)" % (self.label, upstream(v), v) if v \
            else "%s (not installed)" % self.label


# ---- palabre --------------------------------------------------------------

class Palabre(Server):
    """build/palabred (make all) with a config.xml like the interop
    tests': the domain with the certificate, local (SQLite) accounts, c2s
    STARTTLS required plus direct TLS, the default mechanisms and sm
    modules (every module the build has on by default, as config.xml.dist
    turns them on; `modules` names the ones to run instead), 1 c2s
    process, <muc/> (the room service conference.DOMAIN with every
    default: history 20, at most 1,000 occupants a room), no <s2s>, log
    level warn (stderr → palabred.out).

    Accounts: `palabrectl -c config.xml user import` (JID PASSWORD lines on
    stdin: SCRAM-SHA-1 and -256 secrets, PBKDF2 with 10000 iterations by
    default, on every core, one transaction per chunk); with an older
    palabrectl (no `user import` in its usage) `user add` per account.
    A PLAIN login recomputes the SCRAM-SHA-256 keys (PBKDF2-HMAC-SHA-256,
    `iterations` rounds, in C)."""

    name = "palabre"
    label = "palabre"
    data_paths = ("data",)
    palabred = os.path.join(PALABRE_BUILD, "palabred")
    palabrectl = os.path.join(PALABRE_BUILD, "palabrectl")

    def __init__(self, workdir, domain="bench.test", address="127.0.0.1",
                 cert=None, processes=1, log_level="warn", iterations=None,
                 modules=None):
        """iterations: the SCRAM iteration count of the accounts made
        (palabrectl -i; None: palabrectl's default, 10000; 4096 at
        least)."""
        # A build from before the rooms (issue 14) refuses <muc/>:
        # bench/alternate.py compares such builds too.
        self.has_muc = self.build_has_rooms()
        super().__init__(workdir, domain, address, cert)
        self.iterations = iterations
        self.processes = processes
        self.c2s_port, self.tls_port = free_ports(2, address)
        self.config = self.path("config.xml")
        os.makedirs(self.path("data"), exist_ok=True)
        x = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")  # noqa
        self.write("config.xml",
                   '<?xml version="1.0"?>\n'
                   '<!-- bench/servers.py -->\n'
                   '<palabred>\n'
                   '  <pidfile>palabred.pid</pidfile>\n'
                   '  <log level="%s"/>\n'
                   '  <router><socket>router.sock</socket></router>\n'
                   '  <storage><path>data</path></storage>\n'
                   '  <host domain="%s">\n'
                   '    <certificate>%s</certificate>\n'
                   '    <key>%s</key>\n'
                   '    <auth backend="local"/>\n'
                   '  </host>\n'
                   '  <c2s>\n'
                   '    <listen address="%s" port="%d"/>\n'
                   '    <listen address="%s" port="%d" tls="direct"/>\n'
                   '    <require-starttls>true</require-starttls>\n'
                   '    <processes>%d</processes>\n'
                   '    <rate-limit/>\n'
                   '  </c2s>\n'
                   '  <sm>\n'
                   '%s'
                   '  </sm>\n'
                   '%s'
                   '</palabred>\n'
                   % (log_level, domain, x(self.crt), x(self.key), address,
                      self.c2s_port, address, self.tls_port, processes,
                      "" if modules is None else
                      "    <modules>%s</modules>\n" % " ".join(modules),
                      "  <muc/>\n" if self.has_muc else ""))

    @classmethod
    def build_has_rooms(cls):
        """Whether this build's palabred knows <muc> (a setting only
        config_muc.c has, among its strings)."""
        with open(cls.palabred, "rb") as f:
            return b"archive-retention-days" in f.read()

    def has_import(self):
        r = subprocess.run([self.palabrectl], capture_output=True,
                           text=True, timeout=30)
        return "user import" in r.stdout + r.stderr

    def store_users(self, users):
        if self.has_import():
            lines = "".join("%s@%s %s\n" % (u, self.domain, p)
                            for u, p in users)
            its = ["-i", str(self.iterations)] if self.iterations else []
            r = subprocess.run([self.palabrectl, "-c", self.config, *its,
                                "user", "import"], input=lines,
                               capture_output=True, text=True, timeout=3600)
            if r.returncode != 0:
                raise ServerError("palabrectl user import exited %d:\n%s%s"
                                  % (r.returncode, r.stdout, r.stderr))
            self.import_method = "palabrectl user import"
            return
        # (user add has no -i: palabrectl's default count)
        self.import_method = "palabrectl user add (one by one)"
        for u, p in users:
            r = subprocess.run([self.palabrectl, "-c", self.config, "user",
                                "add", "%s@%s" % (u, self.domain)],
                               input=p + "\n", capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0 and "exists" not in r.stderr:
                raise ServerError("palabrectl user add %s exited %d:\n%s"
                                  % (u, r.returncode, r.stderr))

    def differences(self):
        n = self.iterations or 10000
        return {
            "passwords": "SCRAM-SHA-1 and -SHA-256 keys (PBKDF2, %d "
            "iterations) in SQLite; PLAIN recomputes PBKDF2-HMAC-SHA-256, "
            "%d rounds, in C" % (n, n),
            "durability": "SQLite in WAL mode; the sm's data with "
            "synchronous=FULL (an fsync per commit)",
            "logging": "warn and above, to stderr (a file)",
            "limits": "stanzas up to 256 KiB; at most 30 failed logins per "
            "address and 10 per account a minute (no bench login fails); "
            "no rate limit (c2s/rate-limit off: its default, 50 stanzas/s "
            "per session, would slow chat at saturation, ~130/s each)",
            "tcp": "TCP_NODELAY; listen backlog 1024",
            "processes": "%d: supervisor with the router, sm, %d c2s, "
            "muc" % (3 + self.processes, self.processes),
            "muc": "the muc process, every default: history 20, at most "
            "1,000 occupants a room; a groupchat message goes to the sm "
            "as one multicast frame, which delivers a copy to each "
            "occupant",
            "own": "a session gives back OpenSSL's state once bound and "
            "its XML parser once quiet for a sweep period (5 s); c2s trims "
            "the heap (malloc_trim) once a burst of logins is over",
        }

    def launch(self, deadline):
        self.spawn("palabred", [self.palabred, "-c", self.config])

    def logs(self):
        return []   # palabred logs to stderr: palabred.out

    @property
    def version(self):
        try:
            r = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                                "--dirty"], capture_output=True, text=True,
                               timeout=30)
            rev = r.stdout.strip()
        except OSError:
            rev = ""
        return "palabre %s" % (rev or "(no git revision)")


# ---- Prosody --------------------------------------------------------------

def lua_string(s):
    return '"%s"' % str(s).replace("\\", "\\\\").replace('"', '\\"')


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, (list, tuple)):
        return "{ %s }" % "; ".join(lua_value(x) for x in v)
    if isinstance(v, dict):
        return "{ %s }" % "; ".join("[%s] = %s" % (lua_string(k),
                                                   lua_value(x))
                                    for k, x in v.items())
    raise TypeError(v)


def prosody_encode(s):
    """util.datamanager's encode(): every non-alphanumeric byte as %xx."""
    return re.sub(r"[^A-Za-z0-9]",
                  lambda m: "".join("%%%02x" % b
                                    for b in m.group().encode()), s)


class Prosody(Server):
    """prosody -F --config DIR/prosody.cfg.lua (Debian's Prosody 0.12, in
    the foreground, run_as_root when root), like tests/interop/prosody.py
    without its DNS settings: c2s_ports and c2s_direct_tls_ports on the
    address, no other port (s2s module disabled, no HTTP, no external
    components), the muc component (Component "conference.DOMAIN" "muc"),
    c2s_require_encryption, ssl (and c2s_direct_tls_ssl, which the direct
    TLS port needs) with the certificate and protocol tlsv1_2+ (Prosody's
    default),
    network_settings tcp_backlog 1024 (128 by default) and nagle as given
    (true by default, as Prosody's),
    authentication internal_hashed, no registration; modules roster,
    saslauth, tls, disco, ping, blocklist (presence and offline are
    always loaded); log: warn and above to prosody.log.

    Accounts: the files Prosody's internal_hashed provider writes
    (data/<host %-encoded>/accounts/<user>.dat, a Lua table with
    stored_key, server_key (hex), salt (a v4 UUID, used as is as the
    salt) and iteration_count = 10000, Prosody's default_iteration_count),
    computed here with hashlib on every core."""

    name = "prosody"
    label = "Prosody"
    package = "prosody"
    data_paths = ("data",)

    def __init__(self, workdir, domain="bench.test", address="127.0.0.1",
                 cert=None, log_level="warn", iterations=10000, nagle=True):
        """iterations: the SCRAM iteration count of the accounts made here,
        and default_iteration_count (Prosody's default: 10000). nagle:
        network_settings.nagle (Prosody's default: true, no TCP_NODELAY;
        palabre and ejabberd set TCP_NODELAY)."""
        super().__init__(workdir, domain, address, cert)
        self.iterations = iterations
        self.nagle = nagle
        self.c2s_port, self.tls_port = free_ports(2, address)
        self.config = self.path("prosody.cfg.lua")
        self.data_dir = self.path("data")
        self.log = self.path("prosody.log")
        for d in ("data", "certs"):
            os.makedirs(self.path(d), exist_ok=True)
        os.chmod(self.data_dir, 0o750)
        settings = {
            "run_as_root": os.getuid() == 0,
            "pidfile": self.path("prosody.pid"),
            "data_path": self.data_dir,
            "certificates": self.path("certs"),
            "log": {log_level: self.log},
            "interfaces": [address],
            "local_interfaces": [address],
            "c2s_ports": [self.c2s_port],
            "c2s_direct_tls_ports": [self.tls_port],
            "s2s_ports": [],
            "s2s_direct_tls_ports": [],
            "legacy_ssl_ports": [],
            "component_ports": [],
            "http_ports": [],
            "https_ports": [],
            "modules_enabled": ["roster", "saslauth", "tls", "disco",
                                "ping", "blocklist"],
            "modules_disabled": ["s2s"],
            "authentication": "internal_hashed",
            "default_iteration_count": iterations,
            "storage": "internal",
            "allow_registration": False,
            "c2s_require_encryption": True,
            "use_ipv6": False,
            # 128 by default; palabre and ejabberd here listen with 1024,
            # jabberd2 with SOMAXCONN.
            "network_settings": {"tcp_backlog": 1024, "nagle": nagle},
        }
        tls = {"certificate": self.crt, "key": self.key,
               "protocol": "tlsv1_2+"}
        # ssl serves STARTTLS; the direct TLS port takes its certificate
        # from c2s_direct_tls_ssl (for the port, and per host for SNI:
        # core/portmanager.lua), else from the certificates directory.
        settings["ssl"] = tls
        settings["c2s_direct_tls_ssl"] = tls
        lines = ["-- bench/servers.py"]
        lines += ["%s = %s" % (k, lua_value(v)) for k, v in settings.items()]
        lines += ["", "VirtualHost %s" % lua_string(domain),
                  "\tssl = %s" % lua_value(tls),
                  "", "Component %s %s" % (lua_string(self.muc_service),
                                           lua_string("muc"))]
        self.write("prosody.cfg.lua", "\n".join(lines) + "\n")

    def store_users(self, users):
        accounts = os.path.join(self.data_dir, prosody_encode(self.domain),
                                "accounts")
        os.makedirs(accounts, mode=0o750, exist_ok=True)
        secrets_ = parallel_map(_prosody_secret,
                                [(u, p, self.iterations) for u, p in users])
        for name, salt, stored, server in secrets_:
            text = ("return {\n"
                    "\t[\"iteration_count\"] = %d;\n"
                    "\t[\"salt\"] = %s;\n"
                    "\t[\"stored_key\"] = %s;\n"
                    "\t[\"server_key\"] = %s;\n"
                    "};\n" % (self.iterations, lua_string(salt),
                              lua_string(stored), lua_string(server)))
            path = os.path.join(accounts, prosody_encode(name) + ".dat")
            with open(path + "~", "w") as f:
                f.write(text)
            os.chmod(path + "~", 0o640)
            os.replace(path + "~", path)

    def differences(self):
        return {
            "passwords": "SCRAM-SHA-1 keys (PBKDF2, %d iterations) in "
            "internal_hashed files; PLAIN recomputes PBKDF2-HMAC-SHA-1, "
            "%d rounds, through OpenSSL" % (self.iterations,
                                            self.iterations),
            "durability": "one file per account and store, written to a "
            "scratch file and renamed, never fsync'ed",
            "logging": "warn and above, to a file",
            "limits": "stanzas up to 256 KiB (10,000 bytes before "
            "authentication); no rate limit (mod_limits not loaded)",
            "tcp": "Nagle's algorithm %s (Prosody's default: on); listen "
            "backlog 1024 (default 128)" % ("on" if self.nagle else "off"),
            "processes": "1 (Lua, one thread; incremental garbage "
            "collector)",
            "muc": "the muc component (mod_muc), its defaults: new rooms "
            "locked until configured, history 20, no occupant limit",
            "own": "nothing beyond the common set (roster, presence, "
            "offline messages, blocking, disco, ping)",
        }

    def launch(self, deadline):
        self.spawn("prosody", ["/usr/bin/prosody", "-F", "--config",
                               self.config])

    def logs(self):
        return [self.log]


# ---- ejabberd -------------------------------------------------------------

EJABBERD_REGISTER = r'''
try
    {ok, Data} = file:read_file(os:getenv("BENCH_USERS")),
    Host = list_to_binary(os:getenv("BENCH_DOMAIN")),
    Lines = binary:split(Data, <<"\n">>, [global, trim_all]),
    N = erlang:system_info(schedulers_online),
    Indexed = lists:zip(lists:seq(1, length(Lines)), Lines),
    Chunks = [[L || {I, L} <- Indexed, I rem N == K]
              || K <- lists:seq(0, N - 1)],
    Self = self(),
    Reg = fun(L) ->
        [U, SK, SvK, Salt, It] = binary:split(L, <<" ">>, [global]),
        ejabberd_auth:try_register(U, Host,
            {scram, SK, SvK, Salt, sha, binary_to_integer(It)})
    end,
    Pids = [spawn_link(fun() -> Self ! {done, self(), [Reg(L) || L <- C]}
                       end) || C <- Chunks],
    Rs = lists:append([receive {done, P, R} -> R end || P <- Pids]),
    Ok = length([x || ok <- Rs]),
    Ex = length([x || {error, exists} <- Rs]),
    Bad = [R || R <- Rs, R =/= ok, R =/= {error, exists}],
    io:format("bench-register: ok ~p exists ~p failed ~p ~p~n",
              [Ok, Ex, length(Bad), lists:sublist(Bad, 3)]),
    init:stop()
catch C:E:S ->
    io:format("bench-register: crashed ~p:~p ~p~n", [C, E, S]),
    erlang:halt(3)
end.
'''


class Ejabberd(Server):
    """Debian's ejabberd 23.01, run the way `ejabberdctl foreground` runs
    it (erl +K true +P 250000 … -mnesia dir … -s ejabberd, ERL_MAX_PORTS
    32000, ERL_MAX_ETS_TABLES 1400) but directly as the current user (the
    script would su to the ejabberd user, who cannot read workdir), with
    everything in workdir: ejabberd.yml (EJABBERD_CONFIG_PATH), logs
    (EJABBERD_LOG_PATH), mnesia/, HOME with a private .erlang.cookie, the
    crash dump. Node ejabberd@ADDRESS; its distribution listens on a free
    port of the address without epmd (-erl_epmd_port PORT -start_epmd
    false, inet_dist_use_interface), so no epmd is started or left.

    ejabberd.yml: the domain; certfiles: the certificate and key; c2s
    listeners with starttls_required and tls: true (direct TLS),
    protocol_options no_sslv3/no_tlsv1/no_tlsv1_1 and the ciphers of
    Debian's ejabberd.yml, max_stanza_size 262144, backlog 1024 (the
    listener default is 5, which drops connections under a burst; palabre
    listens with 1024); no shaper (ejabberd's default when a listener
    names none; Debian's example sets 3000 B/s); auth_method internal
    (Mnesia) with auth_password_format scram (as Debian's ejabberd.yml);
    disable_sasl_mechanisms digest-md5 and X-OAUTH2 (as Debian's);
    modules mod_roster, mod_offline, mod_privacy, mod_blocking, mod_disco,
    mod_ping, and mod_muc on conference.DOMAIN with max_users (the
    service's and each new room's) raised from 200 to MUC_MAX_USERS;
    loglevel warning.

    Accounts: ejabberd's own ejabberd_auth:try_register/3, called from
    inside a boot of the node (-eval after -s ejabberd, then init:stop())
    with #scram{} records (sha, 4096 iterations: ejabberd's
    ?SCRAM_DEFAULT_ITERATION_COUNT, 16-byte salt) computed by hashlib on
    every core: exactly what ejabberd stores for a password it hashes
    itself (its own hashing, p1_xmpp's scram:salted_password, one Erlang
    HMAC call per PBKDF2 round, about 8 ms for 4096 rounds against 0.9 ms
    for crypto:pbkdf2_hmac, makes about 100 accounts/s here). Needs the
    node stopped. A PLAIN login runs that same scram:salted_password."""

    name = "ejabberd"
    label = "ejabberd"
    package = "ejabberd"
    data_paths = ("mnesia",)
    ciphers = "HIGH:!aNULL:!eNULL:!3DES:@STRENGTH"   # Debian's example
    # Occupants of a room (mod_muc's max_users, 200 by default): the muc
    # scenario puts 1,000 in one.
    MUC_MAX_USERS = 10000

    def __init__(self, workdir, domain="bench.test", address="127.0.0.1",
                 cert=None, log_level="warning", iterations=4096):
        """iterations: the SCRAM iteration count of the accounts made here
        (ejabberd's own, fixed: 4096; it honours any stored count)."""
        super().__init__(workdir, domain, address, cert)
        self.iterations = iterations
        self.c2s_port, self.tls_port, self.dist_port = \
            free_ports(3, address)
        self.node = "ejabberd@%s" % address
        self.config = self.path("ejabberd.yml")
        self.log = self.path("ejabberd.log")
        self.mnesia = self.path("mnesia")
        os.makedirs(self.mnesia, exist_ok=True)
        os.makedirs(self.path("home"), exist_ok=True)
        cookie = self.path("home", ".erlang.cookie")
        if not os.path.exists(cookie):
            self.write(os.path.join("home", ".erlang.cookie"),
                       secrets.token_hex(16).upper(), 0o400)
        pem = self.combined_pem("ejabberd.pem")
        listener = ('  -\n'
                    '    port: %d\n'
                    '    ip: "%s"\n'
                    '    module: ejabberd_c2s\n'
                    '    backlog: 1024\n'
                    '    max_stanza_size: 262144\n'
                    '    access: c2s\n'
                    '    %s\n'
                    '    ciphers: "%s"\n'
                    '    protocol_options:\n'
                    '      - "no_sslv3"\n'
                    '      - "no_tlsv1"\n'
                    '      - "no_tlsv1_1"\n'
                    '      - "cipher_server_preference"\n'
                    '      - "no_compression"\n')
        self.write("ejabberd.yml",
                   '# bench/servers.py\n'
                   'loglevel: %s\n'
                   'log_rotate_count: 0\n'
                   'hosts:\n'
                   '  - "%s"\n'
                   'certfiles:\n'
                   '  - "%s"\n'
                   'listen:\n'
                   % (log_level, domain, pem)
                   + listener % (self.c2s_port, address,
                                 "starttls_required: true", self.ciphers)
                   + listener % (self.tls_port, address, "tls: true",
                                 self.ciphers)
                   + 'auth_method: internal\n'
                   'auth_password_format: scram\n'
                   'disable_sasl_mechanisms:\n'
                   '  - "digest-md5"\n'
                   '  - "X-OAUTH2"\n'
                   'acl:\n'
                   '  local:\n'
                   '    user_regexp: ""\n'
                   'access_rules:\n'
                   '  local:\n'
                   '    allow: local\n'
                   '  c2s:\n'
                   '    deny: blocked\n'
                   '    allow: all\n'
                   'modules:\n'
                   '  mod_roster:\n'
                   '    versioning: true\n'
                   '  mod_offline: {}\n'
                   '  mod_privacy: {}\n'
                   '  mod_blocking: {}\n'
                   '  mod_disco: {}\n'
                   '  mod_ping: {}\n'
                   '  mod_muc:\n'
                   '    hosts:\n'
                   '      - "%s"\n'
                   '    max_users: %d\n'
                   '    default_room_options:\n'
                   '      max_users: %d\n'
                   % (self.muc_service.replace(domain, "@HOST@"),
                      self.MUC_MAX_USERS, self.MUC_MAX_USERS))

    def erl_env(self, extra=None):
        env = dict(os.environ)
        env.update({
            "HOME": self.path("home"),
            "EJABBERD_CONFIG_PATH": self.config,
            "EJABBERD_LOG_PATH": self.log,
            "EJABBERD_PID_PATH": self.path("ejabberd.pid"),
            "ERL_CRASH_DUMP": self.path("erl_crash.dump"),
            "ERL_LIBS": LIBDIR,
            "ERL_MAX_PORTS": "32000",
            "ERL_MAX_ETS_TABLES": "1400",
            "CONTRIB_MODULES_PATH": self.path("home", ".ejabberd-modules"),
            "CONTRIB_MODULES_CONF_DIR": self.path("modules.d"),
        })
        env.pop("ERL_EPMD_ADDRESS", None)
        env.pop("ERL_FLAGS", None)
        env.pop("ERL_AFLAGS", None)
        env.pop("ERL_ZFLAGS", None)
        env.update(extra or {})
        return env

    def erl_argv(self, *extra):
        iface = "{%s}" % ",".join(self.address.split("."))
        return ["/usr/bin/erl", "-name", self.node,
                "+K", "true", "+P", "250000",
                "-env", "ERL_CRASH_DUMP_BYTES", "0",
                "-erl_epmd_port", str(self.dist_port), "-start_epmd", "false",
                "-kernel", "inet_dist_use_interface", iface,
                "-noinput", "-mnesia", "dir", '"%s"' % self.mnesia,
                # as ejabberdctl foreground-quiet: the console (our .out
                # file) gets critical messages only, ejabberd.log the rest
                "-ejabberd", "quiet", "true",
                "-s", "ejabberd", *extra]

    def store_users(self, users):
        if self.running():
            raise ServerError("ejabberd: add_users needs the node stopped")
        lines = parallel_map(_ejabberd_secret,
                             [(u, p, self.iterations) for u, p in users])
        users_file = self.write("register.txt", "".join(
            "%s %s %s %s %d\n" % (n, sk, svk, salt, self.iterations)
            for n, sk, svk, salt in lines), 0o600)
        out_path = self.path("register.out")
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(
                self.erl_argv("-eval", EJABBERD_REGISTER),
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.dir,
                env=self.erl_env({"BENCH_USERS": users_file,
                                  "BENCH_DOMAIN": self.domain}),
                preexec_fn=raise_nofile, start_new_session=True)
            try:
                proc.wait(timeout=600)
            except BaseException:   # timeout, ^C: no node left behind
                for pid in descendants(proc.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                proc.wait()
                raise
        os.unlink(users_file)
        text = tail(out_path, 100000)
        m = re.search(r"bench-register: ok (\d+) exists (\d+) failed (\d+)",
                      text)
        if not m or int(m.group(3)) or proc.returncode != 0:
            raise ServerError("ejabberd: registering %d accounts failed "
                              "(exit %s)\n--- register.out ---\n%s\n"
                              "--- ejabberd.log ---\n%s"
                              % (len(users), proc.returncode, text[-4000:],
                                 tail(self.log)))

    def differences(self):
        return {
            "passwords": "SCRAM-SHA-1 keys (PBKDF2, %d iterations) in "
            "Mnesia (auth_password_format scram, as Debian's); PLAIN "
            "recomputes PBKDF2-HMAC-SHA-1, %d rounds, in an Erlang loop "
            "(~8 ms)" % (self.iterations, self.iterations),
            "durability": "Mnesia disc copies: a transaction log written "
            "without fsync, dumped to the tables in the background",
            "logging": "warning and above, to a file",
            "limits": "stanzas up to 256 KiB; no traffic shaper (Debian's "
            "example sets one); 32,000 ports (ERL_MAX_PORTS)",
            "tcp": "TCP_NODELAY; listen backlog 1024 (default 5)",
            "processes": "1 BEAM (a scheduler per core), which reserves "
            "memory ahead (~100 MiB at start)",
            "muc": "mod_muc, its defaults but max_users raised from 200 "
            "to %s (service and new rooms): history 20; past 1,000 "
            "occupants a room (max_users_presence) it limits presence "
            "broadcasts" % format(self.MUC_MAX_USERS, ","),
            "own": "roster versioning; privacy lists (mod_privacy) "
            "besides blocking",
        }

    def launch(self, deadline):
        self.spawn("ejabberd", self.erl_argv(), env=self.erl_env())

    def logs(self):
        return [self.log, self.path("error.log")]


# ---- jabberd2 -------------------------------------------------------------

JABBERD2_ETC = "/etc/jabberd2"
JABBERD2_SCHEMA = "/usr/share/doc/jabberd2/db-setup.sqlite.gz"


def set_text(root, path, text):
    """root/path's text (made when missing)."""
    el = root
    for step in path.split("/"):
        child = el.find(step)
        if child is None:
            child = ET.SubElement(el, step)
        el = child
    el.text = str(text)
    return el


def remove(root, path):
    parent_path, _, name = path.rpartition("/")
    parent = root.find(parent_path) if parent_path else root
    if parent is not None:
        for el in parent.findall(name):
            parent.remove(el)


class Jabberd2(Server):
    """Debian's jabberd2 2.7: jabberd2-router, jabberd2-sm and jabberd2-c2s,
    each started with -c its XML config in workdir (no s2s process). The
    configs are the package's /etc/jabberd2/{router,sm,c2s}.xml (read,
    never changed), rewritten here: pid files, log files (type file) and
    the sqlite database in workdir; the router on a free port of the
    address with its own component secret (router-users.xml) and an empty
    filter, no XEP-0114 secret; sm and c2s for the domain; storage and
    authreg in sqlite (as the package ships them, plaintext password_type,
    PRAGMA synchronous = NORMAL); c2s with pemfile and require-starttls on
    its <id> (no register-enable: no registration), ip/port for STARTTLS,
    ssl-port + pemfile for direct TLS, io/max_fds raised from 1024 to the
    file limit (1024 would cap c2s at about 1000 clients); the sm module
    chains as shipped. jabberd2 has no log level: it logs at notice, one
    line or so per connection and session.

    Accounts: rows in the sqlite database made from the package's schema
    (db-setup.sqlite): authreg (username, realm, password) as c2s's
    authreg_sqlite reads them with password_type plaintext (the shipped
    one), and active (collection-owner, time), what sm's mod_active
    writes when a user is created (without it sm refuses the session)."""

    name = "jabberd2"
    label = "jabberd2"
    package = "jabberd2"
    has_muc = False
    data_paths = ("sqlite.db", "sqlite.db-journal", "sqlite.db-wal",
                  "sqlite.db-shm")

    def __init__(self, workdir, domain="bench.test", address="127.0.0.1",
                 cert=None):
        super().__init__(workdir, domain, address, cert)
        self.c2s_port, self.tls_port, self.router_port = \
            free_ports(3, address)
        self.db = self.path("sqlite.db")
        secret = secrets.token_hex(16)
        pem = self.combined_pem("server.pem")
        self.write("router-users.xml",
                   "<users>\n  <user>\n    <name>jabberd</name>\n"
                   "    <secret>%s</secret>\n  </user>\n</users>\n" % secret,
                   0o600)
        self.write("router-filter.xml", "<filter>\n</filter>\n")

        def common(root, ident):
            set_text(root, "pidfile", self.path(ident + ".pid"))
            log = root.find("log")
            log.set("type", "file")
            set_text(root, "log/file", self.path(ident + ".log"))

        def router_link(root):
            set_text(root, "router/ip", address)
            set_text(root, "router/port", self.router_port)
            set_text(root, "router/user", "jabberd")
            set_text(root, "router/pass", secret)

        r = ET.parse(os.path.join(JABBERD2_ETC, "router.xml")).getroot()
        common(r, "router")
        set_text(r, "local/ip", address)
        set_text(r, "local/port", self.router_port)
        set_text(r, "local/users", self.path("router-users.xml"))
        remove(r, "local/secret")
        remove(r, "local/pemfile")
        set_text(r, "aci/filter", self.path("router-filter.xml"))
        self.write_xml("router.xml", r)

        sm = ET.parse(os.path.join(JABBERD2_ETC, "sm.xml")).getroot()
        common(sm, "sm")
        router_link(sm)
        set_text(sm, "local/id", domain)
        set_text(sm, "storage/driver", "sqlite")
        set_text(sm, "storage/sqlite/dbname", self.db)
        for acl in sm.findall("aci/acl"):
            for jid in acl.findall("jid"):
                jid.text = "admin@" + domain
        self.write_xml("sm.xml", sm)

        c2s = ET.parse(os.path.join(JABBERD2_ETC, "c2s.xml")).getroot()
        common(c2s, "c2s")
        router_link(c2s)
        local = c2s.find("local")
        for ident in local.findall("id"):
            local.remove(ident)
        ident = ET.Element("id", {"pemfile": pem,
                                  "require-starttls": "true"})
        ident.text = domain
        local.insert(0, ident)
        set_text(c2s, "local/ip", address)
        set_text(c2s, "local/port", self.c2s_port)
        set_text(c2s, "local/ssl-port", self.tls_port)
        set_text(c2s, "local/pemfile", pem)
        set_text(c2s, "io/max_fds", nofile_limit())
        set_text(c2s, "authreg/module", "sqlite")
        set_text(c2s, "authreg/sqlite/dbname", self.db)
        self.write_xml("c2s.xml", c2s)

        if not os.path.exists(self.db):
            with gzip.open(JABBERD2_SCHEMA, "rt") as f:
                schema = f.read()
            with contextlib.closing(sqlite3.connect(self.db)) as conn:
                conn.executescript(schema)

    def write_xml(self, name, root):
        ET.indent(root)
        self.write(name, "<!-- bench/servers.py, from %s/%s -->\n%s\n"
                   % (JABBERD2_ETC, name, ET.tostring(root,
                                                      encoding="unicode")))

    def store_users(self, users):
        now = int(time.time())
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as db:
            with db:
                have = {u for (u,) in db.execute(
                    'SELECT "username" FROM "authreg" WHERE "realm" = ?',
                    (self.domain,))}
                new = [(u, p) for u, p in users if u not in have]
                db.executemany(
                    'INSERT INTO "authreg" ("username", "realm", "password") '
                    'VALUES (?, ?, ?)', [(u, self.domain, p) for u, p in new])
                db.executemany(
                    'INSERT INTO "active" ("collection-owner", "time") '
                    'VALUES (?, ?)',
                    [("%s@%s" % (u, self.domain), now) for u, _ in new])

    def differences(self):
        return {
            "passwords": "clear text in SQLite (authreg, the shipped "
            "plaintext password_type): PLAIN compares strings, no PBKDF2",
            "durability": "SQLite with synchronous=NORMAL (as shipped)",
            "logging": "no level: notice and above, a few lines per "
            "connection and session (router, sm, c2s), to files",
            "limits": "stanzas up to 65,535 bytes and 1,000 a second per "
            "connection (as shipped); c2s max_fds raised to the file "
            "limit",
            "tcp": "Nagle's algorithm on (no setting): a stream restart may "
            "wait for a delayed ACK; listen backlog SOMAXCONN (4096)",
            "processes": "3: router, sm, c2s, linked over TCP",
            "muc": "none: jabberd2 has no room service of its own (rooms "
            "come from a separate component, such as Debian's jabber-muc, "
            "MU-Conference 0.8, not set up here): the muc scenario is not "
            "run",
            "own": "the sm module chains as shipped (among them status, "
            "last activity, privacy lists instead of blocking, vCard, "
            "AMP): status and logout rows written as users log in and "
            "out, into tables without an index, which grow with every run "
            "(reset per run here); now and then answers "
            "STARTTLS with internal-server-error after a connection that "
            "ended without TLS close_notify",
        }

    def launch(self, deadline):
        self.spawn("router", ["/usr/sbin/jabberd2-router", "-c",
                              self.path("router.xml")])
        self.wait_port(self.router_port, deadline)
        self.spawn("sm", ["/usr/sbin/jabberd2-sm", "-c", self.path("sm.xml")])
        self.spawn("c2s", ["/usr/sbin/jabberd2-c2s", "-c",
                           self.path("c2s.xml")])

    def logs(self):
        return [self.path(n + ".log") for n in ("c2s", "sm", "router")]


# ---- what is there --------------------------------------------------------

SERVERS = {"palabre": Palabre, "prosody": Prosody, "ejabberd": Ejabberd,
           "jabberd2": Jabberd2}

NEEDS = {
    "prosody": ["/usr/bin/prosody"],
    "ejabberd": ["/usr/bin/erl"],
    "jabberd2": ["/usr/sbin/jabberd2-router", "/usr/sbin/jabberd2-sm",
                 "/usr/sbin/jabberd2-c2s"],
}
FILES = {
    "ejabberd": [os.path.join(LIBDIR, "ejabberd-%s", "ebin",
                              "ejabberd.app")],
    "jabberd2": [JABBERD2_SCHEMA] + [os.path.join(JABBERD2_ETC, n)
                                     for n in ("router.xml", "sm.xml",
                                               "c2s.xml")],
}


def available(name):
    """(True, version) when the server can be run here, else (False, why)."""
    if name not in SERVERS:
        return False, "unknown server %r (one of %s)" % (
            name, ", ".join(SERVERS))
    if name == "palabre":
        for p in (Palabre.palabred, Palabre.palabrectl):
            if not os.access(p, os.X_OK):
                return False, "%s is missing: run make all" % p
        return True, "build/palabred"
    cls = SERVERS[name]
    v = dpkg_version(cls.package)
    if v is None:
        return False, ("Debian package %s is not installed: run sh "
                       "tools/install-deps.sh bench" % cls.package)
    for p in NEEDS.get(name, []):
        if not os.access(p, os.X_OK):
            return False, "%s is missing (package %s %s)" % (p, cls.package,
                                                             v)
    for p in FILES.get(name, []):
        if "%s" in p:
            p = p % upstream(v)
        if not os.path.exists(p):
            return False, "%s is missing (package %s %s)" % (p, cls.package,
                                                             v)
    return True, "%s %s" % (cls.package, v)


# ---- self-test ------------------------------------------------------------

def selftest(names, users=1000, keep=False, address="127.0.0.1"):
    """For each server: configure in a temporary directory, add users,
    snapshot them, start, log one in over STARTTLS and over direct TLS
    with PLAIN, check that a wrong password and TLS 1.1 are refused, stop,
    check that no process is left, restore the snapshot and log in again;
    prints a table. Returns the number of failures."""
    top = tempfile.mkdtemp(prefix="bench-servers-")
    cert = make_certificate(os.path.join(top, "cert"), "bench.test")
    rows, details, notes = [], [], []
    failures = 0
    for name in names:
        row = {"server": name}
        rows.append(row)
        ok, why = available(name)
        if not ok:
            row["result"] = "NOT AVAILABLE: " + why
            failures += 1
            continue
        server = None
        pids = []
        step = "configure"
        try:
            server = SERVERS[name](os.path.join(top, name), cert=cert,
                                   address=address)
            row["version"] = server.version
            notes.append("%s: accounts %s" % (
                name, server.differences()["passwords"]))
            step = "add %d users" % users
            seconds = server.add_users("user%d", 0, users, "pw-%d-secret")
            row["users/s"] = "%.0f" % (users / seconds)
            server.snapshot()
            step = "start"
            server.start()
            row["start s"] = "%.2f" % server.timings["start"]
            pids = server.pids()
            row["pids"] = str(len(pids))
            i = users * 3 // 4
            step = "STARTTLS login"
            a = server.login("user%d" % i, "pw-%d-secret" % i)
            row["tls"] = "%s %s" % a["tls"]
            row["mechanisms"] = " ".join(a["mechanisms"])
            row["login ms"] = "%.0f" % (a["seconds"] * 1000)
            step = "direct TLS login"
            if server.tls_port:
                server.login("user%d" % (i + 1), "pw-%d-secret" % (i + 1),
                             direct_tls=True)
                row["direct TLS"] = "ok"
            else:
                row["direct TLS"] = "none"
            step = "wrong password"
            if not sasl_refuses(server.address, server.c2s_port,
                                server.domain, "user%d" % i, "wrong",
                                ca_file=server.crt):
                raise ServerError("a wrong password was not refused")
            step = "TLS 1.1 probe"
            old = refuses_tls(server.address, server.c2s_port,
                              server.domain, ssl.TLSVersion.TLSv1_1,
                              direct_tls=False)
            row["TLS1.1"] = {True: "refused", False: "ACCEPTED",
                             None: "n/a"}[old]
            if old is False:
                raise ServerError("TLS 1.1 accepted")
            step = "stop"
            t0 = time.monotonic()
            server.stop()
            row["stop s"] = "%.2f" % (time.monotonic() - t0)
            left = server.leftovers(pids)
            if left:
                raise ServerError("processes left after stop: %s" % left)
            step = "restore and log in again"
            row["restore s"] = "%.2f" % server.restore()
            server.start()
            server.login("user%d" % (i + 2), "pw-%d-secret" % (i + 2))
            server.stop()
            row["result"] = "ok"
        except Exception as e:  # noqa: BLE001 (reported, never skipped)
            failures += 1
            row["result"] = "FAILED at %s: %s" % (
                step, str(e).splitlines()[0] if str(e) else type(e).__name__)
            details.append("=== %s: %s ===\n%s" % (name, step, e))
        finally:
            if server is not None:
                server.stop()
                left = [p for p in pids if pid_alive(p)]
                if left:
                    row["result"] += " (left running: %s)" % left
    columns = ["server", "version", "users/s", "start s", "pids", "tls",
               "login ms", "direct TLS", "TLS1.1", "stop s", "restore s",
               "mechanisms", "result"]
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in rows))
              for c in columns}
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-+-".join("-" * widths[c] for c in columns))
    for r in rows:
        print(" | ".join(r.get(c, "").ljust(widths[c]) for c in columns))
    if notes:
        print()
        for n in notes:
            print(n)
    for d in details:
        print("\n" + d)
    if keep or failures:
        print("\nwork directories kept in %s" % top)
    else:
        shutil.rmtree(top, ignore_errors=True)
    return failures


def main(argv):
    if len(argv) >= 1 and argv[0] == "selftest":
        args = argv[1:]
        users, keep, names, address = 1000, False, [], "127.0.0.1"
        while args:
            a = args.pop(0)
            if a == "-n":
                users = int(args.pop(0))
            elif a == "-a":
                address = args.pop(0)
            elif a == "-k":
                keep = True
            else:
                names.append(a)
        for n in names:
            if n not in SERVERS:
                print("unknown server %s (one of %s)" % (n, ", ".join(
                    SERVERS)), file=sys.stderr)
                return 2
        return 1 if selftest(names or list(SERVERS), users, keep,
                             address) else 0
    if len(argv) == 2 and argv[0] == "available":
        ok, why = available(argv[1])
        print(why)
        return 0 if ok else 1
    print("usage: servers.py selftest [-n USERS] [-a 127.x.y.z] [-k] "
          "[NAME...]\n"
          "       servers.py available NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
