"""The browser tests drive a real headless Chromium: the system's (Debian's `chromium`
package; Playwright's own download is not used). Without one they are skipped with one line
saying how to enable them, unless BACKOFFICE_REQUIRE_BROWSER=1 (as `.ci/run` sets it): then a
missing browser is a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    given = os.environ.get("BACKOFFICE_CHROMIUM")
    if given:
        return given
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = (
            "no Chromium: install the chromium package (or set BACKOFFICE_CHROMIUM) to run "
            "the browser tests"
        )
        if os.environ.get("BACKOFFICE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        chromium.close()
