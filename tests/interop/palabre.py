"""A palabred under test: its directory, configuration, users and process.

Each Palabre owns a temporary directory holding config.xml, the
certificates, the router socket and the data directory. It starts
build/palabred in the foreground with stderr going to palabred.log, and
always stops it by its process id (and any component left behind by its
own id).
"""
import os
import signal
import subprocess
import time

from daemon import Daemon
# Imported from here by the tests and the other fixtures too.
from daemon import free_ports, pid_alive, read  # noqa: F401

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# make check-asan runs the suite against the sanitizer build.
BUILD = os.path.join(ROOT, os.environ.get("PALABRE_BUILD", "build"))
PALABRED = os.path.join(BUILD, "palabred")
PALABRECTL = os.path.join(BUILD, "palabrectl")

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

# Every server made by the tests has these accounts.
USERS = {
    "alice@localhost": "alice-Secret-1",
    "bob@localhost": "bob-Secret-2",
    "carol@localhost": "carol-Secret-3",
    "dave@localhost": "dave-Secret-4",
    "erin@chat.example": "erin-Secret-5",
}

DEFAULT_MECHANISMS = ("SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 "
                      "SCRAM-SHA-1 PLAIN")


def make_certificate(directory, domain):
    """A self-signed certificate for domain: DIR/DOMAIN.crt and .key."""
    crt = os.path.join(directory, domain + ".crt")
    key = os.path.join(directory, domain + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "30", "-subj", "/CN=" + domain,
         "-addext", "subjectAltName=DNS:" + domain,
         "-keyout", key, "-out", crt],
        check=True, capture_output=True, timeout=60)
    return crt, key


def proc_children(pid):
    """Direct children of pid, from /proc/PID/task/*/children."""
    children = []
    task_dir = "/proc/%d/task" % pid
    try:
        tasks = os.listdir(task_dir)
    except OSError:
        return children
    for task in tasks:
        try:
            with open(os.path.join(task_dir, task, "children")) as f:
                children += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return children


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace")
                    for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def throttle_element(attributes):
    if attributes is None:
        return ""
    return "    <auth-throttle %s/>\n" % " ".join(
        '%s="%s"' % kv for kv in attributes.items())


class Palabre(Daemon):
    """One palabred: config, certificates, users, process.

    address: the loopback address its listeners use (federation tests give
    each server its own, e.g. 127.0.0.4). extra_config: XML inserted just
    before </palabred> (e.g. an <s2s> section). certificates: {domain:
    (crt, key)} used instead of the certs fixture's for those domains
    (CA-issued or self-signed ones); clients then check the server against
    ca_file, by default the certs fixture's CA file plus those
    certificates (enough for self-signed ones; give the test CA's file as
    ca_file for CA-issued ones). c2s_extra: XML inserted just before
    </c2s> (e.g. a <rate-limit/>). auth_throttle: the attributes of
    <c2s><auth-throttle> ({"per-address": 0, …}; None: the defaults).
    host_extra: {domain: XML} inserted at the end of that <host> (e.g.
    its <external-services>)."""

    program = "palabred"
    start_timeout = START_TIMEOUT
    stop_timeout = STOP_TIMEOUT

    def __init__(self, directory, certs, *, domains=("localhost",
                                                     "chat.example"),
                 mechanisms=DEFAULT_MECHANISMS, max_stanza_size=10000,
                 require_starttls=True, resource_conflict="replace",
                 processes=1, modules="disco ping", users=USERS,
                 auth_timeout=30, make_data_dir=True, address="127.0.0.1",
                 extra_config="", certificates=None, ca_file=None,
                 c2s_extra="", auth_throttle=None, host_extra=None):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "config.xml")
        self.log = os.path.join(self.dir, "palabred.log")
        certificates = dict(certificates or {})
        self.address = address
        self.domains = domains
        self.c2s_port, self.tls_port = free_ports(2, address)
        self._known_components = set()
        for domain in domains:
            if domain in certificates:
                sources = dict(zip(("crt", "key"), certificates[domain]))
            else:
                sources = certs[domain]
            for ext in ("crt", "key"):
                dst = os.path.join(self.dir, "%s.%s" % (domain, ext))
                with open(sources[ext], "rb") as f, open(dst, "wb") as g:
                    g.write(f.read())
                if ext == "key":
                    os.chmod(dst, 0o600)
        if ca_file:
            self.ca_file = ca_file
        elif certificates:
            self.ca_file = os.path.join(self.dir, "clients-ca.pem")
            with open(self.ca_file, "w") as out:
                for path in ([certs["ca_file"]] if certs else []) + [
                        crt for crt, _ in certificates.values()]:
                    with open(path) as f:
                        out.write(f.read().rstrip("\n") + "\n")
        else:
            self.ca_file = certs["ca_file"]
        hosts = "".join(
            '  <host domain="%s">\n'
            '    <certificate>%s.crt</certificate>\n'
            '    <key>%s.key</key>\n'
            '    <auth backend="local"/>\n'
            '%s'
            '  </host>\n' % (d, d, d, (host_extra or {}).get(d, ""))
            for d in domains)
        self.write_config(
            '<?xml version="1.0"?>\n'
            '<palabred>\n'
            '  <pidfile>palabred.pid</pidfile>\n'
            '  <log level="debug"/>\n'
            '  <router>\n'
            '    <socket>router.sock</socket>\n'
            '  </router>\n'
            '  <storage>\n'
            '    <path>data</path>\n'
            '  </storage>\n'
            + hosts +
            '  <c2s>\n'
            '    <listen address="%s" port="%d"/>\n'
            '    <listen address="%s" port="%d" tls="direct"/>\n'
            '    <require-starttls>%s</require-starttls>\n'
            '    <max-stanza-size>%d</max-stanza-size>\n'
            '    <max-depth>32</max-depth>\n'
            '    <mechanisms>%s</mechanisms>\n'
            '    <resource-conflict>%s</resource-conflict>\n'
            '    <auth-timeout>%d</auth-timeout>\n'
            '    <processes>%d</processes>\n'
            '%s'
            '  </c2s>\n'
            '  <sm>\n'
            '    <modules>%s</modules>\n'
            '  </sm>\n'
            % (address, self.c2s_port, address, self.tls_port,
               "true" if require_starttls else "false", max_stanza_size,
               mechanisms, resource_conflict, auth_timeout, processes,
               throttle_element(auth_throttle), modules)
            + extra_config +
            '</palabred>\n')
        if c2s_extra:
            with open(self.config) as f:
                text = f.read()
            self.write_config(text.replace("  </c2s>", c2s_extra + "  </c2s>"))
        if make_data_dir:
            # test_palabrectl checks that palabrectl makes it when missing.
            os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        for jid, password in users.items():
            if jid.split("@")[1] in domains:
                self.ctl_ok("user", "add", jid, stdin=password + "\n")

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    # ---- palabrectl -----------------------------------------------------

    def ctl(self, *args, stdin=""):
        """Runs palabrectl -c CONFIG ARGS with stdin; returns the result."""
        assert os.access(PALABRECTL, os.X_OK), \
            "%s is missing: run make all" % PALABRECTL
        return subprocess.run([PALABRECTL, "-c", self.config, *args],
                              input=stdin, capture_output=True, text=True,
                              timeout=30)

    def ctl_ok(self, *args, stdin=""):
        r = self.ctl(*args, stdin=stdin)
        assert r.returncode == 0, (
            "palabrectl %s exited %d\nstdout: %s\nstderr: %s"
            % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    # ---- the process ----------------------------------------------------

    def start(self):
        assert os.access(PALABRED, os.X_OK), \
            "%s is missing: run make all" % PALABRED
        self.launch([PALABRED, "-c", self.config], self.log, cwd=self.dir)
        with self.stopped_on_failure():
            self.wait_for_ports(self.c2s_port, self.tls_port)
            self.remember_components()
        return self

    def failure_log(self):
        return "--- palabred.log ---\n" + self.log_text()

    def log_text(self, tail=20000):
        text = read(self.log)
        return text[-tail:] if tail else text

    def components(self):
        """{'sm': pid, 'c2s.1': pid, …}: palabred's live components."""
        found = {}
        for child in proc_children(self.pid):
            argv = proc_cmdline(child)
            if "--component" in argv and pid_alive(child):
                i = argv.index("--component")
                if i + 1 < len(argv):
                    found[argv[i + 1]] = child
        return found

    def remember_components(self):
        self._known_components |= set(self.components().values())

    def wait_for_components(self, names, timeout=5.0, exclude=()):
        """Waits until every name in names runs as a component whose pid is
        not in exclude; returns {name: pid}."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.components()
            self._known_components |= set(found.values())
            ready = {n: found[n] for n in names
                     if n in found and found[n] not in exclude}
            if len(ready) == len(names):
                return ready
            if time.monotonic() > deadline:
                raise AssertionError(
                    "components %s not running within %.0f s (found %s)\n"
                    "--- palabred.log ---\n%s"
                    % (names, timeout, found, self.log_text()))
            time.sleep(0.05)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """Stops palabred by pid: SIGTERM, wait, SIGKILL; then any of its
        components still running, each by its own pid."""
        if self.running():
            self.remember_components()
        super().stop()
        deadline = time.monotonic() + 3
        for pid in self._known_components:
            # Only a process that still runs our config is ours.
            while (pid_alive(pid) and self.config in proc_cmdline(pid)
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            if pid_alive(pid) and self.config in proc_cmdline(pid):
                os.kill(pid, signal.SIGKILL)
