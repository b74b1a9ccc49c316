"""Give memory freed by a periodic job back to the system (glibc ``malloc_trim``).

A compute cycle or a state save allocates and frees several MB of temporaries. glibc
keeps freed heap memory for reuse, and after a large block is freed it raises its mmap
threshold, so later blocks of that size come from the heap and stay resident too: the
sidecar's RSS then drifts up to its highest transient. ``malloc_trim(0)`` after each of
those jobs returns the free pages (it takes about a millisecond). Elsewhere than glibc
it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    # the symbols already loaded into this process (no search for libc on disk)
    try:
        fn: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return fn


def trim() -> bool:
    """Release free heap memory; False where the C library has no ``malloc_trim``."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True
