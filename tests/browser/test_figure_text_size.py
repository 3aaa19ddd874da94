"""The figure size rule, measured: JupyterLab at 1280x720 with the file browser open shows
an explorer's picture so that its smallest text is at least ``viz.style.LAB.min_px``.

``viz.style.min_font_pt`` sizes every figure's smallest text from ``LAB.cell_px`` (the
width of an output area there) and ``tests/viz/test_figure_legibility.py`` checks each
figure against it. This test opens notebook 04 (the 2-D walk grid, the figure with the
densest text) in a real Lab, runs it, and measures the output area and the explorer's
picture. The picture is SVG (``pynest.viz.pictures.render_svg``): its viewBox is the
figure in pt, its ``<text>`` elements carry their font size in those units, so the
image's shown width / its viewBox width is CSS px per pt, and the smallest font-size
times that is the smallest text in CSS px (>= 11); and the picture must fit the output.
:func:`svg_text_px` is that measure; ``test_present.py`` applies it to the presenter
view (>= 16).
"""

from __future__ import annotations

from pynest.viz import style as S

from .conftest import SCREENSHOTS
from .test_notebooks_in_lab import OUTPUT_IMG, _run_all

NAME = "04_two_dimensional_walk.ipynb"
FILE_BROWSER = "#filebrowser"

_SVG_TEXT_PX = """(i) => {
  const prefix = 'data:image/svg+xml,';
  if (!i.src.startsWith(prefix)) return {error: 'not an SVG data URI: ' + i.src.slice(0, 40)};
  const svg = new DOMParser().parseFromString(decodeURIComponent(i.src.slice(prefix.length)),
                                              'image/svg+xml').documentElement;
  const viewBox = svg.getAttribute('viewBox').split(/\\s+/).map(Number);
  const sizes = [...svg.querySelectorAll('text')]
      .map(t => parseFloat((t.getAttribute('style') || '').match(/font-size: ([0-9.]+)px/)[1]));
  const css = i.getBoundingClientRect().width;
  return {css, viewBox: viewBox[2], texts: sizes.length, smallest: Math.min(...sizes),
          px: Math.min(...sizes) * css / viewBox[2]};
}"""


def svg_text_px(img) -> dict:
    """For a shown SVG picture (a Playwright locator of its ``img``): its shown width
    ``css``, its viewBox width (pt), how many ``texts``, the ``smallest`` font size (pt)
    and that size shown, ``px`` (CSS px)."""
    img.page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    shown = img.evaluate(_SVG_TEXT_PX)
    assert "error" not in shown, shown
    return shown


def test_lab_at_1280_shows_the_smallest_text_at_11_px(laptop_page, lab):
    page = laptop_page
    _run_all(page, lab, NAME)
    if not page.locator(FILE_BROWSER).is_visible():  # open the file browser, as a learner has it
        page.keyboard.press("Control+Shift+F")
        page.wait_for_timeout(500)
    assert page.locator(FILE_BROWSER).is_visible(), "the file browser did not open"
    page.wait_for_selector(OUTPUT_IMG, timeout=30_000)
    img = page.locator(OUTPUT_IMG).first
    img.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shown = svg_text_px(img)
    area = img.evaluate("i => i.closest('.jp-OutputArea-output').getBoundingClientRect().width")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "figure_text_size_1280x720.png"))

    # the output area is as wide as LAB says (within a few px of scrollbar and padding),
    # and the picture fits in it (an SVG <img> is not scaled down by Lab's CSS)
    assert abs(area - S.LAB.cell_px) <= 12, (area, shown)
    assert shown["css"] <= area + 1, (area, shown)
    # the picture is scaled as the rule counts on (px per figure inch)
    width_in = shown["viewBox"] / 72.0
    need = S.px_per_inch(width_in, S.LAB, native=S.SVG_PX_PER_INCH)
    assert shown["css"] / width_in >= need * 0.98, (shown, need)
    # and its smallest text, as drawn, is 11 CSS px or more
    assert shown["texts"] > 20, shown
    assert shown["smallest"] >= S.SMALL_SIZE - 1e-6, shown
    assert shown["px"] >= S.LAB.min_px * 0.98, shown
