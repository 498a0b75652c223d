"""The login throttle against guesses made in parallel (issue 11, item 2),
and XEP-0440's channel-binding types only beside a -PLUS mechanism (item 9).

<c2s><auth-throttle> counts an exchange as an attempt from the moment it
starts, so exchanges opened together cannot all have their proofs checked
before the first failure is known. Exchanges past the limit of those under
way wait, unanswered, for a place: right passwords all get in, wrong ones
never get more proofs checked than the limit. Clients connect from several loopback
addresses (127.0.0.x), each standing for another host. Streams stay in
clear text (require-starttls off) so that hundreds of them open quickly;
SCRAM does not need TLS.
"""
import base64
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

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


def stream(server, source="127.0.0.1", timeout=5.0):
    s = RawStream(server.c2s_port, source=source, timeout=timeout)
    s.open("localhost")
    return s


def in_parallel(function, items):
    """function(item) for every item at once, one thread each."""
    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(function, items))


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


def guess(s):
    """After <auth/>: a wrong proof as soon as a challenge comes.
    Returns (the answer to <auth/>, the outcome of the proof or None)."""
    answer = s.read_element()
    if not is_challenge(answer):
        return answer, None
    send_wrong_proof(s, answer)
    return answer, s.read_element()


def parallel_guesses(server, users, source="127.0.0.1"):
    """One stream per user: every <auth/> is sent before any answer is
    read, then each stream, on its own, answers a challenge with a wrong
    proof. Returns (answers to <auth/>, outcomes of the proofs)."""
    streams = [stream(server, source, timeout=60) for _ in users]
    try:
        for s, user in zip(streams, users):
            send_auth(s, user)
        results = in_parallel(guess, streams)
    finally:
        for s in streams:
            s.close()
    return ([answer for answer, _ in results],
            [outcome for _, outcome in results if outcome is not None])


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
    # Ten exchanges reach the server-first-message; the 190 others wait
    # (170 for the address, which has 30 under way, 20 for alice, who has
    # 10) until those ten proofs fail, and are refused before it.
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


# ---- right passwords in parallel wait for a place --------------------------

def parallel_logins(server, count, source="127.0.0.1", login=None):
    """count streams from one address, all opened, then all logging in
    as alice at once. Returns their last answers."""
    login = login or (lambda s: scram_login(s, "SCRAM-SHA-256", "alice",
                                            RIGHT))
    streams = [stream(server, source, timeout=120) for _ in range(count)]
    try:
        return in_parallel(login, streams)
    finally:
        for s in streams:
            s.close()


@pytest.mark.parametrize("count", [60, 300])
def test_parallel_logins_with_the_right_password_wait_and_all_succeed(
        palabred, count):
    # The defaults: 30 exchanges under way per address, 10 per account.
    # The excess is not refused: each waits for a place, then succeeds.
    server = palabred(**clear_text(None))
    answers = parallel_logins(server, count)
    assert [a.tag for a in answers] == [tag("sasl:success")] * count, \
        [show(a) for a in answers if a.tag != tag("sasl:success")][:3]
    assert not log_lines(server, "throttling")


def holding_a_place(server, password=RIGHT, source="127.0.0.1"):
    """A SCRAM login as alice that stops after the server-first-message,
    holding one of alice's (and its address's) places. Returns a function
    that sends the client-final-message with password and returns the
    outcome."""
    s = stream(server, source)
    challenged, go = threading.Event(), threading.Event()
    respond = s.response

    def response(data):
        challenged.set()
        go.wait(60)
        return respond(data)
    s.response = response
    pool = ThreadPoolExecutor(1)
    outcome = pool.submit(scram_login, s, "SCRAM-SHA-256", "alice", password)
    assert challenged.wait(10), "no server-first-message"

    def finish():
        go.set()
        try:
            return outcome.result(timeout=30)
        finally:
            s.close()
            pool.shutdown()
    return finish


def logging_in(server, login=None, source="127.0.0.1"):
    """login(stream) (SCRAM as alice with her password unless told) run
    on its own thread: returns (the stream, a future of its outcome)."""
    s = stream(server, source, timeout=30)
    login = login or (lambda s: scram_login(s, "SCRAM-SHA-256", "alice",
                                            RIGHT))
    pool = ThreadPoolExecutor(1)
    future = pool.submit(login, s)
    pool.shutdown(wait=False)
    return s, future


def still_waiting(future):
    """No answer yet, half a second on: the exchange waits for a place
    (without it, the server answers temporary-auth-failure at once)."""
    done, _ = wait([future], timeout=0.5)
    return not done


def no_memory_errors(server):
    """palabred stopped, its log shows no sanitizer report (an ASan build:
    PALABRE_BUILD=build-asan)."""
    server.stop()
    text = server.log_text(0)
    assert "Sanitizer" not in text and "runtime error" not in text, text


ONE_PER_ACCOUNT = {"per-address": 30, "per-account": 1, "period": 60,
                   "delay": 0}


def scram_without_initial_response(s):
    """SCRAM whose client-first-message comes in a <response/> after an
    empty challenge (RFC 6120 §6.4.2)."""
    s.send("<auth xmlns='%s' mechanism='SCRAM-SHA-256'/>" % NS["sasl"])
    empty = s.read_element()
    assert is_challenge(empty) and not empty.text, show(empty)
    s.auth = lambda mechanism, initial: s.response(initial)
    return scram_login(s, "SCRAM-SHA-256", "alice", RIGHT)


def plain_over_tls(s):
    s.send("<starttls xmlns='%s'/>" % NS["tls"])
    s.expect("tls:proceed")
    s.start_tls()
    s.open("localhost")
    return s.auth_plain("alice", RIGHT)


@pytest.mark.parametrize("login", [scram_without_initial_response,
                                   plain_over_tls])
def test_an_exchange_naming_a_busy_account_resumes_once_a_place_frees(
        palabred, login):
    # alice's one place is taken: the exchange, once it names her, waits
    # unanswered, and runs when the first one succeeds.
    server = palabred(**clear_text(ONE_PER_ACCOUNT))
    finish = holding_a_place(server)
    s, outcome = logging_in(server, login)
    try:
        assert still_waiting(outcome)
        assert finish().tag == tag("sasl:success")
        assert outcome.result(timeout=30).tag == tag("sasl:success")
    finally:
        s.close()
    no_memory_errors(server)


def test_a_failed_proof_refuses_those_waiting_behind_it(palabred):
    # A guess under way, three more queued behind it: once it fails,
    # alice is at her limit, and they get temporary-auth-failure without
    # a server-first-message (no proof of theirs is ever checked).
    server = palabred(**clear_text(ONE_PER_ACCOUNT))
    finish = holding_a_place(server, password="wrong")
    waiting = [logging_in(server) for _ in range(3)]
    try:
        assert all(still_waiting(f) for _, f in waiting)
        assert condition(finish()) == "not-authorized"
        for _, f in waiting:
            assert condition(f.result(timeout=30)) == \
                "temporary-auth-failure"
    finally:
        for s, _ in waiting:
            s.close()
    no_memory_errors(server)


def test_waiting_connections_that_leave_are_forgotten(palabred):
    # Five wait for alice's place: three leave, one aborts (answered at
    # once, its stream still usable), and the last still gets in.
    server = palabred(**clear_text(ONE_PER_ACCOUNT))
    finish = holding_a_place(server)
    leaving = [stream(server) for _ in range(3)]
    for s in leaving:
        send_auth(s, "alice")
    aborting = stream(server)
    send_auth(aborting, "alice")
    s, outcome = logging_in(server)
    try:
        assert still_waiting(outcome)
        for gone in leaving:
            gone.close()
        aborting.send("<abort xmlns='%s'/>" % NS["sasl"])
        assert condition(aborting.read_element()) == "aborted"
        assert finish().tag == tag("sasl:success")
        assert outcome.result(timeout=30).tag == tag("sasl:success")
        # Nothing of them is left in alice's queue.
        assert scram_login(aborting, "SCRAM-SHA-256", "alice",
                           RIGHT).tag == tag("sasl:success")
        assert login(server, "127.0.0.1", RIGHT).tag == tag("sasl:success")
    finally:
        s.close()
        aborting.close()
    no_memory_errors(server)


def waiting_behind(server, source):
    """One SCRAM exchange left after its challenge, holding the only
    place of its address, and one waiting behind it on a stream opened
    before (so that auth-timeout ends the waiting one first)."""
    waiter = stream(server, source)
    holder = stream(server, source)
    send_auth(holder, "alice")
    assert is_challenge(holder.read_element())
    send_auth(waiter, "alice")
    return holder, waiter


def test_waiting_connections_cut_by_auth_timeout_or_shutdown(palabred):
    server = palabred(auth_timeout=2, **clear_text(
        {"per-address": 1, "per-account": 0, "period": 60, "delay": 0}))
    holder, waiter = waiting_behind(server, "127.0.0.3")
    try:
        # <c2s><auth-timeout> ends the wait with the connection.
        waiter.expect_stream_error("connection-timeout", timeout=10)
        holder.expect_stream_error("connection-timeout", timeout=10)
    finally:
        holder.close()
        waiter.close()
    assert login(server, "127.0.0.2", RIGHT).tag == tag("sasl:success")
    # palabred stops while some wait.
    streams = waiting_behind(server, "127.0.0.4")
    no_memory_errors(server)
    for s in streams:
        s.close()


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
