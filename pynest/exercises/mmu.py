"""Exercise generators for the radix MMU notebooks (01 and 02).

* :func:`translate_ea` -- "translate this EA": a hypervisor process world dumped as
  memory, one load/store/fetch; the answer is the real address, or the fault with the
  level where the walk stops. The answer comes from :func:`pynest.mmu.translate` on
  that very memory, and :meth:`Exercise.reveal` shows its walk trace.
* :func:`partition_entry` -- "where is PATE[LPID] under this PTCR", "which LPID's row
  is this address", "how many LPIDs fit"; bad PTCR/LPID combinations end in an HDSI.
* :func:`decode_pte` -- "decode this entry": the real address a leaf gives, its EAA
  rights, its R/C bits, or where a directory entry points.

Every generator takes a ``seed`` and draws from its own ``random.Random``; the same seed
gives the same exercise on every run.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..errors import FieldError
from ..mmu import constants as C
from ..mmu.builder import make_pde, make_pte
from ..mmu.formats import Pde, Ptcr, Pte, decode_entry, page_size_text
from ..mmu.xlate import Translation, translate
from ..scenarios.hv_process import dump_text, hv_process_world
from ..scenarios.radix import MmuWorld, Page, pate_lookup
from .base import Exercise, FaultAnswer, LettersAnswer, NumberAnswer

_PAGE_SHIFT = {C.PAGE_4K: 12, C.PAGE_64K: 16, C.PAGE_2M: 21, C.PAGE_1G: 30}
_LEAF_LEVEL = {C.PAGE_1G: 1, C.PAGE_2M: 2, C.PAGE_64K: 3, C.PAGE_4K: 3}
_ACCESS_NEEDS = {"load": "r", "store": "w", "fetch": "x"}


def _rng(kind: str, seed: int) -> random.Random:
    # A string seed is hashed with SHA-512 by random.seed: stable across runs and
    # Python versions, and different generators get different streams for one seed.
    return random.Random(f"pynest-{kind}-{seed}")


def ea_breakdown(ea: int, page_size: int = C.PAGE_4K) -> str:
    """The EA's fields for a POWER9 52-bit tree, one per line with ISA bits and Python."""
    shift = _PAGE_SHIFT[page_size]
    mask = (1 << shift) - 1
    fields = [
        ("quadrant", "0:1", "ea >> 62", ea >> 62),
        ("zero", "2:11", "ea >> 52 & 0x3ff", (ea >> 52) & 0x3FF),
        ("L0 index", "12:24", "ea >> 39 & 0x1fff", (ea >> 39) & 0x1FFF),
    ]
    fields.append(("L1 index", "25:33", "ea >> 30 & 0x1ff", (ea >> 30) & 0x1FF))
    if shift < 30:
        fields.append(("L2 index", "34:42", "ea >> 21 & 0x1ff", (ea >> 21) & 0x1FF))
    if shift == 16:
        fields.append(("L3 index", "43:47", "ea >> 16 & 0x1f", (ea >> 16) & 0x1F))
    elif shift == 12:
        fields.append(("L3 index", "43:51", "ea >> 12 & 0x1ff", (ea >> 12) & 0x1FF))
    fields.append(("offset", f"{64 - shift}:63", f"ea & {mask:#x}", ea & mask))
    return "\n".join(
        f"  {name:<9} EA bits {bits:<6} {expr:<19} = {value:#x}"
        for name, bits, expr, value in fields
    )


def _answer_of(t: Translation, ea: int, what_page: Page | None) -> object:
    """The answer record for translation ``t``, with the usual slips as mistakes."""
    if t.fault is not None:
        f = t.fault
        return FaultAnswer(f.interrupt, f.level, " | ".join(f.flags), f.stage)
    assert t.ra is not None and t.page_size is not None
    mask = t.page_size - 1
    mistakes: dict[int, str] = {}
    if t.page_size > C.PAGE_4K:
        wrong = (t.ra & ~mask) | (ea & 0xFFF)
        mistakes[wrong] = (
            f"you kept 12 offset bits, but this is a {page_size_text(t.page_size)} page: "
            f"the offset is the low {mask.bit_length()} bits of the EA."
        )
    if ea & mask:
        mistakes[t.ra & ~mask] = "that is where the page starts; add the offset within the page."
    mistakes.setdefault(ea, "that is the EA itself; the tables map it somewhere else.")
    if what_page is not None:
        mistakes.setdefault(what_page.ra | (ea & 0xFFF), "check the page size of the leaf.")
    mistakes.pop(t.ra, None)
    return NumberAnswer(t.ra, "real address", mistakes, "this access translates")


def translate_ea(seed: int = 0) -> Exercise:
    """ "Translate this EA" in a seeded hypervisor process world (see module docstring)."""
    world = hv_process_world(seed)
    rng = _rng("translate", seed)
    case = rng.choice(("hit", "hit", "store", "neighbour", "hole", "fetch", "hit-large"))
    ea, access, page = _pick_access(world, rng, case)
    t = translate(world.mem, world.cpu, ea, access, update_rc=False)
    answer = _answer_of(t, ea, page)
    question = (
        f"A radix hypervisor (MSR = {world.cpu.msr:#x}: HV=1, IR=DR=1) runs PID "
        f"{world.cpu.pidr}.\nPTCR = {world.cpu.ptcr:#x}, LPIDR = 0. These are the non-zero "
        "doublewords of memory (all others are zero):\n"
        f"{dump_text(world)}\n"
        f"Translate a {access} of EA {ea:#018x}.\n"
        "Answer with the real address, or name the fault and the level where the walk "
        "stops, as <interrupt> L<n> (L0 is the root)."
    )
    solution = (
        "Split the EA (POWER9 tree: 13, 9, 9, 9 index bits, or 5 at level 3 for 64K pages):\n"
        f"{ea_breakdown(ea, _walk_page_size(t))}\n"
        "Each entry's address is the table base + 8 * index. The walk, every read in order:\n"
        f"{t}"
    )
    hint = "start at PATE[0] (PTCR's PATB + 16 * 0), then PRTE[PID] at PRTB + 16 * PID."
    form = "the real address (0x... or decimal), or the fault as <interrupt> L<n>"
    return Exercise("translate", seed, question, answer, solution, hint, form)


def _walk_page_size(t: Translation) -> int:
    """Page size of the process-scoped leaf the walk reached; for a walk that faulted
    first, the size its tables were heading for (64K below a level-2 entry with NLS 5)."""
    size = C.PAGE_4K
    for s in t.steps:
        if s.tree != "process" or not s.raw & C.PTE_V:
            continue
        if s.raw & C.PTE_L:
            return {1: C.PAGE_1G, 2: C.PAGE_2M}.get(s.level, size)
        if s.level == 2 and s.raw & C.PDE_NLS == 5:
            size = C.PAGE_64K
    return size


def _pick_access(world: MmuWorld, rng: random.Random, case: str) -> tuple[int, str, Page]:
    pages = world.pages
    readable = [p for p in pages if "r" in p.perms or "w" in p.perms]
    small = [p for p in pages if p.size == C.PAGE_4K]
    if case == "hit-large":
        big = [p for p in readable if p.size > C.PAGE_4K]
        case = "hit" if not big else case
        if big:
            p = rng.choice(big)
            return p.ea + rng.randrange(p.size) & ~7, "load", p
    if case == "hit":
        p = rng.choice(readable or pages)
        access = "load" if p in readable else "fetch"
        return p.ea + (rng.randrange(p.size) & ~7), access, p
    if case == "store":
        p = rng.choice(pages)
        return p.ea + (rng.randrange(min(p.size, 1 << 16)) & ~7), "store", p
    if case == "fetch":
        p = rng.choice(pages)
        return p.ea + (rng.randrange(C.PAGE_4K) & ~3), "fetch", p
    if case == "neighbour":
        p = rng.choice(small)
        mapped = {q.ea for q in small}
        while True:
            other = (p.ea & ~(C.PAGE_2M - 1)) + rng.randrange(512) * C.PAGE_4K
            if other not in mapped:
                return other + (rng.randrange(C.PAGE_4K) & ~7), "load", p
    # "hole": same 1 GiB region as the 4K pages, a 2 MiB region with nothing in it
    p = rng.choice(small)
    used = {q.ea >> 21 for q in pages if q.size < C.PAGE_1G}
    while True:
        region = ((p.ea >> 30) << 9) + rng.randrange(512)
        if region not in used:
            return (region << 21) + (rng.randrange(C.PAGE_2M) & ~7), "load", p


def partition_entry(seed: int = 0) -> Exercise:
    """ "Where is the partition-table entry?" and friends, from a seeded PTCR."""
    rng = _rng("partition", seed)
    pats = rng.choice((0, 0, 1, 2, 4))
    size = 1 << (pats + 12)
    patb = rng.randrange(1, 0x400) * max(size, 1 << 16)
    case = rng.choice(("address", "address", "row", "count", "beyond", "misaligned"))
    nlpids = 1 << (pats + 8)
    if case == "misaligned":
        patb += C.PAGE_4K * rng.randrange(1, 16) if size > C.PAGE_4K else 0
        if patb % size == 0:  # PATS 0 tables are 4K: any 4K-aligned PATB is aligned
            case = "beyond"
    lpid = rng.randrange(1, min(nlpids, 64))
    if case == "beyond":
        lpid = nlpids + rng.randrange(0, 64)
    ptcr = patb | pats
    p = Ptcr.decode(ptcr)
    intro = (
        f"PTCR = {ptcr:#x}.\n(PATB is ISA bits 4:51, Python ptcr & 0x0fff_ffff_ffff_f000; "
        "PATS is bits 59:63, ptcr & 0x1f.)\n"
    )
    if case == "count":
        answer = NumberAnswer(
            p.num_lpids,
            "number of LPIDs",
            {
                p.table_bytes: "that is the table size in bytes; each entry takes 16 bytes.",
                1 << pats: "the table is 2**(PATS + 12) bytes, not 2**PATS entries.",
                p.table_bytes // 8: "an entry is two doublewords: 16 bytes, not 8.",
            },
            "a table size is just a number",
        )
        question = intro + "How many LPIDs does this partition table have entries for?"
        solution = (
            f"PATS = {pats}: the table is 2**(PATS + 12) = {p.table_bytes:#x} bytes; each entry "
            f"(PATE) is 16 bytes, so it holds 2**(PATS + 8) = {p.num_lpids} entries: "
            f"LPIDs 0 .. {p.num_lpids - 1}."
        )
        return Exercise("partition-table", seed, question, answer, solution)
    if case == "row":
        dw = rng.randrange(2)
        addr = patb + 16 * lpid + 8 * dw
        answer = NumberAnswer(
            lpid,
            "LPID",
            {
                (addr - patb) // 8: "that counts doublewords; an entry is two of them.",
                addr - patb: "that is the byte offset; divide it by the size of an entry "
                "(two doublewords).",
            },
            "this only asks for an index",
        )
        question = (
            intro + f"The hypervisor stores a doubleword at host real address {addr:#x}. "
            "Which LPID's partition-table entry is it part of?"
        )
        solution = (
            f"offset = {addr:#x} - PATB {patb:#x} = {addr - patb:#x}; LPID = offset // 16 = "
            f"{lpid}; offset % 16 = {8 * dw}, so it is dw{dw} "
            + ("(the partition-scoped tree)." if dw == 0 else "(the process table).")
        )
        return Exercise("partition-table", seed, question, answer, solution)
    t = pate_lookup(ptcr, lpid)
    question = (
        intro + f"A thread with LPIDR = {lpid} translates an address, so the MMU needs "
        f"PATE[{lpid}]. At which host real address does it read that entry's dw0? If the "
        "MMU cannot use this PTCR for this LPID, name the interrupt instead."
    )
    pate_steps = [s for s in t.steps if s.tree == "partition-table"]
    if pate_steps:
        addr = pate_steps[0].hra
        answer = NumberAnswer(
            addr,
            "PATE address",
            {
                patb + 8 * lpid: "entries are 16 bytes (dw0 and dw1), not 8.",
                patb + lpid: "the LPID indexes 16-byte entries: multiply it by 16.",
                addr + 8: "that is dw1 (the process table); dw0 comes first.",
                patb: "that is PATE[0]; add 16 * LPID.",
            },
            f"PATB {patb:#x} is aligned to the {p.table_bytes:#x}-byte table and LPID "
            f"{lpid} < {p.num_lpids}, so the entry is read from memory",
        )
        solution = (
            f"PATB = {patb:#x}, PATS = {pats} ({p.table_bytes:#x} bytes, LPIDs 0 .. "
            f"{p.num_lpids - 1}): PATB is aligned and LPID {lpid} is in range.\n"
            f"PATE[{lpid}] = PATB + 16 * {lpid} = {addr:#x} (dw0), {addr + 8:#x} (dw1).\n"
            f"Model trace: {t.steps[0]}"
        )
    else:
        f = t.fault
        assert f is not None
        answer = FaultAnswer(f.interrupt, None, " | ".join(f.flags), "partition table")
        solution = (
            f"{f.reason}. QEMU's ppc64_v3_get_pate refuses it, and the access takes an "
            f"{f.interrupt} with cause {' | '.join(f.flags)} (HDAR = ASDR = EA): a "
            "hypervisor interrupt, because the partition table belongs to the hypervisor.\n"
            f"Model: {f}"
        )
    hint = "the table has 2**(PATS + 8) entries of 16 bytes and must be aligned to its size."
    form = "the host real address of dw0 (0x... or decimal), or the interrupt's name"
    return Exercise("partition-table", seed, question, answer, solution, hint, form)


# ----------------------------------------------------------------------- decode an entry
_EAA_NAMES = {"p": "p (privileged)", "r": "r (read)", "w": "w (read/write)", "x": "x (execute)"}


def _entry_fields(raw: int) -> str:
    """Every field of a PDE/PTE with its ISA bits, mask and value."""
    e = decode_entry(raw)
    rows = [
        ("V", "0", C.PTE_V, int(bool(raw & C.PTE_V))),
        ("L", "1", C.PTE_L, int(bool(raw & C.PTE_L))),
    ]
    if isinstance(e, Pte):
        rows += [
            ("RPN", "7:51", C.PTE_RPN, raw & C.PTE_RPN),
            ("R", "55", C.PTE_R, int(e.r)),
            ("C", "56", C.PTE_C, int(e.c)),
            ("ATT", "58:59", C.PTE_ATT, (raw & C.PTE_ATT) >> 4),
            ("EAA p", "60", C.PTE_EAA_PRIV, int(e.priv)),
            ("EAA r", "61", C.PTE_EAA_READ, int(e.read)),
            ("EAA rw", "62", C.PTE_EAA_RW, int(e.rw)),
            ("EAA x", "63", C.PTE_EAA_EXEC, int(e.exec)),
        ]
    else:
        rows += [
            ("NLB", "4:55", C.PDE_NLB, raw & C.PDE_NLB),
            ("NLS", "59:63", C.PDE_NLS, raw & C.PDE_NLS),
        ]
    out = [f"  {'field':<7}{'ISA bits':<10}{'Python':<26}value"]
    for name, bits, mask, value in rows:
        out.append(f"  {name:<7}{bits:<10}{_mask_expr(mask):<26}{value:#x}")
    return "\n".join(out)


def _mask_expr(mask: int) -> str:
    """A field mask as a short Python expression: ``raw >> 8 & 1`` for one bit,
    ``raw >> 4 & 0x3`` for a narrow field, ``raw & (2**45-1) << 12`` for an address field
    (never an 18-digit mask)."""
    shift = (mask & -mask).bit_length() - 1
    width = mask.bit_length() - shift
    if width == 1:
        return f"raw >> {shift} & 1"
    if mask < 1 << 16:
        return f"raw >> {shift} & {mask >> shift:#x}" if shift else f"raw & {mask:#x}"
    return f"raw & (2**{width}-1) << {shift}"


def decode_pte(seed: int = 0) -> Exercise:
    """ "Decode this entry": a seeded PTE (or PDE) and one question about its fields."""
    rng = _rng("decode", seed)
    case = rng.choice(("ra", "ra", "eaa", "rc", "pde"))
    if case == "pde":
        level = rng.randrange(0, 3)
        nls = 5 if level == 2 and rng.random() < 0.3 else 9
        nlb = rng.randrange(0x10, 0x40000) * (8 << nls)
        raw = make_pde(nlb, nls)
        d = Pde.decode(raw)
        question = (
            f"The level-{level} entry of a radix walk is {raw:#018x}.\n"
            "Is it a leaf? If not, at which real address does the next table start?"
        )
        answer = NumberAnswer(
            d.nlb,
            "next-level base",
            {
                raw & 0x0FFF_FFFF_FFFF_F000: "NLB is bits 4:55: keep the bits down to 0x100.",
                raw & ~0x1F: "clear V (bit 0) as well: NLB is bits 4:55 only.",
            },
            "a directory entry with V=1 does not fault",
        )
        solution = (
            f"L (bit 1, raw >> 62 & 1) is 0: a directory entry (PDE).\n"
            f"{_entry_fields(raw)}\n"
            f"NLB = {_mask_expr(C.PDE_NLB)} = {d.nlb:#x}; the next table has 2**NLS = "
            f"{1 << d.nls} entries of 8 bytes ({8 << d.nls:#x} bytes)."
        )
        return Exercise("decode-pte", seed, question, answer, solution)
    size = rng.choice((C.PAGE_4K, C.PAGE_4K, C.PAGE_64K, C.PAGE_2M, C.PAGE_1G))
    perms = "".join(c for c in "prwx" if rng.random() < (0.25 if c == "p" else 0.5)) or "r"
    r = rng.random() < 0.6
    c = r and rng.random() < 0.5
    ra = rng.randrange(1, 1 << 20) * size & ((1 << 56) - 1)
    raw = make_pte(ra, perms, r=r, c=c)
    pte = Pte.decode(raw)
    level = _LEAF_LEVEL[size]
    where = f"a leaf at level {level} mapping a {page_size_text(size)} page"
    fields = _entry_fields(raw)
    if case == "ra":
        ea = (rng.randrange(1, 1 << 22) * size + (rng.randrange(size) & ~7)) & ((1 << 52) - 1)
        mask = size - 1
        expect = (pte.rpn & ~mask) | (ea & mask)
        mistakes = {pte.rpn: "that is the page's start (RPN); add the offset within the page."}
        if size > C.PAGE_4K:
            mistakes[(pte.rpn & ~mask) | (ea & 0xFFF)] = (
                f"a {page_size_text(size)} page keeps the low {mask.bit_length()} EA bits, not 12."
            )
        mistakes.pop(expect, None)
        question = (
            f"A walk for EA {ea:#018x} ends at the PTE {raw:#018x}, {where}.\n"
            "Which real address does the access reach?"
        )
        answer = NumberAnswer(expect, "real address", mistakes, "V=1 and the walk ended")
        solution = (
            f"{fields}\nRPN (bits 7:51) = {pte.rpn:#x}. The page is {page_size_text(size)}, so "
            f"the low {mask.bit_length()} bits come from the EA:\n  RA = (RPN & ~{mask:#x}) | "
            f"(EA & {mask:#x}) = {pte.rpn & ~mask:#x} | {ea & mask:#x} = {expect:#x}"
        )
        return Exercise("decode-pte", seed, question, answer, solution)
    if case == "eaa":
        letters = "".join(
            ch for ch, on in zip("prwx", (pte.priv, pte.read, pte.rw, pte.exec), strict=True) if on
        )
        question = (
            f"The PTE {raw:#018x} is {where}.\nWhich EAA bits (60:63) are set? Answer with "
            "letters: p (privileged), r (read), w (read/write), x (execute)."
        )
        answer = LettersAnswer(letters, "prwx", _EAA_NAMES)
        solution = (
            f"{fields}\nEAA = raw & 0xf = {raw & 0xF:#06b} -> {pte.eaa_text}. "
            "w is the read/write bit: it grants loads as well as stores."
        )
        return Exercise("decode-pte", seed, question, answer, solution)
    letters = ("r" if pte.r else "") + ("c" if pte.c else "")
    question = (
        f"The PTE {raw:#018x} is {where}.\nIs its Reference bit (R, bit 55) set? Its "
        "Change bit (C, bit 56)? Answer with the letters of the set bits ('rc', 'r', or "
        "'none')."
    )
    answer = LettersAnswer(letters, "rc", {"r": "R (referenced)", "c": "C (changed)"})
    solution = (
        f"{fields}\nR = raw & 0x100 -> {int(pte.r)}, C = raw & 0x80 -> {int(pte.c)}. The MMU "
        "sets R on any access and C on a store, writing the PTE back."
    )
    return Exercise("decode-pte", seed, question, answer, solution)


GENERATORS: dict[str, Callable[[int], Exercise]] = {
    "translate": translate_ea,
    "partition-table": partition_entry,
    "decode-pte": decode_pte,
}
"""Every MMU exercise generator by kind."""


def generate(kind: str, seed: int = 0) -> Exercise:
    """The exercise of ``kind`` for ``seed`` (kinds: see :data:`GENERATORS`)."""
    gen = GENERATORS.get(kind)
    if gen is None:
        raise FieldError(f"unknown exercise kind {kind!r}; choose from {', '.join(GENERATORS)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FieldError(f"seed must be an int, got {seed!r}")
    return gen(seed)
