"""What leaves the process: every string prodcheck writes passes through here.

Two promises are kept at the exits, whatever a rule, a reporter or an input file did before:

- **no secret is written**: credentials are masked (`prodcheck.secrets`), in the report object
  before any reporter renders it, in the text each reporter produces, in the snapshot file, in
  error lines and in log records;
- **no text misleads**: characters that reorder, hide or forge text — Unicode bidirectional
  overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), zero-width spaces,
  line and paragraph separators, tag characters, lone surrogates, and control characters other
  than the line feed and tab a format needs — are shown as visible escapes (`\\u202e`, `\\x1b`),
  as the terminal reporter always showed escape sequences.

The exits: `prodcheck.reporters.render` (every report format, the terminal included) calls
`clean` on the report and `clean_output` on the text (the JSON report, data read back by
`prodcheck report`, `diff` and `--baseline`, keeps its strings and writes misleading characters
as JSON escapes); the snapshot writer calls
`snapshot_text`; the command line prints errors through `one_line`; collection's log records
pass `MaskingFilter`. The engine makes its findings through `cleaned`, already as `clean`
makes them, so that `clean` need not walk them again (see `is_cleaned`).
"""

from __future__ import annotations

import copyreg
import dataclasses
import enum
import json
import logging
import re
import weakref
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, TypeVar

from prodcheck.model import Finding
from prodcheck.secrets import (
    SECRET_FIELDS,
    lines_to_mask,
    mask_credentials,
    plain_key,
    redact,
    redact_mapping,
    redact_text,
)

_T = TypeVar("_T")

# Characters that can make text read differently from what it is. C0 controls (but for the tab
# and line feed), DEL and C1 are added per use below.
_MISLEADING = (
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator (invisible)
    "\u200b"  # zero-width space
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidirectional embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u206f"  # bidirectional isolates, deprecated format characters
    "\ufeff"  # byte order mark, zero-width no-break space
    "\ufff9-\ufffb"  # interlinear annotation
    "\ud800-\udfff"  # lone surrogates (cannot even be written as UTF-8)
    "\U000e0000-\U000e007f"  # tag characters (invisible ASCII)
)
# Zero-width joiner and non-joiner stay: scripts and emoji need them, and they reorder nothing.

_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + _MISLEADING + "]")
_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f" + _MISLEADING + "]")
# In a rendered document, a CR LF line end is the format's own (CSV).
_IN_DOCUMENT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _MISLEADING + "]|\r(?!\n)")
# In the terminal's output, C0 controls are the reporter's own (line feeds, colours).
_IN_OUTPUT = re.compile("[\x80-\x9f" + _MISLEADING + "]")


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def neutralise(text: str) -> str:
    """`text` with every misleading character, and every control but tab and line feed, visible."""
    return _IN_TEXT.sub(_visible, text)


@lru_cache(maxsize=65536)
def clean_text(text: str) -> str:
    """One string as it may leave the process: credentials masked, misleading characters shown."""
    return neutralise(mask_credentials(text))


def mask_document(text: str) -> str:
    """A whole rendered document masked line by line.

    Every string in it was masked before it was rendered; this second pass looks for what
    rendering put together. Line by line, with repeated lines (a report repeats many) masked
    once, a document of many megabytes takes a second, not minutes.
    """
    return _by_pieces(text, _mask_lines)


def _mask_lines(text: str, known: set[str] | None = None) -> str:
    """`text` with each of its lines masked on its own (`mask_credentials`).

    Only the lines that masking may change are masked (`lines_to_mask`, which reads the
    distinct lines of `text` at once); the others are left as they are, as masking would.
    `known` holds lines masking is known to leave as they are (read in an earlier piece of the
    same document): they are not read again, and the short lines found so here are added."""
    lines = text.splitlines(keepends=True)
    distinct = dict.fromkeys(lines)
    if known:
        for line in known.intersection(distinct):
            del distinct[line]
    changed = {}
    for line in lines_to_mask(list(distinct)):
        masked = mask_credentials(line)
        if masked != line:
            changed[line] = masked
    if known is not None and len(known) < _KNOWN_LINES:
        known.update(line for line in distinct if len(line) <= _KNOWN_CHARS and line not in changed)
    if not changed:
        return text
    return "".join([changed.get(line, line) for line in lines])


# A document's lines that masking leaves as they are, kept while the document is cleaned so that
# a line repeated in later pieces (a metric's values, a finding's fixed members) is read once.
_KNOWN_LINES = 1 << 17
_KNOWN_CHARS = 256


# A document is cleaned a megabyte or so at a time, so that its lines are never all held at
# once, and a document that needs no change is returned as it is rather than copied.
_CHUNK = 1 << 20


def _pieces(text: str) -> list[tuple[int, int]]:
    """Where to cut `text`: after a line feed about every `_CHUNK` characters.

    A line feed always ends a line, so the lines of the pieces are the lines of the whole
    (a CR LF pair stays in one piece), and no piece ends with a CR that the next would follow.
    """
    out, start = [], 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK)
        end = len(text) if end == -1 else end + 1
        out.append((start, end))
        start = end
    return out


def _by_pieces(text: str, clean_piece: Callable[[str], str]) -> str:
    """`text` with `clean_piece` applied to each piece (see `_pieces`); `text` itself when
    no piece changed."""
    changed = []
    for start, end in _pieces(text):
        piece = text[start:end]
        cleaned = clean_piece(piece)
        if cleaned != piece:
            changed.append((start, end, cleaned))
    if not changed:
        return text
    out, at = [], 0
    for start, end, cleaned in changed:
        out += [text[at:start], cleaned]
        at = end
    out.append(text[at:])
    return "".join(out)


# ---- cleaned once, at the source -------------------------------------------------------------
#
# A report holds thousands of findings and is written in several formats: walking each finding
# again for every format cost more than anything else in writing a large report. The engine
# therefore makes each finding through `cleaned`, which cleans it once, the way `clean` would,
# and records it here when cleaning for any format leaves it as it is: then `clean` takes it as
# it is. Anything else (a finding a waiver, a baseline or a plan made anew, a plugin's object,
# a report read back from a file, the report's other fields) is cleaned the long way, as
# before. Only the cleaning code records an object, one it made itself, by identity: a finding
# changed afterwards (`dataclasses.replace` makes a new one) is never taken as clean.
_CLEANED: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def is_cleaned(value: Any) -> bool:
    """Whether `value` was made by `cleaned` and is, as it is, what `clean` makes of it for
    every format."""
    return _CLEANED.get(id(value)) is value


def cleaned(cls: Callable[..., _T], redact_evidence: bool = False, **fields: Any) -> _T:
    """`cls(**fields)` (a finding) as `clean` makes it for every format, recorded as such (see
    `is_cleaned`).

    With `redact_evidence`, the `evidence` field is first redacted (`prodcheck.secrets.redact`,
    as the engine redacts a verdict's evidence) in the same walk: the result is then what
    `clean(cls(**fields, evidence=redact(evidence)))` gives. Cleaning for a format that shows
    misleading characters differs from cleaning for JSON only where a string holds one: such
    an object is made uncleaned (its evidence redacted), and every format cleans it the long
    way.
    """
    odd: list[bool] = []
    out: dict[str, Any] = {}
    for name, value in fields.items():
        kind = type(value)
        if kind is str:
            if value:
                value, as_is = _text_memo(value) if len(value) <= _MEMO_CHARS else _text(value)
                if not as_is:
                    odd.append(True)
        elif name == "evidence" and redact_evidence:
            value = _redacted_evidence(value, odd)
        elif not (kind is int or kind is bool or value is None or isinstance(value, enum.Enum)):
            value = _clean(value, mask_credentials)
            if not _shows_as_is(value):
                odd.append(True)
        out[name] = value
    if odd:
        if redact_evidence and "evidence" in fields:
            fields["evidence"] = redact(fields["evidence"])
        return cls(**fields)
    made = cls(**out)
    _CLEANED[id(made)] = made
    return made


def cleaned_again(value: _T) -> _T:
    """A finding (a dataclass) made anew by `cleaned`, from its fields as they are."""
    names = _init_fields(type(value))
    return cleaned(type(value), **{name: getattr(value, name) for name in names})


def _pickled(value: Any) -> tuple[Any, ...]:
    """How a finding is pickled (and copied): its fields, and whether `cleaned` made it, so
    that a finding cleaned in a forked process (`prodcheck.fanout`) arrives as one here. Only
    prodcheck's own processes hand findings over this way."""
    names = _init_fields(type(value))
    return _unpickled, (type(value), tuple(getattr(value, n) for n in names), is_cleaned(value))


def _unpickled(cls: type, values: tuple[Any, ...], was_cleaned: bool) -> Any:
    made = cls(**dict(zip(_init_fields(cls), values, strict=True)))
    if was_cleaned:
        _CLEANED[id(made)] = made
    return made


copyreg.pickle(Finding, _pickled)


# Strings of up to this many characters are cleaned once per process (as they are masked).
_MEMO_CHARS = 1024


def _text(text: str) -> tuple[str, bool]:
    """`text` masked, and whether it holds no misleading character then."""
    masked = mask_credentials(text)
    return masked, _as_is(masked)


def _evidence_text(text: str) -> tuple[str, bool]:
    """`text` redacted (`redact`) and masked, and whether it holds no misleading character."""
    masked = mask_credentials(redact_text(text))
    return masked, _as_is(masked)


_text_memo = lru_cache(maxsize=1 << 16)(_text)
_evidence_text_memo = lru_cache(maxsize=1 << 16)(_evidence_text)


def _as_is(text: str) -> bool:
    """Whether `neutralise` leaves `text` as it is (the usual case: at the speed of a copy)."""
    return text.isprintable() or _IN_TEXT.search(text) is None


def _shows_as_is(value: Any) -> bool:
    """Whether `clean` for a format that shows misleading characters leaves the output of
    `clean` for JSON, `value`, as it is: no string in it (key or value) holds one. Anything
    but plain data is taken as not."""
    kind = type(value)
    if kind is str:
        return _as_is(value)
    if kind is dict:
        return all(type(k) is str and _as_is(k) and _shows_as_is(v) for k, v in value.items())
    if kind is list:
        return _PLAIN_ITEMS.issuperset(map(type, value)) or all(map(_shows_as_is, value))
    return value is None or isinstance(value, bool | int | float | enum.Enum)


_PLAIN_ITEMS = frozenset((int, float, bool, type(None)))


def _redacted_evidence(value: Any, odd: list[bool]) -> Any:
    """`_clean(redact(value), mask_credentials)` in one walk; appends to `odd` when a string of
    the result holds a misleading character.

    Mappings whose keys mean nothing to redaction (most evidence) are walked here; any other
    (a setting's name and value, secrets held by structure, a key that says credential)
    goes the long way, through `redact` and `_clean`."""
    kind = type(value)
    if kind is dict:
        shown: dict[Any, Any] = {}
        for key, item in value.items():
            entry = _evidence_key(key) if type(key) is str else None
            if entry is None:
                return _redacted_long(value, odd)
            if not entry[1]:
                odd.append(True)
            kind = type(item)
            if kind is str:
                if item:
                    item, as_is = (
                        _evidence_text_memo(item)
                        if len(item) <= _MEMO_CHARS
                        else _evidence_text(item)
                    )
                    if not as_is:
                        odd.append(True)
                shown[entry[0]] = item
            elif kind in _PLAIN_ITEMS:
                shown[entry[0]] = item
            else:
                shown[entry[0]] = _redacted_evidence(item, odd)
        return shown
    if kind is str:
        if not value:
            return value
        text, as_is = (
            _evidence_text_memo(value) if len(value) <= _MEMO_CHARS else _evidence_text(value)
        )
        if not as_is:
            odd.append(True)
        return text
    if kind is list:
        if _PLAIN_ITEMS.issuperset(map(type, value)):
            return list(value)
        return [_redacted_evidence(item, odd) for item in value]
    if kind in _PLAIN_ITEMS:
        return value
    return _redacted_long(value, odd)


def _redacted_long(value: Any, odd: list[bool]) -> Any:
    out = _clean(redact(value), mask_credentials)
    if not _shows_as_is(out):
        odd.append(True)
    return out


@lru_cache(maxsize=4096)
def _evidence_key(key: str) -> tuple[str, bool] | None:
    """A mapping's key as `redact` then `clean` show it, and whether it holds no misleading
    character; None when the key decides how its value is redacted or cleaned."""
    shown = plain_key(key)
    if shown is None or key.lower() in SECRET_FIELDS:
        return None
    return _text(shown)


def clean(value: Any, visible: bool = True) -> Any:
    """A copy of `value` (a report, a finding, plain data) with every string in it cleaned.

    Dataclasses (the report, its findings, rules and coverage records) are copied field by
    field; mappings are walked with the secrets held by structure replaced (an app setting
    `DB_PASSWORD`, an APIM named value marked secret, a container app's secrets). Numbers,
    booleans and enums pass unchanged. With `visible` false, strings are only masked: a
    data format (the JSON report) escapes misleading characters losslessly instead.
    """
    return _clean(value, clean_text if visible else mask_credentials)


def _clean(value: Any, text: Callable[[str], str]) -> Any:
    kind = type(value)
    # The common kinds first, by exact type; anything else (a subclass) by the general tests.
    if kind is str:
        return text(value) if value else value
    if kind is dict:
        return redact_mapping(value, lambda v: _clean(v, text), SECRET_FIELDS)
    if kind is list:
        if value and _plain_numbers(value):  # a metric's series: nothing in it to clean
            return list(value)
        return [_clean(v, text) for v in value]
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if isinstance(value, str):
        return text(value) if value else value
    if isinstance(value, enum.Enum | bool | int | float):
        return value
    if isinstance(value, dict):
        return redact_mapping(value, lambda v: _clean(v, text), SECRET_FIELDS)
    if isinstance(value, list | tuple):
        return [_clean(v, text) for v in value]
    if _CLEANED.get(id(value)) is value:  # a finding cleaned at the source
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name in _init_fields(kind):
            old = getattr(value, name)
            new = _clean(old, text)
            if new is not old and new != old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def _plain_numbers(items: list[Any]) -> bool:
    """Whether every item is a float, or every item an int (exactly: not a bool, not an enum)."""
    kind = type(items[0])
    return (kind is float or kind is int) and {kind}.issuperset(map(type, items))


_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(cls: type) -> tuple[str, ...]:
    """The names of a dataclass's fields that its constructor takes."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names


def clean_output(text: str, fmt: str = "text") -> str:
    """A rendered report (or any text document) as it may be written: masked again, misleading
    characters shown.

    The report was cleaned before rendering; this pass catches what rendering itself put
    together. Tabs and line feeds stay, and for the terminal every C0 control: its colours are
    the reporter's own escape sequences. In the JSON report (data that prodcheck reads back),
    misleading characters become JSON escapes, which read back as the same string.
    """
    # Piece by piece (see `_pieces`): every pattern here reads one character, or a CR and the
    # character after it, which a piece never leaves for the next.
    return _by_pieces(text, _piece_cleaner(fmt))


def clean_output_pieces(pieces: Iterable[str], fmt: str = "text") -> Iterator[str]:
    """`clean_output` of the document that `pieces` make, a megabyte or so at a time.

    A renderer hands its document over in pieces as it writes it, so that no report exists
    whole: the pieces are gathered and cut after a line feed about every `_CHUNK` characters,
    and each such piece is cleaned and handed on. Masking reads one line at a time and every
    other pattern one character (or a CR and the character after it), and a line feed always
    ends a line, so the pieces cleaned are the pieces of the whole document cleaned.
    """
    clean_piece = _piece_cleaner(fmt)
    held: list[str] = []
    size = 0
    for piece in pieces:
        if not piece:
            continue
        held.append(piece)
        size += len(piece)
        if size < _CHUNK:
            continue
        text = "".join(held)
        cut = text.rfind("\n") + 1
        if cut == 0:  # no line ends yet: keep gathering
            held = [text]
            continue
        yield clean_piece(text[:cut] if cut < len(text) else text)
        rest = text[cut:]
        held, size = ([rest], len(rest)) if rest else ([], 0)
    if held:
        yield clean_piece("".join(held))


def _piece_cleaner(fmt: str) -> Callable[[str], str]:
    if fmt == "json":
        pattern, shown = _IN_TEXT, _json_escape
    else:
        pattern, shown = (_IN_OUTPUT if fmt == "terminal" else _IN_DOCUMENT), _visible

    known: set[str] = set()

    def clean_piece(piece: str) -> str:
        masked = _mask_lines(piece, known)
        if _printable(masked):  # nothing any of the patterns reads (the usual case)
            return masked
        return pattern.sub(shown, masked)

    return clean_piece


def _printable(text: str) -> bool:
    """Whether `text` holds no character but printable ones, line feeds and tabs: then none of
    the patterns above finds anything in it (each reads only characters that `str.isprintable`
    refuses: controls, format characters, separators, surrogates). At the speed of a copy."""
    return text.replace("\n", "").replace("\t", "").isprintable()


def one_line(text: object) -> str:
    """An error or progress message as one inert line: masked, every control character visible."""
    return _IN_LINE.sub(_visible, mask_credentials(str(text)))


def _json_escape(m: re.Match[str]) -> str:
    return json.dumps(m.group(), ensure_ascii=True)[1:-1]


def snapshot_text(document: Any) -> str:
    """A snapshot document as JSON text, with no credential and no raw misleading character.

    Unlike a report, a snapshot is data that prodcheck reads back: misleading characters are
    written as JSON escapes (`\\u202e`), which read back as the very same string.
    """
    text = json.dumps(clean_snapshot(document), indent=2, sort_keys=True, ensure_ascii=False)
    return _IN_TEXT.sub(_json_escape, mask_document(text)) + "\n"


def clean_snapshot(document: Any) -> Any:
    """A snapshot document with every credential masked (its misleading characters kept)."""
    if isinstance(document, str):
        return mask_credentials(document)
    if isinstance(document, dict):
        return redact_mapping(document, clean_snapshot, SECRET_FIELDS)
    if isinstance(document, list):
        return [clean_snapshot(v) for v in document]
    return document


class MaskingFilter(logging.Filter):
    """Masks every log record passing a logger, so no handler receives a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: keep its template only
            message = str(record.msg)
        record.msg = one_line(message)
        record.args = None
        return True
