"""How many malloc arenas the process's threads share: two, unless MALLOC_ARENA_MAX says otherwise.

glibc gives every thread that allocates an arena of its own, up to eight per core, and each arena keeps pages its
thread freed for the next allocation made there. A sync runs many threads (one per extracted stream, DuckDB's
workers, Dagster's own), so what one thread freed was seldom what another reused. Measured side by side at the
benchmark's default store, a full sync peaked at 376 and 378 MiB with glibc's default and at 344 to 354 MiB with two
arenas (four runs), in the same wall and CPU time; one arena took more CPU for no less memory.
"""

from __future__ import annotations

import ctypes
import os
import sys

ARENAS = 2
# From glibc's malloc.h; other C libraries have no such option.
M_ARENA_MAX = -8


def glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def limit_malloc_arenas() -> None:
    """Cap glibc's arenas at ARENAS for threads that have none yet.

    Nothing is changed under another C library, nor when the environment sets MALLOC_ARENA_MAX: glibc applied that at
    start-up, and an operator's setting wins.
    """
    libc = glibc()
    if libc is not None and not os.environ.get("MALLOC_ARENA_MAX"):
        libc.mallopt(M_ARENA_MAX, ARENAS)
