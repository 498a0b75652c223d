#!/usr/bin/python3
"""alternate: two (or more) builds of palabre side by side, one scenario
run on each in turn, round after round, with the figures of every run and
their means. For before/after figures on a machine whose speed drifts:
here, the same build measured minutes apart differs by ±15% in logins per
second, more than most changes; alternating puts each pair of runs under
the same conditions. Nothing here asserts a figure.

    bench/alternate.py [--rounds N] [--scenario login|chat|chat-core]
                       BUILD_DIR...

A BUILD_DIR holds palabred and palabrectl (`make all`); an old revision
builds in a worktree of its own: `git worktree add /tmp/before REV &&
make -C /tmp/before all`, then `bench/alternate.py /tmp/before/build
build`. Every run is on fresh data (bench.py's fresh), with the load of
`make bench`'s scenario (login: 10,000 accounts, 64 at once, STARTTLS,
PLAIN; chat: its saturation run; each build with every sm module it has
on by default, the archive and carbons among them since issue 13;
chat-core: the same chat with bench.py's CORE_MODULES only). --rate offers that many
messages per second (open loop) instead of saturating: the CPU per
message of a thread that saturates (the sm's storage thread, which then
groups more writes per transaction) is what it was given, not what the
work costs; below saturation it is the cost.

Besides rates and CPU per login or per 1,000 messages, each run shows
per process (in the order of Server.pids(): supervisor and router, c2s,
sm) what does not drift with the machine's speed: read and write system
calls and context switches per login or per 1,000 messages, and the
share of the machine left idle."""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
import servers  # noqa: E402


def palabre_of(build):
    """A Palabre server class whose binaries are those of build. A build
    older than c2s/rate-limit (before 2026-12-07) gets its configuration
    without the element, which it would refuse (it has no limit)."""
    build = os.path.abspath(build)
    palabred = os.path.join(build, "palabred")
    with open(palabred, "rb") as f:
        knows_rate_limit = b"rate-limit" in f.read()

    def init(self, *args, **kwargs):
        servers.Palabre.__init__(self, *args, **kwargs)
        if not knows_rate_limit:
            with open(self.config) as f:
                text = f.read().replace("    <rate-limit/>\n", "")
            self.write("config.xml", text)
    return type("PalabreAt", (servers.Palabre,), {
        "palabred": palabred, "__init__": init,
        "palabrectl": os.path.join(build, "palabrectl")})


def proc_counts(pid):
    """CPU ticks, read and write system calls, context switches (every
    thread) of pid."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read().rsplit(")", 1)[1].split()
    with open("/proc/%d/io" % pid) as f:
        io = dict(line.split(": ") for line in f.read().splitlines())
    switches = 0
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, task)) as f:
            switches += sum(int(line.split()[1]) for line in f
                            if "ctxt_switches" in line)
    return (int(stat[11]) + int(stat[12]), int(io["syscr"]),
            int(io["syscw"]), switches)


def machine_idle():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)


def measure(server, setup, work, scenario, rate=0):
    """One run: (units done, rate, p50/p99 text, per-process deltas,
    idle share)."""
    bench.fresh(server)
    pids = server.pids()
    before = [proc_counts(p) for p in pids]
    idle0 = machine_idle()
    if scenario == "login":
        r = bench.run_load(server, "login", os.path.join(work, "r.json"),
                           sessions=max(setup.idle_sizes),
                           duration=setup.duration, concurrency=64,
                           tls="starttls", mech="PLAIN")
        done = r.get("logins", 0)
        rate, lat = r.get("logins_per_s", 0), r.get("login_ms", {})
    else:
        r = bench.run_load(server, "chat", os.path.join(work, "r.json"),
                           sessions=setup.chat_sessions,
                           duration=setup.duration, window=8,
                           tls="starttls", mech="PLAIN", msg_rate=rate)
        m = r.get("messages", {})
        done = m.get("received", 0)  # the logins' CPU is in the total
        rate, lat = m.get("per_s", 0), r.get("latency_ms", {})
    after = [proc_counts(p) for p in pids]
    idle1 = machine_idle()
    per = 1 if scenario == "login" else 1000  # per login, per 1,000 messages
    deltas = [[per * (b - a) / max(done, 1) for a, b in zip(x, y)]
              for x, y in zip(before, after)]
    idle = (idle1[0] - idle0[0]) / max(idle1[1] - idle0[1], 1)
    return rate, "%s/%s" % (lat.get("p50"), lat.get("p99")), deltas, idle


def show(label, rate, lat, deltas, idle, unit):
    cpu = " ".join("%.3f" % (d[0] * 10) for d in deltas)
    calls = "  ".join("%.1f/%.1f/%.1f" % tuple(d[1:]) for d in deltas)
    print("%-24s %8.0f %s  CPU ms per %s: %s  total %.3f  r/w/cs: %s  "
          "idle %.0f%%  p50/p99 %s" % (
              label, rate, "/s", unit, cpu, sum(d[0] * 10 for d in deltas),
              calls, 100 * idle, lat), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs="+")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--scenario", choices=("login", "chat", "chat-core"),
                    default="login")
    ap.add_argument("--rate", type=int, default=0,
                    help="chat: messages offered per second (0: as many "
                    "as the server takes)")
    args = ap.parse_args()
    setup = bench.Setup(False, scenarios=(args.scenario,))
    modules = bench.CORE_MODULES if args.scenario == "chat-core" else None
    work = tempfile.mkdtemp(prefix="palabre-alternate-")
    unit = "login" if args.scenario == "login" else "1,000 messages"
    runs = []
    try:
        for i, build in enumerate(args.builds):
            s = palabre_of(build)(os.path.join(work, "s%d" % i),
                                  iterations=bench.ITERATIONS,
                                  processes=setup.c2s_processes,
                                  modules=modules)
            s.add_users(bench.USERS, 0, setup.accounts, bench.PASSWORD)
            s.snapshot()
            runs.append((build, s, []))
        for _ in range(args.rounds):
            for build, s, results in runs:
                results.append(measure(s, setup, work, args.scenario,
                                       args.rate))
                show(build, *results[-1], unit)
    finally:
        for _, s, _ in runs:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("means over %d rounds:" % args.rounds)
    for build, _, results in runs:
        rate = statistics.mean(r[0] for r in results)
        n = len(results[0][2])
        deltas = [[statistics.mean(r[2][p][k] for r in results)
                   for k in range(4)] for p in range(n)]
        idle = statistics.mean(r[3] for r in results)
        show(build, rate, "-", deltas, idle, unit)


if __name__ == "__main__":
    main()
