"""Keep the C allocator from handing big buffers back to the kernel after every render.

A PDF render copies each face it uses out of HarfBuzz (the whole 5–8 MB font file, five faces)
and compresses streams into fresh buffers; a DOCX render assembles megabytes of embedded fonts.
glibc serves blocks of that size with ``mmap`` and returns them with ``munmap`` on ``free``, so
every render pays again for zeroed pages faulted in one by one: about 20 ms of a 250 ms PDF.
Raising the ``mmap`` threshold and the trim threshold keeps those pages in the heap, to be
reused by the next render, for a resident size a few tens of MiB higher and flat.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 32 * 1024 * 1024
"""Blocks up to this size come from the heap (glibc's largest allowed ``mmap`` threshold)."""
KEPT_FREE_BYTES = 64 * 1024 * 1024
"""Free memory at the top of the heap kept for the next render instead of trimmed."""


def keep_large_buffers() -> bool:
    """Tune glibc's ``malloc`` of this process as above; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES)
    )
