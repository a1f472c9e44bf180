"""Next.js page data: __NEXT_DATA__, and flight data from its pushes to its resolved rows."""

from __future__ import annotations

import base64
import json
import random
import re
from typing import Any

import pytest
from flight_encoder import Encoder, js_literal, page, pushes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedtool.errors import ParseError
from feedtool.sources import nextjs
from feedtool.sources.nextjs import decode_flight, flight, flight_payload, js_string, next_data, walk


def pushed(*parts: str) -> str:
    """A page pushing each part as a JSON string, as Next.js writes them."""
    return "".join(f"<script>self.__next_f.push([1,{json.dumps(part)}])</script>" for part in parts)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("plain", "plain"),
        (r"a\nb\tc\"d\\e\/f", 'a\nb\tc"d\\e/f'),
        (r"\u00fcber \u003cb\u003e", "über <b>"),
        (r"\ud83d\udd2d", "🔭"),  # a surrogate pair is one character
        (r"x\ud83dy", "x\ufffdy"),  # a lone surrogate is U+FFFD, as TextEncoder makes it
        (r"\x41\'\v\0", "A'\v\0"),  # JavaScript-only escapes
        ("a\\\nb", "ab"),  # a line continuation
        (r"\u{1F52D}!", "🔭!"),
        (r"\q", "q"),  # an unknown escape is the character itself
    ],
    ids=[
        "plain",
        "json-escapes",
        "unicode",
        "surrogate-pair",
        "lone-surrogate",
        "js-only",
        "continuation",
        "braced",
        "q",
    ],
)
def test_js_string(literal: str, value: str) -> None:
    assert js_string(literal) == value


def test_pushes_are_joined_in_order_before_rows_are_split() -> None:
    # Row 1 is cut in the middle of a string, row 2 is a text row cut in a multibyte word.
    page_text = (
        "<script>(self.__next_f=self.__next_f||[]).push([0])</script>"
        + pushed('1:{"title":"Jubi', 'läum","text":"$2"}\n2:T7,Grü')
        + '<script>self.__next_f.push([2,{"form":1}])</script>'
        + pushed("ße")
    )
    assert flight_payload(page_text) == '1:{"title":"Jubiläum","text":"$2"}\n2:T7,Grüße'.encode()
    decoded = flight(page_text)
    assert decoded is not None
    assert decoded.rows == {1: {"title": "Jubiläum", "text": "Grüße"}}
    assert decoded.problems == ()


def test_a_push_quoted_inside_flight_data_is_text() -> None:
    """A page about Next.js may quote a push in its data: only real pushes count."""
    quoted = '0:{"code":"self.__next_f.push([1,\\"x\\"])"}\n'
    decoded = flight(pushed(quoted))
    assert decoded is not None
    assert decoded.rows == {0: {"code": 'self.__next_f.push([1,"x"])'}}


def test_binary_pushes_add_their_bytes() -> None:
    text = '1:{"a":"é"}\n'.encode()
    page_text = pushed("0:[") + f'<script>self.__next_f.push([3,"{base64.b64encode(text).decode()}"])</script>'
    assert flight_payload(page_text) == b"0:[" + text


@pytest.mark.parametrize(
    ("page_text", "message"),
    [
        ('<script>self.__next_f.push([1,"0:{\\"a\\":1}', "push 1 (character 8): expected a complete string"),
        ("<script>self.__next_f.push([1,x])</script>", "push 1 (character 8): expected a complete string"),
        ('<script>self.__next_f.push([3,"%%"])</script>', "push 1 (character 8): not base64"),
    ],
    ids=["unterminated", "not-a-string", "bad-base64"],
)
def test_broken_pushes(page_text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        flight_payload(page_text)


def test_a_page_without_flight_data() -> None:
    assert flight("<html><script>self.__next_f.push([0])</script></html>") is None
    assert flight_payload("<p>nothing</p>") is None


def test_text_rows_count_utf8_bytes_and_end_without_newline() -> None:
    text = "Größe: „5 €“ 🔭" * 100  # 1,500 characters, 2,300 bytes
    payload = f'1:T{len(text.encode()):x},{text}0:["$1","$$1"]\n'.encode()
    assert len(text) != len(text.encode())
    assert decode_flight(payload).rows == {0: [text, "$1"]}


def test_hint_rows_without_an_id_are_skipped() -> None:
    """React before hints had ids wrote ':HL[...]' rows; Next 13.4-14 pages start with them."""
    payload = b':HL["/_next/static/css/app.css","style"]\n0:{"a":"$1"}\n:HL["/font.woff2","font"]\n1:"b"\n'
    assert decode_flight(payload).rows == {0: {"a": "b"}, 1: "b"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"1:T20,short", r"flight row 1 \(byte 0\): T row of 32 bytes, but only 5 follow"),
        (b'0:"x"\nzz:{}\n', r"flight data byte 6: expected a row such as 1f:\.\.\., got b'zz:\{\}\\n'"),
        (b"1:Tzz,abc", r"flight row 1 \(byte 0\): expected a hex length and ',' after T"),
        (b"no colon anywhere", "flight data byte 0: expected a row"),
    ],
    ids=["text-too-short", "bad-id", "bad-length", "no-rows"],
)
def test_broken_rows(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        decode_flight(payload)


def test_references_and_special_strings() -> None:
    payload = b"".join(
        [
            b'2:I["41",["chunk.js"],"Player"]\n',
            b'3:HL["/font.woff2","font"]\n',
            b"4:T3,abc",
            b'5:{"deep":{"list":[10,"$4"]}}\n',
            b'6:"$5"\n',
            b'7:[["a",1],["b",2]]\n',
            b'0:{"ref":"$6","path":"$5:deep:list:1","esc":"$$5","dollar":"$","undef":"$undefined",'
            b'"date":"$D2026-05-26T10:00:00.000Z","big":"$n123456789012345678901234567890",'
            b'"inf":"$Infinity","lazy":"$L2","module":"$2","promise":"$@5","map":"$Q7","set":"$W7",'
            b'"symbol":"$Sreact.suspense","server":"$F1a"}\n',
        ]
    )
    decoded = decode_flight(payload)
    assert decoded.problems == ()
    row = decoded.rows[0]
    deep = {"deep": {"list": [10, "abc"]}}
    assert row == {
        "ref": deep,
        "path": "abc",
        "esc": "$5",
        "dollar": "$",
        "undef": None,
        "date": "2026-05-26T10:00:00.000Z",
        "big": 123456789012345678901234567890,
        "inf": float("inf"),
        "lazy": "$L2",  # an import row: a component, not data
        "module": "$2",
        "promise": deep,
        "map": {"a": 1, "b": 2},
        "set": [["a", 1], ["b", 2]],
        "symbol": "$Sreact.suspense",
        "server": "$F1a",
    }
    assert row["ref"] is row["promise"] is decoded.rows[5]  # shared, not copied


@pytest.mark.parametrize(
    ("payload", "value", "problem"),
    [
        (b'0:{"a":"$9"}\n', {"a": None}, "row 0: $9 refers to a row that is missing or not JSON"),
        (b'0:{"a":"$1"}\n1:{not json}\n', {"a": None}, "row 1 is not JSON"),
        (b'0:{"self":"$0"}\n', {"self": None}, "row 0: $0 refers back to a row that contains it (a cycle)"),
        (b'0:{"a":"$1:x:3"}\n1:{"x":[1]}\n', {"a": None}, "row 0: $1:x:3 names no value in row 1"),
        (b'0:{"a":"$1:x"}\n1:T1,z', {"a": None}, "row 0: $1:x names no value in text row 1"),
    ],
    ids=["missing", "not-json", "cycle", "bad-path", "path-into-text"],
)
def test_unresolvable_references_are_none_with_a_problem(payload: bytes, value: Any, problem: str) -> None:
    decoded = decode_flight(payload)
    assert decoded.rows[0] == value
    assert any(p.startswith(problem) for p in decoded.problems), decoded.problems


def test_cycles_between_rows_are_cut_so_values_stay_trees() -> None:
    decoded = decode_flight(b'0:{"next":"$1"}\n1:{"next":"$2"}\n2:{"next":"$0","end":true}\n')
    assert decoded.rows[0] == {"next": {"next": {"next": None, "end": True}}}
    assert decoded.problems == ("row 2: $0 refers back to a row that contains it (a cycle)",)


def test_hostile_rows_are_bounded() -> None:
    """Deep nesting, long chains and exponential sharing: no recursion, nothing copied."""
    deep = b"0:" + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    assert decode_flight(deep).problems[0].startswith("row 0 is not JSON")
    # A chain of 50,000 rows, each referring to the next.
    chain = b"".join(b'%x:{"n":"$%x"}\n' % (i, i + 1) for i in range(50_000)) + b'%x:"end"\n' % 50_000
    value = decode_flight(chain).rows[0]
    for _ in range(50_000):
        value = value["n"]
    assert value == "end"
    # 40 rows of 10 references each to the next: 10**40 leaves if copied, 40 lists if shared.
    laughs = b"".join(b"%x:[%s]\n" % (i, b",".join([b'"$%x"' % (i + 1)] * 10)) for i in range(40)) + b'28:"lol"\n'
    decoded = decode_flight(laughs)
    assert len(list(walk(*decoded.rows.values()))) == 0  # lists only: no dicts
    assert sum(1 for _ in _containers(decoded.rows[0])) == 40


def _containers(root: Any) -> Any:
    """Each distinct list under root (the walk's own bookkeeping, for lists)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list) and id(node) not in seen:
            seen.add(id(node))
            yield node
            stack.extend(node)


def test_walk_visits_each_shared_object_once_parents_first() -> None:
    shared = {"id": "s"}
    tree = {"a": [shared, {"b": shared}], "c": shared}
    assert [node.get("id", sorted(node)) for node in walk(tree)] == [["a", "c"], "s", ["b"]]


def test_next_data() -> None:
    page_text = '<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"x":1}}}</script>'
    assert next_data(page_text) == {"props": {"pageProps": {"x": 1}}}
    assert next_data("<script>var a = 1;</script>") is None
    with pytest.raises(ParseError, match="__NEXT_DATA__ is not JSON: Expecting"):
        next_data('<script id="__NEXT_DATA__">{broken</script>')
    with pytest.raises(ParseError, match="nested too deeply"):
        next_data(f'<script id="__NEXT_DATA__">{"[" * 100_000}{"]" * 100_000}</script>')


def test_has_page_data() -> None:
    assert nextjs.has_page_data(b'<script id="__NEXT_DATA__">{}</script>')
    assert nextjs.has_page_data(b'<script>self.__next_f.push([1,"0:1\\n"])</script>')
    assert not nextjs.has_page_data(b"<html><body>next</body></html>")


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # no lone surrogates: they are not UTF-8
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_TEXT, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_JSON, seed=st.integers(0, 2**32 - 1), cuts=st.integers(0, 12))
def test_flight_data_round_trip(tree: Any, seed: int, cuts: int) -> None:
    """Whatever a server outlines, escapes, orders and cuts, the decoder reads the same tree back."""
    rng = random.Random(seed)
    stream = Encoder(rng).stream(tree)
    decoded = flight(page(pushes(stream, rng, cuts), rng))
    assert decoded is not None
    assert decoded.problems == ()
    assert decoded.rows[0] == tree


@given(text=_TEXT, seed=st.integers(0, 2**32 - 1))
def test_js_string_reads_what_a_page_writes(text: str, seed: int) -> None:
    assert js_string(js_literal(text, random.Random(seed))[1:-1]) == text
