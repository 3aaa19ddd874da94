"""Figures of registers, table entries and the partition table.

* :func:`draw_register` -- any 64-bit value as two rows of 32 bits, each bit numbered the
  ISA way (MSB-0: bit 0 is the most significant), coloured by field, with one line per
  field giving its ISA bits, its Python mask and what it means. :func:`draw_ptcr`,
  :func:`draw_entry` (PDE/PTE) and :func:`draw_pate` use it.
* :func:`draw_partition_table` -- a partition table as rows, one per LPID, from a
  :class:`PartitionTableView` (see :func:`read_partition_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from ..memory import PhysicalMemory
from ..mmu import constants as C
from ..mmu.formats import PartitionTableEntry, Pde, Ptcr, Pte, page_size_text
from . import style as S


# ----------------------------------------------------------------------- bit layouts
@dataclass(frozen=True, slots=True)
class BitField:
    """ISA bits ``first:last`` (MSB-0) of a 64-bit word; ``kind`` picks the colour."""

    name: str
    first: int
    last: int
    kind: str = "flag"

    @property
    def mask(self) -> int:
        return ((1 << (self.last - self.first + 1)) - 1) << (63 - self.last)

    def value(self, word: int) -> int:
        return (word & self.mask) >> (63 - self.last)

    @property
    def bits(self) -> str:
        return f"{self.first}" if self.first == self.last else f"{self.first}:{self.last}"


def _rsv(first: int, last: int) -> BitField:
    return BitField("rsv", first, last, "reserved")


PTCR_FIELDS = (
    _rsv(0, 3),
    BitField("PATB", 4, 51, "base"),
    _rsv(52, 58),
    BitField("PATS", 59, 63, "size"),
)
PDE_FIELDS = (
    BitField("V", 0, 0),
    BitField("L", 1, 1),
    _rsv(2, 3),
    BitField("NLB", 4, 55, "base"),
    _rsv(56, 58),
    BitField("NLS", 59, 63, "size"),
)
PTE_FIELDS = (
    BitField("V", 0, 0),
    BitField("L", 1, 1),
    BitField("SW0", 2, 2, "sw"),
    _rsv(3, 6),
    BitField("RPN", 7, 51, "base"),
    BitField("SW", 52, 54, "sw"),
    BitField("R", 55, 55, "rc"),
    BitField("C", 56, 56, "rc"),
    _rsv(57, 57),
    BitField("ATT", 58, 59, "att"),
    BitField("p", 60, 60, "perm"),
    BitField("r", 61, 61, "perm"),
    BitField("w", 62, 62, "perm"),
    BitField("x", 63, 63, "perm"),
)
PATE0_FIELDS = (
    BitField("HR", 0, 0),
    BitField("RTS1", 1, 2, "rts"),
    _rsv(3, 3),
    BitField("RPDB", 4, 55, "base"),
    BitField("RTS2", 56, 58, "rts"),
    BitField("RPDS", 59, 63, "size"),
)
PATE1_FIELDS = (
    BitField("GR", 0, 0, "sw"),
    _rsv(1, 3),
    BitField("PRTB", 4, 51, "base"),
    _rsv(52, 58),
    BitField("PRTS", 59, 63, "size"),
)


@dataclass(frozen=True, slots=True)
class Word:
    """One 64-bit value to draw: its bits, its fields and a caption."""

    value: int
    fields: tuple[BitField, ...]
    caption: str = ""


_CELL_ROWS = 2  # 64 bits drawn as 2 rows of 32
_BITS_PER_ROW = 32
_NUM_H, _CELL_H, _NAME_H, _CAPTION_H, _NOTE_H = 0.3, 0.5, 0.36, 0.4, 0.34
_NAME_DROP = 0.28  # how far a field name on the second name line sits below the first


def _name_lines(word: Word, first_bit: int) -> dict[BitField, int]:
    """The line (0 or 1) of each field name in the row of bits from ``first_bit``: the
    name of a one-bit field right after a one- or two-bit field named on line 0 drops to
    line 1, so neighbouring names (MER GTSE, LPES HVICE) never collide."""
    lines: dict[BitField, int] = {}
    prev: tuple[int, int] | None = None  # (last bit, line) of a narrow field just before
    for f in word.fields:
        lo, hi = max(f.first, first_bit), min(f.last, first_bit + _BITS_PER_ROW - 1)
        if lo > hi:
            continue
        line = 1 if lo == hi and prev == (lo - 1, 0) else 0
        prev = (hi, line) if hi - lo < 2 else None  # a one- or two-bit field's name is wider
        lines[f] = line
    return lines


def _row_height(word: Word, first_bit: int) -> float:
    dropped = any(_name_lines(word, first_bit).values())
    return _NUM_H + _CELL_H + _NAME_H + (_NAME_DROP if dropped else 0.0)


def _word_height(word: Word) -> float:
    rows = sum(_row_height(word, r * _BITS_PER_ROW) for r in range(_CELL_ROWS))
    return (_CAPTION_H if word.caption else 0) + rows


def draw_register(
    words: Word | Sequence[Word],
    title: str = "",
    notes: Sequence[str] = (),
    *,
    problems: Sequence[str] = (),
    highlight: Sequence[str] = (),
    fig: Figure | None = None,
) -> Figure:
    """Draw one or more 64-bit words bit by bit, with ``notes`` (one line each) below.

    ``problems`` are drawn in vermillion under the notes; fields named in ``highlight``
    get a thick frame. ``fig``: a figure drawn here before, redrawn in place.
    """
    if isinstance(words, Word):
        words = [words]
    width = S.FIGURE_WIDTH
    height = 0.7 + sum(_word_height(w) for w in words) + _NOTE_H * (len(notes) + len(problems))
    height += 0.2
    fig, ax = S.reuse_canvas(fig, width, height)
    top = height - 0.1
    if title:
        S.label(ax, 0.2, top - 0.28, title, S.TITLE_SIZE, bold=True, ha="left")
    top -= 0.7
    for word in words:
        top = _draw_word(ax, word, top, width, set(highlight))
    for line in notes:
        S.label(ax, 0.25, top - _NOTE_H / 2, line, S.TEXT_SIZE, mono=True, ha="left")
        top -= _NOTE_H
    for line in problems:
        S.label(
            ax,
            0.25,
            top - _NOTE_H / 2,
            "✘ " + line,
            S.TEXT_SIZE,
            ha="left",
            colour=S.FAULT,
            bold=True,
        )
        top -= _NOTE_H
    return fig


def _draw_word(ax, word: Word, top: float, width: float, highlight: set[str]) -> float:
    if word.caption:
        S.label(ax, 0.2, top - _CAPTION_H / 2, word.caption, S.LABEL_SIZE, ha="left", bold=True)
        top -= _CAPTION_H
    left = 0.3
    cell_w = (width - 2 * left) / _BITS_PER_ROW
    field_of = {}
    for f in word.fields:
        for b in range(f.first, f.last + 1):
            field_of[b] = f
    for row in range(_CELL_ROWS):
        first_bit = row * _BITS_PER_ROW
        y_cells = top - _NUM_H - _CELL_H
        for i in range(_BITS_PER_ROW):
            b = first_bit + i
            f = field_of.get(b)
            kind = f.kind if f else "reserved"
            bit = (word.value >> (63 - b)) & 1
            colour = S.FIELD_COLOURS[kind]
            face = S.tint(colour, 0.7 if bit else 0.25)
            x = left + i * cell_w
            S.box(ax, x, y_cells, cell_w, _CELL_H, face, edge=S.GREY, lw=0.6, rounded=False)
            S.label(
                ax,
                x + cell_w / 2,
                y_cells + _CELL_H / 2,
                str(bit),
                S.LABEL_SIZE,
                mono=True,
                bold=bool(bit),
            )
        # field frames, ISA bit numbers at field edges, names below (on two lines where
        # one-bit fields sit side by side: _name_lines)
        name_line = _name_lines(word, first_bit)
        for f in word.fields:
            lo, hi = max(f.first, first_bit), min(f.last, first_bit + _BITS_PER_ROW - 1)
            if lo > hi:
                continue
            x0 = left + (lo - first_bit) * cell_w
            x1 = left + (hi - first_bit + 1) * cell_w
            S.box(
                ax,
                x0,
                y_cells,
                x1 - x0,
                _CELL_H,
                "none",
                lw=3.0 if f.name in highlight else 1.6,
                rounded=False,
            )
            S.label(
                ax,
                x0 + cell_w / 2,
                y_cells + _CELL_H + _NUM_H / 2,
                str(lo),
                S.SMALL_SIZE,
                colour="#444444",
            )
            if hi != lo:
                S.label(
                    ax,
                    x1 - cell_w / 2,
                    y_cells + _CELL_H + _NUM_H / 2,
                    str(hi),
                    S.SMALL_SIZE,
                    colour="#444444",
                )
            span = hi - lo + 1
            S.label(
                ax,
                (x0 + x1) / 2,
                y_cells - _NAME_H / 2 - name_line[f] * _NAME_DROP,
                f.name,
                S.TEXT_SIZE if span > 1 else S.SMALL_SIZE,
                bold=f.kind != "reserved",
                colour=S.GREY if f.kind == "reserved" else S.BLACK,
            )
        top -= _row_height(word, first_bit)
    return top


def hex64(v: int) -> str:
    """``v`` as 16 hex digits in groups of four: 0x0fff_ffff_ffff_f000."""
    digits = f"{v:016x}"
    return "0x" + "_".join(digits[i : i + 4] for i in range(0, 16, 4))


def _note(f: BitField, value: int, meaning: str) -> str:
    shown = f"{value:#x}" if f.kind == "base" else f"{value}"
    return f"{f.name:<5} bits {f.bits:<6} mask {hex64(f.mask)} = {shown}  {meaning}"


def ptcr_notes(value: int) -> tuple[list[str], list[str]]:
    """(notes, problems) describing a PTCR value field by field."""
    p = Ptcr.decode(value)
    patb_f, pats_f = PTCR_FIELDS[1], PTCR_FIELDS[3]
    notes = [
        _note(patb_f, p.patb, "→ partition table base (host real)"),
        _note(
            pats_f,
            p.pats,
            f"→ 2^({p.pats}+12) = {_size(p.table_bytes)}, LPIDs 0..{p.num_lpids - 1}",
        ),
        "PATE[LPID] is read at PATB + 16 * LPID (dw0), + 8 (dw1)",
    ]
    problems = []
    if not p.aligned:
        problems.append(
            f"PATB {p.patb:#x} is not aligned to the {_size(p.table_bytes)} table: every "
            "translation takes an HDSI/HISI with R_BADCONFIG"
        )
    if p.reserved:
        problems.append(f"reserved bits set ({p.reserved:#x}): translation ignores them")
    return notes, problems


def _size(n: int) -> str:
    """4 KiB, 64 KiB, 2 MiB... (page_size_text spells the page sizes 4K, 2M)."""
    text = page_size_text(n)
    units = {"K": " KiB", "M": " MiB", "G": " GiB"}
    return text[:-1] + units[text[-1]] if text[-1] in units else text


def draw_ptcr(value: int, *, title: str = "", fig: Figure | None = None) -> Figure:
    """The PTCR (SPR 464) bit by bit: PATB (bits 4:51) and PATS (bits 59:63)."""
    notes, problems = ptcr_notes(value)
    return draw_register(
        Word(value, PTCR_FIELDS),
        title or f"PTCR = {value:#018x}",
        notes,
        problems=problems,
        highlight=("PATB", "PATS"),
        fig=fig,
    )


def draw_entry(raw: int, *, title: str = "") -> Figure:
    """A radix table entry bit by bit: a PTE when L (bit 1) is 1, else a PDE."""
    if raw & C.PTE_L:
        p = Pte.decode(raw)
        fields = PTE_FIELDS
        notes = [
            _note(fields[0], int(p.valid), "valid" if p.valid else "INVALID: walk faults NOPTE"),
            _note(fields[1], 1, "leaf: this entry maps a page"),
            _note(fields[4], p.rpn, "real page number (the page's real address)"),
            _note(fields[6], int(p.r), "Reference: set by the MMU on any access"),
            _note(fields[7], int(p.c), "Change: set by the MMU on a store"),
            f"EAA   bits 60:63  mask {hex64(0xF)} = {raw & 0xF:#06b}  {p.eaa_text} "
            "(p privileged, r read, w read/write, x execute)",
        ]
        kind = "PTE (leaf)"
    else:
        d = Pde.decode(raw)
        fields = PDE_FIELDS
        notes = [
            _note(fields[0], int(d.valid), "valid" if d.valid else "INVALID: walk faults NOPTE"),
            _note(fields[1], 0, "not a leaf: points at the next table"),
            _note(fields[3], d.nlb, "next-level base (real address of the next table)"),
            _note(fields[5], d.nls, f"next table has 2^{d.nls} entries ({_size(8 << d.nls)})"),
        ]
        kind = "PDE (directory)"
    return draw_register(Word(raw, fields), title or f"{kind} {raw:#018x}", notes)


def draw_pate(dw0: int, dw1: int, *, lpid: int | None = None, title: str = "") -> Figure:
    """A partition-table entry: dw0 (the partition-scoped tree), dw1 (the process table)."""
    pate = PartitionTableEntry.decode(dw0, dw1)
    f0, f1 = PATE0_FIELDS, PATE1_FIELDS
    notes = [
        _note(f0[0], int(pate.hr), "Host Radix" if pate.hr else "HPT, not radix"),
        f"RTS   bits 1:2,56:58  RTS1||RTS2 = {pate.tree_bits - 31}  → a "
        f"{pate.tree_bits}-bit tree (RTS + 31)",
        _note(f0[3], pate.rpdb, "root of the partition-scoped tree"),
        _note(f0[5], pate.rpds, f"root has 2^{pate.rpds} entries"),
        _note(f1[2], pate.prtb, "process table (guest real for LPID ≠ 0)"),
        _note(
            f1[4],
            pate.prts,
            f"2^({pate.prts}+12) bytes: PIDs 0..{(pate.process_table_bytes >> 4) - 1}",
        ),
    ]
    which = f"PATE[{lpid}]" if lpid is not None else "PATE"
    return draw_register(
        [Word(dw0, f0, f"{which}.dw0 = {dw0:#018x}"), Word(dw1, f1, f"{which}.dw1 = {dw1:#018x}")],
        title or f"Partition-table entry {which}",
        notes,
    )


# ----------------------------------------------------------------------- partition table
@dataclass(frozen=True, slots=True)
class PateRow:
    """One partition-table entry as read from memory."""

    lpid: int
    addr: int
    dw0: int
    dw1: int

    @property
    def meaning(self) -> str:
        if not self.dw0 and not self.dw1:
            return "empty (HR=0: no partition)"
        pate = PartitionTableEntry.decode(self.dw0, self.dw1)
        if not pate.hr:
            return "HR=0: not a radix partition (HDSI if used)"
        shape = "" if (pate.tree_bits, pate.rpds) == (52, 13) else " — NOT a POWER9 shape"
        return (
            f"radix: tree root {pate.rpdb:#x}{shape}; process table {pate.prtb:#x} "
            f"({pate.process_table_bytes >> 4} PIDs)"
        )


@dataclass(frozen=True)
class PartitionTableView:
    """What a PTCR value makes the MMU see: the table's geometry, the non-empty rows
    (plus the selected LPID's), and whether the selected LPID can be used at all."""

    ptcr: int
    rows: tuple[PateRow, ...]
    selected: int | None = None
    hidden: int = 0
    problems: tuple[str, ...] = field(default=())

    @property
    def decoded(self) -> Ptcr:
        return Ptcr.decode(self.ptcr)

    @property
    def selected_usable(self) -> bool:
        p = self.decoded
        return self.selected is not None and p.aligned and self.selected < p.num_lpids


def read_partition_table(
    mem: PhysicalMemory, ptcr: int, selected: int | None = None, max_rows: int = 8
) -> PartitionTableView:
    """Read the partition table PTCR names, as the MMU's ``ppc64_v3_get_pate`` would.

    Rows: every non-zero entry in the table's range (at most ``max_rows``, the ones
    closest to ``selected`` first) and the selected LPID's entry even if it is zero.
    Memory is only read, never written; addresses beyond memory read as zero.
    """
    p = Ptcr.decode(ptcr)
    problems = []
    if not p.aligned:
        problems.append(
            f"PATB {p.patb:#x} is not aligned to the {_size(p.table_bytes)} table size: "
            "the MMU refuses the table (HDSI, R_BADCONFIG)"
        )
    if selected is not None and selected >= p.num_lpids:
        problems.append(
            f"LPID {selected} is beyond the table (LPIDs 0..{p.num_lpids - 1}): HDSI, R_BADCONFIG"
        )
    end = p.patb + p.table_bytes
    lpids = sorted({(a - p.patb) >> 4 for a, _ in mem.written() if p.patb <= a < end})
    if selected is not None and selected < p.num_lpids and selected not in lpids:
        lpids.append(selected)
    anchor = selected if selected is not None else 0
    lpids.sort(key=lambda n: (abs(n - anchor), n))
    shown = sorted(lpids[:max_rows])
    rows = tuple(
        PateRow(n, p.patb + 16 * n, mem.load64(p.patb + 16 * n), mem.load64(p.patb + 16 * n + 8))
        for n in shown
    )
    return PartitionTableView(ptcr, rows, selected, len(lpids) - len(shown), tuple(problems))


_PT_ROW_H = 0.64  # room for a two-line meaning
_PT_COLS = (0.2, 1.25, 3.15, 5.55, 7.95)


def draw_partition_table(
    view: PartitionTableView, *, title: str = "", fig: Figure | None = None
) -> Figure:
    """The partition table as rows indexed by LPID; the selected row stands out.

    Gaps between non-consecutive LPIDs are drawn as a dotted row; problems (misaligned
    PATB, LPID beyond the table) as vermillion banners. ``fig``: redrawn in place.
    """
    p = view.decoded
    footer = ""
    if view.selected_usable:
        n = view.selected
        footer = f"PATE[{n}] = PATB + 16 × {n} = {p.patb:#x} + {16 * n:#x} = {p.pate_addr(n):#x}"
    items: list[tuple[str, PateRow | int | str]] = []
    prev = None
    for row in view.rows:
        if prev is not None and row.lpid > prev + 1:
            items.append(("gap", row.lpid - prev - 1))
        items.append(("row", row))
        prev = row.lpid
    if view.hidden:
        items.append(("more", view.hidden))
    width = S.FIGURE_WIDTH
    height = 1.35 + _PT_ROW_H * (len(items) + 1) + 0.45 * len(view.problems) + 0.2
    height += 0.5 if footer else 0
    fig, ax = S.reuse_canvas(fig, width, height)
    top = height - 0.1
    S.label(ax, 0.2, top - 0.28, title or "Partition table", S.TITLE_SIZE, bold=True, ha="left")
    S.label(
        ax,
        0.2,
        top - 0.75,
        f"PTCR {view.ptcr:#x}: PATB {p.patb:#x}, PATS {p.pats} → {_size(p.table_bytes)}, "
        f"{p.num_lpids} entries of 16 bytes (LPIDs 0..{p.num_lpids - 1})",
        S.LABEL_SIZE,
        ha="left",
    )
    top -= 1.25
    for problem in view.problems:
        S.box(ax, 0.15, top - 0.42, width - 0.3, 0.38, S.tint(S.FAULT, 0.35), edge=S.FAULT, lw=2.0)
        S.label(ax, 0.3, top - 0.23, "✘ " + problem, S.TEXT_SIZE, ha="left", bold=True)
        top -= 0.45
    headers = ("LPID", "address", "dw0", "dw1", "what the entry says")
    for x, h in zip(_PT_COLS, headers, strict=True):
        S.label(ax, x, top - _PT_ROW_H / 2, h, S.TEXT_SIZE, bold=True, ha="left", colour=S.GREY)
    top -= _PT_ROW_H
    for kind, item in items:
        y = top - _PT_ROW_H
        cy = y + _PT_ROW_H / 2
        if kind == "gap":
            S.label(
                ax,
                _PT_COLS[0],
                cy,
                f"⋮   {item} empty entr{'y' if item == 1 else 'ies'}",
                S.TEXT_SIZE,
                ha="left",
                colour=S.GREY,
            )
        elif kind == "more":
            S.label(
                ax,
                _PT_COLS[0],
                cy,
                f"… {item} more non-empty entries not shown",
                S.TEXT_SIZE,
                ha="left",
                colour=S.GREY,
            )
        else:
            assert isinstance(item, PateRow)
            selected = item.lpid == view.selected
            used = bool(item.dw0 & C.PATE0_HR)
            colour = S.TABLE_COLOUR if used else S.GREY
            face = S.tint(colour, 0.45 if selected else 0.15)
            S.box(
                ax,
                0.1,
                y + 0.03,
                width - 0.2,
                _PT_ROW_H - 0.06,
                face,
                edge=S.BLACK if selected else S.GREY,
                lw=3.0 if selected else 0.8,
            )
            S.label(ax, _PT_COLS[0], cy, f"{item.lpid}", S.LABEL_SIZE, bold=True, ha="left")
            S.label(ax, _PT_COLS[1], cy, f"{item.addr:#x}", S.TEXT_SIZE, mono=True, ha="left")
            S.label(ax, _PT_COLS[2], cy, f"{item.dw0:#018x}", S.TEXT_SIZE, mono=True, ha="left")
            S.label(ax, _PT_COLS[3], cy, f"{item.dw1:#018x}", S.TEXT_SIZE, mono=True, ha="left")
            meaning = _clip(item.meaning, 110)
            head, sep, rest = meaning.partition("; ")  # a long meaning: a line per clause
            lines = [head + sep.strip(), rest] if sep else S.wrap_words(meaning, 54)
            meaning = "\n".join(line for line in lines[:2] if line)
            S.label(ax, _PT_COLS[4], cy, meaning, S.SMALL_SIZE, ha="left")
        top -= _PT_ROW_H
    if footer:
        S.label(ax, 0.2, top - 0.3, footer, S.LABEL_SIZE, mono=True, ha="left")
    return fig


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
