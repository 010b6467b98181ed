"""Helpers for the atlas's browser tests: Debian's chromium driven by Playwright, and the German
number format the atlas shows (written here again, independently of atlas.js)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("SOZIALMONITOR_CHROMIUM", "/usr/bin/chromium")
# No network of its own: no updates, no sync, no QUIC probing; the tests run as root (no sandbox).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@contextmanager
def chromium():
    """One headless chromium (make browser installs it; `playwright install` is never used)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page whose requests and console are recorded; requests outside `allowed` are aborted."""

    def __init__(self, browser, allowed: list[str], width: int = 1280, height: int = 800):
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.allowed = allowed
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        if url.startswith(("data:", "blob:")) or any(url.startswith(prefix) for prefix in self.allowed):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str) -> int:
        """Load `url` and wait until the atlas is interactive; returns its time to interactive (ms)."""
        self.page.goto(url)
        self.page.wait_for_selector("html[data-bereit]")
        return int(self.page.get_attribute("html", "data-bereit"))

    def close(self) -> None:
        self.context.close()


def de(value: float | None, decimals: int) -> str:
    """A number as the atlas shows it: fixed decimals, decimal comma, '.' between thousands."""
    if value is None:
        return ""
    text = f"{abs(value):,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("-" if value < 0 and any(c in "123456789" for c in text) else "") + text


def de_exact(value: float) -> str:
    """The published number in the atlas's CSV: its shortest form, decimal comma."""
    return (str(int(value)) if float(value).is_integer() else repr(float(value))).replace(".", ",")
