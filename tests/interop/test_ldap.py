"""Accounts in a real slapd (issue 4): logins, hostile names, failover,
a directory that stops, StartTLS, throttling.

Two XMPP domains, example.org and research.example.org, served from one
directory (slapd.py: ou=people and ou=research of dc=example,dc=org, a few
thousand people). The configuration is docs/configuration.md's:
<ldap id="…"> directories named by <auth backend="ldap" directory="…">.
"""
import re
import time

import pytest

from palabre import Palabre, make_certificate
from rawstream import RawStream, mechanisms, scram_login, show, tag
from slapd import BASES, MAIN_DOMAIN, RESEARCH_DOMAIN

DOMAINS = (MAIN_DOMAIN, RESEARCH_DOMAIN)
FILTERS = {MAIN_DOMAIN: "(mail=%u@%d)",
           RESEARCH_DOMAIN: "(&(mail=%u@%d)(objectClass=inetOrgPerson))"}
ALL_MECHANISMS = ("SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 "
                  "SCRAM-SHA-1 PLAIN DIGEST-MD5")
ALL_ACCESS = "bind auth-password clear-password"
NO_THROTTLE = {"per-address": 0, "per-account": 0}
LDAP_TIMEOUT = 2


class LdapPalabre(Palabre):
    """A palabred whose domains take their accounts from slapd.

    directories: {id: {"uris": [...], "access": "bind …", "starttls":
    bool, "ca_file": path}}; hosts: {domain: directory id}."""

    def __init__(self, directory, certs, data, directories, hosts=None, *,
                 mechanisms=ALL_MECHANISMS, throttle=NO_THROTTLE,
                 timeout=LDAP_TIMEOUT, pool=2):
        super().__init__(directory, certs, domains=DOMAINS,
                         mechanisms=mechanisms, users={})
        hosts = hosts or {d: next(iter(directories)) for d in DOMAINS}
        text = self.ldap_config(data, directories, hosts, throttle,
                                timeout, pool)
        with open(self.config) as f:
            config = f.read()
        for domain in DOMAINS:
            config = config.replace(
                '    <key>%s.key</key>\n    <auth backend="local"/>\n'
                % domain,
                '    <key>%s.key</key>\n%s' % (domain, self.ldap_auth(
                    domain, hosts[domain])))
        throttle_xml = "    <auth-throttle %s/>\n" % " ".join(
            '%s="%s"' % kv for kv in throttle.items())
        config = config.replace("  <c2s>\n", text + "  <c2s>\n" +
                                throttle_xml)
        assert 'backend="local"' not in config
        self.write_config(config)

    @staticmethod
    def ldap_auth(domain, directory_id):
        return ('    <auth backend="ldap" directory="%s">\n'
                '      <base>%s</base>\n'
                '      <filter>%s</filter>\n'
                '    </auth>\n' % (directory_id, BASES[domain],
                                   FILTERS[domain].replace("&", "&amp;")))

    @staticmethod
    def ldap_config(data, directories, hosts, throttle, timeout, pool):
        text = ""
        for ident, d in directories.items():
            text += '  <ldap id="%s">\n' % ident
            text += "".join("    <uri>%s</uri>\n" % u for u in d["uris"])
            if d.get("starttls"):
                text += "    <starttls>true</starttls>\n"
            if d.get("ca_file"):
                text += "    <ca-file>%s</ca-file>\n" % d["ca_file"]
            text += ("    <bind-dn>%s</bind-dn>\n"
                     "    <bind-password-file>%s</bind-password-file>\n"
                     "    <timeout>%d</timeout>\n"
                     "    <pool>%d</pool>\n"
                     "    <password-access>%s</password-access>\n"
                     "  </ldap>\n"
                     % (data.service_dn, data.service_password_file, timeout,
                        pool, d.get("access", ALL_ACCESS)))
        return text


@pytest.fixture(scope="session")
def domain_certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ldap-certs")
    found, pems = {}, []
    for domain in DOMAINS:
        crt, key = make_certificate(str(directory), domain)
        found[domain] = {"crt": crt, "key": key}
        with open(crt) as f:
            pems.append(f.read())
    found["ca_file"] = str(directory / "ca.pem")
    with open(found["ca_file"], "w") as f:
        f.write("".join(pems))
    return found


@pytest.fixture
def palabred(request, tmp_path_factory, domain_certs, ldap_directory):
    """palabred(directories, hosts=None, **options) → a started
    LdapPalabre, stopped after the test."""
    started = []

    def start(directories, hosts=None, **options):
        s = LdapPalabre(tmp_path_factory.mktemp("palabred-ldap"),
                        domain_certs, ldap_directory, directories, hosts,
                        **options)
        started.append(s)
        request.node.palabre_server = s
        return s.start()
    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, domain_certs, ldap_directory, slapd):
    """One palabred for both domains on the module's slapd, every
    mechanism, no throttling."""
    s = LdapPalabre(tmp_path_factory.mktemp("palabred-ldap"), domain_certs,
                    ldap_directory, {"central": {"uris": [slapd.uri]}})
    try:
        s.start()
        yield s
    finally:
        s.stop()


def raw_stream(server, domain):
    """A RawStream to server, after STARTTLS to domain."""
    s = RawStream(server.c2s_port, server_name=domain,
                  ca_file=server.ca_file)
    s.features = s.starttls(domain)
    return s


def condition(answer):
    """The condition of a SASL <failure/>, or 'success'."""
    if answer.tag == tag("sasl:success"):
        return "success"
    assert answer.tag == tag("sasl:failure"), show(answer)
    return [c.tag.split("}")[1] for c in answer if c.tag.split("}")[1]
            != "text"][0]


def plain(server, domain, authcid, password):
    """The answer to PLAIN with raw bytes for authcid and password."""
    s = raw_stream(server, domain)
    try:
        if isinstance(authcid, str):
            authcid = authcid.encode()
        if isinstance(password, str):
            password = password.encode()
        return condition(s.auth("PLAIN", b"\0" + authcid + b"\0" + password))
    finally:
        s.close()


def login_ok(server, person, mech="PLAIN"):
    """A full login (PLAIN or SCRAM) and bind with a raw stream."""
    s = raw_stream(server, person.domain)
    try:
        if mech == "PLAIN":
            answer = s.auth_plain(person.localpart, person.password)
        else:
            answer = scram_login(s, mech, person.localpart, person.password)
        assert answer.tag == tag("sasl:success"), (
            "%s with %s: %s\n--- palabred.log ---\n%s"
            % (person.mail, mech, show(answer), server.log_text(4000)))
        s.open(person.domain)
        assert s.bind("raw").get("type") == "result"
    finally:
        s.close()


def assert_alive(server, person):
    assert server.proc.poll() is None, server.log_text(4000)
    login_ok(server, person)


# ---- logging in -----------------------------------------------------------

@pytest.mark.parametrize("first", ["Alice", "Denis", "Bruno", "Emma",
                                   "Chloe", "Felix", "Gaelle"])
def test_plain_login_in_both_domains(shared, chat, ldap_directory, first):
    p = ldap_directory.named(first)
    c = chat(shared).login(p.jid + "/pc", p.password, mech="PLAIN")
    assert c.jid == p.jid + "/pc"
    assert c.ping_server()["type"] == "result"


@pytest.mark.parametrize("domain", DOMAINS)
def test_generated_people_log_in(shared, ldap_directory, domain):
    for p in ldap_directory.some(domain, "ssha", count=3, skip=700):
        login_ok(shared, p)


def test_many_people_log_in_at_once(shared, chat, ldap_directory):
    people = (ldap_directory.some(MAIN_DOMAIN, "ssha", count=12, skip=100)
              + ldap_directory.some(RESEARCH_DOMAIN, "ssha", count=12,
                                    skip=100))
    clients = chat(shared)
    connecting = [clients.connect(p.jid + "/m", p.password, mech="PLAIN")
                  for p in people]
    for c in connecting:
        c.wait_session(timeout=20)


def test_login_is_case_insensitive_in_the_local_part(shared, ldap_directory):
    # RFC 7622: the local part is prepared (lower-cased) before %u.
    p = ldap_directory.named("Denis")
    assert plain(shared, p.domain, "Denis.Petit", p.password) == "success"


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_wrong_password_is_not_authorized(shared, chat, ldap_directory,
                                          mech):
    p = ldap_directory.named("Bruno")
    assert chat(shared).login_failure(p.jid + "/pc", "not-" + p.password,
                                      mech=mech) == "not-authorized"


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256",
                                  "DIGEST-MD5"])
@pytest.mark.parametrize("domain", DOMAINS)
def test_unknown_user_is_not_authorized(shared, chat, domain, mech):
    assert chat(shared).login_failure("nobody.atall@%s/pc" % domain,
                                      "whatever",
                                      mech=mech) == "not-authorized"


def test_person_of_the_other_domain_is_not_authorized(shared,
                                                      ldap_directory):
    # denis.petit@research.example.org has no mail at example.org.
    p = ldap_directory.named("Denis")
    assert plain(shared, MAIN_DOMAIN, p.localpart,
                 p.password) == "not-authorized"


def test_empty_password_is_never_an_anonymous_bind(shared, ldap_directory):
    # RFC 4513 §5.1.2: a simple bind with a DN and no password is an
    # unauthenticated bind, which slapd answers with success.
    p = ldap_directory.named("Alice")
    assert plain(shared, p.domain, p.localpart, "") in ("not-authorized",
                                                        "malformed-request")
    assert_alive(shared, p)


# ---- hostile names ----------------------------------------------------------

INJECTIONS = [
    "*",
    "*)(uid=*",
    ")(uid=*",
    "a)(|(mail=*",
    "alice.martin)(|(mail=*",
    "alice.martin*",
    "alice.mar*",
    "*martin",
    "alice.martin\\00",
    "alice.martin\\2a",
    "(alice.martin)",
    "alice.martin)(objectClass=*",
    "a" * 2000,
]


@pytest.mark.parametrize("name", INJECTIONS,
                         ids=lambda n: n if len(n) < 40 else "long")
def test_injection_in_the_login_is_not_authorized(shared, ldap_directory,
                                                  name):
    # With Alice's password: a filter built without RFC 4515 escaping
    # would find her (or everybody) and the bind could succeed.
    alice = ldap_directory.named("Alice")
    assert plain(shared, MAIN_DOMAIN, name, alice.password) in (
        "not-authorized",)
    assert_alive(shared, alice)


def test_nul_in_plain_authcid_is_refused(shared, ldap_directory):
    # PLAIN (RFC 4616) separates its fields with NUL: one more NUL in the
    # authcid makes the message malformed; it must never log anyone in.
    alice = ldap_directory.named("Alice")
    answer = plain(shared, MAIN_DOMAIN, b"alice.martin\0x",
                   alice.password.encode())
    assert answer in ("not-authorized", "malformed-request")
    answer = plain(shared, MAIN_DOMAIN, b"alice.martin\0",
                   alice.password.encode())
    assert answer in ("not-authorized", "malformed-request")
    assert_alive(shared, alice)


def test_password_with_filter_characters_logs_in(shared, ldap_directory):
    p = ldap_directory.named("Gaelle")
    assert "*" in p.password and "\\00" in p.password
    login_ok(shared, p)
    assert plain(shared, p.domain, p.localpart, "g*") == "not-authorized"


# ---- SCRAM and DIGEST-MD5 against the directory's secrets ------------------

@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
@pytest.mark.parametrize("first", ["Bruno", "Emma"])
def test_scram_against_rfc_5803_auth_password(shared, chat, ldap_directory,
                                              mech, first):
    p = ldap_directory.named(first)
    c = chat(shared).login(p.jid + "/gajim", p.password, mech=mech)
    assert c.jid == p.jid + "/gajim"


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"])
def test_scram_plus_against_auth_password(shared, ldap_directory, mech):
    p = ldap_directory.named("Emma")
    s = raw_stream(shared, p.domain)
    try:
        assert mech in mechanisms(s.features), show(s.features)
        answer = scram_login(s, mech, p.localpart, p.password,
                             cb_type="tls-server-end-point")
        assert answer.tag == tag("sasl:success"), show(answer)
    finally:
        s.close()


def test_scram_for_a_generated_person_with_secrets(shared, ldap_directory):
    p = ldap_directory.some(RESEARCH_DOMAIN, "scram", skip=30)[0]
    login_ok(shared, p, mech="SCRAM-SHA-256")


@pytest.mark.parametrize("mech", ["DIGEST-MD5", "SCRAM-SHA-1",
                                  "SCRAM-SHA-256"])
@pytest.mark.parametrize("first", ["Chloe", "Felix"])
def test_challenge_response_against_clear_user_password(
        shared, chat, ldap_directory, mech, first):
    p = ldap_directory.named(first)
    c = chat(shared).login(p.jid + "/psi", p.password, mech=mech)
    assert c.jid == p.jid + "/psi"


@pytest.mark.parametrize("first", ["Chloe", "Felix"])
def test_digest_md5_wrong_password_is_not_authorized(shared, chat,
                                                     ldap_directory, first):
    p = ldap_directory.named(first)
    assert chat(shared).login_failure(p.jid + "/psi", "wrong",
                                      mech="DIGEST-MD5") == "not-authorized"


def test_digest_md5_for_a_hashed_password_is_not_authorized(
        shared, chat, ldap_directory):
    # Alice's userPassword is {SSHA}: nothing to compute DIGEST-MD5 from.
    p = ldap_directory.named("Alice")
    assert chat(shared).login_failure(p.jid + "/psi", p.password,
                                      mech="DIGEST-MD5") == "not-authorized"


def test_every_mechanism_offered_when_the_directory_allows_all(shared):
    for domain in DOMAINS:
        s = raw_stream(shared, domain)
        assert mechanisms(s.features) == ALL_MECHANISMS.split()
        s.close()


# ---- mechanisms per domain follow the directory's password-access -----------

def test_mechanisms_advertised_per_domain(palabred, slapd, ldap_directory):
    server = palabred({"secrets": {"uris": [slapd.uri],
                                   "access": "bind auth-password"},
                       "binds": {"uris": [slapd.uri], "access": "bind"}},
                      {MAIN_DOMAIN: "secrets", RESEARCH_DOMAIN: "binds"})
    s = raw_stream(server, MAIN_DOMAIN)
    assert mechanisms(s.features) == ["SCRAM-SHA-256-PLUS",
                                      "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
                                      "SCRAM-SHA-1", "PLAIN"]
    s.close()
    s = raw_stream(server, RESEARCH_DOMAIN)
    assert mechanisms(s.features) == ["PLAIN"]
    s.close()
    # And each works as advertised.
    login_ok(server, ldap_directory.named("Bruno"), mech="SCRAM-SHA-256")
    login_ok(server, ldap_directory.named("Emma"), mech="PLAIN")
    login_ok(server, ldap_directory.named("Chloe"), mech="PLAIN")


def test_mechanism_not_advertised_is_refused(palabred, slapd,
                                             ldap_directory):
    server = palabred({"binds": {"uris": [slapd.uri], "access": "bind"}})
    p = ldap_directory.named("Emma")
    s = raw_stream(server, p.domain)
    try:
        answer = scram_login(s, "SCRAM-SHA-256", p.localpart, p.password)
        assert condition(answer) in ("invalid-mechanism",
                                     "mechanism-too-weak"), show(answer)
    finally:
        s.close()


def test_scram_without_secrets_for_this_person_fails(palabred, slapd,
                                                     ldap_directory):
    # auth-password only: Alice has no authPassword values.
    server = palabred({"secrets": {"uris": [slapd.uri],
                                   "access": "bind auth-password"}})
    p = ldap_directory.named("Alice")
    s = raw_stream(server, p.domain)
    try:
        answer = scram_login(s, "SCRAM-SHA-256", p.localpart, p.password)
        assert condition(answer) in ("not-authorized",
                                     "temporary-auth-failure")
    finally:
        s.close()
    login_ok(server, p, mech="PLAIN")


# ---- failover between two URIs --------------------------------------------

def test_failover_to_the_second_uri_and_back(palabred, slapds,
                                             ldap_directory):
    first, second = slapds(), slapds()
    server = palabred({"central": {"uris": [first.uri, second.uri]}})
    alice, denis = ldap_directory.named("Alice"), ldap_directory.named(
        "Denis")
    bruno, emma = ldap_directory.named("Bruno"), ldap_directory.named(
        "Emma")
    login_ok(server, alice)

    first.pause()  # accepts connections, answers nothing
    started = time.monotonic()
    login_ok(server, denis)
    login_ok(server, bruno, mech="SCRAM-SHA-256")
    assert time.monotonic() - started < 4 * LDAP_TIMEOUT + 5

    first.kill()  # refuses connections
    login_ok(server, emma, mech="SCRAM-SHA-1")
    login_ok(server, alice)

    # The first comes back and the second goes: logins go to the first.
    first.start()
    second.kill()
    started = time.monotonic()
    login_ok(server, denis)
    login_ok(server, bruno, mech="SCRAM-SHA-256")
    assert time.monotonic() - started < 4 * LDAP_TIMEOUT + 5


# ---- a directory that stops -------------------------------------------------

def test_stopped_directory_does_not_stop_the_chat(palabred, slapds, chat,
                                                  ldap_directory):
    directory = slapds()
    server = palabred({"central": {"uris": [directory.uri]}})
    alice, denis = ldap_directory.named("Alice"), ldap_directory.named(
        "Denis")
    clients = chat(server)
    a = clients.login(alice.jid + "/pc", alice.password, mech="PLAIN")
    d = clients.login(denis.jid + "/pc", denis.password, mech="PLAIN")

    directory.pause()
    # A login that hangs on the directory, while others chat.
    chloe = ldap_directory.named("Chloe")
    waiting = clients.connect(chloe.jid + "/pc", chloe.password,
                              mech="PLAIN")
    for i in range(5):
        started = time.monotonic()
        a.send_message(mto=d.jid, mbody="still here %d" % i)
        assert d.next_message(timeout=1.0)["body"] == "still here %d" % i
        d.send_message(mto=a.jid, mbody="me too %d" % i)
        assert a.next_message(timeout=1.0)["body"] == "me too %d" % i
        assert time.monotonic() - started < 1.0
    assert waiting.wait_auth_failure(
        timeout=2 * LDAP_TIMEOUT + 5) == "temporary-auth-failure"
    felix = ldap_directory.named("Felix")
    started = time.monotonic()
    assert clients.login_failure(felix.jid + "/pc", felix.password,
                                 mech="PLAIN") == "temporary-auth-failure"
    assert time.monotonic() - started < 2 * LDAP_TIMEOUT + 3

    directory.resume()
    e = clients.login(felix.jid + "/pc", felix.password, mech="PLAIN",
                      timeout=2 * LDAP_TIMEOUT + 8)
    e.send_message(mto=a.jid, mbody="back")
    assert a.next_message()["body"] == "back"


def test_killed_directory_fails_logins_and_restarted_serves_again(
        palabred, slapds, ldap_directory):
    directory = slapds()
    server = palabred({"central": {"uris": [directory.uri]}})
    bruno = ldap_directory.named("Bruno")
    login_ok(server, bruno, mech="SCRAM-SHA-256")
    directory.kill()
    for mech in ("PLAIN", "SCRAM-SHA-256"):
        started = time.monotonic()
        s = raw_stream(server, bruno.domain)
        if mech == "PLAIN":
            answer = s.auth_plain(bruno.localpart, bruno.password)
        else:
            answer = scram_login(s, mech, bruno.localpart, bruno.password)
        s.close()
        assert condition(answer) == "temporary-auth-failure"
        assert time.monotonic() - started < LDAP_TIMEOUT + 3
    directory.start()  # same port, same data; palabred not restarted
    login_ok(server, bruno)
    login_ok(server, bruno, mech="SCRAM-SHA-256")


# ---- StartTLS to the directory ----------------------------------------------

def test_starttls_with_the_test_ca(palabred, slapds, ldap_directory):
    directory = slapds(require_tls=True)
    server = palabred({"central": {"uris": [directory.uri],
                                   "starttls": True,
                                   "ca_file": ldap_directory.ca_file}})
    login_ok(server, ldap_directory.named("Alice"))
    login_ok(server, ldap_directory.named("Emma"), mech="SCRAM-SHA-256")
    login_ok(server, ldap_directory.named("Felix"), mech="SCRAM-SHA-1")


def test_starttls_with_a_wrong_ca_fails_cleanly(palabred, slapds, chat,
                                                ldap_directory):
    directory = slapds(require_tls=True)
    server = palabred({"central": {"uris": [directory.uri],
                                   "starttls": True,
                                   "ca_file": ldap_directory.wrong_ca_file}})
    alice = ldap_directory.named("Alice")
    assert plain(server, alice.domain, alice.localpart,
                 alice.password) == "temporary-auth-failure"
    assert chat(server).login_failure(
        alice.jid + "/pc", alice.password,
        mech="PLAIN") == "temporary-auth-failure"
    assert server.proc.poll() is None


def test_without_starttls_a_directory_requiring_tls_is_not_used(
        palabred, slapds, ldap_directory):
    directory = slapds(require_tls=True)
    server = palabred({"central": {"uris": [directory.uri]}})
    alice = ldap_directory.named("Alice")
    assert plain(server, alice.domain, alice.localpart,
                 alice.password) != "success"


# ---- throttling -----------------------------------------------------------

def throttle_lines(server):
    return [line for line in server.log_text(0).splitlines()
            if re.search(r"throttl", line, re.I)]


def test_failures_from_one_address_are_throttled(palabred, slapd,
                                                 ldap_directory):
    server = palabred({"central": {"uris": [slapd.uri]}},
                      throttle={"per-address": 3, "per-account": 0,
                                "period": 4, "delay": 0})
    alice, denis = ldap_directory.named("Alice"), ldap_directory.named(
        "Denis")
    started = time.monotonic()
    for _ in range(3):
        assert plain(server, alice.domain, alice.localpart,
                     "wrong") == "not-authorized"
    # Right passwords, of any account, are refused from this address now.
    for p in (alice, denis, alice, denis):
        assert plain(server, p.domain, p.localpart,
                     p.password) == "temporary-auth-failure"
    assert time.monotonic() - started < 4, "the test ran too slowly"
    assert len(throttle_lines(server)) == 1, throttle_lines(server)
    # The window ends: the right password works again.
    time.sleep(max(0, started + 4.5 - time.monotonic()))
    login_ok(server, alice)


def test_failures_for_one_account_are_throttled(palabred, slapd,
                                                ldap_directory):
    server = palabred({"central": {"uris": [slapd.uri]}},
                      throttle={"per-address": 0, "per-account": 3,
                                "period": 4, "delay": 0})
    bruno, emma = ldap_directory.named("Bruno"), ldap_directory.named(
        "Emma")
    started = time.monotonic()
    for _ in range(3):
        assert plain(server, bruno.domain, bruno.localpart,
                     "wrong") == "not-authorized"
    assert plain(server, bruno.domain, bruno.localpart,
                 bruno.password) == "temporary-auth-failure"
    s = raw_stream(server, bruno.domain)
    answer = scram_login(s, "SCRAM-SHA-256", bruno.localpart, bruno.password)
    s.close()
    assert condition(answer) == "temporary-auth-failure"
    # Another account is not concerned.
    login_ok(server, emma)
    assert time.monotonic() - started < 4, "the test ran too slowly"
    assert len(throttle_lines(server)) == 1, throttle_lines(server)
    time.sleep(max(0, started + 4.5 - time.monotonic()))
    login_ok(server, bruno)


def test_throttled_answer_waits_the_delay(palabred, slapd, ldap_directory):
    server = palabred({"central": {"uris": [slapd.uri]}},
                      throttle={"per-address": 0, "per-account": 1,
                                "period": 30, "delay": 1})
    p = ldap_directory.named("Denis")
    assert plain(server, p.domain, p.localpart, "wrong") == "not-authorized"
    started = time.monotonic()
    assert plain(server, p.domain, p.localpart,
                 p.password) == "temporary-auth-failure"
    assert time.monotonic() - started >= 0.9


def test_unreachable_directory_throttles_nobody(palabred, slapds,
                                                ldap_directory):
    directory = slapds()
    server = palabred({"central": {"uris": [directory.uri]}},
                      throttle={"per-address": 2, "per-account": 2,
                                "period": 60, "delay": 0})
    p = ldap_directory.named("Alice")
    directory.kill()
    for _ in range(3):
        assert plain(server, p.domain, p.localpart,
                     p.password) == "temporary-auth-failure"
    directory.start()
    login_ok(server, p)
