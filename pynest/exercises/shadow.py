"""Seeded exercises about nested page faults (notebook 08), each answered by running the
model on the world of :mod:`pynest.scenarios.shadow`.

Exercise kind ``shadow`` (:func:`shadow_fault`) asks one of three questions:

* what page size the shadow PTE gets (L1 page size x L0 backing size);
* whether the fault is reflected to the L1, and with which HDSISR bits;
* which host real address the access reaches (L2 real -> L1 real -> host real).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import FieldError
from ..kvm.versions import has, row
from ..mmu import constants as C
from ..mmu.formats import page_size_text
from ..scenarios.l1 import World
from ..scenarios.shadow import (
    DSISR_NAMES,
    L2_MEM,
    PAGE_TABLES,
    dsisr_text,
    shadow_size_of,
    shadow_world,
    touch,
)
from .base import Exercise, NumberAnswer, other_examples, parse_number

_ALIASES = {"NOPTE": "NOHPTE", "ATOMIC_RC": "SET_RC", "RC": "SET_RC", "STORE": "ISSTORE"}


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
        except FieldError:
            examples = other_examples(_SIZE_EXAMPLES, lambda c: parse_page_size(c) == self.value)
            return False, (
                f"Not understood: {given!r}. Write a page size like {examples} (the form "
                "only, not this answer), or a number of bytes."
            )
        if size == self.value:
            return True, f"Correct: {self}."
        if size not in C.PAGE_SIZES:
            return False, f"No: {size:#x} bytes is not one of the radix MMU's four page sizes."
        slip = self.mistakes.get(size)
        return False, f"No, not {page_size_text(size)}" + (f": {slip}" if slip else ".")

    @property
    def form(self) -> str:
        return "a page size (<n>K, <n>M, <n>G) or a number of bytes"

    def __str__(self) -> str:
        return f"{page_size_text(self.value)} ({self.value:#x} bytes)"


_NO_WORDS = {"no", "not reflected", "none", "no reflection", "0"}
_NO_RE = re.compile(r"(no|not reflected|no reflection|none)[\s.!]*")
_SIZE_EXAMPLES = ("2M", "4K", "1G", "64K")


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
        if text in _NO_WORDS or _NO_RE.fullmatch(text):
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
                    f"{word!r} is not an HDSISR bit name. Use the bit names the question "
                    "gives, a hex value, or the question's word for a fault L0 keeps"
                )
            value |= DSISR_NAMES[name]
        if not value:
            raise FieldError(
                "name the HDSISR bits as the question does, or give the question's word "
                "for a fault L0 keeps"
            )
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
        # Counts, never bit names: naming the missing bits would be the answer.
        if self.dsisr is None:
            return "Wrong: that is not what happens to this fault."
        if got is None:
            return "Wrong: the L1 has to see this fault; L0 cannot fix it alone."
        missing, extra = self.dsisr & ~got, got & ~self.dsisr
        parts = []
        if extra:
            n = extra.bit_count()
            parts.append(
                f"{n} bit{'s' if n > 1 else ''} you named {'are' if n > 1 else 'is'} not set"
            )
        if missing:
            n = missing.bit_count()
            parts.append(f"{n} set bit{'s are' if n > 1 else ' is'} missing")
        return "Reflected, yes, but " + " and ".join(parts) + "."

    @property
    def form(self) -> str:
        return "'not reflected', or the HDSISR's bits by name or as a number"

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
        "What page size does the shadow PTE that L0 inserts get? (4K, 64K, 2M or 1G)"
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


def _prepare(world: World, gpa: int, state: str) -> None:
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
        "returns 0xe00)? Answer 'no', or the HDSISR the L1 sees: its bit names (NOHPTE, "
        "PROTFAULT, ISSTORE, SET_RC ...; several separated by spaces) or a hex value."
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
    l1_gpa = l2.l1_gpa_base + page
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
