"""The three partition-scoped trees of a nested guest, side by side (notebook 08).

* **the L1's tree for the L2** -- L2 real -> L1 real, built by the L1 in its own memory
  (the root is dw0 of the L1's partition-table entry for the L2);
* **L0's tree for the L1** -- L1 real -> host real (``kvm->arch.pgtable``), shown for
  the part of L1 memory that holds the L2;
* **the shadow tree** -- L2 real -> host real (``gp->shadow_pgtable``), the only one the
  hardware walks for the L2: each entry is the composition of the other two, at most as
  large as either page.

:func:`read_shadow_trees` reads them from memory into a :class:`ShadowTreesView` (rows
only, no drawing); :func:`draw_shadow_trees` draws a view. ``gpa`` marks the rows an L2
access at that L2 real address uses; ``previous`` (the view before the access) marks
rows that are new, and counts the ones that went away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from matplotlib.figure import Figure

from ..errors import ConfigError
from ..kvm.host import L1Vm
from ..kvm.l1 import L2Guest
from ..kvm.nested_table import NestedGuest
from ..kvm.radix import shadow_leaves
from ..mmu import constants as C
from ..mmu.formats import RadixRoot, page_size_text
from ..mmu.walk import leaves
from . import style as S


@dataclass(frozen=True, slots=True)
class TreeRow:
    """One leaf: ``addr`` maps to ``target`` for ``size`` bytes, raw ``pte``."""

    addr: int
    target: int
    size: int
    pte: int
    hot: bool = False  # used by the access being shown
    new: bool = False  # not in the previous view
    note: str = ""

    @property
    def perms(self) -> str:
        """EAA read / read-write / execute as ``rwx`` with ``-`` for a missing right."""
        p = self.pte
        return (
            ("r" if p & C.PTE_EAA_READ else "-")
            + ("w" if p & C.PTE_EAA_RW else "-")
            + ("x" if p & C.PTE_EAA_EXEC else "-")
        )

    @property
    def rc(self) -> str:
        return ("R" if self.pte & C.PTE_R else "-") + ("C" if self.pte & C.PTE_C else "-")

    def __str__(self) -> str:
        marks = ("*" if self.hot else " ") + ("+" if self.new else " ")
        note = f"  {self.note}" if self.note else ""
        return (
            f"{marks}{self.addr:#011x} -> {self.target:#011x} "
            f"{page_size_text(self.size):>3} {self.perms} {self.rc}{note}"
        )


@dataclass(frozen=True)
class TreePanel:
    """One tree: its ``title``, what it maps (``mapping``), its rows in address order;
    ``others`` counts leaves outside the part shown, ``removed`` leaves that went away."""

    key: str
    title: str
    mapping: str
    rows: tuple[TreeRow, ...]
    others: int = 0
    removed: int = 0

    @property
    def hot(self) -> list[TreeRow]:
        return [r for r in self.rows if r.hot]


@dataclass(frozen=True)
class ShadowTreesView:
    """The three panels (L1's tree, L0's tree, shadow tree) and what is marked."""

    l1_tree: TreePanel
    l0_tree: TreePanel
    shadow: TreePanel
    gpa: int | None = None
    caption: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def panels(self) -> tuple[TreePanel, TreePanel, TreePanel]:
        return (self.l1_tree, self.l0_tree, self.shadow)

    def text(self) -> str:
        """Every panel as text: ``*`` marks rows the access uses, ``+`` new rows."""
        out = [self.caption] if self.caption else []
        for p in self.panels:
            out.append(f"{p.title} ({p.mapping}): {len(p.rows)} entries")
            out += [f"  {r}" for r in p.rows]
            if p.others:
                out.append(f"   ... and {p.others} more outside the L2's memory")
            if p.removed:
                out.append(f"   ({p.removed} removed since the previous step)")
        out += list(self.notes)
        return "\n".join(out)


# ----------------------------------------------------------------------- reading
def _l1_tree_rows(vm: L1Vm, root: int) -> list[TreeRow]:
    """Leaves of a radix tree in L1 memory, read through the memslot (host real = the
    L1's allotment base + L1 real), as the hardware walk reaches them
    (:func:`pynest.mmu.walk.leaves`); a table outside L1 memory holds nothing, and each
    table is read once."""
    mem = vm.l0.mem
    seen = {root}

    def read_table(addr: int, size: int) -> list[tuple[int, int]]:
        if addr < 0 or addr + size > vm.mem_size:
            return []
        return [(slot - vm.mem_base, e) for slot, e in mem.nonzero_u64(vm.mem_base + addr, size)]

    def descend(_addr: int, base: int, _nls: int, _level: int) -> bool:
        if base in seen:
            return False
        seen.add(base)
        return True

    found = leaves(
        read_table,
        RadixRoot(rpdb=root, rpds=C.ROOT_NLS, tree_bits=C.RADIX_TREE_BITS),
        descend=descend,
    )
    return [
        TreeRow(f.addr, f.pte & C.PTE_RPN & -(1 << f.shift), 1 << f.shift, f.pte) for f in found
    ]


def _covers(row: TreeRow, addr: int | None) -> bool:
    return addr is not None and row.addr <= addr < row.addr + row.size


def _mark(
    rows: Sequence[TreeRow], hot_addr: int | None, before: TreePanel | None
) -> tuple[list[TreeRow], int]:
    old = {(r.addr, r.size, r.target) for r in before.rows} if before is not None else None
    out = []
    for r in rows:
        new = old is not None and (r.addr, r.size, r.target) not in old
        out.append(replace(r, hot=_covers(r, hot_addr), new=new))
    removed = 0
    if old is not None:
        now = {(r.addr, r.size, r.target) for r in rows}
        removed = len(old - now)
    return out, removed


def read_shadow_trees(
    vm: L1Vm,
    l2: L2Guest,
    gp: NestedGuest | None,
    gpa: int | None = None,
    *,
    previous: ShadowTreesView | None = None,
    caption: str = "",
    table_range: tuple[int, int] | None = None,
) -> ShadowTreesView:
    """The three trees of L2 ``l2`` of L1 ``vm`` as rows (see the module docstring).

    ``gp`` is L0's nested guest for the L2 (None: no shadow tree yet). ``gpa`` is an L2
    real address to follow through all three; ``table_range`` an L2 real range holding
    the L2's own page tables, whose rows get a note.
    """
    root = l2.tree.root
    l1_rows = _l1_tree_rows(vm, root)
    lo, hi = l2.l1_gpa_base, l2.l1_gpa_base + l2.mem_size
    l0_maps = vm.pgtable.mappings()
    l0_all = [
        TreeRow(m.addr, m.ra, m.size, m.pte)
        for m in l0_maps
        if m.addr < hi and m.addr + m.size > lo
    ]
    l0_others = len(l0_maps) - len(l0_all)
    sh_rows = []
    if gp is not None and not gp.freed:
        sh_rows = [
            TreeRow(a, pte & C.PTE_RPN & -(1 << s), 1 << s, pte)
            for a, _sl, pte, s in shadow_leaves(gp)
        ]
    if table_range is not None:
        t_lo, t_hi = table_range

        def note(rows: list[TreeRow]) -> list[TreeRow]:
            return [
                replace(r, note="L2 page tables") if r.addr < t_hi and r.addr + r.size > t_lo else r
                for r in rows
            ]

        l1_rows, sh_rows = note(l1_rows), note(sh_rows)
    l1_gpa = None
    if gpa is not None:
        hit = next((r for r in l1_rows if _covers(r, gpa)), None)
        if hit is not None:
            l1_gpa = hit.target + (gpa - hit.addr)
    prev = previous.panels if previous is not None else (None, None, None)
    l1_marked, l1_removed = _mark(l1_rows, gpa, prev[0])
    l0_marked, l0_removed = _mark(l0_all, l1_gpa, prev[1])
    sh_marked, sh_removed = _mark(sh_rows, gpa, prev[2])
    shadow_lpid = gp.shadow_lpid if gp is not None else None
    panels = (
        TreePanel(
            "l1",
            f"L1's tree for its L2 (lpid {l2.l1_lpid})",
            "L2 real -> L1 real, in L1 memory",
            tuple(l1_marked),
            removed=l1_removed,
        ),
        TreePanel(
            "l0",
            f"L0's tree for the L1 (LPID {vm.lpid})",
            "L1 real -> host real",
            tuple(l0_marked),
            others=l0_others,
            removed=l0_removed,
        ),
        TreePanel(
            "shadow",
            "shadow tree"
            + (f" (LPID {shadow_lpid})" if shadow_lpid is not None else " (none yet)"),
            "L2 real -> host real: what the MMU walks",
            tuple(sh_marked),
            removed=sh_removed,
        ),
    )
    notes = []
    if gpa is not None:
        if l1_gpa is None:
            notes.append(f"L2 real {gpa:#x}: the L1's tree has no entry")
        else:
            host = next((r for r in l0_marked if r.hot), None)
            where = (
                f"host real {host.target + (l1_gpa - host.addr):#x}"
                if host is not None
                else "not backed by L0 yet"
            )
            notes.append(f"L2 real {gpa:#x} → L1 real {l1_gpa:#x} → {where}")
    return ShadowTreesView(*panels, gpa=gpa, caption=caption, notes=tuple(notes))


# ----------------------------------------------------------------------- drawing
_ROW_H = 0.54
_HEAD_H = 1.0
_TITLE_H = 0.55
_FOOT_H = 0.55
_PANEL_W = 4.45
_GAP = 0.22
_COLOURS = {"l1": S.SKY_BLUE, "l0": S.GREEN, "shadow": S.ORANGE}


def _canvas(fig: Figure | None, width: float, height: float) -> S.Canvas:
    """A canvas on a new figure, or on ``fig`` wiped of its boxes and texts. The figure's
    one invisible axes is kept (building axes is most of a redraw's cost)."""
    if fig is None or len(fig.axes) != 1:
        if fig is None:
            fig = S.new_figure(width, height)
        else:
            fig.clear()
            fig.set_size_inches(width, height)
        return S.canvas_axes(fig, width, height)
    fig.patches.clear()
    fig.texts.clear()
    fig.set_size_inches(width, height)
    return S.Canvas(fig, width, height)


def _window(rows: tuple[TreeRow, ...], max_rows: int) -> tuple[list[TreeRow], int, int]:
    """At most ``max_rows`` rows around the marked ones: (rows, hidden before, after)."""
    if len(rows) <= max_rows:
        return list(rows), 0, 0
    marked = [i for i, r in enumerate(rows) if r.hot or r.new]
    centre = marked[0] if marked else 0
    start = max(0, min(centre - max_rows // 3, len(rows) - max_rows))
    return list(rows[start : start + max_rows]), start, len(rows) - start - max_rows


def draw_shadow_trees(
    view: ShadowTreesView, *, max_rows: int = 9, fig: Figure | None = None, title: str = ""
) -> Figure:
    """The view as three panels side by side; rows the access uses are framed in black
    and tinted, new rows carry the word "new". ``fig`` is cleared and reused."""
    width = S.FIGURE_WIDTH
    longest = max(min(len(p.rows), max_rows) for p in view.panels)
    body = _ROW_H * max(longest, 1) + 0.5
    height = _TITLE_H + _HEAD_H + body + _FOOT_H + 0.1 * len(view.notes[:1])
    cv = _canvas(fig, width, height)
    fig = cv.fig
    top = height - 0.1
    heading = title or "Three partition-scoped trees: the shadow tree = the L1's tree, then L0's"
    S.label(cv, 0.15, top - 0.22, heading, S.TITLE_SIZE, bold=True, ha="left")
    top -= _TITLE_H
    x0 = 0.15
    for i, panel in enumerate(view.panels):
        x = x0 + i * (_PANEL_W + _GAP)
        colour = _COLOURS[panel.key]
        S.box(cv, x, top - _HEAD_H, _PANEL_W, _HEAD_H - 0.05, S.tint(colour, 0.55), lw=1.0)
        S.label(cv, x + 0.12, top - 0.3, panel.title, S.LABEL_SIZE, bold=True, ha="left")
        S.label(cv, x + 0.12, top - 0.68, panel.mapping, S.SMALL_SIZE, ha="left")
        rows, before, after = _window(panel.rows, max_rows)
        y = top - _HEAD_H - 0.05
        if before:
            S.label(
                cv,
                x + 0.12,
                y - 0.12,
                f"... {before} above",
                S.SMALL_SIZE,
                ha="left",
                colour=S.GREY,
            )
            y -= 0.25
        if not rows:
            S.label(cv, x + 0.12, y - _ROW_H / 2, "(empty)", S.TEXT_SIZE, ha="left", colour=S.GREY)
        for row in rows:
            face = (
                S.tint(colour, 0.45)
                if row.hot
                else (S.tint(S.YELLOW, 0.35) if row.new else S.WHITE)
            )
            S.box(
                cv,
                x,
                y - _ROW_H + 0.02,
                _PANEL_W,
                _ROW_H - 0.04,
                face,
                edge=S.BLACK if row.hot else S.LIGHT_GREY,
                lw=2.0 if row.hot else 0.8,
                rounded=False,
            )
            size = page_size_text(row.size)
            text = f"{row.addr:#09x} → {row.target:#010x} {size:>3} {row.perms} {row.rc}"
            tag = "new" if row.new else ""
            if row.note:
                tag = (tag + " · " if tag else "") + "tables"
            # a tagged row: the entry on top, its tag under it (both fit the panel)
            text_y = y - (0.15 if tag else _ROW_H / 2)
            S.label(cv, x + 0.06, text_y, text, S.SMALL_SIZE, mono=True, ha="left")
            if tag:
                S.label(
                    cv,
                    x + _PANEL_W - 0.06,
                    y - _ROW_H + 0.15,
                    tag,
                    S.SMALL_SIZE,
                    ha="right",
                    colour=S.VERMILLION if row.new else S.GREY,
                    bold=row.new,
                )
            y -= _ROW_H
        extra = []
        if after:
            extra.append(f"... {after} below")
        if panel.others:
            extra.append(f"+{panel.others} outside the L2")
        if panel.removed:
            extra.append(f"{panel.removed} removed")
        if extra:
            S.label(
                cv, x + 0.12, y - 0.15, ", ".join(extra), S.SMALL_SIZE, ha="left", colour=S.GREY
            )
        if i < 2:
            S.label(
                cv,
                x + _PANEL_W + _GAP / 2,
                top - _HEAD_H / 2,
                "∘" if i == 0 else "=",
                S.TITLE_SIZE,
                bold=True,
            )
    foot = view.notes[0] if view.notes else view.caption
    if foot:
        S.label(cv, 0.15, 0.3, foot, S.TEXT_SIZE, ha="left")
    return fig


# ----------------------------------------------------------------------- page sizes
@dataclass(frozen=True, slots=True)
class PageSizeCase:
    """One measured combination: the L1's page, L0's host page, the shadow PTE's size."""

    l1_page: int
    host_page: int
    shadow_page: int
    note: str = ""


def draw_page_sizes(cases: Sequence[PageSizeCase], *, fig: Figure | None = None) -> Figure:
    """One row per case: the L1's page, L0's page and the resulting shadow page as bars
    on a log2 scale (4K .. 1G), labelled with their sizes."""
    width = S.FIGURE_WIDTH
    row_h = 0.95
    height = 1.1 + row_h * len(cases)
    cv = _canvas(fig, width, height)
    fig = cv.fig
    S.label(
        cv,
        0.15,
        height - 0.32,
        "Shadow PTE size: never larger than the L1's page or L0's page",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    left, scale = 3.2, 0.36  # inches per doubling above 4K
    y = height - 0.8
    for case in cases:
        items = (
            ("L1's page", case.l1_page, S.SKY_BLUE),
            ("L0's page", case.host_page, S.GREEN),
            ("shadow PTE", case.shadow_page, S.ORANGE),
        )
        for j, (name, size, colour) in enumerate(items):
            yy = y - 0.08 - j * 0.27
            S.label(cv, left - 0.1, yy, name, S.SMALL_SIZE, ha="right")
            bar = scale * (size.bit_length() - 12)
            S.box(
                cv,
                left,
                yy - 0.11,
                max(bar, 0.08),
                0.22,
                S.tint(colour, 0.8),
                lw=0.8,
                rounded=False,
            )
            S.label(
                cv, left + bar + 0.1, yy, page_size_text(size), S.SMALL_SIZE, mono=True, ha="left"
            )
        S.label(
            cv,
            0.15,
            y - 0.35,
            f"{page_size_text(case.l1_page)} × {page_size_text(case.host_page)}",
            S.LABEL_SIZE,
            bold=True,
            ha="left",
        )
        if case.note:
            S.label(
                cv,
                10.4,
                y - 0.35,
                case.note,
                S.TEXT_SIZE,
                bold=True,
                ha="left",
                colour=S.VERMILLION,
            )
        y -= row_h
    return fig


# ----------------------------------------------------------------- kernels side by side
@dataclass(frozen=True, slots=True)
class KernelSteps:
    """What one L0 kernel did for the same L2 program: the steps in order, and the
    outcome (``ok`` False draws it as the failure it is, e.g. a page the dirty log missed)."""

    kernel: str
    steps: tuple[str, ...]
    outcome: str
    ok: bool = True


def draw_kernel_steps(
    columns: Sequence[KernelSteps], title: str, *, fig: Figure | None = None
) -> Figure:
    """One column per kernel (e.g. L0 4.20 and L0 5.0 running the same L2 store): a box
    per step, top to bottom, and the outcome underneath, green if ``ok`` else vermillion."""
    if not columns:
        raise ConfigError("draw_kernel_steps needs at least one column")
    width = S.FIGURE_WIDTH
    step_h, gap = 0.62, 0.14
    rows = max(len(c.steps) for c in columns)
    height = 1.9 + rows * (step_h + gap) + 0.9
    cv = _canvas(fig, width, height)
    fig = cv.fig
    S.label(cv, 0.15, height - 0.32, title, S.TITLE_SIZE, bold=True, ha="left")
    col_w = (width - 0.3 - 0.3 * (len(columns) - 1)) / len(columns)
    chars = int(col_w * 9.5)  # what fits on one line at SMALL_SIZE
    for i, col in enumerate(columns):
        x = 0.15 + i * (col_w + 0.3)
        S.label(
            cv, x + col_w / 2, height - 0.85, f"L0 runs Linux {col.kernel}", S.LABEL_SIZE, bold=True
        )
        y = height - 1.3
        for n, step in enumerate(col.steps, 1):
            y -= step_h
            S.box(cv, x, y, col_w, step_h, S.tint(S.SKY_BLUE, 0.8), lw=0.8)
            lines = S.wrap_words(f"{n}. {step}", chars)[:2]
            S.label(cv, x + 0.12, y + step_h / 2, "\n".join(lines), S.SMALL_SIZE, ha="left")
            y -= gap
        colour = S.OK if col.ok else S.FAULT
        y_out = 0.45
        S.box(cv, x, y_out - 0.3, col_w, 0.6, S.tint(colour, 0.75), edge=colour, lw=1.6)
        S.label(cv, x + col_w / 2, y_out, col.outcome, S.TEXT_SIZE, bold=True, colour=S.BLACK)
    return fig
