"""`make present`: the classroom demo served by Voila, as a presenter's browser shows it.

The server is Voila as the Makefile runs it (loopback, no browser, sources stripped, the
``pynest-present`` template found through ``JUPYTER_PATH``), on a free port, serving a
*copy* of notebook 11 from a temporary root (Voila executes the notebook, and the
session's widgets change state), with its runtime files in a temporary folder. It is
polled on its notebook list (``/``), which starts no kernel; the page is
``/voila/render/<notebook>``. The server is always stopped, also when a test fails.

The browser is a 1280x720 window that may fetch nothing but the server: every request
to another host is refused and recorded, and the page must still finish loading.

Checks: the explorer renders (controls and its picture) without code or traceback;
**Next ▶**, the slider, the keys and the go-to box step and redraw; garbage gives a
message; at every step the controls and the whole picture are inside the 1280x720
window, the picture (SVG, fitted to its output) with its smallest text at >= 16 CSS px
(``test_figure_text_size.svg_text_px``); nothing was asked of another host.
"""

from __future__ import annotations

import os
import shutil
import sys
from urllib.parse import urlsplit

import pytest

from pynest.viz import style as S

from .conftest import NOTEBOOKS, ROOT, SCREENSHOTS, _free_port, browser_missing_reason, serve
from .test_figure_text_size import svg_text_px

NAME = "11_classroom_demo.ipynb"
IMG = ".pynest-presenter .widget-output img"
SLIDER = ".pynest-presenter .widget-hslider"
VIEW = {"width": 1280, "height": 720}


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    try:
        import voila  # noqa: F401
    except ImportError:
        pytest.skip("voila is not installed (it is in the lab extra: pip install -e '.[lab]')")
    if not (NOTEBOOKS / NAME).exists():
        pytest.skip(f"{NAME} does not exist")
    root = tmp_path_factory.mktemp("voila-root")
    shutil.copy(NOTEBOOKS / NAME, root / NAME)
    home = tmp_path_factory.mktemp("voila-home")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_PATH=str(ROOT))
    env.pop("MPLBACKEND", None)  # the kernel keeps the inline backend, as under make present
    port = _free_port()
    with serve(
        [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
         f"--port={port}", "--Voila.port_retries=0", f"--Voila.root_dir={root}",
         "--template=pynest-present"],
        f"http://127.0.0.1:{port}/",
        env=env, log_path=home / "voila.log", timeout=120, cwd=root,
    ):  # fmt: skip
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def screen(browser):
    """A 1280x720 page that may only reach the loopback server; ``page.outside`` lists
    every request that tried to go elsewhere (each one refused)."""
    context = browser.new_context(viewport=VIEW)
    outside: list[str] = []

    def only_loopback(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in (
            "127.0.0.1",
            "localhost",
        ):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    pg = context.new_page()
    pg.outside = outside
    try:
        yield pg
    finally:
        context.close()


def _open(page, voila_url) -> None:
    page.goto(f"{voila_url}/voila/render/{NAME}", timeout=180_000, wait_until="load")
    page.wait_for_selector(IMG, timeout=180_000)  # the explorer drew its picture
    page.wait_for_selector(SLIDER, timeout=30_000)


def _src(page) -> str:
    return page.locator(IMG).first.get_attribute("src") or ""


def _wait_new_picture(page, before: str) -> None:
    page.wait_for_function(
        "([sel, before]) => { const i = document.querySelector(sel); "
        "return i && i.complete && i.src && i.src !== before; }",
        arg=[IMG, before],
        timeout=60_000,
    )


def _step(page) -> int:
    return int(page.locator(SLIDER).first.locator(".widget-readout").inner_text().strip())


def _inside(box, what: str) -> None:
    assert box is not None, f"{what} is not shown"
    x0, y0 = box["x"], box["y"]
    x1, y1 = x0 + box["width"], y0 + box["height"]
    assert 0 <= x0 and 0 <= y0 and x1 <= VIEW["width"] and y1 <= VIEW["height"], (
        f"{what} at ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) is not inside the 1280x720 window"
    )


def test_present_shows_the_explorer_without_code(screen, voila_url):
    page = screen
    _open(page, voila_url)
    body = page.locator("body").inner_text()
    # no code cell, prompt or editor, and none of the notebook's source text
    # (markdown cells keep a .jp-InputArea: their rendered text lives there)
    for selector in (".jp-CodeCell .jp-InputArea", ".jp-InputArea-editor", ".cm-editor"):
        assert page.locator(selector).count() == 0, selector
    for source in ("NBVAL_IGNORE_OUTPUT", "ClassroomDemoExplorer(seed=0)", "import "):
        assert source not in body, source
    assert "Traceback" not in body
    assert "step 1 of 12" in body

    # Next ▶ moves to step 2 and redraws
    before = _src(page)
    page.get_by_role("button", name="Next ▶").click()
    _wait_new_picture(page, before)
    assert "step 2 of 12" in page.locator(".pynest-presenter").inner_text()

    # the slider: an arrow key on its handle moves one step (and only one: the page's
    # keys leave a focused slider alone)
    before = _src(page)
    slider = page.locator(SLIDER).first
    slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    _wait_new_picture(page, before)
    assert _step(page) == 3
    page.wait_for_timeout(500)
    assert _step(page) == 3 and "step 3 of 12" in page.locator(".pynest-presenter").inner_text()

    # garbage in the go-to box: a message, no traceback, the picture stays
    before = _src(page)
    box = page.locator(".pynest-presenter .widget-text input").first
    box.fill("not-a-number!")
    box.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-html')]"
        ".some(h => h.innerText.includes('not-a-number!'))",
        timeout=30_000,
    )
    assert "Traceback" not in page.locator("body").inner_text()
    assert _src(page) == before
    assert page.outside == []


def test_keys_and_the_go_to_box_step_the_story(screen, voila_url):
    from playwright.sync_api import expect  # here: the module loads (and skips) without it

    page = screen
    _open(page, voila_url)
    assert "PageDown" in page.locator(".pynest-presenter").inner_text()  # said on screen
    page.locator("body").click(position={"x": 5, "y": 715})  # focus on the page, as a clicker
    for key, step in (("PageDown", 2), ("ArrowRight", 3), ("PageUp", 2), ("ArrowLeft", 1),
                      ("End", 12), ("Home", 1)):  # fmt: skip
        before = _src(page)
        page.keyboard.press(key)
        _wait_new_picture(page, before)
        assert _step(page) == step, key

    # keys typed into a box stay there: no step
    box = page.locator(".pynest-presenter .widget-text input").first
    box.click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("PageDown")
    page.wait_for_timeout(500)
    assert _step(page) == 1

    # the same step typed twice goes there twice
    for _ in range(2):
        before = _src(page)
        box.fill("7")
        box.press("Enter")
        _wait_new_picture(page, before)
        assert _step(page) == 7
        expect(box).to_have_value("", timeout=10_000)  # used, so emptied
        before = _src(page)
        page.get_by_role("button", name="Next ▶").click()
        _wait_new_picture(page, before)
        assert _step(page) == 8
    assert page.outside == []


def test_every_step_fits_1280x720_and_nothing_is_fetched_from_elsewhere(screen, voila_url):
    page = screen
    _open(page, voila_url)
    assert page.evaluate("document.readyState") == "complete"  # loaded, offline
    root = page.locator(".pynest-presenter").first
    controls = {
        "Back": root.get_by_role("button", name="◀ Back"),
        "Next": root.get_by_role("button", name="Next ▶"),
        "step slider": root.locator(".widget-hslider"),
        "go to": root.locator(".widget-text").nth(0),
        "PTCR": root.locator(".widget-text").nth(1),
        "keys": root.get_by_text("PageDown", exact=False),
    }
    page.locator("body").click(position={"x": 5, "y": 715})
    for step in range(1, 13):
        if step > 1:
            before = _src(page)
            page.keyboard.press("ArrowRight")
            _wait_new_picture(page, before)
        assert _step(page) == step
        img = page.locator(IMG).first
        _inside(img.bounding_box(), f"step {step}: the picture")
        for name, control in controls.items():
            _inside(control.first.bounding_box(), f"step {step}: {name}")
        column = root.locator(".widget-vbox").first
        _inside(column.bounding_box(), f"step {step}: the column")
        overflow = column.evaluate("c => c.scrollHeight - c.clientHeight")
        assert overflow <= 0, f"step {step}: the column needs {overflow} px of scrolling"
        shown, room = img.evaluate(
            "i => [i.getBoundingClientRect().width,"
            " i.closest('.widget-output').getBoundingClientRect().width]"
        )
        assert shown <= room + 1, f"step {step}: the picture ({shown} px) runs out of {room} px"
        text = svg_text_px(img)
        assert text["px"] >= S.PRESENTER.min_px * 0.98, f"step {step}: small text {text}"
        if step == 7:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "present_11_1280x720_step7.png"))
    # the rest of the notebook is still there, below the first screen
    assert page.locator("text=Check yourself").count() == 1
    assert page.outside == [], page.outside
