"""exporter.sidecar.trim: free heap memory goes back to the system after periodic jobs."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from exporter.sidecar.trim import trim


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc"
                    or ctypes.util.find_library("c") is None, reason="glibc only")
def test_trim_calls_malloc_trim_on_glibc() -> None:
    blocks = [bytearray(1 << 16) for _ in range(200)]  # some heap to give back
    del blocks
    assert trim() is True
    assert trim() is True  # the C function is looked up once and reused
