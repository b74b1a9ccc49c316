"""bench/procfs.py: what the sidecar benchmarks read from /proc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from bench.procfs import (
    children,
    cpu_seconds,
    cpus_allowed,
    family,
    floor,
    memory,
    memory_sum,
    millicores,
)

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"),
                                reason="Linux /proc only")


def test_memory_of_this_process_and_of_a_sum() -> None:
    m = memory(os.getpid())
    assert 0 < m.pss <= m.rss <= m.peak_rss
    two = memory_sum([os.getpid(), os.getpid()])
    assert two.rss == pytest.approx(2 * m.rss, rel=0.2)


def test_cpu_seconds_grow_with_work_and_millicores_are_per_wall_second() -> None:
    before = cpu_seconds(os.getpid())
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.1
    assert millicores(0.25, 2.0) == 125.0


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")
def test_a_child_is_found_with_its_affinity() -> None:
    cpu = min(os.sched_getaffinity(0))
    child = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c",
                              "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while child.pid not in children(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert family(os.getpid()) == [os.getpid(), *children(os.getpid())]
        assert child.pid in children(os.getpid())
        deadline = time.monotonic() + 10  # taskset sets the affinity, then runs python
        while cpus_allowed(child.pid) != str(cpu) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cpus_allowed(child.pid) == str(cpu)
    finally:
        child.kill()
        child.wait()


def test_floor_is_a_fresh_interpreter_with_its_imports() -> None:
    bare, with_json = floor(), floor("json")
    assert 0 < bare.rss <= with_json.rss + 1
