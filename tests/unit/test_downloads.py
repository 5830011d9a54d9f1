"""Range headers, ETag matching, Content-Disposition and the inline allow-list."""

from __future__ import annotations

import pytest

from media.sniff import inline, served_type, sniff
from rooms.errors import RangeNotSatisfiable
from server.downloads import byte_range, disposition, etag_matches


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("bytes=0-0", (0, 1)),
        ("bytes=10-", (10, 90)),
        ("bytes=-10", (90, 10)),
        ("bytes=-1000", (0, 100)),
        ("bytes=50-5000", (50, 50)),
        ("bytes=5-1", None),
        ("bytes=0-1,3-4", None),
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_byte_range(header: str | None, span: tuple[int, int] | None) -> None:
    assert byte_range(header, 100) == span


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=-5", 0)]
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, size)


def test_etag_matching() -> None:
    assert etag_matches('"a", W/"b"', '"b"') and etag_matches("*", '"x"')
    assert not etag_matches('"a"', '"b"') and not etag_matches(None, '"b"')


def test_disposition_has_an_ascii_fallback_and_the_exact_name() -> None:
    assert disposition("attachment", 'Zürich "plan" 100%.pdf') == (
        'attachment; filename="Z_rich _plan_ 100_.pdf"; '
        "filename*=UTF-8''Z%C3%BCrich%20%22plan%22%20100%25.pdf"
    )
    assert disposition("inline", "東京").startswith('inline; filename="__"')


@pytest.mark.parametrize(
    ("mime", "shown"),
    [
        ("image/png", True),
        ("image/webp", True),
        ("application/pdf", True),
        ("audio/mpeg", True),
        ("video/mp4", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("text/plain", False),
        ("application/octet-stream", False),
    ],
)
def test_only_passive_types_are_inline(mime: str, shown: bool) -> None:
    assert inline(mime) is shown


def test_sniffing_ignores_names_and_falls_back() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20) == "image/png"
    assert sniff(b"<html><body>hi") == "text/html"
    assert sniff(b"ID3\x03\x00") == "audio/mpeg"
    assert sniff(b"") == sniff(b"plain words") == "application/octet-stream"


@pytest.mark.parametrize(
    ("mime", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("application/xml", "application/octet-stream"),
        ("image/png", "image/png"),
        ("application/pdf", "application/pdf"),
        ("text/plain", "text/plain"),
        ("", "application/octet-stream"),
    ],
)
def test_types_a_browser_could_run_are_served_opaque(mime: str, served: str) -> None:
    assert served_type(mime) == served
