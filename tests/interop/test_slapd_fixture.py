"""The slapd of the LDAP tests answers as those tests expect.

Checked with ldapsearch/ldapwhoami only, no palabred: the people of both
domains, their passwords of each kind (the RFC 5803 secrets recomputed
here), the ACLs, StartTLS with the test CA, and the process itself
(a second instance, SIGSTOP/SIGCONT, stop by pid).
"""
import base64
import hashlib
import hmac
import os
import socket

import pytest

from palabre import pid_alive
from slapd import (ADMIN_DN, ADMIN_PASSWORD, BASES, BULK_MAIN,
                   BULK_RESEARCH, DOMAINS, MAIN_DOMAIN, NAMED,
                   RESEARCH_DOMAIN, parse_ldif)


def one_entry(slapd, filter, *attrs, **options):
    entries = parse_ldif(slapd.search(filter, *attrs, **options).stdout)
    assert len(entries) == 1, entries
    return entries[0]


# ---- the people -------------------------------------------------------------

@pytest.mark.parametrize("domain", DOMAINS)
def test_service_account_finds_a_person_by_mail(slapd, ldap_directory,
                                                domain):
    p = ldap_directory.some(domain, "ssha", skip=400)[0]
    e = one_entry(slapd, "(mail=%s)" % p.mail, "mail", "uid", "cn",
                  "telephoneNumber", "ou")
    assert e["dn"] == [p.dn]
    assert e["dn"][0].endswith(BASES[domain])
    assert e["mail"] == ["%s.%s@%s" % (p.first.lower(), p.last.lower(),
                                       domain)]
    assert e["uid"] == [p.uid] and e["cn"] == [p.cn]
    assert e["telephoneNumber"] == [p.telephone] and e["ou"] == [p.ou]


def test_a_few_thousand_people_in_two_domains(slapd):
    # As the directory's manager: the service account has a size limit.
    for domain, count in ((MAIN_DOMAIN, BULK_MAIN),
                          (RESEARCH_DOMAIN, BULK_RESEARCH)):
        r = slapd.search("(mail=*@%s)" % domain, "1.1", bind_dn=ADMIN_DN,
                         password=ADMIN_PASSWORD, base=BASES[domain])
        found = len(parse_ldif(r.stdout))
        named = sum(1 for n in NAMED if n[2] == domain)
        assert found == count + named


def test_uid_and_mail_are_unique(ldap_directory):
    people = ldap_directory.people
    assert len({p.uid for p in people}) == len(people)
    assert len({p.mail for p in people}) == len(people)


def test_ssha_password_verifies(slapd, ldap_directory):
    p = ldap_directory.named("Alice")
    e = one_entry(slapd, "(mail=%s)" % p.mail, "userPassword")
    value = e["userPassword"][0]
    assert value.startswith("{SSHA}")
    raw = base64.b64decode(value[len("{SSHA}"):])
    digest, salt = raw[:20], raw[20:]
    assert hashlib.sha1(p.password.encode() + salt).digest() == digest


@pytest.mark.parametrize("first", ["Bruno", "Emma"])
def test_scram_secrets_follow_rfc_5803(slapd, ldap_directory, first):
    p = ldap_directory.named(first)
    e = one_entry(slapd, "(mail=%s)" % p.mail, "authPassword")
    values = sorted(e["authPassword"])
    assert [v.split("$")[0] for v in values] == ["SCRAM-SHA-1",
                                                 "SCRAM-SHA-256"]
    for value in values:
        scheme, info, keys = value.split("$")
        iterations, salt = info.split(":")
        stored_key, server_key = keys.split(":")
        digest = hashlib.sha1 if scheme == "SCRAM-SHA-1" else hashlib.sha256
        salted = hashlib.pbkdf2_hmac(digest().name, p.password.encode(),
                                     base64.b64decode(salt), int(iterations))
        client_key = hmac.new(salted, b"Client Key", digest).digest()
        assert base64.b64decode(stored_key) == digest(client_key).digest()
        assert base64.b64decode(server_key) == hmac.new(
            salted, b"Server Key", digest).digest()


def test_generated_scram_people_exist_in_both_domains(slapd, ldap_directory):
    for domain in DOMAINS:
        p = ldap_directory.some(domain, "scram", skip=20)[0]
        e = one_entry(slapd, "(mail=%s)" % p.mail, "authPassword")
        assert len(e["authPassword"]) == 2


@pytest.mark.parametrize("first", ["Chloe", "Felix"])
def test_clear_password_is_readable_by_the_service_account(
        slapd, ldap_directory, first):
    p = ldap_directory.named(first)
    e = one_entry(slapd, "(mail=%s)" % p.mail, "userPassword")
    assert e["userPassword"] == [p.password]


# ---- binds and access -----------------------------------------------------

@pytest.mark.parametrize("first", ["Alice", "Bruno", "Chloe", "Denis",
                                   "Emma", "Felix", "Gaelle"])
def test_people_bind_with_their_password(slapd, ldap_directory, first):
    p = ldap_directory.named(first)
    r = slapd.bind(p.dn, p.password)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "dn:" + p.dn


def test_generated_person_binds(slapd, ldap_directory):
    p = ldap_directory.some(RESEARCH_DOMAIN, "ssha", skip=850)[0]
    assert slapd.bind(p.dn, p.password).returncode == 0


def test_wrong_password_is_invalid_credentials(slapd, ldap_directory):
    p = ldap_directory.named("Alice")
    r = slapd.bind(p.dn, p.password + "x")
    assert r.returncode == 49, r.stderr


def test_anonymous_reads_nothing(slapd, ldap_directory):
    p = ldap_directory.named("Bruno")
    r = slapd.search("(mail=%s)" % p.mail, bind_dn=None, check=False)
    assert parse_ldif(r.stdout) == []


def test_a_person_reads_no_one_elses_password(slapd, ldap_directory):
    alice, bruno = ldap_directory.named("Alice"), ldap_directory.named(
        "Bruno")
    r = slapd.search("(objectClass=*)", "userPassword", "authPassword",
                     base=bruno.dn, bind_dn=alice.dn,
                     password=alice.password, check=False)
    assert "Password" not in r.stdout


def test_escaped_filter_matches_nothing(slapd):
    # What an RFC 4515 escaping of "*" sends: no entry, no error.
    r = slapd.search("(mail=\\2a@example.org)", "1.1")
    assert parse_ldif(r.stdout) == []


# ---- StartTLS -----------------------------------------------------------------

def test_starttls_with_the_test_ca(slapd, ldap_directory):
    p = ldap_directory.named("Denis")
    e = one_entry(slapd, "(mail=%s)" % p.mail, "uid", starttls=True)
    assert e["uid"] == [p.uid]


def test_starttls_with_a_wrong_ca_fails(slapd, ldap_directory):
    r = slapd.search("(cn=palabre)", starttls=True,
                     ca_file=ldap_directory.wrong_ca_file, check=False)
    assert r.returncode != 0 and "start_tls" in r.stderr, r.stderr


# ---- the process --------------------------------------------------------------

def test_a_second_instance_serves_the_same_data(slapd, slapds,
                                                ldap_directory):
    second = slapds()
    assert second.port != slapd.port and second.pid != slapd.pid
    p = ldap_directory.named("Emma")
    assert one_entry(second, "(mail=%s)" % p.mail, "uid")["uid"] == [p.uid]


def test_paused_slapd_does_not_answer_and_resumes(slapds):
    s = slapds()
    s.pause()
    assert not s.answers(within=1.5)
    s.resume()
    assert s.answers(within=5)


def test_killed_slapd_refuses_connections(slapds):
    s = slapds()
    s.kill()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", s.port), timeout=2)


def test_stop_ends_the_process_even_when_paused(slapds):
    s = slapds()
    pid = s.pid
    s.pause()
    s.stop()
    assert not pid_alive(pid)
    assert os.path.exists(s.log)


def test_slapd_requiring_tls_refuses_a_clear_search(slapds):
    s = slapds(require_tls=True)
    assert s.search("(cn=palabre)", "cn", starttls=False,
                    check=False).returncode == 13  # confidentialityRequired
    assert s.search("(cn=palabre)", "cn", starttls=True).returncode == 0
