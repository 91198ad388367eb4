"""From a downloaded source file to encoded thumbnails, per pipeline (image, video, PDF)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from mediaplane.contracts import ThumbnailSource
from mediaplane.thumbnailer.adapters import images
from mediaplane.thumbnailer.adapters.cpu import CpuPool
from mediaplane.thumbnailer.adapters.images import EncodedThumbnail
from mediaplane.thumbnailer.adapters.pdf import render_first_page
from mediaplane.thumbnailer.adapters.video import Ffmpeg, VideoInfo
from mediaplane.thumbnailer.config import ThumbnailerSettings
from mediaplane.thumbnailer.domain.errors import CorruptInput
from mediaplane.thumbnailer.domain.policy import (
    Pipeline,
    check_pixels,
    looks_black,
    poster_positions,
    still_image_type,
)


@dataclass(frozen=True)
class Rendering:
    source: ThumbnailSource
    thumbnails: list[EncodedThumbnail]


class Renderer:
    def __init__(self, settings: ThumbnailerSettings, cpu: CpuPool, ffmpeg: Ffmpeg) -> None:
        self.settings = settings
        self.cpu = cpu
        self.ffmpeg = ffmpeg

    async def render(
        self, pipeline: Pipeline, source: Path, media_type: str, work_dir: Path
    ) -> Rendering:
        """Thumbnails of `source`; MediaError when the input itself is the problem."""
        if pipeline == "video":
            # A HEIC/AVIF photo may arrive labelled video/mp4: render it as the photo it is.
            still = still_image_type(await asyncio.to_thread(_head, source))
            if still is not None:
                pipeline, media_type = "image", still
        if pipeline == "image":
            return await self._image(source, media_type)
        if pipeline == "video":
            return await self._video(source, media_type, work_dir)
        return await self._pdf(source, work_dir)

    async def _thumbnails(
        self, path: Path, media_type: str
    ) -> tuple[images.SourceImage, list[EncodedThumbnail]]:
        s = self.settings
        return await self.cpu.run(
            images.render_thumbnails,
            path,
            media_type=media_type,
            sizes=s.sizes,
            output=s.output,
            limits=s.limits,
        )

    async def _image(self, source: Path, media_type: str) -> Rendering:
        picture, thumbnails = await self._thumbnails(source, media_type)
        return Rendering(
            ThumbnailSource(width=picture.width, height=picture.height, format=picture.format),
            thumbnails,
        )

    async def _video(self, source: Path, media_type: str, work_dir: Path) -> Rendering:
        info = await self.ffmpeg.probe(source, media_type)
        # Frames are as big as the stream: refuse oversized ones before decoding any.
        check_pixels(info.width, info.height, self.settings.limits)
        poster = await self._poster(source, info, work_dir)
        _, thumbnails = await self._thumbnails(poster, "image/png")
        return Rendering(
            ThumbnailSource(
                width=info.display_width, height=info.display_height, format=info.codec
            ),
            thumbnails,
        )

    async def _poster(self, source: Path, info: VideoInfo, work_dir: Path) -> Path:
        """The first frame that is not black, trying about 10% in, then later; else the first."""
        longest = max(size.longest for size in self.settings.sizes)
        first: Path | None = None
        for index, position in enumerate(poster_positions(info.duration)):
            frame = work_dir / f"poster-{index}.png"
            if not await self.ffmpeg.frame(source, info, position, frame, longest):
                continue
            if not looks_black(await self.cpu.run(images.luminance_histogram, frame)):
                return frame
            first = first or frame
        if first is None:
            raise CorruptInput("no frame of the video could be decoded")
        return first

    async def _pdf(self, source: Path, work_dir: Path) -> Rendering:
        page_png = work_dir / "page-1.png"
        longest = max(size.longest for size in self.settings.sizes)
        page = await render_first_page(source, page_png, longest, self.settings.tool_limits)
        _, thumbnails = await self._thumbnails(page_png, "image/png")
        return Rendering(
            ThumbnailSource(
                width=page.width, height=page.height, format="pdf", page_count=page.page_count
            ),
            thumbnails,
        )


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(64)
