"""The hand-checked memory image of radix-mmu.md section 7 (shared by several tests)."""

from pynest.memory import PhysicalMemory

# address -> doubleword, exactly the table of section 7
IMAGE = {
    0x100000: 0xC0000000001100AD,  # PATE[0].dw0: HR | RTS52 | RPDB 0x110000 | RPDS 13
    0x100008: 0x0000000000200000,  # PATE[0].dw1: PRTB 0x200000 | PRTS 0
    0x110000: 0x8000000000120009,  # LPID 0 partition root[0] -> 0x120000, NLS 9
    0x120000: 0xC000000000000187,  # 1 GiB identity leaf, R|C, RWX
    0x200050: 0x40000000002100AD,  # PRTE[5]: RTS52 | RPDB 0x210000 | 13
    0x210000: 0x8000000000220009,
    0x220000: 0x8000000000221009,
    0x221400: 0x8000000000222009,  # level 2 [0x80]
    0x221408: 0xC000000004000104,  # level 2 [0x81]: 2 MiB leaf RPN 0x4000000, R, read-only
    0x222000: 0xC000000003000186,  # level 3 [0]: 4 KiB leaf RPN 0x3000000, R|C, R|RW
    0x100070: 0xC0000000001300AD,  # PATE[7].dw0
    0x100078: 0x0000000000010000,  # PATE[7].dw1: PRTB gRA 0x10000
    0x130000: 0x8000000000140009,
    0x140000: 0x8000000000141009,
    0x141000: 0xC000000000800187,  # gRA 0x000000 -> hRA 0x800000, 2 MiB, RWX
    0x141008: 0xC000000000A00187,  # gRA 0x200000 -> hRA 0xA00000, 2 MiB, RWX
    0x810030: 0x40000000000200AD,  # (gRA 0x10030) PRTE[3]
    0x820000: 0x8000000000030009,
    0x830000: 0x8000000000031009,
    0x831488: 0x8000000000032009,
    0x832A28: 0xC000000000201186,  # 4 KiB leaf gRA 0x201000, R|C, R|RW
}

PTCR = 0x0000000000100000


def image_memory() -> PhysicalMemory:
    mem = PhysicalMemory(64 << 20)
    for addr, value in IMAGE.items():
        mem.write_u64(addr, value)
    return mem
