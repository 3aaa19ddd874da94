"""The quadrant exercises (notebook 03), asked in the quadrant world of
:mod:`pynest.scenarios.quadrants`.

Exercise kinds (:data:`GENERATORS`):

* ``quadrant`` -- given MSR, LPIDR, PIDR and an EA: which LPID and PID does the MMU use,
  or which segment interrupt stops the access before any table is read;
* ``quadrant-ea`` -- the hypervisor wants a guest process's page, as KVM's
  ``__kvmhv_copy_tofrom_guest_radix`` does: which EA (which quadrant) must it use;
* ``quadrant-access`` -- a whole access in the quadrant world, privilege (EAA p, MSR[PR])
  and AMR/IAMR key 0 included: the real address, or the interrupt.

Every answer is computed by :func:`pynest.mmu.translate` on the world's memory. Each
generator draws from its own ``random.Random``: a seed gives the same exercise always.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import FieldError
from ..mmu import constants as C
from ..mmu.xlate import CpuState, Translation, translate
from ..scenarios.quadrants import (
    AMR_CHOICES,
    CODE_EA,
    DATA_EA,
    MODES,
    quadrant_world,
    tree_of,
    world_text,
)
from ..scenarios.radix import MmuWorld
from .base import Exercise, FaultAnswer, NumberAnswer, other_examples, parse_number

_WORLD: MmuWorld | None = None


def _shared_world() -> MmuWorld:
    """One quadrant world for the exercises (they only translate with update_rc=False)."""
    global _WORLD
    if _WORLD is None:
        _WORLD = quadrant_world()
    return _WORLD


def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"pynest-{kind}-{seed}")


# ----------------------------------------------------------------------- answers
_LPID_RE = re.compile(r"\blpid\s*[:=]?\s*(0x[0-9a-f_]+|[0-9_]+)")
_PID_RE = re.compile(r"(?<![a-z])pid\s*[:=]?\s*(0x[0-9a-f_]+|[0-9_]+)")
_NUM_RE = re.compile(r"0x[0-9a-f_]+|[0-9][0-9_]*")


def parse_ids(text: object) -> tuple[int, int] | None:
    """(LPID, PID) from 'LPID 7 PID 3', 'lpid=7, pid=3', '7, 3' or '(7 3)'; None if not."""
    if not isinstance(text, str):
        return None
    t = text.strip().lower()
    lp, p = _LPID_RE.search(t), _PID_RE.search(t)
    try:
        if lp and p:
            return parse_number(lp.group(1), "LPID", 32), parse_number(p.group(1), "PID", 32)
        nums = _NUM_RE.findall(t)
        if len(nums) == 2 and not re.search(r"[a-z]", _NUM_RE.sub("", t).replace("x", "")):
            return parse_number(nums[0], "LPID", 32), parse_number(nums[1], "PID", 32)
    except FieldError:
        return None
    return None


_IDS_EXAMPLES = ("LPID 7 PID 3", "LPID 2 PID 9", "LPID 5 PID 0")


@dataclass(frozen=True)
class IdsAnswer:
    """The (LPID, PID) pair a translation uses; ``mistakes`` explains common slips."""

    lpid: int
    pid: int
    mistakes: dict[tuple[int, int], str] = field(default_factory=dict)

    def _form(self) -> str:
        examples = other_examples(_IDS_EXAMPLES, lambda c: parse_ids(c) == (self.lpid, self.pid))
        return f"answer like {examples} (the form only, not this answer)"

    def check(self, given: object) -> tuple[bool, str]:
        if isinstance(given, str) and re.search(r"\b(h?dsi|h?isi|dseg|iseg|fault)\b", given, re.I):
            return False, (
                "No: EA bits 2:11 are zero and this quadrant is open in this mode, so the "
                f"MMU goes on to the tables. To name the tree, {self._form()}."
            )
        ids = parse_ids(given)
        if ids is None:
            return False, f"Not understood: {self._form()}."
        if ids == (self.lpid, self.pid):
            return True, f"Correct: {self}."
        slip = self.mistakes.get(ids)
        if slip:
            return False, f"No, not LPID {ids[0]} PID {ids[1]}: {slip}"
        wrong = []
        if ids[0] != self.lpid:
            wrong.append("the LPID")
        if ids[1] != self.pid:
            wrong.append("the PID")
        return False, f"No: {' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong."

    @property
    def form(self) -> str:
        return "LPID <n> PID <m>"

    def __str__(self) -> str:
        return f"LPID {self.lpid} PID {self.pid}"


@dataclass(frozen=True)
class SegmentAnswer(FaultAnswer):
    """A segment interrupt (DSEG/ISEG): answering with an LPID/PID pair is explained."""

    def check(self, given: object) -> tuple[bool, str]:
        if parse_ids(given) is not None:
            return False, (
                "No: this access never reaches the tables, so no LPID or PID is used. "
                "Which interrupt stops it?"
            )
        return FaultAnswer.check(self, given)


# ----------------------------------------------------------------------- helpers
def _mode_line(key: str, cpu: CpuState) -> str:
    label = MODES[key][0]
    return f"MSR = {cpu.msr:#018x}: {label}, IR=DR=1; LPIDR = {cpu.lpidr}, PIDR = {cpu.pidr}"


def _quadrant_rule(hv: bool, q: int, cpu: CpuState) -> str:
    if hv:
        return (
            "MSR[HV]=1: quadrant 0 -> (LPID 0, PIDR), 1 -> (LPIDR, PIDR), 2 -> (LPIDR, 0), "
            f"3 -> (LPID 0, 0). Quadrant {q} here: LPIDR = {cpu.lpidr}, PIDR = {cpu.pidr}."
        )
    return (
        "MSR[HV]=0: quadrant 0 -> (LPIDR, PIDR), 3 -> (LPIDR, 0); quadrants 1 and 2 are closed "
        f"(segment interrupt). Quadrant {q} here: LPIDR = {cpu.lpidr}, PIDR = {cpu.pidr}."
    )


def ea_split_text(ea: int) -> str:
    """EA bits 0:1 (quadrant), 2:11 (must be zero) and 12:63, with the Python for each."""
    return (
        f"  quadrant  EA bits 0:1    ea >> 62                 = {ea >> 62} (0b{ea >> 62:02b})\n"
        f"  zero      EA bits 2:11   ea >> 52 & 0x3ff         = {(ea >> 52) & 0x3FF:#x}\n"
        f"  address   EA bits 12:63  ea & 0x000f_ffff_ffff_ffff = {ea & ((1 << 52) - 1):#x}"
    )


def _translate(cpu: CpuState, ea: int, access: str) -> Translation:
    world = _shared_world()
    return translate(world.mem, cpu.replace(ptcr=0x100000), ea, access, update_rc=False)


# ----------------------------------------------------------------------- generators
_IDS_FORM = "LPID <n> PID <m>, or the interrupt that stops the access"


def quadrant_ids_exercise(seed: int = 0) -> Exercise:
    """Which LPID and PID does the MMU use for this EA (or which segment interrupt)?"""
    rng = _rng("quadrant", seed)
    key = rng.choice(("hv", "hv", "hv", "guest", "user"))
    msr = MODES[key][1]
    lpidr = rng.choice((7, 9, rng.randrange(1, 64)))
    pidr = rng.choice((3, 5, rng.randrange(1, 256)))
    cpu = CpuState(ptcr=0x100000, lpidr=lpidr, pidr=pidr, msr=msr)
    q = rng.randrange(4)
    offset = rng.randrange(1 << 40) & ~7
    bad_bits = rng.random() < 0.15
    if bad_bits:
        offset |= 1 << (52 + rng.randrange(10))
    ea = (q << 62) | offset
    access = rng.choice(("load", "load", "store", "fetch"))
    t = _translate(cpu, ea, access)
    hv = key == "hv"
    question = (
        f"{_mode_line(key, cpu)}.\nA {access} from EA {ea:#018x}.\n"
        "Which LPID and PID does the MMU use to translate it? Answer as 'LPID <n> PID <m>'; if "
        "the access is stopped before any table is read, name the interrupt instead."
    )
    split = ea_split_text(ea)
    if t.fault is not None and t.fault.stage == "segment":
        f = t.fault
        answer: object = SegmentAnswer(f.interrupt, None, "", "segment check")
        why = (
            "EA bits 2:11 are not all zero: radix translates only 52 bits"
            if ea & C.EA_SEGMENT_CHECK
            else f"a guest (MSR[HV]=0) may not use quadrant {q}"
        )
        solution = (
            f"{split}\n{why}, so the access takes a {f.interrupt} (vector {f.vector:#x}"
            + (", DAR = EA" if f.interrupt == "DSEG" else ", SRR0 = EA")
            + ") before the partition table is even looked at.\n"
            f"Model: {f}"
        )
        return Exercise("quadrant", seed, question, answer, solution, form=_IDS_FORM)
    assert t.lpid is not None and t.pid is not None
    mistakes: dict[tuple[int, int], str] = {}
    if t.pid != t.lpid:
        mistakes[(t.pid, t.lpid)] = "you swapped them: the LPID comes first."
    if (lpidr, pidr) != (t.lpid, t.pid):
        if hv and q in (0, 3):
            mistakes[(lpidr, t.pid)] = (
                f"in hypervisor mode quadrant {q} belongs to the host: LPID 0, not LPIDR."
            )
        if q in (2, 3):
            mistakes[(t.lpid, pidr)] = f"quadrant {q} is the kernel's: PID 0, not PIDR."
        mistakes.setdefault(
            (lpidr, pidr), "that is just LPIDR and PIDR; the quadrant decides which are used."
        )
    mistakes.pop((t.lpid, t.pid), None)
    answer = IdsAnswer(t.lpid, t.pid, mistakes)
    solution = (
        f"{split}\nEA bits 2:11 are zero, so the quadrant decides.\n"
        f"{_quadrant_rule(hv, q, cpu)}\n"
        f"-> LPID {t.lpid}, PID {t.pid}: the MMU reads PATE[{t.lpid}], then PRTE[{t.pid}] of "
        f"that partition's process table, and walks EA & 0x3fff_ffff_ffff_ffff in that tree."
    )
    return Exercise(
        "quadrant",
        seed,
        question,
        answer,
        solution,
        "look at the quadrant (the two top bits of the EA) first.",
        _IDS_FORM,
    )


def quadrant_ea_exercise(seed: int = 0) -> Exercise:
    """Which EA must the hypervisor use to reach a guest process's (or kernel's) address?"""
    rng = _rng("quadrant-ea", seed)
    lpid = rng.choice((7, 9, rng.randrange(1, 256)))
    pid = rng.choice((0, 0, 3, rng.randrange(1, 4096)))
    gea = (rng.randrange(1 << 44) & ~7) | rng.choice((0, 0xC000_0000_0000_0000))
    low = gea & C.EA_NOQUAD_MASK
    q = 2 if pid == 0 else 1
    ea = (q << 62) | low
    whose = "kernel (PID 0)" if pid == 0 else f"process PID {pid}"
    question = (
        f"KVM, running as the hypervisor (MSR[HV]=1), must load a doubleword of guest LPID "
        f"{lpid}'s {whose} at that guest's effective address {gea:#018x}, without "
        "switching to the guest (what __kvmhv_copy_tofrom_guest_radix does). It sets LPIDR = "
        f"{lpid}" + (f" and PIDR = {pid}" if pid else "") + ". Which EA must its load use?"
    )
    mistakes: dict[int, str] = {}
    if gea != low:
        mistakes[gea] = (
            "the guest's own quadrant bits mean nothing to the hypervisor's MMU; its EA "
            "needs the quadrant bits that select the guest."
        )
    mistakes |= {
        low: "that is quadrant 0: the hypervisor's own process (LPID 0), not the guest.",
        (3 << 62) | low: "quadrant 3 is the host kernel (LPID 0, PID 0).",
        ((1 if q == 2 else 2) << 62) | low: (
            "the other guest quadrant: 1 uses PIDR (a guest process), 2 uses PID 0 (the "
            "guest kernel)."
        ),
    }
    mistakes.pop(ea, None)
    answer = NumberAnswer(ea, "effective address", mistakes, "the hypervisor may use quadrant 1/2")
    cpu = CpuState(ptcr=0x100000, lpidr=lpid, pidr=pid)
    t = _translate(cpu, ea, "load")
    solution = (
        "The guest's tree is walked with EA bits 12:63 only, so the guest's own quadrant "
        f"bits ({gea >> 62}) do not matter: the address inside the tree is {low:#x}.\n"
        f"In hypervisor mode quadrant 1 means (LPIDR, PIDR) and quadrant 2 (LPIDR, PID 0). "
        f"For the {whose} use quadrant {q}: EA = ({q} << 62) | {low:#x} = {ea:#018x}.\n"
        f"Model: translate() with LPIDR={lpid}, PIDR={pid} uses LPID {t.lpid}, PID {t.pid}."
    )
    return Exercise(
        "quadrant-ea", seed, question, answer, solution, "quadrants 1 and 2 reach a guest."
    )


def quadrant_access(seed: int = 0) -> Exercise:
    """A whole access in the quadrant world: the real address, or the interrupt."""
    rng = _rng("quadrant-access", seed)
    key = rng.choice(("hv", "hv", "guest", "user"))
    msr = MODES[key][1]
    lpidr = rng.choice((7, 9))
    pidr = rng.choice((0, 3, 3, 5))
    amr, iamr, amr_text = rng.choice(AMR_CHOICES[:1] * 3 + AMR_CHOICES[1:])
    cpu = CpuState(ptcr=0x100000, lpidr=lpidr, pidr=pidr, msr=msr, amr=amr, iamr=iamr)
    q = rng.choice((0, 3, 1, 2) if key == "hv" else (0, 0, 3, 3, 1))
    access = rng.choice(("load", "load", "store", "fetch"))
    page = CODE_EA if access == "fetch" and rng.random() < 0.7 else DATA_EA
    ea = (q << 62) | page | (rng.randrange(C.PAGE_4K) & ~7)
    t = _translate(cpu, ea, access)
    question = (
        f"The quadrant world:\n{world_text()}\n{_mode_line(key, cpu)}, {amr_text}.\n"
        f"A {access} from EA {ea:#018x}. Which host real address does it reach? If it "
        "faults, name the interrupt (DSI, ISI, DSEG, ISEG, HDSI, HISI)."
    )
    lines = [ea_split_text(ea)]
    if t.lpid is not None:
        info = tree_of(t.lpid, t.pid)
        lines.append(
            f"Quadrant {q} with MSR[HV]={int(cpu.hv)} -> LPID {t.lpid}, PID {t.pid}: "
            + (str(info) if info else "no such process in that partition (zero PRTE).")
        )
    if t.fault is not None:
        f = t.fault
        answer: object = FaultAnswer(f.interrupt, None, " | ".join(f.flags), f.stage)
        lines.append(f"-> {f.interrupt}: {f.reason}.")
    else:
        assert t.ra is not None
        mistakes = {
            ea & C.EA_NOQUAD_MASK: "that is the EA without its quadrant; it is translated.",
            t.ra & ~0xFFF: "that is the page; add the offset within it.",
        }
        if t.gra is not None and t.gra != t.ra:
            mistakes[t.gra] = "that is the guest real address; the partition tree maps it on."
        mistakes.pop(t.ra, None)
        answer = NumberAnswer(t.ra, "host real address", mistakes, "this access is allowed")
        lines.append(f"-> host real {t.ra:#x}.")
    lines.append(f"Model trace:\n{t}")
    hint = "quadrant first (which tree?), then the page's EAA: p means no access with MSR[PR]=1."
    form = "the host real address (0x... or decimal), or the interrupt's name"
    return Exercise("quadrant-access", seed, question, answer, "\n".join(lines), hint, form)


GENERATORS: dict[str, Callable[[int], Exercise]] = {
    "quadrant": quadrant_ids_exercise,
    "quadrant-ea": quadrant_ea_exercise,
    "quadrant-access": quadrant_access,
}
"""The quadrant exercise generators by kind."""
