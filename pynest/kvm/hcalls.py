"""Hcall numbers, H_* return codes and L0's dispatcher for the nested hcalls.

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
from .versions import has

if TYPE_CHECKING:
    from .host import L1Vm

# ----------------------------------------------------------------- return codes
H_SUCCESS = 0
H_BUSY = 1
H_CLOSED = 2
H_NOT_AVAILABLE = 3
H_CONSTRAINED = 4
H_PARTIAL = 5
H_TOO_HARD = 9999  # internal to KVM, never returned to a guest
H_HARDWARE = -1
H_FUNCTION = -2
H_PRIVILEGE = -3
H_PARAMETER = -4
H_BAD_MODE = -5
H_PTEG_FULL = -6
H_NOT_FOUND = -7
H_RESERVED_DABR = -8
H_NO_MEM = -9
H_AUTHORITY = -10
H_PERMISSION = -11
H_P2 = -55
H_P3 = -56
H_P4 = -57
H_P5 = -58
H_P6 = -59
H_P7 = -60
H_P8 = -61
H_P9 = -62
H_TOO_BIG = -64
H_OVERLAP = -68
H_INTERRUPT = -69

RETURN_CODES: dict[int, str] = {
    value: name
    for name, value in dict(globals()).items()
    if name.startswith("H_") and isinstance(value, int)
}

# ----------------------------------------------------------------- opcodes
H_CEDE = 0xE0
H_CONFER = 0xE4
H_PROD = 0xE8
H_RTAS = 0xF000
H_RPT_INVALIDATE = 0x448  # define in 5.11, KVM L0 handler by 5.14; not modelled
# Platform-specific hcalls used for nested HV KVM
H_SET_PARTITION_TABLE = 0xF800
H_ENTER_NESTED = 0xF804
H_TLB_INVALIDATE = 0xF808
H_COPY_TOFROM_GUEST = 0xF80C  # Linux 5.0 (versions row "h-copy-tofrom-guest")

NESTED_HCALLS = (H_SET_PARTITION_TABLE, H_ENTER_NESTED, H_TLB_INVALIDATE, H_COPY_TOFROM_GUEST)

HCALL_NAMES: dict[int, str] = {
    H_CEDE: "H_CEDE",
    H_CONFER: "H_CONFER",
    H_PROD: "H_PROD",
    H_RTAS: "H_RTAS",
    H_RPT_INVALIDATE: "H_RPT_INVALIDATE",
    H_SET_PARTITION_TABLE: "H_SET_PARTITION_TABLE",
    H_ENTER_NESTED: "H_ENTER_NESTED",
    H_TLB_INVALIDATE: "H_TLB_INVALIDATE",
    H_COPY_TOFROM_GUEST: "H_COPY_TOFROM_GUEST",
}

# Return codes are 64-bit register values: -4 arrives in r3 as 0xFFFF...FFFC.
U64 = (1 << 64) - 1


def hcall_name(nr: int) -> str:
    """``H_ENTER_NESTED`` for 0xF804; ``hcall 0x...`` for opcodes pynest does not name."""
    return HCALL_NAMES.get(nr, f"hcall {nr:#x}")


def rc_name(rc: int, trap: bool = False) -> str:
    """``H_PARAMETER`` for -4; with ``trap`` (an H_ENTER_NESTED result) values from 0x100
    up are trap numbers and print as ``trap 0xe00``."""
    if trap and rc >= 0x100 and rc != H_TOO_HARD:
        return f"trap {rc:#x}"
    return RETURN_CODES.get(rc, f"rc {rc}")


def to_signed(r3: int) -> int:
    """A 64-bit register value read as the signed return code it carries."""
    r3 &= U64
    return r3 - (1 << 64) if r3 >> 63 else r3


def _handler(nr: int) -> Callable[..., int]:
    # Imported lazily: the handlers' modules import this one for the codes.
    if nr == H_SET_PARTITION_TABLE:
        from .nested import set_partition_table

        return lambda vm, a, vcpu: set_partition_table(vm, a[0])
    if nr == H_ENTER_NESTED:
        from .l2 import enter_nested_guest

        return lambda vm, a, vcpu: enter_nested_guest(vm, a[0], a[1], vcpu)
    if nr == H_TLB_INVALIDATE:
        from .shadow import do_nested_tlbie

        return lambda vm, a, vcpu: do_nested_tlbie(vm, a[0], a[1], a[2])
    from .shadow import copy_tofrom_guest_nested

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
