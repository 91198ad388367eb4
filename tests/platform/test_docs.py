"""The documentation stands on its own: every relative link resolves, and no file
points outside the repository (a clone must hold everything its docs cite)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]
_SKIPPED_DIRS = {
    ".git",
    ".venv",
    ".local",
    "node_modules",
    "dist",
    "build",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".schemathesis",
}
# Written in pieces so this file does not match itself.
_OUTSIDE = re.compile(
    "|".join(
        (
            r"\b(?:DESIGN|EVENTS|STYLE)" + r"\.md\b",
            r"\bDESIGN" + r"\s*§",
            "LIBRARY" + "-NOTES",
            "LOCAL" + "-STACK",
            "/" + "work/",
            "shared" + "/docs",
        )
    )
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+).*?\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[^)]*)?\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
_HTML = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def repo_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if any(part in _SKIPPED_DIRS for part in relative.parts):
            continue
        if path.is_file():
            yield path


def text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def prose_lines(markdown: str, *, code_spans: bool = False) -> Iterator[tuple[int, str]]:
    """Lines outside fenced code blocks, with inline code spans removed unless asked."""
    fenced = False
    for number, line in enumerate(markdown.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line if code_spans else _CODE_SPAN.sub("", line)


def links(markdown: str) -> Iterator[tuple[int, str]]:
    for number, line in prose_lines(markdown):
        for pattern in (_INLINE_LINK, _REFERENCE, _HTML):
            for match in pattern.finditer(line):
                yield number, match.group(1).strip("<>")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", plain.lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(markdown, code_spans=True):
        match = _HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    found.update(re.findall(r"""<a\s+(?:name|id)=["']([^"']+)["']""", markdown))
    return found


def broken_link(source: Path, target: str) -> str | None:
    """Why `target`, linked from `source`, does not resolve inside the repository."""
    if _SCHEME.match(target):
        return None  # a URL: not ours to check offline
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if path_part.startswith("/"):
        return "absolute path: link relative to the file instead"
    resolved = (source.parent / path_part).resolve() if path_part else source
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file"
    if anchor and resolved.suffix == ".md" and resolved.is_file():
        content = text(resolved) or ""
        if anchor not in anchors(content):
            return f"no heading #{anchor} in {resolved.relative_to(ROOT)}"
    return None


def test_every_relative_link_in_the_docs_resolves() -> None:
    markdown = [p for p in repo_files() if p.suffix == ".md"]
    problems = [
        f"{path.relative_to(ROOT)}:{number}: {target}: {why}"
        for path in markdown
        for number, target in links(path.read_text())
        if (why := broken_link(path, target))
    ]

    assert len(markdown) > 20
    assert problems == []


def test_no_file_refers_to_documents_or_paths_outside_the_repository() -> None:
    mentions = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in repo_files()
        if (content := text(path)) is not None
        for number, line in enumerate(content.splitlines(), 1)
        if _OUTSIDE.search(line)
    ]

    assert mentions == []


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    page = ROOT / "docs" / "architecture.md"

    assert broken_link(page, "events.md") is None
    assert broken_link(page, "../services/catalog/README.md#read-side-catalog") is not None
    assert broken_link(page, "#read-side-catalog") is None
    assert broken_link(page, "#no-such-heading") is not None
    assert broken_link(page, "missing.md") == "no such file"
    assert broken_link(page, "../../outside.md") == "points outside the repository"
    assert broken_link(page, "/etc/passwd") is not None
    assert broken_link(page, "https://example.com/x") is None
    assert [t for _, t in links("see [a](b.md) and `[c](d.md)`\n```\n[e](f.md)\n```\n")] == ["b.md"]
    assert slug("Write side (`libs/eventlog`)") == "write-side-libseventlog"
    assert _OUTSIDE.search("the contract is " + "DESIGN" + ".md")
    assert _OUTSIDE.search("idempotent (" + "DESIGN" + " §5)")
    assert _OUTSIDE.search("see " + "/wo" + "rk/sha" + "red/docs")
    assert not _OUTSIDE.search("docs/events.md and docs/architecture.md")
