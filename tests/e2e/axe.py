"""axe-core, vendored from the npm registry (`make vendor`), run inside the page under test.

The product's Content-Security-Policy refuses injected scripts; the contexts that run axe are
opened with Playwright's `bypass_csp`, so the policy the server sends stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# WCAG 2.1 A and AA plus axe's best practices: what a school's accessibility statement cites.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

RUN = """async (tags) => {
    const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, html: n.html.slice(0, 200) })),
    }));
}"""


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (injecting axe once per document)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE_JS))
    found: list[dict[str, Any]] = await page.evaluate(RUN, TAGS)
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {n['target']} {n['html']}" for n in v["nodes"])
    return "\n".join(lines)


async def assert_no_violations(page: Page, state: str) -> None:
    found = await violations(page)
    assert found == [], f"axe-core on {state}:\n{describe(found)}"
