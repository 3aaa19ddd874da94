"""SPR numbers of the registers the lessons name, against Linux 4.20 asm/reg.h.

Hand-copied from ``arch/powerpc/include/asm/reg.h`` (SPRN_*; QEMU 7.2
``target/ppc/cpu.h`` SPR_* agree). ASDR is 0x330 (816): an earlier table had 304.
"""

from pynest.mmu import constants as C

REG_H = {
    "DSISR": 0x012,
    "DAR": 0x013,
    "SRR0": 0x01A,
    "SRR1": 0x01B,
    "AMR": 0x01D,
    "PID": 0x030,
    "IAMR": 0x03D,
    "HDSISR": 0x132,
    "HDAR": 0x133,
    "HRMOR": 0x139,
    "HSRR0": 0x13A,
    "HSRR1": 0x13B,
    "LPCR": 0x13E,
    "LPIDR": 0x13F,
    "PTCR": 0x1D0,
    "ASDR": 0x330,
}


def test_every_spr_number_is_reg_h_s():
    assert C.SPR == REG_H


def test_asdr_is_816_not_304():
    assert C.SPR["ASDR"] == 816
