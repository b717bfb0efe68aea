"""Headless Debian Chromium driven by Playwright, for the pages' tests."""

import re
import shutil
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Page, async_playwright

from streams.devtools.browser import CHROMIUM, FLAGS

needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make test installs it as root)")

# A catalogue key shown instead of its text ("board.column.red", "stage.opened"): the sections the pages read.
RAW_KEY = re.compile(r"\b(?:common|board|intake|stage|tier|priority|colour|track|deadline|category|source|factor)\.[A-Za-z_][\w.:-]*")


@asynccontextmanager
async def open_page(url: str | None, width: int = 1366, height: int = 768, language: str | None = None, setup=None):
    """A page of a fresh headless Chromium at url (None: not yet navigated), with setup(page) awaited before it loads."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page: Page = await browser.new_page(viewport={"width": width, "height": height}, locale=language or "zh-CN")
            if setup:
                await setup(page)
            if url:
                await page.goto(url)
            yield page
        finally:
            await browser.close()


async def raw_keys(page: Page) -> list[str]:
    """Catalogue keys visible on the page instead of their texts (titles and placeholders included)."""
    texts = await page.evaluate(
        """() => [document.body.innerText, document.title,
                  ...[...document.querySelectorAll('[title],[placeholder],[aria-label]')].flatMap(
                      (e) => [e.title, e.placeholder ?? '', e.getAttribute('aria-label') ?? ''])]"""
    )
    return [match for text in texts for match in RAW_KEY.findall(text or "")]
