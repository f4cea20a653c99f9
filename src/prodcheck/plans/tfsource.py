"""Where a Terraform plan's resources are declared: the `.tf` file and line of each block.

A plan (`terraform show -json`) holds no source positions, only addresses. This module finds
each address's `resource "TYPE" "NAME" {` (or `data "TYPE" "NAME" {`) block in the `.tf` files
of its module: the root module in the source directory, a local module call
(`source = "./modules/ai"`, from the plan's `configuration`) in the directory it names. A
module from a registry or another remote source has no files here: its resources are not
located, and the plan's `sources` summary names it.

The scanner reads HCL's native syntax only as far as it needs to: it follows comments (`#`,
`//`, `/* */`), quoted strings with their `${...}` and `%{...}` templates, and heredocs, so a
brace or a `resource` word inside them is not taken for a block, and it records the labelled
blocks at the top level of each file. It never evaluates anything.

The files are input from outside, and a hostile repository is assumed: nothing outside the
source directory is read (a module source or a symlink that leads out of it is refused), at
most `MAX_FILE_BYTES` of a file and `MAX_FILES` files of a module are read, at most
`MAX_MODULES` module directories are scanned, and bytes that are not UTF-8 are replaced.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILES = 500
MAX_MODULES = 200
_MAX_DEPTH = 32
# How far up from the source directory a repository root (`.git`) is looked for.
_MAX_PARENTS = 64

SOURCE_KEY = "x-prodcheck-source"


@dataclass(frozen=True)
class Location:
    """A block's place: its file (a relative path with `/`) and the line of its first token."""

    file: str
    line: int


_STRING_STOP = re.compile(r'[\\"\n$%]')
_CODE_STOP = re.compile(r'[\n#/<"{}]')


def _word_char(c: str) -> bool:
    return c.isalnum() or c in "_-"


def scan_blocks(text: str) -> dict[str, int]:
    """The top-level `resource` and `data` blocks of one `.tf` file: address → line (1-based).

    A resource `resource "azurerm_key_vault" "main" {` is `azurerm_key_vault.main`, a data
    source `data.azapi_resource.role`. Labels may be quoted or bare identifiers; a label with a
    template (`"${...}"`) is not an address and is skipped. The first declaration of an
    address wins. Malformed text never raises: what cannot be read is skipped.
    """
    found: dict[str, int] = {}
    n = len(text)
    i = 0
    line = 1
    depth = 0  # braces at the top level of the file (outside strings and templates)
    # Tokens of the current top-level line: (kind, text, line); kind "word", "str" or "bad".
    header: list[tuple[str, str, int]] = []
    # Contexts inside a quoted string: each entry is the brace depth of an open template
    # (`${ ... }`); an entry of -1 is a quoted string itself.
    stack: list[int] = []

    def skip_heredoc(start: int) -> tuple[int, int] | None:
        """After `<<`: (index after the closing marker line, lines passed), or None."""
        j = start
        if j < n and text[j] == "-":
            j += 1
        k = j
        while k < n and _word_char(text[k]):
            k += 1
        marker = text[j:k]
        if not marker or not marker[0].isalpha():
            return None
        end = k
        while end < n and text[end] in " \t\r":
            end += 1
        if end >= n or text[end] != "\n":
            return None
        lines = 0
        pos = end
        while pos < n:
            # pos is at a line feed: look at the next line
            lines += 1
            nxt = text.find("\n", pos + 1)
            body = text[pos + 1 : nxt if nxt != -1 else n]
            if body.strip() == marker:
                return (nxt if nxt != -1 else n), lines
            if nxt == -1:
                return n, lines
            pos = nxt
        return n, lines

    while i < n:
        in_string = bool(stack) and stack[-1] == -1
        if in_string or stack or depth > 0:
            # nothing but these characters matters here: jump to the next one
            found_at = (_STRING_STOP if in_string else _CODE_STOP).search(text, i)
            if found_at is None:
                break
            i = found_at.start()
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1 if text.startswith("\n", i + 1) else 2
                continue
            if c == '"':
                stack.pop()
                i += 1
                continue
            if c == "\n":
                # a quoted string cannot span lines: recover at the line end
                stack.pop()
                continue
            if c in "$%" and text.startswith("{", i + 1):
                if i > 0 and text[i - 1] == c:
                    # `$${` and `%%{` are the literal characters
                    i += 2
                    continue
                stack.append(0)
                i += 2
                continue
            i += 1
            continue
        # in code: the file's top level, or a template's expression inside a string
        if c == "\n":
            line += 1
            if not stack and depth == 0:
                header.clear()
            i += 1
            continue
        if c == "#" or (c == "/" and text.startswith("/", i + 1)):
            nxt = text.find("\n", i)
            i = n if nxt == -1 else nxt
            continue
        if c == "/" and text.startswith("*", i + 1):
            close = text.find("*/", i + 2)
            end = n if close == -1 else close + 2
            line += text.count("\n", i, end)
            i = end
            continue
        if c == "<" and text.startswith("<", i + 1):
            skipped = skip_heredoc(i + 2)
            if skipped is not None:
                i, lines = skipped
                line += lines
                if not stack and depth == 0:
                    header.clear()
                continue
            i += 2
            continue
        if c == '"':
            if not stack and depth == 0:
                # a label: read it whole when it is a plain string
                j = i + 1
                chars: list[str] = []
                plain = True
                while j < n and text[j] not in '"\n':
                    if text[j] == "\\" and j + 1 < n and text[j + 1] != "\n":
                        chars.append(text[j + 1])
                        j += 2
                        continue
                    if text[j] in "$%" and text.startswith("{", j + 1):
                        plain = False
                        break
                    chars.append(text[j])
                    j += 1
                if plain:
                    header.append(("str", "".join(chars), line))
                    i = j + 1 if j < n and text[j] == '"' else j
                    continue
                header.append(("bad", "", line))
            stack.append(-1)
            i += 1
            continue
        if c == "{":
            if stack:
                stack[-1] += 1
            else:
                if depth == 0:
                    _record(header, found)
                    header.clear()
                depth += 1
            i += 1
            continue
        if c == "}":
            if stack:
                if stack[-1] == 0:
                    stack.pop()  # the template ends: back in its string
                else:
                    stack[-1] -= 1
            else:
                depth = max(0, depth - 1)
                if depth == 0:
                    header.clear()
            i += 1
            continue
        if not stack and depth == 0 and _word_char(c):
            j = i
            while j < n and _word_char(text[j]):
                j += 1
            header.append(("word", text[i:j], line))
            i = j
            continue
        if not stack and depth == 0 and not c.isspace():
            header.append(("bad", c, line))
        i += 1
    return found


def _record(header: list[tuple[str, str, int]], found: dict[str, int]) -> None:
    if len(header) != 3 or header[0][0] != "word" or header[0][1] not in ("resource", "data"):
        return
    labels = [text for kind, text, _ in header[1:] if kind in ("str", "word")]
    if len(labels) != 2 or not all(labels) or any(_bad_label(x) for x in labels):
        return
    address = ("data." if header[0][1] == "data" else "") + ".".join(labels)
    found.setdefault(address, header[0][2])


def _bad_label(label: str) -> bool:
    return not all(_word_char(c) for c in label)


@dataclass
class Sources:
    """Where the plan's resources are declared, and what could not be located and why."""

    root: str  # the source directory as given, for the report
    blocks: dict[str, Location] = field(default_factory=dict)  # config address → location
    # module path (`module.ai.`) → why its resources are not located
    skipped_modules: dict[str, str] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)

    def locate(self, config_address: str) -> Location | None:
        return self.blocks.get(config_address)

    def summary(self, located: int, total: int) -> dict[str, Any]:
        out: dict[str, Any] = {"located": located, "notLocated": total - located}
        if self.skipped_modules:
            out["modulesNotLocated"] = dict(sorted(self.skipped_modules.items()))
        if self.skipped_files:
            out["filesNotRead"] = sorted(self.skipped_files)
        return out


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def repository_prefix(root: Path) -> str:
    """The source directory's path in its git repository (`infra/`), or "" when it is not in
    one: code scanning resolves a SARIF location against the repository's root."""
    try:
        real = root.resolve()
    except (OSError, RuntimeError, ValueError):
        return ""
    for n, parent in enumerate((real, *real.parents)):
        if n > _MAX_PARENTS:
            break
        try:
            if (parent / ".git").exists():
                rel = real.relative_to(parent).as_posix()
                return "" if rel == "." else rel + "/"
        except (OSError, ValueError):
            return ""
    return ""


def find_sources(
    root: str | os.PathLike[str], configuration: Any, *, prefix: str | None = None
) -> Sources:
    """The declaration of each resource of the plan's `configuration` under `root`.

    `prefix` goes in front of every file name (the source directory's path in its repository);
    by default it is found from the nearest `.git` above `root`.
    """
    base = Path(root)
    sources = Sources(root=str(root))
    try:
        real_root = base.resolve()
        if not real_root.is_dir():
            return sources
    except (OSError, RuntimeError, ValueError):
        return sources
    if prefix is None:
        prefix = repository_prefix(real_root)
    scanned: dict[Path, dict[str, Location]] = {}
    modules = 0

    def scan_dir(directory: Path) -> dict[str, Location]:
        nonlocal modules
        if directory in scanned:
            return scanned[directory]
        modules += 1
        blocks: dict[str, Location] = {}
        scanned[directory] = blocks
        try:
            names = sorted(e.name for e in os.scandir(directory) if e.name.endswith(".tf"))
        except (OSError, ValueError):
            return blocks
        # An override file refines a block declared elsewhere: the declaration comes first.
        names.sort(key=lambda name: name == "override.tf" or name.endswith("_override.tf"))
        for name in names[:MAX_FILES]:
            path = directory / name
            rel = _relative(path, real_root)
            if rel is None:
                sources.skipped_files.append(f"{name} (leads outside the source directory)")
                continue
            text = _read(path)
            if text is None:
                sources.skipped_files.append(f"{rel} (not a readable file of at most 4 MiB)")
                continue
            for address, line in scan_blocks(text).items():
                blocks.setdefault(address, Location(prefix + rel, line))
        if len(names) > MAX_FILES:
            sources.skipped_files.append(f"{len(names) - MAX_FILES} files past {MAX_FILES}")
        return blocks

    def walk(module: Any, module_prefix: str, directory: Path, depth: int) -> None:
        for address, loc in scan_dir(directory).items():
            sources.blocks.setdefault(module_prefix + address, loc)
        calls = module.get("module_calls") if isinstance(module, dict) else None
        if not isinstance(calls, dict) or depth >= _MAX_DEPTH:
            return
        for name, call in calls.items():
            if not isinstance(call, dict):
                continue
            inner = f"{module_prefix}module.{name}."
            target, why = _module_dir(call.get("source"), directory, real_root)
            if target is None:
                sources.skipped_modules[inner.rstrip(".")] = why
                continue
            if target not in scanned and modules >= MAX_MODULES:
                sources.skipped_modules[inner.rstrip(".")] = (
                    f"more than {MAX_MODULES} module directories"
                )
                continue
            walk(call.get("module"), inner, target, depth + 1)

    root_module = configuration.get("root_module") if isinstance(configuration, dict) else None
    walk(root_module, "", real_root, 0)
    return sources


def _module_dir(source: Any, directory: Path, root: Path) -> tuple[Path | None, str]:
    """The directory of a module call's source, or None and why it is not read."""
    if not isinstance(source, str) or not source:
        return None, "the plan gives no source for it"
    if not source.startswith(("./", "../")) and source not in (".", ".."):
        return None, "its source is not a local path (a registry or remote module)"
    try:
        target = (directory / source).resolve()
    except (OSError, RuntimeError, ValueError):
        return None, "its source is not a path that can be read"
    if not _inside(target, root):
        return None, "its source leads outside the source directory"
    if not target.is_dir():
        return None, "its source is not a directory under the source directory"
    return target, ""


def _relative(path: Path, root: Path) -> str | None:
    """`path` relative to `root` with `/`, or None when it resolves outside `root`."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not _inside(real, root) or real == root:
        return None
    return real.relative_to(root).as_posix()


def _read(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError):
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")
