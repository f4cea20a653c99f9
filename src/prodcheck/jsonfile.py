"""Reading the JSON files users hand to prodcheck (snapshots, saved reports).

Every problem becomes one `UserError` naming the file, what is wrong and how to fix it; the
file itself is only ever read.

The files are untrusted, so the parser is stricter than `json.loads`: it refuses what JSON
does not define or what would be read two ways (`NaN` and `Infinity`, numbers too large for
any ARM property, a key given twice in one object), nesting deeper than any ARM resource has,
and strings that are not Unicode (a lone UTF-16 surrogate written as `\\ud800`).
"""

from __future__ import annotations

import codecs
import gc
import json
import marshal
import math
import os
import re
import struct
import sys
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from prodcheck.errors import UserError

# ARM documents nest a few levels (resource → properties → list → object → ...); nothing ARM
# returns comes near this. Deeper input is refused before anything recurses into it.
MAX_DEPTH = 64
# 20 digits hold any 64-bit integer; ARM has no larger numbers.
MAX_INT_DIGITS = 20


class InvalidJson(ValueError):
    """A document that parses but that prodcheck refuses to read (see the module docstring)."""


# Strings of up to this many characters are kept once per document: a snapshot repeats the same
# short values (metric time stamps, types, locations, units) in every resource, and the decoder
# keeps only its keys once.
SHARED_STRING_CHARS = 64

# The fast reading (`_read_fast`) takes a file this many bytes at a time.
READ_BYTES = 1 << 23


# ---- the long way: the reference reading --------------------------------------------------
#
# Every refusal and its message comes from here. The fast reading below reads the same documents
# to the same values; whatever it cannot vouch for (anything it would refuse, any doubt) is read
# again this way.


def _object_reader() -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An `object_pairs_hook` for one document: refuses a repeated key, shares short strings."""
    shared: dict[str, str] = {}
    share = shared.setdefault

    def read_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            _refuse_repeated_key(pairs)
        for key, value in pairs:
            if value.__class__ is str and len(value) <= SHARED_STRING_CHARS:
                out[key] = share(value, value)
        return out

    return read_object


def _refuse_repeated_key(pairs: list[tuple[str, Any]]) -> None:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            where = (
                f" (in the object with id {out['id']!r})" if isinstance(out.get("id"), str) else ""
            )
            raise InvalidJson(f"the key {key!r} appears twice in one object{where}: keep one")
        out[key] = value


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number: write a number or null")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidJson(
            f"a number has {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS} are read)"
        )
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"the number {text[:40]} is out of range")
    return value


def _check_depth(doc: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise InvalidJson(f"it nests deeper than {max_depth} levels")
        for value in node.values() if isinstance(node, dict) else node:
            if isinstance(value, dict | list):
                stack.append((value, depth + 1))


def _check_strings(doc: Any) -> None:
    """Refuse a string (or key) that is not Unicode: a lone surrogate cannot be written out."""
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                shown = node.encode("utf-8", "backslashreplace").decode("ascii")[:60]
                raise InvalidJson(
                    f"the text {shown!r} holds a lone UTF-16 surrogate, which is not Unicode"
                ) from None


# Only a \uD800-\uDFFF escape can make a surrogate: without one, no string needs checking.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json_long(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `text` strictly, the long way; raise `InvalidJson` or `json.JSONDecodeError`."""
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_object_reader(),
            parse_constant=_constant,
            parse_int=_int,
            parse_float=_float,
        )
    except RecursionError:
        raise InvalidJson(f"it nests deeper than {max_depth} levels") from None
    if isinstance(doc, dict | list):
        _check_depth(doc, max_depth)
        if _SURROGATE_ESCAPE.search(text):
            _check_strings(doc)
    return doc


# ---- the fast reading ---------------------------------------------------------------------
#
# The same checks, made while the decoder builds the document rather than in walks after it:
# the object hook refuses a repeated key by the length of the object it builds, shares short
# strings and keys, and computes each object's height from its members' (a list's height from
# its items' when the object holding it is built), so that nesting deeper than `max_depth` is
# found without a walk of the whole document; numbers are decoded by the decoder's own parsers
# and only checked for range. A file is read a few megabytes at a time, and each item of a list
# at the top of the document (a snapshot's resources) is decoded on its own, so that the file's
# text and the document are not held whole at once. Whatever this reading would refuse, and any
# text it cannot read, raises `_Unread`: the document is then read again the long way, which
# refuses it with its message.


class _Unread(Exception):
    """The fast reading does not vouch for this document: read it the long way."""


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # what json's decoder skips between tokens
_INT_BOUND = 10**MAX_INT_DIGITS  # the smallest integer of more than MAX_INT_DIGITS digits


def _checks(
    max_depth: int,
) -> tuple[
    Callable[[list[tuple[str, Any]]], dict[str, Any]],
    Callable[[Any], int],
    dict[int, int],
    Callable[[str, str], str],
]:
    """One document's object hook, the height of a decoded value, the pending heights, `share`.

    The height of a value is 0 for a scalar, 1 for a list or object without lists or objects in
    it, and one more than its highest member otherwise: a document nests as deep as its height.
    Each object taller than 1 leaves its height, by id, until the object or list holding it is
    built (the decoder builds members first) and takes it: an object is alive while it waits.
    """
    shared: dict[str, str] = {}
    share = shared.setdefault
    pending: dict[int, int] = {}
    take = pending.pop
    bound = _INT_BOUND

    # A float read from a JSON number is finite or infinite (NaN is refused as a constant):
    # `value - value` is 0.0 for a finite one and NaN, which is true, for an infinite one.
    def list_height(items: list[Any]) -> int:
        height = 0
        for item in items:
            cls = type(item)
            if cls is dict:
                member = take(id(item), 1)
            elif cls is list:
                member = list_height(item)
            elif cls is float:
                if item - item:
                    raise _Unread
                continue
            elif cls is int:
                if not -bound < item < bound:
                    raise _Unread
                continue
            else:
                continue
            if member > height:
                height = member
        height += 1
        if height > max_depth:
            raise _Unread
        return height

    def read_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = {}
        height = 0
        for key, value in pairs:
            cls = type(value)
            if cls is str:
                if len(value) <= SHARED_STRING_CHARS:
                    value = share(value, value)
            elif cls is float:
                if value - value:
                    raise _Unread
            elif cls is dict:
                member = take(id(value), 1)
                if member > height:
                    height = member
            elif cls is list:
                member = list_height(value)
                if member > height:
                    height = member
            elif cls is int and not -bound < value < bound:
                raise _Unread
            # Each top-level item is decoded on its own, so keys are shared here.
            out[share(key, key)] = value
        if len(out) != len(pairs):
            raise _Unread
        if height:
            height += 1
            if height > max_depth:
                raise _Unread
            pending[id(out)] = height
        return out

    def height_of(value: Any) -> int:
        cls = type(value)
        if cls is dict:
            return take(id(value), 1)
        if cls is list:
            return list_height(value)
        if cls is float and value - value:
            raise _Unread
        if cls is int and not -bound < value < bound:
            raise _Unread
        return 0

    return read_object, height_of, pending, share


class _FastReader:
    """One document read from its text in pieces (see above)."""

    def __init__(
        self,
        pieces: Iterator[str],
        max_depth: int,
        ahead: int = READ_BYTES // 128,
        split: _Split | None = None,
    ) -> None:
        self.pieces = pieces
        self.split = split  # where another process reads the rest of a list, if anywhere
        self.base = 0  # the characters of the document before the window
        self.max_depth = max_depth
        # Items are decoded with at least this many characters of text ahead in the window
        # (where there are): an item cut off at the end of the window costs a failed decoding,
        # and the decoder's error counts the lines of the whole window before it.
        self.ahead = ahead
        self.done = False  # whether every piece is in the window
        self.text = ""  # the window of the document's text being read
        self.pos = 0  # where in the window reading stands
        self.tail = ""  # the last characters read, for an escape cut between two pieces
        self.escapes = False  # whether the text holds an escape that can make a surrogate
        self.read_object, self.height_of, self.pending, self.share = _checks(max_depth)
        decoder = json.JSONDecoder(object_pairs_hook=self.read_object, parse_constant=_constant)
        # The decoder's own scanner (C): one value from a position, and where it ends.
        self.scan: Callable[[str, int], tuple[Any, int]] = decoder.scan_once  # type: ignore[attr-defined]

    def read(self) -> Any:
        if self.char() == "\ufeff":
            raise _Unread  # the long way names the byte order mark
        self.skip()
        first = self.char()
        doc: Any
        if first == "{":
            doc, height = self.top_object()
        elif first == "[":
            doc, height = self.top_list()
        else:
            doc = self.value()
            height = self.height_of(doc)
        if height > self.max_depth:
            raise _Unread
        self.skip()
        if self.char():
            raise _Unread  # more than one document
        if self.escapes and doc.__class__ in (dict, list):  # as the long way checks
            _check_strings(doc)
        return doc

    # -- the window of text

    def more(self, chars: int) -> bool:
        """Read on until `chars` characters stand after `pos` (or the text ends); whether any were."""
        added = False
        while len(self.text) - self.pos < chars:
            piece = next(self.pieces, None)
            if piece is None:
                self.done = True
                break
            if _SURROGATE_ESCAPE.search(piece) or _SURROGATE_ESCAPE.search(self.tail + piece[:3]):
                self.escapes = True
            self.tail = (self.tail + piece[-3:])[-3:]
            self.base += self.pos
            self.text = self.text[self.pos :] + piece
            self.pos = 0
            added = True
        return added

    def char(self) -> str:
        """The character at `pos`, or "" at the end of the text."""
        if self.pos >= len(self.text) and not self.more(1):
            return ""
        return self.text[self.pos]

    def skip(self) -> None:
        while True:
            match = _WHITESPACE.match(self.text, self.pos)
            assert match is not None  # it matches the empty string
            self.pos = match.end()
            if self.pos < len(self.text) or not self.more(1):
                return

    def value(self) -> Any:
        """The value that starts at `pos`, decoded whole; `pos` moves past it."""
        while True:
            try:
                value, end = self.scan(self.text, self.pos)
            except Exception:
                # Bad text, a refusal, or a value cut off at the end of the window: read on
                # (twice as much each time) and try again; at the end of the text, give up.
                self.pending.clear()
                if self.more(2 * (len(self.text) - self.pos) + 1):
                    continue
                raise _Unread from None
            if _maybe_cut(value, self.text, end):
                self.pending.clear()
                if self.more(2 * (len(self.text) - self.pos) + 1):
                    continue
            self.pos = end
            return value

    # -- the top of the document

    def top_object(self) -> tuple[dict[str, Any], int]:
        self.pos += 1
        pairs: list[tuple[str, Any]] = []
        height = 0
        self.skip()
        if self.char() == "}":
            self.pos += 1
            return {}, 1
        while True:
            if self.char() != '"':
                raise _Unread
            key = self.value()
            self.skip()
            if self.char() != ":":
                raise _Unread
            self.pos += 1
            self.skip()
            if self.char() == "[":
                value, member = self.top_list()
            else:
                value = self.value()
                member = self.height_of(value)
            pairs.append((key, value))
            height = max(height, member)
            self.skip()
            after = self.char()
            self.pos += 1
            if after == "}":
                break
            if after != ",":
                raise _Unread
            self.skip()
        # As the object hook does for every other object.
        out = dict(pairs)
        if len(out) != len(pairs):
            raise _Unread
        for key, value in pairs:
            if value.__class__ is str and len(value) <= SHARED_STRING_CHARS:
                out[key] = self.share(value, value)
        return out, height + 1

    def top_list(self) -> tuple[list[Any], int]:
        """The list that starts at `pos`, decoded item by item, and its height."""
        self.pos += 1
        items: list[Any] = []
        height = 1
        self.skip()
        if self.char() == "]":
            self.pos += 1
            return items, height
        scan, take, height_of = self.scan, self.pending.pop, self.height_of
        ahead = self.ahead
        split_at = self.split.at if self.split is not None else _NEVER
        while True:
            if self.base + self.pos >= split_at:
                # The next item starts at or past where another process may have read the
                # rest of this list from (see `_Split`).
                tail_height = self._splice(items)
                if tail_height is not None:
                    return items, max(height, tail_height)
                split_at = self.split.at if self.split is not None else _NEVER
            # The usual case, inline: an item that ends inside the window, then a comma.
            text = self.text
            if len(text) - self.pos < ahead and not self.done:
                self.more(ahead)
                text = self.text
            try:
                item, end = scan(text, self.pos)
            except Exception:
                item, end = None, len(text)  # decoded again below, reading on as needed
            if not _maybe_cut(item, text, end):
                self.pos = end
            else:
                self.pending.clear()
                item = self.value()
            items.append(item)
            member = (take(id(item), 1) if item.__class__ is dict else height_of(item)) + 1
            if member > height:
                height = member
            text = self.text
            match = _COMMA.match(text, self.pos)
            if match is not None and match.end() < len(text):
                self.pos = match.end()
                continue
            self.skip()
            after = self.char()
            self.pos += 1
            if after == "]":
                return items, height
            if after != ",":
                raise _Unread
            self.skip()

    # -- a list read by two processes (see `_Split`)

    def _splice(self, items: list[Any]) -> int | None:
        """At the start of an item of a list at the top of the document: if this is where the
        other process read the rest of the list from, its items are added to `items`, the
        reading goes on after the list's end, and the list's height so far is returned (the
        caller returns the list). None otherwise: the reading goes on here."""
        split = self.split
        assert split is not None
        at = self.base + self.pos
        if not split.located() and at < split.at:
            return None  # `split.at` now says where it starts (or never): read on to it
        if at != split.at or not split.pieces.ascii:
            # Passed it without an item starting there (it was not where one of this list's
            # items starts), or the text so far was not ASCII (then characters and bytes, which
            # the other process counted, part).
            self.split = None
            split.cancel()
            return None
        self.split = None
        got = split.result()
        if got is None:
            return None  # it could not read the rest: it is read here
        tail, height, escapes, rest = got
        items.extend(marshal.loads(tail))
        self.escapes = self.escapes or escapes
        # The rest of the document, from the list's "]", in place of the text read so far.
        self.pieces = iter((rest,))
        self.text, self.pos, self.tail, self.done = "", 0, "", False
        self.skip()
        if self.char() != "]":
            raise _Unread
        self.pos += 1
        return int(height)

    def rest_of_list(self, probe: int, tell: Callable[[], None]) -> tuple[Any, ...]:
        """Read the items of a list from `pos` (the start of one of them) to the list's end,
        the way `top_list` reads them: the items, the list's height (as far as they go), whether
        an escape may make a surrogate, and the text of the document from the list's "]" on.
        `tell` is called once the first `probe` items are read, and `_NotHere` is raised if
        one of them is not an ARM resource, or the list ends before them."""
        items: list[Any] = []
        height = 1
        take, height_of = self.pending.pop, self.height_of
        while True:
            item = self.value()
            if len(items) < probe and not _looks_like_resource(item):
                raise _NotHere
            items.append(item)
            if len(items) == probe:
                tell()
            member = (take(id(item), 1) if item.__class__ is dict else height_of(item)) + 1
            if member > height:
                height = member
            self.skip()
            after = self.char()
            if after == "]":
                break
            if after != ",":
                raise _Unread if len(items) >= probe else _NotHere
            self.pos += 1
            self.skip()
        if len(items) < probe:
            raise _NotHere
        rest = self.text[self.pos :] + "".join(self.pieces)
        return items, height, self.escapes, rest


_NEVER = float("inf")


class _NotHere(Exception):
    """What the other process took for the start of a list's item is not one."""


def _looks_like_resource(item: Any) -> bool:
    return (
        item.__class__ is dict
        and isinstance(item.get("id"), str)
        and item["id"].startswith("/")
        and isinstance(item.get("type"), str)
        and "/" in item["type"]
    )


_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")


def _maybe_cut(value: Any, text: str, end: int) -> bool:
    """Whether a value decoded from `text` up to `end` may go on past the end of `text`.

    Only a number can: "0.5" cut after "0." decodes as 0, ending at the ".".
    """
    if end >= len(text):
        return True
    return value.__class__ in (int, float) and _NUMBER_TAIL.fullmatch(text, end) is not None


def _read_fast(
    pieces: Iterator[str],
    max_depth: int = MAX_DEPTH,
    ahead: int = READ_BYTES // 128,
    split: _Split | None = None,
) -> Any:
    """The document whose text comes in `pieces`, read fast; `_Unread` if it cannot vouch for it."""
    enabled = gc.isenabled()
    # The decoder makes no reference cycles: the cycle collector would only rescan the
    # document again and again while it grows.
    gc.disable()
    try:
        return _FastReader(pieces, max_depth, ahead, split).read()
    except _Unread:
        raise
    except Exception:
        raise _Unread from None
    finally:
        if enabled:
            gc.enable()


class _FilePieces:
    """The text of a UTF-8 file, `size` bytes at a time (the first read `first` bytes);
    `UnicodeDecodeError` if it is not UTF-8. `ascii` says whether every piece so far was ASCII
    (a character a byte)."""

    def __init__(self, fh: BinaryIO, size: int, first: int | None = None) -> None:
        self._fh = fh
        self._size = size
        self._next = first or size  # the size of the next read
        self._decode = codecs.getincrementaldecoder("utf-8")().decode
        self._ended = False
        self.ascii = True

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._ended:
            data = self._fh.read(self._next)
            self._next = self._size
            if not data:
                self._ended = True
                rest = self._decode(b"", True)
                if rest:
                    self.ascii = False
                    return rest
                break
            text = self._decode(data)
            if len(text) != len(data):
                self.ascii = False
            if text:
                return text
        raise StopIteration


# ---- one list read by two processes -----------------------------------------------------------
#
# The items of a list at the top of a large document (a snapshot's resources) are most of its
# reading. From `SPLIT_FROM` bytes, where forking is safe and the audit shares its work, a forked
# process reads the list's later items while this one reads the earlier ones, and hands them
# over marshalled, which this process reads several times faster than it parses the same text:
#
# - The other process looks from `SPLIT_AT` of the file for text that starts an item (",", then
#   a "{"), and takes the first place from which `SPLIT_PROBE` items in a row read as ARM
#   resources (an object with an id and a type), each followed by a comma. It says where
#   (`tell`), then reads on to the list's end, the way this process would.
# - This process reads from the start as ever. Only if an item of a list at the top of the
#   document starts exactly there, and the text so far was ASCII (so that the other process's
#   byte offset is this one's character offset), does it take the other's items and go on
#   after the list's end. The other process read the same text from the same place with the
#   same checks, so the document is the one this process would have read.
# - In every other case (the place was inside an item, the other process failed or found no
#   place, the text was not ASCII, no process could be started) this process reads on by
#   itself: nothing is lost but the other process's time.

SPLIT_FROM = 8 << 20
SPLIT_AT = 0.55
SPLIT_PROBE = 32
_SPLIT_LOOK_BYTES = 4 << 20
_ITEM_START = re.compile(rb",[ \t\n\r]*\{")
_OFFSET = struct.Struct("<q")
# How long this process waits, once it reaches `SPLIT_AT`, for the other to say where.
_WORD_WAIT = 5.0
# Beyond twice its own time, how long it waits for the other's items (see `_Split.result`).
_SPLIT_STALL = 10.0


class _Split:
    def __init__(self, background: Any, search_from: int, pieces: _FilePieces) -> None:
        self.background = background
        self.at: float = search_from  # where the other process's items start, once located
        self.pieces = pieces
        self.known = False
        self.started = time.monotonic()

    def located(self) -> bool:
        """Whether `at` is where the other process's items start; the first time, waits for
        the other process to say and moves `at` there (or to never), then returns False."""
        if self.known:
            return True
        self.known = True
        word = self.background.word(_WORD_WAIT)
        if word is None or len(word) != _OFFSET.size:
            self.at = _NEVER
            self.cancel()
        else:
            self.at = _OFFSET.unpack(word)[0]
        return False

    def result(self) -> Any:
        """The other process's items, or None (then this process reads the rest itself): also
        when it has not handed them over within `_SPLIT_STALL` seconds and twice the time this
        process took to get here, about what reading the rest would take, so that a stuck
        process never holds the audit up for long."""
        stall = _SPLIT_STALL + 2 * (time.monotonic() - self.started)
        try:
            return self.background.result("reading the snapshot", stall)
        except Exception:  # noqa: BLE001 - then this process reads the rest itself
            return None

    def cancel(self) -> None:
        self.background.close()


def _read_tail(path: str, start: int, max_depth: int, ahead: int, tell: Any) -> Any:
    """In the other process: the items from the first place at or after `start` where a list's
    items start (see above), with their height, escapes and the rest of the text; None if
    there is none."""
    gc.disable()  # as `_read_fast` reads: this process ends once it has handed the items over
    with open(path, "rb") as fh:
        fh.seek(start)
        look = fh.read(_SPLIT_LOOK_BYTES)
        for match in _ITEM_START.finditer(look):
            at = start + match.end() - 1
            fh.seek(at)
            # A small first read: most places tried are not where an item starts.
            reader = _FastReader(_FilePieces(fh, READ_BYTES, 1 << 16), max_depth, ahead)
            try:
                items, height, escapes, rest = reader.rest_of_list(
                    SPLIT_PROBE,
                    lambda: tell(_OFFSET.pack(at)),  # noqa: B023 - called at once
                )
            except _NotHere:
                continue
            # Marshalled (JSON's types are marshal's): written several times faster than
            # pickled, and read about as fast.
            return marshal.dumps(items), height, escapes, rest
    return None


def _read_split(path: str, max_depth: int = MAX_DEPTH) -> Any:
    """The file at `path` read fast (`_read_fast`), its top list shared with another process
    when the file is large enough and one can be started (see `_Split`)."""
    from functools import partial

    from prodcheck import fanout

    ahead = READ_BYTES // 128
    size = os.path.getsize(path)
    background = None
    if size >= SPLIT_FROM:
        start = int(size * SPLIT_AT)
        background = fanout.in_background(partial(_read_tail, path, start, max_depth, ahead))
    with open(path, "rb") as fh:
        pieces = _FilePieces(fh, READ_BYTES)
        if background is None:
            return _read_fast(pieces, max_depth, ahead)
        try:
            return _read_fast(pieces, max_depth, ahead, _Split(background, start, pieces))
        finally:
            background.close()


def parse_json(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `text` strictly; raise `InvalidJson` or `json.JSONDecodeError`."""
    try:
        return _read_fast(iter((text,)), max_depth)
    except _Unread:
        return parse_json_long(text, max_depth)


def read_json(
    path: str | Path,
    kind: str,
    fix: str,
    missing: str = "check the path",
    split: bool = False,
) -> tuple[Any, str]:
    """The parsed content of `path` ('-' is standard input) and the name to use for it in messages.

    `kind` says what the file should be ("snapshot", "report"); `fix` is the advice appended to
    a JSON syntax error (how to produce the file again), `missing` to a missing file.

    A file is read fast, a few megabytes at a time; a file the fast reading does not vouch for
    is read again whole, the long way, which gives every refusal its message. With `split`, a
    large file's list at the top is read by two processes where forking is safe (see
    `_Split`), to the same document. Standard input
    and pipes, which cannot be read twice, are read whole first.
    """
    source = str(path)
    # Only a regular file can be read a second time, the long way; a pipe is read whole first.
    again = source != "-" and Path(path).is_file()
    try:
        if source == "-":
            text = sys.stdin.read()
            source = "standard input"
        else:
            if again:
                try:
                    if split:
                        return _read_split(str(path)), source
                    with open(path, "rb") as fh:
                        return _read_fast(
                            _FilePieces(fh, READ_BYTES), ahead=READ_BYTES // 128
                        ), source
                except _Unread:
                    pass
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
        doc = parse_json_long(text) if again else parse_json(text)
        return doc, source
    except json.JSONDecodeError as exc:
        hint = (
            "the file looks truncated" if exc.pos >= len(text.rstrip()) else "the JSON is malformed"
        )
        raise UserError(
            f"{kind} {source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
            f"{hint}; {fix}"
        ) from None
    except InvalidJson as exc:
        raise UserError(f"{kind} {source} is refused: {exc}; {fix}") from None
    except ValueError as exc:  # anything else the decoder refuses
        raise UserError(f"{kind} {source} is not valid JSON ({exc}); {fix}") from None


def dumps_indented(
    value: Any, sort_keys: bool = True, end: str = "", release: Collection[str] = ()
) -> str:
    """`json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False) + end`, byte for byte.

    The standard library writes indented JSON with its pure-Python encoder, a generator per
    object; a report of 100,000 findings spends seconds there. This writes the same text from
    the same encoders of strings and numbers, in one pass. A value it does not know (a key that
    is not a string, a type JSON does not have) is handed to `json.dumps` whole, which encodes
    or refuses it as it always did.

    `release` names members of the object `value` that are lists built only to be written:
    each gives up its items as they are written (left as None), so that a report's findings
    are not held twice, as objects and as text. Whatever `json.dumps` must write is then
    handed to it item by item, which gives the same text.
    """
    parts: list[str] = []
    if release and isinstance(value, dict) and all(isinstance(key, str) for key in value):
        _dump_releasing(value, parts, sort_keys, release)
        parts.append(end)
        return "".join(parts)
    try:
        _dump(value, parts, 0, sort_keys)
    except _NotPlain:
        return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False) + end
    parts.append(end)
    return "".join(parts)


def iter_indented(
    value: Any,
    sort_keys: bool = True,
    end: str = "",
    release: Collection[str] = (),
    levels: int = 2,
) -> Iterator[str]:
    """The text of `dumps_indented(value, sort_keys, end, release)`, in pieces, as it is written.

    Objects and lists down to `levels` deep are written member by member, and everything deeper
    is one piece (a report's finding), so that a report is written to its file while it is
    written out and its text never exists whole. What `json.dumps` must write is handed to it
    one such piece at a time, which gives the same text. Members of the top object named in
    `release` give up their items as they are written (see `dumps_indented`).
    """
    yield from _pieces(value, 0, sort_keys, levels, release, False)
    if end:
        yield end


def _pieces(
    value: Any,
    level: int,
    sort_keys: bool,
    levels: int,
    release: Collection[str],
    releasing: bool,
) -> Iterator[str]:
    if levels > 0 and value and not isinstance(value, str | int | float):
        if isinstance(value, list | tuple):
            inner = _INDENTS[level + 1]
            yield "["
            for n, item in enumerate(value):
                yield inner if n == 0 else "," + inner
                yield from _pieces(item, level + 1, sort_keys, levels - 1, (), False)
                if releasing and isinstance(value, list):
                    value[n] = item = None
            yield _INDENTS[level] + "]"
            return
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            inner = _INDENTS[level + 1]
            yield "{"
            for n, key in enumerate(sorted(value) if sort_keys else value):
                yield (inner if n == 0 else "," + inner) + _encode_string(key) + ": "
                member = value[key]
                frees = level == 0 and key in release and member.__class__ is list
                yield from _pieces(member, level + 1, sort_keys, levels - 1, (), frees)
            yield _INDENTS[level] + "}"
            return
    yield _item_text(value, level, sort_keys)


def _dump_releasing(
    doc: dict[str, Any], parts: list[str], sort_keys: bool, release: Collection[str]
) -> None:
    if not doc:
        parts.append("{}")
        return
    parts.append("{")
    for n, key in enumerate(sorted(doc) if sort_keys else doc):
        parts.append(_INDENTS[1] if n == 0 else "," + _INDENTS[1])
        parts.append(_encode_string(key))
        parts.append(": ")
        member = doc[key]
        if key in release and member.__class__ is list and member:
            parts.append("[")
            for i, item in enumerate(member):
                parts.append(_INDENTS[2] if i == 0 else "," + _INDENTS[2])
                parts.append(_item_text(item, 2, sort_keys))
                member[i] = item = None
            parts.append(_INDENTS[1])
            parts.append("]")
        else:
            parts.append(_item_text(member, 1, sort_keys))
    parts.append(_INDENTS[0])
    parts.append("}")


def _item_text(value: Any, level: int, sort_keys: bool) -> str:
    """`value` written as `dumps_indented` writes it at `level` of a document."""
    parts: list[str] = []
    try:
        _dump(value, parts, level, sort_keys)
    except _NotPlain:
        # The standard library escapes every line feed inside a string: each one in its text
        # starts a line, to be indented by `level`.
        text = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)
        return text.replace("\n", _INDENTS[level])
    return "".join(parts)


class _NotPlain(Exception):
    """A value `dumps_indented` leaves to `json.dumps`."""


_encode_string = json.encoder.encode_basestring
_INDENTS = ["\n" + "  " * level for level in range(MAX_DEPTH + 2)]


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return float.__repr__(value)


def _numbers_text(items: list[Any] | tuple[Any, ...]) -> list[str] | None:
    """The text of each item of a list of finite floats, or of ints, as `_dump` writes them;
    None for any other list."""
    kind = type(items[0])
    if kind is float and all(type(v) is float for v in items):
        texts = list(map(float.__repr__, items))
        if "nan" in texts or "inf" in texts or "-inf" in texts:
            return None
        return texts
    if kind is int and all(type(v) is int for v in items):
        return list(map(int.__repr__, items))
    return None


# The text of a value of exactly these types needs no call of `_dump` (the common leaves).
_LEAF_TEXT: dict[type, Callable[[Any], str]] = {
    str: _encode_string,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda value: "null",
}


def _dump(value: Any, parts: list[str], level: int, sort_keys: bool) -> None:
    # A dict first (a report is mostly dicts), each leaf of exactly a str, int, bool or None
    # written on the spot; anything else by json's own order of tests below (a str or int
    # subclass is written as one).
    # A dict subclass cannot also be a str, int or float, so testing dicts first changes nothing.
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        if level + 1 >= len(_INDENTS):
            raise _NotPlain
        for key in value:
            if not isinstance(key, str):
                raise _NotPlain
        inner = _INDENTS[level + 1]
        parts.append("{")
        before = inner
        leaf = _LEAF_TEXT.get
        for key in sorted(value) if sort_keys else value:
            item = value[key]
            text = leaf(type(item))
            if text is not None:
                parts.append(before + _encode_string(key) + ": " + text(item))
            else:
                parts.append(before + _encode_string(key) + ": ")
                _dump(item, parts, level + 1, sort_keys)
            before = "," + inner
        parts.append(_INDENTS[level] + "}")
        return
    if isinstance(value, str):
        parts.append(_encode_string(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_float_text(value))
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        if level + 1 >= len(_INDENTS):
            raise _NotPlain
        inner = _INDENTS[level + 1]
        numbers = _numbers_text(value)
        if numbers is not None:  # a metric's series: hundreds of numbers, one a line
            parts.append("[" + inner + ("," + inner).join(numbers) + _INDENTS[level] + "]")
            return
        parts.append("[")
        leaf = _LEAF_TEXT.get
        for n, item in enumerate(value):
            start = len(parts)
            before = inner if n == 0 else "," + inner
            text = leaf(type(item))
            if text is not None:
                parts.append(before + text(item))
                continue
            parts.append(before)
            _dump(item, parts, level + 1, sort_keys)
            if level < 2:
                # An item of a top-level list (a finding) becomes one string: a document of
                # 100,000 findings then holds 100,000 parts, not tens of millions.
                parts[start:] = ["".join(parts[start:])]
        parts.append(_INDENTS[level] + "]")
    else:
        raise _NotPlain
