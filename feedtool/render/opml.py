"""OPML 2.0 subscription lists, for importing every feed into a podcast app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree

CONTENT_TYPE = "text/x-opml; charset=utf-8"


@dataclass(frozen=True)
class Outline:
    title: str
    xml_url: str
    html_url: str | None = None


def render(title: str, outlines: Sequence[Outline], created: datetime) -> bytes:
    """An OPML 2.0 document listing the feeds."""
    opml = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(opml, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ElementTree.SubElement(opml, "body")
    for outline in outlines:
        attrs = {"type": "rss", "text": outline.title, "title": outline.title, "xmlUrl": outline.xml_url}
        if outline.html_url:
            attrs["htmlUrl"] = outline.html_url
        ElementTree.SubElement(body, "outline", attrs)
    document: bytes = ElementTree.tostring(opml, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + document
