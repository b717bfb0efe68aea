"""Headless Debian Chromium driven by Playwright, for the pages' tests."""

import shutil
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make test installs it as root)")


@asynccontextmanager
async def open_page(url: str, width: int = 1366, height: int = 768):
    """A page of a fresh headless Chromium at url."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page: Page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(url)
            yield page
        finally:
            await browser.close()
