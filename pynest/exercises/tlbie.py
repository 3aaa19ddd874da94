"""tlbie and H_TLB_INVALIDATE on a running L0/L1/L2 world: what each form removes.

Notebook 09 and :class:`pynest.widgets.tlbie_explorer.TlbieExplorer` use:

* :class:`TlbieOp` -- one invalidation: who issues it (``"L1"``: the L1 hypervisor's
  H_TLB_INVALIDATE, ``"L0"``: a hardware ``tlbie`` executed by L0) and its operands
  (RIC, PRS, R in the instruction; IS, AP, EPN in RB; PID, LPID in RS);
* :class:`TlbieLab` -- a :func:`pynest.scenarios.two_l2s` world after both L2s ran
  (so L0 has shadow PTEs and TLB entries for them), kept pristine: :meth:`TlbieLab.issue`
  runs one op on a fresh copy and returns a :class:`TlbieOutcome` with the TLB entries
  and shadow PTEs before and after;
* the exercise generator of kind ``tlbie`` (:data:`GENERATORS`): "which entries does
  this invalidation remove?", answered with entry labels (``T1 S3``), ``none`` or the
  H_* code.

The model does the work: ``pynest.mmu.tlb.Tlb.tlbie`` for a hardware tlbie,
``pynest.kvm.shadow.do_nested_tlbie`` (``kvmhv_do_nested_tlbie``) for the hcall.
"""

from __future__ import annotations

import pickle
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import FieldError, check_int
from ..kvm.hcalls import H_TLB_INVALIDATE, rc_name, to_signed
from ..kvm.l1 import h_tlbie_p1_enc
from ..kvm.shadow import ShadowPte
from ..kvm.shadow import shadow_ptes as guest_shadow_ptes
from ..mmu import constants as C
from ..mmu.tlb import TlbEntry, TlbieResult
from ..scenarios import World, two_l2s
from .base import Exercise

__all__ = [
    "GENERATORS",
    "RemovedAnswer",
    "ShadowPte",
    "TlbieLab",
    "TlbieOp",
    "TlbieOutcome",
    "lab",
    "labels",
    "shadow_ptes",
    "tlb_entries",
    "tlbie_exercise",
    "tlbie_removed",
]

AP_NAMES = {0: "4K", 5: "64K", 1: "2M", 2: "1G"}
IS_NAMES = {0: "one page", 1: "one PID", 2: "one LPID", 3: "all LPIDs"}
RIC_NAMES = {0: "TLB", 1: "page-walk cache", 2: "all (TLB, walk and table caches)", 3: "reserved"}


@dataclass(frozen=True)
class TlbieOp:
    """One invalidation. ``who`` is "L1" (H_TLB_INVALIDATE to L0, LPID = the L1's lpid
    for its L2) or "L0" (tlbie on L0's own TLB, LPID = a real/shadow LPID)."""

    who: str = "L1"
    ric: int = 0
    prs: int = 0
    r: int = 1
    is_: int = 0
    ap: int = 0
    lpid: int = 0
    pid: int = 0
    epn: int = 0

    def __post_init__(self) -> None:
        if self.who not in ("L1", "L0"):
            raise FieldError(f"who must be 'L1' or 'L0', got {self.who!r}")
        check_int("RIC", self.ric, bits=2)
        check_int("PRS", self.prs, bits=1)
        check_int("R", self.r, bits=1)
        check_int("IS", self.is_, bits=2)
        check_int("AP", self.ap, bits=3)
        check_int("LPID", self.lpid, bits=32)
        check_int("PID", self.pid, bits=32)
        check_int("EPN", self.epn, bits=64)

    @property
    def rb(self) -> int:
        """RB: EPN (ISA bits 0:51), IS (52:53), AP (56:58)."""
        return (self.epn & 0xFFFF_FFFF_FFFF_F000) | self.is_ << 10 | self.ap << 5

    @property
    def rs(self) -> int:
        """RS: PID (ISA bits 0:31), LPID (32:63)."""
        return self.pid << 32 | self.lpid

    @property
    def instr(self) -> int:
        """The instruction image H_TLB_INVALIDATE decodes (``H_TLBIE_P1_ENC``)."""
        return h_tlbie_p1_enc(self.ric, self.prs, self.r)

    def __str__(self) -> str:
        what = "H_TLB_INVALIDATE" if self.who == "L1" else "tlbie"
        page = f", AP {self.ap} ({AP_NAMES.get(self.ap, 'no size')}), EPN {self.epn & ~0xFFF:#x}"
        return (
            f"{what} RIC={self.ric} PRS={self.prs} R={self.r} IS={self.is_} "
            f"({IS_NAMES[self.is_]}), LPID {self.lpid}, PID {self.pid}"
            + (page if self.is_ == 0 else "")
            + f"; RS={self.rs:#x} RB={self.rb:#x}"
        )


def tlb_entries(world: World) -> list[TlbEntry]:
    """L0's TLB entries, sorted by (LPID, PID, address)."""
    return sorted(world.l0.tlb, key=lambda e: (e.lpid, e.pid is None, e.pid or 0, e.epn))


def shadow_ptes(world: World) -> list[ShadowPte]:
    """Every shadow PTE of every nested guest of the world's L1, by L2 and address."""
    return [pte for _lpid, gp in sorted(world.vm.nested.items()) for pte in guest_shadow_ptes(gp)]


@dataclass
class TlbieOutcome:
    """What one :class:`TlbieOp` did. ``rc`` is the hcall's return (None for L0's
    tlbie); ``result`` the TLB's own record for a tlbie (None for the hcall)."""

    op: TlbieOp
    rc: int | None
    tlb_before: list[TlbEntry]
    tlb_after: list[TlbEntry]
    shadow_before: list[ShadowPte]
    shadow_after: list[ShadowPte]
    result: TlbieResult | None = None
    world: World | None = field(default=None, repr=False)

    @property
    def rc_name(self) -> str:
        return "" if self.rc is None else rc_name(self.rc)

    @property
    def removed_tlb(self) -> list[TlbEntry]:
        after = set(self.tlb_after)
        return [e for e in self.tlb_before if e not in after]

    @property
    def removed_shadow(self) -> list[ShadowPte]:
        after = set(self.shadow_after)
        return [s for s in self.shadow_before if s not in after]

    @property
    def invalid(self) -> str | None:
        return self.result.invalid if self.result is not None else None

    def summary(self) -> str:
        head = f"{self.op}\n-> "
        if self.rc is not None:
            head += f"{self.rc_name} ({self.rc}); "
        elif self.invalid:
            head += f"invalid form ({self.invalid}): a program interrupt, nothing removed; "
        return head + (
            f"removed {len(self.removed_tlb)} of {len(self.tlb_before)} TLB entries, "
            f"{len(self.removed_shadow)} of {len(self.shadow_before)} shadow PTEs"
        )


class TlbieLab:
    """A pristine L0/L1/L2 world (``two_l2s(seed, run=True)``) to invalidate in.

    ``issue(op)`` works on a fresh copy each time, so every invalidation starts from
    the same TLB and shadow tables. ``l2s`` lists (L1 lpid, shadow LPID, PID) per L2.
    """

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FieldError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        world = two_l2s(seed, run=True)
        self._blob = pickle.dumps(world, protocol=pickle.HIGHEST_PROTOCOL)
        self.tlb = tlb_entries(world)
        self.shadow = shadow_ptes(world)
        self.l2s = [
            (l2.lpid, world.vm.nested.find(l2.lpid).shadow_lpid, l2.pid)  # type: ignore[union-attr]
            for l2 in world.l2s
        ]

    def fresh(self) -> World:
        """A copy of the world as it was after the run."""
        return pickle.loads(self._blob)

    def issue(self, op: TlbieOp) -> TlbieOutcome:
        """Run ``op`` on a fresh copy; the outcome keeps that copy as ``world``."""
        w = self.fresh()
        before_t, before_s = tlb_entries(w), shadow_ptes(w)
        rc: int | None = None
        result = None
        if op.who == "L1":
            rc = to_signed(w.l1.hcall(H_TLB_INVALIDATE, op.instr, op.rs, op.rb))
        else:
            result = w.l0.tlb.tlbie(op.rb, op.rs, op.ric, op.prs, op.r)
        return TlbieOutcome(op, rc, before_t, tlb_entries(w), before_s, shadow_ptes(w), result, w)


@lru_cache(maxsize=8)
def lab(seed: int = 0) -> TlbieLab:
    """The :class:`TlbieLab` of ``seed``, built once per process."""
    return TlbieLab(seed)


def labels(outcome: TlbieOutcome) -> dict[str, object]:
    """T1.., S1.. -> the entries of the world before the op (TLB first, then shadow)."""
    out: dict[str, object] = {}
    for i, e in enumerate(outcome.tlb_before, 1):
        out[f"T{i}"] = e
    for i, s in enumerate(outcome.shadow_before, 1):
        out[f"S{i}"] = s
    return out


def tlbie_removed(outcome: TlbieOutcome) -> frozenset[str]:
    """The labels (see :func:`labels`) of what ``outcome`` removed."""
    gone = set(outcome.removed_tlb) | set(outcome.removed_shadow)
    return frozenset(k for k, v in labels(outcome).items() if v in gone)


# ----------------------------------------------------------------------------- answers
_LABEL_RE = re.compile(r"\b([ts])\s*(\d+)\b")


def _sort_labels(items: frozenset[str] | set[str]) -> list[str]:
    return sorted(items, key=lambda s: (s[0] != "T", int(s[1:])))


@dataclass(frozen=True)
class RemovedAnswer:
    """A set of entry labels (``T2 S5``), ``none``, or an H_* code when L0 refuses."""

    removed: frozenset[str]
    rc: str = "H_SUCCESS"
    known: frozenset[str] = frozenset()

    def check(self, given: object) -> tuple[bool, str]:
        if not isinstance(given, str) or not given.strip():
            return False, "Answer with labels like 'T1 S3', 'none', or an H_* code."
        text = given.strip().lower()
        if "h_" in text:
            code = re.search(r"h_[a-z_0-9]+", text)
            name = code.group(0).upper() if code else ""
            if self.rc != "H_SUCCESS":
                if name == self.rc:
                    return True, f"Correct: L0 answers {self.rc} and removes nothing."
                return False, f"No: L0 does refuse this one, but not with {name or 'that'}."
            if name == "H_SUCCESS" and not self.removed:
                return True, "Correct: H_SUCCESS, and nothing is removed."
            return False, "No: L0 accepts this invalidation; which entries does it remove?"
        if text in ("none", "nothing", "-", "{}"):
            got: set[str] = set()
        else:
            got = {f"{a.upper()}{int(b)}" for a, b in _LABEL_RE.findall(text)}
            rest = _LABEL_RE.sub("", text)
            if not got or re.sub(r"[\s,;and&+]", "", rest):
                return False, "Not understood: list labels such as 'T1 T4 S2', or say 'none'."
        unknown = got - self.known if self.known else set()
        if unknown:
            return False, f"There is no {', '.join(_sort_labels(unknown))} in the lists."
        if self.rc != "H_SUCCESS":
            return False, "No: L0 refuses this operand combination; which return code?"
        if got == set(self.removed):
            return True, f"Correct: {self}."
        parts = []
        if set(self.removed) - got:
            parts.append("it also removes more than that")
        if got - set(self.removed):
            parts.append(f"{', '.join(_sort_labels(got - set(self.removed)))} stay")
        return False, "No: " + "; ".join(parts) + "."

    def __str__(self) -> str:
        if self.rc != "H_SUCCESS":
            return f"{self.rc}: nothing removed"
        return " ".join(_sort_labels(self.removed)) or "none"


# ----------------------------------------------------------------------------- exercises
def _cases(lb: TlbieLab, rng: random.Random) -> TlbieOp:
    (l1a, sha, pida), (l1b, _shb, _pidb) = rng.sample(lb.l2s, 2)
    mine = [s for s in lb.shadow if s.l1_lpid == l1a]
    s = rng.choice(mine)
    case = rng.choice(
        ("page", "page", "page2m", "lpid", "all", "pwc", "prs", "is1", "absent", "hw-pid", "hw-gra")
    )
    if case == "page":
        return TlbieOp("L1", 0, 0, 1, 0, 5, l1a, 0, s.gpa + rng.randrange(0, s.size, C.PAGE_4K))
    if case == "page2m":
        return TlbieOp("L1", 0, 0, 1, 0, 1, l1a, 0, s.gpa)
    if case == "lpid":
        return TlbieOp("L1", rng.choice((0, 2)), 0, 1, 2, 0, l1b, 0, 0)
    if case == "all":
        return TlbieOp("L1", 0, 0, 1, 3, 0, 0, 0, 0)
    if case == "pwc":
        return TlbieOp("L1", 1, 0, 1, 2, 0, l1a, 0, 0)
    if case == "prs":
        return TlbieOp("L1", 0, 1, 1, 2, 0, l1a, pida, 0)
    if case == "is1":
        return TlbieOp("L1", 0, 0, 1, 1, 0, l1a, pida, 0)
    if case == "absent":
        return TlbieOp("L1", 0, 0, 1, 2, 0, 7 + rng.randrange(8), 0, 0)
    if case == "hw-pid":
        return TlbieOp("L0", 0, 1, 1, 1, 0, sha, pida, 0)
    return TlbieOp("L0", 0, 0, 1, 0, 5, sha, 0, s.gpa)


def _listing(outcome: TlbieOutcome) -> str:
    lines = [f"  {k:>3}  {v}" for k, v in labels(outcome).items()]
    return "\n".join(lines)


def tlbie_exercise(seed: int = 0) -> Exercise:
    """ "Which entries does this invalidation remove?" on a seeded world."""
    rng = random.Random(f"pynest-tlbie-{seed}")
    lb = lab(rng.randrange(3))
    op = _cases(lb, rng)
    out = lb.issue(op)
    who = (
        "The L1 hypervisor makes the hcall H_TLB_INVALIDATE(r4 = instr, r5 = RS, r6 = RB) to L0."
        if op.who == "L1"
        else "L0 itself executes tlbie (hypervisor state) on its own TLB."
    )
    pairs = ", ".join(f"L2 {a} runs as shadow LPID {b} (PID {c})" for a, b, c in lb.l2s)
    question = (
        f"An L1 runs two L2s under L0: {pairs}. After both ran, L0 has these TLB entries "
        f"(T) and shadow PTEs (S):\n{_listing(out)}\n{who}\n  {op}\n"
        "Which of the entries does it remove? Answer with labels ('T1 S3'), 'none', or the "
        "H_* code if L0 refuses the operands."
    )
    removed = tlbie_removed(out)
    answer = RemovedAnswer(removed, out.rc_name or "H_SUCCESS", frozenset(labels(out)))
    why = _explain(op)
    solution = f"{why}\nModel: {out.summary()}\nRemoved: {answer}"
    hint = "decode IS first (how wide), then PRS (which scope), then RIC (which caches)."
    return Exercise("tlbie", seed, question, answer, solution, hint)


def _explain(op: TlbieOp) -> str:
    if op.who == "L0":
        scope = "process-scoped" if op.prs else "partition-scoped"
        return (
            f"A hardware tlbie only touches the TLB and walk caches, never page tables: the "
            f"shadow PTEs stay. IS={op.is_} ({IS_NAMES[op.is_]}), PRS={op.prs} ({scope}). "
            + (
                "A partition-scoped one-page tlbie also removes the combined (2-D) entries "
                "made through that guest real page."
                if not op.prs and op.is_ == 0
                else "It removes the cached translations of that LPID and PID."
            )
        )
    if not op.r or op.prs or op.ric == 3 or op.is_ == 1 or (op.is_ == 0 and op.ric in (1, 2)):
        return (
            "kvmhv_emulate_priv_tlbie refuses R=0, PRS=1, RIC=3, IS=1, and IS=0 with RIC 1 "
            "or 2 with -EINVAL, which kvmhv_do_nested_tlbie returns as H_PARAMETER."
        )
    if op.is_ == 0:
        return (
            f"IS=0: kvmhv_emulate_tlbie_tlb_addr removes every shadow PTE of L2 {op.lpid} in "
            f"the {AP_NAMES.get(op.ap, '?')} page at {op.epn & ~0xFFF:#x} (aligned down), and "
            "each removal does a partition-scoped tlbie of the shadow LPID for that page, "
            "which takes the combined TLB entries made through it."
        )
    if op.ric == 1:
        return "RIC=1 (page-walk cache): L0 caches no walk of the L1's tree; nothing to do."
    where = f"L2 {op.lpid}" if op.is_ == 2 else "every L2 of this L1"
    text = (
        f"IS={op.is_}: kvmhv_emulate_tlbie_lpid for {where}: the whole shadow tree goes "
        "(kvmppc_free_pgtable_radix) and L0 flushes the shadow LPID with kvmhv_flush_lpid "
        "(on a 4.20 bare-metal L0 one partition-scoped tlbie RIC=2 IS=2, which also takes "
        "the combined entries made through that LPID's partition-scoped translations)"
    )
    if op.ric == 2:
        text += (
            "; with RIC=2 this is kvmhv_flush_nested, which then re-reads the L2's row of the "
            "L1's table and removes the nested guest if the row is now empty"
        )
    return text + "; an lpid with no nested guest is a no-op."


GENERATORS: dict[str, Callable[[int], Exercise]] = {"tlbie": tlbie_exercise}
"""The exercise generators of this module, by kind."""
