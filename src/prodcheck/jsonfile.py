"""Reading the JSON files users hand to prodcheck (snapshots, saved reports).

Every problem becomes one `UserError` naming the file, what is wrong and how to fix it; the
file itself is only ever read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from prodcheck.errors import UserError


def read_json(
    path: str | Path, kind: str, fix: str, missing: str = "check the path"
) -> tuple[Any, str]:
    """The parsed content of `path` ('-' is standard input) and the name to use for it in messages.

    `kind` says what the file should be ("snapshot", "report"); `fix` is the advice appended to
    a JSON syntax error (how to produce the file again), `missing` to a missing file.
    """
    source = str(path)
    try:
        if source == "-":
            text = sys.stdin.read()
            source = "standard input"
        else:
            text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{kind} file {source} not found: {missing}") from None
    except IsADirectoryError:
        raise UserError(f"{kind} {source} is a directory: pass a JSON file") from None
    except UnicodeDecodeError:
        raise UserError(f"{kind} {source} is not UTF-8 text: pass a JSON file") from None
    except OSError as exc:
        raise UserError(f"cannot read {kind} {source}: {exc.strerror}") from None
    try:
        return json.loads(text), source
    except json.JSONDecodeError as exc:
        hint = (
            "the file looks truncated" if exc.pos >= len(text.rstrip()) else "the JSON is malformed"
        )
        raise UserError(
            f"{kind} {source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
            f"{hint}; {fix}"
        ) from None
