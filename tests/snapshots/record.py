"""Structural snapshots of what a user sees: figures and explorers as deterministic JSON.

Issue 14 step 0. A figure's record is everything about its artists that does not depend on
the font rasteriser: figure size and dpi; per axes its position, limits, scales, titles,
labels, ticks and tick labels; every Text (string, position in its own transform's
coordinates, font size/weight/family, colour, alignment, rotation, visibility), Patch
(kind, vertices in data coordinates, colours, line width, alpha, zorder), Line2D,
collection, image (shape and a hash of the array) and legend. Rendered pixel extents are
left out on purpose. An explorer's record is every widget it shows (value, options,
bounds, disabled state, description, HTML text), its message/status/text and the
records of the figures it would display.

Run as a script to regenerate the baselines (``make snapshots``)::

    MPLBACKEND=Agg .venv/bin/python tests/snapshots/record.py [--out DIR]

It prints which baseline files changed, were added or were removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w
import matplotlib
import matplotlib.style
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import (
    Ellipse,
    FancyArrowPatch,
    FancyBboxPatch,
    Patch,
    Polygon,
    Rectangle,
)
from matplotlib.text import Annotation, Text

BASELINES = Path(__file__).with_name("baselines")
DIGITS = 3  # coordinates rounded to 1e-3 in their own units


# ------------------------------------------------------------------------ primitives
def num(x: Any) -> Any:
    """A number as JSON: floats rounded to DIGITS (no -0.0), non-finite as a string."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    r = round(x, DIGITS)
    return 0.0 if r == 0 else r


def nums(values: Any) -> list:
    """A (nested) array of numbers, rounded."""
    arr = np.asarray(values, dtype=float)
    return [nums(v) for v in arr] if arr.ndim > 1 else [num(v) for v in arr.ravel()]


def colour(c: Any) -> str | None:
    """A colour as #rrggbbaa (``none`` for no colour)."""
    if c is None:
        return None
    if isinstance(c, str) and c.lower() == "none":
        return "none"
    return mcolors.to_hex(c, keep_alpha=True)


def colours(cs: Any) -> list[str]:
    arr = np.asarray(cs)
    if arr.size == 0:
        return []
    return [colour(tuple(c)) for c in np.atleast_2d(arr)]


def style_of(obj: Any) -> Any:
    """An arrow/box/connection style object as its class name and simple settings."""
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    settings = {
        k: num(v) if isinstance(v, (int, float)) else v
        for k, v in sorted(vars(obj).items())
        if not k.startswith("_") and (v is None or isinstance(v, (str, int, float, bool)))
    }
    return {"kind": type(obj).__name__, **settings}


def plain(v: Any) -> Any:
    """A widget value or option as JSON (tuples as lists, dict keys sorted)."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, (int, float, np.integer, np.floating)):
        return num(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    raise TypeError(f"cannot snapshot a {type(v).__name__} value: {v!r}")


# ------------------------------------------------------------------------ artists
def _transform_name(artist: Any, fig: Figure, ax: Axes | None) -> str:
    t = artist.get_transform()
    named = [("figure", fig.transFigure)]
    if ax is not None:
        named = [
            ("data", ax.transData),
            ("axes", ax.transAxes),
            ("xaxis", ax.get_xaxis_transform()),
            ("yaxis", ax.get_yaxis_transform()),
            *named,
        ]
    for name, ref in named:
        if t == ref:
            return name
    return "other:" + type(t).__name__


def _common(a: Any) -> dict:
    return {
        "alpha": num(a.get_alpha()) if a.get_alpha() is not None else None,
        "visible": a.get_visible(),
        "zorder": num(a.get_zorder()),
        "label": a.get_label() if not a.get_label().startswith("_") else "",
    }


def text_record(t: Text, fig: Figure, ax: Axes | None) -> dict:
    rec = {
        "text": t.get_text(),
        "xy": nums(t.get_position()),
        "coords": _transform_name(t, fig, ax),
        "fontsize": num(t.get_fontsize()),
        "weight": str(t.get_fontweight()),
        "style": t.get_fontstyle(),
        "family": list(t.get_fontfamily()),
        "colour": colour(t.get_color()),
        "ha": t.get_horizontalalignment(),
        "va": t.get_verticalalignment(),
        "multialignment": t._multialignment,
        "rotation": num(t.get_rotation()),
        "linespacing": plain(t._linespacing),
        "wrap": t.get_wrap(),
        "clip_on": t.get_clip_on(),
        **_common(t),
    }
    box = t.get_bbox_patch()
    if box is not None:
        rec["bbox"] = {
            "boxstyle": style_of(box.get_boxstyle()),
            "facecolor": colour(box.get_facecolor()),
            "edgecolor": colour(box.get_edgecolor()),
            "linewidth": num(box.get_linewidth()),
        }
    if isinstance(t, Annotation):
        rec["annotation_xy"] = nums(t.xy)
        rec["xycoords"] = t.xycoords if isinstance(t.xycoords, str) else repr(type(t.xycoords))
        if t.arrow_patch is not None:
            rec["arrow"] = patch_record(t.arrow_patch, fig, ax)
    return rec


def patch_record(p: Patch, fig: Figure, ax: Axes | None) -> dict:
    rec = {
        "kind": type(p).__name__,
        "facecolor": colour(p.get_facecolor()) if p.get_fill() else "none",
        "edgecolor": colour(p.get_edgecolor()),
        "linewidth": num(p.get_linewidth()),
        "linestyle": str(p.get_linestyle()),
        "hatch": p.get_hatch(),
        "fill": p.get_fill(),
        "coords": _transform_name(p, fig, ax),
        **_common(p),
    }
    if isinstance(p, FancyArrowPatch):
        rec["posA_posB"] = nums(p._posA_posB) if p._posA_posB is not None else None
        rec["arrowstyle"] = style_of(p.get_arrowstyle())
        rec["connectionstyle"] = style_of(p.get_connectionstyle())
        rec["mutation_scale"] = num(p.get_mutation_scale())
        rec["shrink"] = [num(p.shrinkA), num(p.shrinkB)]
    elif isinstance(p, FancyBboxPatch):
        rec["box"] = nums([p.get_x(), p.get_y(), p.get_width(), p.get_height()])
        rec["boxstyle"] = style_of(p.get_boxstyle())
        rec["mutation"] = [num(p.get_mutation_scale()), num(p.get_mutation_aspect())]
    elif isinstance(p, Rectangle):
        rec["box"] = nums([*p.get_xy(), p.get_width(), p.get_height(), p.get_angle()])
    elif isinstance(p, Ellipse):
        rec["ellipse"] = nums([*p.get_center(), p.get_width(), p.get_height(), p.get_angle()])
    elif isinstance(p, Polygon):
        rec["vertices"] = nums(p.get_xy())
    else:
        rec["vertices"] = nums(p.get_patch_transform().transform(p.get_path().vertices))
    return rec


def line_record(line: Line2D, fig: Figure, ax: Axes | None) -> dict:
    return {
        "xy": nums(line.get_xydata()),
        "coords": _transform_name(line, fig, ax),
        "colour": colour(line.get_color()),
        "linestyle": str(line.get_linestyle()),
        "linewidth": num(line.get_linewidth()),
        "drawstyle": line.get_drawstyle(),
        "marker": str(line.get_marker()),
        "markersize": num(line.get_markersize()),
        "markerfacecolor": colour(line.get_markerfacecolor()),
        "markeredgecolor": colour(line.get_markeredgecolor()),
        **_common(line),
    }


def collection_record(c: Collection, fig: Figure, ax: Axes | None) -> dict:
    return {
        "kind": type(c).__name__,
        "offsets": nums(c.get_offsets()),
        "paths": [nums(path.vertices) for path in c.get_paths()],
        "facecolors": colours(c.get_facecolor()),
        "edgecolors": colours(c.get_edgecolor()),
        "sizes": nums(c.get_sizes()) if hasattr(c, "get_sizes") else None,
        "linewidths": nums(c.get_linewidths()),
        "coords": _transform_name(c, fig, ax),
        **_common(c),
    }


def image_record(im: AxesImage) -> dict:
    arr = np.ma.asarray(im.get_array())
    data = np.round(np.ma.filled(arr.astype(float), np.nan), 6)
    return {
        "shape": list(arr.shape),
        "sha256": hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()[:24],
        "mask": int(np.ma.count_masked(arr)),
        "cmap": im.get_cmap().name,
        "clim": nums(im.get_clim()),
        "extent": nums(im.get_extent()),
        "interpolation": im.get_interpolation(),
        "origin": im.origin,
        "aspect_auto": im.axes.get_aspect() == "auto",
        **_common(im),
    }


def legend_record(leg: Legend, fig: Figure) -> dict:
    handles = []
    for h in leg.legend_handles:
        if h is None:
            handles.append(None)
        elif isinstance(h, Line2D):
            handles.append({"kind": "Line2D", "colour": colour(h.get_color())})
        elif isinstance(h, Patch):
            handles.append({"kind": type(h).__name__, "facecolor": colour(h.get_facecolor())})
        elif isinstance(h, Collection):
            handles.append({"kind": type(h).__name__, "facecolors": colours(h.get_facecolor())})
        else:
            handles.append({"kind": type(h).__name__})
    return {
        "texts": [text_record(t, fig, None) | {"xy": None, "coords": None} for t in leg.texts],
        "title": leg.get_title().get_text(),
        "handles": handles,
        "loc": leg._loc if isinstance(leg._loc, (int, str)) else nums(leg._loc),
        "ncols": leg._ncols,
        "frameon": leg.get_frame_on(),
        "visible": leg.get_visible(),
    }


def _ticks(axis: Any) -> dict:
    labels = axis.get_ticklabels()
    first = labels[0] if labels else None
    return {
        "ticks": nums(axis.get_ticklocs()),
        "labels": [t.get_text() for t in labels],
        "fontsize": num(first.get_fontsize()) if first else None,
        "colour": colour(first.get_color()) if first else None,
        "rotation": num(first.get_rotation()) if first else None,
        "minor": nums(axis.get_minorticklocs()),
        "visible": axis.get_visible(),
        "label": text_record(axis.label, axis.figure, None) | {"xy": None, "coords": None},
    }


def axes_record(ax: Axes, fig: Figure) -> dict:
    return {
        "position": nums(ax.get_position().bounds),
        "xlim": nums(ax.get_xlim()),
        "ylim": nums(ax.get_ylim()),
        "xscale": ax.get_xscale(),
        "yscale": ax.get_yscale(),
        "aspect": num(ax.get_aspect()) if not isinstance(ax.get_aspect(), str) else ax.get_aspect(),
        "axis_on": ax.axison,
        "frame_on": ax.get_frame_on(),
        "facecolor": colour(ax.get_facecolor()),
        "visible": ax.get_visible(),
        "titles": {
            "left": text_record(ax._left_title, fig, ax),
            "center": text_record(ax.title, fig, ax),
            "right": text_record(ax._right_title, fig, ax),
        },
        "xaxis": _ticks(ax.xaxis),
        "yaxis": _ticks(ax.yaxis),
        "spines": {
            k: {"visible": s.get_visible(), "colour": colour(s.get_edgecolor())}
            for k, s in sorted(ax.spines.items())
        },
        "texts": [text_record(t, fig, ax) for t in ax.texts],
        "patches": [patch_record(p, fig, ax) for p in ax.patches],
        "lines": [line_record(line, fig, ax) for line in ax.lines],
        "collections": [collection_record(c, fig, ax) for c in ax.collections],
        "images": [image_record(im) for im in ax.images],
        "artists": [type(a).__name__ for a in ax.artists],
        "legend": legend_record(ax.get_legend(), fig) if ax.get_legend() else None,
    }


def figure_record(fig: Figure) -> dict:
    """The structural record of ``fig`` (see the module docstring)."""
    return {
        "size_inches": nums(fig.get_size_inches()),
        "dpi": num(fig.get_dpi()),
        "facecolor": colour(fig.get_facecolor()),
        "axes": [axes_record(ax, fig) for ax in fig.axes],
        "texts": [text_record(t, fig, None) for t in fig.texts],
        "patches": [patch_record(p, fig, None) for p in fig.patches],
        "lines": [line_record(line, fig, None) for line in fig.lines],
        "images": [type(im).__name__ for im in fig.images],
        "legends": [legend_record(leg, fig) for leg in fig.legends],
        "artists": [type(a).__name__ for a in fig.artists],
    }


# ------------------------------------------------------------------------ explorers
_WIDGET_FIELDS = (
    "description",
    "value",
    "label",
    "options",
    "min",
    "max",
    "step",
    "disabled",
    "placeholder",
    "button_style",
    "tooltip",
    "icon",
    "indent",
    "readout",
    "orientation",
    "interval",
    "continuous_update",
)


def widget_record(widget: w.Widget) -> dict:
    """One widget as the user sees it: its kind and every visible setting it has."""
    rec: dict[str, Any] = {"kind": type(widget).__name__}
    for field in _WIDGET_FIELDS:
        if widget.has_trait(field):
            rec[field] = plain(getattr(widget, field))
    if isinstance(widget, w.Output):
        rec["outputs"] = plain([dict(o) for o in widget.outputs])
    layout = getattr(widget, "layout", None)
    if layout is not None:
        rec["layout"] = {k: getattr(layout, k) for k in ("display", "visibility", "width")}
    style = getattr(widget, "style", None)
    if style is not None:
        rec["style"] = {
            k: plain(getattr(style, k))
            for k in sorted(style.keys)
            if not k.startswith("_") and getattr(style, k) not in (None, "")
        }
    return rec


def explorer_record(ex: Any) -> dict:
    """Every widget of ``ex.widget`` top to bottom, its texts and its figures' records."""
    from pynest.widgets.base import descendants

    render = getattr(ex, "render_text", None)
    return {
        "widgets": [widget_record(x) for x in descendants(ex.widget)],
        "message": ex.message.value,
        "status": ex.status.value,
        "error": ex.error,
        "text": ex.text,
        "render_text": render() if callable(render) else None,
        "figures": [figure_record(f) for f in ex.figures],
    }


# ------------------------------------------------------------------------ compare
def _nested(v: Any) -> bool:
    """True when ``v`` holds a dict anywhere inside it."""
    items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
    return any(isinstance(x, dict) or _nested(x) for x in items)


def _dump(v: Any, indent: str) -> str:
    flat = json.dumps(v, sort_keys=True, ensure_ascii=False)
    if len(flat) <= 100 or not _nested(v):
        return flat  # one artist, one widget or one array per line
    inner = indent + " "
    if isinstance(v, dict):
        items = [f"{inner}{json.dumps(k)}: {_dump(v[k], inner)}" for k in sorted(v)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + _dump(x, inner) for x in v) + "\n" + indent + "]"


def canonical(rec: Any) -> str:
    """The record as the sorted JSON stored in a baseline file: one artist, widget or
    array per line (readable diffs, small files)."""
    return _dump(json.loads(json.dumps(rec)), "") + "\n"


def differences(expected: Any, got: Any, path: str = "", limit: int = 12) -> list[str]:
    """The first ``limit`` differences as ``path: expected ... got ...`` lines."""
    out: list[str] = []

    def short(v: Any) -> str:
        s = json.dumps(v, sort_keys=True, ensure_ascii=False)
        return s if len(s) <= 160 else s[:157] + "..."

    def walk(e: Any, g: Any, p: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(e, dict) and isinstance(g, dict):
            for k in sorted(set(e) | set(g)):
                if k not in g:
                    out.append(f"{p}.{k}: expected {short(e[k])}, got nothing")
                elif k not in e:
                    out.append(f"{p}.{k}: expected nothing, got {short(g[k])}")
                else:
                    walk(e[k], g[k], f"{p}.{k}")
                if len(out) >= limit:
                    return
        elif isinstance(e, list) and isinstance(g, list):
            for i, (a, b) in enumerate(zip(e, g, strict=False)):
                walk(a, b, f"{p}[{i}]")
                if len(out) >= limit:
                    return
            if len(e) != len(g):
                out.append(f"{p}: expected {len(e)} items, got {len(g)}")
        elif e != g:
            out.append(f"{p}: expected {short(e)}, got {short(g)}")

    walk(expected, got, path)
    return out


def check(name: str, rec: Any, baselines: Path = BASELINES) -> None:
    """Assert that ``rec`` equals the stored baseline ``name``.json, with a short diff."""
    file = baselines / f"{name}.json"
    if not file.exists():
        raise AssertionError(f"no baseline {file}: run `make snapshots` and review it")
    expected = json.loads(file.read_text(encoding="utf-8"))
    got = json.loads(canonical(rec))
    if expected != got:
        lines = differences(expected, got, name)
        raise AssertionError(
            f"{name}: the snapshot differs from {file.name} (first {len(lines)} differences; "
            "if the change is intended, run `make snapshots` and review the diff):\n  "
            + "\n  ".join(lines)
        )


# ------------------------------------------------------------------------ regenerate
def all_records() -> dict[str, Callable[[], Any]]:
    """Baseline name -> a function that builds its record (figures, then explorers)."""
    import snapshot_cases as cases

    return {**cases.figure_baselines(), **cases.explorer_baselines()}


def build(make: Callable[[], Any]) -> Any:
    """Run a record builder under matplotlib's default style, so that a user's
    matplotlibrc cannot change a baseline."""
    with matplotlib.style.context("default"):
        return make()


def write_all(out: Path) -> dict[str, str]:
    """Write every baseline into ``out``; returns name -> changed/added/unchanged/removed."""
    out.mkdir(parents=True, exist_ok=True)
    status: dict[str, str] = {}
    builders = all_records()
    for name, make in builders.items():
        file = out / f"{name}.json"
        text = canonical(build(make))
        old = file.read_text(encoding="utf-8") if file.exists() else None
        status[name] = "unchanged" if old == text else "added" if old is None else "changed"
        if old != text:
            file.write_text(text, encoding="utf-8")
    for file in sorted(out.glob("*.json")):
        if file.stem not in builders:
            file.unlink()
            status[file.stem] = "removed"
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BASELINES, help="baseline folder")
    args = parser.parse_args(argv)
    matplotlib.use("Agg")
    status = write_all(args.out)
    changed = {k: v for k, v in sorted(status.items()) if v != "unchanged"}
    for name, what in changed.items():
        print(f"{what:9} {args.out / (name + '.json')}")
    print(f"{len(status)} baselines in {args.out}: {len(changed)} changed, added or removed")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(main())
