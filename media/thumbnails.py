"""Thumbnails of images, made with Pillow off the event loop and cached on disk by sha256.

An image's header states its size before any pixel is decoded; a picture with more pixels than
`max_pixels` is refused there, so a tiny file that inflates to gigabytes (a decompression bomb)
never reaches the decoder.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from PIL import Image, ImageOps

SIZE = (256, 256)
MAX_PIXELS = 50_000_000  # a 50-megapixel photo is the largest a school camera makes
CONTENT_TYPE = "image/webp"


class ThumbnailError(Exception):
    """The image cannot be previewed: not decodable, or too many pixels (`too_large`)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def render(source: Path, target: Path, max_pixels: int = MAX_PIXELS) -> None:
    """Write a WebP thumbnail of the image at `source` to `target` (blocking: run in a thread)."""
    partial = target.with_name(f".{secrets.token_hex(8)}.part")
    try:
        with Image.open(source) as opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise ThumbnailError(
                    f"The image has {width}x{height} pixels, too many to preview.", too_large=True
                )
            opened.draft("RGB", SIZE)  # JPEG: decode at a reduced scale, much faster
            image = ImageOps.exif_transpose(opened)
            image.thumbnail(SIZE)
            if image.mode not in ("RGB", "RGBA"):
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            image.save(partial, "WEBP", quality=80)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        partial.unlink(missing_ok=True)
        raise ThumbnailError(f"The image is too large to preview: {exc}", too_large=True) from None
    except (OSError, SyntaxError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise ThumbnailError(f"The image cannot be previewed: {exc}") from None
    os.replace(partial, target)


class Thumbnails:
    """A cache of thumbnails under `root`, one per blob digest, made on first request."""

    def __init__(self, root: Path, *, max_pixels: int = MAX_PIXELS) -> None:
        self.root = root
        self.max_pixels = max_pixels
        self._making: dict[str, asyncio.Future[Path]] = {}

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
        """The thumbnail's path, made from `source()` (a local copy of the blob) if not cached."""
        target = self.path(sha256)
        if target.is_file():
            return target
        if sha256 in self._making:  # one decode per image, however many ask at once
            return await asyncio.shield(self._making[sha256])
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._making[sha256] = future
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            async with source() as path:
                await asyncio.to_thread(render, path, target, self.max_pixels)
            future.set_result(target)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: waiters still get it
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._making[sha256]
        return target
