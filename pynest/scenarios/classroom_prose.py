"""The classroom story's words, as data: a title and a sentence template per step.

:func:`prose` fills a step's templates (``str.format`` fields, named after what the
step measured) for :func:`pynest.scenarios.classroom.classroom_story`. Where a step's
sentence depends on what happened (was the nested guest new? did L0 accept the PTCR?),
the driver picks a :data:`FRAGMENTS` entry with :func:`fragment` and passes the filled
text to the step's template as a field. No sentence of the story is written in the
driver.
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
    "create-l2s": (
        "The L1 creates two L2s",
        "The L1 gives its guests lpids {a} and {b} and writes rows "
        "{a} and {b} of its own table (dw0: its tree L2 real -> L1 real; dw1: "
        "the L2's process table). kvmhv_set_ptbl_entry stores each row big-endian in L1 "
        "memory and then calls kvmhv_flush_lpid: H_TLB_INVALIDATE RIC=2 PRS=0 R=1, RS = "
        "the lpid, RB = IS=2 (every released kernel follows the entry write with it; "
        "versions row {row!r}, Linux {since}). L0 has no nested guest for "
        "either lpid, so there is nothing to drop ({flushes} flushes, each "
        "{outcome}): L0 still knows nothing of the L2s.",
    ),
    "run-l2": (
        "L2 {l2} starts: H_ENTER_NESTED",
        "The L1 runs L2 {l2} with H_ENTER_NESTED ({enters} calls: {traps}). {first}"
        "Every miss in the shadow tree is an HDSI/HISI that L0 takes ({faults} here): "
        "{reflected} went back to the L1, which had not mapped the page yet; for the "
        "other {fixed} L0 inserted a shadow PTE itself. The L2 {stopped}.",
    ),
    "fault": (
        "L2 {l2} faults: nested page fault -> shadow PTE",
        "L2 {l2} stores to EA {ea:#x}, L2 real {gpa:#x}. The shadow tree of "
        "shadow LPID {shadow_lpid} has no entry: HDSI to L0. L0 walks the L1's tree, "
        "finds no mapping either and reflects the fault (H_ENTER_NESTED returns 0xe00). "
        "The L1 maps the page and re-enters; the next fault L0 fixes alone with a shadow "
        "PTE {gpa:#x} -> host {hpa:#x}. ({faults} faults taken by L0, {reflected} "
        "reflected, {inserted} shadow PTE inserted.)",
    ),
    "invalidate": (
        "The L1 unmaps it: H_TLB_INVALIDATE",
        "The L1 removes L2 real {gpa:#x} from its tree and, as it may not tlbie a "
        "guest's translations itself, asks L0: H_TLB_INVALIDATE(RIC=0 PRS=0 R=1, RS = "
        "lpid {lpid}, RB = {rb:#x}: IS=0, AP={ap}). L0 finds the "
        "shadow PTE behind that page and removes it ({before} -> {after} shadow PTEs): "
        "{rc}. The next touch will fault again.",
    ),
    "set-ptcr": (
        "The L1 changes its PTCR",
        "The L1 calls H_SET_PARTITION_TABLE({ptcr:#x}){copy}{how}",
    ),
    "flush-all": (
        "The L1 flushes all: H_TLB_INVALIDATE RIC=2",
        "The L1 invalidates every guest, caches and all (RIC=2, IS=3). For each nested "
        "guest L0 (kvmhv_flush_nested) frees the shadow tree, flushes the shadow LPID "
        "and re-reads the L2's row through l1_ptcr {l1_ptcr:#x}: it {what}. {rc}.{caveat}",
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

FRAGMENTS: dict[str, str] = {
    "run-l2/new-guest": "On the first, L0 has no nested guest for L1 lpid {l2}: it creates "
    "one with shadow LPID {shadow_lpid} and writes real PATE[{shadow_lpid}] (an empty "
    "shadow tree + the L2's process table). ",
    "run-l2/known-guest": "L0 already has its nested guest (shadow LPID {shadow_lpid}). ",
    "flushes/ok": "H_SUCCESS",
    "flushes/failed": "failed",
    "set-ptcr/copy": " (a copy of its table, at a new address). ",
    "set-ptcr/other": ". ",
    "set-ptcr/accepted": "L0 stores l1_ptcr = {ptcr:#x} and returns H_SUCCESS -- and does "
    "nothing else: the nested guests keep their shadow LPIDs, cached entries and shadow "
    "PTEs. L0 looks at the new table only on a RIC=2 flush or for a new guest.",
    "set-ptcr/refused": "L0 refuses it with {rc}: {why}. l1_ptcr stays {old:#x}.",
    "set-ptcr/why-prts": "PRTS {prts} > 4 (more than 4096 rows)",
    "set-ptcr/why-base": "the base {base:#x} is not L1 memory",
    "flush-all/removed": "removed L2 {lpids} (no row there: shadow LPID freed, real PATE zeroed)",
    "flush-all/kept": "kept L2 {lpids} (row found: the shadow tree is dropped and refills "
    "on the next faults)",
    "flush-all/none": "had no nested guest to look at",
    "flush-all/caveat": " Mind the caveat: kvmhv_emulate_tlbie_all_lpid takes each guest "
    "without a reference, so for a guest it removes here the closing mutex_unlock touches "
    "freed memory ({n} use-after-free event{s} in the log). That is the model's reading "
    "of the 4.20 source, not a hardware run.",
}
"""Fragment key -> the words for one case of a step (a template like PROSE's)."""


def prose(key: str, **fields: object) -> tuple[str, str]:
    """(title, sentence) of step ``key`` with ``fields`` filled in; a count ``n`` given
    as ``plural_of`` also sets ``s`` to "s" unless it is 1."""
    title, sentence = PROSE[key]
    _plural(fields)
    return title.format(**fields), sentence.format(**fields)


def fragment(key: str, **fields: object) -> str:
    """The words of :data:`FRAGMENTS` entry ``key`` with ``fields`` filled in
    (``plural_of`` as for :func:`prose`)."""
    _plural(fields)
    return FRAGMENTS[key].format(**fields)


def _plural(fields: dict[str, object]) -> None:
    if "plural_of" in fields:
        fields["s"] = "" if fields.pop("plural_of") == 1 else "s"
