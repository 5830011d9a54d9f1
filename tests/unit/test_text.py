"""Text people type for others to read: no control or direction-changing characters survive."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.text import lines, one_line, visible

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u202eevil\u0000", "evil"),
        ("  a\t\tb\r\nc\u2028d  ", "a b c d"),
        ("a \u2066 b", "a b"),
        (
            "Zo\u00e9 \U0001f468\u200d\U0001f469\u200d\U0001f467",
            "Zo\u00e9 \U0001f468\u200d\U0001f469\u200d\U0001f467",
        ),
        ("\x1b[31mred\x7f\x9b", "[31mred"),
        ("\u200f\u202e\x00", ""),
    ],
)
def test_one_line(raw: str, clean: str) -> None:
    assert one_line(raw) == clean


def test_lines_keep_breaks_and_tabs_and_prose_keeps_marks_not_overrides() -> None:
    raw = "a\r\nb\rc\u2029d\te\x00\x0b\u202e\u200f\u2067f\u2069"
    assert lines(raw) == "a\nb\nc\nd\tef"
    assert lines(raw, prose=True) == "a\nb\nc\nd\te\u200f\u2067f\u2069"


def test_visible_also_drops_zero_width_characters_and_keeps_spaces() -> None:
    assert visible("a  b\u200b\ufeff\u2060c\u202e\t") == "a  bc"


@given(st.text(max_size=200))
def test_nothing_unsafe_survives(raw: str) -> None:
    for clean in (one_line(raw), lines(raw), lines(raw, prose=True)):
        controls = {c for c in clean if unicodedata.category(c) in ("Cc", "Cs")}
        assert controls <= {"\n", "\t"}
        assert "\u202d" not in clean and "\u202e" not in clean
    assert not BIDI & set(one_line(raw)) and not BIDI & set(lines(raw))
    assert "\n" not in one_line(raw) and one_line(raw) == one_line(raw).strip()
