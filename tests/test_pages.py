"""The pages for people (issue 15) without a browser: the browser page lists exactly
its feed's episodes, its form's URL is its feed's query, the QR code decodes to the
feed URL, the pages carry their CSP and no executable markup, private shows stay hidden."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedtool.config import load
from feedtool.refresh import refresh
from feedtool.testing import feeds
from feedtool.web import CSP

BASE = "http://localhost"
KEY = "page-key-0123456789-abcdef&x"
WORDS = ("alpha", "beta", "gamma")
TAGS = ("alpha", "beta", "gamma", "long")


def _episode(n: int) -> bytes:
    words = " ".join(w for i, w in enumerate(WORDS) if n % (i + 2) == 0)
    day = datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(days=n // 2)  # two episodes a day: ties in sort_time
    return feeds.item(
        n,
        title=f"Episode {n} {words}",
        published=day,
        duration=None if n % 7 == 0 else n * 60,
        description=f"<p>Notes of {n}: {words or 'nothing'}</p>",
    )


SITE = """
server: {access_keys: {alice: "%s"}}
shows:
  s:
    sources: [{rss: show.xml}]
    tags:
      alpha: {match: [alpha], fields: [title]}
      beta: {match: [beta], fields: [title]}
      gamma: {match: [gamma], fields: [title]}
      long: {match: ['Episode 1\\d\\d'], fields: [title]}
  p:
    private: true
    title: Private show
    sources: [{rss: show.xml}]
feeds:
  s-alpha: {show: s, title: Alpha only, filter: {tag: alpha, limit: 30}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shows of 130 tagged episodes (three pages), one private, and a named feed."""
    folder = tmp_path_factory.mktemp("pages")
    (folder / "show.xml").write_bytes(feeds.feed(_episode(n) for n in range(1, 131)))
    config = folder / "config.yaml"
    config.write_text(SITE % KEY)
    assert refresh(load(config)).ok
    return config


@pytest.fixture(scope="module")
def client(site: Path) -> FlaskClient:
    from feedtool.web import create_app

    app: Flask = create_app({"FEEDTOOL_CONFIG": str(site), "TESTING": True})
    return app.test_client()


def page(client: FlaskClient, url: str, status: int = 200) -> lxml.html.HtmlElement:
    response = client.get(url)
    assert response.status_code == status, (url, response.data[:300])
    return lxml.html.fromstring(response.get_data(as_text=True))


def listed(client: FlaskClient, url: str) -> tuple[list[str], lxml.html.HtmlElement]:
    """The GUIDs over all pages of a browser URL, and its first page."""
    first = doc = page(client, url)
    guids: list[str] = []
    while True:
        guids += [li.get("data-guid") for li in doc.xpath("//*[@id='episodes']/li[@class='episode']")]
        following = doc.xpath("//*[@id='pages']//a[@rel='next']")
        if not following:
            return guids, first
        doc = page(client, following[0].get("href"))


def feed_guids(client: FlaskClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.data[:300])
    return [guid.text or "" for guid in etree.fromstring(response.data).iter("guid")]


def subscribe_url(doc: lxml.html.HtmlElement) -> str:
    value: str = doc.get_element_by_id("feed-url").get("value")
    assert doc.get_element_by_id("feed-rss").get("href") == value
    return value


def submit(doc: lxml.html.HtmlElement, client: FlaskClient) -> str:
    """The URL a browser goes to when the form is submitted, after the server drops empty values."""
    form = doc.get_element_by_id("filter")
    url = form.get("action") + "?" + urlencode(form.form_values())
    response = client.get(url)
    if response.status_code == 302:  # a browser without JS sends the empty controls too
        url = response.headers["Location"]
        assert all(value for _, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)), url
    return url


# --- one filter path: the page lists the feed's episodes ----------------------------

DATES = st.dates(datetime(2025, 12, 20).date(), datetime(2026, 3, 20).date()).map(lambda d: d.isoformat())
LENGTHS = st.sampled_from(["5m", "30m", "1h", "1h30m", "90m", "2h"])
CONTROLS = st.fixed_dictionaries(
    {},
    optional={
        "tag": st.sets(st.sampled_from(TAGS), min_size=1),
        "exclude_tag": st.sets(st.sampled_from(TAGS), min_size=1),
        "q": st.lists(st.sampled_from([*WORDS, "episode", "ALPHA", "notes"]), min_size=1, max_size=2).map(" ".join),
        "since": DATES,
        "until": DATES,
        "min_duration": LENGTHS,
        "max_duration": LENGTHS,
        "sort": st.just("oldest"),
    },
)


def fill(doc: lxml.html.HtmlElement, controls: dict[str, object]) -> None:
    """Set the form's controls as a person would."""
    form = doc.get_element_by_id("filter")
    for name, value in controls.items():
        if name in ("tag", "exclude_tag"):
            assert isinstance(value, set)
            for tag in value:
                form.get_element_by_id(f"{name}-{tag}").checked = True
        else:
            form.inputs[name].value = value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(controls=CONTROLS)
def test_the_form_gives_the_feed_query_and_the_page_lists_the_feed(
    client: FlaskClient, controls: dict[str, object]
) -> None:
    start = page(client, "/shows/s")
    fill(start, controls)
    url = submit(start, client)
    query = urlsplit(url).query
    guids, first = listed(client, url)
    rss = subscribe_url(first)
    # The page's own URL is the filter: its subscribe URL is the feed of the same query.
    assert rss == f"{BASE}/feeds/s.rss" + (f"?{query}" if query else "")
    assert first.get_element_by_id("feed-atom").get("href") == f"{BASE}/feeds/s.atom" + (f"?{query}" if query else "")
    assert guids == feed_guids(client, rss)
    assert int(first.get_element_by_id("count").get("data-count")) == len(guids)
    # And the page, re-submitted as it is, stays the same filter.
    assert submit(first, client) == url


@pytest.mark.parametrize(
    "query",
    [
        "",
        "tag=alpha",
        "tag=alpha,beta&exclude_tag=gamma",
        "tag=long&sort=oldest",
        "q=Notes+BETA&min_duration=30m&max_duration=1:40:00",
        "since=30d",
        "since=2026-01-10T12:00:00Z&until=2026-02-01",
        "limit=7&sort=oldest",
        "filter_title=Episode%20[0-9]%20",
        "filterout=gamma&filter_case_sensitive=false",
    ],
)
def test_the_page_lists_the_feed_for_any_feed_query(client: FlaskClient, query: str) -> None:
    """Queries the form cannot make (a comma list, a window, regexes, a limit) list the feed too."""
    guids, first = listed(client, "/shows/s" + (f"?{query}" if query else ""))
    assert guids == feed_guids(client, f"/feeds/s.rss?{query}")
    assert guids == feed_guids(client, subscribe_url(first))
    assert submit(first, client).startswith("/shows/s")
    assert listed(client, submit(first, client))[0] == guids


def test_named_feeds_link_to_the_browser_with_their_filter(client: FlaskClient) -> None:
    index = page(client, "/")
    link = next(a for a in index.iter("a") if a.text == "Alpha only")
    assert link.get("href") == "/shows/s?tag=alpha&limit=30"
    guids, first = listed(client, link.get("href"))
    assert guids == feed_guids(client, "/feeds/s-alpha.rss")
    assert "latest 30" in first.get_element_by_id("also").text_content()
    tags = {a.text_content(): a.get("href") for a in index.xpath("//*[@id='s']//a[@class='tag']")}
    assert tags["alpha (65)"] == "/shows/s?tag=alpha"


def test_pages_are_50_episodes_and_page_is_not_a_filter(client: FlaskClient) -> None:
    first = page(client, "/shows/s")
    assert len(first.xpath("//*[@id='episodes']/li")) == 50
    assert first.get_element_by_id("count").text_content().startswith("130 episodes")
    second = page(client, first.xpath("//*[@id='pages']//a[@rel='next']")[0].get("href"))
    assert subscribe_url(second) == f"{BASE}/feeds/s.rss"
    assert second.xpath("//*[@id='pages']//a[@rel='prev']")[0].get("href") == "/shows/s"
    error = page(client, "/shows/s?page=4", 400).get_element_by_id("error").text_content()
    assert error.startswith("page='4':"), error
    assert "from 1 to 3" in error, error


def test_empty_values_redirect_to_the_url_without_them(client: FlaskClient) -> None:
    response = client.get("/shows/s?tag=alpha&q=&since=+&sort=&key=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/shows/s?tag=alpha"
    assert client.get("/shows/s?q=").headers["Location"] == "/shows/s"


@pytest.mark.parametrize("query", ["since=yesterday", "tag=nope", "min_duration=forever", "page=0"])
def test_an_invalid_filter_is_a_400_page_with_the_error_in_the_form(client: FlaskClient, query: str) -> None:
    response = client.get(f"/shows/s?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Security-Policy"] == CSP
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    error = doc.get_element_by_id("error").text_content()
    assert error.startswith(query.split("=")[0] + "="), error
    assert doc.get_element_by_id("count").get("data-count") == "0"
    assert not doc.xpath("//*[@id='feed-url']")
    assert client.get(f"/feeds/s.rss?{query}").status_code == (200 if query == "page=0" else 400)


# --- QR code ------------------------------------------------------------------------


def qr_matrix(svg: etree._Element) -> list[list[bool]]:
    """The modules of segno's SVG: a white square path, then one dark path of
    horizontal lines ("M x y.5 h n m dx dy ..."), in module units."""
    paths = [e for e in svg.iter() if isinstance(e.tag, str) and e.tag.endswith("path")]
    light = next(p for p in paths if p.get("fill"))
    size = int(re.match(r"M0 0h(\d+)v", light.get("d")).group(1))  # type: ignore[union-attr]
    dark = next(p for p in paths if p.get("stroke"))
    matrix = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", dark.get("d")):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            length = float(a) if command == "h" else float(a) - x
            for column in range(int(x), int(x + length)):
                matrix[int(y)][column] = True
            x += length
    return matrix


def decode_qr(doc: lxml.html.HtmlElement) -> str:
    zxingcpp = pytest.importorskip("zxingcpp")
    numpy = pytest.importorskip("numpy")
    svgs = doc.get_element_by_id("qr").xpath(".//*[local-name()='svg']")
    assert len(svgs) == 1
    matrix = numpy.array(qr_matrix(svgs[0]), dtype=bool)
    image = numpy.where(matrix, 0, 255).astype(numpy.uint8).repeat(4, axis=0).repeat(4, axis=1)
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1
    text: str = results[0].text
    return text


@pytest.mark.parametrize("url", ["/shows/s", "/shows/s?tag=alpha&tag=beta&q=notes&since=2026-01-05", "/shows/p"])
def test_the_qr_code_decodes_to_the_rss_url(client: FlaskClient, url: str) -> None:
    if url == "/shows/p":
        url += "?" + urlencode({"key": KEY})
    doc = page(client, url)
    assert decode_qr(doc) == subscribe_url(doc)


# --- headers and markup -------------------------------------------------------------


def first_episode(client: FlaskClient) -> str:
    href: str = page(client, "/shows/s").xpath("//*[@id='episodes']//a[@class='title']")[0].get("href")
    return href


def all_pages(client: FlaskClient) -> Iterator[str]:
    yield from ("/", "/shows/s", "/shows/s?tag=alpha&page=2", "/shows/s?since=never", first_episode(client))
    yield "/?" + urlencode({"key": KEY})
    yield "/shows/p?" + urlencode({"key": KEY})


def assert_no_executable_markup(body: str, where: str) -> None:
    doc = lxml.html.fromstring(body)
    for script in doc.iter("script"):
        assert script.get("src"), (where, etree.tostring(script))
        assert not (script.text or "").strip(), (where, etree.tostring(script))
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (where, element.tag, name)
            assert name.lower() != "style", (where, element.tag)
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "data"):
                assert not re.sub(r"\s", "", value).lower().startswith(("javascript:", "data:", "vbscript:")), (
                    where,
                    value,
                )
        assert element.tag not in ("iframe", "object", "embed", "style", "base", "meta") or (
            element.tag == "meta" and set(element.attrib) <= {"charset", "name", "content"}
        ), (where, element.tag)


def test_every_page_has_the_csp_and_no_inline_script_or_style(client: FlaskClient) -> None:
    for url in all_pages(client):
        response = client.get(url)
        assert response.status_code in (200, 400), url
        assert response.headers["Content-Security-Policy"] == CSP, url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer"), url
        body = response.get_data(as_text=True)
        assert "<style" not in body, url
        assert " style=" not in body, url
        assert_no_executable_markup(body, url)
    scripts = page(client, "/shows/s").xpath("//script")
    assert [(s.get("src"), s.get("defer") is not None) for s in scripts] == [("/static/feedtool.js", True)]
    css = client.get("/static/feedtool.css")
    css.close()
    assert css.status_code == 200
    assert css.content_type.startswith("text/css")


def test_the_form_controls_are_labelled(client: FlaskClient) -> None:
    doc = page(client, "/shows/s")
    labelled = {label.get("for") for label in doc.iter("label")}
    for control in doc.get_element_by_id("filter").inputs:
        if control.get("type") != "hidden":
            assert control.get("id") in labelled, control.get("name")
    assert doc.get_element_by_id("feed-url").get("id") in labelled


def test_the_episode_page(client: FlaskClient) -> None:
    first = page(client, "/shows/s").xpath("//*[@id='episodes']/li[@class='episode']")[0]
    href = first.xpath(".//a[@class='title']")[0].get("href")
    assert href == f"/shows/s/episodes/{first.get('data-id')}"
    doc = page(client, href)
    audio = doc.xpath("//audio")[0]
    assert (audio.get("controls"), audio.get("preload")) == ("", "none")
    assert audio.get("src") == "https://cdn.example.com/130.mp3"
    assert doc.xpath("//*[@class='notes']//p")[0].text_content() == "Notes of 130: alpha"
    assert doc.xpath("//time")[0].get("datetime") == "2026-03-07T09:00:00Z"
    assert [a.get("href") for a in doc.xpath("//ul[@class='tags']//a")] == ["/shows/s?tag=alpha", "/shows/s?tag=long"]
    assert doc.xpath("//*[@class='crumbs']//a")[0].get("href") == "/shows/s"
    assert client.get("/shows/s/episodes/999999").status_code == 404
    assert client.get("/shows/nope/episodes/1").status_code == 404


def test_app_links_are_only_the_documented_ones(client: FlaskClient) -> None:
    doc = page(client, "/shows/s?tag=alpha")
    apps = {a.get("data-app"): a.get("href") for a in doc.xpath("//*[@id='apps']//a[@class='app']")}
    assert apps == {
        "antennapod": "https://antennapod.org/deeplink/subscribe?url=http%3A%2F%2Flocalhost%2Ffeeds%2Fs.rss%3Ftag%3Dalpha",
        "pocketcasts-android": "pktc://subscribe/localhost/feeds/s.rss?tag=alpha",
        "pocketcasts-ios": "pktc://subscribe/http://localhost/feeds/s.rss?tag=alpha",
        "gpodder": "gpodder:http://localhost/feeds/s.rss?tag=alpha",
    }


# --- caching ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/shows/s?tag=alpha", "episode", "/shows/p?key=" + KEY.replace("&", "%26")])
def test_pages_are_conditional(client: FlaskClient, url: str) -> None:
    url = first_episode(client) if url == "episode" else url
    response = client.get(url)
    etag = response.headers["ETag"]
    assert response.headers["Cache-Control"] == ("private, no-cache" if "/p" in url else "no-cache")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["Content-Security-Policy"] == CSP
    other = client.get(url + ("&" if "?" in url else "?") + "sort=oldest")
    assert other.headers["ETag"] != etag
    assert (
        client.get(url + ("&" if "?" in url else "?") + "sort=oldest", headers={"If-None-Match": etag}).status_code
        == 200
    )


def test_the_index_is_conditional_per_listener_and_changes_with_the_store(
    tmp_path: Path, client_for: Callable[[Path], FlaskClient]
) -> None:
    (tmp_path / "a.xml").write_bytes(feeds.feed(feeds.item(1)))
    config = tmp_path / "config.yaml"
    config.write_text("shows: {a: {sources: [{rss: a.xml}]}}\n")
    assert refresh(load(config)).ok
    client = client_for(config)
    first = client.get("/")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/", headers={"If-None-Match": etag})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    assert again.headers["Content-Security-Policy"] == CSP
    # A refresh that stores something new is a new page.
    (tmp_path / "a.xml").write_bytes(feeds.feed(feeds.item(2) + feeds.item(1)))
    assert refresh(load(config)).ok
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


# --- private shows ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "?key=wrong", "?tag=alpha", "?since=never", "?q=", "/episodes/1"])
def test_a_private_show_without_its_key_is_the_404_of_an_unknown_show(client: FlaskClient, suffix: str) -> None:
    hidden = client.get(f"/shows/p{suffix}")
    unknown = client.get(f"/shows/nope{suffix}")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_data(as_text=True) == unknown.get_data(as_text=True).replace("nope", "p")
    assert {k: v for k, v in hidden.headers.items() if k != "Content-Length"} == {
        k: v for k, v in unknown.headers.items() if k != "Content-Length"
    }
    assert "Private show" not in page(client, "/", 200).text_content()


def test_a_private_show_carries_its_key_in_links_never_in_text(client: FlaskClient) -> None:
    keyq = urlencode({"key": KEY})
    response = client.get(f"/shows/p?q=alpha&{keyq}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert KEY not in doc.text_content()
    assert KEY not in "".join(doc.itertext())
    # every link within the site carries it
    internal = [a.get("href") for a in doc.iter("a") if a.get("href", "").startswith(("/", BASE))]
    assert internal
    for href in internal:
        if not href.startswith("#"):
            assert ("key", KEY) in parse_qsl(urlsplit(href).query), href
    assert doc.xpath("//*[@id='filter']//input[@name='key']")[0].get("value") == KEY
    rss = subscribe_url(doc)
    assert rss == f"{BASE}/feeds/p.rss?q=alpha&{keyq}"
    assert submit(doc, client) == f"/shows/p?q=alpha&{keyq}"
    assert listed(client, f"/shows/p?q=alpha&{keyq}")[0] == feed_guids(client, rss)
    # no app that sends the feed URL to its own servers
    assert {a.get("data-app") for a in doc.xpath("//*[@id='apps']//a")} == {"antennapod", "gpodder"}
    episode = page(client, doc.xpath("//*[@id='episodes']//a[@class='title']")[0].get("href"))
    assert KEY not in "".join(episode.itertext())
    index = page(client, f"/?{keyq}")
    assert index.xpath("//*[@id='p']//h2/a")[0].get("href") == f"/shows/p?{keyq}"


# --- hostile content and queries ----------------------------------------------------

EVIL_ITEM = feeds.item(
    1,
    title="&lt;script&gt;alert('t')&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
    description='<p onclick="x()">Hi<script>alert(\'d\')</script><a href="javascript:alert(1)">a</a>'
    "<img src=x onerror=\"alert('i')\"><svg onload=alert(1)></svg><style>p{}</style></p>",
    link="javascript:alert(2)",
    enclosure="javascript:alert(3)",
    extra="<category>&lt;script&gt;alert('c')&lt;/script&gt;</category>"
    '<itunes:keywords>"&gt;&lt;b onmouseover=x&gt;</itunes:keywords>',
)


@pytest.fixture
def evil_client(tmp_path: Path, client_for: Callable[[Path], FlaskClient]) -> FlaskClient:
    body = feeds.feed(
        EVIL_ITEM + feeds.item(2),
        title="Evil &lt;script&gt;alert('show')&lt;/script&gt;",
        description="&lt;img src=x onerror=alert('desc')&gt;About",
        extra="<itunes:image href=\"javascript:alert('img')\"/>",
    )
    (tmp_path / "evil.xml").write_bytes(body)
    config = tmp_path / "config.yaml"
    config.write_text("shows: {evil: {sources: [{rss: evil.xml}], tags: {hi: {match: [Hi]}}}}\n")
    assert refresh(load(config)).ok
    return client_for(config)


HOSTILE_VALUES = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "' onfocus='alert(1)' autofocus='",
    "javascript:alert(1)",
    "</textarea><img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_content_and_queries_make_no_executable_markup(evil_client: FlaskClient, value: str) -> None:
    urls = ["/", "/shows/evil", "/shows/evil/episodes/1", "/shows/evil/episodes/2"]
    urls += [f"/shows/evil?{urlencode({name: value})}" for name in ("q", "since", "tag", "min_duration", "filter")]
    urls += [f"/shows/evil?{urlencode({'q': value, 'filter_title': value, 'limit': '5'})}"]
    for url in urls:
        response = evil_client.get(url)
        assert response.status_code in (200, 400), url
        body = response.get_data(as_text=True)
        assert_no_executable_markup(body, url)
        assert "<script>alert" not in body, url
        assert "<svg onload" not in body, url
        assert "<img src=x" not in body, url
    shown = page(evil_client, "/shows/evil?" + urlencode({"q": value}))
    assert shown.get_element_by_id("q").get("value") == value
