"""The quadrant world (notebook 03): one hypervisor and two guests whose every process
maps the *same* effective page, ``0x10000000``, somewhere else.

Which page an access reaches then depends only on the quadrant (EA bits 0:1), MSR[HV],
LPIDR and PIDR. Each tree maps two 4K pages: data at ``0x10000000`` and code at
``0x10001000``; kernel trees (PID 0) map them privileged (EAA ``p``), process trees not.
:data:`MODES` and :data:`AMR_CHOICES` are the CPU settings the explorer and the
exercises offer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..mmu import constants as C
from ..mmu.builder import RadixTree
from ..mmu.xlate import CpuState
from .radix import MmuWorld, add_radix_guest, radix_hypervisor

DATA_EA = 0x1000_0000
"""The effective page every tree maps (data); the code page follows it."""


CODE_EA = DATA_EA + C.PAGE_4K


MSR_GUEST_USER = C.MSR_GUEST_KERNEL | C.MSR_PR | C.MSR_EE
"""A guest process: MSR[HV]=0, MSR[PR]=1, relocation on."""


MODES: dict[str, tuple[str, int]] = {
    "hv": ("hypervisor (MSR[HV]=1, PR=0)", C.MSR_HV_KERNEL),
    "guest": ("guest kernel (MSR[HV]=0, PR=0)", C.MSR_GUEST_KERNEL),
    "user": ("guest user (MSR[HV]=0, PR=1)", MSR_GUEST_USER),
}
"""The three ways of running the explorer and the exercises offer: key -> (label, MSR)."""


# (lpid, pid) -> (guest real or host real of the data page, perms of data, of code)
_TREES: dict[tuple[int, int], tuple[int, str, str]] = {
    (0, 0): (0x0300_0000, "prw", "prx"),  # host kernel
    (0, 5): (0x0310_0000, "rw", "rx"),  # host process 5
    (7, 0): (0x00A0_0000, "prw", "prx"),  # guest 7's kernel (guest real)
    (7, 3): (0x00B0_0000, "rw", "rx"),  # guest 7's process 3
    (9, 0): (0x00A0_0000, "prw", "prx"),  # guest 9's kernel: same gRA, other host page
    (9, 3): (0x00C0_0000, "rw", "rx"),  # guest 9's process 3
}


_GUEST_BASE = {7: 0x0400_0000, 9: 0x0600_0000}


_GUEST_SIZE = 16 << 20


@dataclass(frozen=True, slots=True)
class TreeInfo:
    """One process-scoped tree of the quadrant world and the pages it maps."""

    lpid: int
    pid: int
    who: str
    data_ra: int
    data_perms: str
    code_perms: str
    guest_real: bool

    @property
    def data_hra(self) -> int:
        """Host real address of the data page."""
        return _GUEST_BASE[self.lpid] + self.data_ra if self.guest_real else self.data_ra

    def __str__(self) -> str:
        space = "guest real" if self.guest_real else "host real"
        return (
            f"LPID {self.lpid} PID {self.pid} ({self.who}): EA {DATA_EA:#x} -> {space} "
            f"{self.data_ra:#x} [{self.data_perms}], EA {CODE_EA:#x} -> "
            f"{self.data_ra + C.PAGE_4K:#x} [{self.code_perms}]"
        )


def _who(lpid: int, pid: int) -> str:
    owner = "host" if lpid == 0 else f"guest {lpid}"
    return f"{owner} kernel" if pid == 0 else f"{owner} process {pid}"


TREES: tuple[TreeInfo, ...] = tuple(
    TreeInfo(lpid, pid, _who(lpid, pid), ra, dp, cp, lpid != 0)
    for (lpid, pid), (ra, dp, cp) in _TREES.items()
)
"""Every tree of :func:`quadrant_world`, host first."""


def tree_of(lpid: int | None, pid: int | None) -> TreeInfo | None:
    """The world's tree for (LPID, PID), or None when that process does not exist."""
    return next((t for t in TREES if (t.lpid, t.pid) == (lpid, pid)), None)


def quadrant_world() -> MmuWorld:
    """A radix host (LPID 0: kernel PID 0, process PID 5) and guests LPID 7 and 9 (each a
    kernel, PID 0, and a process, PID 3); every tree maps EA 0x10000000 and 0x10001000.

    Host real layout: partition table at 0x100000 (PATS 0, LPIDs 0..255); host tables
    after it; guest 7's memory (16 MiB guest real) at host real 0x4000000, guest 9's at
    0x6000000, each guest's process table and trees in its own guest real memory.
    Contexts: ``hv`` (LPIDR 7, PIDR 5), ``guest`` and ``user`` (LPIDR 7, PIDR 3).
    """
    h = radix_hypervisor(256 << 20, 0x100000, 0x1000000)
    mem, ptab = h.mem, h.ptab
    tables = {0: (h.prtab, mem, h.alloc)}
    for lpid, base in _GUEST_BASE.items():
        tables[lpid] = add_radix_guest(h, lpid, base, _GUEST_SIZE, 0x10000, 0x800000)
    for info in TREES:
        table, space, talloc = tables[info.lpid]
        tree = RadixTree(space, talloc)
        table.set_entry(info.pid, tree)
        tree.map(DATA_EA, info.data_ra, C.PAGE_4K, info.data_perms, r=True, c=True)
        tree.map(CODE_EA, info.data_ra + C.PAGE_4K, C.PAGE_4K, info.code_perms, r=True)
    contexts = {
        "hv": CpuState(ptcr=ptab.ptcr, lpidr=7, pidr=5),
        "guest": CpuState(ptcr=ptab.ptcr, lpidr=7, pidr=3, msr=C.MSR_GUEST_KERNEL),
        "user": CpuState(ptcr=ptab.ptcr, lpidr=7, pidr=3, msr=MSR_GUEST_USER),
    }
    mappings = {
        name: [
            (DATA_EA, t.data_ra, C.PAGE_4K, t.data_perms),
            (CODE_EA, t.data_ra + C.PAGE_4K, C.PAGE_4K, t.code_perms),
        ]
        for name, t in (("hv", tree_of(0, 5)), ("guest", tree_of(7, 3)), ("user", tree_of(7, 3)))
        if t is not None
    }
    return MmuWorld(
        "quadrants",
        "host (PIDs 0, 5) and guests LPID 7 and 9 (PIDs 0, 3), all mapping EA 0x10000000",
        mem,
        contexts,
        mappings,
    )


def world_text() -> str:
    """The quadrant world as lines a learner can read (used by the exercises)."""
    lines = ["PTCR = 0x100000. Partition table rows: LPID 0 (host), 7 and 9 (guests)."]
    lines += [f"  {t}" for t in TREES]
    lines.append(
        "  guest 7's guest real 0.. is host real 0x4000000.., guest 9's is 0x6000000.. "
        "(2 MiB pages, rwx)"
    )
    lines.append("  No other process exists: every other PRTE is zero.")
    return "\n".join(lines)


AMR_CHOICES: tuple[tuple[int, int, str], ...] = (  # (AMR, IAMR, what they block)
    (0, 0, "AMR = IAMR = 0"),
    (C.AMR_KEY0_NO_STORE, 0, "AMR = 0x8000000000000000 (key 0: stores blocked)"),
    (
        C.AMR_KEY0_NO_STORE | C.AMR_KEY0_NO_LOAD,
        0,
        "AMR = 0xc000000000000000 (key 0: loads and stores blocked)",
    ),
    (0, C.IAMR_KEY0_NO_EXEC, "IAMR = 0x4000000000000000 (key 0: fetches blocked)"),
)
