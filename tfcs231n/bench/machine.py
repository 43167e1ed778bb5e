"""Whether the machine was busy while the bench ran, from the kernel's CPU counters.

Other processes' CPU time = all CPUs' busy time (/proc/stat) minus this process tree's
(/proc/<pid>/stat utime + stime, reaped children's included), over the bench's wall time.
More than `OTHERS_LIMIT` cores of it, or a matmul rate that moved by more than
`MATMUL_CHANGE_LIMIT` between the start and the end, and the timings are not comparable:
both frameworks' thread pools then wait for cores, and not by the same amount.
"""

import os
import time

OTHERS_LIMIT = 0.1  # cores, on average over the run
MATMUL_CHANGE_LIMIT = 0.15  # |before - after| / max(before, after)

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_seconds(stat_text):
    """All CPUs' busy seconds from /proc/stat: user nice system irq softirq steal (guest
    time is already inside user)."""
    fields = [int(v) for v in stat_text.split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _parse_stat(text):
    """(pid, ppid, CPU seconds with reaped children's) from a /proc/<pid>/stat line."""
    pid = int(text.split(" ", 1)[0])
    # After the command name in parentheses (which may hold spaces): state ppid ...
    rest = text[text.rindex(")") + 2:].split()
    return pid, int(rest[1]), sum(int(v) for v in rest[11:15]) / _TICK  # utime..cstime


def _tree_seconds(root):
    """CPU seconds of `root` and every live descendant, each with its reaped children's."""
    children, used = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:  # it exited meanwhile
            continue
        pid, ppid, seconds = _parse_stat(text)
        used[pid] = seconds
        children.setdefault(ppid, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += used.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def cpu_counters():
    """(all CPUs' busy seconds, this process tree's CPU seconds, monotonic seconds); None
    where /proc cannot be read (not Linux)."""
    try:
        with open("/proc/stat") as f:
            busy = _busy_seconds(f.read())
        return busy, _tree_seconds(os.getpid()), time.monotonic()
    except (OSError, ValueError):
        return None


def others_cores(windows):
    """Average cores other processes used over `windows`, [(start, end)] pairs of
    `cpu_counters` readings; NaN if a reading is None or no time passed."""
    others = wall = 0.0
    for start, end in windows:
        if start is None or end is None:
            return float("nan")
        others += max(0.0, (end[0] - start[0]) - (end[1] - start[1]))
        wall += end[2] - start[2]
    return others / wall if wall > 0 else float("nan")


def verdict(others, matmul_before, matmul_after):
    """The JSON-ready judgement: {"machine_busy", "others_cores", "matmul_before",
    "matmul_after", "matmul_change"}; a NaN measurement (None in the result) decides nothing.
    """
    change = abs(matmul_before - matmul_after) / (max(matmul_before, matmul_after)
                                                  or float("nan"))
    busy = bool(others > OTHERS_LIMIT or change > MATMUL_CHANGE_LIMIT)  # NaN compares False

    def clean(v):
        return None if v != v else v

    return {"machine_busy": busy, "others_cores": clean(others),
            "matmul_before": clean(matmul_before), "matmul_after": clean(matmul_after),
            "matmul_change": clean(change)}
