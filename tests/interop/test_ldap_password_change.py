"""A password changed in the directory (issue 11 item 8): the old one
stops working by every mechanism at once, the new one works.

Each test has a slapd of its own (slapds()), since it changes passwords.
People of kind "scram" have an {SSHA} userPassword and RFC 5803
authPassword secrets of the same password (slapd.py). `ldappasswd` (the
RFC 3062 password modify operation, as the admin) rewrites userPassword
only; the "tooling" replaces userPassword and authPassword in one modify.
palabred keeps per account the password stamp and the authPassword it
last trusted (auth/ldap_stamp.h): the change is seen at the next SCRAM
lookup, so no waiting is needed.
"""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from slapd import MAIN_DOMAIN, RESEARCH_DOMAIN, scram_auth_password, ssha
from test_ldap import (condition, domain_certs, login_ok,  # noqa: F401
                       palabred, plain, raw_stream)
from rawstream import mechanisms, scram_login

SCRAM = ("SCRAM-SHA-1", "SCRAM-SHA-256")
CONFIG_DIST = Path(__file__).resolve().parents[2] / "config.xml.dist"


class Login:
    """A person's login and a password that may not be theirs."""

    def __init__(self, person, password):
        self.domain, self.localpart = person.domain, person.localpart
        self.mail, self.password = person.mail, password


def scram(server, person, password, mech="SCRAM-SHA-256"):
    """The answer to a SCRAM exchange with this password."""
    s = raw_stream(server, person.domain)
    try:
        return condition(scram_login(s, mech, person.localpart, password))
    finally:
        s.close()


def auth_passwords(password):
    return [scram_auth_password(m, password) for m in SCRAM]


def stale_lines(server):
    return [line for line in server.log_text(0).splitlines()
            if re.search(r"authPassword values", line)]


@pytest.fixture
def person(ldap_directory):
    """A generated person with authPassword secrets (each test changes it
    in a slapd of its own)."""
    return ldap_directory.some(RESEARCH_DOMAIN, "scram")[0]


def start(palabred, directory, access="bind auth-password"):
    return palabred({"central": {"uris": [directory.uri],
                                 "access": access}})


# ---- ldappasswd: the old password stops working by SCRAM too ---------------

def test_ldappasswd_ends_scram_with_the_old_password(palabred, slapds,
                                                      person):
    directory = slapds()
    server = start(palabred, directory)
    old, new = person.password, person.password + "-new"
    for mech in SCRAM:
        assert scram(server, person, old, mech) == "success"

    directory.passwd(person.dn, new)

    for mech in SCRAM:
        assert scram(server, person, old, mech) == "not-authorized"
    assert plain(server, person.domain, person.localpart, new) == "success"
    assert plain(server, person.domain, person.localpart,
                 old) == "not-authorized"
    # PLAIN with the new password does not make the old secrets good.
    assert scram(server, person, old) == "not-authorized"
    assert scram(server, person, new) == "not-authorized"
    # Said once per change, with what to do.
    lines = stale_lines(server)
    assert len(lines) == 2, lines  # seen by SCRAM, confirmed by PLAIN
    assert "userPassword of %s" % person.mail in lines[0], lines
    assert "rewritten" in lines[0] and "do not match" in lines[1], lines


def test_the_change_is_remembered_across_a_restart(palabred, slapds,
                                                   person):
    directory = slapds()
    server = start(palabred, directory)
    assert scram(server, person, person.password) == "success"
    server.stop()
    directory.passwd(person.dn, person.password + "-new")
    server.start()
    assert scram(server, person, person.password) == "not-authorized"


def test_plain_first_after_the_change_marks_the_secrets_stale(
        palabred, slapds, person):
    # Nobody logged in before the change: the first login is PLAIN with
    # the new password, which the old authPassword does not give.
    directory = slapds()
    directory.passwd(person.dn, person.password + "-new")
    server = start(palabred, directory)
    assert plain(server, person.domain, person.localpart,
                 person.password + "-new") == "success"
    assert scram(server, person, person.password) == "not-authorized"


def test_plain_after_a_first_scram_attempt_marks_the_secrets_stale(
        palabred, slapds, person):
    # Changed before palabre first saw the account; then the owner's
    # client tries SCRAM with the new password (the lookup trusts the old
    # secrets before any proof) and falls back to PLAIN.
    directory = slapds()
    new = person.password + "-new"
    directory.passwd(person.dn, new)
    server = start(palabred, directory)
    assert scram(server, person, new) == "not-authorized"
    assert plain(server, person.domain, person.localpart, new) == "success"
    assert scram(server, person, person.password) == "not-authorized"


def test_without_read_access_to_user_password_entry_csn_is_the_stamp(
        palabred, slapds, person):
    directory = slapds(service_reads_user_password=False)
    server = start(palabred, directory)
    assert scram(server, person, person.password) == "success"
    directory.passwd(person.dn, person.password + "-new")
    assert scram(server, person, person.password) == "not-authorized"
    assert "entryCSN of %s" % person.mail in stale_lines(server)[0]


def test_an_unrelated_change_is_a_false_alarm_that_plain_heals(
        palabred, slapds, person):
    # entryCSN changes with any attribute: SCRAM stops until a PLAIN
    # login shows that the secrets still match the password.
    directory = slapds(service_reads_user_password=False)
    server = start(palabred, directory)
    assert scram(server, person, person.password) == "success"
    directory.modify(person.dn, telephoneNumber=["+33 1 00 00 00 00"])
    assert scram(server, person, person.password) == "not-authorized"
    assert plain(server, person.domain, person.localpart,
                 person.password) == "success"
    assert scram(server, person, person.password) == "success"


# ---- tooling that keeps authPassword in step ---------------------------------

def test_tooling_that_rewrites_both_keeps_scram_working(palabred, slapds,
                                                        person):
    directory = slapds()
    server = start(palabred, directory)
    old, new = person.password, person.password + "-new"
    assert scram(server, person, old) == "success"

    directory.modify(person.dn, userPassword=[ssha(new)],
                     authPassword=auth_passwords(new))

    for mech in SCRAM:
        assert scram(server, person, new, mech) == "success"
        assert scram(server, person, old, mech) == "not-authorized"
    login_ok(server, Login(person, new))
    assert stale_lines(server) == []


def test_secrets_rewritten_after_ldappasswd_are_used_again(
        palabred, slapds, person):
    directory = slapds()
    server = start(palabred, directory)
    new = person.password + "-new"
    assert scram(server, person, person.password) == "success"
    directory.passwd(person.dn, new)
    assert scram(server, person, person.password) == "not-authorized"
    directory.modify(person.dn, authPassword=auth_passwords(new))
    assert scram(server, person, new) == "success"
    assert scram(server, person, person.password) == "not-authorized"


# ---- clear passwords follow the directory by construction --------------------

def test_a_clear_password_wins_over_old_secrets(palabred, slapds, person):
    # clear-password: SCRAM keys are derived from the clear userPassword
    # at each login, so they are the current password's whatever
    # authPassword holds.
    directory = slapds()
    server = start(palabred, directory,
                   access="bind auth-password clear-password")
    new = person.password + "-new"
    directory.modify(person.dn, userPassword=[new])
    for mech in SCRAM:
        assert scram(server, person, new, mech) == "success"
        assert scram(server, person, person.password,
                     mech) == "not-authorized"


# ---- the shipped example ------------------------------------------------------

def shipped_example():
    """password-access of config.xml.dist's <ldap> example, and its
    c2s mechanisms."""
    text = CONFIG_DIST.read_text()
    ldap = re.search(r'<ldap id="central">.*?</ldap>', text, re.S).group(0)
    access = ET.fromstring(ldap).findtext("password-access").strip()
    mechs = ET.fromstring(text).findtext("c2s/mechanisms").strip()
    return access, mechs


def test_shipped_example_works_with_a_directory_of_ssha_passwords(
        palabred, slapd, ldap_directory):
    # A directory that holds {SSHA} userPassword values and nothing else:
    # whatever the example offers must log such a person in (Profanity
    # and Gajim take the first SCRAM offered and do not fall back).
    access, mechs = shipped_example()
    server = palabred({"central": {"uris": [slapd.uri], "access": access}},
                      mechanisms=mechs)
    alice = ldap_directory.named("Alice")
    s = raw_stream(server, MAIN_DOMAIN)
    offered = mechanisms(s.features)
    s.close()
    assert offered == ["PLAIN"], offered
    for mech in offered:
        login_ok(server, alice, mech=mech)
