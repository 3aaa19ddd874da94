"""The shape-rule fault's reason (issue 15 item 6): a learner reads what the MMU found,
why it stops and what to change; the typed fields (cause, stage, level) stay as they were."""

from __future__ import annotations

import pytest

from pynest.mmu import constants as C
from pynest.mmu.walk import Stage, Tree, shape_reason
from pynest.mmu.xlate import translate
from pynest.scenarios.quadrants import DATA_EA, quadrant_world


def _empty_prte_translation():
    """The hypervisor's quadrant-1 load for guest 7's PID 5, which guest 7 does not have."""
    world = quadrant_world()
    cpu = next(c for c in world.contexts.values() if c.hv).replace(lpidr=7, pidr=5)
    return translate(world.mem, cpu, (1 << 62) | DATA_EA | 0xABC, "load", update_rc=False)


def test_an_empty_prte_says_so_and_what_to_try():
    t = _empty_prte_translation()
    assert t.fault is not None
    assert t.fault.reason == (
        "empty PRTE: this PID has no process tree (its entry is all zero); try a PID that has one"
    )
    # the typed fields views read are unchanged: a DSI with R_BADCONFIG at level 0
    assert t.fault.interrupt == "DSI"
    assert t.fault.cause & C.DSISR_R_BADCONFIG
    assert (t.fault.stage, t.fault.level) == (Stage.PROCESS, 0)


def test_an_empty_pate_root_speaks_of_lpids():
    text = shape_reason(Tree.PARTITION, 0, 31, 0, 0)
    assert text.startswith("empty PATE: this LPID has no partition tree")
    assert "try an LPID" in text


def test_a_bad_root_names_the_fields_to_set():
    text = shape_reason(Tree.PROCESS, 0, 40, 9, 0x10000)
    assert text == (
        "bad PRTE root: a 40-bit tree with 2^9 root entries, but POWER9 needs 52 bits and "
        "2^13 (RTS 21, RPDS 13)"
    )


@pytest.mark.parametrize(
    ("level", "nls", "needs"), [(1, 5, "2^9 here"), (2, 13, "2^9 here"), (3, 4, "2^9 or 2^5")]
)
def test_a_bad_directory_names_the_entry_above(level, nls, needs):
    text = shape_reason(Tree.PARTITION, level, 30, nls)
    assert f"partition tree level {level}: this table has 2^{nls} entries" in text
    assert needs in text
    assert f"fix NLS in the level-{level - 1} entry" in text


def test_a_fifth_level_asks_for_a_leaf():
    assert "level-3 entry must be a leaf" in shape_reason(Tree.PROCESS, 4, 0, 0)


@pytest.mark.parametrize("tree", [Tree.PROCESS, Tree.PARTITION])
@pytest.mark.parametrize(
    ("level", "remaining", "nls"), [(0, 31, 0), (0, 45, 13), (1, 39, 8), (3, 12, 6), (4, 0, 0)]
)
def test_no_reason_is_the_old_jargon_and_each_fits_one_figure_line(tree, level, remaining, nls):
    text = shape_reason(tree, level, remaining, nls)
    assert "bits left" not in text and "tree shape" not in text
    assert len(text) <= 115  # the quadrant picture shows the reason on one line
