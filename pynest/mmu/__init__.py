"""The POWER9 radix MMU (ISA v3.0B Book III; QEMU 7.2 ``target/ppc/mmu-radix64.c``).

``translate(mem, cpu, ea, access)`` is the entry point; the records it returns, the
table formats, the TLB and the tree builder are exported here too.
"""

from .batch import BatchTranslation, translate_many
from .builder import (
    Allocator,
    GuestSpace,
    HostSpace,
    Mapping,
    PartitionTable,
    ProcessTable,
    RadixTree,
)
from .constants import *  # noqa: F403  (the named ISA constants are part of the API)
from .formats import (
    Dsisr,
    PartitionTableEntry,
    PateDw0,
    PateDw1,
    Pde,
    ProcessTableEntry,
    Ptcr,
    Pte,
    TlbieInsn,
    TlbieRb,
    TlbieRs,
    decode_entry,
)
from .tlb import Tlb, TlbEntry, TlbieResult
from .walk import WalkStep
from .xlate import CpuState, Fault, RcUpdate, Translation, check_prot, quadrant_ids, translate

__all__ = [
    "BatchTranslation",
    "translate_many",
    "Allocator",
    "GuestSpace",
    "HostSpace",
    "Mapping",
    "CpuState",
    "Dsisr",
    "Fault",
    "PartitionTable",
    "PartitionTableEntry",
    "PateDw0",
    "PateDw1",
    "Pde",
    "ProcessTable",
    "ProcessTableEntry",
    "Pte",
    "Ptcr",
    "RadixTree",
    "RcUpdate",
    "Tlb",
    "TlbEntry",
    "TlbieInsn",
    "TlbieRb",
    "TlbieRs",
    "TlbieResult",
    "Translation",
    "WalkStep",
    "check_prot",
    "decode_entry",
    "quadrant_ids",
    "translate",
]

from . import constants as _constants  # noqa: E402

__all__ += [name for name in dir(_constants) if name.isupper()]
