"""Tag rules from config, and upstream categories and keywords as tags."""

from __future__ import annotations

import pytest

from feedtool.errors import RuleTimeoutError
from feedtool.model import Episode, TagRule
from feedtool.patterns import compile_rule
from feedtool.tags import tag_episode

RULE = TagRule("open-models", (compile_rule(r"\bopen (source )?models?\b", "t.match[0]", 1),), ("title", "description"))
TITLE_ONLY = TagRule("open-models", (compile_rule(r"open models?", "t.match[0]", 1),), ("title",))


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


def test_a_rule_that_runs_out_of_time_names_itself_and_the_episode() -> None:
    slow = TagRule("slow", (compile_rule("^(a|aa)+$", "shows.s.tags.slow.match[0]", 0.1),), ("title",))
    episode = Episode(guid="1", title="a" * 60 + "!")
    with pytest.raises(RuleTimeoutError) as info:
        tag_episode(episode, [RULE, slow])
    assert info.value.where == "shows.s.tags.slow.match[0]"
    assert info.value.about == f"the title of episode {'a' * 60 + '!'!r}"
