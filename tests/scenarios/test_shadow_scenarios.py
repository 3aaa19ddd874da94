"""scenarios.shadow: notebook 08's reflection table and nest-rmap decoding (hand-checked
against __kvmhv_nested_page_fault and kvmhv_insert_nest_rmap of 4.20 and 5.0)."""

from pynest.mmu import constants as C
from pynest.scenarios.shadow import (
    REFLECTION_CASES,
    reflection_table,
    rmap_text,
    shadow_world,
    touch,
)


def test_reflection_table_rows():
    rows = reflection_table().splitlines()
    assert len(rows) == 1 + len(REFLECTION_CASES)
    got = {(r[:26].strip(), r[27:32].strip()): r[34:].split("  ")[0].strip() for r in rows[1:]}
    # 4.20 (nested-rc row: R/C set by L0 itself) fixes R/C faults alone; 5.0 reflects them
    assert got[("no entry in the L1's tree", "store")] == "reflected: NOHPTE | ISSTORE"
    assert got[("L1 maps it read-only", "store")] == "reflected: PROTFAULT | ISSTORE"
    assert rows[4].endswith("reflected: SET_RC")  # R=0, C=0 load under 5.0
    assert rows[5].endswith("reflected: ISSTORE | SET_RC")  # R=1, C=0 store under 5.0
    assert rows[6].endswith("L0 alone")


def test_rmap_text_files_a_large_page_under_its_first_frame_from_5_0():
    out = {}
    for kernel in ("4.20", "5.0"):
        w = shadow_world(C.PAGE_64K, C.PAGE_2M, l0_kernel=kernel)
        touch(w, 0x812340, "store")
        touch(w, 0x9A0000, "load")
        out[kernel] = rmap_text(w, 0x800000)
    # 4.20: each entry under the faulting frame, single-entry bit set
    assert out["4.20"].count("rmap[") == 2 and "single-entry bit 1" in out["4.20"]
    assert "L2 real 0x810000" in out["4.20"] and "L2 real 0x9a0000" in out["4.20"]
    # 5.0: both under one frame (gfn aligned to the 2M page), a list of two entries
    assert out["5.0"].count("rmap[") == 1 and out["5.0"].count("single-entry bit 0") == 2


def test_shadow_world_is_a_one_l2_world_with_its_sizes():
    for l1_page in (C.PAGE_64K, C.PAGE_2M):
        for backing in (C.PAGE_64K, C.PAGE_2M, C.PAGE_1G):
            w = shadow_world(l1_page, backing)
            assert (w.l1_page, w.backing) == (l1_page, backing)
            assert w.l2s == [w.l2] and w.gp is None  # no H_ENTER_NESTED yet
            touch(w, 0x812340)
            assert w.gp is not None and w.gp.l1_lpid == w.l2.l1_lpid
