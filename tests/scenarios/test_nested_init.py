"""scenarios.nested_init: the 4.20 errno rule and the nesting on/off start-up driver."""

from pynest.kvm.hcalls import H_FUNCTION, H_PARAMETER, H_SUCCESS
from pynest.scenarios.nested_init import (
    ENODEV,
    ENOMEM,
    kvmhv_nested_init_errno,
    nested_init_by_nesting,
    v2_nested_init_bool,
)


def test_errno_rule_of_4_20_kvmhv_nested_init():
    assert kvmhv_nested_init_errno(False) == 0  # bare metal: nothing to do
    assert kvmhv_nested_init_errno(True, radix=False) == -ENODEV
    assert kvmhv_nested_init_errno(True, table=False) == -ENOMEM
    assert kvmhv_nested_init_errno(True, rc=H_FUNCTION) == -ENODEV
    assert kvmhv_nested_init_errno(True, rc=H_PARAMETER) == -ENODEV
    assert kvmhv_nested_init_errno(True, rc=H_SUCCESS) == 0
    assert v2_nested_init_bool(True, rc=H_FUNCTION) is False
    assert v2_nested_init_bool(False) is True


def test_nesting_off_l0_gives_h_function_and_enodev():
    on, off = nested_init_by_nesting()
    assert on.startswith("nesting on : H_SET_PARTITION_TABLE -> H_SUCCESS")
    assert "4.20 returns 0 " in on and on.endswith("v2 returned True")
    assert off.startswith("nesting off: H_SET_PARTITION_TABLE -> H_FUNCTION")
    assert "-ENODEV (-19)" in off and off.endswith("v2 returned False")
