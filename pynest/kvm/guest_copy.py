"""H_COPY_TOFROM_GUEST: L0 copying to or from an L2's memory for its L1 (book3s_hv_nested.c).

An L1 that emulates an L2 instruction needs the L2's memory at an L2 effective address,
which only the shadow tree maps. Linux 5.0 gave it the hcall: L0 reads or writes through
the real MMU with a quadrant access under the L2's shadow LPID
(``__kvmhv_copy_tofrom_guest_radix``), so only pages already in the shadow tree answer.
A 4.20 L0 has no such hcall (row ``h-copy-tofrom-guest`` of :mod:`pynest.kvm.versions`).

Source: ``arch/powerpc/kvm/book3s_hv_nested.c`` and ``book3s_64_mmu_radix.c`` (5.0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..mmu import constants as C
from ..mmu.xlate import CpuState
from .constants import H_NO_MEM, H_NOT_FOUND, H_PARAMETER, H_SUCCESS
from .nested import get_nested, put_nested
from .radix import nested_event
from .shadow import hw_translate

if TYPE_CHECKING:
    from .host import L0, L1Vm


def kmalloc_max(page_shift: int) -> int:
    """KMALLOC_MAX_SIZE of a ppc64 kernel: 2^(PAGE_SHIFT + MAX_ORDER - 1) with the
    default MAX_ORDER (9 with 64K pages, 11 with 4K) -- kzalloc beyond it fails."""
    return 1 << (page_shift + (9 if page_shift == 16 else 11) - 1)


def copy_tofrom_guest_radix(
    l0: L0, shadow_lpid: int, pid: int, eaddr: int, data: bytes | None, n: int
) -> bytes | None:
    """``__kvmhv_copy_tofrom_guest_radix``: read ``n`` bytes at (or write ``data`` to)
    an L2 effective address through the real MMU, as L0 does with a quadrant access
    (quadrant 1 with PIDR = pid, or quadrant 2 for pid 0; LPIDR = the shadow LPID).
    Returns the bytes read (or b"" after a write), None when any page faults."""
    quadrant = 1 if pid else 2
    cpu = CpuState(ptcr=l0.ptcr, lpidr=shadow_lpid, pidr=pid & 0xFFFF_FFFF)
    out = bytearray()
    pos = 0
    while pos < n:
        ea = (eaddr + pos) & C.EA_NOQUAD_MASK
        chunk = min(n - pos, C.PAGE_4K - (ea & (C.PAGE_4K - 1)))
        t = hw_translate(l0, cpu, ea | quadrant << 62, "load" if data is None else "store")
        if t.fault is not None or t.ra is None:
            return None
        if data is None:
            out += l0.mem.read(t.ra, chunk)
        else:
            l0.mem.write(t.ra, data[pos : pos + chunk])
        pos += chunk
    return bytes(out)


def copy_tofrom_guest_nested(
    vm: L1Vm, l1_lpid: int, pid: int, eaddr: int, gp_to: int, gp_from: int, n: int
) -> int:
    """H_COPY_TOFROM_GUEST: ``kvmhv_copy_tofrom_guest_nested`` (Linux 5.0; row
    ``h-copy-tofrom-guest`` of :mod:`pynest.kvm.versions`; a 4.20 L0 never gets here).

    r4 L1 lpid, r5 pid, r6 L2 EA, r7 "to" (L1 guest real, non-zero for a load), r8
    "from" (for a store), r9 byte count. H_PARAMETER if both buffers are given, if EA
    bits 0-11 are set, or if no such nested guest exists; H_NO_MEM if the bounce
    buffer cannot be allocated; H_NOT_FOUND if the L2 address does not translate (only
    pages already in the shadow tree do) or the L1 buffer is outside L1 memory.
    """
    if gp_to and gp_from:
        return H_PARAMETER
    if eaddr & (0xFFF << 52):
        return H_PARAMETER
    if n > kmalloc_max(vm.page_shift):
        return H_NO_MEM
    l1_lpid &= 0xFFFF_FFFF
    if l1_lpid >> 31:
        l1_lpid -= 1 << 32
    gp = get_nested(vm, l1_lpid, False)
    if gp is None:
        return H_PARAMETER
    rc = H_SUCCESS
    if gp_to:
        buf = copy_tofrom_guest_radix(vm.l0, gp.shadow_lpid, pid, eaddr, None, n)
        if buf is None or not vm.write_guest(gp_to, buf):
            rc = H_NOT_FOUND
    else:
        src = vm.read_guest(gp_from, n)
        if (
            src is None
            or copy_tofrom_guest_radix(vm.l0, gp.shadow_lpid, pid, eaddr, src, n) is None
        ):
            rc = H_NOT_FOUND
    nested_event(
        vm,
        "copy",
        gp,
        ea=eaddr,
        l1_gpa=gp_to or gp_from,
        size=n,
        rc=rc,
        detail="load from L2" if gp_to else "store to L2",
    )
    put_nested(gp)
    return rc
