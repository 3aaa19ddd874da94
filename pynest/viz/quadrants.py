"""Figures of the quadrants: which partition, which process, which tree an EA uses.

* :func:`quadrant_rows` -- the quadrant table (ISA "Fully-Qualified Address", QEMU
  ``ppc_radix64_get_fully_qualified_addr``) for one CPU state, as records;
* :func:`draw_quadrant_rules` -- the two tables side by side, hypervisor and guest;
* :func:`quadrant_picture` and :func:`draw_quadrants` -- one translation seen through its
  quadrant: the EA split (quadrant, bits 2:11, the 52 bits the tree translates), the
  quadrant table with the row used, then the path: PATE[LPID] -> PRTE[PID] -> the
  process-scoped tree -> the partition-scoped tree -> the result or the fault.

Record in, Figure out: nothing here translates; the explorer hands in the
:class:`~pynest.mmu.xlate.Translation` that :func:`pynest.mmu.translate` returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.formats import PartitionTableEntry, ProcessTableEntry, Pte
from ..mmu.walk import DATA, NO_PURPOSE, PurposeKind, Tree
from ..mmu.walk import Stage as WalkStage
from ..mmu.xlate import CpuState, Translation
from . import style as S

_EA_PREFIX = ("0x0000…", "0x4000…", "0x8000…", "0xC000…")


@dataclass(frozen=True, slots=True)
class QuadrantRow:
    """One row of the quadrant table: which LPID and PID quadrant ``q`` selects."""

    quadrant: int
    ea_prefix: str
    lpid: str
    pid: str
    reaches: str
    closed: bool = False

    def __str__(self) -> str:
        if self.closed:
            return f"quadrant {self.quadrant} ({self.ea_prefix}): {self.reaches}"
        return (
            f"quadrant {self.quadrant} ({self.ea_prefix}): LPID ← {self.lpid}, "
            f"PID ← {self.pid} -> {self.reaches}"
        )


def quadrant_rows(cpu: CpuState) -> list[QuadrantRow]:
    """The four quadrants for ``cpu``'s MSR[HV], LPIDR and PIDR (ISA "Fully-Qualified
    Address"; QEMU ``ppc_radix64_get_fully_qualified_addr``)."""
    lp, p = cpu.lpidr, cpu.pidr
    if cpu.hv:
        return [
            QuadrantRow(0, _EA_PREFIX[0], "0", f"PIDR = {p}", f"host process {p}"),
            QuadrantRow(
                1, _EA_PREFIX[1], f"LPIDR = {lp}", f"PIDR = {p}", f"guest {lp}'s process {p}"
            ),
            QuadrantRow(2, _EA_PREFIX[2], f"LPIDR = {lp}", "0", f"guest {lp}'s kernel"),
            QuadrantRow(3, _EA_PREFIX[3], "0", "0", "host kernel"),
        ]
    closed = "closed to a guest: segment interrupt (DSEG / ISEG)"
    return [
        QuadrantRow(0, _EA_PREFIX[0], f"LPIDR = {lp}", f"PIDR = {p}", f"guest {lp}'s process {p}"),
        QuadrantRow(1, _EA_PREFIX[1], "—", "—", closed, True),
        QuadrantRow(2, _EA_PREFIX[2], "—", "—", closed, True),
        QuadrantRow(3, _EA_PREFIX[3], f"LPIDR = {lp}", "0", f"guest {lp}'s kernel"),
    ]


def mode_text(cpu: CpuState) -> str:
    """'hypervisor', 'guest kernel' or 'guest user' (with host user for HV=1, PR=1)."""
    if cpu.hv:
        return "hypervisor user" if cpu.pr else "hypervisor"
    return "guest user" if cpu.pr else "guest kernel"


# ----------------------------------------------------------------------- one translation
@dataclass(frozen=True, slots=True)
class Stage:
    """One box of the path: ``state`` is "read", "fault", "unused" or "not reached"."""

    key: str  # "pate", "prte", "process", "partition", "result"
    title: str
    state: str
    lines: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.title} [{self.state}]" + "".join(f"; {x}" for x in self.lines)


@dataclass(frozen=True)
class QuadrantPicture:
    """Everything :func:`draw_quadrants` draws, as plain values (also a text view)."""

    title: str
    ea: int
    quadrant: int
    rows: tuple[QuadrantRow, ...]
    selected: int
    stages: tuple[Stage, ...]
    ok: bool
    result: str
    notes: tuple[str, ...] = field(default=())
    segment_bad: bool = False

    def text(self) -> str:
        lines = [self.title, f"EA {self.ea:#018x}: quadrant {self.quadrant}"]
        lines += [("→ " if r.quadrant == self.selected else "  ") + str(r) for r in self.rows]
        lines += [f"  {s}" for s in self.stages]
        lines.append(self.result)
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _steps(t: Translation, tree: str) -> list:
    return [s for s in t.steps if s.tree == tree]


def quadrant_picture(
    cpu: CpuState, t: Translation, who: Callable[[int, int], str] | None = None
) -> QuadrantPicture:
    """The picture of translation ``t`` made by ``cpu``; ``who(lpid, pid)`` may name the
    process a tree belongs to (e.g. "guest 7's process 3")."""
    fault = t.fault
    stage = fault.stage if fault is not None else ""
    reason = fault.reason if fault is not None else ""
    q = t.quadrant
    ids = ""
    if t.lpid is not None:
        ids = f": LPID {t.lpid}" + (f", PID {t.pid}" if t.pid is not None else "")
    title = f"{mode_text(cpu)}, quadrant {q}{ids}"
    if who is not None and t.lpid is not None and t.pid is not None:
        title += f" ({who(t.lpid, t.pid)})"
    stages: list[Stage] = []
    part_purpose = NO_PURPOSE
    if fault is not None and stage == WalkStage.PARTITION:  # what the failed walk served
        part_purpose = fault.purpose or DATA
    real = t.mode in ("hv-real", "guest-real")
    stopped = stage == "segment"

    # PATE
    pate = _steps(t, "partition-table")
    if pate:
        e = PartitionTableEntry.decode(pate[0].raw, pate[1].raw if len(pate) > 1 else 0)
        lines = (f"@ {pate[0].hra:#x}", f"tree root {e.rpdb:#x}", f"process table {e.prtb:#x}")
        state = "fault" if stage == "partition-table" else "read"
        if state == "fault":
            lines = (f"@ {pate[0].hra:#x}", *_wrap(reason, 2))
            stopped = True
        stages.append(Stage("pate", f"PATE[{t.lpid}]", state, lines))
    elif stage == "partition-table":
        stages.append(Stage("pate", f"PATE[{t.lpid}]", "fault", ("not in the table",)))
        stopped = True
    elif t.mode == "hv-real":
        stages.append(Stage("pate", "PATE", "unused", ("HV real mode:", "no table read")))
    else:
        stages.append(Stage("pate", "PATE", "not reached", ("segment check", "stopped first")))

    # PRTE
    prte = _steps(t, "process-table")
    zero_prte = bool(prte) and prte[0].raw == 0
    if real:
        stages.append(Stage("prte", "PRTE", "unused", ("relocation off:", "no process walk")))
    elif prte:
        s = prte[0]
        addr = f"@ {s.entry_addr:#x}" + (f" → {s.hra:#x}" if s.hra != s.entry_addr else "")
        if zero_prte:
            lines = (addr, "all zero:", f"no process {t.pid} here")
            state = "fault" if stage == "process" and fault.level == 0 else "read"
        else:
            e = ProcessTableEntry.decode(s.raw)
            lines = (addr, f"tree root {e.rpdb:#x}", f"2^{e.rpds} entries, {e.tree_bits} bits")
            state = "read"
        stages.append(Stage("prte", f"PRTE[{t.pid}]", state, lines))
        stopped = stopped or state == "fault"
    elif not stopped and (stage == "process-table" or part_purpose.matches(PurposeKind.PRTE)):
        stages.append(Stage("prte", f"PRTE[{t.pid}]", "fault", _wrap(reason)))
        stopped = True
    else:
        stages.append(Stage("prte", "PRTE", "not reached"))

    # process-scoped tree
    proc = _steps(t, "process")
    if real:
        stages.append(
            Stage("process", "process tree", "unused", ("real mode:", "EA is the address"))
        )
    elif stopped:
        stages.append(Stage("process", "process tree", "not reached"))
    else:
        leaf = proc[-1] if proc and proc[-1].raw & C.PTE_V and proc[-1].raw & C.PTE_L else None
        two_d = any(s.purpose.matches(PurposeKind.TABLE) for s in _steps(t, Tree.PARTITION))
        walk = f"{len(proc)} level{'s' if len(proc) != 1 else ''} read" + (", 2-D" if two_d else "")
        if stage == "process" or part_purpose.matches(PurposeKind.TABLE):
            lines = (walk, *_wrap(reason, 2))
            stages.append(Stage("process", "process tree", "fault", lines))
            stopped = True
        else:
            lines = [walk]
            if leaf is not None:
                p = Pte.decode(leaf.raw)
                lines.append(f"leaf EAA {p.eaa_text}")
            lines.append(("gRA " if t.gra != t.ra else "RA ") + f"{t.gra:#x}")
            stages.append(Stage("process", "process tree", "read", tuple(lines)))

    # partition-scoped tree for the data
    data_reads = sum(1 for s in _steps(t, Tree.PARTITION) if s.purpose.matches(PurposeKind.DATA))
    p_title = "partition tree"
    if t.lpid == 0 and cpu.hv and not stopped:
        stages.append(
            Stage("partition", p_title, "unused", ("LPID 0 in HV mode", "RA is host real"))
        )
    elif stopped:
        stages.append(Stage("partition", p_title, "not reached"))
    elif part_purpose.matches(PurposeKind.DATA):
        stages.append(Stage("partition", p_title, "fault", (f"LPID {t.lpid}", *_wrap(reason, 2))))
    else:
        lines = (f"LPID {t.lpid}: {data_reads} reads", f"gRA {t.gra:#x}", f"→ hRA {t.ra:#x}")
        stages.append(Stage("partition", p_title, "read", lines))

    # result
    if fault is None:
        result = f"RA {t.ra:#x} after {t.memory_reads} memory reads"
        stages.append(
            Stage("result", "result", "read", (f"RA {t.ra:#x}", f"{t.memory_reads} reads"))
        )
    else:
        flags = " | ".join(fault.flags) or "no cause bits"
        result = f"{fault.interrupt} (vector {fault.vector:#x}, {flags}): {fault.reason}"
        stages.append(
            Stage("result", fault.interrupt, "fault", (f"vector {fault.vector:#x}", flags))
        )
    bad = stage == "segment" and bool(t.ea & C.EA_SEGMENT_CHECK)
    return QuadrantPicture(
        title,
        t.ea,
        q,
        tuple(quadrant_rows(cpu)),
        q,
        tuple(stages),
        fault is None,
        result,
        tuple(t.notes),
        bad,
    )


def _wrap(text: str, n: int = 3, width: int = 24) -> tuple[str, ...]:
    """``text`` cut into at most ``n`` lines of about ``width`` characters."""
    lines = S.wrap_words(text, width)
    if len(lines) > n:
        lines = lines[:n]
        lines[-1] = lines[-1][: width - 1] + "…"
    return tuple(lines)


# ----------------------------------------------------------------------- drawing
_TITLE_H, _EA_H, _ROW_H, _STAGE_H, _RESULT_H, _NOTE_H = 0.6, 1.25, 0.46, 1.75, 0.5, 0.32
_TABLE_COLS = (0.3, 1.65, 3.25, 5.35, 7.45)
_STAGE_COLOURS = {
    "pate": S.TABLE_COLOUR,
    "prte": S.TABLE_COLOUR,
    "process": S.ORANGE,
    "partition": S.SKY_BLUE,
    "result": S.OK,
}
_STATE_WORD = {"read": "used", "fault": "FAULT", "unused": "not used", "not reached": "not reached"}


def _draw_ea(cv, pic: QuadrantPicture, top: float, width: float) -> None:
    ea = pic.ea
    fields = [
        ("quadrant", "ISA bits 0:1", "ea >> 62", f"{ea >> 62} (0b{ea >> 62:02b})", S.YELLOW, 2.6),
        (
            "must be 0",
            "ISA bits 2:11",
            "ea >> 52 & 0x3ff",
            f"{(ea >> 52) & 0x3FF:#x}",
            S.FAULT if pic.segment_bad else S.LIGHT_GREY,
            2.6,
        ),
        (
            "address the tree translates",
            "ISA bits 12:63",
            "ea & 0x000f_ffff_ffff_ffff",
            f"{ea & ((1 << 52) - 1):#x}",
            S.GREEN,
            8.3,
        ),
    ]
    x, h = 0.15, _EA_H - 0.15
    y = top - h
    total = sum(f[5] for f in fields)
    for name, bits, py, value, colour, weight in fields:
        w = (width - 0.3) * weight / total
        S.box(
            cv,
            x,
            y,
            w,
            h,
            S.tint(colour, 0.55),
            lw=3.0 if name == "quadrant" else 1.2,
            rounded=False,
        )
        cx = x + w / 2
        S.label(cv, cx, y + h * 0.82, name, S.TEXT_SIZE, bold=True)
        S.label(cv, cx, y + h * 0.55, value, S.LABEL_SIZE, mono=True, bold=True)
        S.label(cv, cx, y + h * 0.3, bits, S.SMALL_SIZE)
        S.label(cv, cx, y + h * 0.1, py, S.SMALL_SIZE, mono=True)
        x += w


def _draw_table(
    cv, rows, selected: int | None, top: float, width: float, left: float = 0.1
) -> float:
    headers = ("quadrant", "EA begins", "LPID used", "PID used", "reaches")
    cols = [left + c for c in _TABLE_COLS]
    for x, h in zip(cols, headers, strict=True):
        S.label(cv, x, top - 0.2, h, S.SMALL_SIZE, bold=True, ha="left", colour=S.GREY)
    top -= 0.4
    for r in rows:
        y = top - _ROW_H
        sel = r.quadrant == selected
        colour = S.FAULT if r.closed else S.YELLOW
        face = S.tint(colour, 0.6 if sel else 0.15)
        S.box(
            cv,
            left,
            y + 0.03,
            width - 0.2,
            _ROW_H - 0.06,
            face,
            edge=S.BLACK if sel else S.GREY,
            lw=3.0 if sel else 0.8,
        )
        cy = y + _ROW_H / 2
        S.label(
            cv,
            cols[0],
            cy,
            ("▶ " if sel else "   ") + str(r.quadrant),
            S.LABEL_SIZE,
            bold=True,
            ha="left",
        )
        S.label(cv, cols[1], cy, r.ea_prefix, S.TEXT_SIZE, mono=True, ha="left")
        if r.closed:
            S.label(cv, cols[2], cy, r.reaches, S.TEXT_SIZE, ha="left", bold=sel)
        else:
            S.label(cv, cols[2], cy, r.lpid, S.TEXT_SIZE, mono=True, ha="left")
            S.label(cv, cols[3], cy, r.pid, S.TEXT_SIZE, mono=True, ha="left")
            S.label(cv, cols[4], cy, r.reaches, S.TEXT_SIZE, ha="left", bold=sel)
        top -= _ROW_H
    return top


def _draw_stages(cv, stages, top: float, width: float) -> None:
    n = len(stages)
    gap = 0.38
    w = (width - 0.3 - gap * (n - 1)) / n
    h = _STAGE_H - 0.1
    y = top - h
    for i, st in enumerate(stages):
        x = 0.15 + i * (w + gap)
        colour = S.FAULT if st.state == "fault" else _STAGE_COLOURS[st.key]
        used = st.state in ("read", "fault")
        S.box(
            cv,
            x,
            y,
            w,
            h,
            S.tint(colour, 0.45) if used else S.WHITE,
            edge=S.FAULT if st.state == "fault" else (S.BLACK if used else S.GREY),
            lw=3.0 if st.state == "fault" else 1.2,
            dashed=not used,
        )
        text_colour = S.BLACK if used else S.GREY
        S.label(cv, x + w / 2, y + h - 0.22, st.title, S.LABEL_SIZE, bold=True, colour=text_colour)
        S.label(
            cv,
            x + w / 2,
            y + h - 0.47,
            _STATE_WORD[st.state],
            S.SMALL_SIZE,
            bold=st.state == "fault",
            colour=text_colour,
        )
        for j, line in enumerate(st.lines[:3]):
            S.label(
                cv,
                x + w / 2,
                y + h - 0.78 - 0.27 * j,
                line,
                S.SMALL_SIZE,
                mono=True,
                colour=text_colour,
            )
        if i < n - 1:
            S.label(cv, x + w + gap / 2, y + h / 2, "▶", S.LABEL_SIZE, colour=S.GREY)


def draw_quadrants(pic: QuadrantPicture, *, fig: Figure | None = None) -> Figure:
    """One translation through its quadrant (see the module docstring). ``fig`` is
    cleared and reused when given (explorers keep one figure)."""
    width = S.FIGURE_WIDTH
    height = (
        _TITLE_H
        + _EA_H
        + 0.4
        + 4 * _ROW_H
        + 0.2
        + _STAGE_H
        + _RESULT_H
        + _NOTE_H * len(pic.notes)
        + 0.15
    )
    if fig is None or not fig.axes:
        fig = fig or S.new_figure(width, height)
        fig.set_size_inches(width, height)
        cv = S.canvas_axes(fig, width, height)
    else:  # redraw in place: drop the boxes and labels, keep the (empty) axes
        fig.texts.clear()
        fig.patches.clear()
        fig.set_size_inches(width, height)
        fig.stale = True
        cv = S.Canvas(fig, width, height)
    top = height - 0.1
    S.label(cv, 0.15, top - 0.25, pic.title, S.TITLE_SIZE, bold=True, ha="left")
    top -= _TITLE_H
    _draw_ea(cv, pic, top, width)
    top -= _EA_H
    top = _draw_table(cv, pic.rows, pic.selected, top, width) - 0.2
    _draw_stages(cv, pic.stages, top, width)
    top -= _STAGE_H
    mark = "✔ " if pic.ok else "✘ "
    S.label(
        cv,
        0.2,
        top - _RESULT_H / 2,
        mark + _clip(pic.result, 130),
        S.TEXT_SIZE,
        ha="left",
        bold=True,
        colour=S.BLACK if pic.ok else S.FAULT,
    )
    top -= _RESULT_H
    for note in pic.notes:
        S.label(cv, 0.2, top - _NOTE_H / 2, "note: " + note, S.SMALL_SIZE, ha="left")
        top -= _NOTE_H
    return fig


def draw_quadrant_rules(lpidr: int = 7, pidr: int = 3) -> Figure:
    """The quadrant tables of a hypervisor (MSR[HV]=1) and of a guest (MSR[HV]=0), one
    above the other, for the given LPIDR and PIDR."""
    width = S.FIGURE_WIDTH
    block = 0.5 + 0.4 + 4 * _ROW_H + 0.25
    height = 0.65 + 2 * block + 0.1
    fig = S.new_figure(width, height)
    cv = S.canvas_axes(fig, width, height)
    top = height - 0.1
    S.label(
        cv,
        0.15,
        top - 0.25,
        f"Quadrant = EA bits 0:1 (ea >> 62); LPIDR = {lpidr}, PIDR = {pidr}",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    top -= 0.65
    for hv, caption in (
        (True, "MSR[HV] = 1: the hypervisor"),
        (False, "MSR[HV] = 0: a guest (kernel or user)"),
    ):
        cpu = CpuState(lpidr=lpidr, pidr=pidr, msr=C.MSR_HV_KERNEL if hv else C.MSR_GUEST_KERNEL)
        S.label(cv, 0.15, top - 0.25, caption, S.LABEL_SIZE, bold=True, ha="left")
        top -= 0.5
        top = _draw_table(cv, quadrant_rows(cpu), None, top, width) - 0.25
    return fig


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
