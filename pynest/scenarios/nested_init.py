"""What an L1's ``kvmhv_nested_init`` returns (notebook 12, review point 4).

:func:`kvmhv_nested_init_errno` is the 4.20 function's rule (book3s_hv_nested.c: an
errno), :func:`v2_nested_init_bool` what the reviewed v2 returned (a bool), and
:func:`nested_init_by_nesting` runs the model's L1 start-up against an L0 with nesting
on and off and says what each version returns.
"""

from __future__ import annotations

from ..kvm.hcalls import H_SUCCESS, rc_name
from ..kvm.host import L0
from ..kvm.l1 import L1

ENODEV = 19  # include/uapi/asm-generic/errno-base.h


ENOMEM = 12


ERRNOS = {"ENODEV": ENODEV, "ENOMEM": ENOMEM, "EIO": 5, "EINVAL": 22, "EFAULT": 14}


def kvmhv_nested_init_errno(
    on_pseries: bool, radix: bool = True, table: bool = True, rc: int = H_SUCCESS
) -> int:
    """What 4.20's ``kvmhv_nested_init()`` (book3s_hv_nested.c) returns: 0 when not on
    pseries; -ENODEV without the radix MMU; -ENOMEM when the kmalloc of the table
    fails; -ENODEV when H_SET_PARTITION_TABLE returns anything but H_SUCCESS; else 0."""
    if not on_pseries:
        return 0
    if not radix:
        return -ENODEV
    if not table:
        return -ENOMEM
    return 0 if rc == H_SUCCESS else -ENODEV


def v2_nested_init_bool(
    on_pseries: bool, radix: bool = True, table: bool = True, rc: int = H_SUCCESS
) -> bool:
    """What ``bool kvmhv_nested_init()`` of v2 (the reviewed patch) returned for the
    same case: true on bare metal and on success, false for every failure."""
    return kvmhv_nested_init_errno(on_pseries, radix, table, rc) == 0


def errno_name(value: int) -> str:
    """``-ENODEV (-19)`` for -19, ``0`` for 0."""
    names = {0: "0", -ENODEV: "-ENODEV (-19)", -ENOMEM: "-ENOMEM (-12)"}
    return names.get(value, str(value))


def nested_init_by_nesting() -> list[str]:
    """One line per L0 setting (nesting on, off): the H_SET_PARTITION_TABLE code the
    model's L0 returns to :meth:`pynest.kvm.l1.L1.nested_init`, and what 4.20's
    ``kvmhv_nested_init`` and v2's bool make of it."""
    lines = []
    for nesting in (True, False):
        rc = L1(L0().create_l1(256 << 20, nesting=nesting)).nested_init()
        lines.append(
            f"nesting {'on ' if nesting else 'off'}: H_SET_PARTITION_TABLE -> {rc_name(rc):10} "
            f"4.20 returns {errno_name(kvmhv_nested_init_errno(True, rc=rc)):14} "
            f"v2 returned {v2_nested_init_bool(True, rc=rc)}"
        )
    return lines
