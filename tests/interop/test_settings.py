"""Settings of <c2s> and <sm> that change what a client sees.

This module's server: require-starttls false, resource-conflict refuse,
only the disco module, auth-timeout 2 s.
"""
import time

from palabre import USERS
from rawstream import has, mechanisms, scram_login, show, tag

SERVER_OPTIONS = {"require_starttls": False, "resource_conflict": "refuse",
                  "modules": "disco", "auth_timeout": 2}
ALICE = "alice@localhost"


def test_without_required_tls_starttls_is_optional(raw):
    s = raw()
    features = s.open()
    assert has(features, "tls:starttls"), show(features)
    assert not has(features, "tls:starttls/tls:required"), show(features)


def test_plain_is_never_offered_in_clear(raw):
    s = raw()
    offered = mechanisms(s.open())
    assert "SCRAM-SHA-256" in offered, offered
    assert "PLAIN" not in offered
    assert not any(m.endswith("-PLUS") for m in offered), offered


def test_plain_in_clear_is_refused(raw):
    s = raw()
    s.open()
    answer = s.auth_plain("alice", USERS[ALICE])
    assert answer.tag != tag("sasl:success"), show(answer)


def test_scram_in_clear_works_when_tls_is_not_required(raw):
    s = raw()
    s.open()
    answer = scram_login(s, "SCRAM-SHA-256", "alice", USERS[ALICE])
    assert answer.tag == tag("sasl:success"), show(answer)


def test_plain_is_offered_after_starttls(raw):
    s = raw()
    assert "PLAIN" in mechanisms(s.starttls())


def test_resource_conflict_refuse_keeps_the_old_session(clients, raw):
    old = clients.login(ALICE + "/pc")
    s = raw()
    s.starttls()
    assert s.auth_plain("alice", USERS[ALICE]).tag == tag("sasl:success")
    s.open()
    answer = s.bind("pc")
    assert answer.get("type") == "error", show(answer)
    assert has(answer, "client:error/stanzas:conflict"), show(answer)
    old.ping_server()  # answered (ping is off here: with an error)
    assert not old.disconnected.done()
    assert not old.stream_error.done()


def test_disco_lists_only_enabled_modules(clients):
    alice = clients.login(ALICE + "/pc")
    iq = alice.xmpp.Iq(stype="get", sto="localhost")
    iq.enable("disco_info")
    features = set(alice.iq(iq)["disco_info"]["features"])
    assert "http://jabber.org/protocol/disco#info" in features
    assert "urn:xmpp:ping" not in features


def test_disabled_ping_is_service_unavailable(clients):
    alice = clients.login(ALICE + "/pc")
    answer = alice.ping_server()
    assert answer["type"] == "error"
    assert answer["error"]["condition"] == "service-unavailable"


def test_connection_that_does_not_log_in_is_closed(raw):
    s = raw()
    s.open()
    start = time.monotonic()
    # auth-timeout is 2 s; allow for a coarse timer on the server side
    s.expect_stream_error("connection-timeout", timeout=10)
    assert time.monotonic() - start > 1.0
