"""An adversarial L1 as a hypothesis state machine: it does anything an L1 can do.

The L1 (in a world like :func:`pynest.scenarios.two_l2s`, next to a second, benign L1
that runs an L2 of its own) makes every nested hcall with random and boundary arguments,
scribbles garbage into its partition table, its trees for its L2s and their process
tables and trees, removes guests while a vcpu still runs them, and runs L2 programs
that touch anything. The second campaign (issue 13) adds:

* a new world per run across page-size mixes: L0 ``PAGE_SHIFT`` 12 or 16 with each
  backing (4K L0: 4K/2M/1G, and 64K, which an L0 may refuse; 64K L0: 64K/2M/1G), the
  L2s' L1 pages 4K/64K/2M, and an *arena* in each L2 where the L1's tree for it mixes
  4K, 64K, 2M and 1G leaves, collapses small leaves into a 2M leaf and splits it back
  (with the L1 kernel's H_TLB_INVALIDATEs, ``kvmppc_create_pte`` /
  ``kvmppc_unmap_free_pmd_entry_table`` in an L1);
* structured surgery on the live trees for its L2s (move a directory to a copy, share
  one table between two PDEs, point a PDE at its own table, change a live PDE's NLS,
  turn a leaf into a directory and back);
* valid hcalls with hostile buffer placement: H_ENTER_NESTED, H_COPY_TOFROM_GUEST and
  H_SET_PARTITION_TABLE whose buffers straddle the end of the L1's memory, overlap each
  other, the L1's partition table or the L2's tables, or sit in a page L0 just reclaimed;
* lifecycle churn: a third L1 created and destroyed with L2s at lpid boundaries;
* the benign L1 stores known patterns through its L2 and checks them, through L0's
  memory every step and through its L2's loads every few steps;
* a footprint check: every host address L0 writes during an hcall lies in the calling
  L1's allotment, in a table of the caller's trees (allocated now or freed during the
  call) or in a partition-table entry of the caller's LPID or its shadow LPIDs; and no
  read during it (L0's, or the hardware walk's bus reads) touches another L1's memory
  or a table of another L1's trees;
* resource baselines: at the end of each run every L1 is destroyed and L0's table
  bytes, free LPIDs, guest TLB entries and verdict cache must be back to those of the
  fresh L0, and the TLB and the event-log ring within their bounds.

After every step the invariants of issue 7 are checked too:

* isolation: :func:`pynest.kvm.host.isolation_violations` is empty;
* reference counts are never negative; a guest in a nested table holds its slot's
  reference and is not freed;
* ``max_nested_lpid`` is the highest live nested lpid (-1 when none: 4.20
  ``kvmhv_remove_nested`` walks it down; the IDR computes it);
* no Python exception escapes an hcall (every failure is an H_* code or a reflected
  fault); the L1's *own* helpers may refuse its own garbage with a
  :class:`~pynest.errors.PynestError` (counted, never from inside an hcall);
* the event log is append-only and ordered (``seq`` = position, known kinds and actors,
  every ``hcall`` followed by its ``hcall-return``), and the timebase never goes back.

:data:`STATS` counts steps, rules, hcalls by return code, invariant checks by invariant,
worlds and L0 resources for ``benchmarks/fuzz.py``; ``AdversarialL1.progress`` (a
callable) is called every step.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pynest import scenarios as W
from pynest.errors import ConfigError, PynestError
from pynest.kvm import hcalls as H
from pynest.kvm.events import ACTORS, KINDS
from pynest.kvm.guest_copy import kmalloc_max
from pynest.kvm.guest_state import (
    HV_GUEST_STATE_V1_SIZE,
    HV_GUEST_STATE_VERSION,
    LPCR_L1_MASK,
    HvGuestState,
    PtRegs,
)
from pynest.kvm.host import L0, L1_LPCR, LPID_RSVD, L1Vm
from pynest.kvm.l1 import L1, TLBIEL_INVAL_SET_LPID, L2Guest, h_tlbie_p1_enc
from pynest.kvm.l2 import NR_CPUS
from pynest.kvm.nested import get_nested, put_nested
from pynest.kvm.program import Hcall, Load, Program, Spin, Store
from pynest.kvm.radix import shadow_leaves
from pynest.kvm.versions import L0_KERNELS
from pynest.memory import PhysicalMemory
from pynest.mmu import constants as C
from pynest.mmu.builder import make_pte

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1
_MB = 1 << 20
_GB = 1 << 30


# ----------------------------------------------------------------------------- statistics
@dataclass
class Stats:
    """What the adversary did and what was checked (reset with :meth:`reset`)."""

    steps: int = 0
    rules: Counter = field(default_factory=Counter)
    hcalls: Counter = field(default_factory=Counter)  # (hcall name, rc name) -> count
    invariant_checks: int = 0
    invariants: Counter = field(default_factory=Counter)  # invariant name -> checks
    l1_refusals: Counter = field(default_factory=Counter)  # the L1's own helpers said no
    worlds: Counter = field(default_factory=Counter)  # "PAGE_SHIFT/backing/L2 page" -> runs
    footprint_writes: int = 0  # host doublewords L0 wrote inside hcalls, all checked
    footprint_reads: int = 0  # host reads L0 (and the hardware walker) made inside hcalls
    # per run: L0 resources of the fresh L0, at the end of the run, after destroying all
    resources: list[tuple[dict, dict, dict]] = field(default_factory=list)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def check(self, name: str) -> None:
        self.invariant_checks += 1
        self.invariants[name] += 1


STATS = Stats()


class HcallEscape(AssertionError):
    """A Python exception escaped an hcall (never a PynestError the L1 may catch)."""


class FootprintViolation(AssertionError):
    """L0 wrote host memory during an hcall that the calling L1 has no claim to."""


class _RecordingMemory(PhysicalMemory):
    """:class:`PhysicalMemory` that records the address of every doubleword written
    while ``sink`` is a list, and (address, bytes) of every API read while ``rsink`` is
    one (the class of ``l0.mem`` is swapped to it: same slots). Bus reads, which the
    hardware walker makes, come from the memory's own ``access_log``."""

    __slots__ = ()
    sink: list[int] | None = None
    rsink: list[tuple[int, int]] | None = None

    def _set(self, dw_addr: int, value: int) -> None:
        sink = _RecordingMemory.sink
        if sink is not None:
            sink.append(dw_addr)
        PhysicalMemory._set(self, dw_addr, value)

    def read_u64(self, addr: int) -> int:
        if _RecordingMemory.rsink is not None:
            _RecordingMemory.rsink.append((addr, 8))
        return PhysicalMemory.read_u64(self, addr)

    def read(self, addr: int, n: int) -> bytes:
        if _RecordingMemory.rsink is not None:
            _RecordingMemory.rsink.append((addr, n))
        return PhysicalMemory.read(self, addr, n)

    def nonzero_u64(self, addr: int, size: int) -> list[tuple[int, int]]:
        if _RecordingMemory.rsink is not None:
            _RecordingMemory.rsink.append((addr, size))
        return PhysicalMemory.nonzero_u64(self, addr, size)


def l0_resources(l0: L0) -> dict[str, int]:
    """What L0 holds that churn must give back (``table_alloc.in_use`` etc.)."""
    log = l0.events
    return {
        "table bytes": l0.table_alloc.in_use,
        "LPIDs free": l0.lpids.free_count,
        "TLB entries": len(l0.tlb),
        "guest TLB entries": sum(1 for e in l0.tlb if e.lpid),
        "verdict cache": len(getattr(l0.tlb, "_verdicts", ())),
        "event log held": len(log) - getattr(log, "dropped", 0),
        "event log length": len(log),
    }


def _size(n: int) -> str:
    return f"{n >> 30}G" if n >= _GB else f"{n >> 20}M" if n >= _MB else f"{n >> 10}K"


# ----------------------------------------------------------------------------- strategies
u64 = st.integers(0, U64)
u32 = st.integers(0, U32)


def _around(*points: int, mask: int = U64) -> st.SearchStrategy[int]:
    """Each point and its neighbours, masked to the register width."""
    return st.sampled_from(sorted({(p + d) & mask for p in points for d in (-1, 0, 1)}))


LPID_BOUNDS = _around(0, 2, 255, 256, 1023, 1024, 4095, 4096, LPID_RSVD, 2**31, 2**32, mask=U32)
#: an lpid: None means "one of the live L2s" (picked by index), else a boundary or random
lpids = st.one_of(st.none(), st.none(), LPID_BOUNDS, u32)
picks = st.integers(0, 15)
# addresses an L1 might hand L0: its buffers (None), small, misaligned, at the end of its
# memory, past it, at the top of the register
L1_ADDR_POINTS = (0, 8, 0x1000, 16 * _MB, 64 * _MB, 255 * _MB, 256 * _MB, 2**52, 2**60, U64)
l1_addrs = st.one_of(st.none(), st.none(), _around(*L1_ADDR_POINTS), u64)
hostile_bits = st.one_of(
    u64,
    st.sampled_from(
        [0, U64, LPCR_L1_MASK, ~LPCR_L1_MASK & U64, L1_LPCR, C.LPCR_HR | C.LPCR_UPRT, 1 << 63]
    ),
)

#: (L0 PAGE_SHIFT, backing) of the worlds: every legal backing, and 64K under a 4K L0
#: (an L0 may refuse it; then the L1 gets L0's default backing)
WORLDS = [
    (12, C.PAGE_4K),
    (12, C.PAGE_2M),
    (12, C.PAGE_1G),
    (12, C.PAGE_64K),
    (16, C.PAGE_64K),
    (16, C.PAGE_2M),
    (16, C.PAGE_1G),
]

# The arena: L2 effective 1G..2G maps (one process-scoped 1G page) to L2 real 1G..2G,
# where the L1's tree for the L2 holds regions 0-3 (2M each, at L1 real 128M + 2M k) of
# 4K, 64K or 2M leaves; region 4 is L2 real 2G..3G as one 1G leaf onto L1 real 0.
ARENA_EA = ARENA_GPA = _GB
ARENA_L1 = 128 * _MB
ARENA_REGIONS = 4
GIANT_EA = GIANT_GPA = 2 * _GB
#: the benign L1's pattern EAs: four 4K pages in four 64K L1 pages of its L2
PATTERN_EAS = tuple(W.DATA_EA + _MB + i * C.PAGE_64K for i in range(4))
PATTERN_GPA = 0x28_0000
NEIGHBOUR_CHECK_EVERY = 5  # steps between the benign L1's checks through its L2's loads
CHURN_MAX = 40  # churned L1s per run (L0's RAM allocator does not reuse allotments)


# ----------------------------------------------------------------------------- machine
class AdversarialL1(RuleBasedStateMachine):
    """See the module docstring."""

    progress: Callable[[Stats], None] | None = None

    # ------------------------------------------------------------------ set-up
    @initialize(
        seed=st.integers(0, 3),
        table=st.sampled_from(["array", "dynamic"]),
        kernel=st.sampled_from(["4.20", "5.19"]),
        l0_kernel=st.sampled_from(L0_KERNELS),
        world=st.sampled_from(WORLDS),
        l2_page=st.sampled_from([C.PAGE_64K, C.PAGE_64K, C.PAGE_4K, C.PAGE_2M]),
        budget=st.sampled_from([None, None, 1 * _MB, 4 * _MB]),
    )
    def build(
        self,
        seed: int,
        table: str,
        kernel: str,
        l0_kernel: str,
        world: tuple[int, int],
        l2_page: int,
        budget: int | None = None,
    ) -> None:
        """A new world: L0 (``world`` = PAGE_SHIFT, backing), our L1 with two L2s that
        ran once (:func:`pynest.scenarios.add_l2`), the benign neighbour L1. ``budget``:
        our L1's accounted table budget (None: L0's default), small enough in some runs
        for :meth:`flood` to exhaust it."""
        page_shift, backing = world
        # 64 GiB of (sparse) host memory: room for the churned L1s' allotments
        self.l0 = l0 = L0(64 * _GB, page_shift=page_shift, nested_table=table, kernel=l0_kernel)
        l0.mem.__class__ = _RecordingMemory
        self.freed_tables: dict[int, int] | None = None
        raw_free = l0.table_alloc.free

        def free(addr: int) -> None:
            if self.freed_tables is not None and addr in l0.table_alloc.sizes:
                self.freed_tables[addr] = l0.table_alloc.sizes[addr]
            raw_free(addr)

        l0.table_alloc.free = free  # type: ignore[method-assign]
        self.baseline = l0_resources(l0)
        limit = {} if budget is None else {"table_limit": budget}
        try:
            vm = l0.create_l1(_GB if backing == C.PAGE_1G else 256 * _MB, backing=backing, **limit)
        except ConfigError:  # 64K backing under a 4K L0: refused (issue 13 A)
            STATS.worlds[f"PAGE_SHIFT {page_shift}: backing {_size(backing)} refused"] += 1
            vm = l0.create_l1(256 * _MB, **limit)
        STATS.worlds[
            f"PAGE_SHIFT {page_shift}, backing {_size(vm.backing)}, L2 pages {_size(l2_page)}"
            + ("" if budget is None else f", budget {_size(budget)}")
        ] += 1
        self.vm, self.l1 = vm, L1(vm, kernel=kernel)
        self._guard(self.l1)
        assert self.l1.nested_init() == H.H_SUCCESS
        self.w = W.World(seed, l0, vm, self.l1)
        rng = random.Random(seed)
        for _ in range(2):
            W.add_l2(self.w, rng, l2_page)
        self.w.run_all()
        self.patterns: dict[int, int] = {}
        self.neighbour_checks = 0
        self._add_other_l1()
        self.good_ptcr = self.l1.ptcr
        self.held = None  # a nested guest vcpu 1 of our L1 is "inside H_ENTER_NESTED" for
        self.gps: dict[int, object] = {}  # every nested guest seen, by id
        self.log_len = len(l0.events)
        self.log_last = l0.events[-1] if len(l0.events) else None
        self.timebase = 0
        self.replaced = 0
        self.churned = 0
        self.neighbour_l2s = 0
        self.storms = 0
        self.arena_ready: set[int] = set()
        self.arena_pages: dict[tuple[int, int], list[int]] = {}  # (lpid, region) -> offsets
        self.arena_last = (-1, 0)  # (lpid, region) of the last arena rule
        self.undo: list[tuple[int, int]] = []  # (L1 real slot, old entry) of tree surgery

    def _add_other_l1(self) -> None:
        """A second L1 with one L2 that has run: the neighbour nothing may reach. Its
        L2 maps :data:`PATTERN_EAS` for the patterns it stores and checks."""
        vm = self.l0.create_l1(256 << 20)
        l1 = L1(vm, kernel=self.l1.kernel)
        self._guard(l1)
        assert l1.nested_init() == H.H_SUCCESS
        l2 = l1.create_l2(4 << 20)
        l1.l2_map(l2, W.CODE_EA, 0x10_0000 * 3, C.PAGE_4K, "x")
        l1.l2_map(l2, W.DATA_EA, 0x20_0000, C.PAGE_4K, "rw")
        for i, ea in enumerate(PATTERN_EAS):
            l1.l2_map(l2, ea, PATTERN_GPA + i * C.PAGE_64K, C.PAGE_4K, "rw")
        ops = (Store(W.DATA_EA, 0x5A5A), Load(W.DATA_EA), Hcall(H.H_CEDE))
        l1.load_program(l2, Program(ops, entry=W.CODE_EA))
        l1.run_l2(l2)
        self.other_vm, self.other_l1, self.other_l2 = vm, l1, l2
        self.patterns = {}

    def _guard(self, l1: L1) -> None:
        """Make every hcall of ``l1`` turn an escaping exception into HcallEscape, and
        check the host addresses L0 wrote during it (:meth:`_footprint`)."""
        raw = l1.hcall
        vm = l1.vm

        def hcall(nr: int, *args: int, vcpu: int = 0) -> int:
            sink: list[int] = []
            reads: list[tuple[int, int]] = []
            bus: list = []
            before = self._shadow_lpids(vm)
            _RecordingMemory.sink, _RecordingMemory.rsink = sink, reads
            self.freed_tables = {}
            try:
                with self.l0.mem.access_log() as bus:
                    return raw(nr, *args, vcpu=vcpu)
            except Exception as exc:
                detail = " ".join(f"{a:#x}" for a in args)
                raise HcallEscape(
                    f"{type(exc).__name__} escaped {H.hcall_name(nr)}({detail}) "
                    f"on vcpu {vcpu}: {exc}"
                ) from exc
            finally:
                freed = self.freed_tables
                _RecordingMemory.sink = _RecordingMemory.rsink = self.freed_tables = None
                STATS.footprint_writes += len(sink)
                reads += [(a.addr, 8) for a in bus if a.kind == "read" and a.in_range]
                STATS.footprint_reads += len(reads)
                bad = self._footprint(vm, sink, freed or {}, before)
                bad += self._read_footprint(vm, reads)
                if bad:
                    raise FootprintViolation(
                        f"{H.hcall_name(nr)} of LPID {vm.lpid} wrote host memory it has no "
                        "claim to: " + "; ".join(bad[:8])
                    )

        l1.hcall = hcall  # type: ignore[method-assign]

    # ------------------------------------------------------------------ footprint
    @staticmethod
    def _running(vm: L1Vm) -> list:
        return [*vm.nested.values(), *(v.nested for v in vm.vcpus if v.nested is not None)]

    def _shadow_lpids(self, vm: L1Vm) -> set[int]:
        return {gp.shadow_lpid for gp in self._running(vm)}

    def _read_footprint(self, vm: L1Vm, reads: list[tuple[int, int]]) -> list[str]:
        """Which of ``reads`` ((host address, bytes) read during one hcall of ``vm``, by
        L0 or by the hardware walk) touch another L1's memory or a table of another L1's
        trees (L0's tree for it, its guests' shadow trees)."""
        lo, hi = vm.allotment
        others = [o for o in self.l0.guests.values() if o is not vm]
        ta = self.l0.table_alloc
        theirs = None
        bad = []
        for a, n in set(reads):
            if lo <= a and a + n <= hi:
                continue
            for o in others:
                if a < o.mem_base + o.mem_size and o.mem_base < a + n:
                    bad.append(f"read {a:#x}+{n:#x}: the memory of LPID {o.lpid}")
                    break
            else:
                if not ta.start <= a < ta.end:
                    continue
                if theirs is None:
                    theirs = {}
                    for o in others:
                        for t in o.pgtable.tables:
                            theirs[t] = o.lpid
                        for gp in self._running(o):
                            if gp.shadow_pgtable is not None:
                                theirs.update(dict.fromkeys(gp.shadow_pgtable.tables, o.lpid))
                for size in (8 << 5, 8 << 9, 8 << C.ROOT_NLS):
                    owner = theirs.get(a & -size)
                    if owner is not None and ta.sizes.get(a & -size) == size:
                        bad.append(f"read {a:#x}: a table of LPID {owner}'s trees")
                        break
        return bad

    def _footprint(
        self, vm: L1Vm, writes: list[int], freed: dict[int, int], before: set[int]
    ) -> list[str]:
        """Which of ``writes`` (host doubleword addresses L0 wrote during one hcall of
        ``vm``) the caller has no claim to: not in its allotment, not a partition-table
        entry of its LPID or of a shadow LPID it had before or has after, not in a table
        of its trees (L0's tree for it, its guests' shadow trees) nor one freed during
        the call. Writes to another L1's memory are named as such."""
        l0 = self.l0
        lo, hi = vm.allotment
        pbase = l0.ptab.base
        pend = pbase + 16 * l0.ptab.num_lpids
        sizes = l0.table_alloc.sizes
        lpids = None
        owned = None
        bad = []
        for a in set(writes):
            if lo <= a < hi:
                continue
            if pbase <= a < pend:
                lpids = lpids or {vm.lpid} | before | self._shadow_lpids(vm)
                if (a - pbase) // 16 not in lpids:
                    bad.append(f"{a:#x}: PATE of LPID {(a - pbase) // 16}")
                continue
            for other in l0.guests.values():
                if other is not vm and other.mem_base <= a < other.mem_base + other.mem_size:
                    bad.append(f"{a:#x}: in the memory of LPID {other.lpid}")
                    break
            else:
                base = next(
                    (
                        b
                        for size in (8 << 5, 8 << 9, 8 << C.ROOT_NLS)
                        if sizes.get(b := a & -size) == size or freed.get(b) == size
                    ),
                    None,
                )
                if base is None:
                    bad.append(f"{a:#x}: not in any allocated table")
                    continue
                if owned is None:
                    owned = set(vm.pgtable.tables)
                    for gp in self._running(vm):
                        if gp.shadow_pgtable is not None:
                            owned.update(gp.shadow_pgtable.tables)
                if base not in owned and base not in freed:
                    bad.append(f"{a:#x}: in table {base:#x}, not one of the caller's trees")
        return bad

    # ------------------------------------------------------------------ helpers
    def _step(self, name: str) -> None:
        STATS.steps += 1
        STATS.rules[name] += 1
        if self.progress is not None:
            self.progress(STATS)

    def _l1_side(self, what: str, fn: Callable[[], object]) -> object:
        """Run an L1 helper; a PynestError is the L1 refusing its own garbage."""
        try:
            return fn()
        except HcallEscape:
            raise
        except PynestError as exc:
            STATS.l1_refusals[f"{what}: {type(exc).__name__}"] += 1
            return None

    def _live(self, pick: int):  # noqa: ANN202
        l2s = list(self.l1.l2s.values())
        return l2s[pick % len(l2s)] if l2s else None

    def _lpid(self, lpid: int | None, pick: int) -> int:
        if lpid is None:
            l2 = self._live(pick)
            return l2.l1_lpid if l2 is not None else pick
        return lpid

    def _addr(self, addr: int | None, default: int) -> int:
        return default if addr is None else addr

    def _vcpu(self, pick: int) -> int:
        """vcpu 1 is taken while it holds a guest."""
        return 0 if self.held is not None else pick % len(self.vm.vcpus)

    def _write(self, gpa: int, data: bytes) -> bool:
        return self.vm.write_guest(gpa, data)

    # ------------------------------------------------------------------ hcalls
    @rule(
        base=st.one_of(st.none(), _around(0, 0x1000, 16 * _MB, 255 * _MB, 256 * _MB, 2**51, 2**60)),
        misalign=st.sampled_from([0, 0, 0x10, 0x800, 0xFFF]),
        pats=st.integers(0, 31),
        top=st.sampled_from([0, 0, 1 << 63, 0xF << 60]),
    )
    def set_partition_table(self, base: int | None, misalign: int, pats: int, top: int) -> None:
        """H_SET_PARTITION_TABLE with every PATS and good, misaligned, outside bases."""
        self._step("set_partition_table")
        b = (self.good_ptcr & C.PTCR_PATB) if base is None else base
        ptcr = ((b + misalign) & U64 & ~C.PTCR_PATS | pats | top) & U64
        self.l1.hcall(H.H_SET_PARTITION_TABLE, ptcr)

    @rule()
    def restore_partition_table(self) -> None:
        self._step("restore_partition_table")
        assert self.l1.hcall(H.H_SET_PARTITION_TABLE, self.good_ptcr) == H.H_SUCCESS

    @rule(
        version=st.one_of(st.sampled_from([0, 1, 1, 1, 2, 3, U64]), u64),
        lpid=lpids,
        pick=picks,
        vcpu_token=st.one_of(_around(0, NR_CPUS - 1, 2**31, U32, mask=U32), u32),
        lpcr=hostile_bits,
        hfscr=hostile_bits,
        regs=st.tuples(hostile_bits, hostile_bits, hostile_bits, hostile_bits),
        hdec=st.one_of(st.integers(0, 3000), st.sampled_from([0, 2**63, U64])),
        tb_offset=st.one_of(st.just(0), st.integers(-(2**63), 2**63 - 1)),
        nip=st.one_of(st.none(), u64),
        msr=st.one_of(st.none(), hostile_bits),
        hv_ptr=l1_addrs,
        regs_ptr=l1_addrs,
        little=st.booleans(),
        vcpu=st.integers(0, 1),
    )
    def enter_nested(
        self,
        version: int,
        lpid: int | None,
        pick: int,
        vcpu_token: int,
        lpcr: int,
        hfscr: int,
        regs: tuple[int, int, int, int],
        hdec: int,
        tb_offset: int,
        nip: int | None,
        msr: int | None,
        hv_ptr: int | None,
        regs_ptr: int | None,
        little: bool,
        vcpu: int,
    ) -> None:
        """H_ENTER_NESTED with a hostile hv_guest_state and pt_regs at any address."""
        self._step("enter_nested")
        v = self._vcpu(vcpu)
        l1_tb = self.l0.timebase + self.vm.vcpus[v].tb_offset
        pcr, amor, dawrx0, ciabr = regs
        hv = HvGuestState(
            version=version,
            lpid=self._lpid(lpid, pick) & U32,
            vcpu_token=vcpu_token,
            lpcr=lpcr,
            hfscr=hfscr,
            pcr=pcr,
            amor=amor,
            dawr0=amor ^ pcr,
            dawrx0=dawrx0,
            ciabr=ciabr,
            tb_offset=tb_offset if tb_offset < 2**63 else 0,
            hdec_expiry=(l1_tb + hdec) & U64 if 0 < hdec < 2**63 else hdec,
            pidr=pick,
        )
        l2 = self._live(pick)
        pt = PtRegs(
            gpr=[(pcr * (i + 1)) & U64 for i in range(32)],
            nip=(W.CODE_EA if nip is None else nip),
            msr=(C.MSR_GUEST_KERNEL if msr is None else msr),
        )
        if l2 is not None and nip is None:
            pt.nip = l2.regs.nip
        hv_buf, regs_buf = self.l1.buffers[v]
        hv_gpa = self._addr(hv_ptr, hv_buf)
        regs_gpa = self._addr(regs_ptr, regs_buf)
        self.vm.vcpus[v].msr = (self.vm.vcpus[v].msr & ~C.MSR_LE) | (C.MSR_LE if little else 0)
        self._write(hv_gpa, hv.to_bytes(little, HV_GUEST_STATE_V1_SIZE))
        self._write(regs_gpa, pt.to_bytes(little))
        self.l1.hcall(H.H_ENTER_NESTED, hv_gpa & U64, regs_gpa & U64, vcpu=v)
        self.vm.vcpus[v].msr &= ~C.MSR_LE

    @rule(
        ric=st.integers(0, 3),
        prs=st.integers(0, 1),
        r=st.sampled_from([1, 1, 0]),
        junk=st.sampled_from([0, 0, 0, 0xFFFF, U32 & ~0xF_0000, 1 << 40]),
        lpid=lpids,
        pick=picks,
        rs_high=st.sampled_from([0, 0, 1 << 32, U64 & ~U32]),
        is_=st.integers(0, 3),
        ap=st.integers(0, 7),
        epn=st.one_of(st.none(), st.integers(0, 2**52 - 1), st.just(2**52 - 1)),
        rb_junk=st.sampled_from([0, 0, 0x1F, 0x300, 0xF000_0000_0000_0000]),
    )
    def tlb_invalidate(
        self,
        ric: int,
        prs: int,
        r: int,
        junk: int,
        lpid: int | None,
        pick: int,
        rs_high: int,
        is_: int,
        ap: int,
        epn: int | None,
        rb_junk: int,
    ) -> None:
        """H_TLB_INVALIDATE with every RIC/PRS/R/IS/AP, at shadow pages or anywhere."""
        self._step("tlb_invalidate")
        l1_lpid = self._lpid(lpid, pick)
        if epn is None:  # aim at a page L0 has shadowed, if any
            gp = self.vm.nested.find(l1_lpid) if 0 <= l1_lpid < 2**31 else None
            leaves = shadow_leaves(gp) if gp is not None and gp.shadow_pgtable else []
            epn = (leaves[pick % len(leaves)][0] >> 12) if leaves else pick << 4
        instr = (h_tlbie_p1_enc(ric, prs, r) | junk) & U32
        rs = (l1_lpid & U32) | rs_high
        rb = ((epn << 12) | is_ << 10 | ap << 5 | rb_junk) & U64
        self.l1.hcall(H.H_TLB_INVALIDATE, instr, rs, rb)

    @rule(
        lpid=lpids,
        pick=picks,
        pid=st.one_of(st.integers(0, 20), u64),
        ea=st.one_of(st.none(), u64, _around(W.CODE_EA, W.DATA_EA, 2**52, 2**62)),
        to=l1_addrs,
        frm=l1_addrs,
        which=st.sampled_from(["to", "from", "both", "neither"]),
        n=st.one_of(st.integers(0, 64), _around(0x1000, kmalloc_max(16), kmalloc_max(12)), u64),
    )
    def copy_tofrom_guest(
        self,
        lpid: int | None,
        pick: int,
        pid: int,
        ea: int | None,
        to: int | None,
        frm: int | None,
        which: str,
        n: int,
    ) -> None:
        """H_COPY_TOFROM_GUEST with any lpid, pid, EA, buffers and length."""
        self._step("copy_tofrom_guest")
        if n > 1 << 16 and n <= kmalloc_max(self.vm.page_shift):
            n = 1 << 16  # a big copy is as good as a huge one and much faster here
        l2 = self._live(pick)
        if ea is None:
            eas = self.w.data.get(l2.l1_lpid, [W.DATA_EA]) if l2 is not None else [W.DATA_EA]
            ea = eas[pick % len(eas)]
        buf = self.l1.buffers[0][0]
        t = self._addr(to, buf) if which in ("to", "both") else 0
        f = self._addr(frm, buf) if which in ("from", "both") else 0
        self.l1.hcall(H.H_COPY_TOFROM_GUEST, self._lpid(lpid, pick) & U64, pid, ea, t, f, n)

    @rule(
        nr=st.one_of(
            st.sampled_from(
                [H.H_CEDE, H.H_CONFER, H.H_PROD, H.H_RTAS, H.H_RPT_INVALIDATE, 0, 4, U64]
                + [nr + d for nr in H.NESTED_HCALLS for d in (-4, 4, 1)]
            ),
            u64,
        ),
        args=st.lists(u64, max_size=9),
    )
    def other_hcall(self, nr: int, args: list[int]) -> None:
        """An hcall L0 does not serve for nesting, or a nested one with junk registers."""
        self._step("other_hcall")
        self.l1.hcall(nr, *args)

    @rule(args=st.lists(u64, max_size=9), which=st.sampled_from(H.NESTED_HCALLS))
    def nested_hcall_junk(self, which: int, args: list[int]) -> None:
        """A nested hcall with random registers (missing ones are 0)."""
        self._step("nested_hcall_junk")
        if which == H.H_ENTER_NESTED:
            args = args[:2]  # keep the run bounded: a random state rarely says version 1
        self.l1.hcall(which, *args, vcpu=self._vcpu(len(args)))

    # ------------------------------------------------------------------ scribbling
    def _garbage_entry(self, kind: str, target: int, nls: int, bits: int) -> int:
        vm = self.vm
        return {
            "zero": 0,
            "leaf-outside": C.PTE_V | C.PTE_L | ((vm.mem_size + target) & C.PTE_RPN) | 0x187,
            "leaf-other-l1": C.PTE_V | C.PTE_L | (self.other_vm.mem_base & C.PTE_RPN) | 0x187,
            "leaf-l1-tables": C.PTE_V | C.PTE_L | ((16 * _MB + target) & C.PTE_RPN) | 0x187,
            "leaf-huge-rpn": C.PTE_V | C.PTE_L | C.PTE_RPN | 0x187,
            "dir-loop": C.PTE_V | (target & C.PDE_NLB) | nls,
            "dir-outside": C.PTE_V | ((2**52 + target) & C.PDE_NLB) | nls,
            "dir-bad-nls": C.PTE_V | (target & C.PDE_NLB) | bits,
            "random": bits,
        }[kind]

    garbage = st.sampled_from(
        [
            "zero",
            "leaf-outside",
            "leaf-other-l1",
            "leaf-l1-tables",
            "leaf-huge-rpn",
            "dir-loop",
            "dir-outside",
            "dir-bad-nls",
            "random",
        ]
    )

    @rule(
        lpid=lpids,
        pick=picks,
        dw=st.integers(0, 1),
        root=st.one_of(st.none(), _around(0, 16 * _MB, 255 * _MB, 256 * _MB, 2**52, mask=U64)),
        rts=st.integers(0, 31),
        rpds=st.sampled_from([0, 1, 5, 9, 13, 14, 31]),
        bits=u64,
        raw=st.booleans(),
    )
    def scribble_partition_table(
        self,
        lpid: int | None,
        pick: int,
        dw: int,
        root: int | None,
        rts: int,
        rpds: int,
        bits: int,
        raw: bool,
    ) -> None:
        """Garbage in the L1's own partition table: roots outside memory or looping
        back to the table, bad RTS and RPDS, random process-table words."""
        self._step("scribble_partition_table")
        base = self.vm.l1_ptcr & C.PTCR_PATB or self.good_ptcr & C.PTCR_PATB
        l1_lpid = self._lpid(lpid, pick) & 0xFFF
        r = base if root is None else root
        word = bits if raw else C.PATE0_HR | (rts >> 3 & 3) << 61 | (rts & 7) << 5
        if not raw:
            word |= (r & C.RPDB_MASK) | rpds
        self._write(base + 16 * l1_lpid + 8 * dw, word.to_bytes(8, "big"))

    def _scribble_tree(self, tree, kind: str, pick: int, slot: int, nls: int, bits: int) -> bool:  # noqa: ANN001
        table = tree.tables[pick % len(tree.tables)]
        target = tree.tables[(pick + slot) % len(tree.tables)]
        entry = self._garbage_entry(kind, target, nls, bits)
        size = 8 << C.ROOT_NLS if table == tree.root else 8 << 9
        addr = table + (8 * slot) % size
        try:
            tree.space.write_u64(addr, entry)
        except PynestError as exc:
            STATS.l1_refusals[f"scribble: {type(exc).__name__}"] += 1
            return False
        return True

    @rule(
        pick=picks,
        kind=garbage,
        slot=st.integers(0, 8191),
        nls=st.sampled_from([5, 9, 13]),
        bits=u64,
    )
    def scribble_l2_partition_tree(
        self, pick: int, kind: str, slot: int, nls: int, bits: int
    ) -> None:
        """Garbage in the L1's tree for an L2 (L2 real -> L1 real, in L1 memory)."""
        self._step("scribble_l2_partition_tree")
        l2 = self._live(pick)
        if l2 is not None:
            self._scribble_tree(l2.tree, kind, pick, slot, nls, bits)

    @rule(
        pick=picks,
        kind=garbage,
        slot=st.integers(0, 8191),
        nls=st.sampled_from([5, 9, 13]),
        bits=u64,
        prtab=st.booleans(),
    )
    def scribble_l2_process_tables(
        self, pick: int, kind: str, slot: int, nls: int, bits: int, prtab: bool
    ) -> None:
        """Garbage in an L2's process table or process trees (in L2 memory)."""
        self._step("scribble_l2_process_tables")
        l2 = self._live(pick)
        if l2 is None:
            return
        if prtab or not l2.proc_trees:
            entry = self._garbage_entry(kind, l2.prtab.base, nls, bits)
            self._l1_side(
                "scribble prtab",
                lambda: l2.space.write_u64(l2.prtab.base + 16 * (slot % 256), entry),
            )
        else:
            trees = list(l2.proc_trees.values())
            self._scribble_tree(trees[pick % len(trees)], kind, pick, slot, nls, bits)

    @rule(addr=st.integers(0, (256 * _MB) // 8 - 1), value=u64)
    def scribble_anywhere(self, addr: int, value: int) -> None:
        """A store anywhere in the L1's memory (hcall buffers and tables included)."""
        self._step("scribble_anywhere")
        self._write(8 * addr, value.to_bytes(8, "big"))

    # ------------------------------------------------------------------ guests
    @precondition(lambda self: len(self.l1.l2s) < 8)
    @rule(pid=st.integers(0, 300), page=st.sampled_from([C.PAGE_64K, C.PAGE_2M]))
    def create_l2(self, pid: int, page: int) -> None:
        self._step("create_l2")
        l2 = self._l1_side("create_l2", lambda: self.l1.create_l2(4 << 20, page_size=page, pid=pid))
        if l2 is not None:
            self._l1_side(
                "l2_map",
                lambda: (
                    self.l1.l2_map(l2, W.CODE_EA, 0x30_0000, C.PAGE_4K, "x"),
                    self.l1.l2_map(l2, W.DATA_EA, 0x20_0000, C.PAGE_4K, "rw"),
                ),
            )
            self.w.data[l2.l1_lpid] = [W.DATA_EA]

    @rule(pick=picks)
    def destroy_l2(self, pick: int) -> None:
        """The L1 zeroes an L2's entry and flushes it, maybe while vcpu 1 runs it."""
        self._step("destroy_l2")
        l2 = self._live(pick)
        if l2 is not None:
            self._l1_side("destroy_l2", lambda: self.l1.destroy_l2(l2))

    @precondition(lambda self: self.held is None)
    @rule(lpid=lpids, pick=picks)
    def hold_guest(self, lpid: int | None, pick: int) -> None:
        """vcpu 1 is inside H_ENTER_NESTED for a guest: it holds a reference."""
        self._step("hold_guest")
        gp = get_nested(self.vm, self._lpid(lpid, pick) - (2**32 if (lpid or 0) >> 31 else 0), True)
        if gp is not None:
            self.vm.vcpus[1].nested = gp
            self.held = gp

    @precondition(lambda self: self.held is not None)
    @rule()
    def release_guest(self) -> None:
        self._step("release_guest")
        self.vm.vcpus[1].nested = None
        put_nested(self.held)
        self.held = None

    @rule(pick=picks, ric=st.sampled_from([0, 1, 2]))
    def flush_lpid(self, pick: int, ric: int) -> None:
        """The L1's own kvmhv_flush_lpid for a live or just destroyed lpid."""
        self._step("flush_lpid")
        self.l1.flush_lpid(self._lpid(None, pick), ric)

    @rule()
    def nested_exit_and_init(self) -> None:
        """kvmhv_nested_exit then kvmhv_nested_init: a new partition table."""
        self._step("nested_exit_and_init")
        self.l1.nested_exit()
        if self._l1_side("nested_init", self.l1.nested_init) == H.H_SUCCESS:
            self.good_ptcr = self.l1.ptcr
        else:
            self.l1.ptcr = self.good_ptcr
            self.l1.hcall(H.H_SET_PARTITION_TABLE, self.good_ptcr)

    @precondition(lambda self: self.replaced < 6)
    @rule()
    def replace_other_l1(self) -> None:
        """L0 destroys the neighbour L1 (everything nested in it) and creates another
        (at most 6 times per run: L0's RAM allocator does not reuse allotments)."""
        self._step("replace_other_l1")
        self.replaced += 1
        self.l0.destroy_l1(self.other_vm)
        self._add_other_l1()

    @rule(gpa=st.one_of(st.integers(0, 256 * _MB - 1), _around(64 * _MB, 68 * _MB)))
    def l0_reclaims_page(self, gpa: int) -> None:
        """L0 takes a page of the L1 away (the rmap must remove its shadow PTEs)."""
        self._step("l0_reclaims_page")
        self.vm.unmap_page(gpa)

    # ------------------------------------------------------------------ L2 programs
    ops = st.lists(
        st.one_of(
            st.builds(
                Load,
                st.one_of(_around(W.DATA_EA, W.CODE_EA, 2**62, 2**63, 3 << 62), u64),
                st.integers(0, 31),
            ),
            st.builds(Store, st.one_of(_around(W.DATA_EA, W.CODE_EA, 1 << 62), u64), u64),
            st.builds(
                Hcall,
                st.one_of(st.sampled_from([H.H_CEDE, *H.NESTED_HCALLS]), u64),
                st.lists(u64, max_size=3).map(tuple),
            ),
            st.builds(Spin, st.integers(0, 50)),
        ),
        max_size=8,
    )

    @rule(
        pick=picks,
        ops=ops,
        entry=st.one_of(st.just(W.CODE_EA), st.just(W.CODE_EA), u64.map(lambda a: a & ~3)),
        fetch=st.booleans(),
    )
    def load_program(self, pick: int, ops: list, entry: int, fetch: bool) -> None:
        """An L2 program that touches anything."""
        self._step("load_program")
        l2 = self._live(pick)
        if l2 is not None:
            ops = [*ops, Hcall(H.H_CEDE)]
            self.l1.load_program(l2, Program(tuple(ops), entry=entry, fetch=fetch))

    @rule(
        pick=picks,
        ea=st.one_of(_around(W.DATA_EA, 2**40), u64),
        gpa=st.one_of(st.integers(0, 8 * _MB), u64),
        size=st.sampled_from(C.PAGE_SIZES),
        perms=st.sampled_from(["r", "rw", "x", "rwx", ""]),
    )
    def l2_maps(self, pick: int, ea: int, gpa: int, size: int, perms: str) -> None:
        """The L2's kernel maps anything (the L1 backs what it touches on demand)."""
        self._step("l2_maps")
        l2 = self._live(pick)
        if l2 is not None:
            self._l1_side(
                "l2_map", lambda: self.l1.l2_map(l2, ea & -size & U64, gpa & -size, size, perms)
            )

    @rule(pick=picks, gpa=st.integers(0, 16 * _MB), unmap=st.booleans())
    def l1_maps_l2_page(self, pick: int, gpa: int, unmap: bool) -> None:
        """The L1 maps or unmaps one page of its tree for an L2 (unmap: H_TLB_INVALIDATE)."""
        self._step("l1_maps_l2_page")
        l2 = self._live(pick)
        if l2 is None:
            return
        if unmap:
            self._l1_side("unmap_l2_page", lambda: self.l1.unmap_l2_page(l2, gpa))
        else:
            self._l1_side("map_l2_page", lambda: self.l1.map_l2_page(l2, gpa % l2.mem_size))

    @rule(
        pick=picks,
        vcpu=st.integers(0, 1),
        ticks=st.sampled_from([1, 20, 300, 1000]),
        entries=st.integers(1, 6),
    )
    def run_l2(self, pick: int, vcpu: int, ticks: int, entries: int) -> None:
        """The L1 runs an L2 the usual way (handling its traps, re-entering)."""
        self._step("run_l2")
        l2 = self._live(pick)
        if l2 is not None:
            v = self._vcpu(vcpu)
            self._l1_side(
                "run_l2",
                lambda: self.l1.run_l2(l2, vcpu=v, slice_ticks=ticks, max_entries=entries),
            )

    @rule()
    def neighbour_runs(self) -> None:
        """The innocent L1 runs its L2: it still reads what it stored."""
        self._step("neighbour_runs")
        l1, l2 = self.other_l1, self.other_l2
        ops = (Store(W.DATA_EA, 0x5A5A), Load(W.DATA_EA, rt=9), Hcall(H.H_CEDE))
        l1.load_program(l2, Program(ops, entry=W.CODE_EA))
        res = l1.run_l2(l2)
        assert res.stopped == "ceded", res
        assert l2.regs.gpr[9] == 0x5A5A

    # ------------------------------------------------------------------ the benign L1
    @rule(values=st.lists(u64, min_size=len(PATTERN_EAS), max_size=len(PATTERN_EAS)))
    def neighbour_writes(self, values: list[int]) -> None:
        """The benign L1's L2 stores a known pattern in each of its pattern pages."""
        self._step("neighbour_writes")
        l1, l2 = self.other_l1, self.other_l2
        ops = [Store(ea, v) for ea, v in zip(PATTERN_EAS, values, strict=True)]
        l1.load_program(l2, Program((*ops, Hcall(H.H_CEDE)), entry=W.CODE_EA))
        res = l1.run_l2(l2)
        assert res.stopped == "ceded", res
        self.patterns = dict(zip(PATTERN_EAS, values, strict=True))

    @precondition(lambda self: self.neighbour_l2s < 16)
    @rule(value=u64)
    def neighbour_new_l2(self, value: int) -> None:
        """The benign L1 creates an L2, which stores and loads a value, and destroys it:
        nothing our L1 did may deny it that (issue 13 B: after the flood, the other
        L1's next new L2 failed)."""
        self._step("neighbour_new_l2")
        self.neighbour_l2s += 1
        l1 = self.other_l1
        l2 = l1.create_l2(4 << 20)
        l1.l2_map(l2, W.CODE_EA, 0x10_0000, C.PAGE_4K, "x")
        l1.l2_map(l2, W.DATA_EA, 0x20_0000, C.PAGE_4K, "rw")
        ops = (Store(W.DATA_EA, value), Load(W.DATA_EA, rt=7), Hcall(H.H_CEDE))
        l1.load_program(l2, Program(ops, entry=W.CODE_EA))
        res = l1.run_l2(l2)
        assert res.stopped == "ceded" and l2.regs.gpr[7] == value, res
        assert l1.destroy_l2(l2) == H.H_SUCCESS

    # ------------------------------------------------------------------ the arena
    def _arena(self, l2: L2Guest) -> None:
        """The L2's kernel maps its arena EAs with 1G process-scoped pages (once)."""
        if l2.l1_lpid in self.arena_ready:
            return
        self.arena_ready.add(l2.l1_lpid)
        for ea in (ARENA_EA, GIANT_EA):
            self._l1_side("arena l2_map", lambda ea=ea: self.l1.l2_map(l2, ea, ea, C.PAGE_1G))

    def _arena_target(self, pick: int | None, region: int | None, top: int):  # noqa: ANN202
        """(L2, region) for an arena rule: None means the L2 and region the last arena
        rule used (so that map, touch, collapse, touch chains on one region are common)."""
        lpid, last = self.arena_last
        l2 = self.l1.l2s.get(lpid) if pick is None else self._live(pick)
        if l2 is None:
            l2 = self._live(pick or 0)
        region = min(last, top) if region is None else region
        if l2 is not None:
            self.arena_last = (l2.l1_lpid, region)
        return l2, region

    def _read_l1(self, gpa: int) -> int:
        data = self.vm.read_guest(gpa, 8)
        return int.from_bytes(data, "big") if data else 0

    def _write_l1(self, gpa: int, value: int) -> None:
        self.vm.write_guest(gpa, value.to_bytes(8, "big"))

    def _pmd_slot(self, l2: L2Guest, gpa: int) -> int | None:
        """L1 real address of the level-2 entry (2M) of the L1's tree for ``l2`` that
        covers L2 real ``gpa``, if the walk reaches one through POWER9-shaped tables."""
        table, nls = l2.tree.root, C.ROOT_NLS
        for shift in (39, 30):
            e = self._read_l1(table + 8 * ((gpa >> shift) & ((1 << nls) - 1)))
            if not e & C.PTE_V or e & C.PTE_L or e & C.PDE_NLS != 9:
                return None
            table, nls = e & C.PDE_NLB & ~0xFFF, 9
        return table + 8 * ((gpa >> 21) & 511)

    def _small_leaves(self, pde: int) -> list[tuple[int, int, int]]:
        """(L1 real slot, entry, page size) of the leaves of a level-3 table."""
        nls = pde & C.PDE_NLS
        size = {9: C.PAGE_4K, 5: C.PAGE_64K}.get(nls)
        if size is None:
            return []
        table = pde & C.PDE_NLB & ~((8 << nls) - 1)
        vm = self.vm
        if table + (8 << nls) > vm.mem_size:
            return []
        found = self.l0.mem.nonzero_u64(vm.mem_base + table, 8 << nls)
        return [(a - vm.mem_base, e, size) for a, e in found if e & C.PTE_V and e & C.PTE_L]

    def _pwc_flush(self, l2: L2Guest) -> None:
        """``kvmppc_radix_flush_pwc`` in an L1: H_TLB_INVALIDATE RIC=1 PRS=0 R=1 IS=2."""
        self.l1.hcall(
            H.H_TLB_INVALIDATE, h_tlbie_p1_enc(1, 0, 1), l2.l1_lpid, TLBIEL_INVAL_SET_LPID
        )

    def _clear_region(self, l2: L2Guest, gpa: int) -> None:
        """Unmap every leaf of the 2M region at ``gpa`` the L1's way: each page
        invalidated (``kvmppc_unmap_pte``), then the table's PDE cleared and the page
        walk cache flushed (``kvmppc_unmap_free_pmd_entry_table``)."""
        slot = self._pmd_slot(l2, gpa)
        if slot is None:
            return
        pde = self._read_l1(slot)
        if pde & C.PTE_V and pde & C.PTE_L:
            self._write_l1(slot, 0)
            self.l1.tlbie_page(l2, gpa, C.PAGE_2M)
        elif pde & C.PTE_V:
            for leaf_slot, _e, size in self._small_leaves(pde):
                self._write_l1(leaf_slot, 0)
                index = (leaf_slot & ((8 << (pde & C.PDE_NLS)) - 1)) >> 3
                self.l1.tlbie_page(l2, gpa + index * size, size)
            self._write_l1(slot, 0)
            self._pwc_flush(l2)

    @rule(
        pick=st.one_of(st.none(), picks),
        region=st.one_of(st.none(), st.integers(0, ARENA_REGIONS)),
        size=st.sampled_from([C.PAGE_4K, C.PAGE_64K, C.PAGE_2M]),
        first=st.integers(0, 511),
        count=st.integers(1, 12),
        touch=st.one_of(st.none(), st.integers(0, U32)),
    )
    def arena_map(
        self,
        pick: int | None,
        region: int | None,
        size: int,
        first: int,
        count: int,
        touch: int | None,
    ) -> None:
        """The L1 maps an arena region of an L2 with leaves of one size (region 4: one
        1G leaf over the whole of L1 real 0..1G); ``touch``: then the L2 stores there."""
        self._step("arena_map")
        l2, region = self._arena_target(pick, region, ARENA_REGIONS)
        if l2 is None:
            return
        self._arena(l2)
        tree = l2.tree
        if region == ARENA_REGIONS:
            self._l1_side("arena map", lambda: tree.map(GIANT_GPA, 0, C.PAGE_1G, "rw", r=True))
        else:
            self._map_region(l2, region, size, first, count)
        if touch is not None:
            self._touch(
                l2, touch, [(region, touch % 2048 | 1), (region, touch >> 14 | 1)], True, touch
            )

    def _map_region(self, l2: L2Guest, region: int, size: int, first: int, count: int) -> None:
        tree = l2.tree
        gpa, ra = ARENA_GPA + region * C.PAGE_2M, ARENA_L1 + region * C.PAGE_2M
        self._clear_region(l2, gpa)
        n = C.PAGE_2M // size
        pages = [i * size for i in sorted({(first + j) % n for j in range(count)})]
        for off in pages:
            self._l1_side(
                "arena map",
                lambda off=off: tree.map(gpa + off, ra + off, size, "rw", r=True, c=True),
            )
        self.arena_pages[(l2.l1_lpid, region)] = pages

    @rule(
        pick=st.one_of(st.none(), picks),
        region=st.one_of(st.none(), st.integers(0, ARENA_REGIONS - 1)),
        inval=st.sampled_from(["each", "one", "none"]),
        touch=st.one_of(st.none(), st.integers(0, U32)),
    )
    def arena_collapse(
        self, pick: int | None, region: int | None, inval: str, touch: int | None
    ) -> None:
        """THP collapse in the L1: the region's small leaves become one 2M leaf (the
        PDE cleared, PWC flushed, the 2M leaf stored); the old pages are invalidated
        each, only one (issue 13 A's sequence), or not at all."""
        self._step("arena_collapse")
        l2, region = self._arena_target(pick, region, ARENA_REGIONS - 1)
        if l2 is None:
            return
        gpa, ra = ARENA_GPA + region * C.PAGE_2M, ARENA_L1 + region * C.PAGE_2M
        slot = self._pmd_slot(l2, gpa)
        pde = self._read_l1(slot) if slot is not None else 0
        if slot is None or not pde & C.PTE_V or pde & C.PTE_L:
            return
        leaves = self._small_leaves(pde)
        self._write_l1(slot, 0)
        self._pwc_flush(l2)
        for k, (leaf_slot, _e, size) in enumerate(leaves):
            if inval == "each" or (inval == "one" and k == 0):
                index = (leaf_slot & ((8 << (pde & C.PDE_NLS)) - 1)) >> 3
                self.l1.tlbie_page(l2, gpa + index * size, size)
        self._write_l1(slot, make_pte(ra, "rw", r=True, c=True))
        if touch is not None:  # any 64K of the region, then a page that was mapped
            self._touch(l2, touch, [(region, touch % 32 << 13), (region, touch | 1)], True, touch)

    @rule(
        pick=st.one_of(st.none(), picks),
        region=st.one_of(st.none(), st.integers(0, ARENA_REGIONS - 1)),
        small=st.sampled_from([C.PAGE_4K, C.PAGE_64K]),
        touch=st.one_of(st.none(), st.integers(0, U32)),
    )
    def arena_split(
        self, pick: int | None, region: int | None, small: int, touch: int | None
    ) -> None:
        """The L1 splits a 2M leaf of the arena into small leaves onto the same L1
        memory: the 2M leaf unmapped and invalidated, then a table of small leaves."""
        self._step("arena_split")
        l2, region = self._arena_target(pick, region, ARENA_REGIONS - 1)
        if l2 is None:
            return
        gpa = ARENA_GPA + region * C.PAGE_2M
        slot = self._pmd_slot(l2, gpa)
        leaf = self._read_l1(slot) if slot is not None else 0
        if slot is None or not leaf & C.PTE_V or not leaf & C.PTE_L:
            return
        nls = 9 if small == C.PAGE_4K else 5
        table = self._l1_side("split alloc", lambda: self.l1.alloc.alloc(8 << nls))
        if table is None:
            return
        self._write_l1(slot, 0)
        self.l1.tlbie_page(l2, gpa, C.PAGE_2M)
        ra, bits = leaf & C.PTE_RPN & -C.PAGE_2M, leaf & ~C.PTE_RPN
        words = [bits | (ra + i * small) for i in range(1 << nls)]
        self.vm.write_guest(table, b"".join(w.to_bytes(8, "big") for w in words))
        self._write_l1(slot, C.PTE_V | table | nls)
        self.arena_pages[(l2.l1_lpid, region)] = list(range(0, C.PAGE_2M, small))
        if touch is not None:
            self._touch(l2, touch, [(region, touch % 2048 | 1)], True, touch)

    @rule(
        pick=picks,
        touches=st.lists(
            st.tuples(st.integers(0, ARENA_REGIONS), st.integers(0, C.PAGE_2M // 8 - 1)),
            min_size=1,
            max_size=6,
        ),
        store=st.booleans(),
        value=u64,
    )
    def arena_touch(self, pick: int, touches: list, store: bool, value: int) -> None:
        """The L2 loads or stores in its arena, mostly in pages the L1 mapped there
        (region 4: anywhere in L1 real 0..256M)."""
        self._step("arena_touch")
        l2 = self._live(pick)
        if l2 is not None:
            self._touch(l2, pick, touches, store, value)

    def _touch(self, l2: L2Guest, pick: int, touches: list, store: bool, value: int) -> None:
        """Run ``l2`` over one load or store per (region, doubleword) of ``touches``."""
        self._arena(l2)
        self.arena_last = (l2.l1_lpid, touches[-1][0])
        ops = []
        for region, dw in touches:
            pages = self.arena_pages.get((l2.l1_lpid, region))
            if region == ARENA_REGIONS:
                ea = GIANT_EA + (dw * 8 * 128) % (256 * _MB)
            elif pages and dw % 4:  # mostly a page the L1 mapped there, at any doubleword
                ea = ARENA_EA + region * C.PAGE_2M + pages[dw // 4 % len(pages)] + dw % 512 * 8
            else:
                ea = ARENA_EA + region * C.PAGE_2M + dw * 8
            ops.append(Store(ea, value) if store else Load(ea, rt=10))
        self.l1.load_program(l2, Program((*ops, Hcall(H.H_CEDE)), entry=W.CODE_EA))
        v = self._vcpu(pick)
        self._l1_side("run_l2", lambda: self.l1.run_l2(l2, vcpu=v, max_entries=16))

    # ------------------------------------------------------------------ tree surgery
    def _tree_entries(self, l2: L2Guest) -> list[tuple[int, int, int, int, int]]:
        """(slot, entry, level, table, table NLS) of the valid entries the L1's tree for
        ``l2`` holds, following directory entries as written (at most 64 tables)."""
        vm, out = self.vm, []
        todo, seen = [(l2.tree.root, C.ROOT_NLS, 0)], set()
        while todo and len(seen) < 64:
            table, nls, level = todo.pop()
            if (table, nls) in seen or table + (8 << nls) > vm.mem_size or nls > C.ROOT_NLS:
                continue
            seen.add((table, nls))
            for a, e in self.l0.mem.nonzero_u64(vm.mem_base + table, 8 << nls):
                if not e & C.PTE_V:
                    continue
                out.append((a - vm.mem_base, e, level, table, nls))
                if not e & C.PTE_L and level < 3:
                    sub = e & C.PDE_NLS
                    todo.append((e & C.PDE_NLB & ~((8 << sub) - 1), sub, level + 1))
        return out

    @rule(
        pick=picks,
        kind=st.sampled_from(
            ["move", "share", "self", "nls", "leaf-to-dir", "dir-to-leaf", "undo"]
        ),
        a=st.integers(0, 63),
        b=st.integers(0, 63),
        nls=st.sampled_from([0, 5, 9, 12, 13, 31]),
        flush=st.sampled_from([None, 0, 1, 2]),
        mid_run=st.booleans(),
    )
    def tree_surgery(
        self, pick: int, kind: str, a: int, b: int, nls: int, flush: int | None, mid_run: bool
    ) -> None:
        """A structured edit of the L1's live tree for an L2, maybe between two entries
        of a run, then a flush of RIC ``flush`` (None: none) for its lpid."""
        self._step("tree_surgery")
        l2 = self._live(pick)
        if l2 is None:
            return
        v = self._vcpu(pick)
        if mid_run:
            self._l1_side("run_l2", lambda: self.l1.run_l2(l2, vcpu=v, max_entries=1))
        entries = self._tree_entries(l2)
        dirs = [x for x in entries if not x[1] & C.PTE_L]
        leaves = [x for x in entries if x[1] & C.PTE_L]
        edits: list[tuple[int, int]] = []
        if kind == "undo":
            edits, self.undo = self.undo[::-1], []
            for slot, old in edits:
                self._write_l1(slot, old)
            edits = []
        elif kind == "leaf-to-dir" and leaves:
            slot, e, *_ = leaves[a % len(leaves)]
            edits.append((slot, (e & ~C.PTE_L & ~C.PDE_NLS) | nls))
        elif not dirs:
            pass
        elif kind == "move":
            slot, e, *_ = dirs[a % len(dirs)]
            sub = e & C.PDE_NLS
            if sub <= C.ROOT_NLS:
                old = e & C.PDE_NLB & ~((8 << sub) - 1)
                new = self._l1_side("move alloc", lambda: self.l1.alloc.alloc(8 << sub))
                data = self.vm.read_guest(old, 8 << sub)
                if new is not None and data is not None:
                    self.vm.write_guest(new, data)
                    edits.append((slot, (e & ~C.PDE_NLB) | new))
        elif kind == "share":
            slot, e, level, *_ = dirs[a % len(dirs)]
            same = [d for d in dirs if d[2] == level and d[0] != slot]
            if same:
                slot2, e2, *_ = same[b % len(same)]
                edits.append(
                    (slot2, (e2 & ~(C.PDE_NLB | C.PDE_NLS)) | (e & (C.PDE_NLB | C.PDE_NLS)))
                )
        elif kind == "self":
            slot, e, _level, table, tnls = dirs[a % len(dirs)]
            edits.append((slot, C.PTE_V | table | tnls))
        elif kind == "nls":
            slot, e, *_ = dirs[a % len(dirs)]
            edits.append((slot, (e & ~C.PDE_NLS) | nls))
        elif kind == "dir-to-leaf":
            slot, e, level, *_ = dirs[a % len(dirs)]
            size = {1: C.PAGE_1G, 2: C.PAGE_2M}.get(level, C.PAGE_2M)
            edits.append((slot, make_pte(l2.l1_gpa_base & -size, "rw", r=True, c=True)))
        for slot, value in edits:
            self.undo = [*self.undo[-15:], (slot, self._read_l1(slot))]
            self._write_l1(slot, value)
        if flush is not None:
            self.l1.flush_lpid(l2.l1_lpid, flush)
        if mid_run:
            self._l1_side("run_l2", lambda: self.l1.run_l2(l2, vcpu=v, max_entries=4))

    # ------------------------------------------------------------------ hostile buffers
    def _place(self, addr: int, data: bytes) -> None:
        """Write what of ``data`` fits in L1 memory at ``addr`` (a buffer may straddle
        the end: the rest is not the L1's to write)."""
        fit = max(0, min(len(data), self.vm.mem_size - addr))
        if addr >= 0 and fit:
            self.vm.write_guest(addr, data[:fit])

    def _spot(self, where: str, l2: L2Guest | None, n: int, k: int) -> int:
        """An L1 real address for an ``n``-byte buffer: straddling or ending at the end
        of L1 memory, on the L1's partition table, on the L2's tables, on the hcall
        buffers, in the L2's memory."""
        end = self.vm.mem_size
        ptab = (self.vm.l1_ptcr or self.good_ptcr) & C.PTCR_PATB
        tables = l2.tree.tables if l2 is not None else [ptab]
        return {
            "end-straddle": (end - max(8, n // 2)) & ~7,
            "end-exact": end - n,
            "ptab": ptab + 16 * (l2.l1_lpid if l2 is not None else k),
            "l2-table": tables[k % len(tables)],
            "buffers": self.l1.buffers[k % len(self.l1.buffers)][k % 2],
            "l2-memory": (l2.l1_gpa_base if l2 is not None else 64 * _MB) + 8 * k,
        }[where]

    spots = st.sampled_from(
        ["end-straddle", "end-exact", "ptab", "l2-table", "buffers", "l2-memory"]
    )

    @rule(
        pick=picks,
        vcpu=st.integers(0, 1),
        hv_at=st.one_of(st.none(), spots),
        regs_at=st.one_of(st.none(), spots, st.just("overlap")),
        k=st.integers(0, 28),
        ticks=st.sampled_from([1, 100, 1000]),
        reclaim=st.booleans(),
    )
    def enter_nested_placed(
        self,
        pick: int,
        vcpu: int,
        hv_at: str | None,
        regs_at: str | None,
        k: int,
        ticks: int,
        reclaim: bool,
    ) -> None:
        """H_ENTER_NESTED with a well-formed state for a live L2 at hostile addresses
        (None: the usual buffer); ``reclaim``: L0 takes the buffers' pages just before."""
        self._step("enter_nested_placed")
        l2 = self._live(pick)
        if l2 is None:
            return
        v = self._vcpu(vcpu)
        cpu = self.vm.vcpus[v]
        le = bool(cpu.msr & C.MSR_LE)
        hv = HvGuestState(
            version=HV_GUEST_STATE_VERSION,
            lpid=l2.l1_lpid,
            vcpu_token=l2.vcpu_token,
            lpcr=l2.lpcr,
            hfscr=cpu.hfscr,
            hdec_expiry=(self.l0.timebase + cpu.tb_offset + ticks) & U64,
            pidr=l2.pid,
        ).to_bytes(le)
        regs = l2.regs.to_bytes(le)
        hv_buf, regs_buf = self.l1.buffers[v]
        hv_gpa = hv_buf if hv_at is None else self._spot(hv_at, l2, len(hv), k)
        if regs_at == "overlap":
            regs_gpa = hv_gpa + 8 * (k % (len(hv) // 8))
        else:
            regs_gpa = regs_buf if regs_at is None else self._spot(regs_at, l2, len(regs), k + 1)
        self._place(hv_gpa, hv)
        self._place(regs_gpa, regs)
        if reclaim:
            for gpa in (hv_gpa, regs_gpa):
                if 0 <= gpa < self.vm.mem_size:
                    self.vm.unmap_page(gpa)
        self.l1.hcall(H.H_ENTER_NESTED, hv_gpa & U64, regs_gpa & U64, vcpu=v)

    @rule(
        pick=picks,
        at=spots,
        n=st.sampled_from([8, 64, 0x1000, 0x2000]),
        load=st.booleans(),
        k=st.integers(0, 28),
        reclaim=st.booleans(),
    )
    def copy_placed(self, pick: int, at: str, n: int, load: bool, k: int, reclaim: bool) -> None:
        """H_COPY_TOFROM_GUEST of a live L2's data page with the L1 buffer at a hostile
        address (``load``: L2 -> L1 buffer, else L1 buffer -> L2)."""
        self._step("copy_placed")
        l2 = self._live(pick)
        if l2 is None:
            return
        buf = self._spot(at, l2, n, k)
        if reclaim and 0 <= buf < self.vm.mem_size:
            self.vm.unmap_page(buf)
        eas = self.w.data.get(l2.l1_lpid, [W.DATA_EA])
        ea = eas[k % len(eas)]
        to, frm = (buf, 0) if load else (0, buf)
        self.l1.hcall(H.H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, ea, to & U64, frm & U64, n)

    @rule(
        at=st.sampled_from(
            ["end-straddle", "end-exact", "l2-table", "buffers", "l2-memory", "reclaimed"]
        ),
        pats=st.integers(0, 4),
        pick=picks,
        run=st.booleans(),
    )
    def set_partition_table_placed(self, at: str, pats: int, pick: int, run: bool) -> None:
        """H_SET_PARTITION_TABLE with a well-formed PTCR whose table straddles the end
        of L1 memory, ends there, lies on the L2's tables, the hcall buffers, the L2's
        memory, or is the good table in a page L0 just reclaimed; then maybe a run."""
        self._step("set_partition_table_placed")
        l2 = self._live(pick)
        size = C.PAGE_4K << pats
        if at == "reclaimed":
            base = self.good_ptcr & C.PTCR_PATB
            self.vm.unmap_page(base)
        elif at == "end-straddle":
            base = self.vm.mem_size - C.PAGE_4K
        else:
            base = self._spot(at, l2, size, pick) & ~0xFFF
        self.l1.hcall(H.H_SET_PARTITION_TABLE, (base & C.PTCR_PATB) | pats)
        if run and l2 is not None:
            v = self._vcpu(pick)
            self._l1_side("run_l2", lambda: self.l1.run_l2(l2, vcpu=v, max_entries=3))

    # ------------------------------------------------------------------ table flood
    @rule(
        pick=picks,
        n=st.integers(8, 160),
        stride=st.sampled_from([C.PAGE_2M, _GB + C.PAGE_2M, (1 << 39) + C.PAGE_2M]),
    )
    def flood(self, pick: int, n: int, stride: int) -> None:
        """Issue 13 B's attack: root entries 1.. of the L1's tree for an L2 all point at
        one table whose entries all point at one table of 2M leaves onto one L1 page
        (every L2 real address from 512G maps), and the L2 loads in real mode from
        ``n`` distinct 2M regions ``stride`` apart: L0 builds shadow tables for each,
        charged to this L1, until its budget gives -ENOMEM (the neighbour is unharmed)."""
        self._step("flood")
        l2 = self._live(pick)
        if l2 is None:
            return
        tables = self._l1_side(
            "flood alloc", lambda: (self.l1.alloc.alloc(4096), self.l1.alloc.alloc(4096))
        )
        if tables is None:
            return
        t1, t2 = tables
        leaf = make_pte(ARENA_L1, "rwx", r=True, c=True).to_bytes(8, "big")
        self.vm.write_guest(t2, leaf * 512)
        self.vm.write_guest(t1, (C.PTE_V | t2 | 9).to_bytes(8, "big") * 512)
        root = (C.PTE_V | t1 | 9).to_bytes(8, "big") * ((1 << C.ROOT_NLS) - 1)
        self.vm.write_guest(l2.tree.root + 8, root)
        ops = [Load((1 << 39) + i * stride, rt=i % 32) for i in range(n)]
        self.l1.load_program(l2, Program((*ops, Hcall(H.H_CEDE)), entry=W.CODE_EA))
        l2.regs.msr &= ~(C.MSR_IR | C.MSR_DR)
        v = self._vcpu(pick)
        self._l1_side("run_l2", lambda: self.l1.run_l2(l2, vcpu=v, max_entries=8))

    # ------------------------------------------------------------------ lpid storm
    @precondition(lambda self: self.storms < 2)
    @rule(
        n=st.sampled_from([16, 64, 300, 1030]),
        first=st.sampled_from([1, 2, 700, 1000]),
        release=st.sampled_from(["each", "all"]),
    )
    def lpid_storm(self, n: int, first: int, release: str) -> None:
        """A lifecycle storm at the LPID boundaries: the L1 points ``n`` entries of its
        partition table from ``first`` (wrapping at the table's end) at one L2's tree and
        enters each once, so L0 creates a nested guest and a shadow LPID for each (1030:
        more than L0 has free, ``kvmppc_alloc_lpid`` fails and ``kvmhv_alloc_nested``
        returns NULL); then it zeroes the entries and flushes them, one by one (IS=2
        RIC=2) or all at once (IS=3 RIC=2). Every shadow LPID must come back. The table
        is the one L0 reads (``l1_ptcr``), whatever the L1 registered last."""
        self._step("lpid_storm")
        self.storms += 1
        l2 = self._live(0)
        ptcr = self.vm.l1_ptcr  # the table L0 reads (the L1 may have registered garbage)
        base = ptcr & C.PTCR_PATB
        entries = min(1 << ((ptcr & 0x1F) + 8), (self.vm.mem_size - base) // 16)
        if l2 is None or not ptcr or entries < 2:
            return
        free = self.l0.lpids.free_count
        skip = {0, *self.l1.l2s}
        lpids = [x for i in range(n) if (x := (first + i) % entries) not in skip]
        dw0, dw1 = C.PATE0_HR | l2.tree.dw0, C.PATE1_GR | l2.prtab.dw1
        hv_buf, regs_buf = self.l1.buffers[0]
        cpu = self.vm.vcpus[0]
        cpu.msr &= ~C.MSR_LE
        regs = l2.regs.to_bytes(False)
        for lpid in lpids:
            self.vm.write_guest(base + 16 * lpid, dw0.to_bytes(8, "big") + dw1.to_bytes(8, "big"))
            hv = HvGuestState(
                lpid=lpid,
                hfscr=cpu.hfscr,
                hdec_expiry=(self.l0.timebase + cpu.tb_offset + 1) & U64,
                pidr=l2.pid,
            )
            self.vm.write_guest(hv_buf, hv.to_bytes(False))
            self.vm.write_guest(regs_buf, regs)
            self.l1.hcall(H.H_ENTER_NESTED, hv_buf, regs_buf)
        for lpid in lpids:
            self.vm.write_guest(base + 16 * lpid, bytes(16))
            if release == "each":
                self.l1.flush_lpid(lpid)
        if release == "all":  # IS=3: every lpid of the L1 (kvmhv_emulate_tlbie_all_lpid)
            self.l1.hcall(H.H_TLB_INVALIDATE, h_tlbie_p1_enc(2, 0, 1), 0, 3 << 10)
        # a guest the storm's lpids replaced may be gone too; the held one keeps its own
        assert self.l0.lpids.free_count >= free, (self.l0.lpids.free_count, free)

    # ------------------------------------------------------------------ churn
    @precondition(lambda self: self.churned < CHURN_MAX)
    @rule(
        nl2=st.integers(0, 3),
        first_lpid=st.sampled_from([1, 1, 255, 256, 1021, 1022, 1023]),
        destroy_l2s=st.booleans(),
        hold=st.booleans(),
    )
    def churn(self, nl2: int, first_lpid: int, destroy_l2s: bool, hold: bool) -> None:
        """A third L1 is created, runs L2s with lpids from ``first_lpid`` (the ends of
        its partition table), maybe destroys them (``hold``: while a vcpu holds a
        reference to one, dropped afterwards), and is destroyed by L0."""
        self._step("churn")
        self.churned += 1
        vm = self._l1_side("churn create_l1", lambda: self.l0.create_l1(256 * _MB))
        if vm is None:  # L0's table area has no room for a third L1 (-ENOMEM)
            return
        l1 = L1(vm, kernel=self.l1.kernel)
        self._guard(l1)
        if l1.nested_init() == H.H_SUCCESS:
            l1.lpids.inuse |= set(range(1, first_lpid))
            for _ in range(nl2):
                l2 = self._l1_side("churn create_l2", lambda: l1.create_l2(4 << 20))
                if l2 is None:
                    break
                l1.l2_map(l2, W.CODE_EA, 0x30_0000, C.PAGE_4K, "x")
                l1.l2_map(l2, W.DATA_EA, 0x20_0000, C.PAGE_4K, "rw")
                ops = (Store(W.DATA_EA, l2.l1_lpid), Load(W.DATA_EA), Hcall(H.H_CEDE))
                l1.load_program(l2, Program(ops, entry=W.CODE_EA))
                self._l1_side("churn run_l2", lambda l2=l2: l1.run_l2(l2))
            gp = get_nested(vm, next(iter(l1.l2s)), True) if hold and l1.l2s else None
            if gp is not None:  # vcpu 1 is inside H_ENTER_NESTED for it meanwhile
                vm.vcpus[1].nested = gp
            if destroy_l2s:
                for l2 in list(l1.l2s.values()):
                    self._l1_side("churn destroy_l2", lambda l2=l2: l1.destroy_l2(l2))
            if gp is not None:
                vm.vcpus[1].nested = None
                put_nested(gp)
        self.l0.destroy_l1(vm)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def isolation(self) -> None:
        STATS.check("isolation")
        bad = W.isolation_violations(self.l0)
        assert bad == [], "\n".join(map(str, bad))

    @invariant()
    def nested_tables(self) -> None:
        """Refcounts never negative; slots hold live guests; max_nested_lpid exact."""
        STATS.check("nested_tables")
        for vm in self.l0.guests.values():
            table = vm.nested
            live = [lpid for lpid, _gp in table.items()]
            if table.kind == "array":
                live = [i for i, g in enumerate(table.slots) if g is not None]
            want = max(live, default=-1)
            assert table.max_nested_lpid == want, (vm.lpid, table.max_nested_lpid, want)
            for lpid, gp in table.items():
                self.gps[id(gp)] = gp
                assert gp.l1_lpid == lpid and not gp.freed and gp.refcnt >= 1, gp
                assert gp.shadow_lpid in self.l0.lpids.inuse, gp
        if self.held is not None:
            assert self.held.refcnt >= 1 and not self.held.freed, self.held
        for gp in self.gps.values():
            assert gp.refcnt >= 0, gp

    @invariant()
    def event_log(self) -> None:
        """Append-only and ordered; every hcall answered; time only goes forward."""
        STATS.check("event_log")
        log = self.l0.events
        start = self.log_len
        assert len(log) >= start
        if start and start - 1 >= getattr(log, "dropped", 0):
            assert log[start - 1] is self.log_last, "the event log changed what it recorded"
        open_call = None
        for i, ev in enumerate(log.since(start), start=max(start, getattr(log, "dropped", 0))):
            assert ev.seq == i and ev.kind in KINDS and ev.actor in ACTORS, ev
            if ev.kind == "hcall":
                assert open_call is None, f"hcall inside hcall: {ev}"
                open_call = ev
            elif ev.kind == "hcall-return":
                assert open_call is not None and open_call.hcall == ev.hcall, ev
                open_call = None
                STATS.hcalls[(ev.hcall, ev.detail)] += 1
        assert open_call is None, f"no return for {open_call}"
        self.log_len = len(log)
        self.log_last = log[-1] if len(log) else None
        assert self.l0.timebase >= self.timebase
        self.timebase = self.l0.timebase

    @invariant()
    def l0_bounds(self) -> None:
        """The TLB within its capacity, its verdict cache only for entries it holds,
        the event log within its ring, every L1's tables within its budget."""
        STATS.check("l0_bounds")
        tlb, log = self.l0.tlb, self.l0.events
        assert len(tlb) <= getattr(tlb, "capacity", len(tlb)), len(tlb)
        verdicts = getattr(tlb, "_verdicts", {})
        assert set(verdicts) <= set(getattr(tlb, "entries", verdicts)), "stale verdicts"
        held = len(log) - getattr(log, "dropped", 0)
        assert held <= getattr(log, "limit", held), held
        for vm in self.l0.guests.values():  # each L1 within its accounted table budget
            used, limit = getattr(vm, "table_bytes", 0), getattr(vm, "table_limit", None)
            assert limit is None or used <= limit, (vm.lpid, used, limit)

    @invariant()
    def neighbour_data(self) -> None:
        """The benign L1's patterns are where it stored them: in L0's memory at the
        host address its three stages give (every step), and as its L2 loads them
        (every :data:`NEIGHBOUR_CHECK_EVERY` steps)."""
        STATS.check("neighbour_data")
        if not self.patterns:
            return
        l1, l2 = self.other_l1, self.other_l2
        for ea, value in self.patterns.items():
            hra = W.direct_translate(l1, l2, ea)
            assert hra is not None, f"the benign L1's pattern page {ea:#x} is gone"
            got = self.l0.mem.read_u64(hra)
            assert got == value, (
                f"benign pattern at {ea:#x} (host {hra:#x}): {got:#x} != {value:#x}"
            )
        self.neighbour_checks += 1
        if self.neighbour_checks % NEIGHBOUR_CHECK_EVERY:
            return
        STATS.check("neighbour_loads")
        regs = range(10, 10 + len(PATTERN_EAS))
        ops = [Load(ea, rt=r) for ea, r in zip(self.patterns, regs, strict=True)]
        l1.load_program(l2, Program((*ops, Hcall(H.H_CEDE)), entry=W.CODE_EA))
        res = l1.run_l2(l2)
        assert res.stopped == "ceded", res
        for (ea, value), r in zip(self.patterns.items(), regs, strict=True):
            assert l2.regs.gpr[r] == value, f"benign L2 load of {ea:#x}: {l2.regs.gpr[r]:#x}"

    # ------------------------------------------------------------------ end of a run
    def teardown(self) -> None:
        """L0 destroys every L1 (the vcpu holding a guest drops it first, as vcpus are
        freed before ``kvmppc_core_destroy_vm_hv``); L0 must be back to its baseline."""
        l0 = getattr(self, "l0", None)
        if l0 is None:
            return
        end = l0_resources(l0)
        if self.held is not None:
            self.vm.vcpus[1].nested = None
            put_nested(self.held)
            self.held = None
        for vm in list(l0.guests.values()):
            l0.destroy_l1(vm)
        after = l0_resources(l0)
        STATS.resources.append((self.baseline, end, after))
        assert W.isolation_violations(l0) == []
        for what in ("table bytes", "LPIDs free"):
            assert after[what] == self.baseline[what], (what, self.baseline, after)
        assert after["guest TLB entries"] == 0 and after["verdict cache"] <= after["TLB entries"]
