"""Memory of long builds: fewer garbage collections while documents are built, freed memory given back.

A profile creates millions of objects that live until it is written (WeasyPrint's boxes), so the
default collector thresholds (700, 10, 10) rescanned them all the time: about a quarter of a
profile's CPU time. Inside :func:`rare_collections` reference cycles are still collected, less
often; outputs are unchanged. After each area, :func:`release_memory` frees that area's cycles and
returns freed heap to the system, so a worker's resident memory stays flat from area to area.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Python's cyclic garbage collector thresholds while inputs are loaded and documents built.
BUILD_GC_THRESHOLDS = (100_000, 100, 1_000)
_GC_LOCK = threading.Lock()
_GC_DEPTH = [0]
_GC_SAVED: list[tuple[int, int, int]] = []


@contextmanager
def rare_collections() -> Iterator[None]:
    """Collect garbage less often inside this block (nested and threaded uses restore once, at the end)."""
    with _GC_LOCK:
        if _GC_DEPTH[0] == 0:
            _GC_SAVED[:] = [gc.get_threshold()]
            gc.set_threshold(*BUILD_GC_THRESHOLDS)
        _GC_DEPTH[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_DEPTH[0] -= 1
            if _GC_DEPTH[0] == 0:
                gc.set_threshold(*_GC_SAVED[0])


def release_memory() -> None:
    """After an area: free its documents' reference cycles and return freed heap to the system.

    Without it a worker's resident memory ratchets up to that of the largest profile it built
    plus the garbage of the previous ones.
    """
    gc.collect()
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _libc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, which gives free heap pages back to the system (None elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
