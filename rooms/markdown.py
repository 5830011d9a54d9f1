"""Markdown for posts: CommonMark without raw HTML, then sanitised against an allowlist.

markdown-it-py renders (raw HTML in the source is shown as text); nh3 then cleans whatever the
renderer produced, so a renderer bug cannot become an XSS. Links keep only http, https and mailto and
get `rel="nofollow noopener noreferrer ugc"`; a bare http or https address in the text becomes such a
link too (never another scheme, never a bare domain); images are kept only when they point into the archive
(`/api/files/<id>/content` or `/thumbnail`), so a post can never make readers' browsers fetch from
elsewhere.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "img", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
ARCHIVE_IMAGE = re.compile(r"/api/files/[A-Za-z0-9_-]{1,64}/(content|thumbnail)")
SAFE_LINK = re.compile(r"(https?://|mailto:)[^\s]*", re.IGNORECASE)
# Not after a word, another @ or a backslash: `\@name` quotes a name without mentioning it.
MENTION = re.compile(r"(?<![\w@\\])@([a-z0-9][a-z0-9._-]{2,31})", re.IGNORECASE)

# A bare address: the scheme, a host, then anything up to white space or a character that
# cannot end a typed address; trailing punctuation is the sentence's, not the address's.
BARE_URL = re.compile(r"(?<![\w+.-])https?://[^\s/?#<>\"'`]+[^\s<>\"'`]*", re.IGNORECASE)
TRAILING = ".,:;!?'\"*_~"


def _trim(url: str) -> str:
    while url and (url[-1] in TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))):
        url = url[:-1]
    return url


def _autolink(state: StateCore) -> None:
    """Turn bare http(s) addresses in text (not in code, not already in a link) into links.

    markdown-it's own `linkify` needs another package and also links bare domains and other
    schemes; this rule links only what starts with `http://` or `https://`.
    """
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        in_link = 0
        for token in block.children:
            in_link += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type == "text" and not in_link and "://" in token.content:
                out.extend(_split(state, token))
            else:
                out.append(token)
        block.children = out


def _split(state: StateCore, token: Token) -> list[Token]:
    parts: list[Token] = []
    text, at = token.content, 0
    for match in BARE_URL.finditer(text):
        url = _trim(match.group(0))
        href = state.md.normalizeLink(url)
        if not _parses(href) or not state.md.validateLink(href):
            continue
        start, end = match.start(), match.start() + len(url)
        if start > at:
            parts.append(_text(text[at:start], token.level))
        link = Token("link_open", "a", 1, attrs={"href": href}, markup="autolink", info="auto")
        parts += [
            link,
            _text(url, token.level + 1),
            Token("link_close", "a", -1, markup="autolink"),
        ]
        at = end
    if not parts:
        return [token]
    if at < len(text):
        parts.append(_text(text[at:], token.level))
    return parts


def _parses(href: str) -> bool:
    """Whether `href` is an address a browser follows (a host, a numeric port if any): the
    sanitiser drops any other, which would leave a link to nowhere."""
    try:
        parts = urlsplit(href)
        return bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:
        return False


def _text(content: str, level: int) -> Token:
    return Token("text", "", 0, content=content, level=level)


_renderer = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)
_renderer.core.ruler.push("bare_links", _autolink)


def _keep(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if ARCHIVE_IMAGE.fullmatch(value) else None
    if tag == "a" and attribute == "href":
        return value if SAFE_LINK.fullmatch(value) else None
    return value


# A one-line message of words and plain punctuation, with no character Markdown gives a meaning
# to, renders as one paragraph of its own text: most chat messages. A leading number followed by
# "." or ")" and a space would start a list, and two spaces or an edge space change the output, so
# those take the full path too, and so does an address ("://"), which becomes a link.
PLAIN = re.compile(r"[^\W_](?:[^\W_]|[.,?!'\"():;%/-]| (?=\S))*")
LIST_START = re.compile(r"\d{1,9}[.)](?: |$)")


def render(source: str) -> str:
    """Sanitised HTML for a Markdown `source`."""
    if PLAIN.fullmatch(source) and not LIST_START.match(source) and "://" not in source:
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
        link_rel="nofollow noopener noreferrer ugc",
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
