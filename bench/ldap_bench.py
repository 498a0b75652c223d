"""The ldap scenario of bench: palabre logging users in against a real
slapd (tests/interop/slapd.py's process, with a directory of its own
here: USERS people under ou=people, {SSHA} passwords), then the latency
of logged-in users chatting while slapd answers, and while it is stopped
(SIGSTOP): a directory that is down must not slow down those already in.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "interop"))

import slapd  # noqa: E402

DOMAIN = "ldap.bench.test"
DIRECTORY_ID = "bench"


class BenchDirectory:
    """What slapd.Slapd needs of its data: an LDIF, the TLS files, the
    service account; the people are benchN@ldap.bench.test."""

    def __init__(self, directory, users, fmt, password):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.ldif = os.path.join(self.dir, "bench.ldif")
        secret = slapd.ssha(password)  # one salt for all: slapadd is fast
        with open(self.ldif, "w") as f:
            f.write(slapd.directory_ldif([]))
            for i in range(users):
                uid = fmt % i
                f.write("dn: uid=%s,ou=people,%s\nobjectClass: top\n"
                        "objectClass: inetOrgPerson\nuid: %s\ncn: %s\n"
                        "sn: %s\nmail: %s@%s\nuserPassword: %s\n\n"
                        % (uid, slapd.SUFFIX, uid, uid, uid, uid, DOMAIN,
                           secret))
        self.ca_file, ca_key = slapd.make_ca(self.dir, "ldap-ca")
        self.cert_file, self.key_file = slapd.make_server_certificate(
            self.dir, self.ca_file, ca_key)
        self.service_dn = slapd.SERVICE_DN
        self.service_password_file = os.path.join(self.dir, "service.secret")
        with open(self.service_password_file, "w") as f:
            f.write(slapd.SERVICE_PASSWORD)
        os.chmod(self.service_password_file, 0o600)


def add_ldap_domain(palabre, data, server):
    """Adds DOMAIN, whose accounts live in server (a slapd.Slapd), to a
    bench/servers.py Palabre before it starts."""
    with open(palabre.config) as f:
        config = f.read()
    section = ('  <ldap id="%s">\n    <uri>%s</uri>\n'
               '    <bind-dn>%s</bind-dn>\n'
               '    <bind-password-file>%s</bind-password-file>\n'
               '    <timeout>2</timeout>\n    <pool>4</pool>\n'
               '    <password-access>bind</password-access>\n  </ldap>\n'
               '  <host domain="%s">\n    <certificate>%s</certificate>\n'
               '    <key>%s</key>\n'
               '    <auth backend="ldap" directory="%s">\n'
               '      <base>ou=people,%s</base>\n'
               '      <filter>(mail=%%u@%%d)</filter>\n'
               '    </auth>\n  </host>\n'
               % (DIRECTORY_ID, server.uri, data.service_dn,
                  data.service_password_file, DOMAIN, palabre.crt,
                  palabre.key, DIRECTORY_ID, slapd.SUFFIX))
    with open(palabre.config, "w") as f:
        f.write(config.replace("  <c2s>\n", section + "  <c2s>\n", 1))
