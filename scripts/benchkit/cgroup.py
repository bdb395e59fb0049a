"""A function process's share of the CPU and its memory, as Lambda gives them.

Lambda gives a function CPU in proportion to its memory: 1769 MB is one vCPU, 128 MB about
1/14 of one (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). Here a
process gets that share as a CFS quota of its own cgroup (quota = share x period), and its
memory as the cgroup's limit, so that a function that outgrows its memory fails here as there.

Lambda does not publish the CFS period it throttles with; a longer one lets a short request
run unthrottled on the quota it saved, so the bench uses a short one (PERIOD_US) and says so.
cgroup v1 (the `cpu` and `memory` controllers under /sys/fs/cgroup/{cpu,memory}) and v2 (one
hierarchy with `cpu.max` and `memory.max`) are both handled; where neither can be written
(not root, or a container without the controllers), `CpuQuota` fails with a message saying so.
"""
import os
import uuid
from pathlib import Path

ONE_VCPU_MB = 1769
PERIOD_US = 20_000
V1_CPU = Path("/sys/fs/cgroup/cpu")
V1_MEMORY = Path("/sys/fs/cgroup/memory")
V2 = Path("/sys/fs/cgroup")
GROUP = "auth-bench"


class CgroupError(RuntimeError):
    pass


def vcpus_of(memory_mb):
    return memory_mb / ONE_VCPU_MB


def _writable(path):
    return path.is_file() and os.access(path, os.W_OK)


def _v2_controllers():
    controllers = V2 / "cgroup.controllers"
    return controllers.read_text().split() if controllers.is_file() else []


def detect():
    """'v1' or 'v2': which hierarchy can give a process a CPU quota here."""
    if _writable(V1_CPU / "cpu.cfs_quota_us"):
        return "v1"
    if "cpu" in _v2_controllers() and os.access(V2, os.W_OK):
        return "v2"
    raise CgroupError(
        "--as-lambda needs a writable cgroup CPU controller: cgroup v1 at "
        f"{V1_CPU}/cpu.cfs_quota_us or cgroup v2 with `cpu` in {V2}/cgroup.controllers, "
        "as root. Neither is available here (run as root, or on a machine or container "
        "that delegates the cpu controller).")


class CpuQuota:
    """A cgroup of its own for one process: `vcpus` of CPU (None: unlimited), `memory_mb` of
    memory (None: unlimited). `enter_fn()` is a preexec_fn that moves the child into it
    before it execs, so that the quota covers the process from its first instruction."""

    def __init__(self, vcpus, memory_mb=None, period_us=PERIOD_US):
        self.kind = detect()
        self.name = f"{GROUP}/{uuid.uuid4().hex[:12]}"
        self.vcpus, self.memory_mb, self.period_us = vcpus, memory_mb, period_us
        self.dirs = []
        try:
            self._create()
        except OSError as error:
            self.close()
            raise CgroupError(f"cannot set up the cgroup {self.name}: {error}") from error

    def _quota_us(self, vcpus):
        return -1 if vcpus is None else max(1000, int(vcpus * self.period_us))

    def set_vcpus(self, vcpus):
        """A new CPU share for the processes already in the cgroup."""
        self.vcpus = vcpus
        quota = self._quota_us(vcpus)
        if self.kind == "v1":
            (self.dirs[0] / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (self.dirs[0] / "cpu.max").write_text(f"{'max' if quota < 0 else quota} {self.period_us}")

    def _create(self):
        quota = self._quota_us(self.vcpus)
        if self.kind == "v1":
            cpu = self._mkdir(V1_CPU)
            (cpu / "cpu.cfs_period_us").write_text(str(self.period_us))
            (cpu / "cpu.cfs_quota_us").write_text(str(quota))
            self.procs = [cpu / "cgroup.procs"]
            if self.memory_mb and _writable(V1_MEMORY / "memory.limit_in_bytes"):
                memory = self._mkdir(V1_MEMORY)
                (memory / "memory.limit_in_bytes").write_text(str(self.memory_mb * 1024 * 1024))
                self.procs.append(memory / "cgroup.procs")
        else:
            parent = V2 / GROUP
            parent.mkdir(exist_ok=True)
            (parent / "cgroup.subtree_control").write_text("+cpu +memory")
            group = self._mkdir(V2)
            (group / "cpu.max").write_text(f"{'max' if quota < 0 else quota} {self.period_us}")
            if self.memory_mb:
                (group / "memory.max").write_text(str(self.memory_mb * 1024 * 1024))
            self.procs = [group / "cgroup.procs"]

    def _mkdir(self, root):
        path = root / self.name
        path.mkdir(parents=True)
        self.dirs.append(path)
        return path

    def enter_fn(self):
        """For subprocess.Popen(preexec_fn=...): runs in the child between fork and exec. It
        only writes to files already named, nothing that takes a lock the parent may hold."""
        paths = [str(p) for p in self.procs]

        def enter():
            for path in paths:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, b"0")  # "0": the writing process itself
                finally:
                    os.close(fd)
        return enter

    def add(self, pid):
        """Moves a running process into the cgroup."""
        for path in self.procs:
            path.write_text(str(pid))

    def throttled_ns(self):
        """CPU time the quota withheld so far (cpu.stat), in nanoseconds."""
        if not self.dirs:
            return 0
        stat = dict(line.split() for line in (self.dirs[0] / "cpu.stat").read_text().splitlines())
        if "throttled_time" in stat:  # v1: nanoseconds
            return int(stat["throttled_time"])
        return int(stat.get("throttled_usec", 0)) * 1000

    def close(self):
        """Removes the cgroup (its processes must have exited)."""
        for path in reversed(self.dirs):
            try:
                path.rmdir()
            except OSError:
                pass
        self.dirs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
