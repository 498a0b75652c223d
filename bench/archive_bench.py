#!/usr/bin/python3
"""archive_bench: XEP-0313 queries against an archive of a million
messages. The rows are written straight into sm.sqlite (made by palabred
itself, so the schema is the code's) while palabred is stopped: one user
holds ROWS_MAIN of them with CONTACTS contacts over a year, the others
share the rest. Then the user logs in and times queries, each the iq's
round trip (TLS, the sm, the storage thread), cold (first) and warm
(median of REPEAT). bench.py's "archive" scenario; alone:

    bench/archive_bench.py [--rows N]

Nothing here asserts a figure: it prints them (and bench.py reports
them)."""
import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import servers  # noqa: E402

PASSWORD = "bench-Secret-1"
ROWS = 1000000
ROWS_MAIN = 200000
CONTACTS = 20
OTHERS = 99
YEAR_US = 365 * 86400 * 1000000
REPEAT = 20
MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"


def stamp_of(now, k, n):
    """The time of message k of n, spread over the year before now."""
    return now - YEAR_US + YEAR_US * k // max(n, 1)


def fill(db_path, domain, rows):
    """rows messages: ROWS_MAIN for bench0 (with CONTACTS contacts,
    spread over the last year), the rest for bench1 … benchOTHERS."""
    now = int(time.time() * 1000000)
    main = min(ROWS_MAIN, rows)
    db = sqlite3.connect(db_path)
    body = "x" * 80

    jids = {}
    with db:   # the ids of the JIDs that the rows name (schema.c)
        for name in (["bench%d@%s" % (u, domain) for u in range(OTHERS + 1)]
                     + ["contact%d@%s" % (c, domain)
                        for c in range(CONTACTS)]):
            jids[name] = db.execute("INSERT INTO jids (jid) VALUES (?)",
                                    (name,)).lastrowid

    def gen():
        for i in range(rows):
            if i < main:
                user, n, k = "bench0", main, i
            else:
                user = "bench%d" % (1 + i % OTHERS)
                n, k = rows - main, i - main
            contact = "contact%d@%s" % (i % CONTACTS, domain)
            # seq: arrival order; the tag makes the XEP-0359 id with
            # seq (storage/archive_id.h), which the server computes.
            yield (i + 1, jids["%s@%s" % (user, domain)], jids[contact],
                   "phone", stamp_of(now, k, n), random.getrandbits(63),
                   "<message xmlns='jabber:client' from='%s/phone' to='%s@%s'"
                   " type='chat'><body>%d %s</body></message>"
                   % (contact, user, domain, i, body))
    t0 = time.monotonic()
    with db:
        db.executemany("INSERT INTO archive (seq, user, with_bare,"
                       " with_resource, stamp, tag, message)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", gen())
    db.close()
    return time.monotonic() - t0, now


def query(stream, ident, form="", rsm="<max>50</max>"):
    """The iq's round trip in ms, and its result."""
    fields = "".join("<field var='%s'><value>%s</value></field>" % kv
                     for kv in form)
    x = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
         "<value>%s</value></field>%s</x>" % (MAM, fields)) if form else ""
    t0 = time.monotonic()
    el = stream.iq("<iq type='set' id='%s'><query xmlns='%s'>%s<set xmlns="
                   "'%s'>%s</set></query></iq>"
                   % (ident, MAM, x, RSM, rsm), ident)
    return (time.monotonic() - t0) * 1000, el


def xep82(us):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us / 1e6))


def id_at(stream, ident, us):
    """The id of bench0's first message from us on (the server makes
    the ids: storage/archive_id.h)."""
    _, el = query(stream, ident, (("start", xep82(us)),), "<max>1</max>")
    return el.find(".//{%s}first" % RSM).text


def measure(stream, domain, now, main):
    """{query: (cold ms, warm median ms)}; main: bench0's messages."""
    day = 86400 * 1000000
    start, end = xep82(now - 100 * day), xep82(now - 99 * day)
    middle = id_at(stream, "middle", stamp_of(now, main // 2, main))
    third = id_at(stream, "third", stamp_of(now, main // 3, main))
    queries = {
        "last page (empty <before/>), 50": ((), "<max>50</max><before/>"),
        "first page, 50": ((), "<max>50</max>"),
        "with one contact, last page, 50":
            ((("with", "contact7@" + domain),), "<max>50</max><before/>"),
        "one day (start, end) 100 days ago, 50":
            ((("start", start), ("end", end)), "<max>50</max>"),
        "page after an id in the middle, 250":
            ((), "<max>250</max><after>%s</after>" % middle),
        "with one contact, page before an id, 50":
            ((("with", "contact3@" + domain),),
             "<max>50</max><before>%s</before>" % third),
    }
    out = {}
    for n, (name, (form, rsm)) in enumerate(queries.items()):
        times = [query(stream, "q%d-%d" % (n, i), form, rsm)[0]
                 for i in range(REPEAT + 1)]
        out[name] = (times[0], statistics.median(times[1:]))
    return out


def run(work, rows=ROWS):
    """Rows (scenario, figure, value, unit) for bench.py."""
    s = servers.Palabre(os.path.join(work, "server"))
    try:
        s.add_users("bench%d", 0, OTHERS + 1, PASSWORD)
        s.start()   # the sm makes sm.sqlite at its schema
        s.stop()
        db_path = s.path("data", "sm.sqlite")
        seconds, now = fill(db_path, s.domain, rows)
        size = sum(os.path.getsize(db_path + x) for x in ("", "-wal")
                   if os.path.exists(db_path + x))
        s.start()
        r = servers.login(s.address, s.c2s_port, s.domain, "bench0",
                          PASSWORD, ca_file=s.crt,
                          then=lambda st: measure(st, s.domain, now,
                                                  min(rows, ROWS_MAIN)))
    finally:
        s.stop()
    name = "archive of %s messages" % format(rows, ",")
    result = [
        (name, "rows written straight into SQLite per second",
         rows / seconds, "/s"),
        (name, "database size per message", size / rows, "B"),
    ]
    for q, (cold, warm) in r["then"].items():
        result.append((name, "query: %s; first / median of %d" % (q, REPEAT),
                       "%.1f / %.1f" % (cold, warm), "ms"))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=ROWS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="palabre-archive-") as work:
        for row in run(work, args.rows):
            print("%s | %s | %s %s" % row)


if __name__ == "__main__":
    main()
