"""How an audit keeps Python's cycle collector from rescanning its own data.

An audit holds its whole inventory (hundreds of thousands of dicts and lists parsed from JSON)
from start to end, and its findings and reports add as many again. With the collector's default
threshold (a collection every 700 net allocations) the oldest generation, which holds all of
that, is scanned over and over while it grows: at 100,000 resources the collector took half of
the CPU time of an offline audit (docs/performance.md). The data an audit builds holds no
reference cycles, so collecting less often costs no memory.
"""

from __future__ import annotations

import gc
import sys

# Collect the youngest generation every 200,000 net allocations, the older ones every 30
# collections of the next younger one.
BULK_THRESHOLD = (200_000, 30, 30)


def for_bulk_data() -> None:
    """Collect cycles less often, for a process that builds and keeps a large inventory.

    A threshold set lower (but not 0, which turns automatic collection off) is raised; a
    higher one, or a collector turned off, is left as it is.
    """
    gen0 = gc.get_threshold()[0]
    if 0 < gen0 < BULK_THRESHOLD[0]:
        gc.set_threshold(*BULK_THRESHOLD)


def own_peak_kib() -> int:
    """This process's peak resident memory, in KiB: the kernel's high-water mark of its own
    address space (`VmHWM`) where there is one.

    `getrusage`'s max RSS is kept across `exec` on Linux: a process started from a large one
    reports the larger one's peak as its own until it exceeds it. Max RSS is the fallback where
    there is no /proc (0 where there is neither).
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return 0
    return int(peak // 1024 if sys.platform == "darwin" else peak)
