"""`make present`: the classroom demo served by Voila, as a presenter's browser shows it.

The server is Voila as the Makefile runs it (loopback, no browser, sources stripped), on a
free port, serving a *copy* of notebook 11 from a temporary root (Voila executes the
notebook, and the session's widgets change state), with its runtime files in a temporary
folder. It is polled on its notebook list (``/``), which starts no kernel; the page is
``/voila/render/<notebook>``. The server is always stopped, also when a test fails.

Checks: the explorer renders (controls and its picture), no code cell or source is on
the page, no traceback; **Next ▶** and the step slider change the picture; garbage in a
text box gives a message.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from .conftest import NOTEBOOKS, SCREENSHOTS, _free_port, browser_missing_reason, serve

NAME = "11_classroom_demo.ipynb"
IMG = ".widget-output img"
SLIDER = ".widget-hslider"


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
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    env.pop("MPLBACKEND", None)  # the kernel keeps the inline backend, as under make present
    port = _free_port()
    with serve(
        [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
         f"--port={port}", "--Voila.port_retries=0", f"--Voila.root_dir={root}"],
        f"http://127.0.0.1:{port}/",
        env=env, log_path=home / "voila.log", timeout=120, cwd=root,
    ):  # fmt: skip
        yield f"http://127.0.0.1:{port}"


def _src(page) -> str:
    return page.locator(IMG).first.get_attribute("src") or ""


def _wait_new_picture(page, before: str) -> None:
    page.wait_for_function(
        "([sel, before]) => { const i = document.querySelector(sel); "
        "return i && i.src && i.src !== before; }",
        arg=[IMG, before],
        timeout=60_000,
    )


def test_present_shows_the_explorer_without_code(page, voila_url):
    page.goto(f"{voila_url}/voila/render/{NAME}", timeout=180_000)
    page.wait_for_selector(IMG, timeout=180_000)  # the explorer drew its picture
    page.wait_for_selector(SLIDER, timeout=30_000)
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
    assert "step 2 of 12" in page.locator("body").inner_text()

    # the slider: an arrow key moves one step further and redraws again
    before = _src(page)
    slider = page.locator(SLIDER).first
    slider.scroll_into_view_if_needed()
    slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    _wait_new_picture(page, before)
    assert slider.locator(".widget-readout").inner_text().strip() == "3"
    assert "step 3 of 12" in page.locator("body").inner_text()

    # garbage in the first text box: a message, no traceback, the picture stays
    before = _src(page)
    box = page.locator(".widget-text input").first
    box.fill("not-a-number!")
    box.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-html')]"
        ".some(h => h.innerText.includes('not-a-number!'))",
        timeout=30_000,
    )
    assert "Traceback" not in page.locator("body").inner_text()
    assert _src(page) == before

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "present_11_classroom_demo.png"), full_page=False)
