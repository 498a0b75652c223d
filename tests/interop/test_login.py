"""Logging in: TLS first, then SASL with each mechanism; bad credentials."""
import base64
import ssl

import pytest

from palabre import USERS
from rawstream import (NS, has, mechanisms, q, scram_login, show, tag,
                       StreamClosed)

ALICE = "alice@localhost"


# ---- each mechanism, with a real client ----------------------------------

@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_login_with_mechanism(clients, mech):
    alice = clients.login(ALICE + "/laptop", mech=mech)
    assert alice.jid == ALICE + "/laptop"
    assert alice.ping_server()["type"] == "result"


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"])
def test_login_with_channel_binding_tls_unique_over_tls12(clients, mech):
    # slixmpp binds to tls-unique, which RFC 5929 defines for TLS 1.2.
    alice = clients.login(ALICE + "/laptop", mech=mech,
                          max_tls=ssl.TLSVersion.TLSv1_2)
    assert alice.jid == ALICE + "/laptop"


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"])
def test_login_with_channel_binding_tls_exporter_over_tls13(raw, mech):
    # RFC 9266: tls-exporter is the channel binding of TLS 1.3.
    s = raw()
    features = s.starttls()
    assert s.tls_version == "TLSv1.3"
    assert mech in mechanisms(features), show(features)
    answer = scram_login(s, mech, "alice", USERS[ALICE], cb_type="tls-exporter")
    assert answer.tag == tag("sasl:success"), show(answer)


@pytest.mark.parametrize("max_tls,types", [
    (ssl.TLSVersion.TLSv1_2, {"tls-unique", "tls-server-end-point"}),
    (ssl.TLSVersion.TLSv1_3, {"tls-exporter", "tls-server-end-point"})])
def test_channel_binding_types_are_advertised(raw, max_tls, types):
    # XEP-0440, with the types that exist for the TLS version in use.
    s = raw(max_tls=max_tls)
    features = s.starttls()
    advertised = {cb.get("type") for cb in features.findall(
        q("sasl-cb:sasl-channel-binding/sasl-cb:channel-binding"))}
    assert advertised == types, show(features)


@pytest.mark.parametrize("max_tls", [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_login_with_channel_binding_tls_server_end_point(raw, max_tls):
    # RFC 5929 §4: the hash of the server's certificate.
    s = raw(max_tls=max_tls)
    s.starttls()
    answer = scram_login(s, "SCRAM-SHA-256-PLUS", "alice", USERS[ALICE],
                         cb_type="tls-server-end-point")
    assert answer.tag == tag("sasl:success"), show(answer)


def test_client_left_to_choose_its_mechanism_logs_in(clients):
    # slixmpp picks the best it knows (and falls back when that fails).
    alice = clients.login(ALICE + "/laptop", mech=None)
    assert alice.jid == ALICE + "/laptop"


def test_channel_binding_of_another_connection_is_refused(raw):
    # A man in the middle relays SCRAM but has its own TLS connection:
    # the binding data differs and the server must say no.
    s = raw()
    s.starttls()
    answer = scram_login(s, "SCRAM-SHA-256-PLUS", "alice", USERS[ALICE],
                         cb_type="tls-exporter", cb_data=b"\x01" * 32)
    assert answer.tag == tag("sasl:failure"), show(answer)


def test_scram_downgrade_from_plus_is_refused(raw):
    # RFC 5802 §6: gs2 flag "y" says "I can bind but you don't offer it";
    # a server that offers -PLUS must fail that exchange.
    s = raw()
    features = s.starttls()
    assert "SCRAM-SHA-256-PLUS" in mechanisms(features)
    answer = scram_login(s, "SCRAM-SHA-256", "alice", USERS[ALICE],
                         cb_type="y")
    assert answer.tag == tag("sasl:failure"), show(answer)


def test_mechanisms_offered_after_tls_in_configured_order(raw):
    s = raw()
    features = s.starttls()
    assert mechanisms(features) == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
                                    "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]


def test_digest_md5_is_not_offered_unless_configured(raw):
    s = raw()
    assert "DIGEST-MD5" not in mechanisms(s.starttls())


# ---- wrong credentials ------------------------------------------------------

@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256",
                                  "SCRAM-SHA-256-PLUS"])
def test_wrong_password_is_not_authorized(clients, mech):
    condition = clients.login_failure(ALICE + "/laptop", "not-her-password",
                                      mech=mech,
                                      max_tls=ssl.TLSVersion.TLSv1_2)
    assert condition == "not-authorized"


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256"])
def test_unknown_user_is_not_authorized(clients, mech):
    condition = clients.login_failure("nobody@localhost/laptop", "whatever",
                                      mech=mech)
    assert condition == "not-authorized"


def test_user_of_another_domain_cannot_log_in_here(raw):
    # erin exists on chat.example only.
    s = raw()
    s.starttls("localhost")
    answer = s.auth_plain("erin", USERS["erin@chat.example"])
    assert answer.tag == tag("sasl:failure"), show(answer)
    assert has(answer, "sasl:not-authorized"), show(answer)


def test_a_failed_attempt_does_not_lock_the_stream(raw):
    # RFC 6120 §6.4.5: the client may try again on the same stream.
    s = raw()
    s.starttls()
    failed = s.auth_plain("alice", "wrong")
    assert failed.tag == tag("sasl:failure"), show(failed)
    ok = s.auth_plain("alice", USERS[ALICE])
    assert ok.tag == tag("sasl:success"), show(ok)


# ---- TLS before anything else ----------------------------------------------

def test_no_mechanisms_before_starttls(raw):
    s = raw()
    features = s.open()
    assert has(features, "tls:starttls/tls:required"), show(features)
    assert not has(features, "sasl:mechanisms"), show(features)


def test_auth_before_tls_is_refused(raw):
    s = raw()
    s.open()
    plain = base64.b64encode(b"\0alice\0" + USERS[ALICE].encode()).decode()
    s.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS["sasl"], plain))
    try:
        answer = s.read_element()
    except StreamClosed:
        return  # closed without a word: refused all the same
    assert answer.tag in (tag("sasl:failure"), tag("stream:error")), \
        show(answer)
    if answer.tag == tag("sasl:failure"):
        assert has(answer, "sasl:encryption-required"), show(answer)
    else:
        assert has(answer, "streams:policy-violation"), show(answer)


def test_stanza_before_tls_is_refused(raw):
    s = raw()
    s.open()
    s.send("<message to='bob@localhost'><body>in clear</body></message>")
    # RFC 6120 §4.9.3.12 (not-authorized) or §5.3.1 (policy-violation).
    s.expect_stream_error(("not-authorized", "policy-violation"))


def test_login_over_direct_tls(clients):
    alice = clients.login(ALICE + "/laptop", direct_tls=True)
    assert alice.jid == ALICE + "/laptop"


def test_direct_tls_offers_mechanisms_and_no_starttls(raw):
    s = raw(direct_tls=True)
    features = s.open()
    assert not has(features, "tls:starttls"), show(features)
    assert "PLAIN" in mechanisms(features), show(features)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_older_than_1_2_is_refused(server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    import socket
    sock = socket.create_connection(("127.0.0.1", server.tls_port), timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        ctx.wrap_socket(sock, server_hostname="localhost")
    sock.close()


# ---- domains: certificate by SNI, unknown hosts ------------------------------

@pytest.mark.parametrize("domain", ["localhost", "chat.example"])
def test_certificate_is_chosen_by_sni(raw, domain):
    s = raw(direct_tls=True, server_name=domain)
    assert s.peer_certificate_names() == [domain]


def test_user_of_second_domain_logs_in(clients):
    erin = clients.login("erin@chat.example/tablet")
    assert erin.jid == "erin@chat.example/tablet"


def test_stream_to_unserved_domain_is_host_unknown(raw):
    s = raw()
    s.send("<?xml version='1.0'?><stream:stream to='unserved.example' "
           "version='1.0' xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams'>")
    s.expect_stream_error("host-unknown")


def test_stream_to_unserved_domain_after_tls_is_host_unknown(raw):
    s = raw()
    s.open("localhost")
    s.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    s.expect("tls:proceed")
    s.start_tls()
    s.send("<stream:stream to='unserved.example' version='1.0' "
           "xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams'>")
    s.expect_stream_error("host-unknown")
