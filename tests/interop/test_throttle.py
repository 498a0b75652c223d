"""The login throttle against guesses made in parallel (issue 11, item 2),
and XEP-0440's channel-binding types only beside a -PLUS mechanism (item 9).

<c2s><auth-throttle> counts an exchange as an attempt from the moment it
starts, so exchanges opened together cannot all have their proofs checked
before the first failure is known. Clients connect from several loopback
addresses (127.0.0.x), each standing for another host. Streams stay in
clear text (require-starttls off) so that hundreds of them open quickly;
SCRAM does not need TLS.
"""
import base64
import os

import pytest

from palabre import Palabre, USERS
from rawstream import NS, RawStream, has, scram_login, show, tag

ALICE = "alice@localhost"
RIGHT = USERS[ALICE]


@pytest.fixture
def palabred(started, tmp_path_factory, certs):
    """palabred(**Palabre options) → a started palabred."""
    def start(**options):
        return started(Palabre(tmp_path_factory.mktemp("palabred-throttle"),
                               certs, **options))
    return start


def clear_text(throttle, **options):
    return dict(auth_throttle=throttle, require_starttls=False, **options)


def stream(server, source="127.0.0.1"):
    s = RawStream(server.c2s_port, source=source)
    s.open("localhost")
    return s


def send_auth(s, user):
    """<auth/> with SCRAM-SHA-256's client-first-message (RFC 5802 §7)."""
    first = (b"n,,n=" + user.encode() + b",r="
             + base64.b64encode(os.urandom(18)))
    s.send("<auth xmlns='%s' mechanism='SCRAM-SHA-256'>%s</auth>"
           % (NS["sasl"], base64.b64encode(first).decode()))


def send_wrong_proof(s, challenge):
    """The client-final-message with a random proof: a wrong password."""
    server_first = base64.b64decode(challenge.text)
    nonce = dict(kv.split(b"=", 1) for kv in server_first.split(b","))[b"r"]
    final = (b"c=biws,r=" + nonce + b",p="
             + base64.b64encode(os.urandom(32)))
    s.send("<response xmlns='%s'>%s</response>"
           % (NS["sasl"], base64.b64encode(final).decode()))


def condition(element):
    assert element.tag == tag("sasl:failure"), show(element)
    return element[0].tag.split("}")[1]


def is_challenge(element):
    return element.tag == tag("sasl:challenge")


def parallel_guesses(server, users, source="127.0.0.1"):
    """One stream per user: every <auth/> is sent before any answer is
    read, then a wrong proof on every stream that got a challenge before
    any outcome is read. Returns (answers to <auth/>, outcomes)."""
    streams = [stream(server, source) for _ in users]
    try:
        for s, user in zip(streams, users):
            send_auth(s, user)
        answers = [s.read_element() for s in streams]
        proving = [(s, a) for s, a in zip(streams, answers)
                   if is_challenge(a)]
        for s, answer in proving:
            send_wrong_proof(s, answer)
        outcomes = [s.read_element() for s, _ in proving]
    finally:
        for s in streams:
            s.close()
    return answers, outcomes


def login(server, source, password, user="alice"):
    s = stream(server, source)
    try:
        return scram_login(s, "SCRAM-SHA-256", user, password)
    finally:
        s.close()


def log_lines(server, text):
    return [line for line in server.log_text(0).splitlines()
            if text in line]


# ---- guesses in parallel ---------------------------------------------------

def test_parallel_guesses_at_one_account_check_only_its_limit(palabred):
    server = palabred(**clear_text({"per-address": 30, "per-account": 10,
                                    "period": 60, "delay": 1}))
    answers, outcomes = parallel_guesses(server, ["alice"] * 200)
    # Ten exchanges reach the server-first-message; the 190 others are
    # refused before it: 170 at <auth/> (the address has 30 in flight),
    # 20 once they name alice (10 in flight for her).
    assert sum(map(is_challenge, answers)) == 10
    assert {condition(a) for a in answers if not is_challenge(a)} == {
        "temporary-auth-failure"}
    # Only those ten proofs are checked.
    assert [condition(o) for o in outcomes] == ["not-authorized"] * 10
    # alice is throttled now, from any address: even her password fails.
    for source in ("127.0.0.1", "127.0.0.2"):
        assert condition(login(server, source, RIGHT)) == \
            "temporary-auth-failure"
    assert len(log_lines(server, "throttling alice@localhost")) == 1


def test_parallel_guesses_across_accounts_stop_at_the_address_limit(
        palabred):
    server = palabred(**clear_text({"per-address": 30, "per-account": 10,
                                    "period": 60, "delay": 1}))
    answers, outcomes = parallel_guesses(
        server, ["user%d" % i for i in range(60)])
    assert sum(map(is_challenge, answers)) == 30
    assert {condition(a) for a in answers if not is_challenge(a)} == {
        "temporary-auth-failure"}
    assert [condition(o) for o in outcomes] == ["not-authorized"] * 30
    # The address is throttled, for every account; bob elsewhere is not.
    assert condition(login(server, "127.0.0.1", USERS["bob@localhost"],
                           user="bob")) == "temporary-auth-failure"
    assert login(server, "127.0.0.2", USERS["bob@localhost"],
                 user="bob").tag == tag("sasl:success")


# ---- exchanges that are not wrong passwords count too ----------------------

def scram_malformed(s):
    """A client-first-message without a GS2 header (RFC 5802 §7)."""
    return s.auth("SCRAM-SHA-256", b"n=alice,r=abcdefgh")


def scram_aborted(s):
    """RFC 6120 §6.4.4: the client aborts after the server-first-message."""
    send_auth(s, "alice")
    assert is_challenge(s.read_element())
    s.send("<abort xmlns='%s'/>" % NS["sasl"])
    return s.read_element()


def digest_md5_repeated_cnonce(s):
    """A DIGEST-MD5 response (RFC 2831 §2.1.2) naming cnonce twice: the
    path where cyrus-sasl loses memory at each attempt."""
    challenge = s.auth("DIGEST-MD5")
    assert is_challenge(challenge), show(challenge)
    fields = dict(kv.split(b"=", 1) for kv in
                  base64.b64decode(challenge.text).split(b","))
    return s.response(
        b'username="alice",realm="localhost",nonce=' + fields[b"nonce"]
        + b',cnonce="AAAAAAAA",cnonce="AAAAAAAA",nc=00000001,qop=auth,'
        b'digest-uri="xmpp/localhost",'
        b'response=00000000000000000000000000000000,charset=utf-8')


def digest_md5_unparsable(s):
    """A DIGEST-MD5 response whose quoted string never ends."""
    assert is_challenge(s.auth("DIGEST-MD5"))
    return s.response(b'username="alice",cnonce="AAAAAAAA')


@pytest.mark.parametrize("exchange", [scram_malformed, scram_aborted,
                                      digest_md5_repeated_cnonce,
                                      digest_md5_unparsable])
def test_exchanges_that_fail_otherwise_count_toward_the_address_limit(
        palabred, exchange):
    server = palabred(**clear_text(
        {"per-address": 3, "per-account": 0, "period": 60, "delay": 0},
        mechanisms="SCRAM-SHA-256 DIGEST-MD5"))
    for _ in range(3):
        s = stream(server)
        assert condition(exchange(s)) != "temporary-auth-failure"
        s.close()
    assert condition(login(server, "127.0.0.1", RIGHT)) == \
        "temporary-auth-failure"
    assert login(server, "127.0.0.2", RIGHT).tag == tag("sasl:success")


# ---- the owner of a throttled account ---------------------------------------

def test_a_throttled_account_spares_who_proved_its_password_there_recently(
        palabred):
    server = palabred(**clear_text({"per-address": 0, "per-account": 3,
                                    "period": 60, "delay": 0}))
    owner, guesser, stranger = "127.0.0.2", "127.0.0.3", "127.0.0.4"
    assert login(server, owner, RIGHT).tag == tag("sasl:success")
    for _ in range(3):
        assert condition(login(server, guesser, "wrong")) == "not-authorized"
    # alice is throttled: her password is refused from other addresses...
    assert condition(login(server, guesser, RIGHT)) == \
        "temporary-auth-failure"
    assert condition(login(server, stranger, RIGHT)) == \
        "temporary-auth-failure"
    # ... not from the one where it was proved a moment ago.
    assert login(server, owner, RIGHT).tag == tag("sasl:success")
    assert login(server, owner, RIGHT).tag == tag("sasl:success")
    # Someone behind the same address (a NAT) gets one guess checked,
    # which spends that record: then the owner waits like anyone else.
    assert condition(login(server, owner, "wrong")) == "not-authorized"
    assert condition(login(server, owner, RIGHT)) == \
        "temporary-auth-failure"


# ---- XEP-0440 ---------------------------------------------------------------

def channel_binding_types(server):
    s = RawStream(server.c2s_port)
    try:
        features = s.starttls()
    finally:
        s.close()
    return features, {cb.get("type") for cb in features.findall(
        "{%s}sasl-channel-binding/{%s}channel-binding"
        % (NS["sasl-cb"], NS["sasl-cb"]))}


def test_channel_binding_types_are_announced_beside_plus_mechanisms(
        palabred):
    server = palabred()
    features, types = channel_binding_types(server)
    assert "SCRAM-SHA-256-PLUS" in show(features)
    assert types == {"tls-exporter", "tls-server-end-point"}, show(features)


def test_no_channel_binding_types_without_a_plus_mechanism(palabred):
    server = palabred(mechanisms="SCRAM-SHA-256 SCRAM-SHA-1 PLAIN")
    features, types = channel_binding_types(server)
    assert has(features, "sasl:mechanisms/sasl:mechanism"), show(features)
    assert "-PLUS" not in show(features)
    assert not has(features, "sasl-cb:sasl-channel-binding"), show(features)
