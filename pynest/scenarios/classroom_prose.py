"""The classroom story's words, as data: a title and a sentence template per step.

:func:`prose` fills a step's templates (``str.format`` fields, named after what the
step measured) for :func:`pynest.scenarios.classroom.classroom_story`. Steps whose
sentence is assembled from several measured cases (the L2 runs, the PTCR change, the
flush) still build it in the driver.
"""

from __future__ import annotations

PROSE: dict[str, tuple[str, str]] = {
    "boot": (
        "L0 boots",
        "The host kernel (Linux {kernel}) sets up its partition table (PTCR {ptcr:#x}: "
        "{rows} rows of 16 bytes). Only row 0, the host itself, is in use; "
        "LPID {rsvd:#x} is reserved for partition switching.",
    ),
    "create-l1": (
        "L0 creates the L1 VM",
        "KVM on L0 creates a guest with nesting allowed: LPID {lpid}, 256 MiB of host "
        "memory at {mem_base:#x}, and real PATE[{lpid}] pointing at the partition-"
        "scoped tree that maps the L1's memory. The L1 has no table of its own yet "
        "(l1_ptcr = 0).",
    ),
    "nested-init": (
        "L1.nested_init: H_SET_PARTITION_TABLE",
        "KVM loads inside the L1: kvmhv_nested_init allocates a {kib} KiB "
        "table ({rows} rows) in L1 memory and registers it with "
        "H_SET_PARTITION_TABLE({ptcr:#x}). L0 checks PRTS and that the base is L1 "
        "memory, stores l1_ptcr and returns {rc}.",
    ),
    "invalidate": (
        "The L1 unmaps it: H_TLB_INVALIDATE",
        "The L1 removes L2 real {gpa:#x} from its tree and, as it may not tlbie a "
        "guest's translations itself, asks L0: H_TLB_INVALIDATE(RIC=0 PRS=0 R=1, RS = "
        "lpid {lpid}, RB = {rb:#x}: IS=0, AP={ap}). L0 finds the "
        "shadow PTE behind that page and removes it ({before} -> {after} shadow PTEs): "
        "{rc}. The next touch will fault again.",
    ),
    "nested-exit": (
        "L1.nested_exit: H_SET_PARTITION_TABLE(0)",
        "KVM unloads in the L1: kvmhv_nested_exit deregisters with "
        "H_SET_PARTITION_TABLE(0) -> {rc}. l1_ptcr = 0, so H_ENTER_NESTED would "
        "now return H_NOT_AVAILABLE. {left} nested guest{s} still "
        "held by L0: 4.20 frees them only when the L1 VM goes.",
    ),
    "release-all": (
        "L0 destroys the L1: release all",
        "The L1 VM shuts down; KVM on L0 (kvmppc_core_destroy_vm_hv) calls "
        "kvmhv_release_all_nested, which empties the nested table "
        "({freed} nested guest{s} freed with their shadow trees "
        "and shadow LPIDs) and frees every memslot's nest rmap; "
        "then real PATE[{lpid}] is zeroed and LPID {lpid} returns to the allocator. "
        "Only the host's row is left, as at step 1.",
    ),
}
"""Step key -> (title, sentence template)."""


def prose(key: str, **fields: object) -> tuple[str, str]:
    """(title, sentence) of step ``key`` with ``fields`` filled in; a count ``n`` given
    as ``plural_of`` also sets ``s`` to "s" unless it is 1."""
    title, sentence = PROSE[key]
    if "plural_of" in fields:
        fields["s"] = "" if fields.pop("plural_of") == 1 else "s"
    return title, sentence.format(**fields)
