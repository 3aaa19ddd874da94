"""Figures as pictures: SVG, crisp at any zoom and with text that is text; PNG beside it.

Every pynest figure is mostly words and boxes. As SVG with ``svg.fonttype = "none"`` each
text stays a ``<text>`` element that the browser draws with its own fonts: sharp on a
projector or at 200 % zoom, selectable, read by screen readers, and about five times
quicker to make than a PNG (Agg drawing every glyph was most of an explorer's redraw).

:func:`render_svg` is the one place a figure becomes SVG -- the explorers' pictures
(:mod:`pynest.widgets.frames`) and the notebooks' static figures
(:func:`show_figures_as_svg`) both use it; :func:`render_png` the one place it becomes
PNG (a stored static figure carries one too: JupyterLab shows SVG only from a trusted
notebook, and a notebook fresh from git is not trusted until it runs). The SVG is
deterministic: a fixed ``svg.hashsalt`` for the ids of clip paths and markers, no date in
the metadata, and the rc values set only for the render (``rc_context``), never globally.

The browser draws the text, so :func:`for_browsers` -- the one step after matplotlib's
``savefig`` -- gives it what matplotlib's layout assumed. matplotlib names one font per text
(``font-family: 'DejaVu Sans'``); a browser without DejaVu would fall back to its default,
usually a serif: :func:`add_font_fallbacks` appends similar fonts and the generic family,
so the text keeps its look and about its width. And a browser collapses runs of spaces in
SVG text, which Agg draws (the mono columns of a partition-table row): the root element
gets ``xml:space="preserve"``. Last, the size: JupyterLab shows an SVG as an ``<img>``
at its own size, never scaled down to the cell (unlike a PNG), so a 14-inch figure
(1344 CSS px) would run out of an 848-px output. A figure wider than the narrowest cell
pynest is seen in (:data:`~.style.LAB`) gets ``width="100%"`` and no height: the browser
fits it to the output's width, keeping the viewBox's proportions; a narrower one keeps
its size in pt (it fits everywhere, and is never scaled up).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from . import style as S

__all__ = [
    "FONT_FALLBACKS",
    "SVG_RC",
    "add_font_fallbacks",
    "for_browsers",
    "render_png",
    "render_svg",
    "show_figures_as_svg",
]

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "pynest", "svg.image_inline": True}
"""The rc values of every render: text as ``<text>``, ids from a fixed salt (not a random
one per render), images embedded."""

FONT_FALLBACKS = {
    S.FONT: "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, 'Liberation Sans', sans-serif",
    S.MONO: "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace",
}
"""The CSS font list written for each family pynest draws with: DejaVu first (the font
matplotlib measured the layout with), then fonts of similar width, then the generic one."""

_FAMILY = re.compile(r"font-family: ([^;\"]+)")


def _fallback(match: re.Match[str]) -> str:
    families = match.group(1).strip()
    first = families.split(",")[0].strip().strip("'\"")
    known = FONT_FALLBACKS.get(first)
    if known is not None:
        return f"font-family: {known}"
    generic = "monospace" if "mono" in first.lower() else "sans-serif"
    if families.rstrip().endswith(generic):
        return match.group(0)
    return f"font-family: {families}, {generic}"


def add_font_fallbacks(svg: str) -> str:
    """``svg`` with each ``font-family`` extended to a fallback list: DejaVu Sans and
    DejaVu Sans Mono by :data:`FONT_FALLBACKS`, any other family by the generic family
    (``monospace`` when its name says mono, else ``sans-serif``)."""
    return _FAMILY.sub(_fallback, svg)


_ROOT = re.compile(r"<svg\b[^>]*>")
_SIZE = re.compile(r' width="([0-9.]+)pt" height="[0-9.]+pt"')


def _root(match: re.Match[str]) -> str:
    tag = match.group(0).replace("<svg", '<svg xml:space="preserve"', 1)
    size = _SIZE.search(tag)
    if size and float(size.group(1)) / 72.0 * S.SVG_PX_PER_INCH > S.LAB.cell_px:
        tag = tag[: size.start()] + ' width="100%"' + tag[size.end() :]  # fit it to the cell
    return tag


def for_browsers(svg: str) -> str:
    """``svg`` (as matplotlib saved it) with fallback fonts (:func:`add_font_fallbacks`),
    its spaces kept as drawn (``xml:space="preserve"`` on the root element) and, when it
    is wider than ``style.LAB.cell_px`` CSS px, ``width="100%"`` (no height) so that a
    browser fits it to the output's width."""
    return _ROOT.sub(_root, add_font_fallbacks(svg), count=1)


Metrics = tuple[float, float, float]
_METRICS: OrderedDict[tuple[Any, ...], Metrics] = OrderedDict()
_METRICS_KEPT = 8192


@contextlib.contextmanager
def _kept_text_metrics() -> Iterator[None]:
    """While rendering SVG, a plain text's (width, height, descent) measured once per
    string and font, not once per render.

    Half of an explorer's SVG render is matplotlib measuring its texts for alignment
    (FreeType laying out every glyph); matplotlib keeps those measures per renderer, and
    ``savefig`` makes a new renderer each time, so an explorer redrawing the same labels
    measured them again on every move. The SVG renderer's measure depends only on the
    string, the font (family, style, weight, size, file: ``FontProperties``' key) and
    the hinting setting, so that is the key here; math text and TeX are measured as
    before. Set for the render only, then the method is restored. Kept: the last
    ``_METRICS_KEPT`` measures."""
    measure = RendererSVG.get_text_width_height_descent

    def kept(self: RendererSVG, s: str, prop: FontProperties, ismath: Any) -> Metrics:
        if ismath:
            return measure(self, s, prop, ismath)
        key = (s, hash(prop), prop.get_size_in_points(), matplotlib.rcParams["text.hinting"])
        found = _METRICS.get(key)
        if found is None:
            found = _METRICS[key] = measure(self, s, prop, ismath)
            if len(_METRICS) > _METRICS_KEPT:
                _METRICS.popitem(last=False)
        return found

    RendererSVG.get_text_width_height_descent = kept  # type: ignore[method-assign]
    try:
        yield
    finally:
        RendererSVG.get_text_width_height_descent = measure  # type: ignore[method-assign]


def render_svg(fig: Figure, dpi: float = S.DPI) -> str:
    """``fig`` as an SVG document (a string): the figure's own size (``width`` x
    ``height`` in pt, viewBox in pt), text as ``<text>`` (:func:`for_browsers`), the same
    string for the same figure in any process. ``dpi`` only sets the resolution of
    raster images inside the figure."""
    buf = io.StringIO()
    with matplotlib.rc_context(SVG_RC), _kept_text_metrics():
        fig.savefig(buf, format="svg", dpi=dpi, metadata={"Date": None})
    return for_browsers(buf.getvalue())


def render_png(fig: Figure, dpi: float = S.DPI) -> bytes:
    """``fig`` rendered by Agg as PNG bytes, ``dpi`` pixels per inch."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def show_figures_as_svg(shell: Any = None) -> bool:
    """Make IPython show a cell's Figure value as :func:`render_svg`'s SVG, with
    :func:`render_png`'s PNG beside it in the same output (what JupyterLab shows from a
    notebook it does not trust, and never the one it prefers otherwise), instead of the
    inline backend's PNG alone; a notebook's setup cell calls it after
    ``%matplotlib inline`` (which chose PNG, cropped ``bbox_inches="tight"``: here the
    picture is the figure's own canvas, as in an explorer). Returns False outside
    IPython (nothing to change)."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipywidgets
            return False
        shell = get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/jpeg", "application/pdf", "image/svg+xml"):
        formatters[mime].pop(Figure, None)
    formatters["image/svg+xml"].for_type(Figure, render_svg)
    formatters["image/png"].for_type(Figure, render_png)
    return True
