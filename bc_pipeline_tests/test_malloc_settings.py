"""The pipeline's processes share two glibc arenas among their threads and keep glibc's mmap threshold fixed (see
bc_pipeline.malloc_settings)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bc_pipeline.malloc_settings import ARENAS, MMAP_THRESHOLD, glibc

pytestmark = pytest.mark.skipif(glibc() is None, reason="arenas and the mmap threshold are glibc's")

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

BLOCK = 8 * MMAP_THRESHOLD

# Frees one large block, then allocates another of the same size and prints how many bytes glibc holds in mappings of
# their own (mallinfo2's hblkhd) while it is held: the block itself, or nothing if it came from the heap.
MAPPED_BYTES = f"""
import ctypes, sys
if sys.argv[1] == "pipeline":
    import bc_pipeline
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
freed = bytearray({BLOCK})
del freed
held = bytearray({BLOCK})
print(libc.mallinfo2().hblkhd)
"""


def run_probe(probe: str, imports: str, **env: str) -> int:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")}
    result = subprocess.run([sys.executable, "-c", probe, imports], env={**environment, **env},
                            capture_output=True, text=True, check=True, timeout=60)
    return int(result.stdout)


def test_a_process_that_imports_the_pipeline_shares_two_arenas_among_its_threads():
    # Without the pipeline, glibc gives each allocating thread an arena of its own.
    assert run_probe(ARENA_COUNT, "bare") > ARENAS
    assert run_probe(ARENA_COUNT, "pipeline") == ARENAS


def test_an_operators_malloc_arena_max_is_left_as_set():
    assert run_probe(ARENA_COUNT, "pipeline", MALLOC_ARENA_MAX="4") == 4
    assert run_probe(ARENA_COUNT, "pipeline", GLIBC_TUNABLES="glibc.malloc.arena_max=3") == 3


def test_a_large_block_is_mapped_on_its_own_even_after_one_like_it_was_freed():
    # By default glibc raises its threshold past the freed block, and the next one comes out of the heap.
    assert run_probe(MAPPED_BYTES, "bare") < BLOCK
    assert run_probe(MAPPED_BYTES, "pipeline") >= BLOCK


def test_an_operators_mmap_threshold_is_left_as_set():
    above_the_block = str(2 * BLOCK)
    assert run_probe(MAPPED_BYTES, "pipeline", MALLOC_MMAP_THRESHOLD_=above_the_block) < BLOCK
    assert run_probe(MAPPED_BYTES, "pipeline", GLIBC_TUNABLES=f"glibc.malloc.mmap_threshold={above_the_block}") < BLOCK
