"""The heap over months: its free pages handed back, and full collections kept short.

Python's objects and SQLite's caches stay flat under steady traffic (a 12-minute soak: the
objects Python tracks at 10.2 to 10.6 MB, SQLite's memory at 2.0 to 2.1 MB once its page
caches filled in the first 150 seconds), yet the resident size crept up: the C allocator
(glibc's malloc) keeps what is freed in its arenas, one per thread that allocated (the event
loop and the worker threads), and the holes between live blocks
are not returned by themselves. ``malloc_trim(0)`` returns every whole free page of every
arena. Where the C library has no such call (musl, macOS) this does nothing.

Python's full garbage collection walks every object the process holds: with the modules, the
rooms and the catalogs loaded, 55 to 80 ms in which the event loop stands still (the spikes
of the loop-lag benchmark, measured with 200 translations in flight). ``settle`` freezes what
start-up built, so later full collections walk only what came after.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# how often the free pages are handed back: often enough that the creep never shows, rarely
# enough that the call (a few milliseconds) is lost in the noise
TRIM_EVERY_SECONDS = 300


def _find_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_trim = _find_trim()


def available() -> bool:
    """Whether this C library can hand free pages back (glibc can)."""
    return _trim is not None


def trim() -> bool:
    """Hand the allocator's free pages back to the system; True if some were."""
    if _trim is None:
        return False
    started = time.perf_counter()
    released = bool(_trim(0))
    log.debug(
        "heap trimmed in %.1f ms (pages released: %s)",
        (time.perf_counter() - started) * 1000,
        released,
    )
    return released


def settle() -> None:
    """Collect once, then leave everything start-up built out of every later collection.

    What start-up built (modules, classes, catalogs, the rooms) lives as long as the process.
    Garbage in reference cycles is collected first; an object frozen here that later becomes
    part of a garbage cycle stays (a room the bot leaves: a handful of objects).
    """
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.debug(
        "heap settled in %.1f ms (%d objects frozen)",
        (time.perf_counter() - started) * 1000,
        gc.get_freeze_count(),
    )
