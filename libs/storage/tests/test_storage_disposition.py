"""Content-Disposition values for downloads (no server needed)."""

from __future__ import annotations

import pytest

from mediaplane.storage import content_disposition


def test_plain_ascii_name_is_quoted_only() -> None:
    assert content_disposition("report.pdf") == 'attachment; filename="report.pdf"'


def test_inline_disposition() -> None:
    assert content_disposition("cat.jpg", inline=True) == 'inline; filename="cat.jpg"'


def test_accented_name_gets_ascii_fallback_and_utf8_form() -> None:
    assert content_disposition("Résumé 2024.pdf") == (
        "attachment; filename=\"Resume 2024.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"
    )


def test_non_latin_name_falls_back_to_download_with_its_extension() -> None:
    assert content_disposition("日本語.mp4") == (
        "attachment; filename=\"download.mp4\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.mp4"
    )


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (
            'say "hi".txt',
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt",
        ),
        ("100%.png", "attachment; filename=\"100_.png\"; filename*=UTF-8''100%25.png"),
    ],
)
def test_quotes_and_percent_never_reach_the_quoted_string(filename: str, expected: str) -> None:
    assert content_disposition(filename) == expected


def test_client_paths_and_line_breaks_are_dropped() -> None:
    assert content_disposition("C:\\Users\\me\\a\r\nb.txt") == 'attachment; filename="ab.txt"'
    assert content_disposition("../../etc/passwd") == 'attachment; filename="passwd"'


def test_empty_name_becomes_download() -> None:
    assert content_disposition("") == 'attachment; filename="download"'
