"""Token values in query strings and bearer credentials never reach a log line."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from mediaplane.observability import configure_logging
from mediaplane.observability.redact import redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"GET /v1/files/1/hls/master.m3u8?access_token={JWT} HTTP/1.1",
            "GET /v1/files/1/hls/master.m3u8?access_token=REDACTED HTTP/1.1",
        ),
        (f"/hls/720p.m3u8?pt={JWT}", "/hls/720p.m3u8?pt=REDACTED"),
        (
            "/renditions/a/seg_001.m4s?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=mediaplane%2F20261206%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20261206T081900Z&X-Amz-Expires=1800&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=0123abcd",
            "/renditions/a/seg_001.m4s?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=REDACTED&X-Amz-Date=20261206T081900Z&X-Amz-Expires=1800"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED",
        ),
        ("/x?a=1&Token=abc&b=2#frag", "/x?a=1&Token=REDACTED&b=2#frag"),
        ("/x?signature=s;sig=t", "/x?signature=REDACTED;sig=REDACTED"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer REDACTED"),
        (f'"url": "/a?pt={JWT}"', '"url": "/a?pt=REDACTED"'),
        (
            f"GET /oauth/logout?id_token_hint={JWT}&state=s1&client_id=web-ui HTTP/1.1",
            "GET /oauth/logout?id_token_hint=REDACTED&state=s1&client_id=web-ui HTTP/1.1",
        ),
        (
            "GET /callback?code=Xy1-_z&state=s1 HTTP/1.1",
            "GET /callback?code=REDACTED&state=s1 HTTP/1.1",
        ),
        (
            "grant_type=authorization_code&code=abc&code_verifier=v~1.x"
            "&client_id=cli&client_secret=s3cr3t&device_code=dc",
            "grant_type=authorization_code&code=REDACTED&code_verifier=REDACTED"
            "&client_id=cli&client_secret=REDACTED&device_code=REDACTED",
        ),
    ],
)
def test_secret_values_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "/v1/files?limit=10&cursor=abc&tag=holiday",
        "/x?mytoken=1&pts=2&token_type=bearer",  # names that only contain a secret's name
        "/x?codec=h264&user_code=ABCD-EFGH&code_challenge_method=S256",
        "path/with/pt=1",  # not a query parameter
        "plain message without secrets",
    ],
)
def test_everything_else_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_every_log_line_is_redacted_structlog_stdlib_and_exceptions() -> None:
    out = io.StringIO()
    configure_logging("catalog", stream=out)

    structlog.get_logger().info("fetched", url=f"http://edge/a?pt={JWT}", attempts=2)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/m.m3u8?access_token={JWT}", "1.1", 200
    )
    try:
        raise RuntimeError(f"GET /hls/x.m3u8?pt={JWT} failed")
    except RuntimeError:
        logging.getLogger("litestar").exception("request failed")

    text = out.getvalue()
    assert JWT not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["url"] == "http://edge/a?pt=REDACTED"
    assert lines[0]["attempts"] == 2
    assert lines[1]["event"] == '127.0.0.1:5 - "GET /m.m3u8?access_token=REDACTED HTTP/1.1" 200'
    assert "pt=REDACTED failed" in lines[2]["exception"]
