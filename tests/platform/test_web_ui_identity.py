"""Browser test of signing in through the identity service, as a person would after `just up`.

Boots a private platform (`mediaplane.devstack.private_platform`, `platform up`
as `just up` runs it) with dev sign-in OFF (`MEDIAPLANE_DEV_MODE=0`), so only
identity's tokens get in. Node runs `services/web-ui/e2e/identity.e2e.mjs`:
playwright-core drives Debian's chromium headless to sign up, read the
verification mail from the platform's Maildir sink and open its link, sign in
with the authorization code + PKCE through the real identity service, upload an
image and see it in the library, create a personal access token on the account
page and revoke it, sign out (refresh token revoked, session ended), reset the
password from the mailed link and sign in with the new one, and sign in
as the dev admin `platform up` created with its kept password. A second test is
the refusal: with dev mode off, the sign-in page has no user-name box and
`POST /v1/dev/token` is a 404 (tests/platform/test_web_ui.py drives the box with
dev mode on).

Needs what test_web_ui.py needs (the built UI, node_modules, Node 20+,
`/usr/bin/chromium`, ffmpeg for the image); skipped with the reason otherwise.
MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots refreshes signin.png and account.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediaplane.devstack.platform import DEV_ADMIN_EMAIL
from mediaplane.devstack.private_platform import PrivatePlatform
from mediaplane.devstack.settings import StackSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEB_UI = ROOT / "services" / "web-ui"
DRIVER = WEB_UI / "e2e" / "identity.e2e.mjs"
BOOT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Running:
    base_url: str
    platform_dir: Path  # <data dir>/platform: the Maildir, the dev admin's password
    chromium: str


@pytest.fixture(scope="module")
def prerequisites(require_browser: Callable[[str, Mapping[str, bool]], str]) -> str:
    return require_browser(
        "identity browser test",
        {
            "services/web-ui/dist (just web-ui)": (WEB_UI / "dist" / "index.html").is_file(),
            "ffmpeg": shutil.which("ffmpeg") is not None,
        },
    )


@pytest.fixture(scope="module")
def closed_platform(
    prerequisites: str, stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A private platform without dev sign-in: the closed default of production."""
    data_dir = tmp_path_factory.mktemp("platform")
    private = PrivatePlatform(stack, data_dir, name="idweb", extra_env={"MEDIAPLANE_DEV_MODE": "0"})
    try:
        private.start(timeout=BOOT_TIMEOUT)
        yield Running(private.base_url, data_dir / "platform", prerequisites)
    finally:
        private.stop()


def drive(running: Running, artifacts: Path, **extra: str) -> str:
    env = {
        **os.environ,
        "WEBUI_BASE_URL": running.base_url,
        "WEBUI_MAILDIR": str(running.platform_dir / "maildir"),
        "WEBUI_DEV_MODE": "0",
        "WEBUI_ARTIFACTS": str(artifacts),
        "CHROMIUM": running.chromium,
        **extra,
    }
    done = subprocess.run(
        ["node", str(DRIVER)],
        cwd=WEB_UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "identity-e2e: ok" in output, output
    return output


@pytest.mark.timeout(900)
def test_sign_up_verify_sign_in_upload_tokens_and_sign_out(
    closed_platform: Running, tmp_path: Path
) -> None:
    image = tmp_path / "identity-e2e.jpg"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480:rate=1:duration=1",
            "-frames:v",
            "1",
            str(image),
        ],
        check=True,
    )
    password_file = closed_platform.platform_dir / "admin-password"
    assert password_file.stat().st_mode & 0o077 == 0
    extra = {
        "WEBUI_IMAGE": str(image),
        "WEBUI_ADMIN_EMAIL": DEV_ADMIN_EMAIL,
        "WEBUI_ADMIN_PASSWORD_FILE": str(password_file),
    }
    screenshots = os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS")
    if screenshots:
        extra["WEBUI_SCREENSHOTS"] = str(ROOT / screenshots)
    output = drive(closed_platform, tmp_path / "artifacts", **extra)
    for seen in (
        "email verified from the mailed link",
        "(code + PKCE), access token in memory only",
        "uploaded and listed with an identity-issued token",
        "personal access token created (shown once) and revoked",
        "signed out: session 401, refresh invalid_grant, storage empty",
        "password reset from the mailed link, signed in with the new one",
        "dev admin signed in: role admin",
    ):
        assert seen in output, output


@pytest.mark.timeout(300)
def test_without_dev_mode_there_is_no_user_name_box(
    closed_platform: Running, tmp_path: Path
) -> None:
    output = drive(closed_platform, tmp_path / "artifacts", WEBUI_ONLY="dev-mode")
    assert "dev mode off: no user-name box, POST /v1/dev/token 404" in output, output
