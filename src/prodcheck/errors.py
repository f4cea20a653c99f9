"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input, configuration, usage or credentials.

    The message is shown as one line: what happened, to what, and what to do next.
    The CLI prints it without a traceback and exits with code 2.
    """
