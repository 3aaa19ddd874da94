"""How fast every explorer answers a control change, driven headless, from one run.

For each :class:`~pynest.widgets.base.Explorer` subclass in ``pynest/widgets/`` (built with
its defaults, as a notebook cell does), every slider and dropdown among its controls is
moved through up to ``--moves`` values, as a person dragging or picking would. Each move
is one handler call (``refresh``: parse, run the model, build the figures); it is timed
twice: as the handler itself, and with the SVG an explorer sends, made again for every
figure (``render_svg``, the render the frame cache spares a state seen before). Printed:
per explorer, the number of moves and the median and worst of both; then the medians over
all explorers.

Target (issue 5): each explorer's handler answers in <= 30 ms median. Figures are
wall-clock on this machine and printed, never asserted.

    .venv/bin/python benchmarks/bench_explorers.py [--moves N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import ipywidgets as w  # noqa: E402

from pynest.viz.pictures import render_svg  # noqa: E402
from pynest.widgets.base import Explorer, descendants, explorer_classes  # noqa: E402

MOVABLE = (w.IntSlider, w.FloatSlider, w.SelectionSlider, w.Dropdown, w.ToggleButtons)


def movable_controls(root: w.Widget) -> list[w.Widget]:
    """The sliders and pickers inside ``root`` (boxes are searched), top to bottom."""
    return [c for c in descendants(root) if isinstance(c, MOVABLE) and not c.disabled]


def values_of(control: w.Widget, moves: int) -> list[object]:
    if isinstance(control, (w.IntSlider, w.FloatSlider)):
        lo, hi = control.min, control.max
        n = max(2, min(moves, int(hi - lo) + 1 if isinstance(control, w.IntSlider) else moves))
        vals = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
        return [int(round(v)) if isinstance(control, w.IntSlider) else v for v in vals]
    options = list(control.options)
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    return values[:moves]


def measure(cls: type[Explorer], moves: int) -> tuple[int, list[float], list[float]]:
    explorer = cls()
    handler, with_svg = [], []
    for control in movable_controls(explorer.widget):
        for value in values_of(control, moves):
            if value == control.value:
                continue
            t0 = time.perf_counter()
            control.value = value  # the observer runs refresh() synchronously
            t1 = time.perf_counter()
            for fig in explorer.figures:
                render_svg(fig)
            t2 = time.perf_counter()
            handler.append(t1 - t0)
            with_svg.append(t2 - t0)
    return explorer.updates, handler, with_svg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="explorer handler latency, headless")
    ap.add_argument("--moves", type=int, default=8, help="values tried per control (8)")
    args = ap.parse_args(argv)
    medians, svg_medians = [], []
    print(f"{'explorer':32} {'moves':>5} {'median ms':>10} {'worst ms':>9} {'+SVG median':>12}")
    for cls in explorer_classes():
        _, handler, with_svg = measure(cls, args.moves)
        if not handler:
            print(f"{cls.__name__:32} {0:5}   (no slider or picker to move)")
            continue
        med, worst = statistics.median(handler) * 1e3, max(handler) * 1e3
        pmed = statistics.median(with_svg) * 1e3
        medians.append(med)
        svg_medians.append(pmed)
        flag = "" if med <= 30 else "   above the 30 ms target"
        print(f"{cls.__name__:32} {len(handler):5} {med:10.1f} {worst:9.1f} {pmed:12.1f}{flag}")
    if medians:
        print(
            f"\nmedian of the explorers' medians: handler {statistics.median(medians):.1f} ms, "
            f"with the SVG render {statistics.median(svg_medians):.1f} ms (target <= 30 ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
