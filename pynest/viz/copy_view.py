"""Figures of notebook 10: an H_COPY_TOFROM_GUEST, stage by stage.

* :func:`copy_stages` -- the record: where an L2 effective address goes through the
  three tables the L1 and L0 keep (the L2's process tree, the L1's partition tree for
  the L2, L0's tree for the L1), whether L0's *shadow* tree for the L2 maps the page
  (that is the one the hcall really uses), and what the hcall returned with which bytes;
* :func:`draw_copy` -- that record as a row of four address boxes (L2 EA → L2 real →
  L1 real → host real) with the table of each arrow, the shadow path under them, and the
  result: the return code and a hex dump of the bytes, or the stage where it stopped.

Reading the tables is a debugger's look (nothing is faulted in, no R/C bit is set).
The hcall is Linux 5.0's (versions row ``h-copy-tofrom-guest``): the record keeps L0's
kernel, and for a 4.20 L0 the figure says that QEMU answered H_FUNCTION.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure

from ..errors import PynestError
from ..kvm.hcalls import H_SUCCESS, rc_name
from ..kvm.l1 import L1, L2Guest, L2Space
from ..kvm.versions import DEFAULT_KERNEL, has, row
from ..mmu import constants as C
from ..mmu.builder import Allocator, RadixTree
from . import style as S


@dataclass(frozen=True)
class CopyStages:
    """One H_COPY_TOFROM_GUEST load, explained. Addresses are None where a stage has no
    mapping; ``stopped`` names the first stage that has none ("" if all do)."""

    lpid: int
    pid: int
    ea: int
    n: int
    rc: int
    data: bytes
    gpa: int | None
    l1_gpa: int | None
    hpa: int | None
    shadow_lpid: int | None
    shadow_hpa: int | None
    stopped: str
    kernel: str = DEFAULT_KERNEL
    """The Linux L0 runs (H_COPY_TOFROM_GUEST exists from 5.0)."""

    @property
    def ok(self) -> bool:
        return self.rc == H_SUCCESS

    @property
    def hcall_exists(self) -> bool:
        """Whether L0's kernel has the hcall (versions row ``h-copy-tofrom-guest``)."""
        return has(self.kernel, "h-copy-tofrom-guest")

    def no_hcall_text(self) -> str:
        """Why a 4.20 L0 answered H_FUNCTION ("" when the kernel has the hcall)."""
        if self.hcall_exists:
            return ""
        r = row("h-copy-tofrom-guest")
        return (
            f"L0 runs Linux {self.kernel}: no H_COPY_TOFROM_GUEST before {r.since}; the hcall "
            "went to userspace and QEMU answered H_FUNCTION"
        )


def _lookup(tree_space, root: int, addr: int) -> int | None:
    m = RadixTree(tree_space, Allocator(0, 1), root=root).lookup(addr)
    return None if m is None else m.ra


def copy_stages(
    l1: L1,
    l2: L2Guest | None,
    ea: int,
    n: int,
    rc: int,
    data: bytes,
    pid: int | None = None,
    lpid: int = -1,
) -> CopyStages:
    """Trace ``ea`` of ``l2`` (PID ``pid``, default the L2's) through every table and
    pack it with the hcall's result ``rc``/``data``. ``l2`` None: the L1 has no L2 with
    lpid ``lpid``."""
    vm = l1.vm
    kernel = vm.l0.kernel
    if l2 is None:
        return CopyStages(
            lpid, pid or 0, ea, n, rc, data, None, None, None, None, None, "lpid", kernel
        )
    pid = l2.pid if pid is None else pid
    gpa = l1_gpa = hpa = shadow_hpa = shadow_lpid = None
    stopped = ""
    eaddr = ea & C.EA_NOQUAD_MASK
    try:
        peek = L2Space(l1, l2, fault_in=False)
        prtb = l2.prtab.base if l2.prtab is not None else 0
        dw0 = peek.read_u64(prtb + 16 * (pid & 0xFFFF_FFFF)) if pid < 1 << 16 else 0
        gpa = _lookup(peek, dw0 & C.RPDB_MASK, eaddr) if dw0 & C.RPDB_MASK else None
    except PynestError:
        gpa = None
    if gpa is None:
        stopped = "l2"
    else:
        l1_gpa = _lookup(vm.slot_space, l2.tree.root, gpa)
        if l1_gpa is None:
            stopped = "l1"
        else:
            m = vm.pgtable.lookup(l1_gpa)
            hpa = None if m is None else m.ra
            stopped = "" if hpa is not None else "l0"
    gp = vm.nested.find(l2.l1_lpid)
    if gp is not None and gp.shadow_pgtable is not None:
        shadow_lpid = gp.shadow_lpid
        if gpa is not None:
            m = gp.shadow_pgtable.lookup(gpa)
            shadow_hpa = None if m is None else m.ra
    return CopyStages(
        l2.l1_lpid, pid, ea, n, rc, data, gpa, l1_gpa, hpa, shadow_lpid, shadow_hpa, stopped, kernel
    )


def hexdump(data: bytes, base: int = 0, width: int = 16, limit: int = 64) -> list[str]:
    """Lines of ``offset: hex bytes`` (at most ``limit`` bytes)."""
    out = []
    for off in range(0, min(len(data), limit), width):
        chunk = data[off : off + width]
        out.append(f"{base + off:#012x}: {' '.join(f'{b:02x}' for b in chunk)}")
    if len(data) > limit:
        out.append(f"... {len(data) - limit} more bytes")
    return out


def copy_text(s: CopyStages) -> str:
    """The record in words (what the figure says)."""

    def a(v: int | None) -> str:
        return "—" if v is None else f"{v:#x}"

    lines = [
        f"H_COPY_TOFROM_GUEST(lpid {s.lpid}, pid {s.pid}, eaddr {s.ea:#x}, n {s.n}) "
        f"-> {rc_name(s.rc)} ({s.rc})",
        f"L2 EA {s.ea:#x} -> L2 real {a(s.gpa)} -> L1 real {a(s.l1_gpa)} -> host real {a(s.hpa)}",
        f"shadow tree (LPID {s.shadow_lpid if s.shadow_lpid is not None else 'none'}): "
        f"L2 real {a(s.gpa)} -> host real {a(s.shadow_hpa)}",
    ]
    if not s.hcall_exists:
        lines.append(s.no_hcall_text() + " (the tables above were never read)")
    if s.ok:
        lines += hexdump(s.data, s.ea)
    return "\n".join(lines)


_STOP_TEXT = {
    "lpid": "the L1 has no L2 with this lpid",
    "l2": "the L2's process tree does not map this EA (for this PID)",
    "l1": "the L1's partition tree does not map this L2 real page",
    "l0": "L0 has not backed this L1 page yet",
}


def draw_copy(s: CopyStages) -> Figure:
    """Four address boxes with the tables between them, the shadow path, the result."""
    width, height = S.FIGURE_WIDTH, 5.6
    fig = S.new_figure(width, height)
    cv = S.canvas_axes(fig, width, height)
    S.label(
        cv,
        0.2,
        height - 0.35,
        f"H_COPY_TOFROM_GUEST (L0: Linux {s.kernel}): L1 reads {s.n} bytes of its L2",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    names = ("L2 effective", "L2 real", "L1 real", "host real")
    values = (s.ea, s.gpa, s.l1_gpa, s.hpa)
    tables = (
        f"L2 process tree\n(PID {s.pid})",
        f"L1's tree for\nlpid {s.lpid}",
        "L0's tree\nfor the L1",
    )
    bw, bh, gap, y = 2.6, 1.0, 0.95, height - 2.0
    x0 = 0.3
    reached = True
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        x = x0 + i * (bw + gap)
        ok = value is not None and s.stopped != "lpid"
        colour = S.OK if ok else (S.FAULT if reached else S.NOT_REACHED)
        S.box(cv, x, y, bw, bh, S.tint(colour, 0.35), edge=colour, lw=2)
        S.label(cv, x + bw / 2, y + 0.72, name, S.LABEL_SIZE, bold=True)
        text = f"{value:#x}" if ok else ("no mapping" if reached else "not reached")
        S.label(cv, x + bw / 2, y + 0.3, text, S.LABEL_SIZE, mono=ok)
        if not ok:
            reached = False
        if i < 3:
            ax_ = x + bw
            S.label(cv, ax_ + gap / 2, y + bh / 2 + 0.1, "→", S.TITLE_SIZE, bold=True)
            S.label(cv, ax_ + gap / 2, y - 0.35, tables[i], S.SMALL_SIZE)
    # the shadow path: what the hcall really uses
    ys = y - 1.45
    if s.shadow_lpid is None:
        shadow = "L0 has no nested guest for this lpid: no shadow tree"
        colour = S.FAULT
    elif s.shadow_hpa is None:
        shadow = (
            f"L0's shadow tree (LPID {s.shadow_lpid}) has no PTE for this L2 real page: "
            "the copy faults"
        )
        colour = S.FAULT
    else:
        shadow = (
            f"L0's shadow tree (LPID {s.shadow_lpid}): L2 real {s.gpa:#x} → host real "
            f"{s.shadow_hpa:#x} — the path the hcall takes"
        )
        colour = S.OK
    if not s.hcall_exists:
        shadow = (
            f"L0 runs Linux {s.kernel}: it has no H_COPY_TOFROM_GUEST, so no shadow tree "
            "is read (a 5.0 L0 would copy through it)"
        )
        colour = S.FAULT
    S.box(cv, x0, ys, width - 2 * x0, 0.55, S.tint(colour, 0.25), edge=colour, lw=1.5)
    S.label(cv, x0 + 0.15, ys + 0.275, shadow, S.TEXT_SIZE, ha="left")
    # the result
    yr = ys - 0.45
    verdict = f"r3 = {rc_name(s.rc)} ({s.rc})"
    if not s.hcall_exists:
        verdict += f"; {s.no_hcall_text()}"
    elif s.stopped and s.stopped in _STOP_TEXT:
        verdict += f"; {_STOP_TEXT[s.stopped]}"
    S.label(
        cv, x0, yr, verdict, S.LABEL_SIZE, bold=True, ha="left", colour=S.BLACK if s.ok else S.FAULT
    )
    if s.ok:
        for j, line in enumerate(hexdump(s.data, s.ea, limit=48)):
            S.label(cv, x0, yr - 0.4 - 0.3 * j, line, S.TEXT_SIZE, mono=True, ha="left")
    return fig
