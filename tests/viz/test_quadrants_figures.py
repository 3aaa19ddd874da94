"""The quadrant figures: the table rows, the path stages, what the figure says.

Expected values are hand-checked against the quadrant world (pynest.exercises.quadrants):
PATE[7] sits at 0x100000 + 16 * 7 = 0x100070; guest 7's process table is at guest real
0x10000, host real 0x4000000 + 0x10000; its kernel maps EA 0x10000000 to guest real
0xa00000, which guest 7's partition tree maps to host real 0x4a00000.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from pynest.mmu import MSR_GUEST_KERNEL, CpuState, translate
from pynest.scenarios.quadrants import DATA_EA, quadrant_world
from pynest.viz.quadrants import (
    draw_quadrant_rules,
    draw_quadrants,
    mode_text,
    quadrant_picture,
    quadrant_rows,
)
from pynest.viz.style import figure_text


@pytest.fixture(scope="module")
def world():
    return quadrant_world()


def _pic(world, ctx, ea, access="load", **changes):
    cpu = world.contexts[ctx].replace(**changes) if changes else world.contexts[ctx]
    t = translate(world.mem, cpu, ea, access, update_rc=False)
    return quadrant_picture(cpu, t), t


def _states(pic):
    return {s.key: s.state for s in pic.stages}


def test_hypervisor_rows_follow_the_isa_table():
    rows = quadrant_rows(CpuState(lpidr=7, pidr=5))
    assert [(r.lpid, r.pid) for r in rows] == [
        ("0", "PIDR = 5"),
        ("LPIDR = 7", "PIDR = 5"),
        ("LPIDR = 7", "0"),
        ("0", "0"),
    ]
    assert not any(r.closed for r in rows)
    assert rows[3].reaches == "host kernel"


def test_guest_rows_close_quadrants_1_and_2():
    rows = quadrant_rows(CpuState(lpidr=7, pidr=3, msr=MSR_GUEST_KERNEL))
    assert [r.closed for r in rows] == [False, True, True, False]
    assert (rows[0].lpid, rows[0].pid) == ("LPIDR = 7", "PIDR = 3")
    assert (rows[3].lpid, rows[3].pid) == ("LPIDR = 7", "0")
    assert "segment interrupt" in rows[1].reaches


def test_mode_text():
    assert mode_text(CpuState()) == "hypervisor"
    assert mode_text(CpuState(msr=MSR_GUEST_KERNEL)) == "guest kernel"
    assert mode_text(CpuState(msr=MSR_GUEST_KERNEL | (1 << 14))) == "guest user"


def test_host_process_uses_no_partition_stage(world):
    pic, t = _pic(world, "hv", DATA_EA + 0xABC)
    assert t.ra == 0x3100ABC and (t.lpid, t.pid) == (0, 5)
    assert _states(pic) == {
        "pate": "read",
        "prte": "read",
        "process": "read",
        "partition": "unused",
        "result": "read",
    }
    assert pic.selected == 0 and pic.ok
    assert "@ 0x100000" in pic.stages[0].lines  # PATE[0]


def test_guest_kernel_from_the_hypervisor_is_a_2d_walk(world):
    pic, t = _pic(world, "hv", (2 << 62) | DATA_EA | 0xABC)
    assert (t.lpid, t.pid, t.ra) == (7, 0, 0x4A00ABC)
    pate, prte, proc, part, result = pic.stages
    assert pate.title == "PATE[7]" and "@ 0x100070" in pate.lines
    assert prte.title == "PRTE[0]" and prte.lines[0] == "@ 0x10000 → 0x4010000"
    assert "2-D" in proc.lines[0] and "gRA 0xa00abc" in proc.lines
    assert part.state == "read" and "→ hRA 0x4a00abc" in part.lines
    assert "RA 0x4a00abc" in result.lines


def test_missing_process_marks_the_prte(world):
    pic, t = _pic(world, "hv", (1 << 62) | DATA_EA)  # LPID 7 has no PID 5
    assert t.fault.interrupt == "DSI" and t.fault.cause == 0x00080000
    states = _states(pic)
    assert states["prte"] == "fault" and states["process"] == "not reached"
    assert "no process 5 here" in pic.stages[1].lines


def test_segment_fault_reaches_no_table(world):
    pic, t = _pic(world, "guest", (1 << 62) | DATA_EA)
    assert t.fault.interrupt == "DSEG"
    assert _states(pic)["pate"] == "not reached" and not pic.segment_bad
    pic, t = _pic(world, "hv", (1 << 52) | DATA_EA)
    assert t.fault.interrupt == "DSEG" and pic.segment_bad


def test_privileged_page_faults_in_the_process_tree(world):
    pic, t = _pic(world, "user", (3 << 62) | DATA_EA)
    assert t.fault.cause == 0x08000000
    assert _states(pic)["process"] == "fault" and _states(pic)["partition"] == "not reached"
    assert pic.stages[-1].title == "DSI"


def test_figure_says_what_the_picture_says(world):
    pic, _t = _pic(world, "hv", (2 << 62) | DATA_EA | 0xABC)
    fig = draw_quadrants(pic)
    assert isinstance(fig, Figure)
    text = figure_text(fig)
    for words in ("PATE[7]", "PRTE[0]", "guest 7's kernel", "2 (0b10)", "ISA bits 2:11"):
        assert words in text
    # redrawing into the same figure replaces, never stacks
    n = len(fig.texts)
    again = draw_quadrants(pic, fig=fig)
    assert again is fig and len(fig.texts) == n and len(fig.axes) == 1


def test_rules_figure_has_both_modes():
    text = figure_text(draw_quadrant_rules(7, 3))
    assert "MSR[HV] = 1" in text and "MSR[HV] = 0" in text
    assert text.count("closed to a guest") == 2


@settings(max_examples=60, deadline=None)
@given(
    q=st.integers(0, 3),
    mode=st.sampled_from(["hv", "guest", "user"]),
    pidr=st.sampled_from([0, 3, 5, 77]),
    offset=st.integers(0, (1 << 62) - 1),
)
def test_picture_agrees_with_the_translation(world, q, mode, pidr, offset):
    ea = (q << 62) | offset
    pic, t = _pic(world, mode, ea, pidr=pidr)
    assert pic.selected == q == t.quadrant
    assert pic.ok == (t.fault is None)
    assert [s.key for s in pic.stages] == ["pate", "prte", "process", "partition", "result"]
    faults = [s for s in pic.stages if s.state == "fault"]
    assert (len(faults) >= 1) == (t.fault is not None)
    assert pic.stages[-1].state == ("read" if t.fault is None else "fault")


# ----------------------------------------------------------------------- the suite map (00)
def test_suite_map_lists_the_notebooks_in_order():
    from pathlib import Path

    from pynest.viz.suite_map import NOTEBOOKS, draw_nesting_layers, draw_suite_map

    numbers = [n.number for n in NOTEBOOKS]
    assert numbers == [f"{i:02d}" for i in range(1, 13)]
    assert all(n.stem.startswith(n.number + "_") for n in NOTEBOOKS)
    existing = {p.stem for p in (Path(__file__).parents[2] / "notebooks").glob("[01]*.ipynb")}
    assert {"01_radix_page_tables", "02_ptcr_and_partition_table"} <= existing
    text = figure_text(draw_suite_map("03"))
    assert all(n.title in text for n in NOTEBOOKS)
    layers = figure_text(draw_nesting_layers("05"))
    for words in ("L0", "L1", "L2", "H_SET_PARTITION_TABLE", "H_ENTER_NESTED", "l1_ptcr"):
        assert words in layers
    # L0 is the merged series; the copy hcall is the next release's (versions table)
    assert "Linux 4.20" in layers and "5.2" not in layers
    assert "Linux 5.0: read/write an L2's memory" in layers
