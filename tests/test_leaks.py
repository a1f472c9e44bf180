"""Nothing leaks (issue 14): every kind of secret a config can hold carries a unique
marker, and every byte feedtool prints, logs, writes or serves is scanned for them.

The upstream is real (127.0.0.1) and checks the credentials: sources succeed with
basic auth, a header, a token URL and user info in the URL; one fails on a wrong
password, one answers 500, one redirects to another origin that records what it
received. To cover a new surface, scan its bytes with ``assert_clean``; to cover a
new kind of secret, add its marker to ``MARKERS``.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from feedtool.config import load
from feedtool.testing import feeds
from feedtool.testing.servers import Reply, Request, Upstream
from feedtool.web import create_app

#: One marker per kind of secret; each looks like what it stands for (16+ letters and digits).
MARKERS = {
    "query token": "tokq7d3f1a9b2c4e6",
    "path token": "tokp5e8c2a7d9b1f3",
    "env password": "envpw4b9d1c6a3f8e2",
    "file password": "filepw2c7e9a4b1d6",
    "header value": "hdr8a3f6c1e9b4d7x",
    "user info password": "uipw1d6b8e3a7c9f2",
    "wrong file password": "wrongpw9e2b5d8c1a",
    "access key from the environment": "akeyalice7c2e9b4d1f6",
    "access key from a file": "akeybob3f8a1d6c9e2b7",
}
#: What only a listener with a key may see: the private show's id, title and episodes.
PRIVATE_NAMES = ("header show", "header episode", "feeds/header.", "X-Api-Key")


def assert_clean(surface: str, data: bytes | str) -> None:
    """Fail naming the surface and the secret if any marker (plain or %-quoted) is in data."""
    raw = data if isinstance(data, bytes) else data.encode()
    for what, marker in MARKERS.items():
        for form in {marker, quote(marker, safe=""), base64.b64encode(marker.encode()).decode()}:
            assert form.encode() not in raw, f"{surface} shows the {what}"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _rss(title: str) -> bytes:
    item = (
        f"<item><title>{title} episode</title><guid>{title}-1</guid>"
        "<pubDate>Tue, 26 May 2026 10:00:00 GMT</pubDate>"
        f'<enclosure url="https://cdn.example.com/{title}.mp3" length="1" type="audio/mpeg"/></item>'
    )
    return feeds.feed(item.encode(), title=f"{title} show")


def _checked(check: str, expected: str, title: str) -> object:
    def respond(request: Request) -> Reply:
        got = request.args.get("token") if check == "token" else request.headers.get(check)
        if got != expected:
            return Reply(b"who are you", 401)
        return Reply(_rss(title), 200, {"Content-Type": "application/rss+xml"})

    return respond


@dataclass
class Site:
    config: Path


CONFIG = """\
fetch: {{retries: 1, deadline: 10, connect_timeout: 2, read_timeout: 2}}
server:
  access_keys: {{alice: "${{FT_ALICE_KEY}}", bob_file: secrets/bob-key}}
shows:
  tokenurl:
    sources:
      - rss: "{base}/paid/{path_token}/feed.rss?token={query_token}"
  basic:
    sources:
      - rss: {base}/basic.rss
        username: alice
        password: ${{FT_LEAK_PASS}}
  header:
    private: true
    sources:
      - rss: {base}/header.rss
        headers: {{X-Api-Key: "{header}"}}
  userinfo:
    sources:
      - rss: "http://bob:{userinfo}@127.0.0.1:{port}/userinfo.rss"
  failing:
    sources:
      - rss: {base}/wrong.rss
        username: alice
        password_file: secrets/password
      - rss: "{base}/broken.rss?sig={query_token}"
      - rss: {base}/redirect.rss
        headers: {{X-Api-Key: "{header}"}}
feeds:
  basic-only:
    show: basic
    filter: {{filter: episode}}
"""


@pytest.fixture
def site(tmp_path: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("FT_LEAK_PASS", MARKERS["env password"])
    monkeypatch.setenv("FT_ALICE_KEY", MARKERS["access key from the environment"])
    upstream.route(f"/paid/{MARKERS['path token']}/feed.rss", _checked("token", MARKERS["query token"], "tokenurl"))  # type: ignore[arg-type]
    upstream.route("/basic.rss", _checked("Authorization", _basic("alice", MARKERS["env password"]), "basic"))  # type: ignore[arg-type]
    upstream.route("/header.rss", _checked("X-Api-Key", MARKERS["header value"], "header"))  # type: ignore[arg-type]
    upstream.route("/userinfo.rss", _checked("Authorization", _basic("bob", MARKERS["user info password"]), "userinfo"))  # type: ignore[arg-type]
    upstream.route("/wrong.rss", _checked("Authorization", _basic("alice", MARKERS["file password"]), "wrong"))  # type: ignore[arg-type]
    upstream.serve("/broken.rss", "upstream trouble", status=500)
    # another origin (localhost, not 127.0.0.1): it must not see the source's header
    upstream.serve(
        "/redirect.rss", "", status=302, headers={"Location": f"http://localhost:{upstream.port}/landed.rss"}
    )
    upstream.serve("/landed.rss", _rss("landed"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "password").write_text(MARKERS["wrong file password"] + "\n")
    (tmp_path / "secrets" / "bob-key").write_text(MARKERS["access key from a file"] + "\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG.format(
            base=upstream.base,
            port=upstream.port,
            path_token=MARKERS["path token"],
            query_token=MARKERS["query token"],
            header=MARKERS["header value"],
            userinfo=MARKERS["user info password"],
        )
    )
    return Site(config)


def _feedtool(site: Site, *args: str) -> subprocess.CompletedProcess[bytes]:
    """feedtool in a process of its own, so that its real logging and stdout are what is scanned."""
    env = {
        **os.environ,
        "FT_LEAK_PASS": MARKERS["env password"],
        "FT_ALICE_KEY": MARKERS["access key from the environment"],
        "NO_PROXY": "*",
    }
    return subprocess.run(
        [sys.executable, "-m", "feedtool", "--config", str(site.config), *args],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_nothing_feedtool_prints_writes_or_serves_holds_a_secret(
    site: Site, upstream: Upstream, tmp_path: Path
) -> None:
    outputs = {"check": _feedtool(site, "check")}
    assert outputs["check"].returncode == 0, outputs["check"].stderr
    outputs["refresh -v"] = _feedtool(site, "-v", "refresh")
    outputs["refresh -vv"] = _feedtool(site, "-vv", "refresh")
    refreshed = outputs["refresh -v"].stdout.decode()
    # the acceptance: the credentialed sources refresh, the wrong password is a named failure
    for show in ("tokenurl", "basic", "header", "userinfo"):
        assert re.search(rf" {show} rss http://127\.0\.0\.1:{upstream.port}/\S*: new \(1 new", refreshed), show
    # named by show, kind and host; the message says what to check, not the secret
    wrong = f" failing rss http://127.0.0.1:{upstream.port}/wrong.rss: failed: HTTP 401 Unauthorized: check its"
    assert wrong in refreshed
    assert "7 sources: 5 ok, 2 failed" in refreshed
    for show in ("tokenurl", "basic", "header", "userinfo"):
        outputs[f"episodes {show}"] = _feedtool(site, "episodes", show)
        assert f"{show} episode" in outputs[f"episodes {show}"].stdout.decode()
    token_url = f"{upstream.base}/paid/{MARKERS['path token']}/feed.rss?token={MARKERS['query token']}"
    outputs["lint"] = _feedtool(site, "lint", token_url)
    outputs["lint failing"] = _feedtool(site, "lint", f"{upstream.base}/broken.rss?token={MARKERS['query token']}")
    assert outputs["lint failing"].returncode != 0
    out = tmp_path / "public"
    outputs["export"] = _feedtool(site, "export", "--out", str(out), "--base-url", "https://feeds.example.org")
    assert outputs["export"].returncode == 0, outputs["export"].stderr
    for path in (p for p in out.rglob("*") if p.is_file()):  # the public export: no private show
        for name in PRIVATE_NAMES:
            assert name.encode() not in path.read_bytes(), (path, name)
    mine = tmp_path / "mine"
    outputs["export --private"] = _feedtool(
        site, "export", "--out", str(mine), "--base-url", "https://feeds.example.org", "--private"
    )
    assert outputs["export --private"].returncode == 0, outputs["export --private"].stderr
    assert b"private feeds of alice: https://feeds.example.org/private/" in outputs["export --private"].stdout
    written_private = [p for p in mine.rglob("*") if p.is_file()]
    assert any(p.name == "header.rss" for p in written_private)
    for path in written_private:
        assert_clean(f"exported with --private {path.relative_to(mine)}", path.read_bytes())
    for name, result in outputs.items():
        assert_clean(f"feedtool {name} stdout", result.stdout)
        assert_clean(f"feedtool {name} stderr", result.stderr)
    assert b"GET /paid/" in outputs["refresh -vv"].stderr  # urllib3's debug lines were there to scan
    written = [path for path in out.rglob("*") if path.is_file()]
    assert len(written) == 3 + 3 * 5  # index, style sheet, OPML; 5 public feeds of 3 formats (header is private)
    for path in written:
        assert_clean(f"exported {path.relative_to(out)}", path.read_bytes())
    # the other origin of the redirect was reached, without the source's header
    landed = upstream.requests("/landed.rss")
    assert landed
    for request in landed:
        assert "X-Api-Key" not in request.headers
        assert "Authorization" not in request.headers

    app = create_app({"FEEDTOOL_CONFIG": str(site.config), "TESTING": True})
    client = app.test_client()
    paths = ["/", "/healthz", "/feeds.opml", "/feeds/nope.rss", "/feeds/basic", "/feeds/basic.rss?since=never"]
    paths += [f"/feeds/{name}.{fmt}" for name in load(site.config).feed_names() for fmt in ("rss", "atom", "json")]
    statuses = {}
    for path in paths:
        response = client.get(path)
        statuses[path] = response.status_code
        assert_clean(f"GET {path}", response.get_data())
        assert_clean(f"GET {path} headers", str(response.headers))
    assert statuses["/feeds/nope.rss"] == 404
    assert statuses["/feeds/basic.rss?since=never"] == 400
    assert statuses["/feeds/basic.rss"] == 200
    health = client.get("/healthz").get_json()
    assert {s["location"] for s in health["sources"]} == {"rss 127.0.0.1"}
    index = client.get("/").get_data(as_text=True)
    assert "/paid/" not in index
    assert "wrong.rss" not in index
    # Public pages name no private show; its feed is the 404 of a feed that does not exist.
    for path in ("/", "/healthz", "/feeds.opml", "/feeds/header.rss"):
        body = client.get(path).get_data(as_text=True)
        for name in PRIVATE_NAMES:
            assert name not in body, (path, name)
    hidden, missing = client.get("/feeds/header.rss"), client.get("/feeds/nope.rss")
    assert (hidden.status_code, hidden.get_data().replace(b"header", b"nope")) == (404, missing.get_data())
    # With a key: the private show, and the key only as the key= of its links, never as text.
    for key in (MARKERS["access key from the environment"], MARKERS["access key from a file"]):
        for path in ("/feeds/header.rss", "/feeds/header.json", "/feeds.opml", "/"):
            response = client.get(f"{path}?key={key}")
            assert response.status_code == 200, path
            body = response.get_data(as_text=True)
            assert "header episode" in body or "header show" in body, path
            assert body.count(key) == body.count(f"key={key}") > 0, path
            assert_clean(f"GET {path}?key=... without its key links", body.replace(f"key={key}", "key=K"))


def test_an_old_unmasked_error_in_the_store_is_masked_when_shown(site: Site, upstream: Upstream) -> None:
    """An error stored before masking existed may quote the token URL; /healthz and / mask it."""
    from feedtool.store import Store

    config = load(site.config)
    source = config.shows["tokenurl"].sources[0]
    with Store(config.store) as store:
        store.record_failure("tokenurl", source, f"connection failed: {source.location} refused")
    client = create_app({"FEEDTOOL_CONFIG": str(site.config), "TESTING": True}).test_client()
    for path in ("/healthz", "/"):
        assert_clean(f"GET {path}", client.get(path).get_data())
    [health] = [s for s in client.get("/healthz").get_json()["sources"] if s["show"] == "tokenurl"]
    assert health["error"] == "connection failed: http://127.0.0.1/… refused"
