"""One H_SET_PARTITION_TABLE, recorded (notebooks 05 and 12, the set-ptbl explorer).

:func:`set_ptbl_outcome` issues the hcall from an L1 VM through the model's dispatcher
(``kvmppc_pseries_do_hcall`` -> ``kvmhv_set_partition_table``, book3s_hv_nested.c, 4.20)
and returns a :class:`SetPtblOutcome`: the code, the two checks the kernel makes, and
L0's state before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import check_int
from ..kvm.hcalls import H_SET_PARTITION_TABLE, U64, do_hcall, rc_name
from ..kvm.host import L1Vm
from ..kvm.nested import PRTB_MASK, PRTS_MASK

MAX_PRTS = 12 - 8  # kvmhv_set_partition_table: at most 2^12 entries ("what hardware supports")


def size_text(n: int) -> str:
    """``16 KiB``, ``256 MiB``: a power-of-two-ish byte count in words."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


# ----------------------------------------------------------------------- the record
@dataclass(frozen=True)
class SetPtblOutcome:
    """One H_SET_PARTITION_TABLE(``ptcr``) from the L1 VM ``lpid``, as L0 handled it.

    ``rc`` is what the model's dispatcher returned; ``prts_ok`` and ``gfn_visible`` are
    the two tests of ``kvmhv_set_partition_table`` (either failing gives H_PARAMETER),
    ``reached_handler`` is False when nesting is off (H_FUNCTION, handler not run).
    ``nested_before``/``nested_after`` are the L1 lpids in L0's nested-guest table.
    """

    lpid: int
    ptcr: int
    rc: int
    nesting: bool
    mem_size: int
    page_shift: int
    ptcr_before: int
    ptcr_after: int
    max_nested_lpid_before: int
    max_nested_lpid_after: int
    nested_before: tuple[int, ...]
    nested_after: tuple[int, ...]

    # -------------------------------------------------------------- derived
    @property
    def rc_name(self) -> str:
        return rc_name(self.rc)

    @property
    def r3(self) -> int:
        """The 64-bit register value the L1 finds in r3."""
        return self.rc & U64

    @property
    def base(self) -> int:
        return self.ptcr & PRTB_MASK

    @property
    def prts(self) -> int:
        return self.ptcr & PRTS_MASK

    @property
    def entries(self) -> int:
        return 1 << (self.prts + 8)

    @property
    def table_bytes(self) -> int:
        return 1 << (self.prts + 12)

    @property
    def gfn(self) -> int:
        return self.base >> self.page_shift

    @property
    def last_gfn(self) -> int:
        return (self.mem_size >> self.page_shift) - 1

    @property
    def prts_ok(self) -> bool:
        return self.prts <= MAX_PRTS

    @property
    def gfn_visible(self) -> bool:
        return self.gfn <= self.last_gfn

    @property
    def reached_handler(self) -> bool:
        return self.nesting

    @property
    def table_end(self) -> int:
        return self.base + self.table_bytes

    @property
    def dropped(self) -> tuple[int, ...]:
        """L1 lpids whose nested guest left L0's table during the call."""
        return tuple(sorted(set(self.nested_before) - set(self.nested_after)))

    def reasons(self) -> list[str]:
        """Why L0 answered as it did, one sentence per check, then side notes."""
        out: list[str] = []
        if not self.nesting:
            out.append(
                "nesting is not enabled for this VM (no KVM_CAP_PPC_NESTED_HV), so "
                "kvmppc_pseries_do_hcall leaves r3 = H_FUNCTION and never calls the handler"
            )
            return out
        if self.prts_ok:
            out.append(
                f"PRTS {self.prts}: {self.entries} entries ({size_text(self.table_bytes)}), "
                f"within the limit of 4096 (PRTS <= {MAX_PRTS})"
            )
        else:
            out.append(
                f"PRTS {self.prts} asks for 2^{self.prts + 8} = {self.entries} entries, more "
                f"than 4096 (PRTS <= {MAX_PRTS}): H_PARAMETER"
            )
        page = size_text(1 << self.page_shift)
        if self.gfn_visible:
            out.append(
                f"base {self.base:#x} is in page frame {self.gfn:#x} ({page} frames), inside "
                f"the L1's memslot (frames 0..{self.last_gfn:#x})"
            )
        else:
            out.append(
                f"base {self.base:#x} is in page frame {self.gfn:#x} ({page} frames), outside "
                f"the L1's memslot (frames 0..{self.last_gfn:#x}, {size_text(self.mem_size)}): "
                "H_PARAMETER"
            )
        if self.prts_ok and self.gfn_visible:
            if self.ptcr == 0:
                out.append("PTCR 0 passes both tests: it deregisters (l1_ptcr = 0)")
            if self.table_end > self.mem_size:
                out.append(
                    f"only the base is checked: the table runs past the end of L1 memory "
                    f"(to {self.table_end:#x}); entries there would read as failed"
                )
            if self.base % self.table_bytes:
                out.append(
                    f"the base is not aligned to the {size_text(self.table_bytes)} table; "
                    "Linux does not check that"
                )
            extra = self.ptcr & ~(PRTB_MASK | PRTS_MASK) & U64
            if extra:
                out.append(f"bits {extra:#x} outside PRTB|PRTS are stored as given")
        return out

    def summary(self) -> str:
        """One line: the call, the code and what changed."""
        change = (
            f"l1_ptcr {self.ptcr_before:#x} -> {self.ptcr_after:#x}"
            if self.ptcr_after != self.ptcr_before
            else f"l1_ptcr stays {self.ptcr_after:#x}"
        )
        return (
            f"H_SET_PARTITION_TABLE({self.ptcr:#x}) -> {self.rc_name} ({self.rc}, "
            f"r3 = {self.r3:#x}); {change}"
        )


def set_ptbl_outcome(vm: L1Vm, ptcr: int, vcpu: int = 0) -> SetPtblOutcome:
    """Issue H_SET_PARTITION_TABLE(``ptcr``) from ``vm`` through the model's dispatcher
    (``kvmppc_pseries_do_hcall`` -> ``kvmhv_set_partition_table``) and record what
    L0 had before and after. Raises FieldError for a value that is not a 64-bit number."""
    check_int("PTCR", ptcr, bits=64)
    before = (vm.l1_ptcr, vm.nested.max_nested_lpid, tuple(lp for lp, _ in vm.nested.items()))
    rc = do_hcall(vm, H_SET_PARTITION_TABLE, ptcr, vcpu=vcpu)
    return SetPtblOutcome(
        lpid=vm.lpid,
        ptcr=ptcr,
        rc=rc,
        nesting=vm.nesting_enabled,
        mem_size=vm.mem_size,
        page_shift=vm.page_shift,
        ptcr_before=before[0],
        ptcr_after=vm.l1_ptcr,
        max_nested_lpid_before=before[1],
        max_nested_lpid_after=vm.nested.max_nested_lpid,
        nested_before=before[2],
        nested_after=tuple(lp for lp, _ in vm.nested.items()),
    )
