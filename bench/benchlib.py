"""Shared by the benchmarks: loopback ports, and memory measured from /proc
(summed RSS and PSS of a process tree, sampled on a thread; VmHWM).

The scripts are run as `python3 bench/NAME.py`, so this module is found
beside them.
"""
import os
import socket
import sys
import threading

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_INTERVAL = 0.1       # RSS sampling period, seconds
PSS_EVERY = 5               # PSS (smaps_rollup, ~5x dearer) every 5th sample


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_rss(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def proc_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    kids = []  # kernels without CONFIG_PROC_CHILDREN: scan /proc
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                kids.append(int(name))
        except (OSError, ValueError):
            pass
    return kids


def proc_pss(pid):
    """Proportional set size: shared pages divided among their users."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_mem(pid, with_pss):
    """Summed RSS (and PSS if asked) of pid and all its descendants, and
    their count."""
    rss_sum, pss_sum, n, todo = 0, 0, 0, [pid]
    while todo:
        p = todo.pop()
        rss = proc_rss(p)
        if rss:
            rss_sum += rss
            if with_pss:
                pss_sum += proc_pss(p)
            n += 1
        todo.extend(proc_children(p))
    return rss_sum, pss_sum, n


def vm_hwm(pid, key="VmHWM:"):
    """Peak resident memory of one process (or another /proc status key)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_cpu(pid):
    """CPU seconds (user + system) used so far by pid, its live descendants
    and the children it has reaped (cutime/cstime)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, first = 0, [pid], True
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            # fields[11..14] are utime stime cutime cstime (stat(5) 14..17)
            total += int(fields[11]) + int(fields[12])
            if first:
                total += int(fields[13]) + int(fields[14])
        except (OSError, ValueError, IndexError):
            pass
        first = False
        todo.extend(proc_children(p))
    return total / tick


class RssSampler:
    """Samples the summed RSS of a process tree every `interval` seconds
    (and its summed PSS every `pss_every`th sample). `phase()` returns the
    peaks since the previous call (or the start) and starts a new phase."""

    def __init__(self, pid, interval=SAMPLE_INTERVAL, pss_every=PSS_EVERY):
        self.pid = pid
        self.interval = interval
        self.pss_every = pss_every
        self.peak = 0
        self.peak_pss = 0
        self.peak_procs = 0
        self._phase = [0, 0, 0]  # rss, pss, procs
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, with_pss):
        rss, pss, n = tree_mem(self.pid, with_pss)
        with self._lock:
            if rss > self.peak:
                self.peak, self.peak_procs = rss, n
            self.peak_pss = max(self.peak_pss, pss)
            if rss > self._phase[0]:
                self._phase[0], self._phase[2] = rss, n
            self._phase[1] = max(self._phase[1], pss)

    def phase(self):
        """(peak RSS, peak PSS, processes at the RSS peak) of the phase that
        ends now; a final sample with PSS is taken first."""
        self._sample(True)
        with self._lock:
            out = tuple(self._phase)
            self._phase = [0, 0, 0]
        return out

    def _run(self):
        k = 0
        while True:
            self._sample(k % self.pss_every == 0)
            k += 1
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample(True)  # final sample, with PSS
