"""Helpers for the tests in which one user loads the session manager and
the others must not notice (ARCHITECTURE.md §9): raw streams logged in,
a chat whose latency is measured, what the sm process holds.

    b, c = login(server, BOB), login(server, CAROL)
    latencies = chat(b, c, 100, interval=0.05)
    print(summary("B -> C", latencies))
"""
import socket
import ssl
import statistics
import time

from rawstream import RawStream, q, show, tag


def login(server, jid, password, resource="raw", timeout=10.0,
          available=False):
    """A RawStream logged in (STARTTLS, PLAIN, bind) as jid/resource;
    with available=True it also sends initial presence. .jid is the full
    JID."""
    domain = jid.split("@")[1]
    s = RawStream(server.c2s_port, server_name=domain,
                  ca_file=server.ca_file, timeout=timeout)
    s.jid = s.login(jid, password, resource=resource)
    if available:
        s.send("<presence/>")
    return s


def read_raw(stream, timeout=0.001):
    """The bytes the server sent (waiting at most timeout, reading for
    50 ms more at most), not parsed: for a client that gets more than
    Python would parse in time."""
    stream.sock.settimeout(timeout)
    data = b""
    until = time.monotonic() + timeout + 0.05
    try:
        while time.monotonic() < until:
            more = stream.sock.recv(65536)
            if not more:
                stream.closed = True
                break
            data += more
            stream.sock.settimeout(0.001)
    except (socket.timeout, ssl.SSLWantReadError, BlockingIOError):
        pass
    finally:
        # A TLS write retried after a timeout must not see a short one.
        stream.sock.settimeout(stream.timeout)
    return data


def next_message(stream, timeout=10.0):
    """The next <message/> the stream gets (other stanzas skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        el = stream.read_element(max(0.01, deadline - time.monotonic()))
        if el.tag == tag("client:message"):
            return el


def chat(sender, receiver, count, interval, stop=None):
    """sender sends count messages to receiver's full JID, one every
    interval seconds; returns the latency of each (seconds), in order.
    Each must arrive, with its body, within the stream's timeout. stop,
    if given, is set at the end (a threading.Event)."""
    latencies = []
    try:
        for i in range(count):
            body = "ping %d" % i
            sent = time.monotonic()
            sender.send("<message to='%s' id='c%d' type='chat'><body>%s"
                        "</body></message>" % (receiver.jid, i, body))
            got = next_message(receiver)
            assert got.findtext(q("client:body")) == body, show(got)
            latencies.append(time.monotonic() - sent)
            time.sleep(max(0.0, interval - latencies[-1]))
    finally:
        if stop is not None:
            stop.set()
    return latencies


def summary(what, latencies):
    ms = sorted(x * 1000 for x in latencies)
    if not ms:
        return "%s: no message arrived" % what
    return ("%s: %d messages, latency median %.1f ms, p90 %.1f ms, "
            "max %.1f ms" % (what, len(ms), statistics.median(ms),
                             ms[int(len(ms) * 0.9) - 1], ms[-1]))


def rss_kib(pid):
    """The resident memory of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)
