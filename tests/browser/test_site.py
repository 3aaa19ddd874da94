"""The static classroom site (``make html``) as a teacher opens it: from ``file://``, offline.

The site is built into a temporary folder with tools/build_site.py (the same code ``make
html`` runs, so from the committed notebooks); Chromium opens its index, which must list
every notebook, then every notebook page at 1280x720. On each page every widget output
must be drawn from the saved state with no kernel and no network (all JavaScript and
fonts are local): a banner saying it is a recording before it, its controls switched off,
its picture or form shown, the Font Awesome icons' font loaded (no empty boxes), no failed
request and no console error. Where the builder recorded an explorer at every value of its
step slider, that slider alone is on, and moving it with the keyboard shows another
recorded picture. A screenshot of each page's first explorer is kept.
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from .conftest import NOTEBOOKS, ROOT, SCREENSHOTS

JS_CACHE = ROOT / ".cache" / "site-js"
PAGES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_site()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if shutil.which("npm") is None and not (JS_CACHE / "embed-amd.js").exists():
        pytest.skip("npm is not installed: the site's widget renderer comes from npm")
    out = tmp_path_factory.mktemp("site")
    pages = BUILD.build(out, JS_CACHE)
    return out, pages


@pytest.fixture
def small_page(browser):
    """A 1280x720 page that records failed requests and console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = context.new_page()
    pg.failed, pg.errors = [], []
    pg.on("requestfailed", lambda r: pg.failed.append(r.url))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    try:
        yield pg
    finally:
        context.close()


def test_index_lists_every_notebook(site, small_page):
    out, pages = site
    names = [p.stem for p in PAGES]
    assert sorted(p.stem for p in pages) == names
    small_page.goto((out / "index.html").as_uri())
    links = small_page.locator("ol.notebooks a")
    assert links.count() == len(names)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert [href.removesuffix(".html") for href in hrefs] == names
    assert "switched off" in small_page.locator("body").inner_text()
    stepped = [p.stem for p in pages if "pynest-steps" in p.read_text(encoding="utf-8")]
    assert stepped, (
        "no explorer could be recorded step by step: the stored pictures differ from what "
        "pynest draws today (re-execute the notebooks with make execute)"
    )
    assert small_page.failed == [] and small_page.errors == []


# For each banner: the output after it, whether it drew a widget box, a picture (an
# explorer's Output with content) or a text box (an exercise), and the controls left on.
AUDIT = """() => [...document.querySelectorAll('.pynest-recorded')].map(banner => {
  const child = banner.closest('.jp-OutputArea-child');
  const next = child && child.nextElementSibling;
  const boxes = next ? [...next.querySelectorAll('.widget-box')] : [];
  const outputs = next ? [...next.querySelectorAll('.widget-output')] : [];
  const enabled = next ? [...next.querySelectorAll(
      'input:not([disabled]), select:not([disabled]), button:not([disabled]), '
      + 'textarea:not([disabled]), .noUi-target:not([disabled])')]
      .filter(e => !e.closest('.pynest-steps')).length : -1;
  return {
    text: banner.innerText,
    steps: next ? next.querySelectorAll('.pynest-steps').length : 0,
    drawn: boxes.some(b => b.getBoundingClientRect().height > 20),
    picture: outputs.some(o => o.querySelector('img, svg, table, pre')
                               && o.getBoundingClientRect().height > 50),
    textbox: !!(next && next.querySelector('.widget-text input')),
    enabled: enabled,
  };
})"""

ICONS = """async () => {
  await document.fonts.ready;
  const icons = [...document.querySelectorAll('.jupyter-widgets .fa')]
      .filter(i => i.offsetParent !== null);  // not in a recording that is not shown
  const faces = [...document.fonts].filter(f => f.family.includes('Font Awesome 5 Free'));
  return {
    icons: icons.length,
    loaded: faces.some(f => f.status === 'loaded' && f.weight === '900'),
    failed: faces.filter(f => f.status === 'error').length,
    blank: icons.filter(i => i.getBoundingClientRect().width < 4).length,
  };
}"""


# the step slider shown (a recorded explorer keeps one copy of itself per value, one shown)
SHOWN_STEPS = """() => {
  const slider = [...document.querySelectorAll('.pynest-steps')]
      .find(s => s.getBoundingClientRect().height > 0);
  const frame = slider.closest('.jp-OutputArea-output');  // only the shown copy has size
  const img = [...document.querySelectorAll('.widget-output img')]
      .find(i => i.getBoundingClientRect().height > 0 && frame.contains(i));
  return {value: slider.querySelector('.widget-readout').innerText,
          src: img ? img.src : ''};
}"""


def _step_once(page, stem: str) -> None:
    """Move the first recorded step slider one step with the keyboard, as a person
    would, and check that the recording of the new value is shown: another picture."""
    before = page.evaluate(SHOWN_STEPS)
    handle = page.locator(".pynest-steps .noUi-handle").locator("visible=true").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(100)
    if page.evaluate(SHOWN_STEPS)["value"] == before["value"]:  # it was at the end
        handle.focus()
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "([js, v]) => eval(js)().value !== v", arg=[SHOWN_STEPS, before["value"]], timeout=10_000
    )
    after = page.evaluate(SHOWN_STEPS)
    assert after["src"] and after["src"] != before["src"], f"{stem}: {before} -> {after}"


def _expected(path) -> list[str]:
    """'explorer' or 'exercise' for each widget output of the committed notebook."""
    nb, _source = BUILD.read_notebook(path)
    return [BUILD._kind(cell) for _i, cell, _j, _m in BUILD.widget_outputs(nb)]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_every_page_shows_recorded_explorers(site, small_page, path):
    out, _ = site
    page = small_page
    kinds = _expected(path)
    page.goto((out / f"{path.stem}.html").as_uri())
    if kinds:
        page.wait_for_selector(".widget-output", timeout=30_000)
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-OutputArea-child .widget-box').length >= n",
            arg=len(kinds),
            timeout=30_000,
        )
    audit = page.evaluate(AUDIT)
    assert len(audit) == len(kinds), "one banner per widget output"
    for i, (kind, seen) in enumerate(zip(kinds, audit, strict=True)):
        where = f"{path.stem} widget {i} ({kind}): {json.dumps(seen)}"
        assert seen["text"].startswith(f"A recorded {kind}:"), where
        assert "open this notebook in JupyterLab" in seen["text"], where
        assert seen["drawn"], where
        assert seen["enabled"] == 0, f"controls left on: {where}"
        assert seen["picture"] if kind == "explorer" else seen["textbox"], where
    stepped = [i for i, seen in enumerate(audit) if seen["steps"]]
    for i in stepped:
        assert "slider steps through" in audit[i]["text"], audit[i]
    if stepped:
        _step_once(page, path.stem)
    icons = page.evaluate(ICONS)
    if icons["icons"]:
        assert icons["loaded"] and icons["failed"] == 0 and icons["blank"] == 0, icons
    assert page.locator(".jp-OutputArea-output").filter(has_text="Traceback").count() == 0
    assert page.failed == [], (
        f"requests that failed (the site must be self-contained): {page.failed}"
    )
    assert page.errors == [], f"console errors: {page.errors}"
    if kinds:
        page.locator(".pynest-recorded").first.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -40)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"site_{path.stem[:2]}.png"))
