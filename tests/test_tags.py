"""Tag rules from config, and upstream categories and keywords as tags."""

from __future__ import annotations

import re

from feedtool.model import Episode, TagRule
from feedtool.tags import tag_episode

RULE = TagRule("open-models", (re.compile(r"\bopen (source )?models?\b", re.I),), ("title", "description"))
TITLE_ONLY = TagRule("open-models", (re.compile(r"open models?", re.I),), ("title",))


def test_rules_match_configured_fields() -> None:
    in_title = Episode(guid="1", title="On Open Models")
    in_notes = Episode(guid="2", title="Other", content="<p>about open source models</p>")
    neither = Episode(guid="3", title="Other", description="<p>closed</p>")
    assert tag_episode(in_title, [RULE]) == ("open-models",)
    assert tag_episode(in_notes, [RULE]) == ("open-models",)
    assert tag_episode(neither, [RULE]) == ()
    assert tag_episode(in_notes, [TITLE_ONLY]) == ()


def test_categories_and_keywords_become_sorted_slugs() -> None:
    e = Episode(guid="1", title="x", categories=("Technology", "Open Source"), keywords=("AI Policy", "technology"))
    assert tag_episode(e, []) == ("ai-policy", "open-source", "technology")


def test_markup_does_not_hide_words() -> None:
    e = Episode(guid="1", title="x", description="<p>open <em>models</em></p>")
    assert tag_episode(e, [RULE]) == ("open-models",)
