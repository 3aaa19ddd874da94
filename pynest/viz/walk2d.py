"""The guest's two-dimensional walk as a grid: one row per process-scoped step, one
column per partition-scoped level.

``draw_walk2d(t)`` takes a guest :class:`pynest.mmu.Translation` (MSR[HV]=0, relocation
on) and draws

* rows, top to bottom: the partition-table entry (read at host real addresses), the
  process-table entry, process-scoped levels L0..L3, and the data;
* columns, left to right: partition-scoped levels P0..P3 -- the reads that translate
  that row's guest real address into a host real one -- then ``entry``, the row's own
  read at the host real address just found.

Each cell holds the numbers of the memory reads made there (1 = the first read of the
walk), so reading the numbers in order replays the walk. ``upto`` = k lights cells up to
the k-th read and frames the k-th; later cells say "not yet". :func:`walk2d_grid` gives
the same grid as a record, for text views, tests and exercises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.formats import page_size_text
from ..mmu.walk import WalkStep
from ..mmu.xlate import Translation
from ..scenarios.guest import COLUMNS, ROWS, access_cell
from . import style as S

ROW_TITLES = {
    "PATE": "PATE[LPID]",
    "PRTE": "PRTE[PID]",
    "L0": "L0 · PGD",
    "L1": "L1 · PUD",
    "L2": "L2 · PMD",
    "L3": "L3 · PTE",
    "data": "data",
}
COLUMN_TITLES = {
    "P0": "partition L0",
    "P1": "partition L1",
    "P2": "partition L2",
    "P3": "partition L3",
    "entry": "the entry itself",
}


@dataclass
class Walk2dCell:
    """The reads made in one cell: their 1-based numbers and their steps."""

    row: str
    column: str
    accesses: list[int] = field(default_factory=list)
    steps: list[WalkStep] = field(default_factory=list)

    @property
    def reads(self) -> int:
        return len(self.accesses)


@dataclass
class Walk2dGrid:
    """Every cell of a walk and, per read, the cell it happened in."""

    translation: Translation
    cells: dict[tuple[str, str], Walk2dCell]
    order: list[tuple[str, str]]

    @property
    def total(self) -> int:
        return len(self.order)

    def row_reads(self, row: str) -> int:
        return sum(self.cells[(row, col)].reads for col in COLUMNS if (row, col) in self.cells)

    def column_reads(self, column: str) -> int:
        return sum(c.reads for (_r, col), c in self.cells.items() if col == column)

    def step(self, k: int) -> WalkStep:
        """The k-th read (1-based)."""
        return self.translation.steps[k - 1]


def walk2d_grid(t: Translation) -> Walk2dGrid:
    """The grid of translation ``t``: each read placed in its (row, column)."""
    cells: dict[tuple[str, str], Walk2dCell] = {}
    order: list[tuple[str, str]] = []
    for k, s in enumerate(t.steps, 1):
        key = access_cell(s.tree, s.level, s.purpose)
        cell = cells.setdefault(key, Walk2dCell(*key))
        cell.accesses.append(k)
        cell.steps.append(s)
        order.append(key)
    return Walk2dGrid(t, cells, order)


def describe_access(grid: Walk2dGrid, k: int) -> str:
    """One sentence on the k-th read: which table, where, and what for."""
    s = grid.step(k)
    row, col = grid.order[k - 1]
    where = f"{s.hra:#x}" if s.entry_addr == s.hra else f"gRA {s.entry_addr:#x} = hRA {s.hra:#x}"
    if col == "entry":
        if row == "PATE":
            what = f"PATE[{s.index}].dw{s.level} at host real {where}"
        elif row == "PRTE":
            what = f"PRTE[{s.index}] at {where}"
        else:
            what = f"process-scoped {row}[{s.index:#x}] at {where}"
        return f"read {k} of {grid.total}: {what}"
    serves = {"PRTE": "the PRTE's", "data": "the data's"}.get(row, f"the {row} entry's")
    return (
        f"read {k} of {grid.total}: partition-scoped L{col[1]}[{s.index:#x}] at host real "
        f"{s.hra:#x}, translating {serves} guest real address"
    )


def walk2d_text(t: Translation, upto: int | None = None) -> str:
    """The grid as text: one line per row with the read numbers per column."""
    grid = walk2d_grid(t)
    shown = grid.total if upto is None else max(0, min(upto, grid.total))
    head = f"{'':<11}" + "".join(f"{c:>10}" for c in COLUMNS) + f"{'reads':>8}"
    lines = [_title(t), head]
    for row in ROWS:
        parts = []
        for col in COLUMNS:
            cell = grid.cells.get((row, col))
            nums = [k for k in (cell.accesses if cell else []) if k <= shown]
            parts.append(f"{','.join(map(str, nums)) or '·':>10}")
        lines.append(f"{row:<11}" + "".join(parts) + f"{grid.row_reads(row):>8}")
    lines.append(_footer(t, grid))
    if upto is not None and shown:
        lines.append(describe_access(grid, shown))
    return "\n".join(lines)


def _title(t: Translation) -> str:
    who = f"LPID {t.lpid}, PID {t.pid}" if t.pid is not None else f"LPID {t.lpid}"
    return f"{t.access} EA {t.ea:#018x} — {t.mode}, {who}: the 2-D walk"


def _footer(t: Translation, grid: Walk2dGrid) -> str:
    per_row = " + ".join(f"{grid.row_reads(r)}" for r in ROWS if grid.row_reads(r))
    text = f"{grid.total} memory reads = {per_row} (PATE, PRTE, L0.., data)"
    if t.fault is not None:
        return f"{text}; then {t.fault.interrupt}: {t.fault.reason}"
    return f"{text} → RA {t.ra:#x} ({page_size_text(t.page_size or 0)} page)"


# ----------------------------------------------------------------------- drawing
_LABEL_W = 1.6
_COL_W = (2.2, 2.2, 2.2, 2.2, 2.5)
_COUNT_W = 0.8
_ROW_H = 0.98
_NUMBER_DY = 0.24  # the read numbers above the cell's centre, its two-line note below
_SUB_DY = -0.13
_TITLE_H = 0.6
_HEAD_H = 0.45
_FOOT_H = 0.95
_DASH = (0, (4, 3))


def _cell_colour(row: str, col: str) -> str:
    if col != "entry":
        return S.ORANGE  # partition-scoped: the hypervisor's tree
    if row in ("PATE", "PRTE"):
        return S.TABLE_COLOUR
    if row == "data":
        return S.OK
    return S.SKY_BLUE  # process-scoped: the guest's tree


class _Drawn:
    """The artists of one drawn grid, kept on the figure so that moving ``upto`` only
    restyles them (an explorer's slider step costs no new artists), and another walk
    only retitles them (:func:`_retarget`): the grid's rows and columns are the same for
    every walk."""

    def __init__(self, t: Translation, grid: Walk2dGrid) -> None:
        self.translation = t
        self.grid = grid
        self.cells: dict[tuple[str, str], tuple] = {}  # key -> (patch, number, sub, x, y)
        self.counts: dict[str, object] = {}
        self.caption = None
        self.title = None
        self.footer = None


def _last_patch(fig: Figure):
    return fig.patches[-1]


def _last_text(fig: Figure):
    return fig.texts[-1]


def _build(fig: Figure, t: Translation, title: str) -> _Drawn:
    grid = walk2d_grid(t)
    drawn = _Drawn(t, grid)
    width = S.FIGURE_WIDTH
    height = _TITLE_H + _HEAD_H + _ROW_H * len(ROWS) + _FOOT_H
    fig.clear()
    fig.set_size_inches(width, height)
    cv = S.canvas_axes(fig, width, height)
    top = height - 0.1
    S.label(cv, 0.15, top - 0.25, title or _title(t), S.TITLE_SIZE, bold=True, ha="left")
    drawn.title = _last_text(fig)
    top -= _TITLE_H
    xs = [0.1 + _LABEL_W]
    for w in _COL_W:
        xs.append(xs[-1] + w)
    for i, col in enumerate(COLUMNS):
        S.label(cv, xs[i] + _COL_W[i] / 2, top - 0.2, COLUMN_TITLES[col], S.TEXT_SIZE, bold=True)
    S.label(cv, xs[-1] + _COUNT_W / 2, top - 0.2, "reads", S.TEXT_SIZE, bold=True)
    top -= _HEAD_H
    pad = 0.05
    for r, row in enumerate(ROWS):
        y = top - _ROW_H * (r + 1)
        S.label(cv, 0.2, y + _ROW_H / 2, ROW_TITLES[row], S.LABEL_SIZE, bold=True, ha="left")
        for i, col in enumerate(COLUMNS):
            x, w = xs[i], _COL_W[i]
            cx, cy = x + w / 2, y + _ROW_H / 2
            S.box(cv, x + pad, y + pad, w - 2 * pad, _ROW_H - 2 * pad, S.WHITE, edge=S.GREY)
            patch = _last_patch(fig)
            S.label(cv, cx, cy + _NUMBER_DY, "", S.LABEL_SIZE, bold=True, mono=True)
            number = _last_text(fig)
            S.label(cv, cx, cy + _SUB_DY, "", S.SMALL_SIZE, mono=True)
            sub = _last_text(fig)
            drawn.cells[(row, col)] = (patch, number, sub, cx, cy)
        S.label(cv, xs[-1] + _COUNT_W / 2, y + _ROW_H / 2, "", S.LABEL_SIZE, mono=True)
        drawn.counts[row] = _last_text(fig)
    foot_y = top - _ROW_H * len(ROWS) - 0.3
    S.label(cv, 0.2, foot_y, _footer(t, grid), S.TEXT_SIZE, ha="left")
    drawn.footer = _last_text(fig)
    S.label(cv, 0.2, foot_y - 0.4, "", S.TEXT_SIZE, ha="left", bold=True)
    drawn.caption = _last_text(fig)
    return drawn


def _retarget(drawn: _Drawn, t: Translation, title: str) -> None:
    """Make ``drawn`` (a grid built by :func:`_build`) show the walk ``t``: its title and
    footer; :func:`_restyle` then sets every cell, count and the caption, as after a
    build."""
    drawn.translation = t
    drawn.grid = walk2d_grid(t)
    drawn.title.set_text(title or _title(t))
    drawn.footer.set_text(_footer(t, drawn.grid))


def _empty_text(grid: Walk2dGrid, row: str, col: str) -> str:
    t = grid.translation
    if row == "PATE" and col != "entry":
        return "host real"
    if row == "data" and col == "entry":
        return "the data access" if t.ok else "—"
    if col != "entry" and grid.row_reads(row):
        return "not needed"  # the partition leaf sits above this level
    return "—"


def _restyle(drawn: _Drawn, upto: int | None) -> None:
    grid = drawn.grid
    t = drawn.translation
    n = grid.total
    shown = n if upto is None else max(0, min(upto, n))
    current = grid.order[shown - 1] if upto is not None and shown else None
    fault_key = grid.order[-1] if t.fault is not None and n else None
    for key, (patch, number, sub, cx, cy) in drawn.cells.items():
        row, col = key
        cell = grid.cells.get(key)
        lit = [k for k in cell.accesses if k <= shown] if cell is not None else []
        if not lit:
            patch.set_facecolor(S.WHITE)
            patch.set_edgecolor(S.GREY)
            patch.set_linewidth(0.8)
            patch.set_linestyle(_DASH)
            number.set_text("not yet" if cell is not None else _empty_text(grid, row, col))
            number.set_position((cx, cy))
            number.set_fontsize(S.SMALL_SIZE)
            number.set_fontweight("normal")
            number.set_family(S.FONT)
            number.set_color(S.GREY)
            sub.set_text("")
            continue
        is_fault = fault_key == key and shown == n
        colour = S.FAULT if is_fault else _cell_colour(row, col)
        patch.set_facecolor(S.tint(colour, 0.45))
        patch.set_edgecolor(S.FAULT if is_fault else S.BLACK)
        patch.set_linewidth(3.2 if key == current or is_fault else 1.0)
        patch.set_linestyle("solid")
        number.set_text("#" + ",".join(str(k) for k in lit))
        number.set_position((cx, cy + _NUMBER_DY))
        number.set_fontsize(S.LABEL_SIZE)
        number.set_fontweight("bold")
        number.set_family(S.MONO)
        number.set_color(S.BLACK)
        last = cell.steps[len(lit) - 1]
        if is_fault:
            text = "FAULT: V=0" if not last.raw & C.PTE_V else "FAULT"
        elif col == "entry" and row == "PATE":
            first = cell.steps[0].hra
            text = f"dw0+dw1\n@ {first:#x}" if len(lit) > 1 else f"dw0\n@ {first:#x}"
        else:
            kind = "leaf" if last.raw & C.PTE_V and last.raw & C.PTE_L else "dir"
            text = f"[{last.index:#x}] {kind}\n{last.hra:#x}"
        sub.set_text(text)
    for row, text in drawn.counts.items():
        lit = sum(1 for k in range(shown) if grid.order[k][0] == row)
        total = grid.row_reads(row)
        text.set_text(f"{lit}/{total}" if shown < n else f"{total}")
    if upto is None:
        drawn.caption.set_text("")
    elif shown:
        drawn.caption.set_text(describe_access(grid, shown))
    else:
        drawn.caption.set_text(f"read 0 of {n}: nothing read yet")


def draw_walk2d(
    t: Translation, upto: int | None = None, *, fig: Figure | None = None, title: str = ""
) -> Figure:
    """The 2-D walk of ``t`` as a grid (see the module docstring). ``upto`` = k lights
    the first k reads (0: none); None lights all. ``fig`` is reused: drawn again for a
    new translation's titles (the same grid), only restyled when the same ``t`` comes back
    with another ``upto``."""
    if fig is None:
        fig = S.new_figure(S.FIGURE_WIDTH, 6.0)
    drawn = getattr(fig, "_pynest_walk2d", None)
    if drawn is None:
        drawn = _build(fig, t, title)
        fig._pynest_walk2d = drawn  # type: ignore[attr-defined]
    elif drawn.translation is not t or title:
        _retarget(drawn, t, title)
    _restyle(drawn, upto)
    return fig
