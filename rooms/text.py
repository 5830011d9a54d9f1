r"""Text that people type and others see: names, titles, descriptions, posts.

Control characters (NUL, escapes, ...) have no place in anything shown, and bidirectional
overrides, embeddings, isolates and marks make a name read differently from what it is (U+202E
before "gpj.exe" shows it as "exe.jpg"), so they are dropped before anything is stored. Only text
that legitimately spans lines keeps its line breaks (as "\n") and tabs; posts also keep the
bidirectional marks, embeddings and isolates that writers of right-to-left languages use in their
prose (never overrides).
"""

from __future__ import annotations

import re

CONTROLS = "\x00-\x1f\x7f-\x9f"  # Unicode category Cc
LINE_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # Cc without tab and newline
SURROGATES = "\ud800-\udfff"  # unpaired halves cannot even be stored as UTF-8
SEPARATORS = "\u2028\u2029"
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
OVERRIDES = "\u202d\u202e"  # force a direction against the letters' own: only ever a disguise
ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff"

_ONE_LINE = re.compile(f"[{CONTROLS}{SURROGATES}{SEPARATORS}{BIDI}]")
_INVISIBLE = re.compile(f"[{CONTROLS}{SURROGATES}{SEPARATORS}{BIDI}{ZERO_WIDTH}]")
_LINES = re.compile(f"[{LINE_CONTROLS}{SURROGATES}{BIDI}]")
_PROSE = re.compile(f"[{LINE_CONTROLS}{SURROGATES}{OVERRIDES}]")
_BREAKS = re.compile("\r\n?|[\u2028\u2029]")


def one_line(text: str) -> str:
    """A name or a title: every run of white space (tabs and line breaks too) becomes one space,
    the ends are trimmed, and control and bidirectional characters are dropped."""
    return " ".join(_ONE_LINE.sub("", " ".join(text.split())).split())


def lines(text: str, *, prose: bool = False) -> str:
    r"""Text that may span lines: line breaks become "\n" and tabs stay; other control characters
    go, and bidirectional ones too; `prose` (a post) keeps all but the overrides."""
    return (_PROSE if prose else _LINES).sub("", _BREAKS.sub("\n", text))


def visible(text: str) -> str:
    """`text` without any control, separator, bidirectional or zero-width character, and its
    white space left as it is (file names, where an invisible character only ever hides)."""
    return _INVISIBLE.sub("", text)
