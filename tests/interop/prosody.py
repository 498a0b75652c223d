"""A real Prosody (Debian prosody 0.12) as a federation peer.

    dns = Dnsmasq(tmp).start()
    p = Prosody(tmp2, "p1.test", "127.0.0.4", dns,
                certificate=self_signed(tmp3, "p1.test"))
    dns.add_host("p1.test", p.address)
    dns.add_srv("_xmpp-server._tcp", "p1.test", "p1.test", p.s2s_port)
    dns.restart()
    p.add_user("alice@p1.test", "secret")
    p.start()          # waits for its c2s and s2s ports
    …
    p.stop()           # by pid: SIGTERM, wait, SIGKILL

Each Prosody owns a directory: prosody.cfg.lua, data/, prosody.pid and
prosody.log (level debug; log_text() for failure reports). It runs in the
foreground (prosody -F) as the current user (run_as_root when that is
root), listens on `address` only (a loopback address such as 127.0.0.4;
its c2s_port, c2s_tls_port and s2s_port are chosen free there) and serves
one VirtualHost (and the internal components given, such as a MUC).

DNS: Prosody resolves through the test's dnsmasq and nothing else. With
lua-unbound installed (Debian package lua-unbound, a Recommends of
prosody, in tools/install-deps.sh), Prosody 0.12 replaces its pure-Lua
net.dns by net.unbound (util/dependencies.lua preloads it as net.adns),
which creates its libunbound context from the global `unbound` option:

    unbound = { resolvconf = false; hoststxt = false;
                forward = { "127.0.0.1@PORT" };
                options = { ["local-zone:"] = "test. transparent" } }

resolvconf = false: libunbound does not read /etc/resolv.conf (the default,
true, would add the system's resolvers as forwarders too); hoststxt =
false: no /etc/hosts; forward: ub_ctx_set_fwd(), whose "@port" suffix
reaches dnsmasq's high port (libunbound, unlike the unbound daemon, may
query localhost). options: ub_ctx_set_option() calls; this one is needed
because libunbound has a built-in local zone "test." (RFC 6761) that
answers NXDOMAIN to every .test name without asking anybody:
"transparent" lets the queries through to dnsmasq ("nodefault" does not
work in libunbound 1.17). There is no trust anchor, so nothing is
DNSSEC-validated (answers are "Insecure").
Without lua-unbound, Prosody's net.dns reads /etc/resolv.conf only and
always sends to port 53: no way to point it at a test resolver, so
start() checks that net.unbound is what this Prosody uses.

TLS: the VirtualHost's ssl = { certificate, key [, cafile] }. Prosody
verifies peers against cafile (when given) and /etc/ssl/certs (its default
capath), both ways: it asks an incoming peer for a TLS client certificate
and checks the outgoing peer's server certificate. What Prosody 0.12 does
with the result (mod_s2s, mod_s2s_auth_certs, mod_saslauth, mod_dialback):
- identity: verify_identity(domain, "xmpp-server", cert) with the domain
  of the stream's to (outgoing) or from (incoming; no from, no check):
  SRV-ID _xmpp-server.DOMAIN and DNS-ID match; an XmppAddr is never taken
  for s2s (it is compared only for the service "_xmpp-server", with the
  underscore) and, being a supported subjectAltName, also stops the CN
  fallback; the CN counts only without any of these subjectAltNames;
- chain and identity valid: it offers SASL EXTERNAL inbound (whatever
  s2s_secure_auth says) and uses it outbound when the peer offers it
  ("Offering SASL EXTERNAL", "Accepting SASL EXTERNAL identity from D",
  "Initiating SASL EXTERNAL with D", "SASL EXTERNAL with D succeeded");
- otherwise, with s2s_secure_auth = false (the default here): dialback
  ("Initiating dialback...", "asking D if key … belongs to them",
  "verified dialback key... it is valid");
- otherwise, with s2s_secure_auth = true: <not-authorized/> stream error
  right after TLS ("Forbidding insecure connection to/from D because its
  certificate is not trusted" (self-signed ones too: Prosody looks for
  OpenSSL 1's "self signed certificate") / "has expired" / "is not valid
  for this name" / "could not be validated" (by its code: a peer that
  sent no certificate)), and the stanzas queued for D bounce to their
  senders.
"""
import os
import subprocess
import time

from daemon import Daemon, free_ports, read

PROSODY = "/usr/bin/prosody"
PROSODYCTL = "/usr/bin/prosodyctl"
LUNBOUND = "/usr/lib/x86_64-linux-gnu/lua/5.4/lunbound.so"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

UNBOUND_READY = "unbound\tdebug\tSetting up net.server event handling"

DEFAULT_MODULES = ("roster", "saslauth", "tls", "dialback", "disco",
                   "ping")


def lua_string(s):
    """s as a Lua string literal."""
    return '"%s"' % str(s).replace("\\", "\\\\").replace('"', '\\"') \
        .replace("\n", "\\n")


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, (list, tuple)):
        return "{ %s }" % "; ".join(lua_value(x) for x in v)
    if isinstance(v, dict):
        return "{ %s }" % "; ".join(
            "[%s] = %s" % (lua_string(k), lua_value(x)) for k, x in v.items())
    raise TypeError("no Lua for %r" % (v,))


class Prosody(Daemon):
    """One Prosody process serving one domain on one loopback address."""

    program = "prosody"
    start_timeout = START_TIMEOUT
    stop_timeout = STOP_TIMEOUT

    def __init__(self, directory, domain, address, dns, *, certificate,
                 ca_file=None, s2s_secure_auth=False,
                 s2s_require_encryption=True, c2s_require_encryption=True,
                 modules=DEFAULT_MODULES, extra_modules=(), options=None,
                 host_options=None, s2s_timeout=15, components=None):
        """certificate: (crt, key) for the VirtualHost (a chain file works
        as crt). ca_file: the CA that Prosody trusts for peers' certificates
        (besides /etc/ssl/certs), and that clients of this Prosody use to
        check its certificate (None: its own certificate, self-signed).
        options / host_options: more settings, {name: value}, in the global
        section / the VirtualHost (values: str, bool, int, list, dict).
        components: {name: (plugin, {option: value})}, internal components
        such as ("muc", {}) for a room service, each with the
        VirtualHost's certificate."""
        assert address.startswith("127."), "loopback only: %s" % address
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.domain = domain
        self.address = address
        self.dns = dns
        self.crt, self.key = certificate
        self.peer_ca_file = ca_file
        self.ca_file = ca_file or self.crt  # for clients (xmpp.Client)
        self.s2s_secure_auth = s2s_secure_auth
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        self.log = os.path.join(self.dir, "prosody.log")
        self.pidfile = os.path.join(self.dir, "prosody.pid")
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.c2s_port, self.tls_port, self.s2s_port = free_ports(3, address)
        self.c2s_tls_port = self.tls_port
        ssl = {"certificate": self.crt, "key": self.key}
        if ca_file:
            ssl["cafile"] = ca_file
        settings = {
            "run_as_root": os.getuid() == 0,
            "pidfile": self.pidfile,
            "data_path": self.data_dir,
            "certificates": os.path.join(self.dir, "certs"),
            "log": {"debug": self.log},
            "interfaces": [address],
            "local_interfaces": [address],
            "c2s_ports": [self.c2s_port],
            "c2s_direct_tls_ports": [self.tls_port],
            "s2s_ports": [self.s2s_port],
            "s2s_direct_tls_ports": [],
            "legacy_ssl_ports": [],
            "component_ports": [],
            "http_ports": [],
            "https_ports": [],
            "modules_enabled": list(modules) + list(extra_modules),
            "authentication": "internal_hashed",
            "allow_registration": False,
            "c2s_require_encryption": c2s_require_encryption,
            "s2s_require_encryption": s2s_require_encryption,
            "s2s_secure_auth": s2s_secure_auth,
            "s2s_timeout": s2s_timeout,
            "use_ipv6": False,
            "unbound": {"resolvconf": False, "hoststxt": False,
                        "forward": [dns.forwarder],
                        "options": {"local-zone:": "test. transparent"}},
        }
        settings.update(options or {})
        host_settings = {"ssl": ssl}
        host_settings.update(host_options or {})
        lines = ["-- prosody for palabre's interop tests "
                 "(tests/interop/prosody.py)"]
        lines += ["%s = %s" % (k, lua_value(v)) for k, v in settings.items()]
        lines.append("")
        lines.append("VirtualHost %s" % lua_string(domain))
        lines += ["\t%s = %s" % (k, lua_value(v))
                  for k, v in host_settings.items()]
        for name, (plugin, component_options) in (components or {}).items():
            lines.append("")
            lines.append("Component %s %s" % (lua_string(name),
                                              lua_string(plugin)))
            for k, v in dict(component_options, ssl=ssl).items():
                lines.append("\t%s = %s" % (k, lua_value(v)))
        self.write_config("\n".join(lines) + "\n")

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    # ---- prosodyctl -----------------------------------------------------

    def ctl(self, *args, stdin=""):
        for path in (PROSODY, PROSODYCTL):
            assert os.access(path, os.X_OK), (
                "%s is missing: run tools/install-deps.sh test (Debian "
                "package prosody)" % path)
        return subprocess.run([PROSODYCTL, "--config", self.config, *args],
                              input=stdin, capture_output=True, text=True,
                              timeout=60, cwd=self.dir)

    def add_user(self, jid, password):
        """prosodyctl register USER DOMAIN PASSWORD (works while stopped;
        while running too, Prosody reads the account file at login)."""
        user, _, host = jid.partition("@")
        assert host == self.domain, "%s is not on %s" % (jid, self.domain)
        r = self.ctl("register", user, host, password)
        assert r.returncode == 0, ("prosodyctl register %s %s exited %d\n"
                                   "stdout: %s\nstderr: %s"
                                   % (user, host, r.returncode, r.stdout,
                                      r.stderr))
        return self

    # ---- the process ----------------------------------------------------

    def start(self):
        assert os.access(PROSODY, os.X_OK), (
            "%s is missing: run tools/install-deps.sh test (Debian package "
            "prosody)" % PROSODY)
        assert os.path.exists(LUNBOUND), (
            "%s is missing: Prosody would resolve through /etc/resolv.conf, "
            "not the test's dnsmasq; run tools/install-deps.sh test (Debian "
            "package lua-unbound)" % LUNBOUND)
        assert self.dns.running(), "start the Dnsmasq before the Prosody"
        assert not self.running(), "prosody runs already"
        self.launch([PROSODY, "-F", "--config", self.config],
                    os.path.join(self.dir, "prosody.out"), cwd=self.dir)
        with self.stopped_on_failure():
            deadline = self.wait_for_ports(self.c2s_port, self.s2s_port)
            # net.unbound makes its libunbound context when the server has
            # started: this line shows that Prosody resolves through it
            # (net.dns would log "Using legacy DNS API" instead).
            self.wait_for_log(UNBOUND_READY, deadline,
                              fail_on="Using legacy DNS API")
        return self

    def wait_for_log(self, text, deadline=None, timeout=10.0, fail_on=None):
        """Waits until text appears in prosody.log (fails at once when
        fail_on does); returns the log."""
        if deadline is None:
            deadline = time.monotonic() + timeout
        while True:
            log = read(self.log)
            if text in log:
                return log
            if fail_on and fail_on in log:
                raise AssertionError("%r in prosody.log of %s\n%s"
                                     % (fail_on, self.domain,
                                        self.log_text()))
            if time.monotonic() > deadline:
                raise AssertionError("%r not in prosody.log of %s\n%s"
                                     % (text, self.domain, self.log_text()))
            time.sleep(0.05)

    def log_text(self, tail=8000):
        text = "--- prosody.log of %s ---\n%s" % (self.domain,
                                                   read(self.log))
        out = read(os.path.join(self.dir, "prosody.out"))
        if out.strip() and not out.startswith("(cannot read"):
            text += "\n--- prosody stdout/stderr ---\n" + out
        return text[-tail:] if tail else text
