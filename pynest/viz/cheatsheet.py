"""The field cheat sheet: every register and entry format of the suite on one page.

:func:`cheatsheet_rows` reads each layout *from the model itself*: for every ISA bit of a
word it flips that one bit, decodes the word with the record the walk uses
(:class:`~pynest.mmu.formats.Ptcr`, :class:`~pynest.mmu.formats.PateDw0`,
:class:`~pynest.mmu.formats.PateDw1`, :class:`~pynest.mmu.formats.ProcessTableEntry`,
:class:`~pynest.mmu.formats.Pde`, :class:`~pynest.mmu.formats.Pte`,
:class:`~pynest.mmu.formats.TlbieRb`, :class:`~pynest.mmu.formats.TlbieRs`,
:class:`~pynest.mmu.formats.TlbieInsn`) and notes which field changed. Runs of bits that
change the same field are one field of the sheet. The DSISR row names each cause bit the
way :class:`~pynest.mmu.formats.Dsisr` does (``mmu.constants.DSISR_NAMES``) and adds the
kernel's name for the same bit (the ``DSISR_*`` values of ``pynest.kvm.constants``,
Linux ``asm/reg.h``). So the sheet cannot disagree with the model: change a mask in
``mmu/constants.py`` and the sheet moves with it (``tests/viz/test_cheatsheet.py``
checks every field against the constants as well).

Bits are numbered the ISA way (MSB-0: bit 0 is the most significant), as every pynest
figure does. :func:`draw_cheatsheet` draws the rows as one figure, a doubleword as two
bars of 32 bits so that every bit box is wide enough for the suite's text size
(``style.SMALL_SIZE``); a field's name sits inside its box, turned upright in a one-bit
box too narrow for it, and smaller only if it fits no other way (never below 8 pt).
:func:`cheatsheet_text` is the same sheet as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache

from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

from ..errors import FieldError
from ..kvm import constants as K
from ..mmu import constants as C
from ..mmu.formats import (
    Dsisr,
    PateDw0,
    PateDw1,
    Pde,
    ProcessTableEntry,
    Ptcr,
    Pte,
    TlbieInsn,
    TlbieRb,
    TlbieRs,
)
from . import style as S

RESERVED = "rsv"
MIN_FONT = 8.0
"""No text on the sheet is smaller than this (points)."""


@dataclass(frozen=True, slots=True)
class SheetField:
    """ISA bits ``first:last`` (MSB-0) of a ``width``-bit word, named ``name``.

    ``text`` is what the box shows (the name, or for a DSISR bit its bit number);
    ``kind`` picks the colour (``style.FIELD_COLOURS``).
    """

    name: str
    first: int
    last: int
    kind: str
    text: str

    @property
    def bits(self) -> str:
        return f"{self.first}" if self.first == self.last else f"{self.first}:{self.last}"

    def mask(self, width: int = 64) -> int:
        """The field as a Python mask of a ``width``-bit word."""
        return ((1 << (self.last - self.first + 1)) - 1) << (width - 1 - self.last)


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One word of the sheet: a title, its width in bits, its fields (reserved runs
    included, so the fields tile bits 0..width-1), and a note line."""

    key: str
    title: str
    subtitle: str
    width: int
    fields: tuple[SheetField, ...]
    note: str = ""
    first_bit: int = 0  # the ISA number of the row's first bit (32 for DSISR)

    def field(self, name: str) -> SheetField:
        """The field called ``name``; a FieldError names the fields there are."""
        for f in self.fields:
            if f.name == name:
                return f
        names = ", ".join(f.name for f in self.fields if f.name != RESERVED)
        raise FieldError(f"{self.title} has no field {name!r}; it has {names}")


# ------------------------------------------------------------------ reading the model
# decoder field name -> the ISA's name for the bits that change it
_ISA_NAME = {
    "patb": "PATB",
    "pats": "PATS",
    "hr": "HR",
    "tree_bits": "RTS",
    "rpdb": "RPDB",
    "rpds": "RPDS",
    "prtb": "PRTB",
    "prts": "PRTS",
    "valid": "V",
    "nlb": "NLB",
    "nls": "NLS",
    "rpn": "RPN",
    "r": "R",
    "c": "C",
    "priv": "EAA",
    "read": "EAA",
    "rw": "EAA",
    "exec": "EAA",
    "att": "ATT",
    "sw0": "SW0",
    "sw": "SW",
    "epn": "EPN",
    "is_": "IS",
    "ap": "AP",
    "pid": "PID",
    "lpid": "LPID",
    "rs": "RS",
    "rb": "RB",
    "ric": "RIC",
    "prs": "PRS",
    "local": "XO",
}
_KIND = {
    "PATB": "base",
    "RPDB": "base",
    "PRTB": "base",
    "NLB": "base",
    "RPN": "base",
    "EPN": "base",
    "PATS": "size",
    "RPDS": "size",
    "PRTS": "size",
    "NLS": "size",
    "AP": "size",
    "RTS1": "rts",
    "RTS2": "rts",
    "R": "rc",
    "C": "rc",
    "EAA": "perm",
    "ATT": "att",
    "SW0": "sw",
    "SW": "sw",
    "PO": "sw",
    "XO": "sw",
    "PID": "base",
    "LPID": "size",
    "RS": "base",
    "RB": "size",
    RESERVED: "reserved",
}


def _probe(
    decode: Callable[[int], object],
    baseline: int,
    width: int,
    fixed: Callable[[int], str],
) -> tuple[SheetField, ...]:
    """Flip each bit of ``baseline`` and name the decoder field it changes; a bit whose
    flip the decoder refuses (FieldError) is a fixed bit named by ``fixed(bit)``."""
    base = decode(baseline)
    names = [f.name for f in fields(base)]  # type: ignore[arg-type]
    labels = []
    for b in range(width):
        try:
            rec = decode(baseline ^ (1 << (width - 1 - b)))
        except FieldError:
            labels.append(fixed(b))
            continue
        changed = [n for n in names if n != "reserved" and getattr(rec, n) != getattr(base, n)]
        labels.append(_ISA_NAME[changed[0]] if changed else RESERVED)
    return _runs(labels)


def _runs(labels: list[str]) -> tuple[SheetField, ...]:
    """Consecutive equal labels as fields; a name with several runs is numbered
    (RTS -> RTS1, RTS2), as the ISA names the two halves of the tree size."""
    runs: list[list] = []
    for b, name in enumerate(labels):
        if runs and runs[-1][0] == name:
            runs[-1][2] = b
        else:
            runs.append([name, b, b])
    count: dict[str, int] = {}
    for name, _, _ in runs:
        count[name] = count.get(name, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for name, first, last in runs:
        if count[name] > 1 and name != RESERVED:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name}{seen[name]}"
        out.append(SheetField(name, first, last, _KIND.get(name, "flag"), name))
    return tuple(out)


def _refused(name: str) -> Callable[[int], str]:
    return lambda _bit: name


def _insn_fixed(bit: int) -> str:
    # the only bits TlbieInsn.decode refuses to flip are the primary opcode (31, from
    # bit 0) and the extended opcode (XO 306/274, after the operands)
    return "PO" if bit < _first_operand_bit() else "XO"


@lru_cache(maxsize=1)
def _first_operand_bit() -> int:
    base = TlbieInsn(rs=0, rb=0, ric=0, prs=0, r=0).encode()
    for b in range(32):
        try:
            TlbieInsn.decode(base ^ (1 << (31 - b)))
        except FieldError:
            continue
        return b
    raise FieldError("TlbieInsn.decode accepts no single-bit change")  # pragma: no cover


def _dsisr_row() -> SheetRow:
    """Bits 32:63 of the DSISR SPR: every cause bit the MMU model names, with the
    kernel's name for the same bit where ``pynest.kvm.constants`` has one."""
    linux: dict[int, list[str]] = {}
    for name in sorted(vars(K)):
        v = getattr(K, name)
        if name.startswith("DSISR_") and isinstance(v, int) and v > 0 and v & (v - 1) == 0:
            linux.setdefault(v, []).append(name)
    labels = []
    named = []
    for b in range(32, 64):
        mask = 1 << (63 - b)
        isa = [f for f in Dsisr.decode(mask).flags if not f.startswith("bit")]
        kernel = [n for n in linux.get(mask, []) if n.removeprefix("DSISR_") not in isa]
        if not isa and not kernel:
            labels.append(RESERVED)
            continue
        labels.append(isa[0] if isa else kernel[0].removeprefix("DSISR_"))
        if isa:
            named.append((b, " / ".join(isa) + "".join(f" = {n}" for n in kernel)))
        else:
            named.append((b, " / ".join(kernel) + " (kernel)"))
    out = []
    for f in _runs(labels):
        first, last = f.first + 32, f.last + 32
        if f.name == RESERVED:
            out.append(SheetField(RESERVED, first, last, "reserved", ""))
        else:
            kind = "flag" if f.name in C.DSISR_NAMES.values() else "sw"
            out.append(SheetField(f.name, first, last, kind, str(first)))
    note = ";   ".join(f"{b} {n}" for b, n in named)
    return SheetRow(
        "dsisr",
        "DSISR cause bits",
        "(H)DSISR / SRR1, bits 32:63",
        32,
        tuple(out),
        note,
        first_bit=32,
    )


@lru_cache(maxsize=1)
def cheatsheet_rows() -> tuple[SheetRow, ...]:
    """Every row of the sheet, each layout read from the model's decoders."""
    pte_base = C.PTE_L
    insn_base = TlbieInsn(rs=0, rb=0, ric=0, prs=0, r=0).encode()
    return (
        SheetRow(
            "ptcr",
            "PTCR",
            "SPR 464: the partition table",
            64,
            _probe(Ptcr.decode, 0, 64, _refused("?")),
            "partition table at PATB, 2^(PATS+12) bytes; PATE[LPID] = PATB + 16*LPID",
        ),
        SheetRow(
            "pate0",
            "PATE dw0",
            "partition-scoped tree",
            64,
            _probe(PateDw0.decode, 0, 64, _refused("?")),
            "HR=1 radix; tree of RTS+31 bits; root at RPDB with 2^RPDS entries",
        ),
        SheetRow(
            "pate1",
            "PATE dw1",
            "the partition's process table",
            64,
            _probe(PateDw1.decode, 0, 64, _refused("?")),
            "process table at PRTB (guest real), 2^(PRTS+12) bytes; PRTE[PID] = PRTB + 16*PID",
        ),
        SheetRow(
            "prte",
            "PRTE dw0",
            "process-scoped tree",
            64,
            _probe(ProcessTableEntry.decode, 0, 64, _refused("?")),
            "no valid bit: an all-zero PRTE fails the POWER9 shape check; dw1 unused",
        ),
        SheetRow(
            "pde",
            "PDE",
            "directory entry (L=0)",
            64,
            _probe(Pde.decode, 0, 64, _refused("L")),
            "next table at NLB with 2^NLS entries",
        ),
        SheetRow(
            "pte",
            "PTE",
            "leaf entry (L=1)",
            64,
            _probe(Pte.decode, pte_base, 64, _refused("L")),
            "EAA 60:63 = privileged, read, read/write, execute; R referenced, C changed",
        ),
        _dsisr_row(),
        SheetRow(
            "rb",
            "tlbie RB",
            "what to invalidate (R=1)",
            64,
            _probe(TlbieRb.decode, 0, 64, _refused("?")),
            "IS 0 one page (EPN, AP = page size), 1 one PID, 2 one LPID, 3 all",
        ),
        SheetRow(
            "rs",
            "tlbie RS",
            "whose translations",
            64,
            _probe(TlbieRs.decode, 0, 64, _refused("?")),
            "",
        ),
        SheetRow(
            "insn",
            "tlbie word",
            "32-bit instruction (X-form)",
            32,
            _probe(TlbieInsn.decode, insn_base, 32, _insn_fixed),
            "RIC 0 TLB, 1 page-walk cache, 2 both + table caches; PRS 1 process-scoped; R 1 radix",
        ),
    )


def cheatsheet_text() -> str:
    """The sheet as text: one line per field, ``row  field  bits``."""
    lines = []
    for row in cheatsheet_rows():
        named = [f for f in row.fields if f.name != RESERVED]
        parts = [f"{f.name} {f.bits}" for f in named]
        lines.append(f"{row.title:12} " + ", ".join(parts))
        if row.note:
            lines.append(f"{'':12} {row.note}")
    return "\n".join(lines)


# ------------------------------------------------------------------------- drawing
_W = S.FIGURE_WIDTH
_LEFT = 0.25  # row titles start here
_BAR_X0, _BAR_X1 = 2.6, _W - 0.25
_HALF = 32  # a doubleword is drawn as two bars of 32 bits, so every bit box is wide enough
_TITLE_H = 0.8
_BAR_H, _BITS_H, _NOTE_H, _GAP, _HALF_GAP = 0.56, 0.3, 0.3, 0.22, 0.08
_NAME_SIZES = tuple(sorted({S.TEXT_SIZE, S.SMALL_SIZE, 11.0, 10.0, 9.0, MIN_FONT}, reverse=True))
_BITS_SIZE = S.SMALL_SIZE
_NOTE_SIZE = S.SMALL_SIZE
_PT = 72.0  # points per inch
_BIT_W = (_BAR_X1 - _BAR_X0) / _HALF


@lru_cache(maxsize=512)
def _text_size_pt(text: str, size: float, bold: bool, mono: bool) -> tuple[float, float]:
    """Width and height of ``text`` at ``size`` points, from the font's outlines."""
    prop = FontProperties(family=S.MONO if mono else S.FONT, weight="bold" if bold else "normal")
    ext = TextPath((0, 0), text, size=size, prop=prop).get_extents()
    return ext.width, ext.height


def _fit(
    text: str, width_in: float, height_in: float, bold: bool = False, mono: bool = False
) -> tuple[float, int]:
    """(font size, rotation) for ``text`` in a box: the suite's text size across, else
    upright (90 degrees); only then smaller sizes, across or upright; MIN_FONT at worst."""
    pad = 4.0
    big = [z for z in _NAME_SIZES if z >= S.SMALL_SIZE]
    small = [z for z in _NAME_SIZES if z < S.SMALL_SIZE]
    for sizes in (big, small):
        for size in sizes:
            w, h = _text_size_pt(text, size, bold, mono)
            if w + pad <= width_in * _PT and h + pad <= height_in * _PT:
                return size, 0
        for size in sizes:
            w, h = _text_size_pt(text, size, bold, mono)
            if w + pad <= height_in * _PT and h + pad <= width_in * _PT:
                return size, 90
    return MIN_FONT, 90


@dataclass(frozen=True, slots=True)
class _Part:
    """The piece of a field that falls in one 32-bit bar (``part`` 0 or 1 of a field
    that crosses bit 31/32); the bit range is drawn under the field's first piece."""

    field: SheetField
    lo: int
    hi: int
    part: int

    @property
    def gid(self) -> str:
        return f"{self.field.name}:{self.field.first}:{self.part}"


def _halves(row: SheetRow) -> list[list[_Part]]:
    """The row's bars: two for a doubleword (bits 0:31, 32:63), one for a 32-bit word."""
    out = []
    for start in range(row.first_bit, row.first_bit + row.width, _HALF):
        end = start + _HALF - 1
        parts = []
        for f in row.fields:
            lo, hi = max(f.first, start), min(f.last, end)
            if lo <= hi:
                parts.append(_Part(f, lo, hi, 0 if lo == f.first else 1))
        out.append(parts)
    return out


def _bits_lines(parts: list[_Part]) -> list[int]:
    """Which line (0 or 1) under the bar each piece's bit range goes on: inside its own
    box on line 0 where it fits; ranges wider than their box alternate between the lines,
    so neighbours never overlap. Continuation pieces carry no range (line 0)."""
    out, spill = [], 0
    for p in parts:
        w, _ = _text_size_pt(p.field.bits, _BITS_SIZE, False, True)
        if p.part or w + 5.0 <= (p.hi - p.lo + 1) * _BIT_W * _PT:
            out.append(0)
        else:
            out.append(spill)
            spill ^= 1
    return out


def _half_height(parts: list[_Part]) -> float:
    return _BAR_H + _BITS_H * (2 if 1 in _bits_lines(parts) else 1) + _HALF_GAP


def _row_height(row: SheetRow) -> float:
    bars = sum(_half_height(parts) for parts in _halves(row))
    return bars + _NOTE_H * len(_note_lines(row)) + _GAP


@lru_cache(maxsize=64)
def _wrap_to(text: str, width_in: float, size: float) -> tuple[str, ...]:
    """``text`` broken at spaces into lines no wider than ``width_in`` at ``size`` pt."""
    lines: list[str] = []
    for word in text.split(" "):
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and _text_size_pt(trial, size, False, False)[0] <= width_in * _PT:
            lines[-1] = trial
        else:
            lines.append(word)
    return tuple(line.strip() for line in lines if line.strip())


def _note_lines(row: SheetRow) -> tuple[str, ...]:
    return _wrap_to(row.note, _W - 2 * _LEFT, _NOTE_SIZE) if row.note else ()


def draw_cheatsheet(fig: Figure | None = None) -> Figure:
    """The one-page field cheat sheet: PTCR, PATE dw0 and dw1, PRTE, PDE, PTE, the DSISR
    cause bits, tlbie RB, RS and the instruction word, bit ranges MSB-0; a doubleword as
    two bars of 32 bits. Every box and text carries a ``gid``
    (``field:<row>:<field>:<first bit>:<piece>``, ``bits:<row>:<field>:<first bit>:0``)
    so tests can check that each name sits inside its box."""
    rows = cheatsheet_rows()
    height = _TITLE_H + sum(_row_height(r) for r in rows) + 0.5
    fig, cv = S.reuse_canvas(fig, _W, height)
    top = height - 0.12
    S.label(
        cv,
        _LEFT,
        top - 0.25,
        "Field cheat sheet: POWER9 radix registers, table entries, tlbie operands",
        S.LABEL_SIZE,
        bold=True,
        ha="left",
    )
    S.label(
        cv,
        _LEFT,
        top - 0.58,
        "ISA bit numbers, MSB-0 (bit 0 is the most significant); layouts read from "
        "pynest.mmu.formats",
        S.SMALL_SIZE,
        ha="left",
        colour="#444444",
    )
    top -= _TITLE_H
    for row in rows:
        _draw_row(cv, row, top)
        top -= _row_height(row)
    S.label(
        cv,
        _LEFT,
        0.25,
        "Entries are big-endian doublewords in memory. Grey: reserved bits.",
        S.SMALL_SIZE,
        ha="left",
        colour="#444444",
    )
    return fig


def _draw_row(cv: S.Canvas, row: SheetRow, top: float) -> None:
    for n, parts in enumerate(_halves(row)):
        bar_y = top - _BAR_H
        start = parts[0].lo
        if n == 0:
            S.label(cv, _LEFT, bar_y + _BAR_H * 0.7, row.title, S.SMALL_SIZE, bold=True, ha="left")
        sub = f"bits {start}:{start + _HALF - 1}"
        S.label(cv, _LEFT, bar_y + _BAR_H * 0.2, sub, S.SMALL_SIZE, ha="left", colour="#444444")
        lines = _bits_lines(parts)
        for p, line in zip(parts, lines, strict=True):
            f = p.field
            x = _BAR_X0 + (p.lo - start) * _BIT_W
            w = (p.hi - p.lo + 1) * _BIT_W
            face = S.tint(S.FIELD_COLOURS[f.kind], 0.45)
            S.box(cv, x, bar_y, w, _BAR_H, face, edge=S.GREY, lw=0.8, rounded=False)
            cv.fig.patches[-1].set_gid(f"field:{row.key}:{p.gid}")
            if f.name != RESERVED:
                size, rot = _fit(f.text, w, _BAR_H, bold=True)
                _label(cv, x + w / 2, bar_y + _BAR_H / 2, f.text, size, rot, True)
                cv.fig.texts[-1].set_gid(f"field:{row.key}:{p.gid}")
            if p.part == 0:
                y = bar_y - _BITS_H * (line + 0.5)
                _label(cv, x + w / 2, y, f.bits, _BITS_SIZE, 0, False, mono=True)
                cv.fig.texts[-1].set_gid(f"bits:{row.key}:{p.gid}")
        top -= _half_height(parts)
    for text in _note_lines(row):
        S.label(cv, _LEFT, top - _NOTE_H / 2, text, _NOTE_SIZE, ha="left", colour="#333333")
        top -= _NOTE_H


def _label(
    cv: S.Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    rotation: int,
    bold: bool,
    mono: bool = False,
) -> None:
    cv.fig.text(
        x,
        y,
        text,
        transform=cv.transform,
        fontsize=size,
        family=S.MONO if mono else S.FONT,
        weight="bold" if bold else "normal",
        rotation=rotation,
        ha="center",
        va="center",
    )
