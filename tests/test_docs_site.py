"""The documentation site as a reader opens it: the API page's tables render, and search works
from disk (file://, no server), checked in headless Chromium.

Skips when the docs extra (``pip install -e '.[docs]'``) is not installed; the browser test
also needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` package.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for module in ("mkdocs", "mkdocstrings", "material"):
        pytest.importorskip(module, reason="docs extra not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_api_docstrings_hold_no_rst_tables():
    """An RST grid (``=====  =====``) is not Markdown: mkdocstrings showed it as raw lines."""
    import inspect

    import skymesh
    from skymesh import api

    rule = re.compile(r"^\s*={3,}(\s+={3,})+\s*$", re.MULTILINE)
    docs = {"skymesh.api": api.__doc__ or ""}
    docs.update({n: inspect.getdoc(getattr(skymesh, n)) or "" for n in api.__all__})
    bad = [name for name, doc in docs.items() if rule.search(doc)]
    assert not bad, bad


def test_api_page_renders_the_names_table(site):
    page = (site / "api.html").read_text(encoding="utf-8")
    assert not re.search(r"={5,}", page), "raw ===== lines on the API page"
    tables = re.findall(r"<table>.*?</table>", page, re.DOTALL)
    assert any("load_constellation" in t and "region_capacity" in t for t in tables)


def test_search_index_is_inlined_for_file_urls(site):
    """The offline plugin writes the index as a script, and the shim for its worker is local
    (no CDN: the site must search with no network)."""
    js = (site / "search" / "search_index.js").read_text(encoding="utf-8")
    assert js.startswith("var __index =") and "load_constellation" in js
    page = (site / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and not [s for s in scripts if "://" in s], scripts
    assert any("iframe-worker" in s for s in scripts), scripts


def test_search_finds_a_page_from_disk_in_chromium(site):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            remote: list[str] = []
            page.on(
                "request",
                lambda r: (
                    remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None
                ),
            )
            page.goto((site / "index.html").as_uri())
            query = page.locator("input[data-md-component='search-query']")
            query.click()
            query.press_sequentially("region_capacity")
            results = page.locator(".md-search-result__item")
            results.first.wait_for(timeout=15000)
            assert results.count() >= 1
            hrefs = [
                a.get_attribute("href") or ""
                for a in page.locator(".md-search-result__item a").all()
            ]
            assert any("api.html" in h for h in hrefs), hrefs
            assert not remote, remote
        finally:
            browser.close()
