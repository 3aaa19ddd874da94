"""Nested page faults, one L2 access at a time (notebook 08, the shadow explorer).

The world (:func:`shadow_world`) is the smallest one in which every branch of
``__kvmhv_nested_page_fault`` (book3s_hv_nested.c, 4.20) can be reached by choice: an L0
(PAGE_SIZE 64K) with one L1 whose memory it backs with ``backing`` pages, and one L2 of
16 MiB that the L1 maps with ``l1_page`` pages. The L2's kernel reaches all of its memory
through a linear map (quadrant 3, PID 0, EA ``0xc000000000000000 + L2 real``, 2M pages),
so an access can be aimed at any L2 real address. :func:`touch` makes the L2 do one load
or store there and returns what happened as a :class:`Touch` record, cut from L0's event
log; :func:`shadow_size_of` reads the shadow PTE that covers an L2 real address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AddressError, ConfigError, FieldError
from ..kvm.constants import (
    DSISR_BADACCESS,
    DSISR_ISSTORE,
    DSISR_NOEXEC_OR_G,
    DSISR_NOHPTE,
    DSISR_PROTFAULT,
    DSISR_PRTABLE_FAULT,
    DSISR_SET_RC,
    DSISR_UNSUPP_MMU,
    RMAP_NESTED_GPA_MASK,
    RMAP_NESTED_LPID_SHIFT,
)
from ..kvm.events import Event
from ..kvm.hcalls import H_CEDE
from ..kvm.host import L0
from ..kvm.l1 import L1
from ..kvm.program import Hcall, Load, Program, Store
from ..kvm.radix import rmap_head, shadow_leaves
from ..kvm.versions import DEFAULT_KERNEL
from ..mmu import constants as C
from ..mmu.formats import page_size_text
from .l1 import World
from .text import parse_number

LINEAR_EA = 0xC000_0000_0000_0000
"""Where the L2 kernel's linear map starts: EA = LINEAR_EA + L2 real address."""


CODE_EA = 0x1_0000


L2_MEM = 16 << 20


PAGE_TABLES = (1 << 20, 4 << 20)
"""L2 real range that holds the L2's own process table and page tables."""


DSISR_NAMES: dict[str, int] = {
    "NOHPTE": DSISR_NOHPTE,
    "PROTFAULT": DSISR_PROTFAULT,
    "ISSTORE": DSISR_ISSTORE,
    "SET_RC": DSISR_SET_RC,
    "PRTABLE_FAULT": DSISR_PRTABLE_FAULT,
    "UNSUPP_MMU": DSISR_UNSUPP_MMU,
    "BADACCESS": DSISR_BADACCESS,
    "NOEXEC_OR_G": DSISR_NOEXEC_OR_G,
}
"""The kernel's names (asm/reg.h) of the HDSISR bits a reflected nested fault can carry."""


def dsisr_text(value: int) -> str:
    """``0x42000000`` as ``NOHPTE | ISSTORE``."""
    names = [n for n, bit in DSISR_NAMES.items() if value & bit]
    rest = value & ~sum(DSISR_NAMES[n] for n in names)
    if rest:
        names.append(f"{rest:#x}")
    return " | ".join(names) if names else "0"


def shadow_world(
    l1_page: int = C.PAGE_64K,
    backing: int = C.PAGE_64K,
    *,
    l1s_before: int = 0,
    l1_ram_before: int = 0,
    perms: str = "rwx",
    set_rc: bool = True,
    l0_kernel: str = DEFAULT_KERNEL,
) -> World:
    """The world of this module (see its docstring).

    ``l1s_before`` other L1s are created first and ``l1_ram_before`` bytes of L1 memory
    are handed out before the L2's, so the host and L1 addresses differ between worlds;
    ``perms`` and ``set_rc`` shape the PTEs the L1 creates for its L2. ``l0_kernel`` is
    the Linux L0 runs (``"4.20"`` as merged, or ``"5.0"``): it decides where a shadow
    PTE's R and C come from (row ``nested-rc`` of :mod:`pynest.kvm.versions`).
    """
    if l1_page not in (C.PAGE_64K, C.PAGE_2M):
        raise ConfigError(f"the L1 page size must be 64K or 2M here, got {l1_page:#x}")
    if backing not in (C.PAGE_64K, C.PAGE_2M, C.PAGE_1G):
        raise ConfigError(f"L0's backing page size must be 64K, 2M or 1G, got {backing:#x}")
    l0 = L0(kernel=l0_kernel)
    for _ in range(l1s_before):
        l0.create_l1(256 << 20)
    vm = l0.create_l1((1 << 30) if backing == C.PAGE_1G else 256 << 20, backing=backing)
    l1 = L1(vm)
    if l1.nested_init():
        raise ConfigError("H_SET_PARTITION_TABLE failed")
    if l1_ram_before:
        l1.ram.alloc(l1_ram_before)
    l2 = l1.create_l2(L2_MEM, page_size=l1_page, pid=1, perms=perms, set_rc=set_rc)
    for gpa in range(0, L2_MEM, C.PAGE_2M):
        l1.l2_map(l2, LINEAR_EA + gpa, gpa, C.PAGE_2M, "rw", pid=0)
    return World(0, l0, vm, l1, [l2])


@dataclass(frozen=True)
class Touch:
    """One L2 access and what it set off, in order (``events``: L0's log for it)."""

    gpa: int
    access: str
    events: list[Event] = field(repr=False)
    returns: tuple[int, ...]
    stopped: str
    hpa: int | None

    @property
    def reflected(self) -> list[Event]:
        """The storage interrupts L0 gave back to the L1 (0xE00 / 0xE20)."""
        return [e for e in self.events if e.kind == "reflect" and e.trap in (0xE00, 0xE20)]

    @property
    def inserted(self) -> list[Event]:
        """Shadow PTEs created for this access (the L2's table pages included)."""
        return [e for e in self.events if e.kind == "shadow-insert"]

    @property
    def data_pte(self) -> Event | None:
        """The shadow-PTE insert for the accessed page itself, if one happened."""
        for e in reversed(self.inserted):
            if e.gpa is not None and e.size and e.gpa <= self.gpa < e.gpa + e.size:
                return e
        return None

    def summary(self) -> str:
        """What happened, in one line per step (for status lines and reveals)."""
        out = [f"L2 {self.access} at L2 real {self.gpa:#x} (EA {LINEAR_EA + self.gpa:#x})"]
        for e in self.events:
            if e.kind == "nested-fault":
                size = e.size or 0
                what = " (the L2's page tables)" if _in_tables(e.gpa or 0) else ""
                out.append(
                    f"  L0: HDSI for L2 real {e.gpa:#x}{what}: the L1 maps it to L1 real "
                    f"{(e.l1_gpa or 0) & -size:#x}; shadow PTE of {page_size_text(size)}"
                )
            elif e.kind == "reflect" and e.trap in (0xE00, 0xE20):
                out.append(
                    f"  L0 -> L1: trap {e.trap:#x}, HDSISR {dsisr_text(e.dsisr or 0)} "
                    "(the L1 must fix its own tree)"
                )
            elif e.kind == "l1-handle" and e.trap in (0xE00, 0xE20):
                out.append(f"  L1: {e.detail}")
            elif e.kind == "l0-fault-in":
                out.append(
                    f"  L0: backs L1 real {e.l1_gpa:#x} with host {e.hpa:#x} "
                    f"({page_size_text(e.size or 0)})"
                )
            elif e.kind == "rc-update":
                out.append(f"  L0: {e.detail}")
            elif e.kind == "shadow-remove":
                out.append(f"  L0: removes shadow PTE {e.gpa:#x} ({page_size_text(e.size or 0)})")
            elif e.kind == "l2-guest-interrupt":
                out.append(f"  L2: {e.detail}")
        if self.hpa is not None:
            out.append(f"  done: host real {self.hpa:#x}")
        elif self.stopped != "ceded":
            out.append(f"  stopped: {self.stopped}")
        return "\n".join(out)


def _in_tables(gpa: int) -> bool:
    return PAGE_TABLES[0] <= gpa < PAGE_TABLES[1]


def check_l2_address(world: World, gpa: object, access: str = "load") -> int:
    """``gpa`` as an L2 real address the L2 may touch, or a :class:`FieldError` /
    :class:`AddressError` that says why not."""
    value = parse_number(gpa, "L2 real address", kind="address")
    size = world.l2.mem_size
    if value >= size:
        raise AddressError(
            f"L2 real address {value:#x} is outside the L2's memory (0 .. {size - 1:#x})"
        )
    lo, hi = PAGE_TABLES
    if access == "store" and lo <= value < hi:
        raise AddressError(
            f"L2 real {value:#x} holds the L2's own page tables ({lo:#x} .. {hi - 1:#x}); a "
            "store there would overwrite them. Load from it, or store elsewhere"
        )
    if access not in ("load", "store"):
        raise FieldError(f"access must be 'load' or 'store', got {access!r}")
    return value


def touch(world: World, gpa: object, access: str = "load", value: int = 0x5EED) -> Touch:
    """The L2 loads from (or stores ``value`` to) L2 real ``gpa`` through its linear
    map, then cedes; the L1 runs it with H_ENTER_NESTED until it does."""
    addr = check_l2_address(world, gpa, access)
    l1, l2 = world.l1, world.l2
    ea = LINEAR_EA + (addr & ~7)
    op = Store(ea, value) if access == "store" else Load(ea)
    l1.load_program(l2, Program((op, Hcall(H_CEDE)), entry=CODE_EA, fetch=False))
    mark = world.l0.events.mark()
    result = l1.run_l2(l2)
    events = world.l0.events.since(mark)
    done = [e for e in events if e.kind == "l2-access"]
    return Touch(
        addr, access, events, result.returns, result.stopped, done[-1].hpa if done else None
    )


def shadow_size_of(world: World, gpa: int) -> int | None:
    """The size of the shadow PTE covering L2 real ``gpa`` now (None: none)."""
    gp = world.gp
    if gp is None:
        return None
    for addr, _slot, _pte, shift in shadow_leaves(gp, gpa, gpa + 1):
        if addr <= gpa < addr + (1 << shift):
            return 1 << shift
    return None


def _l1_pte_state(world: World, gpa: int, clear_bits: int | None) -> None:
    """The L1 maps the page holding ``gpa`` and, unless ``clear_bits`` is None, clears
    those bits of its PTE (None: no mapping at all)."""
    if clear_bits is None:
        return
    world.l1.map_l2_page(world.l2, gpa)
    if clear_bits:
        world.l2.tree.set_pte_bits(gpa, clear_bits=clear_bits)


REFLECTION_CASES: tuple[tuple[str, str, int | None], ...] = (
    ("no entry in the L1's tree", "store", None),
    ("L1 maps it read-only", "store", C.PTE_EAA_RW | C.PTE_EAA_EXEC),
    ("L1 maps it read-only", "load", C.PTE_EAA_RW | C.PTE_EAA_EXEC),
    ("L1 PTE has R=0, C=0", "load", C.PTE_R | C.PTE_C),
    ("L1 PTE has R=1, C=0", "store", C.PTE_C),
    ("L1 PTE has R=1, C=1", "store", 0),
)
"""Notebook 08's table: (the L1 PTE, access, PTE bits the L1 clears; None: no PTE)."""


def reflection_table(gpa: int = 0x812340) -> str:
    """Whether L0 fixes each :data:`REFLECTION_CASES` fault alone or reflects it to the
    L1 (and with which HDSISR), under a 4.20 and a 5.0 L0 (``__kvmhv_nested_page_fault``;
    versions row ``nested-rc``), one fresh :func:`shadow_world` per cell."""
    lines = [f"{'the L1 PTE':<26} {'':5}  {'L0 runs 4.20':<32} L0 runs 5.0"]
    for what, access, clear_bits in REFLECTION_CASES:
        seen = {}
        for kernel in ("4.20", "5.0"):
            small = shadow_world(l0_kernel=kernel)
            _l1_pte_state(small, gpa, clear_bits)
            reflected = [dsisr_text(e.dsisr) for e in touch(small, gpa, access).reflected]
            seen[kernel] = f"reflected: {reflected[0]}" if reflected else "L0 alone"
        lines.append(f"{what:<26} {access:<5}: {seen['4.20']:<32} {seen['5.0']}")
    return "\n".join(lines)


def rmap_text(world: World, gpa: int) -> str:
    """The nest rmap words L0 holds for the L1 frames of the host page (of the world's
    ``backing`` size) behind L2 real ``gpa``, decoded: L1 lpid, L2 real address and the
    single-entry bit (``kvmhv_insert_nest_rmap``, book3s_hv_nested.c)."""
    vm = world.vm
    first = (world.l2.l1_gpa_base + gpa) >> vm.page_shift  # first frame of that host page
    frames = world.backing >> vm.page_shift
    lines = []
    for gfn in sorted(g for g in vm.rmap if first <= g < first + frames):
        head = rmap_head(vm, gfn)
        entries = head if isinstance(head, list) else [head]
        lines.append(f"  rmap[{gfn:#x}] (L1 real {gfn << vm.page_shift:#x}):")
        for v in entries:
            lines.append(
                f"    {v:#018x}: L1 lpid {v >> RMAP_NESTED_LPID_SHIFT}, "
                f"L2 real {v & RMAP_NESTED_GPA_MASK:#x}, single-entry bit {v & 1}"
            )
    return "\n".join(lines)
