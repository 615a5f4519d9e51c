"""The C heap's policy for large blocks (glibc; elsewhere nothing changes).

glibc serves a block of 128 KB or more with a mapping of its own, returned to the system when
freed, but each such free raises that threshold to the block's size (up to 32 MB): after the
first keyword-index fold, the next folds' arrays of tens of MB come from the heap, whose freed
space the process keeps, so through a large ingest RSS rises with every fold and stays; with
the threshold fixed the folds' memory is given back (measured in docs/benchmarks.md:
Reliability and security).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 4 << 20  # bytes: larger blocks are mapped and unmapped, never kept in the heap


@lru_cache(maxsize=1)
def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold at `MMAP_THRESHOLD` for this process; False where the C
    library is not glibc (or cannot be loaded), which then keeps its own policy."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
