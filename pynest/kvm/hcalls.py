"""L0's dispatcher for the nested hcalls (book3s_hv.c ``kvmppc_pseries_do_hcall``).

The hcall numbers and H_* codes live in :mod:`pynest.kvm.constants`; this module's
``__all__`` offers them too, as the vocabulary a notebook or a test of the hcalls reads
(``from pynest.kvm.hcalls import H_CEDE, do_hcall``).

Values are those of Linux ``arch/powerpc/include/asm/hvcall.h`` (checked against the
header: the four nested opcodes 0xF800..0xF80C and every return code below). An hcall
is ``sc 1`` with the opcode in r3 and arguments in r4..r12; the return code comes back
in r3. Return codes are negative for errors, 0 for success; H_ENTER_NESTED returns a
positive *trap number* instead (the interrupt vector that ended the L2's run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConfigError, check_int
from .constants import (
    H_AUTHORITY,
    H_BAD_MODE,
    H_CEDE,
    H_CONFER,
    H_COPY_TOFROM_GUEST,
    H_ENTER_NESTED,
    H_FUNCTION,
    H_INTERRUPT,
    H_NO_MEM,
    H_NOT_AVAILABLE,
    H_NOT_FOUND,
    H_P2,
    H_PARAMETER,
    H_PROD,
    H_RPT_INVALIDATE,
    H_RTAS,
    H_SET_PARTITION_TABLE,
    H_SUCCESS,
    H_TLB_INVALIDATE,
    H_TOO_HARD,
    NESTED_HCALLS,
    RETURN_CODES,
    U64,
    hcall_name,
    rc_name,
    to_signed,
)
from .guest_copy import copy_tofrom_guest_nested
from .l2 import enter_nested_guest
from .nested import set_partition_table
from .tlbie import do_nested_tlbie
from .versions import has

if TYPE_CHECKING:
    from .host import L1Vm


__all__ = [
    "H_AUTHORITY",
    "H_BAD_MODE",
    "H_CEDE",
    "H_CONFER",
    "H_COPY_TOFROM_GUEST",
    "H_ENTER_NESTED",
    "H_FUNCTION",
    "H_INTERRUPT",
    "H_NOT_AVAILABLE",
    "H_NOT_FOUND",
    "H_NO_MEM",
    "H_P2",
    "H_PARAMETER",
    "H_PROD",
    "H_RPT_INVALIDATE",
    "H_RTAS",
    "H_SET_PARTITION_TABLE",
    "H_SUCCESS",
    "H_TLB_INVALIDATE",
    "H_TOO_HARD",
    "NESTED_HCALLS",
    "RETURN_CODES",
    "U64",
    "hcall_name",
    "rc_name",
    "to_signed",
    "do_hcall",
    "kvm_handles",
]


def _handler(nr: int) -> Callable[..., int]:
    """The ``kvmppc_pseries_do_hcall`` case for nested hcall ``nr`` (book3s_hv.c)."""
    if nr == H_SET_PARTITION_TABLE:
        return lambda vm, a, vcpu: set_partition_table(vm, a[0])
    if nr == H_ENTER_NESTED:
        return lambda vm, a, vcpu: enter_nested_guest(vm, a[0], a[1], vcpu)
    if nr == H_TLB_INVALIDATE:
        return lambda vm, a, vcpu: do_nested_tlbie(vm, a[0], a[1], a[2])
    return lambda vm, a, vcpu: copy_tofrom_guest_nested(vm, a[0], a[1], a[2], a[3], a[4], a[5])


def kvm_handles(kernel: str, nr: int) -> bool:
    """Whether ``kvmppc_pseries_do_hcall`` of Linux ``kernel`` has a case for ``nr``
    among the hcalls pynest models: the three of the 4.20 series, and
    H_COPY_TOFROM_GUEST from 5.0 (4.20's hvcall.h stops at 0xF808)."""
    if nr == H_COPY_TOFROM_GUEST:
        return has(kernel, "h-copy-tofrom-guest")
    return nr in NESTED_HCALLS


def do_hcall(vm: L1Vm, nr: int, *args: int, vcpu: int = 0) -> int:
    """An ``sc 1`` from the L1 ``vm``: returns the signed value L0 leaves in r3.

    Models the nested-hcall part of ``kvmppc_pseries_do_hcall`` (``book3s_hv.c``) of
    L0's kernel (``vm.l0.kernel``): for a nested hcall r3 starts as H_FUNCTION and the
    handler runs only when nesting is enabled for the VM (KVM_CAP_PPC_NESTED_HV). For
    H_ENTER_NESTED, H_INTERRUPT (a signal is pending in L0) and H_TOO_HARD (MMIO for
    userspace) both leave r3 = 0, which the L1 reads as "no trap, re-enter".

    An opcode that kernel has no case for (any hcall pynest does not model, and
    H_COPY_TOFROM_GUEST under 4.20) takes the ``default:`` branch: RESUME_HOST, an exit
    to userspace, where QEMU answers H_FUNCTION ("userspace" event). The L1 sees
    H_FUNCTION either way; who answers differs. (Real KVM handles many more hcalls in
    the kernel, H_CEDE among them; pynest models only the nested ones.)

    Arguments are the register values r4, r5, ...; missing ones are 0. ``vcpu`` is the
    index of the L1 vcpu making the call.
    """
    check_int("hcall number", nr, bits=64)
    check_int("vcpu", vcpu)
    if vcpu >= len(vm.vcpus):
        raise ConfigError(f"vcpu must be in 0..{len(vm.vcpus) - 1} (the VM's vcpus), got {vcpu}")
    for i, a in enumerate(args):
        check_int(f"r{4 + i}", a, bits=64)
    if len(args) > 9:
        raise ConfigError(f"an hcall has at most 9 arguments (r4..r12), got {len(args)}")
    regs = tuple(args) + (0,) * (9 - len(args))
    name = hcall_name(nr)
    log = vm.l0.events
    log.append(
        "hcall",
        "L1",
        lpid=vm.lpid,
        hcall=name,
        hcall_nr=nr,
        detail=" ".join(f"r{4 + i}={a:#x}" for i, a in enumerate(args)),
    )
    ret = H_FUNCTION
    if not kvm_handles(vm.l0.kernel, nr):
        log.append(
            "userspace",
            "L0",
            lpid=vm.lpid,
            hcall=name,
            hcall_nr=nr,
            detail=f"Linux {vm.l0.kernel} KVM has no case for it: QEMU answers H_FUNCTION",
        )
    elif vm.nesting_enabled:
        ret = _handler(nr)(vm, regs, vm.vcpus[vcpu])
    r3 = ret
    if nr == H_ENTER_NESTED and ret in (H_INTERRUPT, H_TOO_HARD):
        r3 = 0
    log.append(
        "hcall-return",
        "L0",
        lpid=vm.lpid,
        hcall=name,
        hcall_nr=nr,
        rc=r3,
        detail=rc_name(ret, trap=nr == H_ENTER_NESTED),
    )
    return r3
