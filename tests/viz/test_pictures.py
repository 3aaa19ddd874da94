"""Figures as SVG (pynest/viz/pictures.py): the same text for the same figure in any
process, no date, the figure's size, every drawn text kept as a ``<text>`` element with a
font list a browser without DejaVu can fall back through, and the notebooks' static
figures shown through the same function."""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure

from pynest.viz import style as S
from pynest.viz.legibility import drawn_texts
from pynest.viz.pictures import (
    FONT_FALLBACKS,
    SVG_RC,
    add_font_fallbacks,
    for_browsers,
    render_png,
    render_svg,
    show_figures_as_svg,
)
from pynest.widgets import ClassroomDemoExplorer, Walk2DExplorer, WalkExplorer

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def _figures() -> dict[str, Figure]:
    """Figures of every kind of text pynest draws: sans and mono, bold, multi-line,
    runs of spaces (the classroom's table rows), a plot with tick labels."""
    plot = Figure(figsize=(4, 3))
    ax = plot.add_subplot()
    ax.bar([0, 1], [3, 5])
    ax.set_title("bytes <per> & level")
    plot.text(0.02, 0.02, "first line\nsecond  line", family=S.MONO)
    return {
        "walk": WalkExplorer().figures[0],
        "walk2d": Walk2DExplorer().figures[0],
        "classroom": ClassroomDemoExplorer().figures[0],
        "plot": plot,
    }


FIGURES = _figures()


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_drawn_text_is_a_text_element(name):
    """The SVG's <text> elements are exactly the lines Agg draws (legibility.drawn_texts),
    as many times each: nothing became a path, nothing was left out, spaces kept."""
    fig = FIGURES[name]
    svg = render_svg(fig)
    drawn = Counter(line for t in drawn_texts(fig) for line in t.text.split("\n"))
    assert Counter(_texts(svg)) == drawn
    assert "<path" not in "".join(re.findall(r"<text.*?</text>", svg, re.S))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_svg_has_the_figure_size(name):
    """The viewBox is the figure in pt; a figure wider than a Lab cell (848 CSS px) is
    fitted to the output (width 100%, no height), a narrower one keeps its size in pt."""
    fig = FIGURES[name]
    root = ET.fromstring(render_svg(fig).encode())
    w_in, h_in = fig.get_size_inches()
    assert [float(v) for v in root.get("viewBox").split()] == pytest.approx(
        [0, 0, w_in * 72, h_in * 72]
    )
    if w_in * S.SVG_PX_PER_INCH > S.LAB.cell_px:
        assert root.get("width") == "100%" and root.get("height") is None
    else:
        assert float(root.get("width").removesuffix("pt")) == pytest.approx(w_in * 72)
        assert float(root.get("height").removesuffix("pt")) == pytest.approx(h_in * 72)


def test_wide_figures_fit_the_cell_narrow_ones_keep_their_size():
    """By hand: 14 in (1344 CSS px) is fitted, 8.8 in (845 px) is not, 9 in (864) is."""
    widths = {14.0: "100%", 8.8: "633.6pt", 9.0: "100%", 4.0: "288pt"}
    for width, wanted in widths.items():
        root = ET.fromstring(render_svg(Figure(figsize=(width, 2))).encode())
        assert root.get("width") == wanted, width


def test_the_svg_is_the_same_in_another_process():
    """Two renders here, one in a fresh interpreter (other memory addresses, another
    random state): the same text, with no date in it."""
    code = (
        "import hashlib; from pynest.widgets import WalkExplorer;"
        "from pynest.viz.pictures import render_svg;"
        "print(hashlib.sha256(render_svg(WalkExplorer().figures[0]).encode()).hexdigest())"
    )
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "123"}
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    first, second = render_svg(WalkExplorer().figures[0]), render_svg(WalkExplorer().figures[0])
    assert first == second
    assert hashlib.sha256(first.encode()).hexdigest() == there
    assert "<dc:date>" not in first and "Date" not in first


def test_the_rc_values_hold_for_the_render_only():
    before = {k: matplotlib.rcParams[k] for k in SVG_RC}
    svg = render_svg(FIGURES["walk"])
    assert {k: matplotlib.rcParams[k] for k in SVG_RC} == before
    assert "<text" in svg
    # a global setting that would turn text into paths does not reach the render
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": None}):
        assert render_svg(FIGURES["walk"]) == svg


def test_every_font_has_its_fallback_list():
    svg = render_svg(FIGURES["walk"])
    families = set(re.findall(r"font-family: ([^;\"]+)", svg))
    assert families == set(FONT_FALLBACKS.values())
    assert FONT_FALLBACKS[S.FONT].endswith(", sans-serif")
    assert FONT_FALLBACKS[S.MONO].endswith(", monospace")


def test_font_fallbacks_by_hand():
    style = "font-weight: 700; font-size: 14px; font-family: {}; text-anchor: middle"
    cases = {
        "'DejaVu Sans'": FONT_FALLBACKS["DejaVu Sans"],
        "'DejaVu Sans Mono'": FONT_FALLBACKS["DejaVu Sans Mono"],
        "'Noto Sans'": "'Noto Sans', sans-serif",
        "'Fira Mono'": "'Fira Mono', monospace",
        "'Fira Mono', monospace": "'Fira Mono', monospace",
    }
    for given, wanted in cases.items():
        assert add_font_fallbacks(style.format(given)) == style.format(wanted)
    assert add_font_fallbacks("<svg><path d='M 0 0'/></svg>") == "<svg><path d='M 0 0'/></svg>"


def test_spaces_are_kept_for_the_browser():
    svg = for_browsers('<?xml version="1.0"?>\n<svg width="1pt"><text>a  b</text></svg>')
    assert (
        svg
        == '<?xml version="1.0"?>\n<svg xml:space="preserve" width="1pt"><text>a  b</text></svg>'
    )


def test_notebook_figures_show_as_svg_with_a_png_beside_it():
    from IPython.core.interactiveshell import InteractiveShell

    assert show_figures_as_svg() is False  # no IPython here: nothing changed
    shell = InteractiveShell.instance()
    try:
        assert show_figures_as_svg(shell) is True
        fig = FIGURES["plot"]
        data, _metadata = shell.display_formatter.format(fig)
        assert data["image/svg+xml"] == render_svg(fig)
        assert data["image/png"] == render_png(fig) and data["image/png"][:4] == b"\x89PNG"
        assert show_figures_as_svg(shell) is True  # again (a re-run setup cell): the same
        assert shell.display_formatter.format(fig)[0]["image/svg+xml"] == data["image/svg+xml"]
    finally:
        InteractiveShell.clear_instance()


def test_nbval_compares_a_figure_as_one_token():
    """tests/sanitize.cfg turns a stored SVG into one token (its text follows the
    unpinned matplotlib version), and leaves the text around it alone."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "sanitize.cfg")
    section = cfg["svg-figures"]
    svg = render_svg(FIGURES["walk"])
    assert re.sub(section["regex"], section["replace"], svg) == section["replace"]
    text = "before " + svg[svg.index("<svg") :] + "after"  # no prolog, no DOCTYPE
    assert re.sub(section["regex"], section["replace"], text) == f"before {section['replace']}after"


def _plain_svg(fig: Figure) -> str:
    """render_svg without its kept text measures: savefig as matplotlib does it."""
    import io

    buf = io.StringIO()
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buf, format="svg", dpi=S.DPI, metadata={"Date": None})
    return for_browsers(buf.getvalue())


def test_kept_text_measures_change_no_picture():
    """Every snapshot figure and every explorer state (tests/snapshots) renders to the
    same SVG with the kept measures as without them, also the second time round (the
    measures then come from the cache); and the SVG renderer's own method is back."""
    from matplotlib.backends.backend_svg import RendererSVG

    sys.path.insert(0, str(ROOT / "tests" / "snapshots"))
    try:
        import snapshot_cases as cases
    finally:
        sys.path.remove(str(ROOT / "tests" / "snapshots"))
    measure = RendererSVG.get_text_width_height_descent
    figures = [fig for make in cases.FIGURES.values() for fig in make().values()]
    for build, moves in cases.EXPLORERS.values():
        figures += build().figures
        for actions in moves.values():
            ex = build()
            cases.apply(ex, actions)
            figures += ex.figures
    assert len(figures) > 100
    for fig in figures:
        assert render_svg(fig) == _plain_svg(fig) == render_svg(fig)
    assert RendererSVG.get_text_width_height_descent is measure
