"""Give memory freed by a large analysis back to the operating system.

A 100,000-subject analysis allocates a few hundred MB of short-lived arrays and frames; glibc's
allocator keeps the freed pages in its arenas, so the service's resident memory would stay at
its high-water mark. `malloc_trim(0)` returns them (a no-op where glibc is absent).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_memory() -> None:
    """Return the allocator's free pages to the OS (glibc only)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
