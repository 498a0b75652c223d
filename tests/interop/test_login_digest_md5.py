"""DIGEST-MD5 (RFC 6331, obsolete) for deployments that list it.

This module's server lists DIGEST-MD5 in <mechanisms>, so palabrectl
stores its per-realm hash when the test users are added.
"""
from rawstream import mechanisms

SERVER_OPTIONS = {"mechanisms": "SCRAM-SHA-256 PLAIN DIGEST-MD5"}


def test_digest_md5_is_offered_when_listed(raw):
    s = raw()
    assert mechanisms(s.starttls()) == ["SCRAM-SHA-256", "PLAIN",
                                        "DIGEST-MD5"]


def test_login_with_digest_md5(clients):
    alice = clients.login("alice@localhost/old-psi", mech="DIGEST-MD5")
    assert alice.jid == "alice@localhost/old-psi"


def test_digest_md5_wrong_password_is_not_authorized(clients):
    condition = clients.login_failure("alice@localhost/old-psi", "wrong",
                                      mech="DIGEST-MD5")
    assert condition == "not-authorized"


def test_digest_md5_for_user_of_second_domain(clients):
    erin = clients.login("erin@chat.example/old-psi", mech="DIGEST-MD5")
    assert erin.jid == "erin@chat.example/old-psi"


def test_other_mechanisms_still_work(clients):
    clients.login("bob@localhost/pc", mech="SCRAM-SHA-256")
    clients.login("bob@localhost/pc2", mech="PLAIN")
