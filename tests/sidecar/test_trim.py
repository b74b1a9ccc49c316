"""exporter.sidecar.trim: free heap memory goes back to the system after periodic jobs."""

from __future__ import annotations

import platform
import sys

import pytest

from tests.procs import python_lines

# 40,000 blocks of 4 KiB (below glibc's mmap threshold: they come from the heap), all but
# the last freed: the top of the heap is still in use, so free() alone cannot shrink it
# and the 160 MB stay resident until malloc_trim hands the free pages back.
_CHILD = """
def rss_kib():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
blocks = [bytearray(4096) for _ in range(40_000)]
keep = blocks[-1]
del blocks
before = rss_kib()
from exporter.sidecar.trim import trim
ok = trim()
print(ok, before, rss_kib())
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver(sys.executable)[0]
                    != "glibc", reason="glibc only")
def test_trim_gives_freed_heap_pages_back() -> None:
    ok, before, after = python_lines(_CHILD)[-1].split()
    assert ok == "True"
    assert int(before) - int(after) > 100 * 1024, (before, after)  # > 100 MiB released
