"""Names and folders as clients send them, cleaned before anything is stored or shown."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.errors import Invalid
from rooms.filenames import MAX_NAME_BYTES, clean_folder, clean_name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("../../etc/passwd", "passwd"),
        ("a/b\\c", "c"),
        ("report.pdf/", "report.pdf"),
        ("na\x00me\x1f.txt", "name.txt"),
        ("\u202etxt.exe", "txt.exe"),
        ("e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"),
        ("a" * 300, "a" * 255),
        ("...", None),
        ("", None),
        ("..", None),
        ("\u200b", None),
    ],
)
def test_clean_name(raw: str, name: str | None) -> None:
    if name is None:
        with pytest.raises(Invalid):
            clean_name(raw)
    else:
        assert clean_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "folder"),
    [
        (None, ""),
        ("", ""),
        ("/", ""),
        ("a/b", "a/b"),
        ("/a//./b/", "a/b"),
        ("a\\b", "a/b"),
        ("week\x001", "week1"),
    ],
)
def test_clean_folder(raw: str | None, folder: str) -> None:
    assert clean_folder(raw) == folder


@pytest.mark.parametrize("raw", ["..", "../a", "a/..", "a/../b", "a/b..c", "a/\x00"])
def test_a_folder_with_dot_dot_or_an_empty_segment_is_invalid(raw: str) -> None:
    with pytest.raises(Invalid):
        clean_folder(raw)


@given(st.text(max_size=400))
def test_any_cleaned_name_is_one_safe_segment(raw: str) -> None:
    try:
        name = clean_name(raw)
    except Invalid:
        return
    assert name and "/" not in name and "\\" not in name and ".." not in name
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert unicodedata.is_normalized("NFC", name)
    assert not any(unicodedata.category(c) == "Cc" for c in name)
