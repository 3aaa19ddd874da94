"""Every notebook as a learner meets it: JupyterLab in Chromium, Run All, then poke.

For each notebook: open it, run all cells, wait until the kernel is idle and no cell is
still pending, and check that no output holds a traceback and that its explorer drew
its controls and a picture. Then use the explorer as a person would -- press an arrow key
on a slider, type garbage into a text box -- and check that the picture changes or a
message explains the input, still without a traceback. A screenshot of each notebook is
kept under artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import NOTEBOOKS, SCREENSHOTS, TOKEN

#: reference pages with no explorer (nbval runs them; tests/notebooks checks the glossary)
REFERENCE = {"13_glossary.ipynb"}
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in REFERENCE)
IDLE = ".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']"
OUTPUT_IMG = ".jp-OutputArea-output .widget-output img"
SLIDER = ".jp-OutputArea-output .widget-hslider"
TEXT_BOX = ".jp-OutputArea-output .widget-text input"


def _run_all(page, lab_url: str, name: str) -> None:
    page.goto(f"{lab_url}/lab/tree/{name}?token={TOKEN}&reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    # JupyterLab may ask which kernel to start if the kernel specs arrive after the
    # notebook: accept its proposal (the notebook's own python3)
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(timeout=5_000)
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    except PlaywrightTimeout:
        pass
    page.wait_for_function(
        """() => {
            const name = document.querySelector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName');
            const idle = document.querySelector(
                ".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']");
            return idle && name && !name.textContent.includes('No Kernel');
        }""",
        timeout=60_000,
    )
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_timeout(1000)
    # done when the kernel is idle and no input prompt still shows [*]
    page.wait_for_function(
        """() => {
            const busy = [...document.querySelectorAll('.jp-InputArea-prompt')]
                .some(p => p.textContent.includes('*'));
            const idle = document.querySelector(
                ".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']");
            return idle && !busy;
        }""",
        timeout=120_000,
    )


def _tracebacks(page) -> int:
    return page.locator(".jp-OutputArea-output").filter(has_text="Traceback").count()


def _images(page) -> list[str]:
    return [img.get_attribute("src") or "" for img in page.locator(OUTPUT_IMG).all()]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_explorer_responds(page, lab, name):
    _run_all(page, lab, name)
    assert _tracebacks(page) == 0, f"{name}: an output shows a traceback"
    widgets = page.locator(".jp-OutputArea-output .jupyter-widgets")
    assert widgets.count() > 0, f"{name}: no explorer controls were drawn"
    page.wait_for_selector(OUTPUT_IMG, timeout=30_000)

    sliders = page.locator(SLIDER)
    if sliders.count():
        before = _images(page)
        slider = sliders.first
        slider.scroll_into_view_if_needed()
        readout = slider.locator(".widget-readout")
        old_value = readout.inner_text()
        slider.locator(".noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        if readout.inner_text() == old_value:  # already at its maximum
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
        page.wait_for_function(
            "([sel, before]) => [...document.querySelectorAll(sel)]"
            ".map(i => i.src).join(',') !== before",
            arg=[OUTPUT_IMG, ",".join(before)],
            timeout=30_000,
        )

    boxes = page.locator(TEXT_BOX)
    if boxes.count():
        box = boxes.first
        box.scroll_into_view_if_needed()
        box.fill("not-a-number!")
        box.press("Enter")
        page.wait_for_timeout(1500)
        assert _tracebacks(page) == 0, f"{name}: garbage typed into a text box raised"
        html = page.locator(".jp-OutputArea-output .widget-html").all_inner_texts()
        assert any("not-a-number!" in t or "number" in t.lower() for t in html), (
            f"{name}: typing garbage showed no message: {html}"
        )

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name.removesuffix('.ipynb')}.png"), full_page=False)
