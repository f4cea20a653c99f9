"""The peak memory of the benchmark process itself.

`getrusage`'s max RSS is kept across `exec` on Linux: a process started by `subprocess` from a
large one reports the larger one's peak as its own until it exceeds it. The benchmarks start
their measured process from a runner that holds the whole estate (the offline audit's runner
builds the snapshot; the tenant runner serves it), so they read the kernel's high-water mark of
this process's own memory (`VmHWM`) instead, and fall back to max RSS where there is no /proc.
"""

from __future__ import annotations


def own_peak_kib() -> int:
    """The peak resident memory of this process's own address space, in KiB."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
