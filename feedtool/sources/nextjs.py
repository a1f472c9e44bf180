"""Next.js page data: the ``__NEXT_DATA__`` JSON of older pages, and the React Server
Components "flight" data that App Router pages push in ``self.__next_f.push([1, "..."])``.

Flight data is one byte stream that the page hands over in script strings cut at
arbitrary points, so the strings are joined in order before anything is parsed (as
Next.js's client does): ``[1, "<text>"]`` adds the UTF-8 bytes of the string,
``[3, "<base64>"]`` adds bytes, ``[0]`` and ``[2, ...]`` add nothing. The stream is a
sequence of rows ``<hex id>:<payload>`` (React's ReactFlightClient):

- ``<id>:T<hex length>,<text>``: a text row of exactly that many UTF-8 bytes, with no
  newline after it; React moves strings of 1,024 characters or more into one;
- ``<id>:<JSON>`` then a newline: a model row;
- ``<id>:<capital letter>...`` then a newline (an import, a hint, an error, ...), or a
  binary row with a length like a text row: not data, skipped; so are the hint rows
  that older React writes without an id (``:HL[...]``).

In a model row a string that starts with ``$`` is special: ``"$<hex id>"`` refers to
another row's value (newer React may add ``:key:key`` to go into it), ``"$$..."`` is a
literal string starting with ``$``, ``"$L<id>"`` and ``"$@<id>"`` are a lazy value and a
promise (another row's value, when the page has it), ``"$undefined"``, ``"$D<ISO
date>"`` (kept as its text), ``"$n<digits>"`` (an integer), ``"$NaN"``, ``"$Infinity"``,
``"$-Infinity"``, ``"$-0"``; ``"$Q<id>"`` and ``"$W<id>"`` are a Map and a Set whose
entries are another row. Other ``$`` strings (symbols, server references, ...) stay as
they are.

The work is bounded by the size of the page, whatever it holds: every row is read
once, a reference shares its target's value instead of copying it, a reference that
would close a cycle becomes None (with a problem noted), and nothing recurses.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from feedtool.errors import ParseError

#: A hostile page could have a problem per row; a Flight keeps at most this many.
MAX_PROBLEMS = 20

_NEXT_DATA = re.compile(
    r"<script\b[^>]*\bid\s*=\s*[\"']?__NEXT_DATA__[\"']?[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)
_PUSH = re.compile(r"self\.__next_f\.push\(\s*\[\s*(\d{1,3})\s*(,?)\s*")
# A JavaScript string literal; possessive, so an unterminated one fails in linear time.
_STRING = re.compile(r'"((?:[^"\\]|\\.)*+)"', re.DOTALL)
_ESCAPE = re.compile(r"\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(\r\n|[\s\S]))")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_LINE_CONTINUATIONS = frozenset({"\n", "\r", "\r\n", "\u2028", "\u2029"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_STRING = json.JSONDecoder(strict=False)

_ROW_ID = re.compile(rb"[0-9a-fA-F]{1,16}")
# Rows whose length is given in hex before a comma: text, then React's binary rows.
_LENGTH_TAGS = frozenset(b"TABCcUSsLlFDNmV")
_REFERENCE = re.compile(r"\$([L@QW]?)([0-9a-f]{1,16})((?::[^:]*)*)")
_BIG_INT = re.compile(r"-?[0-9]{1,1000}")
_NUMBERS = {"$NaN": float("nan"), "$Infinity": float("inf"), "$-Infinity": float("-inf"), "$-0": -0.0}


@dataclass(frozen=True)
class Flight:
    """A page's flight data: each model row's value, references resolved.

    Values may share parts (a row referred to twice is one object): walk them with
    ``walk``, which visits each part once.
    """

    rows: Mapping[int, Any]  # model rows by id, in page order
    problems: tuple[str, ...] = ()  # what could not be read: a row that is not JSON, a missing or cyclic reference


@dataclass
class _Hole:
    """A place in a row's value that another row fills."""

    container: list[Any] | dict[str, Any]
    key: Any
    target: int
    path: tuple[str, ...]
    how: Literal["value", "lazy", "map", "set"]
    original: str


@dataclass
class _Rows:
    texts: dict[int, str] = field(default_factory=dict)
    models: dict[int, bytes] = field(default_factory=dict)
    others: set[int] = field(default_factory=set)  # imports, hints, binary data, ...: not data
    problems: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


def next_data(page: str) -> Any:
    """The JSON of an older page's ``__NEXT_DATA__`` script; None if it has none."""
    match = _NEXT_DATA.search(page)
    if match is None:
        return None
    body = match.group(1).strip()
    try:
        return json.loads(html.unescape(body) if body.startswith("&") else body)
    except json.JSONDecodeError as exc:
        raise ParseError(f"the page's __NEXT_DATA__ is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ParseError("the page's __NEXT_DATA__ is nested too deeply to read") from exc


def flight_payload(page: str) -> bytes | None:
    """The flight data stream of an App Router page (its pushes joined); None if it has none."""
    parts: list[bytes] = []
    at = 0
    number = 0
    while (match := _PUSH.search(page, at)) is not None:
        number += 1
        at = match.end()
        kind, comma = int(match.group(1)), match.group(2)
        if kind not in (1, 3) or not comma:
            continue
        literal = _STRING.match(page, match.end())
        if literal is None:
            raise ParseError(
                f"flight data push {number} (character {match.start()}): expected a complete string after [{kind},"
            )
        at = literal.end()  # the search goes on after the string: its text may quote a push
        text = js_string(literal.group(1))
        if kind == 1:
            parts.append(text.encode("utf-8"))
        else:
            try:
                parts.append(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise ParseError(f"flight data push {number} (character {match.start()}): not base64: {exc}") from exc
    return b"".join(parts) if parts else None


def flight(page: str) -> Flight | None:
    """The flight data of an App Router page, decoded; None if it has none."""
    payload = flight_payload(page)
    return None if payload is None else decode_flight(payload)


def decode_flight(payload: bytes) -> Flight:
    """Split a flight data stream into rows and resolve the references between them."""
    rows = _split(payload)
    boxes: dict[int, list[Any]] = {}
    holes: dict[int, list[_Hole]] = {}
    for row_id, raw in rows.models.items():
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            rows.problem(f"row {row_id:x} is not JSON: {str(exc)[:80] or type(exc).__name__}")
            continue
        boxes[row_id] = [value]
        holes[row_id] = _scan(boxes[row_id])
    _resolve(boxes, holes, rows)
    return Flight(rows={row_id: box[0] for row_id, box in boxes.items()}, problems=tuple(rows.problems))


def walk(*roots: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``roots``, parents before children, each shared one once."""
    seen: set[int] = set()
    stack: list[Any] = list(reversed(roots))
    while stack:
        node = stack.pop()
        if not isinstance(node, (dict, list)) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        else:
            stack.extend(reversed(node))


def has_page_data(body: bytes) -> bool:
    """Whether a body carries Next.js page data in either format (a cheap look, no parse)."""
    return b"__NEXT_DATA__" in body or b"self.__next_f.push(" in body


def js_string(body: str) -> str:
    r"""The value of a JavaScript string literal's body (between its quotes).

    Lone surrogates become U+FFFD, as a browser's TextEncoder makes them before React
    counts the bytes of a text row.

    >>> js_string(r"caf\u00e9 \ud83d\udd2d \x41\'\/")
    "café 🔭 A'/"
    """
    if "\\" not in body:
        value = body
    else:
        try:
            value = _JSON_STRING.decode(f'"{body}"')  # the common case: Next.js writes JSON
        except json.JSONDecodeError:
            value = _ESCAPE.sub(_unescape, body)  # JavaScript-only escapes
    if _SURROGATE.search(value):
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def _unescape(match: re.Match[str]) -> str:
    braced, four, two, single = match.groups()
    if braced is not None:
        code = int(braced, 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"
    if four is not None or two is not None:
        return chr(int(four or two, 16))
    if single in _LINE_CONTINUATIONS:
        return ""
    return _SIMPLE_ESCAPES.get(single, single)


def _split(payload: bytes) -> _Rows:
    """The rows of a flight data stream: text rows decoded, model rows as bytes."""
    rows = _Rows()
    end = len(payload)
    at = 0
    while at < end:
        if payload[at] in b"\r\n \t":  # blank lines between rows are harmless
            at += 1
            continue
        colon = payload.find(b":", at, at + 17)
        if colon == at:  # a row without an id: React's hints (":HL[...]") before hints had ids
            newline = payload.find(b"\n", at)
            at = end if newline < 0 else newline + 1
            continue
        if colon < 0 or not _ROW_ID.fullmatch(payload, at, colon):
            raise ParseError(f"flight data byte {at}: expected a row such as 1f:..., got {payload[at : at + 24]!r}")
        row_id = int(payload[at:colon], 16)
        tag = payload[colon + 1] if colon + 1 < end else 0
        if tag in _LENGTH_TAGS:
            comma = payload.find(b",", colon + 2, colon + 19)
            if comma < 0 or not _ROW_ID.fullmatch(payload, colon + 2, comma):
                raise ParseError(f"flight row {row_id:x} (byte {at}): expected a hex length and ',' after {chr(tag)}")
            start = comma + 1
            stop = start + int(payload[colon + 2 : comma], 16)
            if stop > end:
                raise ParseError(
                    f"flight row {row_id:x} (byte {at}): {chr(tag)} row of {stop - start} bytes, "
                    f"but only {end - start} follow"
                )
            if tag == ord("T") and row_id not in rows.texts:
                rows.texts[row_id] = payload[start:stop].decode("utf-8", errors="replace")
            elif tag != ord("T"):
                rows.others.add(row_id)
            at = stop
            continue
        newline = payload.find(b"\n", colon + 1)
        stop = end if newline < 0 else newline
        if 65 <= tag <= 90:  # an import, hint, error, ... row
            rows.others.add(row_id)
        elif row_id not in rows.models:
            rows.models[row_id] = payload[colon + 1 : stop]
        at = stop + 1
    return rows


def _scan(box: list[Any]) -> list[_Hole]:
    """Replace a parsed row's special strings in place; references become holes to fill."""
    holes: list[_Hole] = []
    stack: list[list[Any] | dict[str, Any]] = [box]
    while stack:
        container = stack.pop()
        keys: Iterable[Any] = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            value = container[key]
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif isinstance(value, str) and len(value) > 1 and value[0] == "$":
                container[key] = _special(value, container, key, holes)
    return holes


def _special(value: str, container: list[Any] | dict[str, Any], key: Any, holes: list[_Hole]) -> Any:
    """What a ``$`` string stands for; a reference is registered as a hole (None until filled)."""
    marker = value[1]
    if marker == "$":
        return value[1:]
    if value == "$undefined":
        return None
    if marker == "D":
        return value[2:]
    if value in _NUMBERS:
        return _NUMBERS[value]
    if marker == "n" and _BIG_INT.fullmatch(value, 2):
        try:
            return int(value[2:])
        except ValueError:  # beyond Python's digit limit for int()
            return value
    reference = _REFERENCE.fullmatch(value)
    if reference is None:
        return value
    prefix, target, path = reference.groups()
    how: Literal["value", "lazy", "map", "set"] = (
        "lazy" if prefix in ("L", "@") else "map" if prefix == "Q" else "set" if prefix == "W" else "value"
    )
    segments = tuple(path.split(":")[1:]) if prefix == "" else ()
    holes.append(_Hole(container, key, int(target, 16), segments, how, value))
    return None


def _resolve(boxes: dict[int, list[Any]], holes: dict[int, list[_Hole]], rows: _Rows) -> None:
    """Fill every hole, each row after the rows it refers to (depth first, no recursion).

    A reference back to a row still being filled closes a cycle: it becomes None, so
    the values stay finite trees that share parts.
    """
    done: set[int] = set()
    open_rows: set[int] = set()
    for start in boxes:
        if start in done:
            continue
        open_rows.add(start)
        stack = [(start, iter(holes[start]))]
        while stack:
            row_id, pending = stack[-1]
            for hole in pending:
                if hole.target in boxes and hole.target not in done and hole.target not in open_rows:
                    open_rows.add(hole.target)
                    stack.append((hole.target, iter(holes[hole.target])))
                    break
            else:
                for hole in holes[row_id]:
                    hole.container[hole.key] = _fill(hole, row_id, boxes, done, rows)
                open_rows.discard(row_id)
                done.add(row_id)
                stack.pop()


def _fill(hole: _Hole, row_id: int, boxes: dict[int, list[Any]], done: set[int], rows: _Rows) -> Any:
    target = hole.target
    if target in rows.texts:
        value: Any = rows.texts[target]
        if hole.path:
            rows.problem(f"row {row_id:x}: {hole.original} names no value in text row {target:x}")
            return None
    elif target in boxes and target in done:
        value = boxes[target][0]
        for segment in hole.path:
            if isinstance(value, dict) and segment in value:
                value = value[segment]
            elif isinstance(value, list) and segment.isdecimal() and int(segment) < len(value):
                value = value[int(segment)]
            else:
                rows.problem(f"row {row_id:x}: {hole.original} names no value in row {target:x}")
                return None
    elif hole.how == "lazy" or target in rows.others:
        return hole.original  # a component, a module, binary data: not data, keep the name
    else:
        if target in boxes:
            rows.problem(f"row {row_id:x}: {hole.original} refers back to a row that contains it (a cycle)")
        else:
            rows.problem(f"row {row_id:x}: {hole.original} refers to a row that is missing or not JSON")
        return None
    if hole.how == "map":
        pairs = value if isinstance(value, list) else []
        if all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) for pair in pairs):
            return {pair[0]: pair[1] for pair in pairs}
        return pairs
    if hole.how == "set":
        return list(value) if isinstance(value, list) else []
    return value
