"""Fixtures the platform tests share."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

WEB_UI = Path(__file__).resolve().parents[2] / "services" / "web-ui"

# Checks a browser test's prerequisites: `(what, extra)` where `extra` maps a
# description of anything else it needs to whether that is present.
RequireBrowser = Callable[[str, Mapping[str, bool]], str]


@pytest.fixture(scope="session")
def require_browser() -> RequireBrowser:
    """A browser test's check: node, playwright-core, chromium and `extra`. Returns the
    chromium path. Missing pieces skip the test with the list, or fail it where
    MEDIAPLANE_WEB_UI_REQUIRED=1 (CI installs them all)."""

    def check(what: str, extra: Mapping[str, bool]) -> str:
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        needs = {
            "node (Node.js 20+)": shutil.which("node") is not None,
            "services/web-ui/node_modules (npm ci --prefix services/web-ui)": (
                WEB_UI / "node_modules" / "playwright-core"
            ).is_dir(),
            f"{chromium} (apt-get install chromium)": Path(chromium).exists(),
            **extra,
        }
        missing = [name for name, present in needs.items() if not present]
        if missing:
            message = f"{what} needs: " + ", ".join(missing)
            if os.environ.get("MEDIAPLANE_WEB_UI_REQUIRED") == "1":
                pytest.fail(message)
            pytest.skip(message)
        return chromium

    return check
