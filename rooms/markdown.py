"""Markdown for posts: CommonMark without raw HTML, then sanitised against an allowlist.

markdown-it-py renders (raw HTML in the source is shown as text); nh3 then cleans whatever the
renderer produced, so a renderer bug cannot become an XSS. Links keep only http, https and mailto and
get `rel="nofollow noopener noreferrer"`; images are kept only when they point into the archive
(`/api/files/<id>/content` or `/thumbnail`), so a post can never make readers' browsers fetch from
elsewhere.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "img", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
ARCHIVE_IMAGE = re.compile(r"/api/files/[A-Za-z0-9_-]{1,64}/(content|thumbnail)")
SAFE_LINK = re.compile(r"(https?://|mailto:)[^\s]*", re.IGNORECASE)
# Not after a word, another @ or a backslash: `\@name` quotes a name without mentioning it.
MENTION = re.compile(r"(?<![\w@\\])@([a-z0-9][a-z0-9._-]{2,31})", re.IGNORECASE)

_renderer = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)


def _keep(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if ARCHIVE_IMAGE.fullmatch(value) else None
    if tag == "a" and attribute == "href":
        return value if SAFE_LINK.fullmatch(value) else None
    return value


# A one-line message of words and plain punctuation, with no character Markdown gives a meaning
# to, renders as one paragraph of its own text: most chat messages. A leading number followed by
# "." or ")" and a space would start a list, and two spaces or an edge space change the output, so
# those take the full path too.
PLAIN = re.compile(r"[^\W_](?:[^\W_]|[.,?!'\"():;%/-]| (?=\S))*")
LIST_START = re.compile(r"\d{1,9}[.)](?: |$)")


def render(source: str) -> str:
    """Sanitised HTML for a Markdown `source`."""
    if PLAIN.fullmatch(source) and not LIST_START.match(source):
        return f"<p>{source}</p>\n"  # nothing in it needs escaping: no & < >
    return _render(source)


def _render(source: str) -> str:
    """The full path: CommonMark, then nh3's allowlist."""
    return nh3.clean(
        _renderer.render(source),
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=_keep,
        url_schemes={"http", "https", "mailto"},
        url_relative="pass_through",
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def mentions(source: str, limit: int = 10) -> list[str]:
    """The distinct lower-case usernames `@mentioned` in `source`, at most `limit`, in order."""
    found: list[str] = []
    for match in MENTION.finditer(source):
        name = match.group(1).lower().rstrip(".")
        if name not in found:
            found.append(name)
    return found[:limit]
