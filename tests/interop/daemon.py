"""What the fixtures that run real daemons share (palabre.py, prosody.py,
slapd.py, dnsmasq.py): free ports, reading logs, waiting for a started
process to listen, stopping a process by its pid, and Daemon, the process
side of their objects.

    class Prosody(Daemon):
        program = "prosody"              # in failure messages
        start_timeout, stop_timeout = 20.0, 10.0

        def start(self):
            self.launch([PROSODY, "-F", …], "DIR/prosody.out", cwd=DIR)
            with self.stopped_on_failure():
                deadline = self.wait_for_ports(self.c2s_port, self.s2s_port)
                …
            return self

    p.pid, p.running(); p.stop()         # SIGTERM, wait, SIGKILL
    with Prosody(…) as p: …              # start() … stop()

Nothing here finds a process by its name: only the Popen the fixture
started (or a pid it read from /proc) is ever signalled.
"""
import contextlib
import socket
import subprocess
import time


def free_ports(count, address="127.0.0.1"):
    """Ports free on address right now (the kernel picks them)."""
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((address, 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def read(path):
    """The text of a file, or a note saying why it cannot be read (for
    failure reports: never raises)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for_port(address, port, proc, deadline, what, log_text, *,
                  within):
    """Waits until address:port accepts a TCP connection.

    Fails at once when proc (the daemon's Popen) exits, and at deadline (a
    time.monotonic() value) otherwise; what names the daemon in the
    message ("palabred"), within is the start timeout it reports, and
    log_text() gives the daemon's log to append to it."""
    while True:
        if proc.poll() is not None:
            raise AssertionError(
                "%s exited with %d before listening on %s:%d\n%s"
                % (what, proc.returncode, address, port, log_text()))
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                "%s did not accept connections on %s:%d within %.0f s\n%s"
                % (what, address, port, within, log_text()))
        time.sleep(0.05)


def stop_process(proc, timeout):
    """Stops proc (a Popen) by its pid unless it has exited already:
    SIGTERM, up to timeout seconds for it to exit, then SIGKILL; reaps
    it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


class Daemon:
    """The process side of a fixture's daemon object (Palabre, Prosody,
    Slapd, Dnsmasq). `proc` is the Popen of the process it started (None
    before start()), `_out` the file that gets its stdout and stderr.

    A subclass sets program, start_timeout and stop_timeout, and gives
    start() and log_text(); failure_log() is what a failure message shows
    (log_text() unless overridden); wait_for_port() needs self.address."""

    program = "daemon"
    start_timeout = 15.0
    stop_timeout = 10.0
    proc = None
    _out = None

    def launch(self, argv, output, cwd=None):
        """Starts argv as self.proc: stdin /dev/null, stdout and stderr
        appended to the file output."""
        self._out = open(output, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._out,
                                     stderr=subprocess.STDOUT, cwd=cwd)
        return self.proc

    @contextlib.contextmanager
    def stopped_on_failure(self):
        """Stops the process when the block (waiting for it to be ready)
        fails."""
        try:
            yield
        except BaseException:
            self.stop()
            raise

    def failure_log(self):
        return self.log_text()

    def wait_for_port(self, port, deadline):
        wait_for_port(self.address, port, self.proc, deadline,
                      self.program, self.failure_log,
                      within=self.start_timeout)

    def wait_for_ports(self, *ports):
        """Waits until the process just launched accepts connections on
        every one of ports of self.address, within start_timeout; returns
        that deadline (for what else start() waits for)."""
        deadline = time.monotonic() + self.start_timeout
        for port in ports:
            self.wait_for_port(port, deadline)
        return deadline

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM by pid, wait, SIGKILL."""
        if self.proc is None:
            return
        stop_process(self.proc, self.stop_timeout)
        self.close_output()

    def close_output(self):
        if self._out:
            self._out.close()
            self._out = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
