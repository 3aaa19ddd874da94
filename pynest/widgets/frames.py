"""Rendered pictures kept by what they show, so an explorer state seen before is not redrawn.

An explorer's picture is SVG (:func:`render_svg`, from :mod:`pynest.viz.pictures`: text
stays text, drawn by the browser; a fifth of the time an Agg PNG took). Rendering is most
of the time between a control change and the new picture. :func:`fingerprint` reads what a
figure will draw -- every artist's kind, text, geometry, transform, colours, line and font
properties, images' pixels -- without drawing it; it does not depend on the picture's
format, nor on what earlier draws left in the figure (places that drawing fills in, such
as an axis label's, are left out, their inputs being in), so a state comes back to the
same key after any number of renders. :class:`FrameCache` keeps the SVG of the last few
fingerprints (LRU, bounded in entries and bytes). Same fingerprint, same SVG: the render
is deterministic (fixed id salt, no date), so a cached frame is exactly the frame a render
would make.

(:func:`pynest.viz.pictures.render_png`, Agg, stays for what needs pixels: the PNG stored
beside a static figure, the figure tests' checks that a figure renders at all.)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis, Tick
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.path import Path
from matplotlib.spines import Spine
from matplotlib.transforms import Transform

from ..viz import style as S
from ..viz.pictures import render_svg

__all__ = ["FrameCache", "fingerprint"]

# what an artist may have that changes its pixels; each is read where the artist has it
_GETTERS = (
    "get_visible", "get_zorder", "get_alpha", "get_clip_on", "get_clip_box", "get_clip_path",
    "get_text", "get_unitless_position", "get_fontproperties", "get_color", "get_usetex",
    "get_horizontalalignment", "get_verticalalignment", "get_rotation", "get_rotation_mode",
    "get_linespacing", "get_wrap", "get_multialignment", "get_transform_rotates_text",
    "get_path", "get_transform", "get_facecolor", "get_edgecolor", "get_linewidth",
    "get_linestyle", "get_hatch", "get_fill", "get_capstyle", "get_joinstyle",
    "get_antialiased", "get_xydata", "get_drawstyle", "get_marker", "get_markersize",
    "get_markerfacecolor", "get_markeredgecolor", "get_markeredgewidth", "get_markevery",
    "get_paths", "get_offsets", "get_offset_transform", "get_sizes", "get_array",
    "get_extent", "get_cmap", "get_clim", "get_interpolation", "get_position",
    "get_xlim", "get_ylim", "get_xscale", "get_yscale", "get_aspect", "get_axis_on",
    "get_frame_on", "get_bbox_patch", "get_size_inches", "get_dpi", "get_parse_math",
    "get_path_effects", "get_sketch_params", "get_snap", "get_agg_filter", "get_rasterized",
    "get_transforms", "get_fillstyle", "get_markerfacecoloralt", "get_gapcolor",
    "get_dash_capstyle", "get_dash_joinstyle", "get_solid_capstyle", "get_solid_joinstyle",
    "get_resample", "get_filternorm", "get_filterrad", "get_interpolation_stage",
    "get_hatchcolor", "get_hatch_linewidth",
)  # fmt: skip
_ATTRIBUTES = ("arrow_patch", "xy", "xyann", "_bbox_transmuter", "_boxstyle", "_dash_pattern")
_PLACED_TEXT = frozenset(("get_position", "get_unitless_position"))
_PLACED_BOX = frozenset(("get_path", "get_transform"))
_PLACED_SPINE = frozenset(("get_path",))
_LAID_OUT = frozenset(("get_position", "get_unitless_position", "get_path", "get_transform"))
_PLACED_TICK = _LAID_OUT | {"get_xydata", "get_text"}
_LEGEND_SETTINGS = (
    "_fontsize", "numpoints", "markerscale", "scatterpoints", "borderpad", "labelspacing",
    "handlelength", "handleheight", "handletextpad", "borderaxespad", "columnspacing",
    "shadow", "_ncols", "_mode", "_alignment", "_loc_real", "isaxes", "_bbox_to_anchor",
)  # fmt: skip
"""What drawing sets from the rest of the figure, so a figure drawn before holds the
values of its last render there: the place of an axis label and of an axis' offset
text, from the tick labels' extents (``_PLACED_TEXT``); the outline of a
text's ``bbox`` patch, from the text's extent (``_PLACED_BOX``); a spine's path, from
the axes' limits (``_PLACED_SPINE``); everything inside a legend, laid out from its
entries and ``_LEGEND_SETTINGS`` (``_LAID_OUT``, read for every artist below the legend;
the settings are read instead); a tick's label text and the place of its label and
lines, set while drawing (``_PLACED_TICK``; the axis' locations and labels are read
instead). Left out of the digest for those artists (their inputs are in it), so a state
comes back to the same key however often the figure was drawn in between."""
_RC_GROUPS = frozenset(
    ("savefig", "text", "path", "agg", "mathtext", "hatch", "image", "font", "lines", "patch",
     "figure", "axes", "legend", "xtick", "ytick", "grid", "scatter", "pcolor", "markers",
     "svg")
)  # fmt: skip
"""rcParams read while drawing or saving (``backend`` is left out: reading it selects one)."""


_AVAILABLE: dict[type, tuple[str, ...]] = {}


def _getters(kind: type) -> tuple[str, ...]:
    names = _AVAILABLE.get(kind)
    if names is None:
        names = _AVAILABLE[kind] = tuple(n for n in _GETTERS if hasattr(kind, n))
    return names


class _Digest:
    """Values in order: plain ones listed (hashed once, as their repr), arrays hashed as
    bytes where they come (a marker in the list keeps the order)."""

    def __init__(self) -> None:
        self.plain: list[Any] = []
        self.hash = hashlib.blake2b(digest_size=20)

    def value(self, v: Any, depth: int) -> None:
        plain = self.plain
        if v is None or isinstance(v, (bool, int, float, str)):
            plain.append(v)
        elif isinstance(v, np.ndarray):
            plain.append((v.dtype.char, v.shape))
            if v.dtype.char == "O":
                plain.append(repr(v.tolist()))
            else:
                self.hash.update(np.ascontiguousarray(v).tobytes())
            if np.ma.isMaskedArray(v):  # masked cells are not drawn
                self.hash.update(np.ma.getmaskarray(v).tobytes())
        elif isinstance(v, Path):
            self.value(v.vertices, depth)
            self.value(v.codes, depth)
        elif isinstance(v, Transform):
            plain.append(type(v).__name__)
            self.value(v.get_affine().get_matrix(), depth)
            if not v.is_affine:
                plain.append(repr(v))
        elif isinstance(v, FontProperties):
            font = (v.get_family(), v.get_style(), v.get_variant(), v.get_weight())
            plain.append((*font, v.get_stretch(), v.get_size_in_points(), v.get_math_fontfamily()))
        elif isinstance(v, (tuple, list)):
            plain.append("(")
            for item in v:
                self.value(item, depth)
            plain.append(")")
        elif isinstance(v, Artist):
            if depth < 8:
                self.artist(v, depth + 1)
        elif hasattr(v, "get_points"):  # a Bbox
            self.value(v.get_points(), depth)
        elif hasattr(v, "name") and hasattr(v, "N"):  # a colormap
            plain.append(("cmap", v.name, v.N))
        else:  # a style object (box or arrow style): its settings
            plain.append(type(v).__name__)
            attrs = getattr(v, "__dict__", None)
            if attrs is not None and depth < 8:
                for key in sorted(attrs):
                    plain.append(key)
                    self.value(attrs[key], depth + 1)
            else:
                plain.append(repr(v))

    def artist(self, artist: Artist, depth: int = 0, placed: frozenset[str] = frozenset()) -> None:
        """``artist`` and its children; ``placed``: getters left out (what a draw sets)."""
        plain = self.plain
        plain.append(type(artist).__name__)
        if not artist.get_visible():  # draws nothing, nor do its children
            plain.append(False)
            return
        if isinstance(artist, Spine):
            placed = placed | _PLACED_SPINE
        inherited = _LAID_OUT if placed is _LAID_OUT or isinstance(artist, Legend) else None
        if isinstance(artist, Tick):
            inherited = _PLACED_TICK
        if isinstance(artist, Legend):
            for key in _LEGEND_SETTINGS:
                plain.append(key)
                self.value(getattr(artist, key, None), depth)
        for name in _getters(type(artist)):
            if name in placed:
                continue
            try:
                v = getattr(artist, name)()
            except (TypeError, ValueError, AttributeError, NotImplementedError):
                continue
            if v is artist or v is None:
                continue
            plain.append(name)
            if name == "get_bbox_patch" and depth < 8:
                self.artist(v, depth + 1, _PLACED_BOX)
            else:
                self.value(v, depth)
        for name in _ATTRIBUTES:
            if hasattr(artist, name):
                plain.append(name)
                self.value(getattr(artist, name), depth)
        if isinstance(artist, Axis):
            # the ticks are placed and labelled while drawing, by the locators and
            # formatters; asked here the way drawing asks them (Axis._update_ticks)
            major, minor = artist.get_majorticklocs(), artist.get_minorticklocs()
            plain.append(list(artist.major.formatter.format_ticks(major)))
            plain.append(list(artist.minor.formatter.format_ticks(minor)))
            self.value(np.asarray(major), depth)
            self.value(np.asarray(minor), depth)
        axis_off = getattr(artist, "axison", True) is False
        placed_here: set[int] = set()
        children = artist.get_children()
        if isinstance(artist, Axis):  # (no pynest figure fixes a label's place)
            placed_here.update((id(artist.offsetText), id(artist.label)))
            # every tick is drawn from the axis' tick settings at the locations above;
            # its first major and first minor tick stand for the others (no pynest
            # figure styles a single tick, which a test checks)
            rest = {id(t) for t in (*artist.majorTicks[1:], *artist.minorTicks[1:])}
            children = [c for c in children if id(c) not in rest]
        for child in children:
            if axis_off and isinstance(child, Axis):  # not drawn
                continue
            if inherited is not None:
                self.artist(child, depth, inherited)
            else:
                self.artist(child, depth, _PLACED_TEXT if id(child) in placed_here else frozenset())
        plain.append(">")


def fingerprint(fig: Figure, dpi: float = S.DPI) -> bytes:
    """A digest of everything ``fig`` draws at ``dpi``: equal for figures that render to
    the same picture, different when a text, position, colour or pixel differs."""
    digest = _Digest()
    digest.plain.append(dpi)
    rc = matplotlib.rcParams
    digest.plain.append(
        sorted((k, repr(v)) for k, v in dict.items(rc) if k.split(".")[0] in _RC_GROUPS)
    )
    digest.artist(fig)
    digest.hash.update(repr(digest.plain).encode())
    return digest.hash.digest()


class FrameCache:
    """The SVG of the last ``entries`` figures rendered, by :func:`fingerprint`, holding
    at most ``max_bytes`` (UTF-8) in all (least recently shown dropped first)."""

    def __init__(self, entries: int = 32, max_bytes: int = 8 << 20) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self.frames: OrderedDict[bytes, tuple[str, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.renders = 0

    def svg(self, fig: Figure, dpi: float = S.DPI) -> str:
        """``fig`` as :func:`render_svg` makes it: the kept frame when an equal figure
        was rendered before."""
        key = fingerprint(fig, dpi)
        kept = self.frames.get(key)
        if kept is not None:
            self.frames.move_to_end(key)
            self.hits += 1
            return kept[0]
        frame = render_svg(fig, dpi)
        self.renders += 1
        size = len(frame.encode())
        if size <= self.max_bytes:
            self.frames[key] = (frame, size)
            self.bytes += size
            while len(self.frames) > self.entries or self.bytes > self.max_bytes:
                _, (_dropped, dropped_size) = self.frames.popitem(last=False)
                self.bytes -= dropped_size
        return frame
