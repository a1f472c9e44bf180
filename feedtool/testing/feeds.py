"""Synthetic RSS feeds for tests, benchmarks and scripts.

Values go into the XML as written, unescaped, so that a test can put entities,
stray bytes or absurd dates where it wants them; ``extra`` takes raw elements.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from feedtool import namespaces
from feedtool.model import Enclosure, Episode

NAMESPACES = f'xmlns:itunes="{namespaces.ITUNES}" xmlns:atom="{namespaces.ATOM}" xmlns:podcast="{namespaces.PODCAST}"'
_NO_ENCLOSURE = ""


def rfc822(moment: datetime) -> str:
    """A date as RSS writes it.

    >>> rfc822(datetime(2026, 5, 26, 10, tzinfo=UTC))
    'Tue, 26 May 2026 10:00:00 GMT'
    """
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def item(
    n: int,
    *,
    title: str | None = None,
    guid: str | None = None,
    link: str | None = None,
    published: datetime | None = None,
    description: str | None = None,
    enclosure: str | None = None,
    length: int = 1,
    duration: int | None = None,
    extra: str = "",
) -> bytes:
    """One ``<item>``: by default titled "Episode n", GUID "ep-n", with an MP3 enclosure
    (``enclosure=""``: none).

    >>> item(7, enclosure="")
    b'<item><title>Episode 7</title><guid isPermaLink="false">ep-7</guid></item>'
    """
    url = f"https://cdn.example.com/{n}.mp3" if enclosure is None else enclosure
    parts = [
        f"<title>{f'Episode {n}' if title is None else title}</title>",
        f'<guid isPermaLink="false">{f"ep-{n}" if guid is None else guid}</guid>',
        f"<link>{link}</link>" if link is not None else "",
        f"<pubDate>{rfc822(published)}</pubDate>" if published is not None else "",
        f"<description><![CDATA[{description}]]></description>" if description is not None else "",
        f'<enclosure url="{url}" length="{length}" type="audio/mpeg"/>' if url != _NO_ENCLOSURE else "",
        f"<itunes:duration>{duration}</itunes:duration>" if duration is not None else "",
        extra,
    ]
    return f"<item>{''.join(parts)}</item>".encode()


def feed(
    items: bytes | Iterable[bytes],
    *,
    title: str = "Synthetic Show",
    link: str = "https://show.example.com/",
    description: str = "A synthetic show.",
    extra: str = "",
) -> bytes:
    """An RSS 2.0 feed (UTF-8, with the iTunes, Atom and Podcasting 2.0 namespaces) around ``items``."""
    body = items if isinstance(items, bytes) else b"".join(items)
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NAMESPACES}><channel>\n'
        f"<title>{title}</title><link>{link}</link><description>{description}</description>{extra}\n"
    )
    return head.encode() + body + b"</channel></rss>"


_PARAGRAPH = (
    "<p>In this episode we talk about <strong>open models</strong>, evaluation and the "
    'economics of training, with <a href="https://example.org/notes">show notes</a> and '
    "<em>links</em> to everything we mention. Sponsored segments are marked.</p>"
)


def podcast(episodes: int, *, show: str = "Bench Show", seed: int = 0, notes: int = 4000) -> bytes:
    """A complete podcast feed of ``episodes`` items, newest first: every iTunes tag,
    ``notes`` characters of HTML notes each (4 KB by default; many hosts write about
    500); every seventh title mentions "open weights"."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    text = (_PARAGRAPH * (notes // len(_PARAGRAPH) + 1))[:notes]
    site = f"https://bench.example/{seed}"
    items = (
        item(
            n,
            title=f"{show} episode {n}" + (" and open weights" if n % 7 == 0 else ""),
            guid=f"bench-{seed}-{n}",
            link=f"{site}/episodes/{n}",
            published=start + timedelta(hours=n),
            description=text,
            enclosure=f"https://cdn.bench.example/{seed}/{n}.mp3?utm_source=rss",
            length=30_000_000 + n,
            duration=1800 + n % 3600,
            extra=f"<itunes:episode>{n}</itunes:episode><itunes:season>{1 + n // 100}</itunes:season>"
            "<itunes:episodeType>full</itunes:episodeType><itunes:explicit>false</itunes:explicit>"
            f'<itunes:image href="{site}/art/{n}.jpg"/><itunes:keywords>ai, models, research</itunes:keywords>',
        )
        for n in range(episodes, 0, -1)
    )
    channel = (
        f'<atom:link href="{site}/feed.xml" rel="self" type="application/rss+xml"/><language>en</language>'
        '<itunes:author>Bench</itunes:author><itunes:image href="https://bench.example/art.jpg"/>'
        '<itunes:category text="Technology"/><itunes:explicit>false</itunes:explicit>'
    )
    return feed(items, title=show, link=f"{site}/", description="A synthetic show for feedtool's benchmarks.",
                extra=channel)  # fmt: skip


#: The day the test episodes of ``episode()`` count from.
DAY = datetime(2026, 5, 1, 12, tzinfo=UTC)


def episode(n: int, **fields: object) -> Episode:
    """A parsed Episode ``n`` (GUID ``g<n>``, dated ``n`` days after DAY, 10n minutes long), with fields changed."""
    values: dict[str, object] = {
        "guid": f"g{n}",
        "title": f"Episode {n}",
        "published": DAY + timedelta(days=n),
        "duration": 600 * n,
        "enclosure": Enclosure(f"https://cdn.example/{n}.mp3", "audio/mpeg", 1000 * n),
    }
    values.update(fields)
    return Episode(**values)  # type: ignore[arg-type]
