#!/usr/bin/python3
"""bench: palabre's standard scenarios, alone (make bench) or side by side
with Prosody, ejabberd and jabberd2 (bench/compare), all driven by the
same load generator (build/xmppload) with the same accounts and TLS
settings. Writes a markdown report under bench/results/.

    bench/bench.py [--servers palabre,prosody,…] [--sessions N,M…]
                   [--scenarios idle,login,…] [--quick]

Each figure comes from /proc (the server's processes: resident memory,
CPU time) and from xmppload's JSON report (rates, latencies, failures).
Every measured run starts on a fresh server: stopped, its data put back
as it was once the accounts were made (before the first run, in no
figure), started again. The report states, beside the figures, how the
servers still differ (bench/servers.py: each one's differences()).
Nothing here asserts a figure: the report states them.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import archive_bench  # noqa: E402
import procstat  # noqa: E402
import servers  # noqa: E402

XMPPLOAD = os.path.join(ROOT, "build", "xmppload")
PASSWORD = "bench-Secret-1"
USERS = "bench%d"
# RFC 7677's minimum, and ejabberd's default: every server's accounts get
# the same SCRAM iteration count, so that a login costs the same PBKDF2.
ITERATIONS = 4096
# Source addresses of the load generator: 200,000 connections need more
# than one address's port range.
SOURCES = "127.0.0.2-127.0.0.250"
LOAD_PROCESSES = 2
# A process holds at most 20,000 files here: past this many sessions,
# palabre gets one more c2s process and xmppload one more worker.
SESSIONS_PER_PROCESS = 18000
# Idle sessions held by default, each size a run of its own.
IDLE_SIZES = (3000, 10000)
IDLE_SIZES_QUICK = (300, 1000)
# Open-loop chat rates measured besides saturation and half of it.
CHAT_RATES = (1000, 5000, 10000, 20000, 30000)
SCENARIOS = ("idle", "login", "login+resume", "chat", "presence", "muc",
             "ldap", "chat+archive", "archive")
# muc: one room, its occupants all sessions of the run (the first one its
# owner), MUC_SENDERS of them sending, MUC_WINDOW messages in flight per
# sender at saturation.
MUC_SENDERS = 10
MUC_WINDOW = 4
# palabre runs every scenario with every sm module the build has on by
# default (as config.xml.dist); the chat+archive scenario runs the chat
# again without these, which archive both sides of every message
# (XEP-0313) and copy it to the other resources (XEP-0280): what they
# cost beside plain chat.
ARCHIVE_MODULES = ("mam", "carbons")
# The core modules of issue 11's figures: plain chat.
CORE_MODULES = ("roster", "presence", "offline", "blocking", "disco", "ping")
# Settings that make the servers comparable (each is stated in the
# report): the same SCRAM iteration count, and no Nagle delay on the
# stream restarts of a login (Prosody's default has it; jabberd2 has no
# setting for it).
SERVER_OPTIONS = {
    "palabre": {"iterations": ITERATIONS},
    "prosody": {"iterations": ITERATIONS, "nagle": False},
    "ejabberd": {"iterations": ITERATIONS},
}


def idle_sweep_seconds():
    """palabre's c2s sweep period (C2S_IDLE_SWEEP_MS in server/c2s/c2s.h):
    a session quiet for a whole period gives back its XML parser at the
    sweep (its OpenSSL state went at bind), and the first sweep after a burst of
    logins trims the heap (server/c2s/conn.c, c2s.c)."""
    with open(os.path.join(ROOT, "server", "c2s", "c2s.h")) as f:
        m = re.search(r"#define C2S_IDLE_SWEEP_MS (\d+)", f.read())
    if not m:
        raise RuntimeError("C2S_IDLE_SWEEP_MS not found in c2s.h")
    return int(m.group(1)) / 1000


def settle_seconds():
    """How long after the last login of an idle run the memory is read
    again, settled: two sweep periods (the sweep after a session's last
    read clears its activity, the next finds it quiet), 2 s of margin.
    Every server gets the same delay (their garbage collectors run
    meanwhile too)."""
    return int(2 * idle_sweep_seconds() + 2)


def processes_for(sessions):
    """Processes (palabre's c2s, xmppload's workers) for sessions held."""
    return -(-sessions // SESSIONS_PER_PROCESS)


class Setup:
    """The figures of one run depend on these; the report states them."""

    def __init__(self, quick, sizes=None, scenarios=SCENARIOS):
        self.idle_sizes = tuple(sizes or (IDLE_SIZES_QUICK if quick
                                          else IDLE_SIZES))
        self.scenarios = scenarios
        self.quick = quick
        self.c2s_processes = processes_for(max(self.idle_sizes))
        self.chat_sessions = 200 if quick else 1000
        self.presence_users = 200 if quick else 1000
        self.muc_occupants = 200 if quick else 1000
        self.contacts = 10
        self.duration = 5 if quick else 15
        # The idle hold ends 3 s after the settled reading.
        self.settle = 3 if quick else settle_seconds()
        self.hold = self.settle + 3
        self.accounts = max(max(self.idle_sizes), self.chat_sessions,
                            self.presence_users, self.muc_occupants) + 100
        if scenarios == ("idle",):
            self.accounts = max(self.idle_sizes)
        elif scenarios == ("muc",):
            self.accounts = self.muc_occupants
        self.ldap_users = 1000 if quick else 3000


def run_load(server, scenario, report, *, sessions, first=0, on_hold=None,
             on_lines=None, domain=None, processes=LOAD_PROCESSES,
             **options):
    """Runs xmppload against server; returns its JSON report. on_hold is
    called when every session is in (xmppload's HOLDING or RUNNING line),
    what it returns is the report's "held"; on_lines maps the other lines
    of xmppload's barriers (muc: JOINING, JOINED) to what to call then."""
    argv = [XMPPLOAD, "--connect", "%s:%d" % (server.address,
                                              server.c2s_port),
            "--domain", domain or server.domain, "--users", USERS,
            "--password", PASSWORD, "--sessions", str(sessions),
            "--first", str(first), "--processes", str(processes),
            "--sources", SOURCES, "--scenario", scenario,
            "--report", report]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is not None and value is not False:
            argv += [flag, str(value)]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    held = None
    calls = dict(on_lines or {})
    for line in proc.stderr:
        word = line.split(" ", 1)[0]
        # HOLDING (idle) or RUNNING (chat …): every session is in.
        if word in ("HOLDING", "RUNNING"):
            if on_hold and held is None:
                held = on_hold() or True
        elif word in ("JOINING", "JOINED"):
            calls.get(word, lambda: None)()
        else:
            sys.stderr.write("  xmppload: " + line)
    if proc.wait() != 0:
        raise RuntimeError("xmppload %s exited with %d" % (scenario,
                                                           proc.returncode))
    with open(report) as f:
        result = json.load(f)
    result["held"] = held
    return result


def failures(result):
    f = result.get("failures") or {}
    return sum(f.values()) if isinstance(f, dict) else 0


def fresh(server):
    """Where every measured run starts: the server stopped, its data put
    back as it was once the accounts were made, started again. Returns
    its memory then (KiB, all processes)."""
    server.stop()
    server.restore()
    server.start()
    return procstat.rss_kib(server.pids())


def scenario_idle(server, setup, work, sessions):
    """sessions opened and held: the server's memory per session at the
    end of the burst (the moment the last login is done) and settled,
    setup.settle seconds later; its CPU per login while opening them."""
    name = "idle %s" % format(sessions, ",")
    base = fresh(server)
    pids = server.pids()
    meter = procstat.Meter(pids).start()

    def hold():
        burst = procstat.rss_kib(server.pids())
        cpu = procstat.cpu_s(pids) - meter.cpu0
        time.sleep(setup.settle)
        return {"burst": burst, "settled": procstat.rss_kib(server.pids()),
                "cpu": cpu}
    r = run_load(server, "idle", os.path.join(work, "idle%d.json" % sessions),
                 sessions=sessions, hold=setup.hold, concurrency=200,
                 tls="starttls", mech="PLAIN",
                 processes=max(LOAD_PROCESSES, processes_for(sessions)),
                 on_hold=hold)
    held = r["held"] if isinstance(r["held"], dict) else \
        {"burst": base, "settled": base, "cpu": 0}
    ok = max(r.get("sessions_ok", 0), 1)
    return [
        (name, "server memory before the first login", base / 1024, "MiB"),
        (name, "sessions held", r.get("sessions_ok", 0), ""),
        (name, "failures", failures(r), ""),
        (name, "server memory per session, end of the burst",
         (held["burst"] - base) / ok, "KiB"),
        (name, "server memory per session, settled (%d s after the last "
         "login)" % setup.settle, (held["settled"] - base) / ok, "KiB"),
        (name, "server CPU per login (ramp)", 1000 * held["cpu"] / ok,
         "ms"),
        (name, "time to open them all", r.get("open_s", 0), "s"),
        (name, "load generator memory per session",
         r.get("bytes_per_session", 0) / 1024, "KiB"),
    ]


def scenario_login(server, setup, work, resume):
    name = "login" + (" (TLS resumption)" if resume else "")
    fresh(server)
    meter = procstat.Meter(server.pids()).start()
    r = run_load(server, "login", os.path.join(work, "login%d.json" % resume),
                 sessions=max(setup.idle_sizes), duration=setup.duration,
                 concurrency=64, tls="starttls", mech="PLAIN",
                 resume=resume)
    meter.stop()
    logins = r.get("logins_per_s", 0) * r.get("elapsed_s", 0)
    ms = r.get("login_ms", {})
    return [
        (name, "logins per second", r.get("logins_per_s", 0), "/s"),
        (name, "server CPU per login", 1000 * meter.cpu / max(logins, 1),
         "ms"),
        (name, "login time p50 / p99", "%s / %s" % (ms.get("p50"),
                                                    ms.get("p99")), "ms"),
        (name, "failures", failures(r), ""),
    ]


def scenario_chat(server, setup, work, rate, name):
    # The server's CPU over the measured window only: from the moment
    # every session is in (RUNNING) for --duration seconds; neither the
    # logins, nor the drain and the logouts after it.
    fresh(server)
    meter = procstat.Meter(server.pids())
    window = threading.Timer(setup.duration, meter.stop)

    def running():
        meter.start()
        window.start()
    r = run_load(server, "chat", os.path.join(work, "chat%d.json" % rate),
                 sessions=setup.chat_sessions, duration=setup.duration,
                 msg_rate=rate, window=8, tls="starttls", mech="PLAIN",
                 on_hold=running)
    if r["held"]:   # RUNNING came
        window.join()
    m = r.get("messages", {})
    lat = r.get("latency_ms", {})
    in_window = m.get("per_s", 0) * setup.duration
    return r, [
        (name, "messages delivered per second", m.get("per_s", 0), "/s"),
        (name, "messages offered per second (0: closed loop)", rate, ""),
        (name, "server CPU per 1000 messages",
         1000 * 1000 * getattr(meter, "cpu", 0) / max(in_window, 1), "ms"),
        (name, "latency p50 / p90 / p99 / max", "%s / %s / %s / %s" % (
            lat.get("p50"), lat.get("p90"), lat.get("p99"), lat.get("max")),
         "ms"),
        (name, "lost", m.get("lost", 0), ""),
        (name, "failures", failures(r), ""),
    ]


def scenario_chat_archive(setup, work):
    """Chat at saturation with the core modules only (CORE_MODULES), on
    a server of its own: plain chat, beside the "chat" scenario's, which
    has every module on, the archive and carbons among them."""
    s = servers.Palabre(os.path.join(work, "server"),
                        processes=setup.c2s_processes, modules=CORE_MODULES,
                        **SERVER_OPTIONS["palabre"])
    try:
        s.add_users(USERS, 0, setup.chat_sessions, PASSWORD)
        s.snapshot()
        name = "chat with the core modules only at saturation"
        r, rows = scenario_chat(s, setup, work, 0, name)
        return rows
    finally:
        s.stop()


def scenario_presence(server, setup, work):
    first = setup.accounts - setup.presence_users
    fresh(server)
    run_load(server, "roster-setup", os.path.join(work, "roster.json"),
             sessions=setup.presence_users, first=first,
             contacts=setup.contacts, tls="starttls", mech="PLAIN")
    meter = procstat.Meter(server.pids()).start()
    # A twentieth of the users cycle (out and in again) at once; the
    # others are online and receive the broadcasts.
    r = run_load(server, "presence", os.path.join(work, "presence.json"),
                 sessions=setup.presence_users, first=first,
                 contacts=setup.contacts, duration=setup.duration,
                 concurrency=max(1, setup.presence_users // 20 //
                                 LOAD_PROCESSES),
                 tls="starttls", mech="PLAIN")
    meter.stop()
    p = r.get("presences", {})
    return [
        ("presence", "presence stanzas delivered per second",
         p.get("per_s", 0), "/s"),
        ("presence", "server CPU per 1000 presences",
         1000 * 1000 * meter.cpu / max(p.get("received", 0), 1), "ms"),
        ("presence", "failures", failures(r), ""),
    ]


def scenario_muc(server, setup, work, rate, name):
    """muc_occupants sessions in one room (XEP-0045), MUC_SENDERS of them
    sending groupchat messages at rate (0: saturation, a closed loop of
    MUC_WINDOW messages in flight per sender) for setup.duration s.
    Returns the xmppload report and the rows. At saturation only, the
    server's memory per occupant: its RSS with the occupants in minus its
    RSS before they entered (the owner in, the room made), each read
    setup.settle s after the logins and after the joins (xmppload holds
    --hold s at each), over the occupants who entered then."""
    fresh(server)
    meter = procstat.Meter(server.pids())
    window = threading.Timer(setup.duration, meter.stop)
    rss = {}

    def settled(key):
        if rate == 0:
            time.sleep(setup.settle)
            rss[key] = procstat.rss_kib(server.pids())

    def running():
        meter.start()
        window.start()
    r = run_load(server, "muc", os.path.join(work, "muc%d.json" % rate),
                 sessions=setup.muc_occupants, duration=setup.duration,
                 msg_rate=rate, window=MUC_WINDOW, senders=MUC_SENDERS,
                 rooms=1, muc_service=server.muc_service,
                 hold=setup.settle + 2 if rate == 0 else 2,
                 # logouts from a room of 1,000 broadcast 1,000 presences
                 # each: fewer at once, so that none waits --timeout
                 concurrency=20, tls="starttls", mech="PLAIN",
                 on_hold=running,
                 on_lines={"JOINING": lambda: settled("before"),
                           "JOINED": lambda: settled("joined")})
    if r["held"]:   # RUNNING came
        window.join()
    m, muc = r.get("messages", {}), r.get("muc", {})
    lat = r.get("latency_ms", {})
    in_window = m.get("per_s", 0) * setup.duration
    rows = [
        (name, "deliveries per second (a message to each occupant)",
         m.get("per_s", 0), "/s"),
        (name, "messages offered per second (0: %d in flight per "
         "sender)" % MUC_WINDOW, rate, ""),
        (name, "messages sent per second",
         m.get("sent", 0) / setup.duration, "/s"),
        (name, "server CPU per delivery",
         1e6 * getattr(meter, "cpu", 0) / max(in_window, 1), "µs"),
        (name, "latency p50 / p90 / p99 / max", "%s / %s / %s / %s" % (
            lat.get("p50"), lat.get("p90"), lat.get("p99"), lat.get("max")),
         "ms"),
        (name, "deliveries expected / lost", "%s / %s" % (
            m.get("expected", 0), m.get("lost", 0)), ""),
        (name, "occupants in / joins refused", "%s / %s" % (
            muc.get("occupants"), muc.get("refused")), ""),
        (name, "time for them to join", muc.get("join_s", 0), "s"),
        (name, "failures", failures(r), ""),
    ]
    joined = muc.get("occupants", 0) - muc.get("owners", 0)
    if "joined" in rss and joined > 0:
        rows.append((name, "server memory per occupant (%d s after the "
                     "joins)" % setup.settle,
                     (rss["joined"] - rss["before"]) / joined, "KiB"))
    return r, rows


def muc_rates(server, setup, work):
    """At saturation, then in an open loop at half of the messages it
    sent per second (each run on a fresh server, joins included)."""
    label = "muc, %s occupants" % format(setup.muc_occupants, ",")
    if server.muc_service is None:
        return [(label, "not run", "no room service (see the "
                 "differences)", "")]
    saturation, rows = scenario_muc(server, setup, work, 0,
                                    label + ", at saturation")
    half = saturation.get("messages", {}).get("sent", 0) / \
        setup.duration / 2
    if half >= 1:
        rows += scenario_muc(server, setup, work, round(half, 1),
                             label + ", at half of it")[1]
    return rows


def scenario_ldap(setup, work):
    """palabre only: logins against a real slapd, then the latency of
    logged-in users with the directory up, and stopped."""
    import ldap_bench
    data = ldap_bench.BenchDirectory(os.path.join(work, "ldap-data"),
                                     setup.ldap_users, USERS, PASSWORD)
    directory = ldap_bench.slapd.Slapd(os.path.join(work, "slapd"), data)
    directory.start()
    p = servers.Palabre(os.path.join(work, "palabre-ldap"),
                        **SERVER_OPTIONS["palabre"])
    rows = []
    try:
        ldap_bench.add_ldap_domain(p, data, directory)
        p.start()
        meter = procstat.Meter(p.pids()).start()
        r = run_load(p, "login", os.path.join(work, "ldap-login.json"),
                     sessions=setup.ldap_users, duration=setup.duration,
                     concurrency=32, tls="starttls", mech="PLAIN",
                     domain=ldap_bench.DOMAIN)
        meter.stop()
        logins = r.get("logins_per_s", 0) * r.get("elapsed_s", 0)
        rows += [("ldap", "logins per second (bind as the user)",
                  r.get("logins_per_s", 0), "/s"),
                 ("ldap", "palabred CPU per login",
                  1000 * meter.cpu / max(logins, 1), "ms"),
                 ("ldap", "login failures", failures(r), "")]
        # The same chat, by users who logged in while the directory
        # answered: once with it up, once stopped (SIGSTOP) as soon as
        # every session is in (xmppload's RUNNING line).
        for state, first, on_running in (("up", 0, None),
                                         ("stopped", 200, directory.pause)):
            r = run_load(p, "chat", os.path.join(work, "ldap-chat-%s.json"
                                                 % state),
                         sessions=200, first=first, duration=setup.duration,
                         msg_rate=1000, tls="starttls", mech="PLAIN",
                         domain=ldap_bench.DOMAIN, on_hold=on_running)
            lat = r.get("latency_ms", {})
            rows.append(("ldap", "chat latency p50 / p99 / max, directory "
                         + state, "%s / %s / %s" % (
                             lat.get("p50"), lat.get("p99"), lat.get("max")),
                         "ms"))
        directory.resume()
    finally:
        p.stop()
        directory.stop()
    return rows


def guarded(label, run):
    """A scenario's rows, or a row saying why it did not complete."""
    try:
        return run()
    except Exception as e:
        return [(label, "did not complete", str(e)[:200], "")]


class Result:
    """One server's figures: rows (scenario, figure, value, unit), how it
    differs from the others, and the wall time of each step."""

    def __init__(self, name):
        self.name = name
        self.title = name
        self.rows = []
        self.differences = {}
        self.durations = []

    def timed(self, label, run):
        print("%s: %s…" % (self.name, label), flush=True)
        t0 = time.monotonic()
        self.rows += guarded(label, run)
        self.durations.append((label, time.monotonic() - t0))


def server_steps(s, setup, work):
    """(label, run) of every scenario selected, in order."""
    steps = [("idle %s" % format(n, ","),
              lambda n=n: scenario_idle(s, setup, work, n))
             for n in setup.idle_sizes]
    steps += [
        ("login", lambda: scenario_login(s, setup, work, False)),
        ("login+resume", lambda: scenario_login(s, setup, work, True)),
        ("chat", lambda: chat_rates(s, setup, work)),
        ("presence", lambda: scenario_presence(s, setup, work)),
        ("muc", lambda: muc_rates(s, setup, work))]
    return [(label, run) for label, run in steps
            if label.split()[0] in setup.scenarios]


def bench_server(name, setup, work, result):
    """Every scenario against one server, each on fresh data: the
    accounts are made once, kept (snapshot), and put back before each
    measured run (fresh)."""
    os.makedirs(work, exist_ok=True)
    options = dict(SERVER_OPTIONS.get(name, {}))
    if name == "palabre":
        options["processes"] = setup.c2s_processes
    s = servers.SERVERS[name](os.path.join(work, "server"), **options)
    result.title = "%s (%s)" % (name, s.version)
    result.differences = s.differences()
    try:
        print("%s: %d accounts…" % (name, setup.accounts), flush=True)
        t0 = time.monotonic()
        s.add_users(USERS, 0, setup.accounts, PASSWORD)
        s.snapshot()
        result.durations.append(("accounts", time.monotonic() - t0))
        for label, run in server_steps(s, setup, work):
            result.timed(label, run)
    finally:
        s.stop()


def chat_rates(server, setup, work):
    """At saturation, at half of it, and at the fixed rates below half:
    how latency grows with the load (each run on a fresh server)."""
    saturation, rows = scenario_chat(server, setup, work, 0,
                                     "chat at saturation")
    half = int(saturation.get("messages", {}).get("per_s", 0) / 2)
    if half > 0:
        rows += scenario_chat(server, setup, work, half,
                              "chat at half of it")[1]
    for rate in CHAT_RATES:
        if rate < half:
            rows += scenario_chat(server, setup, work, rate,
                                  "chat at %d/s" % rate)[1]
    return rows


def fmt(value):
    if isinstance(value, float):
        return "%.1f" % value if value >= 10 else "%.2f" % value
    return str(value)


def ratio(value, reference, unit):
    """How many times better the reference (palabre's figure) is: rates
    are better high, costs (time, memory) better low."""
    if not isinstance(value, (int, float)) or \
            not isinstance(reference, (int, float)) or not value or \
            not reference or unit not in ("/s", "ms", "µs", "KiB", "MiB",
                                          "s"):
        return ""
    r = reference / value if unit == "/s" else value / reference
    return " (palabre ×%.2g)" % r


def cell(value, unit, reference):
    if value is None:
        return "—"
    text = fmt(value) + (" " + unit if unit else "")
    return text + (ratio(value, reference, unit) if reference is not None
                   else "")


def setup_lines(setup):
    """The report's Setup section: what the figures depend on."""
    sizes = " and ".join(format(n, ",") for n in setup.idle_sizes)
    why = ("palabre's c2s sweeps its connections every %d s; a session "
           "gives back its OpenSSL state once bound and its XML parser "
           "at the first sweep that finds it quiet for a whole period, and the heap is "
           "trimmed at the first sweep after the burst, so every session "
           "has been swept two periods after the last login; 2 s of "
           "margin" % idle_sweep_seconds()) if setup.settle == \
        settle_seconds() else "a smoke run: before palabre's idle sweeps"
    return [
        "- load generator: build/xmppload, %d processes (idle: one more "
        "per %s sessions past %s), source addresses %s, STARTTLS + SASL "
        "PLAIN, bind, roster, presence"
        % (LOAD_PROCESSES, format(SESSIONS_PER_PROCESS, ","),
           format(LOAD_PROCESSES * SESSIONS_PER_PROCESS, ","), SOURCES),
        "- palabre: %d c2s processes" % setup.c2s_processes,
        "- palabre: every sm module on (the build's defaults, as "
        "config.xml.dist), the archive (mam) and carbons among them; "
        "chat+archive: the chat at saturation again on a server with the "
        "core modules only (%s), without %s; archive: "
        "%s messages written into sm.sqlite (%s of one user, with %d "
        "contacts over a year), then XEP-0313 queries of that user, each "
        "the iq's round trip" % (" ".join(CORE_MODULES),
                                 " and ".join(ARCHIVE_MODULES),
                                 format(20000 if setup.quick
                                        else archive_bench.ROWS, ","),
                                 format(archive_bench.ROWS_MAIN, ","),
                                 archive_bench.CONTACTS),
        "- accounts: %d, made once per server before its first scenario, "
        "and a copy of its data kept; every measured run (each idle "
        "size, each login run, each chat rate, presence, each muc run) "
        "starts on a fresh server: stopped, its data replaced by that "
        "copy, started again. Making the accounts is in no figure"
        % setup.accounts,
        "- SCRAM iteration count %d on every server that hashes (jabberd2 "
        "stores clear-text passwords, Debian's default); Prosody without "
        "Nagle (jabberd2 has no setting): the rest that differs is in the "
        "table below the figures" % ITERATIONS,
        "- idle: %s sessions, each size a run of its own, held %d s. "
        "Memory per session: (RSS − RSS before the first login) / "
        "sessions held, summed over the server's processes (the kernel's "
        "socket buffers are not counted, for any server), at the end of "
        "the burst (the moment xmppload has every session open) and "
        "settled, %d s later (%s; every server gets the same delay)"
        % (sizes, setup.hold, setup.settle, why),
        "- chat: %d sessions in pairs, %d s; presence: %d users with %d "
        "contacts, %d s" % (setup.chat_sessions, setup.duration,
                            setup.presence_users, setup.contacts,
                            setup.duration),
        "- muc: %s sessions enter one room (the first creates it and "
        "accepts the instant-room configuration), %d of them send "
        "groupchat messages for %d s, each delivered to every occupant, "
        "the sender too: at saturation (%d in flight per sender), then "
        "at half the messages per second it reached; CPU per delivery "
        "over the window only; memory per occupant: RSS %d s after the "
        "joins minus RSS %d s after the logins, over the occupants who "
        "entered; jabberd2 has no room service"
        % (format(setup.muc_occupants, ","), MUC_SENDERS, setup.duration,
           MUC_WINDOW, setup.settle, setup.settle),
    ]


def figure_lines(results):
    """The figures, one column per server, palabre's first (the ratios
    are against it)."""
    lines = ["| scenario | figure | " + " | ".join(
        r.title for r in results) + " |",
        "|---|---|" + "---|" * len(results)]
    keys = []
    for r in results:
        for sc, fig, _, unit in r.rows:
            if (sc, fig, unit) not in keys:
                keys.append((sc, fig, unit))
    for sc, fig, unit in keys:
        values = [next((val for s_, f_, val, _ in r.rows if (s_, f_) ==
                        (sc, fig)), None) for r in results]
        cells = [cell(v, unit, values[0] if i else None)
                 for i, v in enumerate(values)]
        lines.append("| %s | %s | %s |" % (sc, fig, " | ".join(cells)))
    return lines


def difference_lines(results):
    """How the servers differ as set up here, aspect by aspect."""
    lines = ["| | " + " | ".join(r.name for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for key, title in servers.DIFFERENCES:
        lines.append("| %s | %s |" % (title, " | ".join(
            r.differences.get(key, "—") for r in results)))
    return lines


def duration_lines(results, elapsed):
    """The wall time of each step, to keep make bench within its
    budget."""
    labels = []
    for r in results:
        labels += [label for label, _ in r.durations if label not in labels]
    lines = ["| step | " + " | ".join(r.name for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for label in labels:
        lines.append("| %s | %s |" % (label, " | ".join(
            next(("%.0f s" % t for l_, t in r.durations if l_ == label),
                 "—") for r in results)))
    lines += ["", "Whole run: %.0f s." % elapsed]
    return lines


def report(results, setup, path, elapsed):
    lines = ["# palabre bench — %s" % datetime.datetime.now().strftime(
        "%Y-%m-%d %H:%M"), "", "## Machine", ""]
    for k, v in procstat.machine().items():
        lines.append("- %s: %s" % (k, v))
    lines += ["", "## Setup", ""] + setup_lines(setup)
    lines += ["", "## Figures", ""] + figure_lines(results)
    lines += ["", "## How the servers differ, as set up here (read the "
              "figures with it)", ""] + difference_lines(results)
    lines += ["", "## Time taken", ""] + duration_lines(results, elapsed)
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    print("report: %s" % path)


def sizes(text):
    """--sessions: idle sizes, comma-separated."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("numbers, comma-separated: %r"
                                         % text)
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("at least one session: %r" % text)
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="palabre")
    ap.add_argument("--sessions", type=sizes, default=None,
                    help="idle sessions, each size a run of its own "
                    "(default %s; --quick: %s)" % (
                        ",".join(map(str, IDLE_SIZES)),
                        ",".join(map(str, IDLE_SIZES_QUICK))))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="which to run (default: all of %s)"
                    % ",".join(SCENARIOS))
    args = ap.parse_args()
    scenarios = tuple(args.scenarios.split(","))
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        ap.error("unknown scenario: %s" % ",".join(sorted(unknown)))
    if not os.access(XMPPLOAD, os.X_OK):
        sys.exit("%s is missing: make bench-tools" % XMPPLOAD)
    t0 = time.monotonic()
    setup = Setup(args.quick, args.sessions, scenarios)
    results = []
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = tempfile.mkdtemp(prefix="palabre-bench-")
    for name in args.servers.split(","):
        result = Result(name)
        results.append(result)
        ok, why = servers.available(name)
        if not ok:
            result.rows.append(("server", "could not be started", why, ""))
            continue
        try:
            bench_server(name, setup, os.path.join(work, name), result)
            if name == "palabre" and "ldap" in setup.scenarios:
                result.timed("ldap", lambda: scenario_ldap(
                    setup, os.path.join(work, "ldap")))
            if name == "palabre" and "chat+archive" in setup.scenarios:
                result.timed("chat+archive", lambda: scenario_chat_archive(
                    setup, os.path.join(work, "chat-archive")))
            if name == "palabre" and "archive" in setup.scenarios:
                result.timed("archive", lambda: archive_bench.run(
                    os.path.join(work, "archive"),
                    rows=20000 if setup.quick else archive_bench.ROWS))
        except Exception as e:
            result.rows.append(("server", "could not be started",
                                str(e)[:300], ""))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    report(results, setup, os.path.join(HERE, "results",
                                        "bench-%s.md" % stamp),
           time.monotonic() - t0)


if __name__ == "__main__":
    main()
