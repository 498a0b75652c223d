"""A real OpenLDAP slapd for the LDAP tests: its data, TLS and process.

Directory (one per test session) makes what every slapd of the session
shares: the LDIF of dc=example,dc=org (two mail domains, a few thousand
people, the service account palabred binds as), a test CA with a server
certificate for 127.0.0.1, a second CA that signed nothing (the "wrong CA"),
and the service account's password file.

Slapd is one slapd process with its own temporary directory: slapd.conf,
an mdb database filled by slapadd before the start (much faster than
ldapadd), and a log. It listens on ldap://127.0.0.1:PORT/ only (a free
port per instance), runs in the foreground (-d 0) so that the test owns the
process, offers StartTLS with the test CA's certificate, and is always
stopped by its process id. Several instances may serve the same data (the
failover tests).

    directory = Directory(tmp)                # once per session
    slapd = Slapd(tmp2, directory).start()
    slapd.search("(mail=alice.martin@example.org)", "uid")
    slapd.pause(); slapd.resume(); slapd.stop()
    slapd.passwd(dn, "new")                   # ldappasswd, as the admin
    slapd.modify(dn, userPassword=[...], authPassword=[...])

The people:
- PEOPLE: named people whose kind of password the tests rely on:
  "ssha" ({SSHA} userPassword: PLAIN only), "scram" ({SSHA} userPassword
  and RFC 5803 authPassword SCRAM-SHA-1 and SCRAM-SHA-256 secrets),
  "clear" (a clear-text userPassword the service account may read:
  DIGEST-MD5 and SCRAM computed by palabred).
- generated people, first.last@example.org (BULK_MAIN) and
  first.last@research.example.org (BULK_RESEARCH); every one has an {SSHA}
  userPassword, every 10th also authPassword secrets, and the password of
  anyone is password_of(mail).
"""
import base64
import hashlib
import hmac
import os
import signal
import socket
import subprocess
import time

from daemon import Daemon, free_ports, pid_alive, read

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
LDAPSEARCH = "/usr/bin/ldapsearch"
LDAPWHOAMI = "/usr/bin/ldapwhoami"
LDAPPASSWD = "/usr/bin/ldappasswd"
LDAPMODIFY = "/usr/bin/ldapmodify"
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"
AUTHPASSWORD_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "authpassword.schema")

SUFFIX = "dc=example,dc=org"
SERVICE_DN = "cn=palabre," + SUFFIX
SERVICE_PASSWORD = "palabre-service-Secret"
ADMIN_DN = "cn=admin," + SUFFIX
ADMIN_PASSWORD = "admin-Secret"

MAIN_DOMAIN = "example.org"
RESEARCH_DOMAIN = "research.example.org"
DOMAINS = (MAIN_DOMAIN, RESEARCH_DOMAIN)
# Where each domain's people are.
BASES = {MAIN_DOMAIN: "ou=people," + SUFFIX,
         RESEARCH_DOMAIN: "ou=research," + SUFFIX}

BULK_MAIN = 2000
BULK_RESEARCH = 1000
SCRAM_ITERATIONS = 4096

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class Person:
    def __init__(self, first, last, domain, kind, *, uid, ou, number,
                 password=None):
        self.first, self.last, self.domain = first, last, domain
        self.kind = kind
        self.uid = uid
        self.ou = ou
        self.localpart = "%s.%s" % (first.lower(), last.lower())
        self.mail = "%s@%s" % (self.localpart, domain)
        self.cn = "%s %s" % (first, last)
        self.telephone = "+33 1 39 63 %02d %02d" % (number // 100 % 100,
                                                     number % 100)
        self.uid_number = 10000 + number
        self.password = password or password_of(self.mail)
        self.dn = "uid=%s,%s" % (uid, BASES[domain])

    @property
    def jid(self):
        return self.mail

    def __repr__(self):
        return "<Person %s (%s)>" % (self.mail, self.kind)


def password_of(mail):
    """The directory password of a generated person."""
    return "pw-%s" % hashlib.sha256(mail.encode()).hexdigest()[:12]


# Named people: (first, last, domain, kind, ou, password).
NAMED = [
    ("Alice", "Martin", MAIN_DOMAIN, "ssha", "Finance", "alice-Ldap-1"),
    ("Bruno", "Dupont", MAIN_DOMAIN, "scram", "IT", "bruno-Ldap-2"),
    ("Chloe", "Bernard", MAIN_DOMAIN, "clear", "Legal", "chloe-Ldap-3"),
    ("Denis", "Petit", RESEARCH_DOMAIN, "ssha", "Team Alpha",
     "denis-Ldap-4"),
    ("Emma", "Roux", RESEARCH_DOMAIN, "scram", "Team Beta", "emma-Ldap-5"),
    ("Felix", "Moreau", RESEARCH_DOMAIN, "clear", "Team Gamma",
     "felix-Ldap-6"),
    # A password with what a careless filter or DN builder would choke on.
    ("Gaelle", "Leroy", MAIN_DOMAIN, "ssha", "IT", "g*)(|(uid=*\\00 é"),
]

FIRST = """Adele Adrien Agathe Alain Amandine Anne Antoine Arthur Aurelie
Benoit Camille Celine Claire Damien David Elise Eric Etienne Fabien Florence
Gilles Helene Hugo Ines Isabelle Jacques Jeanne Julien Laure Leo Lucie Marc
Marie Mathieu Nadia Nicolas Noemie Olivier Pascal Paul Pauline Pierre
Rachel Romain Sarah Simon Sophie Thomas Valerie Yann""".split()
LAST = """Andre Arnaud Barbier Blanc Bonnet Boyer Brun Caron Chevalier
Clement Colin David Denis Durand Faure Fontaine Fournier Francois Gaillard
Garnier Gauthier Girard Guerin Henry Lambert Laurent Lefebvre Lemaire
Lucas Marchand Masson Mathieu Mercier Michel Morel Morin Muller Nicolas
Noel Perrin Picard Renard Richard Robin Rousseau Roussel Vincent Simon
Thomas Vidal""".split()
OUS = {MAIN_DOMAIN: ["Finance", "IT", "Legal", "Human Resources",
                     "Communication", "Facilities"],
       RESEARCH_DOMAIN: ["Team Alpha", "Team Beta", "Team Gamma",
                         "Team Delta", "Computing Platform"]}


def make_people():
    """The named people, then the generated ones, with unique uids."""
    people, uids, mails = [], set(), set()

    def add(first, last, domain, kind, ou, password=None):
        base = (first[0] + last).lower()
        uid, n = base, 1
        while uid in uids:
            n += 1
            uid = "%s%d" % (base, n)
        uids.add(uid)
        p = Person(first, last, domain, kind, uid=uid, ou=ou,
                   number=len(people), password=password)
        assert p.mail not in mails, p.mail
        mails.add(p.mail)
        people.append(p)
        return p

    for first, last, domain, kind, ou, password in NAMED:
        add(first, last, domain, kind, ou, password)
    named = {(p.first, p.last) for p in people}
    for domain, count in ((MAIN_DOMAIN, BULK_MAIN),
                          (RESEARCH_DOMAIN, BULK_RESEARCH)):
        k = made = 0
        while made < count:
            first = FIRST[k % len(FIRST)]
            last = LAST[k // len(FIRST) % len(LAST)]
            k += 1
            if (first, last) in named or first == last:
                continue
            kind = "scram" if made % 10 == 5 else "ssha"
            add(first, last, domain, kind, OUS[domain][made % len(
                OUS[domain])])
            made += 1
    return people


# ---- password values ------------------------------------------------------

def ssha(password, salt=None):
    """{SSHA}: base64(SHA-1(password + salt) + salt)."""
    salt = salt if salt is not None else os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def scram_auth_password(mechanism, password, iterations=SCRAM_ITERATIONS,
                        salt=None):
    """An RFC 5803 authPassword value:
    SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64)."""
    digest = {"SCRAM-SHA-1": hashlib.sha1,
              "SCRAM-SHA-256": hashlib.sha256}[mechanism]
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac(digest().name, password.encode(), salt,
                                 iterations)
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = digest(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return "%s$%d:%s$%s:%s" % (mechanism, iterations, b64(salt),
                               b64(stored_key), b64(server_key))


# ---- LDIF -----------------------------------------------------------------

def ldif_value(name, value):
    """name: value, or name:: base64 when LDIF (RFC 2849) needs it."""
    safe = value.isascii() and value == value.strip() and all(
        32 <= ord(c) < 127 for c in value) and value[:1] not in (":", "<")
    if safe:
        return "%s: %s" % (name, value)
    return "%s:: %s" % (name, base64.b64encode(value.encode()).decode())


def person_ldif(p):
    classes = ["top", "person", "organizationalPerson", "inetOrgPerson",
               "posixAccount"]
    lines = ["dn: " + p.dn]
    if p.kind == "scram":
        classes.append("authPasswordObject")
    lines += ["objectClass: " + c for c in classes]
    lines += ["uid: " + p.uid, "cn: " + p.cn, "givenName: " + p.first,
              "sn: " + p.last, "mail: " + p.mail, "ou: " + p.ou,
              "telephoneNumber: " + p.telephone,
              "uidNumber: %d" % p.uid_number, "gidNumber: 10000",
              "homeDirectory: /home/" + p.uid]
    if p.kind == "clear":
        lines.append(ldif_value("userPassword", p.password))
    else:
        lines.append("userPassword: " + ssha(p.password))
    if p.kind == "scram":
        for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            lines.append("authPassword: " + scram_auth_password(
                mechanism, p.password))
    return "\n".join(lines) + "\n\n"


def directory_ldif(people):
    head = ("dn: %s\nobjectClass: top\nobjectClass: dcObject\n"
            "objectClass: organization\ndc: example\no: Example\n\n"
            "dn: %s\nobjectClass: applicationProcess\n"
            "objectClass: simpleSecurityObject\ncn: palabre\n"
            "description: the account palabred searches with\n"
            "userPassword: %s\n\n"
            "dn: ou=people,%s\nobjectClass: organizationalUnit\n"
            "ou: people\n\n"
            "dn: ou=research,%s\nobjectClass: organizationalUnit\n"
            "ou: research\n\n"
            % (SUFFIX, SERVICE_DN, ssha(SERVICE_PASSWORD), SUFFIX, SUFFIX))
    return head + "".join(person_ldif(p) for p in people)


# ---- certificates -------------------------------------------------------

def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True,
                   timeout=60)


def make_ca(directory, name):
    crt = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/CN=palabre test " + name, "-keyout", key, "-out", crt,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return crt, key


def make_server_certificate(directory, ca_crt, ca_key):
    """A certificate for 127.0.0.1 and localhost, signed by the CA."""
    crt = os.path.join(directory, "slapd.crt")
    key = os.path.join(directory, "slapd.key")
    csr = os.path.join(directory, "slapd.csr")
    ext = os.path.join(directory, "slapd.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
            "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", crt)
    return crt, key


# ---- the shared data --------------------------------------------------------

class Directory:
    """What every slapd of a test session serves and trusts."""

    def __init__(self, directory):
        self.dir = str(directory)
        for path in (SLAPD, SLAPADD, LDAPSEARCH, LDAPWHOAMI):
            assert os.access(path, os.X_OK), (
                "%s is missing: run tools/install-deps.sh test (Debian "
                "packages slapd and ldap-utils)" % path)
        self.people = make_people()
        self.by_mail = {p.mail: p for p in self.people}
        self.ldif = os.path.join(self.dir, "directory.ldif")
        with open(self.ldif, "w") as f:
            f.write(directory_ldif(self.people))
        self.ca_file, ca_key = make_ca(self.dir, "ldap-ca")
        self.wrong_ca_file, _ = make_ca(self.dir, "wrong-ca")
        self.cert_file, self.key_file = make_server_certificate(
            self.dir, self.ca_file, ca_key)
        self.service_dn = SERVICE_DN
        self.service_password = SERVICE_PASSWORD
        # No newline: the file holds the password and nothing else.
        self.service_password_file = os.path.join(self.dir, "service.secret")
        with open(self.service_password_file, "w") as f:
            f.write(SERVICE_PASSWORD)
        os.chmod(self.service_password_file, 0o600)

    def person(self, mail):
        return self.by_mail[mail]

    def named(self, first):
        """A named person by first name: named("Alice")."""
        assert any(first == n[0] for n in NAMED), first
        return next(p for p in self.people if p.first == first)

    def some(self, domain, kind, count=1, skip=0):
        """count generated people of domain with this kind of password."""
        named = {n[0] for n in NAMED}
        found = [p for p in self.people if p.domain == domain
                 and p.kind == kind and p.first not in named]
        return found[skip:skip + count]


# ---- one slapd ------------------------------------------------------------

SLAPD_CONF = """\
# slapd for palabre's interop tests: one mdb database, no replication.
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
include {authpassword}

pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath {modules}
moduleload back_mdb

TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}

# Hashes new passwords the way the LDIF does.
password-hash {{SSHA}}
{security}

database mdb
suffix "{suffix}"
rootdn "{admin_dn}"
rootpw {admin_password}
directory {dir}/db
maxsize 268435456
index objectClass eq
index mail,uid eq

# The service account searches and reads what palabred needs, passwords
# included (RFC 5803 secrets, and the clear ones for DIGEST-MD5); people
# bind with their own password; nobody else reads anything.
access to attrs=userPassword
	by dn.exact="{service_dn}" {service_user_password}
	by anonymous auth
	by * none
access to attrs=authPassword
	by dn.exact="{service_dn}" read
	by * none
access to *
	by dn.exact="{service_dn}" read
	by self read
	by anonymous auth
	by * none

database monitor
"""


class Slapd(Daemon):
    """One slapd process serving a Directory on 127.0.0.1:port."""

    program = "slapd"
    start_timeout = START_TIMEOUT
    stop_timeout = STOP_TIMEOUT

    def __init__(self, directory, data, port=None, require_tls=False,
                 service_reads_user_password=True):
        """require_tls: slapd refuses every operation but StartTLS on a
        connection without TLS (to see that palabred does use it).
        service_reads_user_password=False: the service account may not
        read userPassword (neither hashed nor clear)."""
        self.dir = str(directory)
        self.data = data
        self.require_tls = require_tls
        self.port = port or free_ports(1)[0]
        self.uri = "ldap://127.0.0.1:%d/" % self.port
        self.conf = os.path.join(self.dir, "slapd.conf")
        self.log = os.path.join(self.dir, "slapd.log")
        self.paused = False
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(SLAPD_CONF.format(
                schema=SCHEMA_DIR, authpassword=AUTHPASSWORD_SCHEMA,
                dir=self.dir, modules=MODULE_DIR, ca=data.ca_file,
                cert=data.cert_file, key=data.key_file, suffix=SUFFIX,
                admin_dn=ADMIN_DN, admin_password=ssha(ADMIN_PASSWORD),
                service_dn=SERVICE_DN,
                service_user_password="read" if service_reads_user_password
                else "none",
                security="security tls=1" if require_tls else ""))
        r = subprocess.run([SLAPADD, "-q", "-f", self.conf, "-l", data.ldif],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "slapadd exited %d:\n%s%s" % (
            r.returncode, r.stdout, r.stderr[-4000:])

    # ---- the process ------------------------------------------------------

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        # -d 0: stays in the foreground, so self.proc is slapd itself.
        self.launch([SLAPD, "-d", "0", "-f", self.conf, "-h", self.uri],
                    self.log)
        self.paused = False
        with self.stopped_on_failure():
            self.wait_ready(time.monotonic() + START_TIMEOUT)
        return self

    def wait_ready(self, deadline):
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("slapd exited with %d before serving "
                                     "%s\n--- slapd.log ---\n%s"
                                     % (self.proc.returncode, self.uri,
                                        read(self.log)[-4000:]))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                if self.search("(cn=palabre)", "cn", base=SUFFIX,
                               check=False).returncode == 0:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("slapd did not answer on %s within "
                                     "%.0f s\n--- slapd.log ---\n%s"
                                     % (self.uri, START_TIMEOUT,
                                        read(self.log)[-4000:]))
            time.sleep(0.05)

    def pause(self):
        """SIGSTOP: the socket stays open, nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def kill(self):
        """SIGKILL and reap: the port refuses connections from now on."""
        if self.running():
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def stop(self):
        """Stops slapd by its pid: SIGCONT (a stopped process cannot act on
        SIGTERM), SIGTERM, wait, SIGKILL."""
        if self.running() and self.paused:
            self.resume()
        super().stop()
        assert self.proc is None or not pid_alive(self.proc.pid) \
            or self.proc.poll() is not None

    def log_text(self, tail=4000):
        text = read(self.log)
        return text[-tail:] if tail else text

    # ---- asking it ---------------------------------------------------------

    def client_env(self, ca_file=None):
        env = dict(os.environ)
        env["LDAPTLS_CACERT"] = ca_file or self.data.ca_file
        env["LDAPTLS_REQCERT"] = "demand"
        return env

    def bind(self, dn, password, starttls=None, ca_file=None, timeout=10):
        """A simple bind (ldapwhoami); returns the CompletedProcess."""
        if starttls is None:
            starttls = self.require_tls
        argv = [LDAPWHOAMI, "-x", "-o", "nettimeout=5", "-H", self.uri,
                "-D", dn, "-w", password] + (["-ZZ"] if starttls else [])
        return subprocess.run(argv, capture_output=True, text=True,
                              env=self.client_env(ca_file), timeout=timeout)

    def admin(self, program, *args, stdin=None):
        argv = [program, "-x", "-o", "nettimeout=5", "-H", self.uri,
                "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, *args]
        if self.require_tls:
            argv.append("-ZZ")
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                           env=self.client_env(), timeout=10)
        assert r.returncode == 0, "%s exited %d: %s" % (
            " ".join(argv), r.returncode, r.stderr)
        return r

    def passwd(self, dn, password):
        """ldappasswd as the admin: the RFC 3062 password modify
        operation; slapd stores an {SSHA} userPassword and leaves any
        authPassword as it was."""
        return self.admin(LDAPPASSWD, "-s", password, dn)

    def modify(self, dn, **replace):
        """One ldapmodify as the admin replacing each attribute given
        (name=[values]) in a single modify operation."""
        ldif = "dn: %s\nchangetype: modify\n" % dn
        for name, values in replace.items():
            ldif += "replace: %s\n" % name
            ldif += "".join(ldif_value(name, v) + "\n" for v in values)
            ldif += "-\n"
        return self.admin(LDAPMODIFY, stdin=ldif)

    def answers(self, within=2.0):
        """Whether slapd answers a search within `within` seconds."""
        try:
            return self.search("(cn=palabre)", "cn", check=False,
                               timeout=within).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def search(self, filter, *attrs, base=SUFFIX, bind_dn=SERVICE_DN,
               password=SERVICE_PASSWORD, starttls=None, ca_file=None,
               check=True, timeout=10):
        """ldapsearch as bind_dn (None: anonymous); returns the
        CompletedProcess (stdout: LDIF, no line wrapping)."""
        argv = [LDAPSEARCH, "-x", "-LLL", "-o", "ldif-wrap=no",
                "-o", "nettimeout=5", "-H", self.uri, "-b", base]
        if bind_dn is not None:
            argv += ["-D", bind_dn, "-w", password]
        if starttls or (starttls is None and self.require_tls):
            argv.append("-ZZ")
        argv += [filter, *attrs]
        r = subprocess.run(argv, capture_output=True, text=True,
                           env=self.client_env(ca_file), timeout=timeout)
        if check:
            assert r.returncode == 0, "%s exited %d: %s" % (
                " ".join(argv), r.returncode, r.stderr)
        return r


def parse_ldif(text):
    """[{attr: [values]}] from ldapsearch -LLL -o ldif-wrap=no output."""
    entries, entry = [], None
    for line in text.splitlines():
        if not line:
            entry = None
            continue
        if entry is None:
            entry = {}
            entries.append(entry)
        name, _, value = line.partition(":")
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode(
                "utf-8", "replace")
        else:
            value = value.strip()
        entry.setdefault(name, []).append(value)
    return entries
