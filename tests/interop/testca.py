"""A test certificate authority for the federation tests (openssl CLI).

    ca = TestCA(tmp)                       # ca.file: the CA certificate
    crt, key = ca.issue("a.test")          # SAN DNS:a.test
    crt, key = ca.issue("a.test", dns=(), srv_ids=("a.test",))
                                           # only SRV-ID _xmpp-server.a.test
    crt, key = ca.issue("a.test", dns=(), xmpp_addrs=("a.test",))
                                           # only XmppAddr a.test
    crt, key = ca.issue("other.test")      # a valid certificate, for the
                                           # wrong domain when a.test shows it
    crt, key = self_signed(tmp, "a.test")  # trusted by nobody: dialback only

Every certificate is an end-entity certificate (basicConstraints CA:FALSE)
with extendedKeyUsage serverAuth and clientAuth: in server-to-server
streams a server presents its certificate as a TLS server (to the peer it
connects to) and as a TLS client (to the peer that connects to it).

subjectAltNames (RFC 6120 §13.7.1.2, RFC 7673 / RFC 6125):
- dns: dNSName entries;
- srv_ids: SRVName otherName (id-on-dnsSRV, 1.3.6.1.5.5.7.8.7, IA5String);
  a bare domain "a.test" becomes "_xmpp-server.a.test", a value that
  starts with "_" ("_xmpp-client.a.test") is taken as it is;
- xmpp_addrs: XmppAddr otherName (id-on-xmppAddr, 1.3.6.1.5.5.7.8.5,
  UTF8String).
The subject is O=palabre tests, CN=cn (cn defaults to the domain; cn=""
leaves only O).

Keys are RSA 2048 without a passphrase; key files are mode 0600. Files are
named after the domain (DOMAIN.crt, DOMAIN.key; DOMAIN-2.crt… when one
domain gets several certificates).
"""
import os
import secrets
import subprocess

DAYS = 30
SRV_ID_OID = "1.3.6.1.5.5.7.8.7"
XMPP_ADDR_OID = "1.3.6.1.5.5.7.8.5"


def openssl(*args, cwd=None):
    try:
        r = subprocess.run(["openssl", *args], capture_output=True,
                           text=True, timeout=60, cwd=cwd)
    except FileNotFoundError:
        raise AssertionError("openssl is missing: run tools/install-deps.sh "
                             "test (Debian package openssl)") from None
    assert r.returncode == 0, "openssl %s exited %d:\n%s%s" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    return r.stdout


def subject_alt_names(dns=(), srv_ids=(), xmpp_addrs=()):
    """The subjectAltName value for openssl ("" when there is none)."""
    names = ["DNS:" + d for d in dns]
    for s in srv_ids:
        name = s if s.startswith("_") else "_xmpp-server." + s
        names.append("otherName:%s;IA5STRING:%s" % (SRV_ID_OID, name))
    names += ["otherName:%s;UTF8:%s" % (XMPP_ADDR_OID, a)
              for a in xmpp_addrs]
    for n in names:
        assert "," not in n and "\n" not in n, "odd name %r" % n
    return ",".join(names)


def end_entity_extensions(dns=(), srv_ids=(), xmpp_addrs=()):
    """Lines of an openssl extensions section for a server certificate."""
    lines = ["basicConstraints=critical,CA:FALSE",
             "keyUsage=critical,digitalSignature,keyEncipherment",
             "extendedKeyUsage=serverAuth,clientAuth",
             "subjectKeyIdentifier=hash"]
    san = subject_alt_names(dns, srv_ids, xmpp_addrs)
    if san:
        lines.append("subjectAltName=" + san)
    return lines


def subject(domain, cn):
    if cn is None:
        cn = domain
    return "/O=palabre tests/CN=%s" % cn if cn else "/O=palabre tests"


def unused_name(directory, base):
    """DIR/BASE, or DIR/BASE-2, -3… when BASE.crt is taken."""
    name, n = base, 1
    while os.path.exists(os.path.join(directory, name + ".crt")):
        n += 1
        name = "%s-%d" % (base, n)
    return os.path.join(directory, name)


def new_key(path):
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
            "rsa_keygen_bits:2048", "-out", path)
    os.chmod(path, 0o600)
    return path


def self_signed(directory, domain, *, dns=None, srv_ids=(), xmpp_addrs=(),
                cn=None, days=DAYS):
    """A self-signed end-entity certificate for domain (by default with the
    subjectAltName DNS:domain): (crt_path, key_path). Nobody trusts it, so
    a peer can only authenticate its owner by dialback."""
    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    if dns is None:
        dns = (domain,)
    base = unused_name(directory, domain)
    crt, key, ext = base + ".crt", base + ".key", base + ".ext"
    new_key(key)
    with open(ext, "w") as f:
        f.write("[req]\ndistinguished_name=dn\n[dn]\n[ext]\n" + "\n".join(
            end_entity_extensions(dns, srv_ids, xmpp_addrs)) + "\n")
    openssl("req", "-new", "-x509", "-key", key, "-days", str(days),
            "-subj", subject(domain, cn), "-set_serial", random_serial(),
            "-config", ext, "-extensions", "ext", "-out", crt)
    return crt, key


def random_serial():
    return "0x" + secrets.token_hex(16)


class TestCA:
    """A CA certificate and key in directory; issue() signs certificates."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory, name="palabre test CA"):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.file = os.path.join(self.dir, "ca.crt")
        self.key = os.path.join(self.dir, "ca.key")
        ext = os.path.join(self.dir, "ca.ext")
        with open(ext, "w") as f:
            f.write("[req]\ndistinguished_name=dn\n[dn]\n[ext]\n"
                    "basicConstraints=critical,CA:TRUE\n"
                    "keyUsage=critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier=hash\n")
        new_key(self.key)
        openssl("req", "-new", "-x509", "-key", self.key, "-days", str(DAYS),
                "-subj", "/O=palabre tests/CN=" + name,
                "-set_serial", random_serial(),
                "-config", ext, "-extensions", "ext", "-out", self.file)

    def issue(self, domain, *, dns=None, srv_ids=(), xmpp_addrs=(), cn=None,
              days=DAYS):
        """A certificate signed by this CA: (crt_path, key_path).

        dns defaults to (domain,); pass dns=() for a certificate whose only
        identities are srv_ids and/or xmpp_addrs. cn defaults to domain.
        A certificate for "the wrong domain" is just issue("other.test")
        given to the server of a.test."""
        if dns is None:
            dns = (domain,)
        base = unused_name(self.dir, domain)
        crt, key = base + ".crt", base + ".key"
        csr, ext = base + ".csr", base + ".ext"
        new_key(key)
        openssl("req", "-new", "-key", key, "-subj", subject(domain, cn),
                "-out", csr)
        with open(ext, "w") as f:
            f.write("\n".join(end_entity_extensions(dns, srv_ids, xmpp_addrs)
                              + ["authorityKeyIdentifier=keyid"]) + "\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.file,
                "-CAkey", self.key, "-set_serial", random_serial(),
                "-days", str(days), "-extfile", ext, "-out", crt)
        return crt, key

    def chain(self, crt):
        """A file holding crt followed by the CA certificate (for servers
        that want the chain in one file); returns its path."""
        path = crt[:-len(".crt")] + "-chain.crt" if crt.endswith(".crt") \
            else crt + "-chain"
        with open(path, "w") as out:
            for p in (crt, self.file):
                with open(p) as f:
                    out.write(f.read())
        return path


def describe(crt):
    """openssl's text of a certificate's subject, issuer and SANs (for
    failure messages)."""
    return openssl("x509", "-in", crt, "-noout", "-subject", "-issuer",
                   "-ext", "subjectAltName,extendedKeyUsage")
