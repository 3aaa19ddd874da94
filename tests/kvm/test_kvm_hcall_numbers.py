"""Hcall opcodes and return codes: the values of Linux arch/powerpc/include/asm/hvcall.h."""

from pynest.kvm import constants as H


def test_nested_opcodes_match_hvcall_h():
    # hvcall.h: "Platform-specific hcalls used for nested HV KVM"
    assert H.H_SET_PARTITION_TABLE == 0xF800
    assert H.H_ENTER_NESTED == 0xF804
    assert H.H_TLB_INVALIDATE == 0xF808
    assert H.H_COPY_TOFROM_GUEST == 0xF80C
    assert H.H_CEDE == 0xE0


def test_return_codes_match_hvcall_h():
    expected = {
        "H_SUCCESS": 0, "H_NOT_AVAILABLE": 3, "H_TOO_HARD": 9999, "H_HARDWARE": -1,
        "H_FUNCTION": -2, "H_PRIVILEGE": -3, "H_PARAMETER": -4, "H_BAD_MODE": -5,
        "H_NOT_FOUND": -7, "H_NO_MEM": -9, "H_AUTHORITY": -10, "H_P2": -55, "H_P3": -56,
        "H_P4": -57, "H_INTERRUPT": -69,
    }  # fmt: skip
    for name, value in expected.items():
        assert getattr(H, name) == value, name
        assert H.RETURN_CODES[value] == name


def test_names():
    assert H.hcall_name(0xF804) == "H_ENTER_NESTED"
    assert H.hcall_name(0x1234) == "hcall 0x1234"
    assert H.rc_name(-4) == "H_PARAMETER"
    assert H.rc_name(0xE00, trap=True) == "trap 0xe00"
    assert H.rc_name(3, trap=True) == "H_NOT_AVAILABLE"
    assert H.to_signed(0xFFFF_FFFF_FFFF_FFFC) == H.H_PARAMETER
