"""The look shared by every pynest figure: projector-readable, colour-blind safe.

Colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), which
stays distinguishable under the common forms of colour blindness. Meaning never rests on
colour alone: every coloured box also carries a word ("fault", "not reached", a level
name), so a grey-scale printout still reads.

Font sizes follow one rule, :func:`min_font_pt`: a figure's smallest text must render
at >= 11 CSS px in JupyterLab at 1280x720 with the file browser open (an output cell is
848 CSS px wide there, measured in Chromium) and at >= 16 CSS px where it is presented
(``make present``: Voila at 1280x720, an output 1250 CSS px wide). A figure wider than the
cell is scaled down to it, so what counts is a text's size in points *relative to the
figure's width*: at the full-cell width of 14 inches nothing is below
``SMALL_SIZE`` = 13.5 pt (11.4 px in the lab, 16.7 px presented).
:mod:`pynest.viz.legibility` measures every drawn text against the rule.

Figures are made with :func:`new_figure`, which builds a :class:`matplotlib.figure.Figure`
directly (no pyplot): nothing is registered with a global figure manager, so figures
never pile up or display twice, and the functions stay pure (record in, Figure out).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

# --- Okabe-Ito ------------------------------------------------------------------------
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
BLACK = "#000000"
GREY = "#999999"
LIGHT_GREY = "#E6E6E6"
WHITE = "#FFFFFF"

OKABE_ITO = (ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK)

# --- roles ------------------------------------------------------------------------------
OK = GREEN
"""A translation that succeeded, an aligned table, an accepted value."""
FAULT = VERMILLION
"""A fault, a misaligned table, a rejected value."""
NOT_REACHED = LIGHT_GREY
"""A level the walk never read."""
LEVEL_COLOURS = (ORANGE, SKY_BLUE, GREEN, PURPLE)
"""Radix levels 0 (root, PGD), 1 (PUD), 2 (PMD), 3 (PTE): the EA index field of a level
and the table row it selects share a colour."""
TABLE_COLOUR = BLUE
"""The partition table and process table (PATE, PRTE)."""
FIELD_COLOURS = {
    "quadrant": YELLOW,
    "zero": LIGHT_GREY,
    "offset": GREY,
    "reserved": LIGHT_GREY,
    "base": BLUE,
    "size": ORANGE,
    "flag": SKY_BLUE,
    "perm": GREEN,
    "rc": PURPLE,
    "rts": PURPLE,
    "att": YELLOW,
    "sw": LIGHT_GREY,
}
"""Colours of the bit fields of a register or table entry, by kind."""

# --- type --------------------------------------------------------------------------------
FONT = "DejaVu Sans"
MONO = "DejaVu Sans Mono"
TITLE_SIZE = 18
LABEL_SIZE = 15
TEXT_SIZE = 14
SMALL_SIZE = 13.5
FIGURE_WIDTH = 14.0
"""The full-cell width in inches: every figure but a few small ones is this wide."""
DPI = 100
"""Pixels per inch of a figure's PNG (the fallback stored beside a static figure's SVG,
:func:`pynest.viz.pictures.render_png`) and of raster images inside an SVG."""
SVG_PX_PER_INCH = 96.0
"""An SVG figure is ``width`` inches = ``72 * width`` pt wide, which a browser shows as
96 CSS px per inch when it is narrower than the cell (a wider one is fitted to the cell:
:func:`pynest.viz.pictures.for_browsers`)."""
INLINE_PAD = 0.1
"""Inches the inline backend's ``bbox_inches="tight"`` adds on each side of a figure
whose canvas holds everything it draws (``savefig.pad_inches``)."""


# --- where figures are seen, and the size rule ---------------------------------------------
@dataclass(frozen=True)
class Display:
    """Where a figure is seen: its output area is ``cell_px`` CSS px wide and its smallest
    text must render at ``min_px`` CSS px or more."""

    name: str
    cell_px: float
    min_px: float


LAB = Display("JupyterLab at 1280x720, file browser open", 848.0, 11.0)
"""Measured in Chromium (``tests/browser/test_figure_text_size.py``): the file browser
takes 250 px; an output area, and the explorer picture in it, is 848 CSS px wide."""
PRESENTER = Display("make present (Voila) at 1280x720", 1250.0, 16.0)
"""Voila's page at 1280x720: an output area, and the explorer picture in it, is 1250 CSS
px wide. The classroom slide the presenter view shows beside the explorer's controls is
920 px wide and shown at its own size (``tests/browser/test_present.py``)."""


def px_per_inch(width_in: float, display: Display, native: float = DPI) -> float:
    """CSS px per figure inch once a figure ``width_in`` inches wide is shown in
    ``display``: images are never scaled up (``max-width: 100%``), only down to the cell.
    ``native`` is the image's own px per inch (``DPI`` for PNG, ``SVG_PX_PER_INCH``)."""
    return min(native, display.cell_px / width_in)


def text_px(size_pt: float, width_in: float, display: Display, native: float = DPI) -> float:
    """The CSS px height of a ``size_pt`` font in a figure ``width_in`` inches wide."""
    return size_pt / 72.0 * px_per_inch(width_in, display, native)


def shown_px(size_pt: float, width_in: float, display: Display) -> float:
    """The CSS px a ``size_pt`` font in a figure ``width_in`` inches wide shows at in
    ``display`` in the worst of the ways pynest shows figures: PNG or SVG, alone (a
    widget's picture) or with the inline backend's padding."""
    return min(
        text_px(size_pt, shown, display, native)
        for native in (DPI, SVG_PX_PER_INCH)
        for shown in (width_in, width_in + 2 * INLINE_PAD)
    )


def min_font_pt(width_in: float = FIGURE_WIDTH, *displays: Display) -> float:
    """The smallest font size (pt, rounded up to a half point) a figure ``width_in``
    inches wide may use so that it reads in every one of ``displays`` (default: LAB)."""
    need = max(d.min_px / shown_px(1.0, width_in, d) for d in displays or (LAB,))
    return math.ceil(need * 2 - 1e-9) / 2


def new_figure(width: float = FIGURE_WIDTH, height: float = 6.0) -> Figure:
    """A white Figure of ``width`` x ``height`` inches, not registered with pyplot."""
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor=WHITE)
    return fig


class Canvas:
    """Drawing straight onto a figure in inches, (0, 0) at the lower left.

    No axes are involved: boxes and texts are figure-level artists placed with the
    figure's inch transform, which keeps building a figure of a hundred labels cheap
    (no data limits, no clipping) -- explorers redraw on every slider step.
    """

    def __init__(self, fig: Figure, width: float, height: float) -> None:
        self.fig = fig
        self.width = width
        self.height = height
        self.transform = fig.dpi_scale_trans


def canvas_axes(fig: Figure, width: float, height: float) -> Canvas:
    """A :class:`Canvas` of ``width`` x ``height`` inches on ``fig``.

    The figure also gets one empty, invisible axes: IPython's inline backend shows a
    figure only if it has axes (an axes-less figure displays as text alone).
    """
    fig.add_axes((0.0, 0.0, 1.0, 1.0)).set_axis_off()
    return Canvas(fig, width, height)


def reuse_canvas(fig: Figure | None, width: float, height: float) -> tuple[Figure, Canvas]:
    """A new figure with its canvas, or ``fig`` emptied of its texts and boxes and resized
    (its one invisible axes kept: building axes is most of a redraw's cost), so that an
    explorer redraws into the figure it showed before."""
    if fig is None or not fig.axes:
        fig = new_figure(width, height)
        return fig, canvas_axes(fig, width, height)
    fig.texts.clear()
    fig.patches.clear()
    if tuple(fig.get_size_inches()) != (width, height):
        fig.set_size_inches(width, height)
    return fig, Canvas(fig, width, height)


def wrap_words(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` characters, broken at spaces only (a longer
    word stands on a line of its own); runs of white space count as one space."""
    return textwrap.wrap(
        " ".join(text.split()), width, break_long_words=False, break_on_hyphens=False
    )


def tint(colour: str, amount: float = 0.35) -> str:
    """``colour`` mixed with white: ``amount`` 1 is the colour itself, 0 is white.

    Used for box backgrounds so that black text on them keeps a high contrast.
    """
    c = colour.lstrip("#")
    rgb = [int(c[i : i + 2], 16) for i in (0, 2, 4)]
    mixed = [round(255 - (255 - v) * amount) for v in rgb]
    return "#" + "".join(f"{v:02X}" for v in mixed)


def box(
    cv: Canvas,
    x: float,
    y: float,
    w: float,
    h: float,
    face: str,
    edge: str = BLACK,
    lw: float = 1.2,
    rounded: bool = True,
    hatch: str | None = None,
    dashed: bool = False,
) -> None:
    """A box with its lower-left corner at (x, y) inches."""
    common = {
        "facecolor": face,
        "edgecolor": edge,
        "linewidth": lw,
        "hatch": hatch,
        "transform": cv.transform,
        "clip_on": False,
    }
    if dashed:
        common["linestyle"] = (0, (4, 3))
    if rounded:
        pad = min(w, h) * 0.08
        patch = FancyBboxPatch(
            (x + pad, y + pad), w - 2 * pad, h - 2 * pad, boxstyle=f"round,pad={pad}", **common
        )
    else:
        patch = Rectangle((x, y), w, h, **common)
    cv.fig.patches.append(patch)
    patch.set_figure(cv.fig)


def label(
    cv: Canvas,
    x: float,
    y: float,
    text: str,
    size: float = TEXT_SIZE,
    *,
    mono: bool = False,
    bold: bool = False,
    colour: str = BLACK,
    ha: str = "center",
    va: str = "center",
) -> None:
    """Text at (x, y) inches; ``mono`` for hex values and bit strings."""
    cv.fig.text(
        x,
        y,
        text,
        transform=cv.transform,
        fontsize=size,
        family=MONO if mono else FONT,
        weight="bold" if bold else "normal",
        color=colour,
        ha=ha,
        va=va,
    )


def figure_text(fig: Figure) -> str:
    """Every string drawn in ``fig``, one per line, in drawing order (for tests and for
    a text-only view of a figure)."""
    out = []
    for ax in fig.axes:
        out.append(ax.get_title())
        out += [t.get_text() for t in ax.texts]
    out += [t.get_text() for t in fig.texts]
    return "\n".join(s for s in out if s)
