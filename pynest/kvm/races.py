"""Two vcpus, one nested guest: an exhaustive interleaving explorer for L0's races.

The v2 review of patch 18 ("Framework and hcall stubs for nested virtualization")
turned on two places in ``arch/powerpc/kvm/book3s_hv_nested.c`` where two vcpus of one
L1 touch the same ``struct kvm_nested_guest``:

* ``"create"`` -- an L1 has just been migrated to a fresh L0. Its vcpus all re-enter
  the same L2 with H_ENTER_NESTED, so two of them call ``kvmhv_get_nested(kvm, lpid,
  create=true)`` at once: look up ``nested_guests[lpid]`` under ``kvm->mmu_lock``, find
  nothing, drop the lock, ``kvmhv_alloc_nested()`` (which may sleep, hence no lock),
  retake the lock and look again -- "someone else beat us to it" -- then either install
  ``newgp`` or take the winner and ``kvmhv_release_nested(newgp)``.
* ``"remove"`` -- the L1 has zeroed its partition-table entry for an L2 and two of its
  vcpus each issue H_TLB_INVALIDATE (RIC=2, IS=2) for it: each takes a reference with
  ``kvmhv_get_nested(create=false)``, detaches the guest with ``kvmhv_remove_nested()``
  (which clears the slot and drops the slot's reference only if ``nested_guests[lpid]
  == gp``), then ``kvmhv_put_nested()``; whoever brings ``refcnt`` to 0 frees it.
* ``"tlbie-all"`` -- *what the model says about this code* (derived from reading the
  4.20.1 source, not observed on hardware; :data:`TLBIE_ALL_NOTE`): the L1 has zeroed
  its entry for an L2 and vcpu 0 issues H_TLB_INVALIDATE with IS=3 RIC=2.
  ``kvmhv_emulate_tlbie_all_lpid()`` takes ``nested_guests[i]`` **without a reference**,
  and the RIC=2 flush under ``gp->tlb_lock`` may remove and free the guest before the
  ``mutex_unlock``. vcpu 1 (``partner``) either flushes the same L2 with IS=2 RIC=2
  (with a reference, as a Linux L1 does after zeroing an entry), or is running the L2
  (its H_ENTER_NESTED reference), or does nothing. Here ``gp->tlb_lock`` is modelled: a
  vcpu waiting for it cannot be scheduled.

Each vcpu is a list of atomic *steps*. With the lock (the kernel's code) every
``mmu_lock`` critical section is **one** step: the other vcpu sees the shared state
before or after it, never in between. Code outside the lock (``kvmhv_alloc_nested``,
``kvmhv_release_nested``, running the L2) is a step of its own. A local ``if`` costs no
step, but each function the kernel calls is a step even when it has nothing to do (the
trace then says so), so a vcpu's step count depends only on whether its first lookup
found the guest. Lock-free code the other CPU runs while a section is held touches
nothing the section touches, so letting it run inside the section would only add
schedules with the same outcome; they are not enumerated.

Switches make the bugs the review guards against:

* ``recheck=False`` -- install ``newgp`` without looking at the slot again;
* ``check_gp=False`` -- remove without the ``nested_guests[lpid] == gp`` test;
* ``lock=False`` -- no ``mmu_lock``: each critical section splits at its read, into a
  step that reads shared state and a step that acts on what it read (``ref = --refcnt``
  becomes a load and a store), and the other vcpu can get in between.

:func:`explore` runs **every** schedule (depth first, vcpu 0 tried first at each
choice) and checks four invariants after each step: one nested-guest object per L1
LPID (installed or held by a vcpu), ``refcnt`` never below 0, no use after free (or
double free), and at the end no leak (every allocated object is installed or freed).
Everything is a record (:class:`Interleaving`, :class:`TraceStep`, :class:`FinalState`,
:class:`RaceViolation`); :func:`run_schedule` replays one schedule.

The nested table is the 4.20 ``nested_guests[]`` array with ``max_nested_lpid``
(:class:`~pynest.kvm.nested_table.NestedArray`), shadow LPIDs come from the hardware LPID
bitmap (:class:`~pynest.kvm.host.LpidAllocator`; LPID 0 is the host's, 1 the L1's). The
first two races keep only ``mmu_lock``: in the kernel the flush part of the remove path
also runs under ``gp->tlb_lock``, which orders the two ``kvmhv_remove_nested`` calls of
one guest but not the gets and puts around them. A freed object keeps its last values
(``refcnt``, ``shadow_lpid``), as freed memory that nobody reused yet would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import ConfigError, check_int
from .constants import KVM_MAX_NESTED_GUESTS
from .host import LpidAllocator
from .nested_table import NestedArray

__all__ = [
    "PARTNERS",
    "RACES",
    "TLBIE_ALL_CAVEAT",
    "TLBIE_ALL_FINDING",
    "TLBIE_ALL_NOTE",
    "VIOLATION_KINDS",
    "Exploration",
    "FinalState",
    "GuestSnapshot",
    "Interleaving",
    "RaceConfig",
    "RaceGuest",
    "RaceViolation",
    "TraceStep",
    "explore",
    "run_schedule",
]

RACES = ("create", "remove", "tlbie-all")
VIOLATION_KINDS = ("two-objects", "negative-refcnt", "use-after-free", "leak")
#: What vcpu 1 does in the "tlbie-all" race.
PARTNERS: dict[str, str] = {
    "flush": "flushes the same L2 (IS=2 RIC=2, with a reference)",
    "run": "runs the L2 (holds a reference until H_ENTER_NESTED returns)",
    "none": "does nothing (no other reference)",
}
#: The caveat every view of the "tlbie-all" race carries, and what it qualifies.
TLBIE_ALL_CAVEAT = (
    "What the model says about this code -- derived from reading the 4.20.1 source "
    "(arch/powerpc/kvm/book3s_hv_nested.c), not observed on hardware"
)
TLBIE_ALL_FINDING = (
    "kvmhv_emulate_tlbie_all_lpid() takes nested_guests[i] under mmu_lock without a "
    "reference (:894-899); with RIC=2, kvmhv_flush_nested() -> kvmhv_remove_nested() -> "
    "kvmhv_release_nested() can kfree() it (:588, :536, :514) before "
    "kvmhv_emulate_tlbie_lpid() calls mutex_unlock(&gp->tlb_lock) (:885). 5.0.1 has the "
    "same code, and the IDR loop (idr_for_each_entry) of the mainline source read here "
    "takes no reference either."
)
TLBIE_ALL_NOTE = f"{TLBIE_ALL_CAVEAT}: {TLBIE_ALL_FINDING}"
NR_VCPUS = 2
_NR_LPIDS = 16  # plenty of hardware LPIDs for two guests


# ------------------------------------------------------------------ records
@dataclass(frozen=True)
class RaceConfig:
    """Which race and which of the kernel's protections are in place."""

    race: str = "create"
    lock: bool = True
    recheck: bool = True
    check_gp: bool = True
    l1_lpid: int = 1
    partner: str = ""  # "tlbie-all" only: a key of PARTNERS

    @property
    def kernel(self) -> bool:
        """True when nothing is switched off (the kernel's code)."""
        return self.lock and self.recheck and self.check_gp

    @property
    def roles(self) -> tuple[str, str]:
        """What each vcpu does, for lane titles."""
        if self.race != "tlbie-all":
            return ("vcpu 0", "vcpu 1")
        other = {"flush": "IS=2 RIC=2, this L2", "run": "runs the L2", "none": "idle"}
        return ("vcpu 0: IS=3 RIC=2 (all LPIDs)", f"vcpu 1: {other[self.partner]}")

    def describe(self) -> str:
        if self.race == "tlbie-all":
            other = {
                "flush": "vcpu 1 flushes the same L2 (IS=2 RIC=2)",
                "run": "vcpu 1 runs the L2",
                "none": "vcpu 1 idle",
            }
            return f"tlbie-all race, {other[self.partner]}"
        off = [
            name
            for name, on in (
                ("mmu_lock", self.lock),
                ("re-check", self.recheck or self.race != "create"),
                ("== gp check", self.check_gp or self.race != "remove"),
            )
            if not on
        ]
        what = "the kernel's code" if not off else "without " + " and ".join(off)
        return f"{self.race} race, {what}"


@dataclass(eq=False)
class RaceGuest:
    """The parts of ``struct kvm_nested_guest`` the races touch."""

    name: str
    l1_lpid: int
    shadow_lpid: int
    refcnt: int = 0
    freed: bool = False
    tlb_owner: int | None = None  # the vcpu holding gp->tlb_lock ("tlbie-all" only)


@dataclass(frozen=True)
class GuestSnapshot:
    """One nested-guest object as it stands after a step."""

    name: str
    shadow_lpid: int
    refcnt: int
    installed: bool
    freed: bool
    tlb_owner: int | None = None

    def __str__(self) -> str:
        where = "installed" if self.installed else ("freed" if self.freed else "not installed")
        extra = ", FREED" if self.freed and self.installed else ""
        if self.tlb_owner is not None:
            extra += f", tlb_lock held by vcpu {self.tlb_owner}"
        return f"{self.name} (shadow LPID {self.shadow_lpid}, refcnt {self.refcnt}, {where}{extra})"


@dataclass(frozen=True)
class RaceViolation:
    """An invariant broken at step ``step`` (``-1``: found at the end)."""

    kind: str
    step: int
    text: str

    def __str__(self) -> str:
        at = "at the end" if self.step < 0 else f"at step {self.step}"
        return f"{self.kind} {at}: {self.text}"


@dataclass(frozen=True)
class TraceStep:
    """One executed step: which vcpu, which kernel function, what it did, and the
    shared state right after it."""

    index: int
    vcpu: int
    op: str
    function: str
    locked: bool
    text: str
    slot: str | None
    objects: tuple[GuestSnapshot, ...]
    violations: tuple[RaceViolation, ...] = ()

    def __str__(self) -> str:
        lock = "[mmu_lock] " if self.locked else ""
        return f"{self.index:2d}. vcpu {self.vcpu}: {lock}{self.function}: {self.text}"


@dataclass(frozen=True)
class FinalState:
    """What is left when both vcpus are done."""

    slot: str | None
    max_nested_lpid: int
    objects: tuple[GuestSnapshot, ...]
    lpids_in_use: tuple[int, ...]
    held: tuple[str | None, ...]

    @property
    def live(self) -> tuple[GuestSnapshot, ...]:
        return tuple(o for o in self.objects if not o.freed)

    def __str__(self) -> str:
        slot = self.slot or "NULL"
        objs = "; ".join(str(o) for o in self.objects) or "none"
        return (
            f"nested_guests[] slot = {slot}, max_nested_lpid = {self.max_nested_lpid}; "
            f"objects: {objs}; shadow LPIDs in use: {list(self.lpids_in_use)}"
        )


@dataclass(frozen=True)
class Interleaving:
    """One complete schedule: ``schedule[i]`` is the vcpu that ran step ``i``.

    ``steps`` (the trace) is rebuilt on first use by replaying the schedule, so that an
    exploration of thousands of schedules stays quick.
    """

    number: int
    config: RaceConfig
    schedule: tuple[int, ...]
    final: FinalState
    violations: tuple[RaceViolation, ...]

    @cached_property
    def steps(self) -> tuple[TraceStep, ...]:
        return _replay(self.config, self.schedule)[0]

    @property
    def ok(self) -> bool:
        return not self.violations

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """The distinct invariants broken, in :data:`VIOLATION_KINDS` order (kept: an
        exploration's summary counts them over thousands of interleavings)."""
        found = {v.kind for v in self.violations}
        return tuple(k for k in VIOLATION_KINDS if k in found)

    @property
    def schedule_text(self) -> str:
        return " ".join(str(v) for v in self.schedule)

    def verdict(self) -> str:
        if self.ok:
            return "every invariant holds"
        return "broken: " + ", ".join(self.kinds)

    def trace(self) -> str:
        """The steps, the final state and the verdict, as text."""
        lines = [str(s) for s in self.steps]
        lines.append(f"final: {self.final}")
        lines += [f"VIOLATION {v}" for v in self.violations]
        lines.append(f"verdict: {self.verdict()}")
        return "\n".join(lines)


@dataclass
class Exploration:
    """Every interleaving of one configuration, numbered in depth-first order."""

    config: RaceConfig
    interleavings: list[Interleaving] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.interleavings)

    @property
    def bad(self) -> list[Interleaving]:
        return [i for i in self.interleavings if not i.ok]

    def by_kind(self) -> dict[str, int]:
        """How many interleavings break each invariant."""
        return {k: sum(k in i.kinds for i in self.interleavings) for k in VIOLATION_KINDS}

    def find(self, schedule: Iterable[int] | str) -> Interleaving:
        """The interleaving with this schedule (ConfigError if there is none)."""
        want = _parse_schedule(schedule)
        for i in self.interleavings:
            if i.schedule == want:
                return i
        raise ConfigError(
            f"schedule {' '.join(map(str, want))} is not a complete interleaving of the "
            f"{self.config.describe()}"
        )

    def summary(self) -> str:
        bad = self.bad
        text = f"{self.config.describe()}: {self.count} interleaving"
        text += "s, " if self.count != 1 else " (the only order), "
        if not bad:
            return text + "none breaks an invariant"
        kinds = ", ".join(f"{k} {n}" for k, n in self.by_kind().items() if n)
        verb = "breaks" if len(bad) == 1 else "break"
        return text + f"{len(bad)} {verb} an invariant ({kinds}); first: #{bad[0].number}"


# ------------------------------------------------------------------ machine state
@dataclass
class _Vcpu:
    pc: str | None
    gp: RaceGuest | None = None
    newgp: RaceGuest | None = None
    holds: bool = False
    seen: RaceGuest | bool | None = None  # what a split section's read step saw
    loaded: int = 0  # the refcnt a split put loaded
    ref: int = -1


class _Machine:
    """The shared state (table, LPID bitmap, objects) plus both vcpus."""

    def __init__(self, cfg: RaceConfig) -> None:
        self.cfg = cfg
        self.table = NestedArray[RaceGuest](cfg.l1_lpid + 1)
        self.lpids = LpidAllocator(_NR_LPIDS)
        self.lpids.claim(0)  # the host
        self.lpids.claim(1)  # the L1 itself: shadow LPIDs start at 2, as in the L0 model
        self.objects: list[RaceGuest] = []
        start = "lookup" if cfg.race == "create" else "get"
        if not cfg.lock:
            start += "-read"
        self.vcpus = [_Vcpu(start) for _ in range(NR_VCPUS)]
        self.violations: list[RaceViolation] = []
        self._seen: set[tuple[str, str]] = set()
        self.step_no = 0
        if cfg.race != "create":  # the guest exists: slot reference only
            gp = self._new_guest()
            self.table.add(cfg.l1_lpid, gp)
            gp.refcnt = 1
        if cfg.race == "tlbie-all":
            self.vcpus[0].pc = "scan"
            self.vcpus[1].pc = {"flush": "get", "run": "run", "none": None}[cfg.partner]
            if cfg.partner == "run":  # kvmhv_enter_nested_guest took it before the race
                self.vcpus[1].gp, self.vcpus[1].holds = gp, True
                gp.refcnt += 1

    def clone(self) -> _Machine:
        new = object.__new__(_Machine)
        new.cfg = self.cfg
        remap = {
            id(o): RaceGuest(o.name, o.l1_lpid, o.shadow_lpid, o.refcnt, o.freed, o.tlb_owner)
            for o in self.objects
        }
        new.objects = list(remap.values())
        new.table = table = NestedArray[RaceGuest](0)
        table.slots = [remap[id(g)] if g is not None else None for g in self.table.slots]
        table.max_nested_lpid = self.table.max_nested_lpid
        new.lpids = lpids = object.__new__(LpidAllocator)
        lpids.nr_lpids = self.lpids.nr_lpids
        lpids.inuse = set(self.lpids.inuse)

        def m(g: RaceGuest | None) -> RaceGuest | None:
            return None if g is None else remap[id(g)]

        new.vcpus = [
            _Vcpu(
                v.pc,
                m(v.gp),
                m(v.newgp),
                v.holds,
                m(v.seen) if isinstance(v.seen, RaceGuest) else v.seen,
                v.loaded,
                v.ref,
            )
            for v in self.vcpus
        ]
        new.violations = list(self.violations)
        new._seen = set(self._seen)
        new.step_no = self.step_no
        return new

    # -------------------------------------------------------------- helpers
    @property
    def slot(self) -> RaceGuest | None:
        return self.table.slots[-1]  # the table is sized to end at l1_lpid

    def _new_guest(self) -> RaceGuest:
        """``kvmhv_alloc_nested``: zeroed struct, shadow PGD, a hardware LPID."""
        lpid = self.lpids.alloc()
        if lpid is None:  # pragma: no cover - two guests never exhaust 16 LPIDs
            raise ConfigError("no hardware LPID free")
        gp = RaceGuest(f"gp#{len(self.objects) + 1}", self.cfg.l1_lpid, lpid)
        self.objects.append(gp)
        return gp

    def violate(self, kind: str, key: str, text: str, step: int | None = None) -> None:
        if (kind, key) in self._seen:
            return
        self._seen.add((kind, key))
        self.violations.append(RaceViolation(kind, self.step_no if step is None else step, text))

    def touch(self, gp: RaceGuest, what: str) -> None:
        if gp.freed:
            self.violate(
                "use-after-free",
                f"{gp.name}:{what}",
                f"{what} on {gp.name}, which was already freed",
            )

    def release(self, gp: RaceGuest, who: int) -> str:
        """``kvmhv_release_nested``: zero the shadow LPID's PATE, free it and the struct."""
        if gp.freed:
            self.violate(
                "use-after-free",
                f"{gp.name}:double-free",
                f"vcpu {who} frees {gp.name} a second time (double free)",
            )
            return f"kvmhv_release_nested({gp.name}) again: double free!"
        gp.freed = True
        self.lpids.free(gp.shadow_lpid)
        return (
            f"kvmhv_release_nested({gp.name}): PATE[{gp.shadow_lpid}] = 0, shadow LPID "
            f"{gp.shadow_lpid} and the shadow PGD freed"
        )

    def snapshot(self) -> tuple[GuestSnapshot, ...]:
        slot = self.slot
        return tuple(
            GuestSnapshot(o.name, o.shadow_lpid, o.refcnt, o is slot, o.freed, o.tlb_owner)
            for o in self.objects
        )

    def waiting_for(self, i: int) -> int | None:
        """The vcpu whose ``gp->tlb_lock`` vcpu ``i`` must wait for (None: it can run)."""
        v = self.vcpus[i]
        if v.pc != "tlb-lock" or v.gp is None:
            return None
        owner = v.gp.tlb_owner
        return owner if owner is not None and owner != i else None

    def runnable(self) -> list[int]:
        return [
            i for i, v in enumerate(self.vcpus) if v.pc is not None and self.waiting_for(i) is None
        ]

    def check(self) -> None:
        """The invariants that must hold after every step."""
        for o in self.objects:
            if o.refcnt < 0:
                self.violate("negative-refcnt", o.name, f"{o.name}.refcnt = {o.refcnt}")
        if len(self.objects) < 2:
            return
        reachable = []
        for g in [self.slot] + [v.gp for v in self.vcpus if v.holds]:
            if g is not None and not g.freed and g not in reachable:
                reachable.append(g)
        if len(reachable) > 1:
            names = " and ".join(f"{g.name} (shadow LPID {g.shadow_lpid})" for g in reachable)
            self.violate(
                "two-objects",
                "+".join(g.name for g in reachable),
                f"L1 LPID {self.cfg.l1_lpid} has two nested-guest objects: {names}",
            )

    def check_end(self) -> None:
        slot = self.slot
        if slot is not None and slot.freed:
            self.violate(
                "use-after-free",
                "dangling",
                f"nested_guests[{self.cfg.l1_lpid}] still points at freed {slot.name}",
                step=-1,
            )
        for o in self.objects:
            if not o.freed and o is not slot:
                self.violate(
                    "leak",
                    o.name,
                    f"{o.name} (shadow LPID {o.shadow_lpid}, refcnt {o.refcnt}) is "
                    "neither in nested_guests[] nor freed: its memory and shadow "
                    "LPID are lost",
                    step=-1,
                )

    def final(self) -> FinalState:
        slot = self.slot
        return FinalState(
            slot.name if slot else None,
            self.table.max_nested_lpid,
            self.snapshot(),
            tuple(sorted(self.lpids.inuse - {0, 1})),
            tuple(v.gp.name if v.holds and v.gp else None for v in self.vcpus),
        )


# ------------------------------------------------------------------ the steps
# An op: (kernel function, runs under mmu_lock?, action). The action updates the
# machine for vcpu ``i`` and returns (what happened, next op or None when done).
_Action = Callable[[_Machine, int], tuple[str, str | None]]
_Op = tuple[str, bool, _Action]


def _seen_guest(m: _Machine, i: int) -> RaceGuest | None:
    """The guest pointer vcpu ``i``'s read step saw (None: the slot was empty)."""
    seen = m.vcpus[i].seen
    return seen if isinstance(seen, RaceGuest) else None


def _take_ref(
    m: _Machine, i: int, gp: RaceGuest | None, nxt: str, miss: str | None, miss_text: str
) -> tuple[str, str | None]:
    v = m.vcpus[i]
    if gp is None:
        return miss_text, miss
    m.touch(gp, "++refcnt")
    gp.refcnt += 1
    v.gp, v.holds = gp, True
    return f"{gp.name}.refcnt -> {gp.refcnt}", nxt


def _lookup_both(nxt: str, miss: str | None, miss_text: str) -> _Action:
    def act(m: _Machine, i: int) -> tuple[str, str | None]:
        gp = m.slot
        where = f"nested_guests[{m.cfg.l1_lpid}]"
        if gp is None:
            return f"{where} is NULL; {miss_text}", miss
        return f"{where} = {gp.name}; " + _take_ref(m, i, gp, nxt, miss, miss_text)[0], nxt

    return act


def _lookup_read(m: _Machine, i: int) -> tuple[str, str | None]:
    gp = m.slot
    m.vcpus[i].seen = gp
    where = f"nested_guests[{m.cfg.l1_lpid}]"
    return f"gp = {where} = {gp.name if gp else 'NULL'}", None  # next set by the program


def _make_ops(cfg: RaceConfig) -> dict[str, _Op]:
    ops: dict[str, _Op] = {}
    lock = cfg.lock
    get = "kvmhv_get_nested"
    if cfg.race == "create":
        first_miss = "drop the lock and allocate"
        if lock:
            ops["lookup"] = (get, True, _lookup_both("use", "alloc", first_miss))
        else:
            ops["lookup-read"] = (get, False, lambda m, i: (_lookup_read(m, i)[0], "lookup-ref"))
            ops["lookup-ref"] = (
                get,
                False,
                lambda m, i: _take_ref(
                    m, i, _seen_guest(m, i), "use", "alloc", "gp is NULL: " + first_miss
                ),
            )

        def alloc(m: _Machine, i: int) -> tuple[str, str | None]:
            gp = m._new_guest()
            m.vcpus[i].newgp = gp
            nxt = "recheck" if (not lock and cfg.recheck) else "install"
            return (
                f"newgp = {gp.name}: shadow LPID {gp.shadow_lpid}, empty shadow PGD, refcnt 0",
                nxt,
            )

        ops["alloc"] = ("kvmhv_alloc_nested", False, alloc)

        def recheck(m: _Machine, i: int) -> tuple[str, str | None]:
            cur = m.slot
            m.vcpus[i].seen = cur
            return (
                f"look again: nested_guests[{cfg.l1_lpid}] = {cur.name if cur else 'NULL'}",
                "install",
            )

        def install(m: _Machine, i: int) -> tuple[str, str | None]:
            v = m.vcpus[i]
            assert v.newgp is not None
            if cfg.recheck:
                cur = m.slot if lock else v.seen
            else:
                cur = None
            parts = []
            if cur is not None:
                assert isinstance(cur, RaceGuest)
                gp = cur
                parts.append(f"someone else beat us to it: take {gp.name}")
            else:
                gp = v.newgp
                old = m.slot
                over = f" (overwrites {old.name}!)" if old is not None and old is not gp else ""
                m.table.add(cfg.l1_lpid, gp)
                gp.refcnt += 1
                v.newgp = None
                parts.append(
                    f"nested_guests[{cfg.l1_lpid}] = {gp.name}{over}, "
                    f"max_nested_lpid = {m.table.max_nested_lpid}"
                )
            m.touch(gp, "++refcnt")
            gp.refcnt += 1
            v.gp, v.holds = gp, True
            parts.append(f"{gp.name}.refcnt -> {gp.refcnt}")
            return "; ".join(parts), "drop"

        ops["recheck"] = (get, False, recheck)
        ops["install"] = (get, lock, install)

        def drop(m: _Machine, i: int) -> tuple[str, str | None]:
            v = m.vcpus[i]
            if v.newgp is None:
                return "newgp is NULL: nothing to release", "use"
            gp, v.newgp = v.newgp, None
            return "lost the race: " + m.release(gp, i), "use"

        ops["drop"] = ("kvmhv_release_nested", False, drop)

        def use(m: _Machine, i: int) -> tuple[str, str | None]:
            gp = m.vcpus[i].gp
            assert gp is not None
            m.touch(gp, "running the L2")
            return f"enters the L2 with LPID {gp.shadow_lpid} ({gp.name})", None

        ops["use"] = ("kvmhv_run_single_vcpu", False, use)
        return ops

    # ---------------------------------------------------------------- remove race
    none_text = "no such guest: nothing to flush"
    if lock:
        ops["get"] = (get, True, _lookup_both("remove", None, none_text))
    else:
        ops["get-read"] = (get, False, lambda m, i: (_lookup_read(m, i)[0], "get-ref"))
        ops["get-ref"] = (
            get,
            False,
            lambda m, i: _take_ref(
                m,
                i,
                _seen_guest(m, i),
                "remove-check" if cfg.check_gp else "remove",
                None,
                "gp is NULL: " + none_text,
            ),
        )

    def remove_check(m: _Machine, i: int) -> tuple[str, str | None]:
        v = m.vcpus[i]
        v.seen = m.slot is v.gp
        cur = m.slot
        mine = v.gp.name if v.gp else "NULL"
        return (
            f"nested_guests[{cfg.l1_lpid}] == {mine}? "
            f"{'yes' if v.seen else 'no'} ({cur.name if cur else 'NULL'})",
            "remove",
        )

    def remove(m: _Machine, i: int) -> tuple[str, str | None]:
        v = m.vcpus[i]
        gp = v.gp
        assert gp is not None
        if cfg.check_gp:
            match = (m.slot is gp) if lock else bool(v.seen)
        else:
            match = True
        parts = []
        if match:
            m.table.remove(cfg.l1_lpid)
            m.touch(gp, "--refcnt")
            gp.refcnt -= 1
            parts.append(
                f"nested_guests[{cfg.l1_lpid}] = NULL, max_nested_lpid = "
                f"{m.table.max_nested_lpid}, {gp.name}.refcnt -> {gp.refcnt}"
            )
        else:
            parts.append(f"slot no longer holds {gp.name}: leave refcnt alone")
        m.touch(gp, "reading refcnt")
        v.ref = gp.refcnt
        parts.append(f"ref = {v.ref}")
        return "; ".join(parts), "remove-release"

    def release_if_zero(nxt: str | None) -> _Action:
        def act(m: _Machine, i: int) -> tuple[str, str | None]:
            v = m.vcpus[i]
            assert v.gp is not None
            if v.ref != 0:
                return f"ref = {v.ref}: keep {v.gp.name}", nxt
            return m.release(v.gp, i), nxt

        return act

    def put_both(m: _Machine, i: int) -> tuple[str, str | None]:
        v = m.vcpus[i]
        gp = v.gp
        assert gp is not None
        m.touch(gp, "--refcnt")
        gp.refcnt -= 1
        v.ref, v.holds = gp.refcnt, False
        return f"ref = --{gp.name}.refcnt = {v.ref}", "put-release"

    def put_load(m: _Machine, i: int) -> tuple[str, str | None]:
        v = m.vcpus[i]
        assert v.gp is not None
        m.touch(v.gp, "loading refcnt")
        v.loaded = v.gp.refcnt
        return f"load {v.gp.name}.refcnt = {v.loaded}", "put-store"

    def put_store(m: _Machine, i: int) -> tuple[str, str | None]:
        v = m.vcpus[i]
        gp = v.gp
        assert gp is not None
        m.touch(gp, "storing refcnt")
        gp.refcnt = v.loaded - 1
        v.ref, v.holds = gp.refcnt, False
        return f"store {gp.name}.refcnt = {v.loaded} - 1 = {v.ref}; ref = {v.ref}", "put-release"

    first_put = "put" if lock else "put-load"
    ops["remove-check"] = ("kvmhv_remove_nested", False, remove_check)
    ops["remove"] = ("kvmhv_remove_nested", lock, remove)
    ops["remove-release"] = ("kvmhv_release_nested", False, release_if_zero(first_put))
    ops["put"] = ("kvmhv_put_nested", True, put_both)
    ops["put-load"] = ("kvmhv_put_nested", False, put_load)
    ops["put-store"] = ("kvmhv_put_nested", False, put_store)
    ops["put-release"] = ("kvmhv_release_nested", False, release_if_zero(None))
    if cfg.race == "tlbie-all":
        _tlbie_all_ops(cfg, ops, release_if_zero("tlb-unlock"))
    return ops


def _tlbie_all_ops(cfg: RaceConfig, ops: dict[str, _Op], remove_release: _Action) -> None:
    """The "tlbie-all" race, line by line of 4.20.1 ``book3s_hv_nested.c``.

    vcpu 0, ``kvmhv_emulate_tlbie_all_lpid`` (IS=3): ``scan`` (:894-898, one mmu_lock
    section: the loop finds ``nested_guests[lpid]`` and drops the lock, no reference),
    then ``kvmhv_emulate_tlbie_lpid``: ``tlb-lock`` (:862), ``flush`` (:880 ->
    ``kvmhv_flush_nested`` :582-587, the L1's entry re-reads as 0), ``remove`` (:588 ->
    ``kvmhv_remove_nested`` :523-534), ``remove-release`` (:536 -> kfree :514),
    ``tlb-unlock`` (:885), and ``scan-next`` (:900-903: retake the lock, the loop ends).
    vcpu 1 "flush" is ``kvmhv_emulate_priv_tlbie`` IS=2 (:946-949): ``get``, the same
    five steps, ``put``; "run" is a vcpu inside ``kvmhv_enter_nested_guest`` whose
    reference (:236) is put back at :300.
    """
    get = "kvmhv_get_nested"
    emulate = "kvmhv_emulate_tlbie_lpid"
    ops["get"] = (get, True, _lookup_both("tlb-lock", None, "no such guest: nothing to flush"))

    def scan(m: _Machine, i: int) -> tuple[str, str | None]:
        v = m.vcpus[i]
        top = m.table.max_nested_lpid
        found = m.table.next_from(0)
        if found is None:
            return f"i = 0 .. max_nested_lpid = {top}: no guest; spin_unlock, done", None
        lpid, gp = found
        v.gp = gp  # a bare pointer: no ++refcnt
        return (
            f"i = {lpid}: gp = nested_guests[{lpid}] = {gp.name}, no reference taken "
            f"(refcnt {gp.refcnt}); spin_unlock",
            "tlb-lock",
        )

    def tlb_lock(m: _Machine, i: int) -> tuple[str, str | None]:
        gp = m.vcpus[i].gp
        assert gp is not None and gp.tlb_owner in (None, i)
        m.touch(gp, "mutex_lock(&gp->tlb_lock)")
        gp.tlb_owner = i
        return f"mutex_lock(&{gp.name}->tlb_lock)", "flush"

    def flush(m: _Machine, i: int) -> tuple[str, str | None]:
        gp = m.vcpus[i].gp
        assert gp is not None
        m.touch(gp, "kvmhv_flush_nested")
        if gp.freed:
            text = (
                f"on freed {gp.name}: walks its freed shadow PGD, rewrites PATE"
                f"[{gp.shadow_lpid}] to point at it, re-reads the L1's entry: 0"
            )
        else:
            text = (
                f"free {gp.name}'s shadow tree, flush LPID {gp.shadow_lpid}, re-read the "
                "L1's entry: 0, so remove it"
            )
        return text, "remove"

    def tlb_unlock(m: _Machine, i: int) -> tuple[str, str | None]:
        gp = m.vcpus[i].gp
        assert gp is not None
        m.touch(gp, "mutex_unlock(&gp->tlb_lock)")
        gp.tlb_owner = None
        return f"mutex_unlock(&{gp.name}->tlb_lock)", "scan-next" if i == 0 else "put"

    def scan_next(m: _Machine, i: int) -> tuple[str, str | None]:
        nxt = cfg.l1_lpid + 1
        return (
            f"spin_lock; i = {nxt} > max_nested_lpid = {m.table.max_nested_lpid}: the loop "
            "ends; spin_unlock",
            None,
        )

    def run(m: _Machine, i: int) -> tuple[str, str | None]:
        gp = m.vcpus[i].gp
        assert gp is not None
        m.touch(gp, "running the L2")
        return f"runs the L2 under shadow LPID {gp.shadow_lpid} ({gp.name})", "put"

    all_lpid = "kvmhv_emulate_tlbie_all_lpid"
    ops["scan"] = (all_lpid, True, scan)
    ops["tlb-lock"] = (emulate, False, tlb_lock)
    ops["flush"] = ("kvmhv_flush_nested", False, flush)
    ops["remove-release"] = ("kvmhv_release_nested", False, remove_release)
    ops["tlb-unlock"] = (emulate, False, tlb_unlock)
    ops["scan-next"] = (all_lpid, True, scan_next)
    ops["run"] = ("kvmhv_run_single_vcpu", False, run)


def _step(m: _Machine, ops: dict[str, _Op], i: int, trace: bool) -> TraceStep | None:
    v = m.vcpus[i]
    assert v.pc is not None
    name = v.pc
    function, locked, action = ops[name]
    before = len(m.violations)
    text, nxt = action(m, i)
    v.pc = nxt
    m.check()
    step = None
    if trace:
        slot = m.slot
        step = TraceStep(
            m.step_no,
            i,
            name,
            function,
            locked,
            text,
            slot.name if slot else None,
            m.snapshot(),
            tuple(m.violations[before:]),
        )
    m.step_no += 1
    return step


def _replay(cfg: RaceConfig, sched: tuple[int, ...]) -> tuple[tuple[TraceStep, ...], _Machine]:
    """Run ``sched`` from the start with the trace on; ConfigError if it is not a
    complete schedule."""
    ops = _make_ops(cfg)
    m = _Machine(cfg)
    steps = []
    for n, i in enumerate(sched):
        if m.vcpus[i].pc is None:
            raise ConfigError(f"step {n}: vcpu {i} has already finished")
        owner = m.waiting_for(i)
        if owner is not None:
            raise ConfigError(
                f"step {n}: vcpu {i} waits in mutex_lock for the tlb_lock vcpu {owner} holds"
            )
        st = _step(m, ops, i, True)
        assert st is not None
        steps.append(st)
    left = [i for i, v in enumerate(m.vcpus) if v.pc is not None]
    if left:
        raise ConfigError(
            f"the schedule ends after {len(sched)} steps but vcpu {left[0]} still has "
            f"{m.vcpus[left[0]].pc!r} to run"
        )
    m.check_end()
    return tuple(steps), m


# ------------------------------------------------------------------ public API
def _config(
    race: str, lock: bool, recheck: bool, check_gp: bool, l1_lpid: int, partner: str | None
) -> RaceConfig:
    if race not in RACES:
        raise ConfigError(f"unknown race {race!r}: choose 'create', 'remove' or 'tlbie-all'")
    if race == "tlbie-all":
        partner = "flush" if partner is None else partner
        if partner not in PARTNERS:
            raise ConfigError(
                f"unknown partner {partner!r} for vcpu 1: choose 'flush', 'run' or 'none'"
            )
        if not (lock and check_gp):
            raise ConfigError(
                "the tlbie-all race models the kernel's code only: mmu_lock and the == gp "
                "check stay on"
            )
    elif partner is not None:
        raise ConfigError(f"partner is for the tlbie-all race, not the {race} race")
    check_int("l1_lpid", l1_lpid)
    if l1_lpid >= KVM_MAX_NESTED_GUESTS:
        raise ConfigError(
            f"L1 LPID {l1_lpid} is past nested_guests[{KVM_MAX_NESTED_GUESTS}] (4.20): "
            "kvmhv_get_nested returns NULL for it"
        )
    return RaceConfig(race, bool(lock), bool(recheck), bool(check_gp), l1_lpid, partner or "")


def _parse_schedule(schedule: Iterable[int] | str) -> tuple[int, ...]:
    if isinstance(schedule, str):
        items: Sequence[object] = [c for c in schedule if not c.isspace() and c != ","]
    else:
        items = list(schedule)
    out = []
    for c in items:
        if isinstance(c, str) and c in "01":
            out.append(int(c))
        elif isinstance(c, int) and not isinstance(c, bool) and c in (0, 1):
            out.append(c)
        else:
            raise ConfigError(f"a schedule lists vcpu numbers 0 and 1; got {c!r}")
    return tuple(out)


def explore(
    race: str = "create",
    *,
    lock: bool = True,
    recheck: bool = True,
    check_gp: bool = True,
    l1_lpid: int = 1,
    partner: str | None = None,
) -> Exploration:
    """Every interleaving of the two vcpus for ``race`` ("create": concurrent
    ``kvmhv_get_nested(create=true)``; "remove": concurrent ``kvmhv_remove_nested`` +
    ``kvmhv_put_nested``; "tlbie-all": an IS=3 RIC=2 H_TLB_INVALIDATE on vcpu 0 while
    vcpu 1 does what ``partner`` says, see :data:`PARTNERS`), run and checked. A vcpu
    waiting for ``gp->tlb_lock`` (tlbie-all only) cannot be scheduled."""
    cfg = _config(race, lock, recheck, check_gp, l1_lpid, partner)
    key = cfg
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    ops = _make_ops(cfg)
    result = Exploration(cfg)
    # depth-first, vcpu 0 first: an explicit stack of (machine, schedule so far)
    stack: list[tuple[_Machine, tuple[int, ...]]] = [(_Machine(cfg), ())]
    while stack:
        m, sched = stack.pop()
        ready = m.runnable()
        assert ready or all(v.pc is None for v in m.vcpus), "deadlock"
        if not ready:
            m.check_end()
            result.interleavings.append(
                Interleaving(len(result.interleavings), cfg, sched, m.final(), tuple(m.violations))
            )
            continue
        children = []
        for n, i in enumerate(ready):
            mm = m if n == len(ready) - 1 else m.clone()
            _step(mm, ops, i, False)
            children.append((mm, (*sched, i)))
        stack.extend(reversed(children))
    _CACHE[key] = result
    return result


_CACHE: dict[RaceConfig, Exploration] = {}


def run_schedule(
    race: str,
    schedule: Iterable[int] | str,
    *,
    lock: bool = True,
    recheck: bool = True,
    check_gp: bool = True,
    l1_lpid: int = 1,
    partner: str | None = None,
) -> Interleaving:
    """Run one schedule (e.g. ``"0 1 0 1 0 1 0 0 1 1"``: vcpu numbers, one per step).

    ConfigError when the schedule names a vcpu that has already finished, or one that
    is waiting for a ``tlb_lock`` the other holds, or ends before both are done; the
    message says which.
    """
    cfg = _config(race, lock, recheck, check_gp, l1_lpid, partner)
    sched = _parse_schedule(schedule)
    steps, m = _replay(cfg, sched)
    inter = Interleaving(-1, cfg, sched, m.final(), tuple(m.violations))
    inter.__dict__["steps"] = steps
    return inter
