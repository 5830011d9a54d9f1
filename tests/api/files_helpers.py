"""Helpers for the archive's tests: multipart uploads with exact names, and what is on disk."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import asyncpg

from server.config import Settings
from tests.conftest import MotoServer, Person

BOUNDARY = "twinroomsTestBoundary7MA4YWxk"


def multipart(
    name: str, data: bytes, folder: str | None = None, *, folder_last: bool = False
) -> bytes:
    """A multipart body whose file name reaches the server exactly (RFC 5987 `filename*`).

    The `folder` field comes before the file part, or after it with `folder_last`."""
    parts = []
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x";'
        f" filename*=UTF-8''{quote(name, safe='')}\r\n"
        "Content-Type: text/plain\r\n\r\n"
    )
    parts.append(head.encode() + data + b"\r\n")
    if folder is not None:
        field = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="folder"\r\n\r\n'.encode()
            + folder.encode()
            + b"\r\n"
        )
        parts.insert(len(parts) if folder_last else 0, field)
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def upload(
    person: Person,
    room_id: str,
    name: str,
    data: bytes,
    *,
    folder: str | None = None,
    folder_last: bool = False,
    query: str = "",
    status: int = 201,
) -> Any:
    """Upload `data` as `name`; checks the status and returns the decoded JSON answer."""
    response = await person.client.post(
        f"/api/rooms/{room_id}/files{query}",
        data=io.BytesIO(multipart(name, data, folder, folder_last=folder_last)),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    text = await response.text()
    assert response.status == status, f"upload {name!r}: {response.status} {text}"
    return await response.json()


async def download(
    person: Person, file_id: str, headers: dict[str, str] | None = None, suffix: str = ""
) -> tuple[int, Mapping[str, str], bytes]:
    response = await person.client.get(f"/api/files/{file_id}/content{suffix}", headers=headers)
    return response.status, response.headers, await response.read()


def stored_blobs(settings: Settings) -> list[str]:
    """The digests in the blob store: files under DATA_DIR, or objects in the bucket."""
    if settings.s3_bucket:
        keys = MotoServer.at(settings.s3_endpoint).keys(settings.s3_bucket)
        assert all(key.startswith(f"{settings.s3_prefix}blobs/") for key in keys)
        return sorted(key.rsplit("/", 1)[-1] for key in keys)
    return sorted(p.name for p in (settings.data_dir / "blobs").glob("??/??/*"))


def leftovers(settings: Settings) -> dict[str, Any]:
    """Temporary files, blobs and file rows currently stored (rows in PostgreSQL, if in use)."""
    root = settings.data_dir / "blobs"
    temps = sorted(p.name for p in (root / "tmp").iterdir()) if (root / "tmp").exists() else []
    blobs = stored_blobs(settings)
    if settings.database_url.startswith("postgresql://"):
        # A synchronous look from inside an async test: its own loop, in a thread of its own.
        with ThreadPoolExecutor(max_workers=1) as thread:
            counts = thread.submit(asyncio.run, _pg_counts(settings.database_url))
            rows, blob_rows = counts.result(timeout=30)
    else:
        with sqlite3.connect(settings.data_dir / "twinrooms.sqlite3") as conn:
            rows = conn.execute("SELECT COUNT(*) FROM file_versions").fetchone()[0]
            blob_rows = conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0]
        conn.close()
    return {"temps": temps, "blobs": blobs, "rows": rows, "blob_rows": blob_rows}


async def _pg_counts(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetchval("SELECT COUNT(*) FROM file_versions")
        blob_rows = await conn.fetchval("SELECT COUNT(*) FROM blobs")
    finally:
        await conn.close()
    return int(rows), int(blob_rows)
