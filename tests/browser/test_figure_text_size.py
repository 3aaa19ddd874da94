"""The premise of the figure size rule, measured: JupyterLab at 1280x720 with the file
browser open shows an explorer's picture no smaller than ``viz.style.LAB`` assumes.

``viz.style.min_font_pt`` sizes every figure's smallest text from ``LAB.cell_px`` (the
width of an output area there) and ``tests/viz/test_figure_legibility.py`` checks each
figure against it. This test opens notebook 04 (the 2-D walk grid, the figure with the
densest text) in a real Lab, runs it, and measures the output area and the explorer's
picture: the picture's CSS px per figure inch must be at least what the rule counts on,
so its smallest text renders at >= ``LAB.min_px`` (11 CSS px).
"""

from __future__ import annotations

from pynest.viz import style as S

from .conftest import SCREENSHOTS
from .test_notebooks_in_lab import OUTPUT_IMG, _run_all

NAME = "04_two_dimensional_walk.ipynb"
FILE_BROWSER = "#filebrowser"


def test_lab_at_1280_shows_pictures_at_the_size_the_rule_assumes(laptop_page, lab):
    page = laptop_page
    _run_all(page, lab, NAME)
    if not page.locator(FILE_BROWSER).is_visible():  # open the file browser, as a learner has it
        page.keyboard.press("Control+Shift+F")
        page.wait_for_timeout(500)
    assert page.locator(FILE_BROWSER).is_visible(), "the file browser did not open"
    page.wait_for_selector(OUTPUT_IMG, timeout=30_000)
    img = page.locator(OUTPUT_IMG).first
    img.scroll_into_view_if_needed()
    page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    shown = img.evaluate(
        "i => ({css: i.getBoundingClientRect().width, natural: i.naturalWidth,"
        " area: i.closest('.jp-OutputArea-output').getBoundingClientRect().width})"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "figure_text_size_1280x720.png"))

    # the output area is as wide as LAB says (within a few px of scrollbar and padding)
    assert abs(shown["area"] - S.LAB.cell_px) <= 12, shown
    width_in = shown["natural"] / S.DPI
    css_per_inch = shown["css"] / width_in
    need = S.px_per_inch(width_in, S.LAB)
    assert css_per_inch >= need * 0.98, (shown, need)
    # so the suite's smallest font shows at 11 CSS px or more in this picture
    assert S.SMALL_SIZE / 72.0 * css_per_inch >= S.LAB.min_px * 0.98
