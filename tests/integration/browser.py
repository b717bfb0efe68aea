"""Headless Debian Chromium driven by Playwright, for the pages' tests."""

import re
import shutil
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Page, async_playwright

from streams.devtools.browser import CHROMIUM, FLAGS

needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make test installs it as root)")

# A catalogue key shown instead of its text ("board.column.red", "stage.opened"): the sections the pages read.
SECTIONS = (
    "common|board|intake|household|search|programme|stage|tier|priority|colour|track|deadline|category|source|factor|match|department"
    "|referral|partner|followups|watch|report"
)
RAW_KEY = re.compile(rf"\b(?:{SECTIONS})\.[A-Za-z_][\w.:-]*")


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
    """Catalogue keys on the page instead of their texts: in any text node (scrolled out of view too), title or placeholder."""
    texts = await page.evaluate(
        """() => {
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          const texts = [document.title];
          while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
          for (const e of document.querySelectorAll("[title],[placeholder],[aria-label]")) {
            texts.push(e.title, e.getAttribute("placeholder") ?? "", e.getAttribute("aria-label") ?? "");
          }
          return texts;
        }"""
    )
    return [match for text in texts for match in RAW_KEY.findall(text or "")]
