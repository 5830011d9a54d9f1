"""File and folder names: what a client sends is cleaned before anything is stored or shown.

A client may send a path (`../../etc/passwd`, `C:\\x\\y.txt`) where a name belongs; only its last
segment is kept, so the displayed name is never a storage path. Folders are relative paths whose
segments are cleaned the same way, except that `..` in a folder is refused rather than dropped: a
folder that silently lands elsewhere would surprise its author.
"""

from __future__ import annotations

import unicodedata

from rooms.errors import Invalid
from rooms.text import visible

MAX_NAME_BYTES = 255
MAX_FOLDER_DEPTH = 16
MAX_FOLDER_BYTES = 1024


def _printable(text: str) -> str:
    """`text` NFC-normalised without control, bidirectional, zero-width or separator characters
    (bidirectional overrides make `gpj.exe` look like `exe.jpg`; zero-width ones hide)."""
    return visible(unicodedata.normalize("NFC", text))


def _cap(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, on a character boundary."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


def _segment(text: str) -> str:
    """One path segment: printable, `..` removed, trimmed of spaces and dots at its ends."""
    text = _printable(text).replace("..", "")
    return text.strip().strip(".").strip()


def clean_name(raw: str) -> str:
    """The stored name for a client's file name: its last path segment, cleaned and capped.

    Raises `Invalid` when nothing usable is left (an empty name, `..`, only control characters).
    """
    last = raw.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    name = _cap(_segment(last), MAX_NAME_BYTES).strip()
    if not name:
        raise Invalid("name: the file needs a name.", field="name", rule="required")
    return name


def clean_folder(raw: str | None) -> str:
    """A folder as a relative path of cleaned segments (`""` is the top); `..` is `Invalid`."""
    if raw is None:
        return ""
    parts = [p for p in raw.replace("\\", "/").split("/") if p.strip() not in ("", ".")]
    if any(p.strip() == ".." or ".." in p for p in parts):
        raise Invalid("folder: '..' is not allowed in a folder.", field="folder", rule="dot_dot")
    segments = [_cap(_segment(p), MAX_NAME_BYTES) for p in parts]
    if any(not s for s in segments):
        raise Invalid(
            "folder: a folder name is empty once cleaned.", field="folder", rule="required"
        )
    if len(segments) > MAX_FOLDER_DEPTH:
        raise Invalid(
            f"folder: at most {MAX_FOLDER_DEPTH} levels.",
            field="folder",
            rule="depth",
            max=MAX_FOLDER_DEPTH,
        )
    folder = "/".join(segments)
    if len(folder.encode()) > MAX_FOLDER_BYTES:
        raise Invalid(
            f"folder: at most {MAX_FOLDER_BYTES} bytes.",
            field="folder",
            rule="max_bytes",
            max=MAX_FOLDER_BYTES,
        )
    return folder


def within(folder: str, parent: str) -> bool:
    """Whether `folder` is `parent` itself or lies somewhere below it."""
    return folder == parent or folder.startswith(parent + "/")
