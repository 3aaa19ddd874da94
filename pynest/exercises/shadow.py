"""Nested page faults, one L2 access at a time, and seeded exercises about them (notebook 08).

The world (:func:`shadow_world`) is the smallest one in which every branch of
``__kvmhv_nested_page_fault`` can be reached by choice: an L0 (PAGE_SIZE 64K) with one L1
whose memory it backs with ``backing`` pages, and one L2 of 16 MiB that the L1 maps with
``l1_page`` pages. The L2's kernel reaches all of its memory through a linear map
(quadrant 3, PID 0, EA ``0xc000000000000000 + L2 real``, 2M pages), so an access can be
aimed at any L2 real address. :func:`touch` makes the L2 do one load or store there and
returns what happened as a :class:`Touch` record, cut from L0's event log.

Exercise kind ``shadow`` (:func:`shadow_fault`) asks one of three questions, each
answered by running the model on that very world:

* what page size the shadow PTE gets (L1 page size x L0 backing size);
* whether the fault is reflected to the L1, and with which HDSISR bits;
* which host real address the access reaches (L2 real -> L1 real -> host real).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import AddressError, ConfigError, FieldError
from ..kvm import shadow as S
from ..kvm.events import Event
from ..kvm.hcalls import H_CEDE
from ..kvm.host import L0, L1Vm
from ..kvm.l1 import L1, L2Guest
from ..kvm.l2 import Hcall, Load, Program, Store
from ..kvm.nested import NestedGuest
from ..kvm.versions import DEFAULT_KERNEL, has, row
from ..mmu import constants as C
from ..mmu.formats import page_size_text
from .base import Exercise, NumberAnswer, parse_number

LINEAR_EA = 0xC000_0000_0000_0000
"""Where the L2 kernel's linear map starts: EA = LINEAR_EA + L2 real address."""
CODE_EA = 0x1_0000
L2_MEM = 16 << 20
PAGE_TABLES = (1 << 20, 4 << 20)
"""L2 real range that holds the L2's own process table and page tables."""

DSISR_NAMES: dict[str, int] = {
    "NOHPTE": S.DSISR_NOHPTE,
    "PROTFAULT": S.DSISR_PROTFAULT,
    "ISSTORE": S.DSISR_ISSTORE,
    "SET_RC": S.DSISR_SET_RC,
    "PRTABLE_FAULT": S.DSISR_PRTABLE_FAULT,
    "UNSUPP_MMU": S.DSISR_UNSUPP_MMU,
    "BADACCESS": S.DSISR_BADACCESS,
    "NOEXEC_OR_G": S.DSISR_NOEXEC_OR_G,
}
"""The kernel's names (asm/reg.h) of the HDSISR bits a reflected nested fault can carry."""
_ALIASES = {"NOPTE": "NOHPTE", "ATOMIC_RC": "SET_RC", "RC": "SET_RC", "STORE": "ISSTORE"}


def dsisr_text(value: int) -> str:
    """``0x42000000`` as ``NOHPTE | ISSTORE``."""
    names = [n for n, bit in DSISR_NAMES.items() if value & bit]
    rest = value & ~sum(DSISR_NAMES[n] for n in names)
    if rest:
        names.append(f"{rest:#x}")
    return " | ".join(names) if names else "0"


# ----------------------------------------------------------------------- the world
@dataclass
class ShadowWorld:
    """L0, the L1 (L0's view ``vm`` and the L1 kernel ``l1``) and its one L2."""

    l0: L0
    vm: L1Vm
    l1: L1
    l2: L2Guest
    l1_page: int
    backing: int

    @property
    def gp(self) -> NestedGuest | None:
        """L0's nested-guest struct for the L2 (None before its first H_ENTER_NESTED)."""
        return self.vm.nested.find(self.l2.lpid)


def shadow_world(
    l1_page: int = C.PAGE_64K,
    backing: int = C.PAGE_64K,
    *,
    l1s_before: int = 0,
    l1_ram_before: int = 0,
    perms: str = "rwx",
    set_rc: bool = True,
    l0_kernel: str = DEFAULT_KERNEL,
) -> ShadowWorld:
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
    return ShadowWorld(l0, vm, l1, l2, l1_page, backing)


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


def check_l2_address(world: ShadowWorld, gpa: object, access: str = "load") -> int:
    """``gpa`` as an L2 real address the L2 may touch, or a :class:`FieldError` /
    :class:`AddressError` that says why not."""
    value = parse_number(gpa, "L2 real address")
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


def touch(world: ShadowWorld, gpa: object, access: str = "load", value: int = 0x5EED) -> Touch:
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


def shadow_size_of(world: ShadowWorld, gpa: int) -> int | None:
    """The size of the shadow PTE covering L2 real ``gpa`` now (None: none)."""
    gp = world.gp
    if gp is None:
        return None
    for addr, _slot, _pte, shift in S.shadow_leaves(gp, gpa, gpa + 1):
        if addr <= gpa < addr + (1 << shift):
            return 1 << shift
    return None


# ----------------------------------------------------------------------- answers
_SIZE_RE = re.compile(r"^(\d+)\s*([kmg])(?:i?b)?$")
_UNITS = {"k": 10, "m": 20, "g": 30}


def parse_page_size(text: object) -> int:
    """``64K``, ``64 KiB``, ``2M``, ``1g``, ``0x10000`` or ``65536`` as a byte count."""
    if isinstance(text, str):
        m = _SIZE_RE.match(text.strip().lower().replace(" ", ""))
        if m:
            return int(m.group(1)) << _UNITS[m.group(2)]
    return parse_number(text, "page size")


@dataclass(frozen=True)
class PageSizeAnswer:
    """A page size, typed as ``64K`` / ``2M`` / ``1G`` or as a number of bytes."""

    value: int
    mistakes: dict[int, str] = field(default_factory=dict)

    def check(self, given: object) -> tuple[bool, str]:
        try:
            size = parse_page_size(given)
        except FieldError as e:
            return False, f"Not understood: {e}. Write a size such as 64K, 2M or 0x10000."
        if size == self.value:
            return True, f"Correct: {self}."
        if size not in C.PAGE_SIZES:
            return False, f"No: {size:#x} is not a radix page size (4K, 64K, 2M, 1G)."
        slip = self.mistakes.get(size)
        return False, f"No, not {page_size_text(size)}" + (f": {slip}" if slip else ".")

    def __str__(self) -> str:
        return f"{page_size_text(self.value)} ({self.value:#x} bytes)"


_NO_WORDS = {"no", "not reflected", "none", "l0", "l0 handles it", "no reflection", "0"}


@dataclass(frozen=True)
class ReflectAnswer:
    """Either "not reflected" (``dsisr`` None) or the exact HDSISR the L1 receives.

    Bits can be typed by name (``NOHPTE ISSTORE``, ``protfault|isstore``; ``NOPTE``,
    ``ATOMIC_RC`` are accepted too) or as a number (``0x42000000``).
    """

    dsisr: int | None
    note: str = ""
    """Added to the feedback of a wrong answer (e.g. which kernel's R/C rule applies)."""

    @staticmethod
    def parse(given: object) -> int | None:
        """The HDSISR an answer names, None for "not reflected"; FieldError if unclear."""
        if not isinstance(given, str):
            return parse_number(given, "HDSISR")
        text = given.strip().lower()
        if text in _NO_WORDS or re.match(r"^(no|not)\b", text):
            return None
        try:
            return parse_number(text, "HDSISR", bits=32)
        except FieldError:
            pass
        value = 0
        for word in re.split(r"[\s,|+/]+", text.upper().replace("DSISR_", "")):
            if not word or word in ("YES", "HDSI", "0XE00", "REFLECTED", "WITH", "AND"):
                continue
            name = _ALIASES.get(word, word)
            if name not in DSISR_NAMES:
                raise FieldError(
                    f"{word!r} is not an HDSISR bit name; use {', '.join(DSISR_NAMES)}, a hex "
                    "value, or 'no'"
                )
            value |= DSISR_NAMES[name]
        if not value:
            raise FieldError("name the HDSISR bits (e.g. NOHPTE ISSTORE) or answer 'no'")
        return value

    def check(self, given: object) -> tuple[bool, str]:
        try:
            got = self.parse(given)
        except FieldError as e:
            return False, f"Not understood: {e}."
        if got == self.dsisr:
            return True, f"Correct: {self}."
        text = self._wrong(got)
        return False, f"{text} {self.note}" if self.note else text

    def _wrong(self, got: int | None) -> str:
        if self.dsisr is None:
            return "No: L0 can handle this one without the L1."
        if got is None:
            return "No: the L1 has to see this fault; L0 cannot fix it alone."
        missing, extra = self.dsisr & ~got, got & ~self.dsisr
        parts = []
        if missing:
            parts.append(f"missing {dsisr_text(missing)}")
        if extra:
            parts.append(f"not set: {dsisr_text(extra)}")
        return "Reflected, yes, but " + "; ".join(parts) + "."

    def __str__(self) -> str:
        if self.dsisr is None:
            return "not reflected (L0 handles it and resumes the L2)"
        return f"reflected as trap 0xe00 with HDSISR {self.dsisr:#010x} = {dsisr_text(self.dsisr)}"


# ----------------------------------------------------------------------- generators
def _rng(seed: int) -> random.Random:
    return random.Random(f"pynest-shadow-{seed}")


_SIZE_CASES = (
    (C.PAGE_64K, C.PAGE_64K),
    (C.PAGE_64K, C.PAGE_2M),
    (C.PAGE_2M, C.PAGE_64K),
    (C.PAGE_2M, C.PAGE_2M),
    (C.PAGE_2M, C.PAGE_1G),
    (C.PAGE_64K, C.PAGE_1G),
)

# (L1 tree state for the page, access): what the L1 did to its PTE before the access
#: The L0 kernels a reflect question runs: before and since row nested-rc.
_RC_KERNELS = ("4.20", "5.0")
_REFLECT_CASES = (
    ("unmapped", "load"),
    ("unmapped", "store"),
    ("read-only", "store"),
    ("read-only", "load"),
    ("no-rc", "load"),
    ("r-only-set", "store"),
    ("r-only-set", "load"),
    ("full", "store"),
)
_STATE_TEXT = {
    "unmapped": "has no entry for that page yet",
    "read-only": "maps the page read-only (EAA r, R and C set)",
    "no-rc": "maps the page read/write with R = 0 and C = 0",
    "r-only-set": "maps the page read/write with R = 1 and C = 0",
    "full": "maps the page read/write with R = 1 and C = 1",
}


def _data_gpa(rng: random.Random, align: int = 8) -> int:
    """An L2 real address outside the L2's page tables."""
    lo = PAGE_TABLES[1]
    return (rng.randrange(lo, L2_MEM) // align) * align


def _size_question(seed: int, rng: random.Random) -> Exercise:
    l1_page, backing = rng.choice(_SIZE_CASES)
    world = shadow_world(l1_page, backing)
    gpa = _data_gpa(rng)
    t = touch(world, gpa, "load")
    size = shadow_size_of(world, gpa)
    assert size is not None
    naive = min(l1_page, backing)
    mistakes = {
        l1_page: "that is the L1's page; L0 can only map what it has itself backed, and "
        "the shadow PTE can be no larger than either mapping.",
        backing: "that is L0's host page; the L1's mapping may be smaller, and the shadow "
        "PTE must not reach past it.",
    }
    if naive != size:
        mistakes[naive] = (
            "the smaller of the two, yes in spirit, but the kernel can only insert PAGE_SIZE, "
            "2M or 1G entries, and it uses 2M only when the L1's page is larger than 2M "
            "(PMD_SHIFT < l1_shift)."
        )
    mistakes.pop(size, None)
    question = (
        f"L0 runs with PAGE_SIZE 64K and backs its L1's memory with "
        f"{page_size_text(backing)} pages. The L1 maps its L2's memory with "
        f"{page_size_text(l1_page)} pages (its partition-scoped tree for the L2).\n"
        f"The L2 loads from L2 real {gpa:#x}; the shadow tree has nothing there yet.\n"
        "What page size does the shadow PTE that L0 inserts get? (e.g. 64K, 2M, 1G)"
    )
    shift, l1_shift = backing.bit_length() - 1, l1_page.bit_length() - 1
    rule = (
        f"host shift {shift} > L1 shift {l1_shift}: actual_shift = "
        + ("PMD_SHIFT (21)" if 21 < l1_shift else "PAGE_SHIFT (16)")
        + " because PMD_SHIFT < l1_shift is "
        + str(21 < l1_shift)
        if shift > l1_shift
        else f"host shift {shift} <= L1 shift {l1_shift}: the host page size is kept"
    )
    solution = (
        "__kvmhv_nested_page_fault starts from L0's own PTE for the L1 page (its shift) and, "
        "if that is larger than the L1's page, shrinks it:\n"
        f"  {rule}.\n"
        "The model, on this very world:\n" + t.summary()
    )
    hint = "the shadow PTE can be no larger than the L1's page nor L0's host page."
    return Exercise("shadow", seed, question, PageSizeAnswer(size, mistakes), solution, hint)


def _prepare(world: ShadowWorld, gpa: int, state: str) -> None:
    """Put the L1's PTE for the page holding ``gpa`` in ``state``."""
    l1, l2 = world.l1, world.l2
    if state == "unmapped":
        return
    l1.map_l2_page(l2, gpa)
    page = gpa & -l2.page_size
    if state == "read-only":
        l2.tree.set_pte_bits(page, clear_bits=C.PTE_EAA_RW | C.PTE_EAA_EXEC)
    elif state == "no-rc":
        l2.tree.set_pte_bits(page, clear_bits=C.PTE_R | C.PTE_C)
    elif state == "r-only-set":
        l2.tree.set_pte_bits(page, set_bits=C.PTE_R, clear_bits=C.PTE_C)


_RC_STATES = ("no-rc", "r-only-set", "full")
"""L1 PTE states whose answer depends on where the shadow PTE's R/C come from."""


def _rc_rule(kernel: str) -> str:
    """What the shadow PTE's R and C are under L0 ``kernel`` (row ``nested-rc``)."""
    fix = row("nested-rc")
    if has(kernel, "nested-rc"):
        return (
            f"Linux {kernel} builds the shadow PTE from L0's own PTE less the rights the L1's "
            "PTE lacks, and also less R unless the L1's PTE has R and less C unless it has C "
            "and this is a store; the retry then needs R/C (SET_RC) and "
            "kvmhv_handle_nested_set_rc reflects it if the L1's PTE lacks a needed bit "
            f'(pynest.kvm.versions row {fix.key!r}, since {fix.since}: "{fix.patch}").'
        )
    return (
        f"Linux {kernel} builds the shadow PTE from L0's own PTE less the rights "
        "(_PAGE_READ/_PAGE_WRITE/_PAGE_EXEC) the L1's PTE lacks; R and C come from L0's "
        "PTE, so the retry needs no SET_RC and the L1's own R/C bits are never set for the "
        "L2: the dirty-tracking bug 5.0 fixed "
        f"(pynest.kvm.versions row {fix.key!r}: before {fix.since}, {fix.before})."
    )


def _reflect_question(seed: int, rng: random.Random) -> Exercise:
    state, access = rng.choice(_REFLECT_CASES)
    gpa = _data_gpa(rng)
    # The two sides of row nested-rc, drawn last so the seed's case and address stay.
    kernel = rng.choice(_RC_KERNELS)
    world = shadow_world(C.PAGE_64K, C.PAGE_64K, l0_kernel=kernel)
    _prepare(world, gpa, state)
    t = touch(world, gpa, access)
    first = t.reflected[0].dsisr if t.reflected else None
    question = (
        f"L0 runs Linux {kernel}"
        + (" (the nested-HV series as merged)" if kernel == "4.20" else " (with 5.0's fixes)")
        + f". An L2 does a {access} at L2 real {gpa:#x}. L0 has no shadow PTE for it yet; "
        f"the L1's partition-scoped tree for this L2 {_STATE_TEXT[state]}.\n"
        "L0 takes the HDSI first. Does it reflect the fault to the L1 (H_ENTER_NESTED "
        "returns 0xe00)? Answer 'no', or the HDSISR the L1 sees: bit names such as "
        "'NOHPTE ISSTORE' or a hex value."
    )
    solution = (
        "L0 walks the L1's tree for the L2 (kvmhv_translate_addr_nested): no entry -> "
        "NOHPTE; a store without write permission -> PROTFAULT; ISSTORE is kept from the "
        "original HDSISR. If the walk succeeds L0 inserts a shadow PTE "
        "(__kvmhv_nested_page_fault). "
        + _rc_rule(kernel)
        + "\nThe model, on this very world:\n"
        + t.summary()
    )
    note = ""
    if state in _RC_STATES:
        note = f"Mind the kernel: L0 runs Linux {kernel}; the shadow PTE's R/C come " + (
            "from the L1's PTE too (5.0)." if has(kernel, "nested-rc") else "from L0 only."
        )
    hint = "L0 reflects exactly what the L1's own tree does not allow" + (
        "; and in Linux 5.0 that includes R and C."
        if has(kernel, "nested-rc")
        else "; in Linux 4.20 that does not include R and C."
    )
    return Exercise("shadow", seed, question, ReflectAnswer(first, note), solution, hint)


def _host_question(seed: int, rng: random.Random) -> Exercise:
    l1_page, backing = rng.choice(_SIZE_CASES)
    world = shadow_world(
        l1_page,
        backing,
        l1s_before=rng.randrange(0, 3) if backing != C.PAGE_1G else 0,
        l1_ram_before=rng.randrange(0, 5) * (16 << 20),
    )
    gpa = _data_gpa(rng)
    t = touch(world, gpa, "store")
    assert t.hpa is not None
    vm, l2 = world.vm, world.l2
    page = gpa & -l1_page
    l1_gpa = l2.mem_base + page
    hpa = t.hpa
    mistakes = {
        vm.mem_base + gpa: "that skips the L1's tree: L2 real is not L1 real.",
        l1_gpa + (gpa - page): "that is the L1 real address; L0's tree for the L1 maps it "
        "on to host memory.",
        gpa: "that is the L2 real address itself.",
    }
    mistakes.pop(hpa, None)
    question = (
        f"The L1's memory is host real {vm.mem_base:#x} .. {vm.mem_base + vm.mem_size - 1:#x}"
        f"; L0 maps L1 real x to host real {vm.mem_base:#x} + x with "
        f"{page_size_text(backing)} pages.\n"
        f"The L1 maps L2 real {page:#x} (a {page_size_text(l1_page)} page) to L1 real "
        f"{l1_gpa:#x}.\nThe L2 stores to L2 real {gpa:#x}. After L0's nested page fault "
        "handling, which host real address does the store reach?"
    )
    solution = (
        f"L2 real {gpa:#x} -> L1 real {l1_gpa:#x} + {gpa - page:#x} = {l1_gpa + gpa - page:#x}"
        f" -> host real {vm.mem_base:#x} + {l1_gpa + gpa - page:#x} = {hpa:#x}. The shadow "
        "PTE holds that composition, so the hardware needs one partition-scoped walk.\n"
        "The model, on this very world:\n" + t.summary()
    )
    answer = NumberAnswer(hpa, "host real address", mistakes, "the store completes")
    hint = "compose the two mappings: the L1's (L2 real -> L1 real), then L0's."
    return Exercise("shadow", seed, question, answer, solution, hint)


def shadow_fault(seed: int = 0) -> Exercise:
    """A nested-page-fault question (page size, reflection, or host address) for ``seed``."""
    rng = _rng(seed)
    case = rng.choice(("size", "reflect", "host"))
    if case == "size":
        return _size_question(seed, rng)
    if case == "reflect":
        return _reflect_question(seed, rng)
    return _host_question(seed, rng)


GENERATORS: dict[str, Callable[[int], Exercise]] = {"shadow": shadow_fault}
"""The exercise generators of this module by kind (for ``pynest exercise KIND``)."""
