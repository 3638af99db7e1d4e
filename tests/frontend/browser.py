"""A real headless Chromium, driven by Playwright, for the end-to-end tests of the pages.

The browser is Debian's ``chromium`` package (Playwright's own download cannot run here).
Where it is missing the tests skip, saying why, except in CI (TESSERA_TEST_REQUIRE_SERVICES=1),
where they fail: CI installs it.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# A laptop screen: every page must be usable at this size.
VIEWPORT = {"width": 1280, "height": 800}


def _unavailable(reason: str) -> None:
    if os.environ.get("TESSERA_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture
def chromium(monkeypatch) -> Iterator[object]:
    """The browser, for one test. Playwright's sync API runs an event loop in this thread, which
    Django's guard takes for async code; the test's own ORM calls are plain sync code, so the
    guard is lifted for this test only."""
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -r requirements-dev.txt)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the tests save their screenshots: TESSERA_SCREENSHOTS (docs/screenshots refreshes
    the README's) or the test's own temporary folder."""
    folder = Path(os.environ.get("TESSERA_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def open_browser(chromium, live_server_process):
    """A fresh browser context (its own cookies) on the live server, per person."""
    contexts = []

    def open_for() -> object:
        context = chromium.new_context(base_url=live_server_process.url, viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield open_for
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workloads/")
