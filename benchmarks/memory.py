"""The peak memory of the benchmark process itself.

`getrusage`'s max RSS is kept across `exec` on Linux: a process started by `subprocess` from a
large one reports the larger one's peak as its own until it exceeds it. The benchmarks start
their measured process from a runner that holds the whole estate (the offline audit's runner
builds the snapshot; the tenant runner serves it), so they read the kernel's high-water mark of
this process's own memory (`VmHWM`) instead, as the collecting processes do for their own
(`prodcheck.heap.own_peak_kib`), and fall back to max RSS where there is no /proc.
"""

from __future__ import annotations

from prodcheck.heap import own_peak_kib

__all__ = ["own_peak_kib"]
