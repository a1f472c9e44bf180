"""feedtool export: the server's bytes as static files, written atomically, only when changed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from feedtool.cli import main
from feedtool.config import load
from feedtool.export import folder_token, write_atomically
from feedtool.refresh import refresh

DATA = Path(__file__).parent / "data"
BASE = "https://feeds.example.org"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "full.xml").write_bytes((DATA / "rss" / "full.xml").read_bytes())
    (tmp_path / "atom.xml").write_bytes((DATA / "rss" / "atom.xml").read_bytes())
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
base_url: {BASE}
shows:
  quiet-lab:
    sources: [{{rss: full.xml}}]
    tags: {{open-models: {{match: ['open weights']}}}}
  atomic: {{sources: [{{rss: atom.xml}}]}}
feeds:
  quiet-lab-open: {{show: quiet-lab, filter: {{tag: open-models}}}}
"""
    )
    assert refresh(load(path)).ok
    return path


def export(runner: CliRunner, site: Path, out: Path, *flags: str) -> str:
    result = runner.invoke(main, ["--config", str(site), "export", "--out", str(out), "--base-url", BASE, *flags])
    assert result.exit_code == 0, result.output
    return result.output


def test_exported_files_are_what_the_server_serves(
    site: Path, tmp_path: Path, runner: CliRunner, app_factory: Callable[[Path], Flask]
) -> None:
    out = tmp_path / "public"
    export(runner, site, out)
    client = app_factory(site).test_client()
    names = ["quiet-lab", "atomic", "quiet-lab-open"]
    assert sorted(p.name for p in (out / "feeds").iterdir()) == sorted(
        f"{n}.{f}" for n in names for f in ("rss", "atom", "json")
    )
    for name in names:
        for fmt in ("rss", "atom", "json"):
            served = client.get(f"/feeds/{name}.{fmt}", base_url=BASE).data
            assert (out / "feeds" / f"{name}.{fmt}").read_bytes() == served
    assert (out / "feeds.opml").read_bytes() == client.get("/feeds.opml").data
    assert b"quiet-lab-open.rss" in (out / "index.html").read_bytes()


def test_filtered_export_matches_the_filtered_url(
    site: Path, tmp_path: Path, runner: CliRunner, app_factory: Callable[[Path], Flask]
) -> None:
    out = tmp_path / "public"
    export(runner, site, out, "--tag", "open-models", "--limit", "5")
    client = app_factory(site).test_client()
    served = client.get("/feeds/quiet-lab.rss?tag=open-models&limit=5").data
    assert (out / "feeds" / "quiet-lab.rss").read_bytes() == served
    assert b"Episode 1: Hello" not in served


def test_second_export_rewrites_nothing(site: Path, tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "public"
    assert "12 files written, 0 unchanged" in export(runner, site, out)
    stamps = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*") if p.is_file()}
    assert "0 files written, 12 unchanged" in export(runner, site, out)
    assert stamps == {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in stamps}


def test_export_refuses_a_bad_base_url_or_filter(site: Path, tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["--config", str(site), "export", "--out", str(tmp_path), "--base-url", "feeds"])
    assert result.exit_code == 2
    result = runner.invoke(
        main, ["--config", str(site), "export", "--out", str(tmp_path), "--base-url", BASE, "--limit", "0"]
    )
    assert result.exit_code == 2
    assert "--limit '0': expected a whole number from 1 to 1000" in result.output


def test_atomic_write_leaves_no_temporary_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "feeds" / "x.rss"
    assert write_atomically(target, b"one")
    assert not write_atomically(target, b"one")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"two")
    assert target.read_bytes() == b"one"
    assert [p.name for p in target.parent.iterdir()] == ["x.rss"]


def test_exported_index_links_only_files_that_exist(site: Path, tmp_path: Path, runner: CliRunner) -> None:
    # A static server ignores the query: "?tag=" would give the whole show (issue 13).
    path = site.read_text().replace("{match: ['open weights']}", "{match: ['open weights']}, other: {match: ['.']}")
    site.write_text(path)
    assert refresh(load(site)).ok
    out = tmp_path / "public"
    export(runner, site, out)
    page = (out / "index.html").read_text()
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs
    for href in hrefs:
        assert "?" not in href, href
        if href.startswith(BASE):
            assert (out / href.removeprefix(BASE + "/")).is_file(), href
    # a tag with a named feed of exactly that tag links to it; another is plain text
    assert f'<a class="tag" href="{BASE}/feeds/quiet-lab-open.rss">open-models' in page
    assert re.search(r'<span class="tag">other \(\d+\)</span>', page)
    assert "query parameters" not in page
    assert "/shows/" not in page  # the pages for people are not exported


def test_served_index_links_tags_to_the_show_browser(site: Path, app_factory: Callable[[Path], Flask]) -> None:
    """Issue 15: a tag on the served index opens the show's browser with that tag; the
    exported index (above) links feed files instead, the browser needing the server."""
    page = app_factory(site).test_client().get("/", base_url=BASE).get_data(as_text=True)
    assert 'href="/shows/quiet-lab?tag=open-models"' in page
    assert 'href="/shows/quiet-lab"' in page
    assert "query parameters" in page


def test_a_named_feed_without_a_filter_on_the_index_and_in_the_export(
    site: Path, tmp_path: Path, runner: CliRunner, app_factory: Callable[[Path], Flask]
) -> None:
    """Regression: a named feed with only a title made the index page raise IndexError (500)
    and `export` print a traceback."""
    site.write_text(site.read_text() + "  quiet-lab-copy: {show: quiet-lab, title: A copy}\n")
    assert app_factory(site).test_client().get("/", base_url=BASE).status_code == 200
    out = tmp_path / "public"
    export(runner, site, out)
    assert "quiet-lab-copy.rss" in (out / "index.html").read_text()


def test_export_writes_no_private_show(site: Path, tmp_path: Path, runner: CliRunner) -> None:
    """Issue 14: a private show and its named feeds are not exported, nor named anywhere written."""
    key = "export-key-0123456789-abcdef"
    text = site.read_text().replace("  quiet-lab:\n", "  quiet-lab:\n    private: true\n")
    site.write_text(f"server: {{access_keys: {{alice: {key}}}}}\n{text}")
    out = tmp_path / "public"
    export(runner, site, out)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        "feeds.opml",
        "feeds/atomic.atom",
        "feeds/atomic.json",
        "feeds/atomic.rss",
        "index.html",
        "static/feedtool.css",
    ]
    for path in out.rglob("*"):
        if path.is_file():
            body = path.read_text()
            for marker in ("quiet-lab", "Quiet Lab", "Open weights", "full.xml", key):
                assert marker not in body, (path, marker)


ALICE = "alice-key-0123456789-abcdef"
BOB = "bob-key-0123456789-abcdefgh"


def private_site(site: Path, keys: str = f"{{alice: {ALICE}, bob: {BOB}}}", only: str = "") -> None:
    """quiet-lab private (for every listener, or ``only`` those); atomic public."""
    original = site.with_suffix(".public")
    if not original.exists():
        original.write_text(site.read_text())
    private = f"[{only}]" if only else "true"
    text = original.read_text().replace("  quiet-lab:\n", f"  quiet-lab:\n    private: {private}\n")
    site.write_text(f"server: {{access_keys: {keys}}}\n{text}")


def listed(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_export_private_writes_each_listener_a_folder_of_their_feeds(
    site: Path, tmp_path: Path, runner: CliRunner
) -> None:
    private_site(site, only="alice")
    out = tmp_path / "public"
    output = export(runner, site, out, "--private")
    alice, bob = folder_token(ALICE), folder_token(BOB)
    assert f"private feeds of alice: {BASE}/private/{alice}/feeds.opml\n" in output
    assert f"private feeds of bob: {BASE}/private/{bob}/feeds.opml\n" in output
    for secret in (ALICE, BOB):
        assert secret not in output
    files = listed(out)
    # The public site as without --private; alice reads quiet-lab and its named feed, bob only the public one.
    assert [f for f in files if not f.startswith("private/")] == [
        "feeds.opml", "feeds/atomic.atom", "feeds/atomic.json", "feeds/atomic.rss", "index.html",
        "static/feedtool.css",
    ]  # fmt: skip
    assert f"private/{alice}/static/feedtool.css" in files  # her index's style sheet
    assert f"private/{alice}/feeds/quiet-lab.rss" in files
    assert f"private/{alice}/feeds/quiet-lab-open.json" in files
    assert not [f for f in files if f.startswith(f"private/{bob}/feeds/quiet-lab")]
    assert "private/index.html" in files  # a server that lists folders lists nothing there
    assert "quiet-lab" not in (out / "private" / "index.html").read_text()
    # Alice's feeds and OPML point into her folder, and carry no key.
    feed = (out / "private" / alice / "feeds" / "quiet-lab.rss").read_text()
    assert f'href="{BASE}/private/{alice}/feeds/quiet-lab.rss"' in feed
    opml = (out / "private" / alice / "feeds.opml").read_text()
    assert f'xmlUrl="{BASE}/private/{alice}/feeds/quiet-lab.rss"' in opml
    for path in out.rglob("*"):
        if path.is_file():
            for secret in (ALICE, BOB, "key="):
                assert secret not in path.read_text(), (path, secret)
    # The folder names are stable: a second export rewrites nothing.
    assert f"{out}: 0 files written, {len(files)} unchanged" in export(runner, site, out, "--private")


def test_a_revoked_key_or_an_export_without_private_removes_the_folders(
    site: Path, tmp_path: Path, runner: CliRunner
) -> None:
    private_site(site)
    out = tmp_path / "public"
    export(runner, site, out, "--private")
    alice, bob = folder_token(ALICE), folder_token(BOB)
    (out / "private" / "someone-elses").mkdir()  # not feedtool's: never removed
    private_site(site, keys=f"{{bob: {BOB}}}")  # alice's key revoked
    export(runner, site, out, "--private")
    assert not (out / "private" / alice).exists()
    assert (out / "private" / bob / "feeds" / "quiet-lab.rss").exists()
    export(runner, site, out)
    assert not (out / "private" / bob).exists()
    assert (out / "private" / "someone-elses").is_dir()


def test_export_private_without_access_keys_is_a_usage_error(site: Path, tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["--config", str(site), "export", "--out", str(tmp_path / "o"), "--base-url", BASE, "--private"]
    )
    assert result.exit_code == 2
    assert "--private: the config has no server.access_keys" in result.output
    assert not (tmp_path / "o").exists()
