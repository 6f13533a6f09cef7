"""The pipeline's processes share two glibc arenas among their threads (see bc_pipeline.malloc_arenas)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bc_pipeline.malloc_arenas import ARENAS, glibc

pytestmark = pytest.mark.skipif(glibc() is None, reason="arenas are glibc's")

THREADS = 6

# Starts threads that each allocate through malloc (blocks above pymalloc's 512 bytes) and hold on, then counts the
# heaps glibc's malloc_info reports: one per arena.
ARENA_COUNT = f"""
import ctypes, sys, tempfile, threading
if sys.argv[1] == "pipeline":
    import bc_pipeline
held = threading.Barrier({THREADS} + 1)
done = threading.Event()
def allocate():
    blocks = [bytearray(4096) for _ in range(100)]
    held.wait()
    done.wait()
threads = [threading.Thread(target=allocate) for _ in range({THREADS})]
for thread in threads:
    thread.start()
held.wait()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile() as report:
    stream = ctypes.c_void_p(libc.fopen(report.name.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(report.name).read().count("<heap nr="))
done.set()
for thread in threads:
    thread.join()
"""


def arenas_used(imports: str, **env: str) -> int:
    environment = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    result = subprocess.run([sys.executable, "-c", ARENA_COUNT, imports], env={**environment, **env},
                            capture_output=True, text=True, check=True, timeout=60)
    return int(result.stdout)


def test_a_process_that_imports_the_pipeline_shares_two_arenas_among_its_threads():
    # Without the pipeline, glibc gives each allocating thread an arena of its own.
    assert arenas_used("bare") > ARENAS
    assert arenas_used("pipeline") == ARENAS


def test_an_operators_malloc_arena_max_is_left_as_set():
    assert arenas_used("pipeline", MALLOC_ARENA_MAX="4") == 4
