"""A signed-out visit loads a compressed, cacheable client and asks nothing that answers 401."""

from __future__ import annotations

import pytest
from playwright.async_api import Response, expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import tid


@pytest.mark.timeout(60)
async def test_a_signed_out_load_is_compressed_cached_and_free_of_401(visitors: Visitors) -> None:
    reader = await visitors.new(locale="fr-FR")
    responses: list[Response] = []
    reader.page.on("response", lambda response: responses.append(response))
    failed: list[str] = []
    reader.page.on("requestfailed", lambda request: failed.append(request.url))
    await reader.goto()
    await expect(reader.page.locator(tid("login-form"))).to_be_visible()

    paths = [r.url.removeprefix(reader.base) for r in responses]
    assert [r.status for r in responses if r.status >= 400] == [], paths
    assert failed == []
    assert "/api/auth/config" in paths and "/api/me" not in paths
    catalogues = [p for p in paths if "/i18n/" in p]
    assert len(catalogues) == 1 and catalogues[0].endswith("/fr.json")  # the reader's alone

    scripts = [r for r in responses if r.url.endswith(".js")]
    assert scripts and all("/assets/" in r.url for r in scripts)
    for response in scripts:
        headers = await response.all_headers()
        assert headers["content-encoding"] == "gzip", response.url
        assert "immutable" in headers["cache-control"], response.url
    page = next(r for r in responses if r.url.rstrip("/") == reader.base)
    assert (await page.all_headers())["cache-control"] == "no-cache"
    assert reader.errors == []


@pytest.mark.timeout(60)
async def test_sizes_follow_the_language(visitors: Visitors) -> None:
    reader = await visitors.new(locale="fr-FR")
    await reader.goto()
    await expect(reader.page.locator(tid("login-form"))).to_be_visible()
    sizes = await reader.page.evaluate(
        """async () => {
            const { formatSize } = await import(document.querySelector("script[type=module]").src
                .replace(/app\\.js$/, "format.js"));
            return [formatSize(30_000_000), formatSize(1_500)];
        }"""
    )
    assert sizes[0].replace("\u202f", " ").replace("\xa0", " ") == "30 Mo"
    assert sizes[1].replace("\u202f", " ").replace("\xa0", " ") == "1,5 ko"
