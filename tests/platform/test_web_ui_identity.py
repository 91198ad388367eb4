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
as the dev admin `platform up` created with its kept password. The device-flow
tests run `mediaplane login` as a command against the platform and hand the
URI and code it prints to `e2e/device.e2e.mjs`, which opens them in a fresh
chromium (signed out: sign in, back on the device page), then approves (the
command signs in, `mediaplane whoami` names the admin) or denies (the command
exits 1 with `access_denied`; the link then says the code was used). A second test is
the refusal: with dev mode off, the sign-in page has no user-name box and
`POST /v1/dev/token` is a 404 (tests/platform/test_web_ui.py drives the box with
dev mode on).

Needs what test_web_ui.py needs (the built UI, node_modules, Node 20+,
`/usr/bin/chromium`, ffmpeg for the image); skipped with the reason otherwise.
MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots refreshes signin.png, account.png and device.png.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
    return run_driver(DRIVER, "identity-e2e: ok", running, artifacts, extra)


def run_driver(
    driver: Path, marker: str, running: Running, artifacts: Path, extra: Mapping[str, str]
) -> str:
    """Runs a browser driver in node; its output, which must include `marker`."""
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
        ["node", str(driver)],
        cwd=WEB_UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert marker in output, output
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


DEVICE_DRIVER = WEB_UI / "e2e" / "device.e2e.mjs"
PRINTED = re.compile(r"To sign in, open (\S+)\s+and enter the code: (\S+)")


class Login:
    """`mediaplane login` running as a command against the platform, its own credentials."""

    def __init__(self, running: Running, home: Path) -> None:
        self.env = {
            **os.environ,
            "MEDIAPLANE_URL": running.base_url,
            "MEDIAPLANE_CREDENTIALS": str(home / "credentials.json"),
            "NO_COLOR": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mediaplane.client", "login"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err = ""

    def printed(self) -> tuple[str, str]:
        """The verification URI and the user code, once the command has printed them."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.err += line
            found = PRINTED.search(self.err)
            if found:
                return found.group(1), found.group(2)
        raise AssertionError(f"login printed no code: {self.err}")

    def finish(self) -> tuple[int, str, str]:
        """Its status, stdout and stderr once it ends (a few lines: no pipe fills up).
        Read through the same text streams as `printed`, which may hold lines already."""
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        status = self.process.wait(timeout=120)
        return status, self.process.stdout.read(), self.err + self.process.stderr.read()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mediaplane.client", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def approve_in_browser(
    running: Running, artifacts: Path, login: Login, decision: str, **extra: str
) -> tuple[str, str]:
    uri, user_code = login.printed()
    # identity's verification_uri is the web UI's page (MEDIAPLANE_IDENTITY_WEB_URL).
    assert uri == f"{running.base_url}/device", login.err
    output = run_driver(
        DEVICE_DRIVER,
        "device-e2e: ok",
        running,
        artifacts,
        {
            "WEBUI_DEVICE_URL": f"{uri}?user_code={user_code}",
            "WEBUI_DEVICE_CODE": user_code,
            "WEBUI_DEVICE_DECISION": decision,
            "WEBUI_EMAIL": DEV_ADMIN_EMAIL,
            "WEBUI_PASSWORD_FILE": str(running.platform_dir / "admin-password"),
            **extra,
        },
    )
    return output, user_code


@pytest.mark.timeout(600)
def test_mediaplane_login_approved_in_the_browser(closed_platform: Running, tmp_path: Path) -> None:
    login = Login(closed_platform, tmp_path / "home")
    try:
        extra = {}
        screenshots = os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS")
        if screenshots:
            extra["WEBUI_SCREENSHOTS"] = str(ROOT / screenshots)
        output, user_code = approve_in_browser(
            closed_platform, tmp_path / "artifacts", login, "approve", **extra
        )
        assert f"back on the device page with code {user_code} from cli" in output, output
        assert "device approved in the browser" in output, output
        status, out, err = login.finish()
    finally:
        login.process.kill()
    assert status == 0, err
    assert f"(or open {closed_platform.base_url}/device?user_code={user_code})" in err
    assert f"signed in to {closed_platform.base_url}" in out
    assert f"email  {DEV_ADMIN_EMAIL}" in out
    who = login.run("whoami")
    assert who.returncode == 0, who.stderr
    assert f"email  {DEV_ADMIN_EMAIL}" in who.stdout
    assert "roles  admin" in who.stdout


@pytest.mark.timeout(600)
def test_mediaplane_login_denied_in_the_browser(closed_platform: Running, tmp_path: Path) -> None:
    login = Login(closed_platform, tmp_path / "home")
    try:
        output, _ = approve_in_browser(closed_platform, tmp_path / "artifacts", login, "deny")
        assert "device denied in the browser" in output, output
        assert "a decided code is refused" in output, output
        status, out, err = login.finish()
    finally:
        login.process.kill()
    assert status != 0
    assert "signed in" not in out
    assert "access_denied" in err, err
    assert not (tmp_path / "home" / "credentials.json").exists()
    who = login.run("whoami")
    assert who.returncode != 0
