"""Thumbnails of images, made with Pillow off the event loop and cached on disk by sha256.

An image's header states its size before any pixel is decoded; a picture with more pixels than
`max_pixels` is refused there, so a tiny file that inflates to gigabytes (a decompression bomb)
never reaches the decoder. One below the limit still decodes to up to 200 MB (4 bytes a pixel; a
JPEG is decoded at a reduced scale, a PNG cannot be), and shrinking an image with an alpha channel
copies it once more. So each decode first reserves what it will need from a budget of `BUDGET`
bytes for all decodes at once (a larger image waits until it can run alone), and at most `DECODES`
images are decoded at the same time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

from PIL import Image, ImageOps

SIZE = (256, 256)
MAX_PIXELS = 50_000_000  # a 50-megapixel photo is the largest a school camera makes
CONTENT_TYPE = "image/webp"
DECODES = 2  # two cores gain nothing from more
BUDGET = 400 * 1024 * 1024
PIXEL_COST = 8  # bytes a decoded pixel may take: 4 decoded, 4 more in the resampling copy
# Pillow allocates pixels in blocks of 16 MiB by default; glibc serves blocks of that size from
# per-thread heaps once a first one was freed, and keeps them, so every decoding thread would keep
# hundreds of MiB after a large image. Blocks above glibc's largest mmap threshold (32 MiB) are
# always mapped, and unmapped as soon as the image is freed.
BLOCK_SIZE = 64 * 1024 * 1024


class ThumbnailError(Exception):
    """The image cannot be previewed: not decodable, or too many pixels (`too_large`)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


@contextmanager
def _opened(source: Path, max_pixels: int) -> Iterator[Image.Image]:
    """The image at `source`, its header read and checked, set to decode at the smallest scale."""
    try:
        with Image.open(source) as opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise ThumbnailError(
                    f"The image has {width}x{height} pixels, too many to preview.", too_large=True
                )
            opened.draft("RGB", SIZE)  # JPEG: decode at a reduced scale, faster and smaller
            yield opened
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ThumbnailError(f"The image is too large to preview: {exc}", too_large=True) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ThumbnailError(f"The image cannot be previewed: {exc}") from None


def cost(source: Path, max_pixels: int = MAX_PIXELS) -> int:
    """The bytes decoding the image at `source` may take, from its header (blocking)."""
    with _opened(source, max_pixels) as opened:
        width, height = opened.size
        return width * height * PIXEL_COST


def render(source: Path, target: Path, max_pixels: int = MAX_PIXELS) -> None:
    """Write a WebP thumbnail of the image at `source` to `target` (blocking: run in a thread)."""
    partial = target.with_name(f".{secrets.token_hex(8)}.part")
    try:
        with _opened(source, max_pixels) as opened:
            opened.thumbnail(SIZE)  # in place, before any other copy of the full image
            image = ImageOps.exif_transpose(opened)  # a copy, of the thumbnail only
            if image.mode not in ("RGB", "RGBA"):
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            image.save(partial, "WEBP", quality=80)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)


class Budget:
    """Bytes shared by concurrent holders; a request above the total waits to hold it all."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, amount: int) -> AsyncIterator[None]:
        """Wait until `amount` bytes (at most the total) are free and hold them meanwhile."""
        amount = min(amount, self.total)
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + amount <= self.total)
            self.used += amount
        try:
            yield
        finally:
            async with self._changed:
                self.used -= amount
                self._changed.notify_all()


class Thumbnails:
    """A cache of thumbnails under `root`, one per blob digest, made on first request."""

    def __init__(
        self,
        root: Path,
        *,
        max_pixels: int = MAX_PIXELS,
        decodes: int = DECODES,
        budget: int = BUDGET,
    ) -> None:
        self.root = root
        self.max_pixels = max_pixels
        self._making: dict[str, asyncio.Task[Path]] = {}
        self._decoding = asyncio.Semaphore(decodes)
        self._budget = Budget(budget)
        Image.core.set_block_size(BLOCK_SIZE)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.webp"

    async def delete(self, sha256: str) -> None:
        """Forget the thumbnail of a blob that is gone (nothing happens if none was made)."""
        self.path(sha256).unlink(missing_ok=True)

    async def list(self) -> AsyncIterator[str]:
        """The digest of every cached thumbnail."""
        names = await asyncio.to_thread(lambda: [p.stem for p in self.root.glob("??/*.webp")])
        for name in names:
            yield name

    async def get(
        self, sha256: str, source: Callable[[], AbstractAsyncContextManager[Path]]
    ) -> Path:
        """The thumbnail's path, made from `source()` (a local copy of the blob) if not cached.

        The making runs in a task of its own: one decode per image however many ask at once, and
        a caller that goes away does not end it, so its budget is held until its thread is done.
        """
        target = self.path(sha256)
        if target.is_file():
            return target
        task = self._making.get(sha256)
        if task is None:
            task = asyncio.create_task(self._make(target, source), name="thumbnail")
            self._making[sha256] = task
            task.add_done_callback(lambda done: self._made(sha256, done))
        return await asyncio.shield(task)

    async def _make(
        self, target: Path, source: Callable[[], AbstractAsyncContextManager[Path]]
    ) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        async with source() as path:
            need = await asyncio.to_thread(cost, path, self.max_pixels)
            async with self._budget.hold(need), self._decoding:
                await asyncio.to_thread(render, path, target, self.max_pixels)
        return target

    def _made(self, sha256: str, task: asyncio.Task[Path]) -> None:
        del self._making[sha256]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody waits for is not reported
