"""An adversarial L1 as a hypothesis state machine: it does anything an L1 can do.

The L1 (the one of :func:`pynest.scenarios.two_l2s`, next to a second, innocent L1 that
runs an L2 of its own) makes every nested hcall with random and boundary arguments,
scribbles garbage into its partition table, its trees for its L2s and their process
tables and trees, removes guests while a vcpu still runs them, and runs L2 programs
that touch anything. After every step the invariants of issue 7 are checked:

* isolation: :func:`pynest.kvm.host.isolation_violations` is empty;
* reference counts are never negative; a guest in a nested table holds its slot's
  reference and is not freed;
* ``max_nested_lpid`` is the highest live nested lpid (-1 when none: 4.20
  ``kvmhv_remove_nested`` walks it down; the IDR computes it);
* no Python exception escapes an hcall (every failure is an H_* code or a reflected
  fault); the L1's *own* helpers may refuse its own garbage with a
  :class:`~pynest.errors.PynestError` (counted, never from inside an hcall);
* the event log is append-only and ordered (``seq`` = index, known kinds and actors,
  every ``hcall`` followed by its ``hcall-return``), and the timebase never goes back.

:data:`STATS` counts steps, rules, hcalls by return code and invariant checks for
``benchmarks/fuzz.py``; ``AdversarialL1.progress`` (a callable) is called every step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pynest import scenarios as W
from pynest.errors import PynestError
from pynest.kvm import hcalls as H
from pynest.kvm.events import ACTORS, KINDS
from pynest.kvm.guest_state import (
    HV_GUEST_STATE_V1_SIZE,
    LPCR_L1_MASK,
    HvGuestState,
    PtRegs,
)
from pynest.kvm.host import L1_LPCR, LPID_RSVD
from pynest.kvm.l1 import L1, h_tlbie_p1_enc
from pynest.kvm.l2 import NR_CPUS, Hcall, Load, Program, Spin, Store
from pynest.kvm.nested import get_nested, put_nested
from pynest.kvm.shadow import kmalloc_max, shadow_leaves
from pynest.mmu import constants as C

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1
_MB = 1 << 20


# ----------------------------------------------------------------------------- statistics
@dataclass
class Stats:
    """What the adversary did and what was checked (reset with :meth:`reset`)."""

    steps: int = 0
    rules: Counter = field(default_factory=Counter)
    hcalls: Counter = field(default_factory=Counter)  # (hcall name, rc name) -> count
    invariant_checks: int = 0
    l1_refusals: Counter = field(default_factory=Counter)  # the L1's own helpers said no

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


STATS = Stats()


class HcallEscape(AssertionError):
    """A Python exception escaped an hcall (never a PynestError the L1 may catch)."""


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


# ----------------------------------------------------------------------------- machine
class AdversarialL1(RuleBasedStateMachine):
    """See the module docstring."""

    progress: Callable[[Stats], None] | None = None

    # ------------------------------------------------------------------ set-up
    @initialize(
        seed=st.integers(0, 3),
        table=st.sampled_from(["array", "dynamic"]),
        kernel=st.sampled_from(["4.20", "5.19"]),
        l0_kernel=st.sampled_from(["4.20", "5.0"]),
        page_shift=st.sampled_from([16, 16, 12]),
    )
    def build(self, seed: int, table: str, kernel: str, l0_kernel: str, page_shift: int) -> None:
        self.w = W.two_l2s(
            seed,
            run=True,
            nested_table=table,
            kernel=kernel,
            l0_kernel=l0_kernel,
            page_shift=page_shift,
        )
        self.l0, self.vm, self.l1 = self.w.l0, self.w.vm, self.w.l1
        self._guard(self.l1)
        self._add_other_l1()
        self.good_ptcr = self.l1.ptcr
        self.held = None  # a nested guest vcpu 1 of our L1 is "inside H_ENTER_NESTED" for
        self.gps: dict[int, object] = {}  # every nested guest seen, by id
        self.log_len = 0
        self.log_last = None
        self.timebase = 0
        self.replaced = 0

    def _add_other_l1(self) -> None:
        """A second L1 with one L2 that has run: the neighbour nothing may reach."""
        vm = self.l0.create_l1(256 << 20)
        l1 = L1(vm, kernel=self.l1.kernel)
        self._guard(l1)
        assert l1.nested_init() == H.H_SUCCESS
        l2 = l1.create_l2(4 << 20)
        l1.l2_map(l2, W.CODE_EA, 0x10_0000 * 3, C.PAGE_4K, "x")
        l1.l2_map(l2, W.DATA_EA, 0x20_0000, C.PAGE_4K, "rw")
        ops = (Store(W.DATA_EA, 0x5A5A), Load(W.DATA_EA), Hcall(H.H_CEDE))
        l1.load_program(l2, Program(ops, entry=W.CODE_EA))
        l1.run_l2(l2)
        self.other_vm, self.other_l1, self.other_l2 = vm, l1, l2

    @staticmethod
    def _guard(l1: L1) -> None:
        """Make every hcall of ``l1`` turn an escaping exception into HcallEscape."""
        raw = l1.hcall

        def hcall(nr: int, *args: int, vcpu: int = 0) -> int:
            try:
                return raw(nr, *args, vcpu=vcpu)
            except Exception as exc:
                detail = " ".join(f"{a:#x}" for a in args)
                raise HcallEscape(
                    f"{type(exc).__name__} escaped {H.hcall_name(nr)}({detail}) "
                    f"on vcpu {vcpu}: {exc}"
                ) from exc

        l1.hcall = hcall  # type: ignore[method-assign]

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
            return l2.lpid if l2 is not None else pick
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
            eas = self.w.data.get(l2.lpid, [W.DATA_EA]) if l2 is not None else [W.DATA_EA]
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
            self.w.data[l2.lpid] = [W.DATA_EA]

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

    # ------------------------------------------------------------------ invariants
    @invariant()
    def isolation(self) -> None:
        STATS.invariant_checks += 1
        bad = W.isolation_violations(self.l0)
        assert bad == [], "\n".join(map(str, bad))

    @invariant()
    def nested_tables(self) -> None:
        """Refcounts never negative; slots hold live guests; max_nested_lpid exact."""
        STATS.invariant_checks += 1
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
        STATS.invariant_checks += 1
        log = self.l0.events
        start = self.log_len
        assert len(log) >= start
        if start:
            assert log[start - 1] is self.log_last, "the event log changed what it recorded"
        open_call = None
        for i in range(start, len(log)):
            ev = log[i]
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
        self.log_last = log[len(log) - 1] if len(log) else None
        assert self.l0.timebase >= self.timebase
        self.timebase = self.l0.timebase
