"""tlbie and H_TLB_INVALIDATE on a running L0/L1/L2 world: what each form removes
(notebook 09, the tlbie explorer).

* :class:`TlbieOp` -- one invalidation: who issues it (``"L1"``: the L1 hypervisor's
  H_TLB_INVALIDATE, ``"L0"``: a hardware ``tlbie`` executed by L0) and its operands
  (RIC, PRS, R in the instruction; IS, AP, EPN in RB; PID, LPID in RS);
* :class:`TlbieLab` -- a :func:`pynest.scenarios.two_l2s` world after both L2s ran
  (so L0 has shadow PTEs and TLB entries for them), kept pristine: :meth:`TlbieLab.issue`
  runs one op on a fresh copy and returns a :class:`TlbieOutcome` with the TLB entries
  and shadow PTEs before and after; :func:`labels` names them T1.., S1...

The model does the work: ``pynest.mmu.tlb.Tlb.tlbie`` for a hardware tlbie,
``pynest.kvm.tlbie.do_nested_tlbie`` (``kvmhv_do_nested_tlbie``) for the hcall.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import FieldError, check_int
from ..kvm.hcalls import H_TLB_INVALIDATE, rc_name, to_signed
from ..kvm.l1 import h_tlbie_p1_enc
from ..kvm.radix import ShadowPte
from ..kvm.radix import shadow_ptes as guest_shadow_ptes
from ..mmu.tlb import TlbEntry, TlbieResult
from .l1 import World, two_l2s

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
            (l2.l1_lpid, world.vm.nested.find(l2.l1_lpid).shadow_lpid, l2.pid)  # type: ignore[union-attr]
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
