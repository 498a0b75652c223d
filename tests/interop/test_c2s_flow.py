"""c2s flow control: how fast one client may send (c2s/rate-limit).

- A client that floods at full speed is slowed down, not cut off:
  everything it sent arrives, in order, no faster than the configured
  rate allows, while another user's pings come back as usual (their
  round trips are printed: see the figures with pytest -s).
- A bad <rate-limit/> value stops palabred with file, line and setting.

This module's server: SCRAM in clear (the flooder's socket is written and
read by two threads), a rate limit of RATE stanzas a second in bursts of
BURST, no byte limit.
"""
import re
import select
import statistics
import threading
import time

from test_c2s_robustness import ALICE, BOB, CAROL, login_in_clear
from test_c2s_robustness import flood  # noqa: F401 (a fixture)
from test_config import config_lines, run_palabred
from palabre import free_ports

RATE, BURST = 400, 100
SERVER_OPTIONS = {
    "require_starttls": False,
    "c2s_extra": "    <rate-limit stanzas-per-second='%d' burst='%d'/>\n"
                 % (RATE, BURST)}
# c2s parses what one read brings (64 KiB) before it counts the stanzas:
# the first read of a flood can overdraw the bucket by that much.
C2S_READ_SIZE = 65536


class Inbox:
    """Reads a raw stream's socket in a thread and keeps the ids of the
    messages that come, in order."""

    ID = re.compile(r"""\bid=['"]([^'"]+)['"]""")

    def __init__(self, sock):
        self.sock = sock
        self.ids = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        pending = ""
        while not self.stop.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.2)
            if not readable:
                continue
            data = self.sock.recv(1 << 16)
            if not data:
                return
            *whole, pending = (pending + data.decode()).split("</message>")
            for m in whole:
                found = self.ID.search(m[m.rfind("<message"):])
                self.ids.append(found.group(1) if found else None)

    def close(self):
        self.stop.set()
        self.thread.join(5)


def test_a_flooder_is_slowed_down_and_loses_nothing(server, clients, raw,
                                                    flood):  # noqa: F811
    count, size = 3000, 100
    alice = clients.login(ALICE + "/pc")
    bob = raw()
    bob_jid = login_in_clear(bob, BOB, "inbox")
    inbox = Inbox(bob.sock)
    flooder = raw()
    login_in_clear(flooder, CAROL, "hose")
    try:
        start = time.monotonic()
        flooding = flood(flooder, bob_jid, count, size)
        # alice pings the server all along, as a bystander would.
        round_trips = []
        while len(inbox.ids) < count and time.monotonic() < start + 60:
            t0 = time.monotonic()
            alice.ping_server()
            round_trips.append(time.monotonic() - t0)
            time.sleep(0.02)
        elapsed = time.monotonic() - start
    finally:
        inbox.close()
    print("\n%d messages at %d/s (bursts of %d) arrived in %.2f s; the "
          "bystander's %d pings: median %.1f ms, max %.1f ms" % (
              len(inbox.ids), RATE, BURST, elapsed, len(round_trips),
              statistics.median(round_trips) * 1000,
              max(round_trips) * 1000))
    flooding.wait_sent(timeout=1)
    # Nothing lost, nothing reordered: only slowed down.
    assert inbox.ids == ["f%d" % i for i in range(count)], \
        "%d of %d messages arrived" % (len(inbox.ids), count)
    # Slowed down: after its burst and c2s's first read, the flooder
    # went no faster than RATE (half of it, for the loaded machine).
    one = len(flooding.data) // count
    floor = (count - BURST - C2S_READ_SIZE // one) / RATE
    assert elapsed > floor / 2, \
        "%d messages in %.2f s: faster than %d a second" % (
            count, elapsed, RATE)
    # Not a performance figure: only that the bystander was served.
    assert max(round_trips) < 2.0


def test_bad_rate_limit_names_file_line_and_setting(tmp_path, certs):
    port, = free_ports(1)
    r = run_palabred(tmp_path, certs, config_lines(
        port=port,
        extra_c2s="    <rate-limit stanzas-per-second='50' burst='lots'/>"))
    assert r.returncode != 0
    assert "config.xml:11:" in r.stderr, r.stderr
    assert "c2s/rate-limit/@burst: 'lots' is not a number" in r.stderr, \
        r.stderr
