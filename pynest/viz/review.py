"""Figures of notebook 12 (reviewing patch 18): what L0's nested-guest table costs.

* :func:`lpid_pattern` -- the L1 lpids of ``n`` nested guests laid out one of three
  ways (dense from 1, spread evenly up to a highest lpid, or a seeded random sample);
* :func:`cost_record` -- the record the figure draws: for those lpids, the bytes of the
  fixed 4.20 array (``NestedArray.memory_cost``) and of the later IDR
  (:func:`pynest.kvm.nested.idr_memory_cost`), the xarray nodes per level, which lpids
  the 4.20 array cannot hold, and the cost curve as the number of guests grows;
* :func:`draw_table_costs` -- left, bytes against the number of nested guests (the
  array flat, the IDR growing with the nodes it needs, a marker at the chosen count);
  right, the 4096 possible lpids as a 64 x 64 grid, one row per 64-slot leaf node:
  the array's 1024 slots always allocated, the IDR's rows only where a guest is.

Redrawing into the same figure (``fig=``) only updates data, so an explorer's slider
step stays cheap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..kvm.host import KVM_MAX_NESTED_GUESTS
from ..kvm.nested import XA_CHUNK_SHIFT, XA_NODE_BYTES, NestedArray, idr_memory_cost
from . import style as S

PATTERNS = ("dense", "spread", "random")
MAX_LPID = 4095  # a 4096-entry table (PRTS 4), the most H_SET_PARTITION_TABLE accepts
MAX_DENSE = KVM_MAX_NESTED_GUESTS - 1  # lpids 1..1023: lpid 0 is the L1 itself


def lpid_pattern(pattern: str, n: int, highest: int = MAX_LPID, seed: int = 0) -> list[int]:
    """``n`` distinct L1 lpids in ``1..highest``: ``dense`` = 1..n; ``spread`` = evenly
    spaced, the last one ``highest``; ``random`` = the first n of a seeded shuffle."""
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {', '.join(PATTERNS)}, got {pattern!r}")
    if not 0 <= n <= highest or not 1 <= highest <= MAX_LPID:
        raise ValueError(
            f"{n} guests do not fit in lpids 1..{highest}: need 0 <= n <= highest <= {MAX_LPID}"
        )
    if pattern == "dense" or n == 0:
        return list(range(1, n + 1))
    if pattern == "spread":
        return sorted({1 + (highest - 1) * (i + 1) // n for i in range(n)} | {highest})[-n:]
    return sorted(_shuffled(highest, seed)[:n])


@lru_cache(maxsize=64)
def _shuffled(highest: int, seed: int) -> tuple[int, ...]:
    """1..highest in a seeded order: n random guests are its first n, so one more guest
    keeps the lpids of the others."""
    order = list(range(1, highest + 1))
    random.Random(f"pynest-lpids-{seed}").shuffle(order)
    return tuple(order)


@dataclass(frozen=True)
class CostRecord:
    """What the table of one L1 costs for ``lpids`` (bytes), and how the IDR cost grows."""

    pattern: str
    highest: int
    lpids: tuple[int, ...]
    array_bytes: int
    array_4096_bytes: int
    idr_bytes: int
    idr_levels: tuple[int, ...]
    beyond_array: tuple[int, ...]
    curve_n: tuple[int, ...]
    curve_idr: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.lpids)

    def summary(self) -> str:
        nodes = " + ".join(str(k) for k in self.idr_levels) or "0"
        out = (
            f"{self.n} nested guests ({self.pattern}, highest lpid "
            f"{self.lpids[-1] if self.lpids else '-'}): fixed array {self.array_bytes} bytes; "
            f"IDR {self.idr_bytes} bytes (24 + ({nodes}) nodes x {XA_NODE_BYTES})"
        )
        if self.beyond_array:
            out += (
                f"; the 4.20 array cannot hold {len(self.beyond_array)} of these lpids "
                f"(>= {KVM_MAX_NESTED_GUESTS})"
            )
        return out


def _levels(lpids: list[int]) -> tuple[int, ...]:
    keys = sorted(set(lpids))
    if not keys or keys == [0]:
        return ()
    height = max(1, -(-keys[-1].bit_length() // XA_CHUNK_SHIFT))
    return tuple(len({k >> (XA_CHUNK_SHIFT * lv) for k in keys}) for lv in range(1, height + 1))


_CURVES: dict[tuple[str, int, int], tuple[tuple[int, ...], tuple[int, ...]]] = {}


def _curve(pattern: str, highest: int, seed: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The IDR cost for 0..top guests of ``pattern`` (cached: the explorer redraws often)."""
    key = (pattern, highest, seed)
    if key not in _CURVES:
        top = MAX_DENSE if pattern == "dense" else highest
        marks = {
            0,
            1,
            2,
            4,
            8,
            16,
            32,
            64,
            128,
            256,
            512,
            top,
            *range(0, top + 1, max(1, top // 20)),
        }
        ns = tuple(sorted(k for k in marks if k <= top))
        costs = []
        for k in ns:
            high = max(k, 1) if pattern == "dense" else highest
            costs.append(idr_memory_cost(lpid_pattern(pattern, k, high, seed)))
        _CURVES[key] = (ns, tuple(costs))
    return _CURVES[key]


def cost_record(pattern: str, n: int, highest: int = MAX_LPID, seed: int = 0) -> CostRecord:
    """The :class:`CostRecord` for ``n`` guests laid out by ``pattern`` (see
    :func:`lpid_pattern`; for ``dense`` the highest lpid is ``n``)."""
    if pattern == "dense":
        highest = max(n, 1)
    lpids = lpid_pattern(pattern, n, highest, seed)
    ns, costs = _curve(pattern, highest, seed)
    return CostRecord(
        pattern=pattern,
        highest=highest,
        lpids=tuple(lpids),
        array_bytes=NestedArray().memory_cost(),
        array_4096_bytes=NestedArray(MAX_LPID + 1).memory_cost(),
        idr_bytes=idr_memory_cost(lpids),
        idr_levels=_levels(lpids),
        beyond_array=tuple(lp for lp in lpids if lp >= KVM_MAX_NESTED_GUESTS),
        curve_n=ns,
        curve_idr=costs,
    )


# ----------------------------------------------------------------------- the figure
# grid cell values: 0 free, 1 node allocated (IDR row / array slot), 2 a guest, 3 no slot
_CMAP = ListedColormap([S.WHITE, S.tint(S.SKY_BLUE, 0.45), S.ORANGE, S.tint(S.GREY, 0.5)])


def _grid(rec: CostRecord, table: str) -> np.ndarray:
    grid = np.zeros((64, 64), dtype=float)
    if table == "array":
        grid[: KVM_MAX_NESTED_GUESTS // 64, :] = 1
        grid[KVM_MAX_NESTED_GUESTS // 64 :, :] = 3
    else:
        for row in {lp >> XA_CHUNK_SHIFT for lp in rec.lpids}:
            grid[row, :] = 1
    for lp in rec.lpids:
        grid[lp >> 6, lp & 63] = 2
    return grid


def draw_table_costs(
    rec: CostRecord, table: str = "dynamic", *, fig: Figure | None = None
) -> Figure:
    """Bytes against guests (left) and the lpid grid of ``table`` (right); see module."""
    if table not in ("array", "dynamic"):
        raise ValueError(f"table must be 'array' or 'dynamic', got {table!r}")
    art = getattr(fig, "_pynest_costs", None) if fig is not None else None
    if art is None:
        fig = S.new_figure(S.FIGURE_WIDTH, 6.2)
        ax, gx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        fig.subplots_adjust(left=0.08, right=0.97, bottom=0.13, top=0.8, wspace=0.25)
        ax.set_xlabel("nested guests of this L1", fontsize=S.LABEL_SIZE)
        ax.set_ylabel("bytes in L0 per VM", fontsize=S.LABEL_SIZE)
        ax.tick_params(labelsize=S.SMALL_SIZE + 1)
        ax.grid(True, color=S.LIGHT_GREY)
        art = {
            "ax": ax,
            "gx": gx,
            "array": ax.plot(
                [], [], color=S.BLUE, lw=3, label="fixed array nested_guests[1024] (4.20)"
            )[0],
            "array4k": ax.plot(
                [], [], color=S.BLUE, lw=2, ls="--", label="the array sized for 4096 lpids"
            )[0],
            "idr": ax.plot([], [], color=S.VERMILLION, lw=3, label="IDR (later kernels)")[0],
            "dot_a": ax.plot([], [], "o", color=S.BLUE, ms=11)[0],
            "dot_i": ax.plot([], [], "s", color=S.VERMILLION, ms=11)[0],
            "img": gx.imshow(
                np.zeros((64, 64)), cmap=_CMAP, vmin=0, vmax=3, interpolation="nearest"
            ),
        }
        fig.legend(
            fontsize=S.SMALL_SIZE + 1, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.925)
        )
        gx.set_xlabel("lpid & 63 (slot in a 64-slot node)", fontsize=S.TEXT_SIZE)
        gx.set_ylabel("lpid >> 6 (leaf node)", fontsize=S.TEXT_SIZE)
        gx.set_xticks([0, 32, 63])
        gx.set_yticks([0, 16, 32, 48, 63])
        gx.tick_params(labelsize=S.SMALL_SIZE)
        art["title"] = fig.suptitle("", fontsize=S.TITLE_SIZE, fontweight="bold")
        art["gtitle"] = gx.set_title("", fontsize=S.TEXT_SIZE + 1)
        fig._pynest_costs = art  # type: ignore[attr-defined]
    ax, gx = art["ax"], art["gx"]
    xmax = max(rec.curve_n[-1], 1)
    art["array"].set_data([0, xmax], [rec.array_bytes] * 2)
    art["array4k"].set_data([0, xmax], [rec.array_4096_bytes] * 2)
    art["idr"].set_data(rec.curve_n, rec.curve_idr)
    art["dot_a"].set_data([rec.n], [rec.array_bytes])
    art["dot_i"].set_data([rec.n], [rec.idr_bytes])
    art["array"].set_linewidth(4 if table == "array" else 2)
    art["idr"].set_linewidth(4 if table == "dynamic" else 2)
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, max(rec.array_4096_bytes, max(rec.curve_idr)) * 1.1)
    art["img"].set_data(_grid(rec, table))
    if table == "array":
        free = KVM_MAX_NESTED_GUESTS - sum(1 for lp in rec.lpids if lp < KVM_MAX_NESTED_GUESTS)
        gtitle = f"array: 1024 slots always there ({free} empty); grey: no slot"
    else:
        rows = len({lp >> 6 for lp in rec.lpids})
        gtitle = f"IDR: {rows} leaf node(s) where the {rec.n} guests are"
    art["gtitle"].set_text(gtitle)
    chosen = rec.array_bytes if table == "array" else rec.idr_bytes
    art["title"].set_text(
        f"{'fixed array' if table == 'array' else 'IDR'}: {chosen} bytes for {rec.n} guests "
        f"(array {rec.array_bytes}, IDR {rec.idr_bytes})"
    )
    return fig
