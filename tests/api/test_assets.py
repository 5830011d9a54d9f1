"""The web client's files leave compressed, and versioned names are cached for a year while the
page that names them is revalidated on every load."""

from __future__ import annotations

import gzip
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Person

People = Callable[..., Awaitable[Person]]
STATIC = Path(__file__).resolve().parents[2] / "static"


async def test_the_page_names_versioned_files_and_is_revalidated(people: People) -> None:
    visitor = await people(signup=False)
    page = await visitor.client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers["Content-Encoding"] == "gzip"
    assert "Content-Security-Policy" in page.headers
    html = await page.text()  # the client decompresses
    script = re.search(r'src="(/assets/[0-9a-f]{16}/app\.js)"', html)
    style = re.search(r'href="(/assets/[0-9a-f]{16}/style\.css)"', html)
    assert script and style, html

    asset = await visitor.client.get(script.group(1), headers={"Accept-Encoding": "gzip, br"})
    assert asset.status == 200
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.headers["Content-Encoding"] == "gzip"
    assert asset.headers["Vary"] == "Accept-Encoding"
    assert asset.headers["Content-Type"].startswith("text/javascript")
    assert await asset.read() == (STATIC / "app.js").read_bytes()

    # A module imports its neighbours by relative paths: they are under the same version.
    prefix = script.group(1).rsplit("/", 1)[0]
    catalogue = await visitor.client.get(f"{prefix}/i18n/fr.json")
    assert catalogue.status == 200
    assert catalogue.headers["Cache-Control"].endswith("immutable")
    again = await visitor.client.get(
        f"{prefix}/i18n/fr.json", headers={"If-None-Match": catalogue.headers["ETag"]}
    )
    assert again.status == 304


async def test_raw_bytes_for_clients_without_gzip_and_no_year_for_other_versions(
    people: People,
) -> None:
    visitor = await people(signup=False)
    raw = await visitor.client.get(
        "/static/style.css", headers={"Accept-Encoding": "identity"}, auto_decompress=False
    )
    assert raw.status == 200 and "Content-Encoding" not in raw.headers
    assert raw.headers["Cache-Control"] == "no-cache"
    assert await raw.read() == (STATIC / "style.css").read_bytes()
    packed = await visitor.client.get(
        "/static/style.css", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    body = await packed.read()
    assert gzip.decompress(body) == (STATIC / "style.css").read_bytes()
    assert len(body) < len((STATIC / "style.css").read_bytes()) / 2

    stale = await visitor.client.get("/assets/0000000000000000/app.js")
    assert stale.status == 200 and stale.headers["Cache-Control"] == "no-cache"
    for missing in ("/assets/x/nothing.js", "/static/../server/app.py", "/static/%2e%2e/README.md"):
        response = await visitor.client.get(missing)
        assert response.status == 404, missing
