"""A collecting worker process: `python -m prodcheck.collect.worker FD` (see processes.py).

FD is a socket inherited from the process that started it; the job and the tokens come over it.
"""

from __future__ import annotations

import sys

from prodcheck.collect.processes import worker_main

if __name__ == "__main__":
    from prodcheck.heap import for_bulk_data

    for_bulk_data()
    worker_main(int(sys.argv[1]))
