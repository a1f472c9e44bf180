"""A small React flight data encoder for tests: a JSON tree -> rows -> self.__next_f pushes.

Written from the format (see feedtool.sources.nextjs), to check that the decoder reads
back whatever a server could send: subtrees moved out to their own rows and referred
to as "$<hex id>", strings moved out to text rows "<id>:T<UTF-8 byte length>,<text>",
strings starting with "$" written "$$...", rows in any order, and the stream cut into
pushes at any points.
"""

from __future__ import annotations

import json
import random
from typing import Any

# Characters Next.js escapes in a script's JSON (htmlEscapeJsonString), plus a JSON choice.
_HTML_ESCAPES = {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}


class Encoder:
    """Encodes one tree; ``rng`` decides what moves to rows, the row order and the cuts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: list[str] = []
        self.next_id = 1

    def stream(self, tree: Any) -> str:
        """The flight data of ``tree`` as row 0, every row in some order."""
        root = f"0:{json.dumps(self.value(tree), ensure_ascii=False, separators=(',', ':'))}\n"
        rows = [*self.rows, root]
        self.rng.shuffle(rows)
        return "".join(rows)

    def value(self, node: Any) -> Any:
        if isinstance(node, str):
            if self.rng.random() < 0.3:
                return self.outline_text(node)
            return "$" + node if node.startswith("$") else node
        if isinstance(node, (list, dict)):
            encoded: Any = (
                [self.value(v) for v in node] if isinstance(node, list) else {k: self.value(v) for k, v in node.items()}
            )
            if self.rng.random() < 0.3:
                return self.outline(encoded)
            return encoded
        return node

    def outline(self, encoded: Any) -> str:
        row = self.new_id()
        self.rows.append(f"{row:x}:{json.dumps(encoded, ensure_ascii=False, separators=(',', ':'))}\n")
        if self.rng.random() < 0.2:  # a chain: a row whose value refers to that row
            chained = self.new_id()
            self.rows.append(f'{chained:x}:"${row:x}"\n')
            row = chained
        return f"${row:x}"

    def outline_text(self, text: str) -> str:
        row = self.new_id()
        self.rows.append(f"{row:x}:T{len(text.encode('utf-8')):x},{text}")
        return f"${row:x}"

    def new_id(self) -> int:
        row = self.next_id
        self.next_id += 1
        return row


def pushes(stream: str, rng: random.Random, cuts: int) -> list[str]:
    """The stream cut at ``cuts`` random points (any character boundary)."""
    points = sorted(rng.randint(0, len(stream)) for _ in range(cuts))
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


def js_literal(text: str, rng: random.Random) -> str:
    """A JavaScript string literal of ``text`` as a page could write it."""
    literal = json.dumps(text, ensure_ascii=rng.random() < 0.3)  # \\uXXXX, surrogate pairs included
    for raw, escaped in _HTML_ESCAPES.items():
        literal = literal.replace(raw, escaped)
    return literal.replace("/", "\\/") if rng.random() < 0.3 else literal


def page(parts: list[str], rng: random.Random) -> str:
    """An HTML page pushing ``parts`` in order, with the bootstrap push and some noise."""
    scripts = "".join(f"<script>self.__next_f.push([1,{js_literal(part, rng)}])</script>\n" for part in parts)
    return (
        "<!DOCTYPE html><html><head><title>t</title></head><body><div>x</div>\n"
        "<script>(self.__next_f=self.__next_f||[]).push([0])</script>\n"
        f"{scripts}<script>self.__next_f.push([2,null])</script></body></html>\n"
    )
