"""A loopback radio.net, written blind (from the issue and Next.js's public source, not
from feedtool's radionet reader or its fixtures), for the acceptance test of issue 12.

It makes API episode objects in the shape radio.net's episode API answers, and from them:

- an old-format page: Next.js Pages Router, ``<script id="__NEXT_DATA__"
  type="application/json">`` holding ``props.pageProps.data.broadcast`` and
  ``props.pageProps.data.episodes = {totalCount, episodes}`` (only the newest few);
- a new-format page: Next.js App Router, React Server Components "flight" data pushed
  in ``<script>self.__next_f.push([1,"..."])</script>`` strings, with the bootstrap push
  ``[0]``, a form-state push ``[2, ...]`` and optionally a binary push ``[3, base64]``;
- a shell: an App Router page whose flight data holds no podcast data at all.

What the encoder relies on (public Next.js and React source):

- next.js ``packages/next/src/server/app-render/use-flight-response.tsx``:
  ``writeInitialInstructions`` writes ``(self.__next_f=self.__next_f||[]).push([0])``
  (then ``;self.__next_f.push([2,formState])`` when there is a form state), and
  ``writeFlightDataInstruction`` writes each chunk of the flight stream as
  ``<script>self.__next_f.push(htmlEscapeJsonString(JSON.stringify([1, chunk])))</script>``,
  or ``[3, base64]`` when the chunk is not UTF-8. The chunks are whatever the stream
  delivered: a row can end in any chunk, but a chunk is decoded with
  ``TextDecoder(..., {stream: true})``, so it never splits a code point.
- next.js ``packages/next/src/server/htmlescape.ts``: ``& > < U+2028 U+2029`` become
  ``\\u0026 \\u003e \\u003c \\u2028 \\u2029`` (also in ``__NEXT_DATA__``).
- React's Flight server (``ReactFlightServer.js``): rows ``<hex id>:<json>\\n``; a string
  of 1,024 UTF-16 units or more is outlined as a text row ``<hex id>:T<hex UTF-8 byte
  length>,<text>`` (no newline) emitted before the row that refers to it as
  ``"$<hex id>"``; a string starting with ``$`` is written ``"$$..."`` (in JSON only: a
  text row holds the raw text); elements are ``["$", type, key, props]``; ``"$L<id>"``
  is a lazy reference (here to a row sent later), ``"$undefined"`` and
  ``"$Sreact.suspense"`` are values; ``<id>:I[...]`` imports client modules and
  ``:HL[...]`` is a hint row without an id.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedtool.testing.servers import Reply, Request, Upstream

PODCAST_ID = "blindtest-weekly"
SHOW_NAME = "Blind Tëst Weekly: Q&A \u2014 a < b, “Café” 🎙"
SHOW_DESCRIPTION = "A show made up for a blind acceptance test.\nSecond line with ü & é."
LOGO_SIZES = ("44x44", "100x100", "175x175", "300x300", "630x630", "1200x1200")
FORMATS = ("audio/mpeg", "audio/mp4", "audio/x-m4a")
FIRST_DATE = 1_700_000_000  # 2023-11-14


def _logo(size: str) -> str:
    return f"https://station-images-prod.radio-assets.com/{size}/{PODCAST_ID}.png?version=4f2c1e"


def _long_description(n: int, first: str) -> str:
    """A plain-text description well over 1,024 UTF-16 units, with non-ASCII and emoji."""
    paragraph = (
        f"Folge {n}: Über die Grenzen der Modelle, mit Gästen aus Zürich und Montréal. "
        "Wir sprechen über Gewichte, Lizenzen und die Frage, ob „offen“ genügt — "
        'a < b && c > d, "quoted", back\\slash, 50 % off, 🎧🚀 and naïve café résumé. '
    )
    lines = [first]
    while sum(len(line) + 1 for line in lines) < 1400:
        lines.append(paragraph + f"(part {len(lines)})")
    lines.insert(2, "")  # a blank line: paragraphs, not one block
    return "\n".join(lines)


def make_episodes(count: int) -> list[dict[str, Any]]:
    """API episode objects, newest first, with the awkward texts spread among them."""
    episodes: list[dict[str, Any]] = []
    for i in range(count):
        n = count - i  # episode number, newest first
        title = f"#{n} Open weights, ü & é — “part {n}”"
        description = f"Episode {n} notes.\nLine two: a<b & c>d.\n\nLast line 🎙 for {n}."
        if n % 7 == 0:
            description = _long_description(n, f"Long notes for episode {n}.")
        if n % 11 == 0:
            title = f"$5 off: episode {n}"  # a string starting with '$'
            description = f"$$ and more: {n}\nsecond line"
        if n % 13 == 0:
            description = _long_description(n, f"$20 tip jar for episode {n}")  # a text row starting with '$'
        if n % 17 == 0:
            description = f"Separated\u2028by a line separator {n}\nand \\u003c is not an escape here"
        slug = f"{n:04d}"
        episode: dict[str, Any] = {
            "id": f"{PODCAST_ID}-{(n * 2654435761) % 2**32:08x}",
            "title": title,
            "description": description,
            "publishDate": FIRST_DATE + n * 86_400 * 3 + 3600 + n,
            "duration": 600 + n * 37,
            "url": f"https://cdn.example-host.com/{PODCAST_ID}/ep{slug}.mp3?listeningSessionID=0CD_382_{n}_abc",
            "parentId": PODCAST_ID,
            "parentTitle": SHOW_NAME,
            "contentFormat": FORMATS[n % 3],
        }
        for size in LOGO_SIZES:
            episode[f"parentLogo{size}"] = _logo(size)
        episodes.append(episode)
    return episodes


def make_broadcast() -> dict[str, Any]:
    """The podcast object as the pages carry it."""
    broadcast: dict[str, Any] = {
        "id": PODCAST_ID,
        "name": SHOW_NAME,
        "description": SHOW_DESCRIPTION,
        "type": "PODCAST",
        "website": "https://blindtest.example.org/",
        "categories": [{"systemName": "technology", "name": "Technology"}],
        "languages": ["English"],
        "hasValidStreams": True,
    }
    for size in LOGO_SIZES:
        broadcast[f"logo{size}"] = _logo(size)
    return broadcast


def html_escape_json(text: str) -> str:
    """Next.js's htmlEscapeJsonString."""
    for char, escaped in (("&", "\\u0026"), (">", "\\u003e"), ("<", "\\u003c")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def js_json(value: Any) -> str:
    """JSON.stringify: no spaces, non-ASCII as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_ld(broadcast: dict[str, Any]) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "PodcastSeries",
        "name": broadcast["name"],
        "author": {"@type": "Person", "name": "Blind Tester"},
        "description": broadcast["description"],
        "image": broadcast["logo300x300"],
        "url": f"https://www.radio.net/podcast/{PODCAST_ID}",
    }
    return '<script type="application/ld+json">' + js_json(data).replace("</", "<\\/") + "</script>"


def old_page(broadcast: dict[str, Any], episodes: Sequence[dict[str, Any]], total: int) -> str:
    """A Pages Router page: __NEXT_DATA__ with data.broadcast and data.episodes."""
    data = {
        "props": {
            "pageProps": {
                "data": {
                    "broadcast": broadcast,
                    "episodes": {"totalCount": total, "episodes": list(episodes)},
                    "similarBroadcasts": [],
                },
                "_sentryTraceData": "0f1e2d",
            },
            "__N_SSP": True,
        },
        "page": "/podcast/[id]",
        "query": {"id": PODCAST_ID},
        "buildId": "xq3cF1_blind",
        "isFallback": False,
        "gssp": True,
        "locale": "en",
        "locales": ["en", "de"],
        "defaultLocale": "en",
        "scriptLoader": [],
    }
    titles = "".join(f"<li>{html.escape(e['title'])}</li>" for e in episodes)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
        f"<title>{html.escape(broadcast['name'])} | radio.net</title>{json_ld(broadcast)}"
        '<script src="/_next/static/chunks/main-1a2b.js" defer=""></script></head>'
        f'<body><div id="__next"><h1>{html.escape(broadcast["name"])}</h1><ul>{titles}</ul></div>'
        '<script id="__NEXT_DATA__" type="application/json">'
        + html_escape_json(js_json(data))
        + "</script></body></html>"
    )


# ---- React Server Components flight data --------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A flight value written as is ("$L5", "$undefined", an element type "$3")."""

    text: str


@dataclass(frozen=True)
class El:
    """A JSX element: ["$", type, key, props]."""

    type: str
    props: dict[str, Any]
    key: str | None = None


@dataclass
class Flight:
    """Flight rows in the order the server streams them."""

    rows: list[str] = field(default_factory=list)
    next_id: int = 0x10  # ids past 0xf, so they take two hex digits

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def encode(self, value: Any) -> Any:
        """A model value as React writes it: long strings outlined, '$' escaped."""
        if isinstance(value, Raw):
            return value.text
        if isinstance(value, El):
            return ["$", value.type, value.key, self.encode(value.props)]
        if isinstance(value, str):
            if len(value.encode("utf-16-le")) // 2 >= 1024:
                text_id = self.new_id()
                size = len(value.encode("utf-8"))
                self.rows.append(f"{text_id:x}:T{size:x},{value}")
                return f"${text_id:x}"
            return "$" + value if value.startswith("$") else value
        if isinstance(value, dict):
            return {key: self.encode(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.encode(item) for item in value]
        return value

    def row(self, row_id: int | str, value: Any) -> None:
        ident = row_id if isinstance(row_id, str) else f"{row_id:x}"
        encoded = self.encode(value)  # text rows it outlines come first
        self.rows.append(f"{ident}:{js_json(encoded)}\n")

    def raw_row(self, text: str) -> None:
        self.rows.append(text)

    def stream(self) -> str:
        return "".join(self.rows)


def _imports(flight: Flight, hints: bool) -> None:
    if hints:  # React's emitHintChunk writes ':H' + code + json + '\\n', without an id
        flight.raw_row(':HL["/_next/static/css/8d1f0c2a.css","style"]\n')
        flight.raw_row(':HL["/_next/static/media/inter.woff2","font",{"crossOrigin":"","type":"font/woff2"}]\n')
    flight.raw_row('1:I["7423",["523","static/chunks/523-aa.js","185","static/chunks/app/layout-bb.js"],""]\n')
    flight.raw_row('2:I["9001",["523","static/chunks/523-aa.js"],"ClientRouter"]\n')
    flight.raw_row('3:"$Sreact.suspense"\n')
    flight.raw_row('4:I["5512",["912","static/chunks/app/podcast/[id]/page-cc.js"],"PodcastHeader"]\n')
    flight.raw_row('5:I["5513",["912","static/chunks/app/podcast/[id]/page-cc.js"],"EpisodeList"]\n')


def _layout(children: Any) -> Any:
    """The root layout around a page's content, several elements deep."""
    return [
        "xq3cF1_blind",
        [
            [
                "children",
                "podcast",
                "children",
                ["id", PODCAST_ID, "d"],
                [
                    El(
                        "html",
                        {
                            "lang": "en",
                            "children": El(
                                "body",
                                {
                                    "className": "__className_1a2b",
                                    "children": [
                                        El("$L1", {"gtmId": "$undefined"}),
                                        El(
                                            "$L2",
                                            {
                                                "parallelRouterKey": "children",
                                                "segmentPath": ["children", "podcast"],
                                                "template": El("div", {"className": "tpl", "children": children}),
                                            },
                                        ),
                                    ],
                                },
                            ),
                        },
                    ),
                    None,
                ],
                None,
            ]
        ],
        [El("meta", {"name": "price", "content": "$9.99 a month"}, key="0")],  # '$$' in a prop
    ]


def new_flight(
    broadcast: dict[str, Any], episodes: Sequence[dict[str, Any]], total: int, *, hints: bool = True
) -> Flight:
    """An App Router page's flight data with the podcast and its newest episodes."""
    flight = Flight()
    _imports(flight, hints)
    lazy_id = flight.new_id()  # the episode list arrives later, as a lazy element
    content = El(
        "main",
        {
            "className": "podcast-page",
            "children": El(
                "$3",
                {
                    "fallback": El("div", {"className": "spinner", "children": "Loading…"}),
                    "children": El(
                        "section",
                        {
                            "children": [
                                El("$L4", {"title": broadcast["name"], "subtitle": "$undefined"}),
                                Raw(f"$L{lazy_id:x}"),
                            ]
                        },
                    ),
                },
            ),
        },
    )
    flight.row(0, _layout(content))
    list_id = flight.new_id()
    flight.row(list_id, {"totalCount": total, "episodes": list(episodes)})
    flight.row(
        lazy_id,
        El(
            "div",
            {
                "className": "grid",
                "children": El(
                    "$L5",
                    {"podcast": broadcast, "episodes": Raw(f"${list_id:x}"), "locale": "en", "isMobile": False},
                ),
            },
        ),
    )
    flight.raw_row('6:[["$","title","0",{"children":"radio.net"}]]\n')
    return flight


def shell_flight(*, hints: bool = True) -> Flight:
    """An App Router shell: layout and a spinner, no podcast data."""
    flight = Flight()
    _imports(flight, hints)
    flight.row(0, _layout(El("div", {"id": "app", "children": El("$L4", {"variant": "skeleton"})})))
    return flight


def _split(stream: str, must: Sequence[int], seed: int) -> list[str]:
    """The stream cut at the given positions and at seeded pseudo-random others."""
    rng = random.Random(seed)
    cuts = set(must)
    position = 0
    while position < len(stream):
        position += rng.randint(80, 700)
        cuts.add(position)
    ordered = sorted(c for c in cuts if 0 < c < len(stream))
    bounds = [0, *ordered, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def awkward_cuts(stream: str, episodes: Sequence[dict[str, Any]]) -> list[int]:
    """Cuts where a joined reading is needed: inside a title (a JSON string), inside a
    text row's text and its header, inside a row id."""
    cuts = []
    title_at = stream.index(js_json(episodes[0]["title"])[1:-1])
    cuts.append(title_at + 5)
    text_row = stream.index(":T")
    cuts += [text_row - 1, text_row + 2, stream.index(",", text_row) + 700]
    second_text = stream.index(":T", text_row + 2)
    cuts.append(second_text + 1)
    return cuts


def flight_page(flight: Flight, cuts: Sequence[int] = (), *, binary_at: int | None = None, ld: str = "") -> str:
    """An App Router HTML page carrying ``flight`` in pushes cut at ``cuts``; with
    ``binary_at`` (a row boundary of the stream), a binary push ``[3, base64]`` there."""
    stream = flight.stream()
    chunks = _split(stream, [*cuts, *([binary_at] if binary_at is not None else [])], seed=12)
    scripts = [
        '<script>(self.__next_f=self.__next_f||[]).push([0]);self.__next_f.push([2,[{"ok":true},"k2f1a","c0ffee",0]])</script>'
    ]
    offset = 0
    for chunk in chunks:
        if offset == binary_at:
            assert stream[offset - 1] == "\n"
            # A chunk the server could not send as text goes as base64 (here a whole,
            # harmless import row, sent at a row boundary).
            row = '1f:I["8080",["77","static/chunks/77-ee.js"],"Analytics"]\n'
            data = base64.b64encode(row.encode()).decode()
            scripts.append(f"<script>self.__next_f.push({html_escape_json(js_json([3, data]))})</script>")
        scripts.append(f"<script>self.__next_f.push({html_escape_json(js_json([1, chunk]))})</script>")
        offset += len(chunk)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
        '<link rel="stylesheet" href="/_next/static/css/8d1f0c2a.css" data-precedence="next"/>'
        '<script src="/_next/static/chunks/webpack-1a.js" async=""></script>'
        f"<title>radio.net</title>{ld}</head>"
        '<body class="__className_1a2b"><main class="podcast-page"><div class="spinner">Loading…</div></main>'
        + "".join(scripts)
        + "</body></html>"
    )


def row_boundary(flight: Flight) -> int:
    """A position in the stream just after the import rows (where the binary push goes)."""
    stream = flight.stream()
    return stream.index("\n", stream.index('5:I["5513"')) + 1


# ---- the API --------------------------------------------------------------------------


def serve_api(upstream: Upstream, episodes: Sequence[dict[str, Any]], *, status: int = 200) -> None:
    """radio.net's episode API on ``upstream``: newest first, honouring count and offset."""

    def answer(request: Request) -> Reply:
        if status != 200:
            return Reply(b'{"error":"unavailable"}', status, {"Content-Type": "application/json"})
        args = request.args
        if args.get("podcastIds") != PODCAST_ID:
            return Reply(js_json({"totalCount": 0, "episodes": []}).encode(), 200, {"Content-Type": "application/json"})
        count = int(args.get("count", "10"))
        offset = int(args.get("offset", "0"))
        body = {"totalCount": len(episodes), "episodes": list(episodes[offset : offset + count])}
        return Reply(js_json(body).encode(), 200, {"Content-Type": "application/json; charset=utf-8"})

    upstream.route("/podcasts/episodes/by-podcast-ids", answer)


def published(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
