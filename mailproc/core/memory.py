"""Memory given back to the system after a burst (glibc's allocator, on Linux).

CPython hands blocks over 512 bytes to malloc. glibc serves big ones with mmap and returns
them when freed, but after the first big free it raises that threshold (up to 32 MiB on
64-bit) so that later big buffers come from the heap, where freed memory stays with the
process: after 20 mails of 25 MB a daemon kept hundreds of megabytes it no longer used.
:func:`tune` fixes the threshold (buffers of 128 KiB and more are always mapped and
unmapped) and lets the jobs' threads share two heaps; :func:`give_back` returns the free
pages of the heaps (``malloc_trim``) after a stage that handled large mail. Both do nothing
where glibc is not the allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENA_MAX = 2  # the jobs' threads share two heaps instead of one each (less memory stranded between them)
MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 1024 * 1024


@cache
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def tune() -> bool:
    """Fix the allocator's thresholds for this process and the ones it forks; True if done."""
    libc = _libc()
    if libc is None:
        return False
    return all([libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD), libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                libc.mallopt(M_ARENA_MAX, ARENA_MAX)])


def give_back() -> None:
    """Return the heap's free pages to the system (milliseconds; call after large work)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
