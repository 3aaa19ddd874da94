"""Figures of one translation: the EA split into fields, and the walk level by level.

``draw_walk(t)`` takes a :class:`pynest.mmu.Translation` (what ``translate`` returns) and
returns a Figure with two parts:

* on top, the effective address cut into its fields -- quadrant (ISA bits 0:1), the bits
  2:11 that must be zero, one index per radix level, the byte offset -- each with its
  value, its ISA bit range and the Python expression that extracts it;
* below, one row per table the walk reads (the partition-table entry, the process-table
  entry, levels 0 to 3 of the process-scoped tree) and a last row with the result: the
  real address or the fault. A row is coloured like the EA field that indexes it when it
  was read, vermillion where the walk faulted, grey where it never got to.

``upto`` shows only the first rows, so an explorer can light the walk up step by step.
:func:`walk_rows` gives the same rows as records, for text views and tests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.formats import PartitionTableEntry, Pde, ProcessTableEntry, Pte, page_size_text
from ..mmu.walk import (
    DATA,
    NO_PURPOSE,
    TABLE_PURPOSE,
    Purpose,
    PurposeKind,
    Stage,
    Tree,
    WalkStep,
)
from ..mmu.xlate import Translation
from . import style as S

LEVEL_NAMES = ("PGD", "PUD", "PMD", "PTE")
"""Linux's names for the tables of radix levels 0 (root) to 3."""


# ----------------------------------------------------------------------- the EA fields
@dataclass(frozen=True, slots=True)
class EaField:
    """One field of an effective address: ISA bits ``first:last`` (MSB-0)."""

    key: str  # "quadrant", "zero", "L0".."L3", "offset"
    name: str
    first: int
    last: int
    value: int

    @property
    def width(self) -> int:
        return self.last - self.first + 1

    @property
    def shift(self) -> int:
        """Right shift that brings the field down to bit 0 (63 - last)."""
        return 63 - self.last

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    @property
    def python(self) -> str:
        """The Python expression that extracts the field from ``ea``."""
        if self.shift == 0:
            return f"ea & {self.mask:#x}"
        if self.first == 0:
            return f"ea >> {self.shift}"
        return f"ea>>{self.shift} & {self.mask:#x}"


def ea_fields(ea: int, page_shift: int = 12, l3_bits: int = 9) -> list[EaField]:
    """The fields of ``ea`` for a POWER9 52-bit tree and a leaf of ``2**page_shift`` bytes.

    ``page_shift`` is 30 (1G leaf at level 1), 21 (2M, level 2), 16 (64K: a level-3 table
    of 2^5 entries) or 12 (4K). ``l3_bits`` is the level-3 index width (9, or 5 for 64K).
    """
    if page_shift == 16:
        l3_bits = 5
    fields = [
        EaField("quadrant", "quadrant", 0, 1, ea >> 62),
        EaField("zero", "must be 0", 2, 11, (ea >> 52) & 0x3FF),
    ]
    first, remaining = 12, 52
    for level, nls in enumerate((13, 9, 9, l3_bits)):
        if remaining <= page_shift:
            break
        last = first + nls - 1
        fields.append(EaField(f"L{level}", f"L{level} index", first, last, 0))
        first, remaining = last + 1, remaining - nls
    fields.append(EaField("offset", "page offset", first, 63, 0))
    return [
        EaField(f.key, f.name, f.first, f.last, (ea >> (63 - f.last)) & ((1 << f.width) - 1))
        for f in fields
    ]


def _leaf_shape(t: Translation) -> tuple[int, int]:
    """(page shift of the process-scoped leaf, level-3 index width) seen in the walk."""
    l3_bits = 9
    shift = 12
    for s in t.steps:
        if s.tree != "process":
            continue
        if s.level == 2 and s.raw & C.PTE_V and not s.raw & C.PTE_L:
            l3_bits = s.raw & C.PDE_NLS if (s.raw & C.PDE_NLS) in (5, 9) else 9
        if s.raw & C.PTE_V and s.raw & C.PTE_L:
            shift = {1: 30, 2: 21}.get(s.level, 16 if l3_bits == 5 else 12)
    return shift, l3_bits


# ----------------------------------------------------------------------- the walk rows
@dataclass(frozen=True, slots=True)
class WalkRow:
    """One row of the walk figure.

    ``state`` is "read" (an entry that leads on), "leaf" (the PTE that maps the page),
    "fault", "unused" (a level a large page or real mode does not need), "not reached"
    (after a fault), or for the last row "ok" / "fault".
    """

    key: str  # "pate", "prte", "L0".."L3", "result"
    title: str
    state: str
    index: str = ""
    address: str = ""
    raw: str = ""
    meaning: str = ""
    note: str = ""

    def __str__(self) -> str:
        cells = [f"{self.title:<12}", f"{self.state:<11}"]
        for part in (self.index, self.address, self.raw):
            if part:
                cells.append(part)
        text = "  ".join(cells)
        if self.meaning:
            text += f"  {self.meaning}"
        if self.note:
            text += f"  [{self.note}]"
        return text


def _fault_purpose(t: Translation) -> Purpose:
    """For a partition-scoped fault, what the failed walk was for (the fault's
    ``purpose``: data, a PRTE, a process-tree entry); a fault built without one (an
    R/C fault of ``kvm.shadow.hw_translate``) counts as the data access."""
    if t.fault is None:
        return NO_PURPOSE
    return t.fault.purpose or DATA


def _addr_text(s: WalkStep) -> str:
    if s.entry_addr == s.hra:
        return f"{s.hra:#x}"
    return f"{s.entry_addr:#x} → {s.hra:#x}"


def _entry_meaning(raw: int) -> str:
    if not raw & C.PTE_V:
        return "V=0: no valid entry"
    if raw & C.PTE_L:
        p = Pte.decode(raw)
        return f"leaf PTE: RPN {p.rpn:#x}, R={int(p.r)} C={int(p.c)}, EAA {p.eaa_text}" + (
            "" if p.att == 0 else f", ATT {p.att >> 4:#04b}"
        )
    d = Pde.decode(raw)
    return f"PDE → next table {d.nlb:#x}, 2^{d.nls} entries"


def _partition_note(n: int, lpid: int | None) -> str:
    if not n:
        return ""
    who = f"LPID {lpid}'s" if lpid is not None else "the"
    return f"address via {who} partition tree: {n} read{'s' if n != 1 else ''}"


def walk_rows(t: Translation) -> list[WalkRow]:
    """The rows :func:`draw_walk` draws, as records: PATE, PRTE, L0..L3, result."""
    steps = t.steps
    fault = t.fault
    stage = fault.stage if fault is not None else ""
    purpose = _fault_purpose(t) if stage == Stage.PARTITION else NO_PURPOSE
    part_reads = Counter(s.purpose for s in steps if s.tree == Tree.PARTITION)
    rows: list[WalkRow] = []

    real_mode = t.mode in ("hv-real", "guest-real")
    if t.mode == "hv-real":
        unused = "hypervisor real mode: no table is read"
        for key, title in (("pate", "PATE"), ("prte", "PRTE")):
            rows.append(WalkRow(key, title, "unused", meaning=unused))
        for level in range(4):
            rows.append(WalkRow(f"L{level}", f"L{level} · {LEVEL_NAMES[level]}", "unused"))
        rows.append(_result_row(t, part_reads))
        return rows

    # --- partition-table entry -----------------------------------------------------------
    pate_steps = [s for s in steps if s.tree == "partition-table"]
    lpid_txt = f"[{t.lpid}]" if t.lpid is not None else ""
    if pate_steps:
        dw0 = pate_steps[0].raw
        dw1 = pate_steps[1].raw if len(pate_steps) > 1 else 0
        pate = PartitionTableEntry.decode(dw0, dw1)
        if pate.hr:
            meaning = f"partition tree root {pate.rpdb:#x} (2^{pate.rpds} entries)"
        else:
            meaning = "HR=0: not a radix partition"
        note = f"dw1 {dw1:#x}: process table {pate.prtb:#x}, {pate.process_table_bytes >> 4} PIDs"
        state = "fault" if stage == "partition-table" else "read"
        if state == "fault" and fault is not None:
            note = fault.reason
        rows.append(
            WalkRow(
                "pate",
                f"PATE{lpid_txt}",
                state,
                f"LPID {t.lpid}",
                f"{pate_steps[0].hra:#x}",
                f"{dw0:#018x}",
                meaning,
                note,
            )
        )
    elif stage == "partition-table":
        rows.append(WalkRow("pate", f"PATE{lpid_txt}", "fault", meaning=fault.reason))
    else:
        rows.append(WalkRow("pate", f"PATE{lpid_txt}", "not reached"))

    # --- process-table entry -----------------------------------------------------------------
    prte_step = next((s for s in steps if s.tree == "process-table"), None)
    pid_txt = f"[{t.pid}]" if t.pid is not None else ""
    prte_reads = sum(n for p, n in part_reads.items() if p.matches(PurposeKind.PRTE))
    if real_mode:
        rows.append(
            WalkRow("prte", "PRTE", "unused", meaning="guest real mode: no process-scoped walk")
        )
    elif prte_step is not None:
        prte = ProcessTableEntry.decode(prte_step.raw)
        state = "read"
        note = _partition_note(prte_reads, t.lpid)
        rows.append(
            WalkRow(
                "prte",
                f"PRTE{pid_txt}",
                state,
                f"PID {t.pid}",
                _addr_text(prte_step),
                f"{prte_step.raw:#018x}",
                f"process tree root {prte.rpdb:#x} (2^{prte.rpds}), {prte.tree_bits}-bit tree",
                note,
            )
        )
    elif stage == Stage.PROCESS_TABLE or purpose.matches(PurposeKind.PRTE):
        rows.append(
            WalkRow("prte", f"PRTE{pid_txt}", "fault", f"PID {t.pid}", meaning=fault.reason)
        )
    else:
        rows.append(WalkRow("prte", f"PRTE{pid_txt}", "not reached"))

    # --- process-scoped tree levels -------------------------------------------------------------
    by_level = {s.level: s for s in steps if s.tree == "process"}
    leaf_level = next(
        (lv for lv, s in sorted(by_level.items()) if s.raw & C.PTE_V and s.raw & C.PTE_L), None
    )
    stopped = False
    for level in range(4):
        title = f"L{level} · {LEVEL_NAMES[level]}"
        key = f"L{level}"
        s = by_level.get(level)
        n_part = part_reads.get(TABLE_PURPOSE[level], 0)
        note = _partition_note(n_part, t.lpid)
        if real_mode:
            rows.append(WalkRow(key, title, "unused"))
            continue
        if leaf_level is not None and level > leaf_level:
            size = page_size_text(1 << {1: 30, 2: 21}.get(leaf_level, 12))
            rows.append(WalkRow(key, title, "unused", meaning=f"not needed: {size} page"))
            continue
        if purpose.matches(PurposeKind.TABLE, level):
            rows.append(
                WalkRow(
                    key,
                    title,
                    "fault",
                    meaning="the entry's guest real address does not translate",
                    note=fault.reason,
                )
            )
            stopped = True
            continue
        if s is None:
            if stage == "process" and fault.level == level and not stopped:
                # the POWER9 shape check failed before this level's entry was read
                rows.append(WalkRow(key, title, "fault", meaning=fault.reason))
                stopped = True
            else:
                rows.append(WalkRow(key, title, "not reached"))
            continue
        state = "leaf" if level == leaf_level else "read"
        if stage == "process" and fault.level == level:
            state = "fault"
            note = fault.reason if not note else f"{note}; {fault.reason}"
            stopped = True
        rc = [u for u in t.rc_updates if u.tree == "process"]
        if state == "leaf" and rc:
            note = (note + "; " if note else "") + str(rc[0]).split(" in ")[0] + " written back"
        rows.append(
            WalkRow(
                key,
                title,
                state,
                f"{s.index:#x}",
                _addr_text(s),
                f"{s.raw:#018x}",
                _entry_meaning(s.raw),
                note,
            )
        )
    rows.append(_result_row(t, part_reads))
    return rows


def _result_row(t: Translation, part_reads: Counter) -> WalkRow:
    reads = f"{t.memory_reads} memory read{'s' if t.memory_reads != 1 else ''}"
    if t.fault is not None:
        f = t.fault
        regs = []
        for name in ("dsisr", "hdsisr", "srr1", "hsrr1", "dar", "hdar", "asdr"):
            v = getattr(f, name)
            if v is None or name in ("srr1", "hsrr1") and f.interrupt not in ("ISI", "HISI"):
                continue
            regs.append(f"{name.upper()}={v:#x}")
        flags = " | ".join(f.flags) or "segment interrupt, no cause bits"
        note = f"{' '.join(regs)}; {reads}"
        if f.stage == "segment":
            note = f"{f.reason}; {note}"
        return WalkRow(
            "result",
            "result",
            "fault",
            meaning=f"{f.interrupt} (vector {f.vector:#x}): {flags}",
            note=note,
        )
    size = page_size_text(t.page_size or 0)
    if t.mode == "hv-real":
        meaning = f"RA {t.ra:#x}: EA & 0x0FFF_FFFF_FFFF_FFFF, HRMOR ORed in if EA bit 0 = 0"
        return WalkRow("result", "result", "ok", meaning=meaning, note=reads)
    note = reads
    data_reads = part_reads.get(DATA, 0)
    if data_reads:
        note = f"data gRA {t.gra:#x} → partition tree ({data_reads} reads); {reads}"
    return WalkRow("result", "result", "ok", meaning=f"RA {t.ra:#x} ({size} page)", note=note)


def walk_text(t: Translation, upto: int | None = None) -> str:
    """The rows as plain text (the figure without the picture)."""
    rows = walk_rows(t)
    shown = rows if upto is None else rows[:upto]
    lines = [_title(t)] + [str(r) for r in shown]
    if upto is not None and upto < len(rows):
        lines.append(f"... {len(rows) - upto} more step(s)")
    return "\n".join(lines)


def _title(t: Translation) -> str:
    who = {"hv": "hypervisor", "guest": "guest", "hv-real": "hypervisor real mode"}.get(
        t.mode, t.mode
    )
    ids = []
    if t.lpid is not None:
        ids.append(f"LPID {t.lpid}")
    if t.pid is not None:
        ids.append(f"PID {t.pid}")
    return f"{t.access} EA {t.ea:#018x} — {who}, quadrant {t.quadrant}" + (
        f", {', '.join(ids)}" if ids else ""
    )


# ----------------------------------------------------------------------- drawing
_ROW_H = 0.78
_EA_H = 1.55
_TITLE_H = 0.55
_HEADER_H = 0.35
_COLS = (0.15, 2.05, 3.0, 5.55, 7.8)  # title, index, address, raw, meaning (inches)


def _field_colour(key: str) -> str:
    if key.startswith("L"):
        return S.LEVEL_COLOURS[int(key[1])]
    return S.FIELD_COLOURS[key]


def _draw_ea_bar(
    ax, fields: list[EaField], top: float, width: float, bad: set[str], focus: str | None
) -> None:
    weights = {"quadrant": 1.0, "zero": 1.45, "offset": 2.0}
    total = sum(weights.get(f.key, 1.6) for f in fields)
    x = 0.15
    usable = width - 0.3
    h = _EA_H - 0.15
    y = top - h
    for f in fields:
        w = usable * weights.get(f.key, 1.6) / total
        colour = S.FAULT if f.key in bad else _field_colour(f.key)
        lw = 3.5 if f.key == focus else 1.2
        S.box(
            ax, x, y, w, h, S.tint(colour, 0.55 if f.key not in bad else 0.8), lw=lw, rounded=False
        )
        cx = x + w / 2
        S.label(ax, cx, y + h * 0.83, f.name, S.TEXT_SIZE, bold=True)
        S.label(ax, cx, y + h * 0.56, f"{f.value:#x}", S.LABEL_SIZE, mono=True, bold=True)
        S.label(ax, cx, y + h * 0.31, f"ISA bits {f.first}:{f.last}", S.SMALL_SIZE)
        S.label(ax, cx, y + h * 0.11, f.python, S.SMALL_SIZE, mono=True)
        x += w


_STATE_STYLE = {
    # state: (face amount, edge colour, text colour, state word)
    "read": (0.35, S.BLACK, S.BLACK, "read"),
    "leaf": (0.6, S.BLACK, S.BLACK, "leaf"),
    "fault": (0.45, S.FAULT, S.BLACK, "FAULT"),
    "ok": (0.55, S.OK, S.BLACK, "done"),
    "unused": (0.0, S.GREY, S.GREY, "not used"),
    "not reached": (0.0, S.GREY, S.GREY, "not reached"),
    "pending": (0.0, S.GREY, S.GREY, "not yet"),
}


def _row_colour(row: WalkRow) -> str:
    if row.state == "fault":
        return S.FAULT
    if row.key.startswith("L"):
        return S.LEVEL_COLOURS[int(row.key[1])]
    if row.key == "result":
        return S.OK
    return S.TABLE_COLOUR


def draw_walk(
    t: Translation, upto: int | None = None, *, fig: Figure | None = None, title: str = ""
) -> Figure:
    """The walk of translation ``t`` as a figure (see the module docstring).

    ``upto`` = k shows the first k rows (0 = only the EA split); None shows all. ``fig``
    is cleared and drawn into instead of making a new figure (explorers keep one).
    """
    rows = walk_rows(t)
    n = len(rows)
    width = S.FIGURE_WIDTH
    height = _TITLE_H + _EA_H + _HEADER_H + _ROW_H * n + 0.2
    if fig is None:
        fig = S.new_figure(width, height)
    else:
        fig.clear()
        fig.set_size_inches(width, height)
    ax = S.canvas_axes(fig, width, height)
    top = height - 0.1
    S.label(ax, 0.15, top - 0.22, title or _title(t), S.TITLE_SIZE, bold=True, ha="left")
    top -= _TITLE_H

    shift, l3_bits = _leaf_shape(t)
    fields = ea_fields(t.ea, shift, l3_bits)
    bad: set[str] = set()
    if t.fault is not None and t.fault.stage == "segment":
        bad.add("zero" if t.ea & C.EA_SEGMENT_CHECK else "quadrant")
    shown = n if upto is None else max(0, min(upto, n))
    focus = rows[shown - 1].key if 0 < shown <= n and upto is not None else None
    _draw_ea_bar(ax, fields, top, width, bad, focus)
    top -= _EA_H

    headers = ("table", "index", "entry address", "entry (raw)", "what it says")
    for x, h in zip(_COLS, headers, strict=True):
        S.label(
            ax, x + 0.05, top - _HEADER_H / 2, h, S.SMALL_SIZE, bold=True, ha="left", colour=S.GREY
        )
    top -= _HEADER_H

    for i, row in enumerate(rows):
        if i >= shown:
            row = WalkRow(row.key, row.title, "pending")
        y = top - _ROW_H * (i + 1)
        amount, edge, text_colour, word = _STATE_STYLE[row.state]
        face = S.tint(_row_colour(row), amount) if amount else S.WHITE
        dashed_edge = row.state in ("unused", "not reached", "pending")
        current = upto is not None and i == shown - 1
        S.box(
            ax,
            0.1,
            y + 0.05,
            width - 0.2,
            _ROW_H - 0.1,
            face,
            edge=edge,
            lw=3.0 if row.state == "fault" or current else 1.0,
            dashed=dashed_edge,
        )
        cy = y + _ROW_H / 2
        S.label(
            ax,
            _COLS[0] + 0.1,
            cy + 0.13,
            row.title,
            S.LABEL_SIZE,
            bold=True,
            ha="left",
            colour=text_colour,
        )
        S.label(
            ax,
            _COLS[0] + 0.1,
            cy - 0.2,
            word,
            S.SMALL_SIZE,
            ha="left",
            colour=text_colour,
            bold=row.state == "fault",
        )
        if row.state == "pending":
            continue
        for x, val in ((_COLS[1], row.index), (_COLS[2], row.address), (_COLS[3], row.raw)):
            if val:
                S.label(ax, x + 0.05, cy, val, S.TEXT_SIZE, mono=True, ha="left")
        mx = _COLS[4] + 0.05 if (row.index or row.raw) else _COLS[1] + 0.05
        if row.note:
            S.label(ax, mx, cy + 0.14, row.meaning, S.TEXT_SIZE, ha="left", colour=text_colour)
            S.label(
                ax,
                mx,
                cy - 0.19,
                _clip(row.note, 92 if mx < 3 else 64),
                S.SMALL_SIZE,
                ha="left",
                colour=S.BLACK if row.state == "fault" else "#444444",
            )
        else:
            S.label(ax, mx, cy, row.meaning, S.TEXT_SIZE, ha="left", colour=text_colour)
    return fig


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def draw_ea_split(ea: int, page_size: int = C.PAGE_4K, *, title: str = "") -> Figure:
    """Only the EA bar: how ``ea`` is cut into quadrant, indices and offset for a page of
    ``page_size`` bytes (4K, 64K, 2M or 1G)."""
    shift = {C.PAGE_4K: 12, C.PAGE_64K: 16, C.PAGE_2M: 21, C.PAGE_1G: 30}.get(page_size)
    if shift is None:
        from ..errors import FieldError

        raise FieldError(f"page_size {page_size:#x} is not 4K, 64K, 2M or 1G")
    width = S.FIGURE_WIDTH
    height = _TITLE_H + _EA_H + 0.1
    fig = S.new_figure(width, height)
    ax = S.canvas_axes(fig, width, height)
    text = title or f"EA {ea:#018x} with a {page_size_text(page_size)} page"
    S.label(ax, 0.15, height - 0.32, text, S.TITLE_SIZE, bold=True, ha="left")
    _draw_ea_bar(ax, ea_fields(ea, shift), height - _TITLE_H, width, set(), None)
    return fig
