"""Figures of notebook 06: which LPID is which, and what the nested table costs.

* :func:`lpid_map` reads a model world into an :class:`LpidMap` record: the L1's own
  partition table (in L1 memory, indexed by the **L1's** LPIDs), L0's nested-guest table
  for that L1 (``nested_guests[]`` + ``max_nested_lpid``, or the IDR), and the real
  partition table in host memory (indexed by **hardware** LPIDs: the host, the L1
  itself, the shadow LPIDs of its L2s).
* :func:`draw_lpid_map` draws that record as three columns joined by arrows, one lane
  per L1 LPID, so an L2 reads left to right: L1 LPID -> ``gp`` -> shadow LPID -> the
  PATE the hardware uses.
* :func:`draw_table_costs` plots the bytes per VM of the fixed array against the IDR
  (:func:`pynest.kvm.nested.nested_table_costs`) as the guests grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from ..kvm.constants import KVM_MAX_NESTED_GUESTS, LPID_RSVD
from ..kvm.nested import PRTB_MASK, PRTS_MASK
from ..kvm.nested_table import nested_table_costs
from . import style as S

if TYPE_CHECKING:
    from ..kvm.host import L1Vm

__all__ = [
    "L0Row",
    "L1Row",
    "LpidMap",
    "NestedRow",
    "draw_lpid_map",
    "draw_table_costs",
    "lpid_map",
]

MAX_LANES = 8


@dataclass(frozen=True)
class L1Row:
    """A live entry of the L1's partition table (the L1's view of one of its L2s)."""

    l1_lpid: int
    dw0: int
    dw1: int


@dataclass(frozen=True)
class NestedRow:
    """One ``struct kvm_nested_guest`` in L0's table for the L1."""

    l1_lpid: int
    shadow_lpid: int
    refcnt: int
    l1_gr_to_hr: int
    process_table: int


@dataclass(frozen=True)
class L0Row:
    """A live row of the real partition table and who it belongs to."""

    lpid: int
    dw0: int
    dw1: int
    owner: str


@dataclass(frozen=True)
class LpidMap:
    """The three tables of one L1, as they stand."""

    vm_lpid: int
    l1_ptcr: int
    l1_entries: int
    l1_rows: tuple[L1Row, ...]
    nested: tuple[NestedRow, ...]
    max_nested_lpid: int
    table_kind: str
    table_bytes: int
    l0_rows: tuple[L0Row, ...]
    highlight: int | None = None
    note: str = ""

    def nested_for(self, l1_lpid: int) -> NestedRow | None:
        return next((n for n in self.nested if n.l1_lpid == l1_lpid), None)

    def l1_row(self, l1_lpid: int) -> L1Row | None:
        return next((r for r in self.l1_rows if r.l1_lpid == l1_lpid), None)

    def l0_row(self, lpid: int) -> L0Row | None:
        return next((r for r in self.l0_rows if r.lpid == lpid), None)

    @property
    def lanes(self) -> list[int]:
        """The L1 LPIDs drawn, one lane each (the highlighted one always among them)."""
        ids = sorted({r.l1_lpid for r in self.l1_rows} | {n.l1_lpid for n in self.nested})
        if self.highlight is not None and self.highlight not in ids:
            ids = sorted([*ids, self.highlight])
        if len(ids) > MAX_LANES:
            keep = ids[:MAX_LANES]
            if self.highlight is not None and self.highlight not in keep:
                keep = [*ids[: MAX_LANES - 1], self.highlight]
            ids = keep
        return ids

    def describe(self, l1_lpid: int) -> str:
        """One sentence: what each table holds for ``l1_lpid``."""
        row, gp = self.l1_row(l1_lpid), self.nested_for(l1_lpid)
        parts = [
            f"L1 LPID {l1_lpid}: "
            + (f"L1 entry dw0={row.dw0:#x}" if row else "no entry in the L1's table")
        ]
        if gp is None:
            parts.append(f"no nested guest in L0 (nested_guests[{l1_lpid}] is NULL)")
        else:
            pate = self.l0_row(gp.shadow_lpid)
            parts.append(f"gp with shadow LPID {gp.shadow_lpid}, refcnt {gp.refcnt}")
            parts.append(
                f"L0 PATE[{gp.shadow_lpid}] dw0={pate.dw0:#x} dw1={pate.dw1:#x}"
                if pate
                else f"L0 PATE[{gp.shadow_lpid}] not written yet"
            )
        return "; ".join(parts)

    def text(self) -> str:
        lines = [
            f"L1 (L0 LPID {self.vm_lpid}), l1_ptcr = {self.l1_ptcr:#x}: "
            f"{self.l1_entries} entries in its table",
            f"nested table ({self.table_kind}): max_nested_lpid = {self.max_nested_lpid}, "
            f"{self.table_bytes} bytes",
        ]
        lines += [self.describe(i) for i in self.lanes]
        lines += [f"L0 PATE[{r.lpid}] ({r.owner})" for r in self.l0_rows]
        return "\n".join(lines)


def lpid_map(vm: L1Vm, highlight: int | None = None, note: str = "") -> LpidMap:
    """Read the three tables of ``vm`` (an :class:`~pynest.kvm.host.L1Vm`)."""
    l1_rows: list[L1Row] = []
    entries = 0
    if vm.l1_ptcr:
        entries = 1 << ((vm.l1_ptcr & PRTS_MASK) + 8)
        base = vm.l1_ptcr & PRTB_MASK
        data = vm.read_guest(base, 16 * entries) or b""
        words: dict[int, list[int]] = {}
        for off in range(0, len(data), 8):
            v = int.from_bytes(data[off : off + 8], "big")
            if v:
                words.setdefault(off // 16, [0, 0])[(off // 8) % 2] = v
        l1_rows = [L1Row(i, w[0], w[1]) for i, w in sorted(words.items())]
    nested = tuple(
        NestedRow(lp, gp.shadow_lpid, gp.refcnt, gp.l1_gr_to_hr, gp.process_table)
        for lp, gp in vm.nested.items()
    )
    l0 = vm.l0
    owners = {0: "the host", vm.lpid: f"this L1 (its own LPID {vm.lpid})"}
    for n in nested:
        owners[n.shadow_lpid] = f"shadow of L2 {n.l1_lpid}"
    for lp, other in l0.guests.items():
        if other is not vm:
            owners.setdefault(lp, f"another L1 (LPID {lp})")
    base = l0.ptab.base
    raw = dict(l0.mem.nonzero_u64(base, 16 * l0.ptab.num_lpids))
    live = sorted({(a - base) // 16 for a in raw})
    l0_rows = tuple(
        L0Row(
            lp,
            raw.get(base + 16 * lp, 0),
            raw.get(base + 16 * lp + 8, 0),
            owners.get(lp, "reserved" if lp == LPID_RSVD else "another partition"),
        )
        for lp in live
    )
    return LpidMap(
        vm.lpid,
        vm.l1_ptcr,
        entries,
        tuple(l1_rows),
        nested,
        vm.nested.max_nested_lpid,
        vm.nested.kind,
        vm.nested.memory_cost(),
        l0_rows,
        highlight,
        note,
    )


# ----------------------------------------------------------------------- drawing
WIDTH = 14.0
_LANE_H = 0.62
_COL = ((0.3, 4.0), (4.9, 4.1), (9.9, 3.8))  # (x, width) of the three columns


def _arrow(cv: S.Canvas, x0: float, y0: float, x1: float, y1: float, colour: str, lw: float):
    patch = FancyArrowPatch(
        (x0, y0),
        (x1, y1),
        arrowstyle="-|>",
        mutation_scale=16,
        color=colour,
        linewidth=lw,
        transform=cv.transform,
        clip_on=False,
    )
    cv.fig.patches.append(patch)
    patch.set_figure(cv.fig)


def _height(m: LpidMap) -> float:
    host_rows = len([r for r in m.l0_rows if not r.owner.startswith("shadow")])
    lanes = max(len(m.lanes), 1)
    return 2.55 + _LANE_H * (lanes + min(host_rows, 3)) + (0.45 if m.note else 0)


def draw_lpid_map(m: LpidMap, title: str | None = None, *, fig: Figure | None = None) -> Figure:
    """L1 LPIDs -> nested guests (shadow LPIDs) -> rows of L0's partition table."""
    height = _height(m)
    if fig is not None and abs(fig.get_size_inches()[1] - height) > 1e-6:
        fig.set_size_inches(WIDTH, height)
    fig, cv = S.reuse_canvas(fig, WIDTH, height)
    top = height - 0.35
    S.label(
        cv,
        0.3,
        top,
        title or f"Whose LPID is it? L1 (L0 LPID {m.vm_lpid}) and its L2s",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    if m.note:
        S.label(cv, 0.3, top - 0.45, m.note, S.TEXT_SIZE, ha="left")
        top -= 0.45
    heads = (
        ("L1's partition table", f"l1_ptcr = {m.l1_ptcr:#x}, {m.l1_entries} rows"),
        (
            "L0: nested guests of this L1",
            f"{m.table_kind}: max_nested_lpid = {m.max_nested_lpid}, {m.table_bytes} B",
        ),
        ("L0's partition table (hardware)", "indexed by hardware LPID"),
    )
    for (x, _w), (head, sub) in zip(_COL, heads, strict=True):
        S.label(cv, x, top - 0.55, head, S.LABEL_SIZE, bold=True, ha="left")
        S.label(cv, x, top - 0.9, sub, S.SMALL_SIZE, ha="left", mono=True)

    y = top - 1.0
    # rows of the real table that are not shadows: the host, the L1, reserved ...
    others = [r for r in m.l0_rows if not r.owner.startswith("shadow")][:3]
    x, w = _COL[2]
    for r in others:
        y -= _LANE_H
        S.box(cv, x, y + 0.06, w, _LANE_H - 0.12, S.LIGHT_GREY)
        S.label(
            cv,
            x + 0.12,
            y + _LANE_H / 2,
            f"PATE[{r.lpid}]",
            S.TEXT_SIZE,
            mono=True,
            bold=True,
            ha="left",
        )
        S.label(cv, x + 1.35, y + _LANE_H / 2, r.owner, S.SMALL_SIZE, ha="left")
    lanes = m.lanes
    if not lanes:
        y -= _LANE_H
        S.label(
            cv, 0.3, y + _LANE_H / 2, "the L1 has no L2 yet: press create", S.TEXT_SIZE, ha="left"
        )
    for lp in lanes:
        y -= _LANE_H
        mid = y + _LANE_H / 2
        hi = lp == m.highlight
        edge, lw = (S.BLACK, 3.0) if hi else (S.BLACK, 1.0)
        row, gp = m.l1_row(lp), m.nested_for(lp)
        # column 1: the L1's own entry
        x, w = _COL[0]
        S.box(
            cv,
            x,
            y + 0.06,
            w,
            _LANE_H - 0.12,
            S.tint(S.SKY_BLUE) if row else S.WHITE,
            edge,
            lw,
            dashed=row is None,
        )
        S.label(cv, x + 0.12, mid, f"L1 LPID {lp}", S.TEXT_SIZE, bold=True, ha="left")
        S.label(
            cv,
            x + 1.3,
            mid,
            f"dw0 {row.dw0:#x}" if row else "entry 0 (none)",
            S.SMALL_SIZE,
            mono=True,
            ha="left",
        )
        # column 2: nested_guests[lp]
        x2, w2 = _COL[1]
        if gp is None:
            S.box(cv, x2, y + 0.06, w2, _LANE_H - 0.12, S.WHITE, edge, lw, dashed=True)
            S.label(cv, x2 + 0.12, mid, f"[{lp}] = NULL", S.TEXT_SIZE, mono=True, ha="left")
        else:
            S.box(cv, x2, y + 0.06, w2, _LANE_H - 0.12, S.tint(S.ORANGE), edge, lw)
            S.label(
                cv, x2 + 0.12, mid, f"[{lp}] → gp", S.TEXT_SIZE, mono=True, bold=True, ha="left"
            )
            S.label(
                cv,
                x2 + 1.3,
                mid,
                f"shadow LPID {gp.shadow_lpid}, refcnt {gp.refcnt}",
                S.SMALL_SIZE,
                ha="left",
            )
        if row is not None or gp is not None:
            _arrow(
                cv, x + w + 0.05, mid, x2 - 0.05, mid, S.BLACK if gp else S.GREY, 2.0 if hi else 1.2
            )
        # column 3: the shadow LPID's real PATE
        x3, w3 = _COL[2]
        if gp is not None:
            pate = m.l0_row(gp.shadow_lpid)
            S.box(
                cv,
                x3,
                y + 0.06,
                w3,
                _LANE_H - 0.12,
                S.tint(S.GREEN) if pate else S.WHITE,
                edge,
                lw,
                dashed=pate is None,
            )
            S.label(
                cv,
                x3 + 0.12,
                mid,
                f"PATE[{gp.shadow_lpid}]",
                S.TEXT_SIZE,
                mono=True,
                bold=True,
                ha="left",
            )
            S.label(
                cv,
                x3 + 1.15,
                mid,
                f"dw0 {pate.dw0:#x}" if pate else "not written yet",
                S.SMALL_SIZE,
                mono=True,
                ha="left",
            )
            _arrow(cv, x2 + w2 + 0.05, mid, x3 - 0.05, mid, S.BLACK, 2.0 if hi else 1.2)
    if len(lanes) < len({r.l1_lpid for r in m.l1_rows} | {n.l1_lpid for n in m.nested}):
        S.label(cv, 0.3, y - 0.25, f"(first {MAX_LANES} L1 LPIDs shown)", S.SMALL_SIZE, ha="left")
    S.label(
        cv,
        0.3,
        0.3,
        "blue: the L1's entry   orange: L0's struct kvm_nested_guest   green: the real PATE"
        "   dashed: nothing there   thick frame: the chosen L1 LPID",
        S.SMALL_SIZE,
        ha="left",
    )
    return fig


def draw_table_costs(
    counts: Sequence[int] = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1023),
    sparse_lpid: int = 1000,
) -> Figure:
    """Bytes per VM: the 4.20 array against the IDR, for ``n`` L2s with lpids 1..n, and
    for one L2 at a high lpid (``sparse_lpid``)."""
    fig = S.new_figure(WIDTH, 5.6)
    ax = fig.add_axes((0.08, 0.14, 0.58, 0.72))
    xs = [max(n, 0.7) for n in counts]
    array = [nested_table_costs(list(range(1, n + 1)))["array"] for n in counts]
    idr = [nested_table_costs(list(range(1, n + 1)))["dynamic"] for n in counts]
    ax.plot(xs, array, color=S.VERMILLION, lw=3, marker="s", label="fixed array (4.20)")
    ax.plot(xs, idr, color=S.BLUE, lw=3, marker="o", label="IDR (later kernels)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("L2 guests of one L1 (lpids 1..n; 0 drawn at 0.7)", fontsize=S.LABEL_SIZE)
    ax.set_ylabel("bytes in L0 per L1 VM", fontsize=S.LABEL_SIZE)
    ax.tick_params(labelsize=S.TEXT_SIZE)
    ax.grid(True, which="major", color=S.LIGHT_GREY)
    ax.legend(fontsize=S.TEXT_SIZE, loc="lower right")
    ax.set_title("What keeping the nested guests costs", fontsize=S.TITLE_SIZE, loc="left")
    one = nested_table_costs([sparse_lpid])
    none = nested_table_costs([])
    full = nested_table_costs(list(range(1, KVM_MAX_NESTED_GUESTS)))
    notes = [
        "every VM, nested or not:",
        f"  array {none['array']} B, IDR {none['dynamic']} B",
        "",
        f"one L2 at lpid {sparse_lpid}:",
        f"  array {one['array']} B, IDR {one['dynamic']} B",
        "",
        f"{KVM_MAX_NESTED_GUESTS - 1} L2s (lpids 1..{KVM_MAX_NESTED_GUESTS - 1}):",
        f"  array {full['array']} B, IDR {full['dynamic']} B",
        "",
        "array: 8 B a slot + 4 B max",
        "IDR: 24 B head + 576 B for",
        "each 64-slot xarray node",
    ]
    fig.text(0.70, 0.84, "\n".join(notes), fontsize=S.TEXT_SIZE, family=S.MONO, va="top")
    return fig
