"""The guest hypervisor: an L1 running KVM-HV under L0 (the pseries side of the series).

An :class:`L1` works only in its own guest real memory (through L0's tree for it) and
talks to L0 only with hcalls. It registers a partition table (``kvmhv_nested_init``),
creates L2s (an lpid of its own, a partition-scoped tree L2 real -> L1 real built with
the builder in L1 memory, a partition-table entry), runs them with H_ENTER_NESTED, and
handles the trap each entry returns, the way ``kvmppc_handle_exit_hv`` handles a real
interrupt from a guest: it maps missing L2 pages, sets R/C in its own PTEs, answers L2
hcalls and re-enters.

L1 guest real memory layout: ``[0, 16M)`` the L1 kernel (unused here), ``[16M, 64M)``
page tables and hcall buffers, ``[64M, end)`` the memory of its L2s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AddressError, ConfigError, check_int
from ..mmu import constants as C
from ..mmu.builder import Allocator, ProcessTable, RadixTree, TranslatedSpace
from .constants import (
    DSISR_NOHPTE,
    DSISR_PROTFAULT,
    DSISR_SET_RC,
    H_CEDE,
    H_COPY_TOFROM_GUEST,
    H_ENTER_NESTED,
    H_FUNCTION,
    H_SET_PARTITION_TABLE,
    H_SUCCESS,
    H_TLB_INVALIDATE,
    KVM_MAX_NESTED_GUESTS,
    KVMPPC_NR_LPIDS,
    SRR1_ISI_N_G_OR_CIP,
)
from .events import EventLog
from .guest_state import HV_GUEST_STATE_VERSION, PT_REGS_SIZE, HvGuestState, PtRegs
from .hcalls import do_hcall
from .host import L1Vm, LpidAllocator
from .program import Program
from .versions import DEFAULT_KERNEL, L1_KERNELS, check_kernel, version_key

_MB = 1 << 20
TLBIEL_INVAL_SET_LPID = 0x800  # RB with IS = 2
KVM_MAX_NESTED_GUESTS_SHIFT = 12  # 5.19+


def h_tlbie_p1_enc(ric: int, prs: int, r: int) -> int:
    """``H_TLBIE_P1_ENC``: the instruction image H_TLB_INVALIDATE decodes."""
    return (ric & 3) << 18 | (prs & 1) << 17 | (r & 1) << 16


def ptb_order_and_ptcr(table_pa: int, kernel: str = DEFAULT_KERNEL) -> tuple[int, int]:
    """``kvmhv_nested_init``'s table size and PTCR value.

    4.20 and 5.0: ptb_order = ceil(log2(KVMPPC_NR_LPIDS)) (at least 8) counts *entries*;
    the table is ``16 << ptb_order`` bytes and PTCR = pa | (ptb_order - 8). With
    KVMPPC_NR_LPIDS = LPID_RSVD + 1 = 1024: 1024 entries, 16 KiB, PRTS 2. (By 5.11
    LPID_RSVD is 0xfff, so the same formula already gives 4096 entries, 64 KiB, PRTS 4.)
    5.19: ptb_order = KVM_MAX_NESTED_GUESTS_SHIFT + 4 (at least 12) counts *bytes*:
    PTCR = pa | (ptb_order - 12), again 4096 entries, 64 KiB, PRTS 4.
    Returns (table bytes, PTCR).
    """
    kernel = check_kernel(kernel, L1_KERNELS)
    if version_key(kernel) < (5, 19):
        order = max(8, (KVMPPC_NR_LPIDS - 1).bit_length())
        return 16 << order, table_pa | (order - 8)
    order = max(12, KVM_MAX_NESTED_GUESTS_SHIFT + 4)
    return 1 << order, table_pa | (order - 12)


def _check_l2_gpa(l2: L2Guest, value: object) -> None:
    gpa = check_int("gpa", value)
    if gpa >= l2.mem_size:
        raise AddressError(
            f"gpa must be below L2 {l2.l1_lpid}'s mem_size {l2.mem_size:#x}, got {gpa:#x}"
        )


class L2Space(TranslatedSpace):
    """An L2's guest real memory seen by the L1: through the L1's tree for it, then
    L0's tree for the L1. A page the L1 has not mapped yet is mapped on first touch
    (the L1 faulting it in for its guest)."""

    def __init__(self, l1: L1, l2: L2Guest, fault_in: bool = True) -> None:
        self.l1 = l1
        self.l2 = l2
        self.fault_in = fault_in
        self.mem = l1.vm.l0.mem

    def l1_gpa(self, gpa: int) -> int:
        l2 = self.l2
        if not 0 <= gpa < l2.mem_size:
            raise AddressError(f"L2 guest real {gpa:#x} is outside L2 {l2.l1_lpid}'s memory")
        m = l2.tree.lookup(gpa)
        if m is None:
            if not self.fault_in:
                raise ConfigError(f"L2 {l2.l1_lpid} page {gpa:#x} is not mapped by the L1")
            self.l1.map_l2_page(l2, gpa)
            m = l2.tree.lookup(gpa)
            if m is None:  # only entries edited behind RadixTree's back get here
                raise ConfigError(
                    f"the L1's tree for L2 {l2.l1_lpid} still does not map {gpa:#x} after "
                    "mapping it: one of its directory entries was overwritten with one "
                    "the tree's own walk reads differently (e.g. NLB bits below the "
                    "table's size)"
                )
        return m.ra

    def to_hra(self, gpa: int, writing: bool = False) -> int:
        if not self.fault_in:  # read through the memslot, as kvm_read_guest does
            return self.l1.vm.slot_space.to_hra(self.l1_gpa(gpa))
        return self.l1.vm.space.to_hra(self.l1_gpa(gpa), writing=True)


@dataclass(eq=False)
class L2Guest:
    """The L1's record of one of its guests (its ``struct kvm`` for the L2)."""

    l1_lpid: int  # the L1's number for this guest (the kernel's gp->l1_lpid)
    l1_gpa_base: int  # L1 guest real address of L2 real 0
    mem_size: int
    page_size: int
    tree: RadixTree  # L2 real -> L1 real, in L1 memory
    space: L2Space | None = None
    alloc: Allocator | None = None  # the L2's own page-table area, L2 real
    prtab: ProcessTable | None = None
    proc_trees: dict[int, RadixTree] = field(default_factory=dict)
    regs: PtRegs = field(default_factory=PtRegs)
    pid: int = 1
    lpcr: int = 0
    vcpu_token: int = 0
    perms: str = "rwx"
    set_rc: bool = True

    def __repr__(self) -> str:
        return f"L2Guest(l1_lpid={self.l1_lpid}, L1 real {self.l1_gpa_base:#x}+{self.mem_size:#x})"


@dataclass(frozen=True, slots=True)
class RunResult:
    """What :meth:`L1.run_l2` saw: every H_ENTER_NESTED return, and why it stopped."""

    returns: tuple[int, ...]
    stopped: str


class L1:
    """The L1 kernel's KVM for the L1 VM ``vm`` (see the module docstring)."""

    def __init__(self, vm: L1Vm, kernel: str = DEFAULT_KERNEL) -> None:
        if vm.mem_size < 128 * _MB:
            raise ConfigError(f"an L1 needs at least 128 MiB, LPID {vm.lpid} has {vm.mem_size:#x}")
        self.kernel = check_kernel(kernel, L1_KERNELS)
        self.vm = vm
        self.alloc = Allocator(16 * _MB, 64 * _MB)
        self.ram = Allocator(64 * _MB, vm.mem_size)
        self.ptcr = 0
        self.ptb_bytes = 0
        self.lpids = LpidAllocator(KVM_MAX_NESTED_GUESTS)
        self.lpids.claim(0)  # the L1 itself
        self.l2s: dict[int, L2Guest] = {}
        # one hv_guest_state + pt_regs buffer per vcpu
        self.buffers = [(self.alloc.alloc(256), self.alloc.alloc(512)) for _ in vm.vcpus]

    def __repr__(self) -> str:
        return f"L1(lpid {self.vm.lpid}, PTCR {self.ptcr:#x}, L2s {sorted(self.l2s)})"

    @property
    def events(self) -> EventLog:
        """The L0 log, shared by every actor."""
        return self.vm.l0.events

    def hcall(self, nr: int, *args: int, vcpu: int = 0) -> int:
        """``plpar_hcall_norets``: an ``sc 1`` to L0."""
        return do_hcall(self.vm, nr, *args, vcpu=vcpu)

    # ------------------------------------------------------------- partition table
    def nested_init(self) -> int:
        """``kvmhv_nested_init`` (pseries): allocate the partition table and register it
        with H_SET_PARTITION_TABLE; returns the hcall's code (non-zero: no nesting)."""
        size, _ = ptb_order_and_ptcr(0, self.kernel)
        base = self.alloc.alloc(size)
        self.vm.space.zero(base, size)
        self.ptb_bytes, ptcr = ptb_order_and_ptcr(base, self.kernel)
        rc = self.hcall(H_SET_PARTITION_TABLE, ptcr)
        self.ptcr = ptcr if rc == H_SUCCESS else 0
        return rc

    def nested_exit(self) -> int:
        """``kvmhv_nested_exit``: deregister with H_SET_PARTITION_TABLE(0)."""
        self.ptcr = 0
        return self.hcall(H_SET_PARTITION_TABLE, 0)

    def set_ptbl_entry(self, lpid: int, dw0: int, dw1: int) -> int:
        """``kvmhv_set_ptbl_entry`` in an L1 (pseries): store the entry big-endian in its
        table, then ``kvmhv_flush_lpid(lpid)``: H_TLB_INVALIDATE RIC=2 PRS=0 R=1, IS=2.
        Every released kernel flushes (row ``set-ptbl-flush`` of
        :mod:`pynest.kvm.versions`; only the reviewed v2 series issued a raw tlbie
        instead). Returns the hcall's code (the kernel only logs a failure)."""
        if not self.ptcr:
            raise ConfigError("the L1 has no partition table: call nested_init() first")
        check_int("lpid", lpid)
        if lpid >= self.ptb_bytes // 16:
            raise ConfigError(f"lpid must be below {self.ptb_bytes // 16} (the table), got {lpid}")
        check_int("dw0", dw0, bits=64)
        check_int("dw1", dw1, bits=64)
        base = self.ptcr & C.PTCR_PATB
        self.vm.space.write_u64(base + 16 * lpid, dw0)
        self.vm.space.write_u64(base + 16 * lpid + 8, dw1)
        return self.flush_lpid(lpid)

    def flush_lpid(self, lpid: int, ric: int = 2) -> int:
        """``kvmhv_flush_lpid``: H_TLB_INVALIDATE(RIC, PRS=0, R=1; RS=lpid; RB=IS 2)."""
        return self.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(ric, 0, 1), lpid, TLBIEL_INVAL_SET_LPID)

    # ------------------------------------------------------------- L2 guests
    def create_l2(
        self,
        mem_size: int = 16 * _MB,
        *,
        page_size: int = C.PAGE_64K,
        pid: int = 1,
        perms: str = "rwx",
        set_rc: bool = True,
    ) -> L2Guest:
        """A new L2: an lpid, L1 memory for it, an empty partition tree, a process table
        in L2 memory, and the partition-table entry (dw0 = HR | tree, dw1 = GR | process
        table), as ``kvmppc_core_init_vm_hv`` + ``kvmppc_setup_partition_table`` in an L1.

        ``page_size`` is the L1's page size for L2 memory (64K, 2M or 1G; 4K mappings
        cannot be shadowed by a 64K-page L0). ``perms`` and ``set_rc`` shape the PTEs
        the L1 creates (``set_rc=False`` leaves R/C to be set on demand).
        """
        check_int("mem_size", mem_size, minimum=1)
        check_int("pid", pid, bits=32)
        check_int("page_size", page_size)
        if page_size not in C.PAGE_SIZES:
            raise ConfigError(f"page_size must be one of 4K, 64K, 2M, 1G, got {page_size:#x}")
        if mem_size % page_size:
            raise ConfigError(
                f"L2 mem_size {mem_size:#x} must be a multiple of page_size {page_size:#x}"
            )
        if mem_size > self.ram.end - self.ram.next:
            raise ConfigError(
                f"mem_size {mem_size:#x} must be at most the "
                f"{self.ram.end - self.ram.next:#x} bytes of L1 memory left"
            )
        lpid = self.lpids.alloc()
        if lpid is None:
            raise ConfigError("the L1 has no free lpid for another guest")
        base = self.ram.alloc(mem_size)
        tree = RadixTree(self.vm.space, self.alloc)
        l2 = L2Guest(lpid, base, mem_size, page_size, tree, pid=pid, perms=perms, set_rc=set_rc)
        l2.space = L2Space(self, l2)
        l2.alloc = Allocator(_MB, 4 * _MB)
        l2.prtab = ProcessTable.create(l2.space, l2.alloc)
        self.l2s[lpid] = l2
        self.set_ptbl_entry(lpid, C.PATE0_HR | tree.dw0, C.PATE1_GR | l2.prtab.dw1)
        return l2

    def process_tree(self, l2: L2Guest, pid: int | None = None) -> RadixTree:
        """The L2's process-scoped tree for ``pid`` (created empty on first use), in L2
        memory: what the L2's own kernel builds."""
        pid = l2.pid if pid is None else pid
        if pid not in l2.proc_trees:
            assert l2.space is not None and l2.alloc is not None and l2.prtab is not None
            tree = RadixTree(l2.space, l2.alloc)
            l2.prtab.set_entry(pid, tree)
            l2.proc_trees[pid] = tree
        return l2.proc_trees[pid]

    def l2_map(
        self,
        l2: L2Guest,
        ea: int,
        gpa: int,
        size: int = C.PAGE_4K,
        perms: str = "rw",
        pid: int | None = None,
    ) -> None:
        """The L2 kernel maps ``ea`` -> L2 real ``gpa`` in its process tree."""
        check_int("ea", ea, bits=64)
        check_int("gpa", gpa, bits=64)
        self.process_tree(l2, pid).map(ea, gpa, size, perms, r=True, c=True)

    def map_l2_page(self, l2: L2Guest, gpa: int) -> int:
        """Map the L2 page holding ``gpa`` in the L1's tree (L2 real -> L1 real);
        returns the L1 real address of the page."""
        _check_l2_gpa(l2, gpa)
        size = l2.page_size
        page = gpa & -size
        l1_gpa = l2.l1_gpa_base + page
        l2.tree.map(page, l1_gpa, size, l2.perms, r=l2.set_rc, c=l2.set_rc)
        self.events.append(
            "l1-map",
            "L1",
            lpid=self.vm.lpid,
            l1_lpid=l2.l1_lpid,
            gpa=page,
            l1_gpa=l1_gpa,
            size=size,
        )
        return l1_gpa

    def unmap_l2_page(self, l2: L2Guest, gpa: int) -> int:
        """Unmap an L2 page from the L1's tree, then tell L0 with H_TLB_INVALIDATE
        (RIC 0, IS 0, the page's AP): ``kvmppc_unmap_pte`` + ``kvmppc_radix_tlbie_page``
        in an L1. Returns the hcall's code."""
        _check_l2_gpa(l2, gpa)
        found = l2.tree.find_leaf(gpa)
        if found is None:
            raise ConfigError(f"L2 {l2.l1_lpid} page {gpa:#x} is not mapped")
        _slot, _pte, shift = found
        size = 1 << shift
        if size not in C.AP_OF_PAGE_SIZE:  # only a garbage entry makes such a leaf
            raise ConfigError(
                f"L2 {l2.l1_lpid} page {gpa:#x} is a leaf of {size:#x} bytes (a leaf above "
                "level 1): no tlbie AP names that size"
            )
        l2.tree.unmap(gpa)
        self.events.append(
            "l1-unmap", "L1", lpid=self.vm.lpid, l1_lpid=l2.l1_lpid, gpa=gpa & -size, size=size
        )
        return self.tlbie_page(l2, gpa, size)

    def tlbie_page(self, l2: L2Guest, gpa: int, size: int) -> int:
        """``kvmppc_radix_tlbie_page`` in an L1 (pseries): H_TLB_INVALIDATE RIC=0 PRS=0
        R=1 with RB = the page's address | AP << 5 (IS=0); returns the hcall's code."""
        rb = (gpa & -size) | C.AP_OF_PAGE_SIZE[size] << 5
        return self.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(0, 0, 1), l2.l1_lpid, rb)

    def get_dirty_log(self, l2: L2Guest) -> list[int]:
        """The L1's dirty-page harvest for ``l2`` (``kvm_vm_ioctl_get_dirty_log_hv`` ->
        ``kvm_radix_test_clear_dirty`` in the L1 kernel, as for live migration of the
        L2): every leaf of the L1's tree for the L2 with C set is dirty; C is cleared and
        the page invalidated (``kvmppc_radix_tlbie_page`` -> H_TLB_INVALIDATE RIC=0 IS=0)
        so that the next store must set C again. Returns the dirty L2 real pages.

        Whether an L2 store reaches the L1's C bit at all is what L0's kernel decides
        (row ``nested-rc`` of :mod:`pynest.kvm.versions`)."""
        dirty = []
        for m in l2.tree.mappings():
            if not m.pte & C.PTE_C:
                continue
            dirty.append(m.addr)
            l2.tree.set_pte_bits(m.addr, clear_bits=C.PTE_C)
            self.tlbie_page(l2, m.addr, m.size)
        self.events.append(
            "l1-dirty-log",
            "L1",
            lpid=self.vm.lpid,
            l1_lpid=l2.l1_lpid,
            detail=f"{len(dirty)} dirty page(s): " + " ".join(f"{a:#x}" for a in dirty),
        )
        return dirty

    def destroy_l2(self, l2: L2Guest) -> int:
        """``kvmppc_core_destroy_vm_hv`` in an L1: zero the L2's entry with
        ``kvmhv_set_ptbl_entry``, whose RIC=2 flush makes L0 re-read the entry, find it
        empty and free its shadow (``kvmhv_flush_nested``). Returns the hcall's code."""
        rc = self.set_ptbl_entry(l2.l1_lpid, 0, 0)
        del self.l2s[l2.l1_lpid]
        self.lpids.free(l2.l1_lpid)
        return rc

    def load_program(self, l2: L2Guest, program: Program) -> None:
        """Put the L2's code in place and point its vcpu at the entry (MSR: a 64-bit
        guest kernel with translation on)."""
        self.vm.programs[l2.l1_lpid] = program
        l2.regs = PtRegs(nip=program.entry, msr=C.MSR_GUEST_KERNEL)

    def copy_from_l2(
        self, l2: L2Guest, ea: int, n: int, buf_gpa: int | None = None, pid: int | None = None
    ) -> tuple[int, bytes]:
        """H_COPY_TOFROM_GUEST load: (rc, the bytes that landed in the L1 buffer)."""
        buf = self.alloc.alloc(max(n, 8)) if buf_gpa is None else buf_gpa
        rc = self.hcall(
            H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid if pid is None else pid, ea, buf, 0, n
        )
        data = self.vm.read_guest(buf, n) or b""
        return rc, data

    # ------------------------------------------------------------- running an L2
    def _write_state(self, l2: L2Guest, vcpu: int, slice_ticks: int) -> None:
        vm = self.vm
        hv_gpa, regs_gpa = self.buffers[vcpu]
        v = vm.vcpus[vcpu]
        le = bool(v.msr & C.MSR_LE)
        l1_tb = vm.l0.timebase + v.tb_offset
        hv = HvGuestState(
            version=HV_GUEST_STATE_VERSION,
            lpid=l2.l1_lpid,
            vcpu_token=l2.vcpu_token,
            lpcr=l2.lpcr,
            hfscr=v.hfscr,
            hdec_expiry=l1_tb + slice_ticks,
            pidr=l2.pid,
        )
        for addr, data in ((hv_gpa, hv.to_bytes(le)), (regs_gpa, l2.regs.to_bytes(le))):
            for off in range(0, len(data), 8):
                vm.space.write_u64(addr + off, int.from_bytes(data[off : off + 8], "big"))

    def _read_state(self, vcpu: int) -> tuple[HvGuestState, PtRegs]:
        hv_gpa, regs_gpa = self.buffers[vcpu]
        le = bool(self.vm.vcpus[vcpu].msr & C.MSR_LE)
        hv = HvGuestState.from_bytes(self.vm.read_guest(hv_gpa, 232) or b"", le)
        raw = self.vm.read_guest(regs_gpa, PT_REGS_SIZE) or bytes(PT_REGS_SIZE)
        regs = PtRegs.from_bytes(raw, le)
        return hv, regs

    def _handle_storage(self, l2: L2Guest, trap: int, hv: HvGuestState, regs: PtRegs) -> str:
        """The L1's ``kvmppc_book3s_radix_page_fault`` for its guest; "" to re-enter."""
        dsisr = hv.hdsisr if trap == 0xE00 else regs.msr & 0x783F_0000
        gpa = hv.asdr & ~0xFFF
        if dsisr & DSISR_SET_RC:
            found = l2.tree.find_leaf(gpa)
            if found is None:
                return f"SET_RC fault at unmapped L2 real {gpa:#x}"
            bits = C.PTE_R | (C.PTE_C if dsisr & 0x0200_0000 else 0)
            l2.tree.set_pte_bits(gpa, set_bits=bits)
            what = "set R/C in its PTE"
        elif dsisr & DSISR_NOHPTE and 0 <= gpa < l2.mem_size:
            self.map_l2_page(l2, gpa)
            what = "mapped the page"
        elif dsisr & (DSISR_NOHPTE | DSISR_PROTFAULT | SRR1_ISI_N_G_OR_CIP):
            regs.nip += 4  # the L1 queues a DSI/ISI to its guest: the op is skipped
            what = "gave the L2 a storage interrupt"
        else:
            return f"cannot handle DSISR {dsisr:#x}"
        self.events.append(
            "l1-handle",
            "L1",
            lpid=self.vm.lpid,
            l1_lpid=l2.l1_lpid,
            trap=trap,
            gpa=gpa,
            dsisr=dsisr,
            detail=what,
        )
        return ""

    def run_l2(
        self, l2: L2Guest, *, vcpu: int = 0, slice_ticks: int = 1000, max_entries: int = 64
    ) -> RunResult:
        """Run ``l2`` on L1 vcpu ``vcpu`` until it cedes, executes past its program, or
        something the L1 cannot handle happens (the L1's ``kvmhv_run_single_vcpu``
        pseries path + ``kvmppc_handle_exit_hv``). Each entry gets ``slice_ticks`` of
        timebase before the L1's HDEC deadline."""
        check_int("vcpu", vcpu)
        if vcpu >= len(self.buffers):
            raise ConfigError(f"vcpu must be in 0..{len(self.buffers) - 1}, got {vcpu}")
        returns: list[int] = []
        for _ in range(max_entries):
            self._write_state(l2, vcpu, slice_ticks)
            hv_gpa, regs_gpa = self.buffers[vcpu]
            trap = self.hcall(H_ENTER_NESTED, hv_gpa, regs_gpa, vcpu=vcpu)
            returns.append(trap)
            hv, regs = self._read_state(vcpu)
            if trap < 0 or 0 < trap < 0x100:
                return RunResult(tuple(returns), f"H_ENTER_NESTED failed ({trap})")
            l2.regs = regs
            if trap == 0:
                continue
            if trap in (0xE00, 0xE20):
                why = self._handle_storage(l2, trap, hv, regs)
                if why:
                    return RunResult(tuple(returns), why)
                continue
            self.events.append("l1-handle", "L1", lpid=self.vm.lpid, l1_lpid=l2.l1_lpid, trap=trap)
            if trap == 0x980:
                continue
            if trap == 0xC00:
                if regs.gpr[3] == H_CEDE:
                    return RunResult(tuple(returns), "ceded")
                regs.gpr[3] = H_FUNCTION & (2**64 - 1)  # the L1 implements no other hcall
                continue
            if trap == 0xE40:
                return RunResult(tuple(returns), "ran past its program")
            return RunResult(tuple(returns), f"unhandled trap {trap:#x}")
        return RunResult(tuple(returns), "max_entries reached")
