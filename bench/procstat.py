"""What a set of processes costs, read from /proc: resident memory and CPU
time, summed over the processes (a server is several: palabred's
supervisor, router, sm, c2s, s2s; jabberd2's router, sm, c2s …)."""
import os

TICK = os.sysconf("SC_CLK_TCK")


def rss_kib(pids):
    """Sum of VmRSS of pids, in KiB (processes gone count 0)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def cpu_s(pids):
    """Sum of user + system CPU seconds of pids, their threads included."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime: fields 14 and 15 of proc(5), 12 and 13 here
        total += int(fields[11]) + int(fields[12])
    return total / TICK


class Meter:
    """CPU and memory of pids between start() and stop()."""

    def __init__(self, pids):
        self.pids = list(pids)

    def start(self):
        self.cpu0 = cpu_s(self.pids)
        self.rss0 = rss_kib(self.pids)
        return self

    def stop(self):
        self.cpu = cpu_s(self.pids) - self.cpu0
        self.rss = rss_kib(self.pids)
        return self


def machine():
    """A short description of this machine, for reports."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            models = [l.split(":", 1)[1].strip() for l in f
                      if l.startswith("model name")]
        info["cpu"] = "%d x %s" % (len(models), models[0] if models else "?")
    except OSError:
        info["cpu"] = "%d cores" % os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        info["memory"] = "%.1f GiB" % (kib / 1024 / 1024)
    except OSError:
        pass
    info["kernel"] = os.uname().release
    import resource
    info["open files per process"] = resource.getrlimit(
        resource.RLIMIT_NOFILE)[0]
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            info["local ports"] = "-".join(f.read().split())
    except OSError:
        pass
    return info
