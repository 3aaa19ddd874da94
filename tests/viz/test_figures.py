"""The figures of pynest.viz: what they say, not how they look.

Every expected value below is read off the hand-checked worked examples of the radix fact
sheet (radix-mmu.md section 7, the world ``pynest.scenarios.radix_reference`` builds):
e.g. example 1 reads PATE[0] at 0x100000, PRTE[5] at 0x200050, then 0x210000, 0x220000,
0x221400 (level-2 index 0x80), 0x222000, and gives RA 0x3000abc.
"""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from pynest.mmu import MSR_HV, MSR_SF, CpuState, translate
from pynest.scenarios import radix_reference
from pynest.viz import (
    draw_ea_split,
    draw_entry,
    draw_partition_table,
    draw_pate,
    draw_ptcr,
    draw_walk,
    ea_fields,
    read_partition_table,
    walk_rows,
    walk_text,
)
from pynest.viz.pictures import render_png
from pynest.viz.style import figure_text, tint


@pytest.fixture(scope="module")
def world():
    return radix_reference()


def _t(world, ctx, ea, access="load"):
    return translate(world.mem, world.contexts[ctx], ea, access, update_rc=False)


def _states(rows):
    return {r.key: r.state for r in rows}


# ----------------------------------------------------------------------- walk rows
def test_example1_rows_follow_the_walk(world):
    rows = walk_rows(_t(world, "hv", 0x10000ABC))
    assert [r.key for r in rows] == ["pate", "prte", "L0", "L1", "L2", "L3", "result"]
    assert _states(rows) == {
        "pate": "read",
        "prte": "read",
        "L0": "read",
        "L1": "read",
        "L2": "read",
        "L3": "leaf",
        "result": "ok",
    }
    by = {r.key: r for r in rows}
    assert by["pate"].address == "0x100000" and by["pate"].raw == "0xc0000000001100ad"
    assert by["prte"].address == "0x200050"
    # the PRTE address goes through LPID 0's partition tree: root entry + 1G leaf
    assert "2 reads" in by["prte"].note
    assert (by["L2"].index, by["L2"].address) == ("0x80", "0x221400")
    assert by["L3"].raw == "0xc000000003000186" and "RPN 0x3000000" in by["L3"].meaning
    assert "RA 0x3000abc" in by["result"].meaning and "9 memory reads" in by["result"].note


def test_store_to_read_only_2m_page_faults_at_level_2(world):
    rows = walk_rows(_t(world, "hv", 0x10212345, "store"))
    states = _states(rows)
    assert states["L2"] == "fault" and states["L3"] == "unused"
    result = rows[-1]
    assert "DSI" in result.meaning and "PROTFAULT" in result.meaning and "ISSTORE" in result.meaning
    assert "DSISR=0xa000000" in result.note


def test_unmapped_neighbour_faults_at_level_3(world):
    rows = walk_rows(_t(world, "hv", 0x10001ABC))
    by = {r.key: r for r in rows}
    assert by["L3"].state == "fault" and by["L3"].address == "0x222008"
    assert "V=0" in by["L3"].meaning
    assert "NOPTE" in by["result"].meaning


def test_zero_prte_is_a_badconfig_at_level_0(world):
    # quadrant 3 -> PID 0, whose PRTE at 0x200000 is zero: 31-bit tree, 1-entry root
    rows = walk_rows(_t(world, "hv", 0xC000000010000ABC))
    assert _states(rows) == {
        "pate": "read",
        "prte": "read",
        "L0": "fault",
        "L1": "not reached",
        "L2": "not reached",
        "L3": "not reached",
        "result": "fault",
    }
    assert "R_BADCONFIG" in rows[-1].meaning


def test_segment_fault_reads_nothing(world):
    t = _t(world, "hv", 0x0010000000000000)
    rows = walk_rows(t)
    assert all(r.state == "not reached" for r in rows[:-1])
    assert rows[-1].meaning.startswith("DSEG")
    assert "bits 2:11" in rows[-1].note
    # the EA bar marks the bits 2:11 field as the culprit
    text = figure_text(draw_walk(t))
    assert "must be 0" in text and "0x1" in text


def test_guest_walk_is_two_dimensional(world):
    rows = walk_rows(_t(world, "guest", 0x12345678))
    by = {r.key: r for r in rows}
    # each guest table entry address is a guest real address translated by LPID 7's
    # 3-level (2M leaf) partition tree: 3 extra reads per level (example 4)
    for key in ("prte", "L0", "L1", "L2", "L3"):
        assert "3 reads" in by[key].note, key
    assert by["L3"].address == "0x32a28 → 0x832a28"
    assert "RA 0xa01678" in by["result"].meaning and "25 memory reads" in by["result"].note


def test_hv_real_mode_uses_no_table():
    from pynest.memory import PhysicalMemory

    cpu = CpuState(msr=MSR_SF | MSR_HV)  # relocation off
    t = translate(PhysicalMemory(1 << 20), cpu, 0x1234, "load")
    rows = walk_rows(t)
    assert all(r.state == "unused" for r in rows[:-1])
    assert "RA 0x1234" in rows[-1].meaning


# ----------------------------------------------------------------------- walk figure
def test_draw_walk_returns_a_pure_figure(world):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = draw_walk(_t(world, "hv", 0x10000ABC))
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # not registered with pyplot
    text = figure_text(fig)
    for expected in ("L3 index", "0x80", "0x221400", "RA 0x3000abc (4K page)", "ea>>21 & 0x1ff"):
        assert expected in text
    assert render_png(fig).startswith(b"\x89PNG")


def test_draw_walk_step_by_step_hides_later_rows(world):
    t = _t(world, "hv", 0x10000ABC)
    text = figure_text(draw_walk(t, upto=3))  # PATE, PRTE, L0 shown
    assert "0x8000000000220009" in text  # the L0 entry
    assert "0x8000000000221009" not in text  # the L1 entry is not shown yet
    assert "not yet" in text
    assert "... 4 more step(s)" in walk_text(t, upto=3)


def test_redraw_into_the_same_figure_does_not_pile_up(world):
    fig = draw_walk(_t(world, "hv", 0x10000ABC))
    second = _t(world, "hv", 0x10001ABC)
    fresh = draw_walk(second)
    for _ in range(3):
        again = draw_walk(second, fig=fig)
    assert again is fig
    assert len(fig.texts) == len(fresh.texts) and len(fig.patches) == len(fresh.patches)
    assert figure_text(fig) == figure_text(fresh)
    assert "0x222008" in figure_text(fig)


def test_every_reference_case_draws(world):
    from pynest.widgets.walk_explorer import REFERENCE_EXAMPLES

    for _label, ctx, ea, access in REFERENCE_EXAMPLES:
        t = _t(world, ctx, ea, access)
        rows = walk_rows(t)
        assert rows[-1].state == ("ok" if t.ok else "fault")
        assert figure_text(draw_walk(t))


# ----------------------------------------------------------------------- EA fields
def test_ea_fields_for_a_2m_page():
    fields = {f.key: f for f in ea_fields(0x10212345, page_shift=21)}
    assert "L3" not in fields
    assert (fields["L2"].first, fields["L2"].last, fields["L2"].value) == (34, 42, 0x81)
    assert (fields["offset"].first, fields["offset"].value) == (43, 0x12345)
    assert fields["L2"].python == "ea>>21 & 0x1ff"


def test_ea_fields_for_a_64k_page():
    fields = {f.key: f for f in ea_fields(0x0000_0000_1234_5678, page_shift=16)}
    assert (fields["L3"].first, fields["L3"].last) == (43, 47)
    assert fields["L3"].value == (0x12345678 >> 16) & 0x1F
    assert fields["offset"].value == 0x5678


@given(st.integers(0, 2**64 - 1), st.sampled_from([12, 16, 21, 30]))
def test_ea_fields_tile_the_ea(ea, shift):
    fields = ea_fields(ea, shift)
    assert fields[0].first == 0 and fields[-1].last == 63
    for a, b in zip(fields, fields[1:], strict=False):
        assert b.first == a.last + 1
    rebuilt = 0
    for f in fields:
        rebuilt |= f.value << (63 - f.last)
    assert rebuilt == ea


def test_draw_ea_split_rejects_a_bad_page_size():
    from pynest.errors import FieldError

    with pytest.raises(FieldError, match="0x3000"):
        draw_ea_split(0, 0x3000)
    assert "2M page" in figure_text(draw_ea_split(0x10212345, 1 << 21))


# ----------------------------------------------------------------------- registers
def test_ptcr_figure_names_fields_and_masks():
    text = figure_text(draw_ptcr(0x100000))
    assert "PATB" in text and "PATS" in text
    assert "0x0fff_ffff_ffff_f000" in text  # PATB mask, ISA bits 4:51
    assert "LPIDs 0..255" in text
    assert "not aligned" not in text


def test_ptcr_figure_explains_a_misaligned_table():
    # example 3: PATB 0x101000 with PATS 1 (8 KiB) is not 8 KiB aligned
    text = figure_text(draw_ptcr(0x101001))
    assert "not aligned to the 8 KiB table" in text


def test_entry_figures():
    pte = figure_text(draw_entry(0xC000000003000186))
    assert "PTE (leaf)" in pte and "0x3000000" in pte and "-rw-" in pte
    pde = figure_text(draw_entry(0x8000000000220009))
    assert "PDE (directory)" in pde and "0x220000" in pde and "2^9 entries" in pde
    pate = figure_text(draw_pate(0xC0000000001100AD, 0x200000, lpid=0))
    assert "PATE[0].dw0" in pate and "52-bit tree" in pate and "PIDs 0..255" in pate


def test_tint_mixes_with_white():
    assert tint("#000000", 0.0) == "#FFFFFF"
    assert tint("#D55E00", 1.0) == "#D55E00"


# ----------------------------------------------------------------------- partition table
def test_partition_table_rows_are_the_lpids(world):
    before = list(world.mem.written())
    view = read_partition_table(world.mem, 0x100000, selected=7)
    assert [r.lpid for r in view.rows] == [0, 7]
    assert view.rows[1].addr == 0x100070
    assert (view.rows[1].dw0, view.rows[1].dw1) == (0xC0000000001300AD, 0x10000)
    assert view.selected_usable and not view.problems
    assert list(world.mem.written()) == before  # reading does not write
    text = figure_text(draw_partition_table(view))
    assert "PATE[7] = PATB + 16 × 7" in text and "0x100070" in text
    assert "6 empty entries" in text


def test_partition_table_shows_an_empty_selected_row(world):
    view = read_partition_table(world.mem, 0x100000, selected=3)
    assert [r.lpid for r in view.rows] == [0, 3, 7]
    assert view.rows[1].meaning.startswith("empty")


def test_partition_table_problems(world):
    view = read_partition_table(world.mem, 0x100000, selected=256)
    assert not view.selected_usable
    assert any("beyond the table" in p for p in view.problems)
    view = read_partition_table(world.mem, 0x101001, selected=7)
    assert any("not aligned" in p for p in view.problems)
    assert "✘ PATB 0x101000" in figure_text(draw_partition_table(view))


def test_partition_table_caps_the_rows(world):
    # PTCR pointing at LPID 0's process tree: its entries read as (garbage) PATEs
    view = read_partition_table(world.mem, 0x210000 | 4, selected=0, max_rows=1)
    assert len(view.rows) == 1


# ----------------------------------------------------------------------- import hygiene
def test_core_and_exercises_do_not_import_the_view_libraries():
    code = (
        "import sys, pynest, pynest.mmu, pynest.exercises; "
        "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
