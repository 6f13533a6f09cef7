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


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas at `arenas` for threads that have none yet; True if the cap was set.

    Nothing is changed under another C library, nor when the environment sets MALLOC_ARENA_MAX: glibc applied that at
    start-up, and an operator's setting wins.
    """
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    return libc.mallopt(M_ARENA_MAX, arenas) == 1
