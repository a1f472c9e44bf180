"""Pure tagging: a show's tag rules (model data), plus upstream categories and keywords."""

from __future__ import annotations

from collections.abc import Sequence

from feedtool.model import Episode, TagRule
from feedtool.normalize.identity import slugify
from feedtool.normalize.text import html_to_text


def tag_episode(episode: Episode, rules: Sequence[TagRule], text: str | None = None) -> tuple[str, ...]:
    """The sorted tags of an episode.

    A rule tags an episode when any of its patterns is found in any of its fields
    (title, description: the description's and the show notes' text). Upstream
    categories and keywords become tags too, slugified. ``text`` is the episode's
    description_text, when the caller has it already.
    """
    tags = {slug for value in (*episode.categories, *episode.keywords) if (slug := slugify(value))}
    if rules:
        texts = {"title": episode.title, "description": description_text(episode) if text is None else text}
        title = episode.title if len(episode.title) <= 80 else episode.title[:80] + "…"
        about = {f: f"the {f} of episode {title!r}" for f in texts}  # named when a rule runs out of time
        for rule in rules:
            if any(p.search(texts[f], about[f]) for f in rule.fields for p in rule.patterns):
                tags.add(rule.name)
    return tuple(sorted(tags))


def description_text(episode: Episode) -> str:
    """The plain text of an episode's description and show notes, for matching."""
    parts = [html_to_text(p) for p in (episode.description, episode.content) if p]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        return parts[1]  # the notes repeat the description: read it once
    return "\n".join(parts)
