"""The numbers the "Try:" discussions state are the model's (issue 15 item 10).

Each discussion was written by running its steps; this test runs them again and checks
that the discussion still says what the explorer shows, so a change to the model or an
explorer that changes a learner's result points at the discussion to update.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pynest.kvm.races import explore
from pynest.mmu import constants as C

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def discussion(stem: str, index: int = 0) -> str:
    """The text of the ``index``-th Discussion block of notebook ``stem``, one line."""
    nb = json.loads(next(NOTEBOOKS.glob(f"{stem}_*.ipynb")).read_text(encoding="utf-8"))
    blocks = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "<summary>Discussion</summary>" in text:
            blocks.append(text.split("<summary>Discussion</summary>", 1)[1])
    return " ".join(blocks[index].split())


def says(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, f"the discussion no longer says {missing}"


def _status(explorer) -> str:
    return re.sub(r"<[^>]+>", "", explorer.status.value)


def test_01_walks():
    from pynest.widgets import WalkExplorer

    e = WalkExplorer()
    e.slide.value += 1
    right = e.translation
    e.slide.value = 0x200
    page = e.translation
    e.example.value = 7  # the guest example
    guest = e.translation
    assert right.fault.interrupt == "DSI" and right.fault.level == 3
    assert page.ok and page.ra == 0x4000ABC and guest.ok
    says(
        discussion("01"),
        f"a DSI at level 3 (NOPTE) after {right.memory_reads} reads",
        f"{page.memory_reads} reads, real address `{page.ra:#x}`",
        f"{guest.memory_reads} reads",
    )


def test_02_pats_alignment():
    from pynest.scenarios import radix_reference
    from pynest.widgets import PtcrExplorer

    e = PtcrExplorer(radix_reference())
    good = []
    for pats in range(12):
        e.pats.value = pats
        if e.translation.fault is None:
            good.append(pats)
    assert good == list(range(max(good) + 1))
    says(discussion("02"), f"up to PATS {max(good)}", f"at PATS {max(good) + 1}")


def test_04_read_counts():
    from pynest.widgets.walk2d_explorer import Walk2DExplorer

    def reads(**kw):
        e = Walk2DExplorer(seed=0, **kw)
        return e.translation.memory_reads

    full, part_1g = reads(), reads(part_page=C.PAGE_1G)
    proc_1g = reads(proc_page=C.PAGE_1G)
    e = Walk2DExplorer(seed=0)
    e.example.value = e.example.options[2][1]  # the unmapped neighbour
    hole = e.translation
    assert not hole.ok
    says(
        discussion("04"),
        f"{part_1g} reads instead of {full}",
        f"= {proc_1g} reads",
        f"after {hole.memory_reads} reads",
    )


def test_06_races():
    text = discussion("06", 1)
    create = explore("create", lock=True, recheck=False, check_gp=True)
    unlocked = explore("create", lock=False, recheck=True, check_gp=True)
    remove = explore("remove", lock=True, recheck=True, check_gp=False)
    tlbie = explore("tlbie-all", lock=True, recheck=True, check_gp=True, partner="flush")
    ok_create = [i for i in create.interleavings if i.ok]
    assert all(i.schedule_text.startswith(("0 0 0", "1 1 1")) for i in ok_create)
    only_refcnt = remove.interleavings[11]
    assert only_refcnt.verdict() == "broken: negative-refcnt"
    waits = tlbie.interleavings[33].trace()
    assert "vcpu 1: kvmhv_emulate_tlbie_lpid: mutex_lock" in waits
    assert "use-after-free at step 13" in waits
    says(
        text,
        f"{len(create.bad)} of {create.count} interleavings break",
        f"The {len(ok_create)} correct ones",
        f"{len(unlocked.bad):,} of {unlocked.count:,} break",
        f"(the first such order is #{unlocked.bad[0].number})",
        f"{len(remove.bad)} of {remove.count} break",
        f"{len(tlbie.bad)} of {tlbie.count} orders end in a use-after-free",
    )
    says(discussion("12"), f"{len(remove.bad)} of the {remove.count} orders")


def test_07_returns():
    from pynest.widgets.timeline_explorer import EnterNestedTimelineExplorer

    e = EnterNestedTimelineExplorer()
    plain = e.run.returns_text
    e.warm.value = True
    warm = e.run.returns_text
    e = EnterNestedTimelineExplorer()
    e.program.value = "spin past the HDEC deadline"
    spin = e.run.returns_text
    e.slice_text.value = "2000"
    spin_2000 = e.run.returns_text
    e = EnterNestedTimelineExplorer()
    e.program.value = "load from a page the L2 never mapped"
    unmapped = e.run.returns_text
    assert "0xe00" not in unmapped
    says(
        discussion("07"),
        f"(`{plain}`)",
        f"returning `{warm}`",
        f"`{spin}`",
        f"`{spin_2000}`",
        f"`{unmapped}`, no `0xe00`",
    )


def test_08_shadow_sizes():
    from pynest.widgets.shadow_explorer import ShadowTreesExplorer

    def sizes(l1_page, backing):
        e = ShadowTreesExplorer(seed=0, l1_page=l1_page, backing=backing)
        e.step.value = 4
        return {
            size
            for line in e.text.split("shadow tree")[1].splitlines()
            for size in ("64K", "2M")
            if f" {size} " in line
        }

    assert sizes("2M", "1G") == {"64K"}  # 4.20: PMD_SHIFT < l1_shift is false for 2M
    assert sizes("2M", "2M") == {"2M"}
    e = ShadowTreesExplorer(seed=0, backing="1G")
    e.step.value = 7
    assert "shadow tree (LPID 2) (L2 real -> host real: what the MMU walks): 0 entries" in e.text
    says(discussion("08"), "the shadow PTEs are 64K", "the shadow PTEs are 2M", "removes all six")


@pytest.mark.parametrize(("lpid", "removed"), [(1, (4, 7)), (2, (4, 7)), (3, (0, 0))])
def test_09_lpid_scopes(lpid, removed):
    from pynest.widgets.tlbie_explorer import TlbieExplorer

    e = TlbieExplorer(seed=0)
    e.lpid.value = lpid
    out = e.outcome
    assert (len(out.removed_tlb), len(out.removed_shadow)) == removed and out.rc == 0
    says(discussion("09"), "4 TLB entries and 7 shadow PTEs each time", "removes nothing")
