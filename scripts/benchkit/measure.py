"""The readings a run takes of a process (/proc) and the statistics the report gives of them."""
import os
import statistics
from pathlib import Path


def median(values):
    return statistics.median(values)


def p95(values):
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def ms(ns):
    return ns / 1e6


def cpu_ns_schedstat(pid):
    """CPU time of the process's live threads, in nanoseconds."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def cpu_ns_stat(pid):
    """utime + stime of /proc/<pid>/stat (whole process, clock ticks), in nanoseconds: the
    check on schedstat, coarse (10 ms ticks) but counted by other kernel code."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def peak_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
