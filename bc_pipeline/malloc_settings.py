"""How glibc's malloc serves the pipeline's processes: two arenas shared by all threads, and a fixed mmap threshold.

Arenas: glibc gives every thread that allocates an arena of its own, up to eight per core, and each arena keeps pages
its thread freed for the next allocation made there. A sync runs many threads (one per extracted stream, DuckDB's
workers, Dagster's own), so what one thread freed was seldom what another reused. Measured side by side at the
benchmark's default store, a full sync peaked at 376 and 378 MiB with glibc's default and at 344 to 354 MiB with two
arenas (four runs), in the same wall and CPU time; one arena took more CPU for no less memory.

Mmap threshold: glibc serves a block above the threshold with a mapping of its own, returned to the system when freed.
By default the threshold rises to the size of each such block freed, up to 32 MiB, so after the first import body of a
dotmailer load (megabytes each) the next ones are carved out of the heap, where what they leave when freed is kept. At
the benchmark's larger store the Orders load, run alone, peaked at 331 to 347 MiB with the threshold fixed (three
runs) against 361 and 364 MiB, and a whole sync at 398 MiB against 436 MiB (one run each; 405 MiB against 441 MiB in
the benchmark runs of this change and the one before). The cost is system time: each page of orders the extraction
receives is mapped and faulted in afresh, 0.5 to 1.4 s more of the default store's 16 to 17 s of extraction CPU (three
pairs).
"""

from __future__ import annotations

import ctypes
import os
import sys

ARENAS = 2
MMAP_THRESHOLD = 256 * 1024
# From glibc's malloc.h; other C libraries have no such options.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def _set_by_operator(variable: str, tunable: str) -> bool:
    # glibc applied either form at start-up, and an operator's setting wins.
    return bool(os.environ.get(variable)) or f"glibc.malloc.{tunable}=" in os.environ.get("GLIBC_TUNABLES", "")


def configure_malloc() -> None:
    """Cap glibc's arenas at ARENAS for threads that have none yet, and fix its mmap threshold at MMAP_THRESHOLD.

    Nothing is changed under another C library, nor what the environment sets (MALLOC_ARENA_MAX,
    MALLOC_MMAP_THRESHOLD_, or their GLIBC_TUNABLES forms).
    """
    libc = glibc()
    if libc is None:
        return
    if not _set_by_operator("MALLOC_ARENA_MAX", "arena_max"):
        libc.mallopt(M_ARENA_MAX, ARENAS)
    if not _set_by_operator("MALLOC_MMAP_THRESHOLD_", "mmap_threshold"):
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
