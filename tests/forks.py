"""What the tests of forked processes share."""

from __future__ import annotations

import os


def no_child_left() -> bool:
    """Whether this process has no child left, running or ended and not waited for."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False
