"""Typed walk records: steps and faults carry tree, stage and purpose as fields.

Views read ``WalkStep.tree`` / ``.purpose.kind`` / ``.purpose.number`` and
``Fault.stage`` / ``Fault.purpose``, never the reason text; the values print as the
old strings (``Purpose`` is a ``str``), so figures and notebooks show the same words.
"""

from __future__ import annotations

from test_partition_rc import DATA_GRA, EA, PID, _world

from pynest.mmu import constants as C
from pynest.mmu import translate
from pynest.mmu.walk import DATA, Purpose, PurposeKind, Stage, Tree, prte_purpose


def test_a_2d_walk_names_what_each_partition_walk_serves():
    mem, cpu, _ = _world((True, True), (True, True))
    t = translate(mem, cpu, EA)
    assert t.fault is None
    part = [s.purpose for s in t.steps if s.tree is Tree.PARTITION]
    kinds = [(p.kind, p.number) for p in dict.fromkeys(part)]  # in first-seen order
    assert kinds == [
        (PurposeKind.PRTE, PID),
        *((PurposeKind.TABLE, level) for level in range(4)),
        (PurposeKind.DATA, None),
    ]
    assert [str(p) for p in dict.fromkeys(part)] == [
        f"PRTE[{PID}]",
        "process L0 entry",
        "process L1 entry",
        "process L2 entry",
        "process L3 entry",
        "data",
    ]
    trees = {s.tree for s in t.steps}
    assert trees == set(Tree)
    assert all(isinstance(s.purpose, Purpose) for s in t.steps)


def test_a_partition_fault_carries_its_purpose_and_stage():
    mem, cpu, _ = _world((True, True), (True, True))
    # clear the data page's partition-scoped leaf: the data walk faults NOPTE
    t = translate(mem, cpu, EA)
    leaf = [s for s in t.steps if s.tree is Tree.PARTITION and s.purpose.matches(PurposeKind.DATA)]
    mem.write_u64(leaf[-1].hra, 0)
    f = translate(mem, cpu, EA).fault
    assert f is not None and f.stage is Stage.PARTITION and f.purpose is DATA
    assert f.cause == C.DSISR_NOPTE and f.asdr == DATA_GRA | (EA & 0xFFF)
    # an R/C fault on the table page names the PRTE walk
    mem, cpu, prte_gra = _world((False, False), (True, True))
    f = translate(mem, cpu, EA, partition_rc="fault").fault
    assert f.purpose == prte_purpose(PID) and f.purpose.matches(PurposeKind.PRTE, PID)
    assert f.asdr == prte_gra
