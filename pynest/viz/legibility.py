"""Whether a figure can be read: every text it draws, where, and how big it is shown.

:func:`drawn_texts` renders a figure with Agg and records each text that was actually
drawn (titles, labels, tick labels, legend entries, figure texts; not the tick labels an
axis left out) with its window extent in pixels. :func:`problems` checks them against
the rules of :mod:`.style`:

* **inside**: a text lies inside the figure's canvas (and inside its clip box when it is
  clipped), so no label is cut off;
* **apart**: no two texts overlap (by more than ``tolerance`` px each way) -- a text in
  a box is fine, a text on another text is not;
* **in its box**: a text whose centre lies in a box (a rectangle or rounded box) stays
  inside the smallest such box, so no label runs over a box's edge;
* **big enough**: its font, shown in each :class:`~.style.Display`, is at least that
  display's ``min_px`` CSS px (:func:`~.style.shown_px`).

It is what ``tests/viz/test_figure_legibility.py`` runs over every snapshot case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from matplotlib.text import Text

from . import style as S

__all__ = ["DrawnBox", "DrawnText", "drawn_boxes", "drawn_texts", "problems"]

Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class DrawnText:
    """One text as drawn: its string, font size (pt) and extent in figure pixels
    (origin lower left), and the clip box it was drawn inside, if any."""

    text: str
    size: float
    x0: float
    y0: float
    x1: float
    y1: float
    clip: tuple[float, float, float, float] | None

    def overlap(self, other: DrawnText) -> tuple[float, float]:
        """How far the two extents overlap, in px along x and along y (<= 0: apart)."""
        return (
            min(self.x1, other.x1) - max(self.x0, other.x0),
            min(self.y1, other.y1) - max(self.y0, other.y0),
        )


@dataclass(frozen=True)
class DrawnBox:
    """A rectangle or rounded box as drawn, in figure pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    def holds_point(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def holds(self, t: DrawnText, tolerance: float) -> bool:
        return (
            t.x0 >= self.x0 - tolerance
            and t.y0 >= self.y0 - tolerance
            and t.x1 <= self.x1 + tolerance
            and t.y1 <= self.y1 + tolerance
        )


def drawn_boxes(fig: Figure) -> list[DrawnBox]:
    """The visible rectangles and rounded boxes of ``fig`` (figure-level and in axes,
    legend frames included), after a draw (:func:`drawn_texts` draws)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    patches: list[Patch] = list(fig.patches)
    for ax in fig.axes:
        patches += ax.patches
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            patches.append(legend.legendPatch)
    out = []
    for p in patches:
        if p.get_visible() and isinstance(p, (Rectangle, FancyBboxPatch)):
            e = p.get_window_extent(renderer)
            out.append(DrawnBox(e.x0, e.y0, e.x1, e.y1))
    return out


def drawn_texts(fig: Figure) -> list[DrawnText]:
    """Every non-empty, visible text that drawing ``fig`` with Agg puts on the canvas,
    in drawing order. The figure is drawn on a private Agg canvas of its own size."""
    found: list[DrawnText] = []
    original = Text.draw

    def recording_draw(self: Text, renderer) -> None:  # type: ignore[no-untyped-def]
        original(self, renderer)
        if not self.get_visible() or not self.get_text().strip():
            return
        box = self.get_window_extent(renderer)
        clip = None
        if self.get_clip_on() and self.get_clip_box() is not None:
            c = self.get_clip_box()
            clip = (c.x0, c.y0, c.x1, c.y1)
        found.append(
            DrawnText(self.get_text(), self.get_fontsize(), box.x0, box.y0, box.x1, box.y1, clip)
        )

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    Text.draw = recording_draw  # type: ignore[method-assign]
    try:
        canvas.draw()
    finally:
        Text.draw = original  # type: ignore[method-assign]
    return found


def problems(
    fig: Figure,
    displays: Sequence[S.Display] = (S.LAB,),
    tolerance: float = 1.0,
) -> list[str]:
    """What is wrong with ``fig``'s texts, one sentence each (empty: it reads)."""
    width_in, height_in = fig.get_size_inches()
    w, h = width_in * fig.dpi, height_in * fig.dpi
    texts = drawn_texts(fig)
    out: list[str] = []
    for t in texts:
        name = repr(t.text[:40])
        if t.x0 < -tolerance or t.y0 < -tolerance or t.x1 > w + tolerance or t.y1 > h + tolerance:
            out.append(
                f"{name} is cut off: extent ({t.x0:.0f}, {t.y0:.0f})-({t.x1:.0f}, {t.y1:.0f}) px "
                f"outside the {w:.0f}x{h:.0f} canvas"
            )
        elif t.clip is not None and (
            t.x0 < t.clip[0] - tolerance
            or t.y0 < t.clip[1] - tolerance
            or t.x1 > t.clip[2] + tolerance
            or t.y1 > t.clip[3] + tolerance
        ):
            out.append(f"{name} is clipped by its axes")
        for d in displays:
            px = S.shown_px(t.size, width_in, d)
            if px < d.min_px - 1e-9:
                out.append(
                    f"{name} at {t.size:g} pt shows at {px:.1f} px in {d.name} "
                    f"(needs {d.min_px:g}; {S.min_font_pt(width_in, d):g} pt at {width_in:g} in)"
                )
    boxes = drawn_boxes(fig)
    for t in texts:
        cx, cy = (t.x0 + t.x1) / 2, (t.y0 + t.y1) / 2
        around = [b for b in boxes if b.holds_point(cx, cy)]
        if around:
            inner = min(around, key=lambda b: b.area)
            if not inner.holds(t, tolerance):
                out.append(
                    f"{t.text[:40]!r} runs out of its box: text ({t.x0:.0f}, {t.y0:.0f})-"
                    f"({t.x1:.0f}, {t.y1:.0f}), box ({inner.x0:.0f}, {inner.y0:.0f})-"
                    f"({inner.x1:.0f}, {inner.y1:.0f}) px"
                )
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            dx, dy = a.overlap(b)
            if dx > tolerance and dy > tolerance:
                out.append(f"{a.text[:40]!r} overlaps {b.text[:40]!r} by {dx:.0f}x{dy:.0f} px")
    return out
