"""How fast this machine runs at the moment: two probes printed beside every benchmark's figures.

The development machine is a virtual machine whose speed moves by a third within minutes, with
nothing else running (docs/performance.md): figures measured minutes apart compare only with the
machine's speed beside them. Each probe runs in a fresh process, as the measured runs do:

- a pure-Python loop of 3,000,000 additions: the interpreter's speed;
- 256 MB of fresh memory touched a page at a time: what the host charges for a new page, which
  an audit pays about 120,000 times at 10,000 resources.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_PROBE = """
import json, time
started = time.process_time()
total = 0
for i in range(3_000_000):
    total += i
loop = time.process_time() - started
size = 256 << 20
started = time.perf_counter()
memory = bytearray(size)
for i in range(0, size, 4096):
    memory[i] = 1
touch = time.perf_counter() - started
print(json.dumps({"loopMs": loop * 1000, "touchMs": touch * 1000, "pages": size // 4096}))
"""


def probe() -> dict[str, float]:
    """The two probes' times, in a fresh process (milliseconds), and µs per page touched."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["touchUsPerPage"] = out["touchMs"] * 1000 / out["pages"]
    return out


def describe(before: dict[str, float], after: dict[str, float]) -> str:
    """One line for a table's header: the probes before and after the measured runs."""

    def one(p: dict[str, float]) -> str:
        return f"Python loop {p['loopMs']:.0f} ms, fresh memory {p['touchUsPerPage']:.1f} µs a page"

    return f"machine before: {one(before)}; after: {one(after)}"


if __name__ == "__main__":
    print(describe(probe(), probe()))
