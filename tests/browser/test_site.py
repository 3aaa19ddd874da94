"""The static classroom site (``make html``) as a teacher opens it: from ``file://``, offline.

The site is built into a temporary folder with tools/build_site.py (the same code ``make
html`` runs); Chromium opens its index, which must list every notebook, then a notebook
page, where the explorer must be drawn from the saved widget state -- its controls and its
picture -- with no kernel and no network (all JavaScript is local).
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from .conftest import NOTEBOOKS, ROOT, SCREENSHOTS

JS_CACHE = ROOT / ".cache" / "site-js"


def _build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if shutil.which("npm") is None and not (JS_CACHE / "embed-amd.js").exists():
        pytest.skip("npm is not installed: the site's widget renderer comes from npm")
    out = tmp_path_factory.mktemp("site")
    pages = _build_site().build(out, JS_CACHE)
    return out, pages


def test_index_lists_every_notebook(site, page):
    out, pages = site
    names = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.stem for p in pages) == names
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto((out / "index.html").as_uri())
    links = page.locator("ol.notebooks a")
    assert links.count() == len(names)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert [href.removesuffix(".html") for href in hrefs] == names
    assert failed == []


def test_notebook_page_draws_its_explorer_without_a_kernel(site, page):
    out, _ = site
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto((out / "02_ptcr_and_partition_table.html").as_uri())
    # the widget manager renders the saved state: controls and the Output's picture
    page.wait_for_selector(".widget-text input", timeout=30_000)
    page.wait_for_selector(".widget-output img", timeout=30_000)
    img = page.locator(".widget-output img").first
    assert (img.get_attribute("src") or "").startswith("data:image/png")
    assert page.locator(".jp-OutputArea-output").filter(has_text="Traceback").count() == 0
    assert failed == [], f"requests that failed (the site must be self-contained): {failed}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "site_02.png"))
