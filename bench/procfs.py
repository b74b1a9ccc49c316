"""What /proc says about a process: memory (RSS, PSS, peak), CPU time, CPU affinity.

Used by the sidecar benchmarks (bench/ingest.py, bench/memory.py, bench/one_cpu.py) on
the sidecar and its decoder child. Linux only. RSS counts every page a process maps,
so summing it over two processes counts the library pages they share twice; PSS
(``/proc/PID/smaps_rollup``) splits each shared page between its users, so summed PSS
counts it once, which is closer to what a container's memory cgroup is charged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _kb_fields(path: Path, *names: str) -> dict[str, int]:
    out = dict.fromkeys(names, 0)
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in out:
            out[key] = int(rest.split()[0])
    return out


def children(pid: int) -> list[int]:
    """Direct children of a process (every thread's list, so none is missed)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            with open(task / "children") as f:
                found += [int(p) for p in f.read().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return sorted(set(found))


def family(pid: int) -> list[int]:
    """The process and its direct children (the sidecar and its decoder processes)."""
    return [pid, *children(pid)]


@dataclass(frozen=True)
class Memory:
    """Memory of one or more processes, in MB (2**20 bytes), summed."""

    rss: float  # resident pages, shared ones counted in every process
    pss: float  # shared pages split between their users: counted once over the sum
    peak_rss: float  # each process's own peak (VmHWM), summed: an upper bound

    def __add__(self, other: Memory) -> Memory:
        return Memory(self.rss + other.rss, self.pss + other.pss,
                      self.peak_rss + other.peak_rss)


def memory(pid: int) -> Memory:
    rollup = _kb_fields(Path(f"/proc/{pid}/smaps_rollup"), "Rss", "Pss")
    status = _kb_fields(Path(f"/proc/{pid}/status"), "VmHWM")
    return Memory(rollup["Rss"] / 1024, rollup["Pss"] / 1024, status["VmHWM"] / 1024)


def memory_sum(pids: list[int]) -> Memory:
    total = Memory(0.0, 0.0, 0.0)
    for pid in pids:
        total += memory(pid)
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of the process so far (not its children)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14, 15


def cpus_allowed(pid: int) -> str:
    """The process's CPU affinity as the kernel lists it, e.g. ``0`` or ``0-1``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"


def millicores(cpu_s: float, wall_s: float) -> float:
    """CPU seconds spent per wall second, in thousandths of a core."""
    return cpu_s / wall_s * 1000


FLOOR_SCRIPT = """\
import sys
for name in sys.argv[1:]:
    __import__(name)
print(open("/proc/self/smaps_rollup").read())
print(open("/proc/self/status").read())
"""


def floor(*modules: str) -> Memory:
    """Memory of a fresh interpreter (this one's executable) after importing ``modules``."""
    out = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, *modules], check=True,
                         capture_output=True, text=True).stdout
    values: dict[str, int] = {}
    for line in out.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss", "VmHWM") and rest.split():
            values[key] = int(rest.split()[0])
    return Memory(values["Rss"] / 1024, values["Pss"] / 1024, values["VmHWM"] / 1024)
