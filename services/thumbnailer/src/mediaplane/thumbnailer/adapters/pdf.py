"""PDFium renders a PDF's first page, in a child process of its own.

PDFium is native code that is not thread-safe, and a hostile PDF can hang
or crash it. A child per document can be killed at the job timeout, runs
under CPU-time and memory limits (a PDF that wants more fails alone instead
of waking the kernel's OOM killer, which might pick the worker), and its
crash is one failed file instead of a worker that dies on every redelivery.

The child: `python -m mediaplane.thumbnailer.adapters.pdf SOURCE OUTPUT LONGEST`
writes the page as PNG (longest side LONGEST px) and prints one JSON line:
`{"width": pt, "height": pt, "page_count": n}` or `{"code": ..., "detail": ...}`.
`... pdf info SOURCE` renders nothing and prints `{"page_count": n, "title": ...}`
(the metadata extractor).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaplane.servicekit import children
from mediaplane.thumbnailer.adapters.tools import error_text, run_tool
from mediaplane.thumbnailer.domain.errors import CorruptInput, MediaError, UnsupportedMedia

_REFUSED = 2  # the child's exit status for a refused document (not a crash)


@dataclass(frozen=True)
class PdfPage:
    """The first page's size in points (1/72 in) and the document's page count."""

    width: int
    height: int
    page_count: int


async def render_first_page(
    source: Path, output: Path, longest: int, limits: children.Limits
) -> PdfPage:
    answer = await _run_child([str(source), str(output), str(longest)], limits)
    return PdfPage(
        width=int(answer["width"]),
        height=int(answer["height"]),
        page_count=int(answer["page_count"]),
    )


async def _run_child(args: list[str], limits: children.Limits) -> dict[str, Any]:
    """The child's answer; its refusal or crash as the MediaError it stands for."""
    finished = await run_tool("the PDF renderer", [sys.executable, "-m", __name__, *args], limits)
    try:
        answer = json.loads(finished.stdout.decode(errors="replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = None
    if finished.returncode == 0 and isinstance(answer, dict) and "page_count" in answer:
        return answer
    if finished.returncode == _REFUSED and isinstance(answer, dict):
        code, detail = answer.get("code"), str(answer.get("detail"))
        raise UnsupportedMedia(detail) if code == UnsupportedMedia.code else CorruptInput(detail)
    raise CorruptInput(
        f"the PDF renderer failed (exit {finished.returncode}): {error_text(finished)}"
    )


def _open(pdfium: Any, source: str) -> Any:
    """In the child: the document, or the MediaError for an encrypted or unreadable one."""
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as error:
        if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise UnsupportedMedia("the PDF is encrypted") from None
        raise CorruptInput(f"not a readable PDF: {error}") from None


def _render(source: str, output: str, longest: int) -> PdfPage:
    """In the child: open, render page one to fit `longest`, save as PNG."""
    import pypdfium2 as pdfium  # only the child loads PDFium

    document = _open(pdfium, source)
    try:
        page_count = len(document)
        if page_count < 1:
            raise CorruptInput("the PDF has no pages")
        page = document[0]
        width, height = page.get_size()
        if width <= 0 or height <= 0:
            raise CorruptInput(f"the first page is {width}x{height} points")
        # Vector pages render sharp at any size: straight at the largest thumbnail's size.
        bitmap = page.render(scale=longest / max(width, height), fill_color=(255, 255, 255, 255))
        bitmap.to_pil().convert("RGB").save(output, "PNG", compress_level=1)
    except pdfium.PdfiumError as error:
        raise CorruptInput(f"the first page does not render: {error}") from None
    finally:
        document.close()
    return PdfPage(width=round(width), height=round(height), page_count=page_count)


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    title: object  # as the document says it; the domain makes text of it


async def read_info(source: Path, limits: children.Limits) -> PdfInfo:
    """Page count and title (document information), read by a child like rendering."""
    answer = await _run_child(["info", str(source)], limits)
    return PdfInfo(page_count=int(answer["page_count"]), title=answer.get("title"))


def _info(source: str) -> dict[str, object]:
    """In the child: the page count and the Info dictionary's title, no page rendered."""
    import pypdfium2 as pdfium  # only the child loads PDFium

    document = _open(pdfium, source)
    try:
        return {"page_count": len(document), "title": document.get_metadata_dict().get("Title")}
    finally:
        document.close()


def main(argv: list[str]) -> int:
    try:
        if argv[0] == "info":
            print(json.dumps(_info(argv[1])))
            return 0
        source, output, longest = argv[0], argv[1], int(argv[2])
        page = _render(source, output, longest)
    except MediaError as error:
        print(json.dumps({"code": error.code, "detail": error.detail}))
        return _REFUSED
    print(json.dumps({"width": page.width, "height": page.height, "page_count": page.page_count}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
