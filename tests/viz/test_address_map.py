"""The address-space map: one batch translation of an L2's pages through its shadow LPID,
checked page by page against the scalar translate, and drawn with its counts."""

from __future__ import annotations

import numpy as np
import pytest

from pynest.errors import ConfigError
from pynest.mmu import MSR_GUEST_KERNEL, CpuState, translate, translate_many
from pynest.mmu import constants as C
from pynest.mmu.batch import INTERRUPT_CODES
from pynest.scenarios.shadow import LINEAR_EA, shadow_world, touch
from pynest.viz.address_map import MAP_COLOURS, address_map_view, draw_address_map
from pynest.viz.style import figure_text


@pytest.fixture(scope="module")
def world_and_view():
    hw = shadow_world(l1_page=C.PAGE_64K, backing=C.PAGE_2M)
    for gpa in (0x812340, 0x9A0000, 0xB00000):
        touch(hw, gpa, "load")
    cpu = CpuState(ptcr=hw.l0.ptcr, lpidr=hw.gp.shadow_lpid, pidr=0, msr=MSR_GUEST_KERNEL)
    eas = np.uint64(LINEAR_EA) + np.arange(256, dtype=np.uint64) * np.uint64(C.PAGE_64K)
    batch = translate_many(hw.l0.mem, cpu, eas, "load")
    return hw, cpu, eas, address_map_view(batch, C.PAGE_64K)


def test_every_cell_is_what_the_scalar_translate_says(world_and_view):
    hw, cpu, eas, view = world_and_view
    for ea, code in zip(eas, view.codes, strict=True):
        t = translate(hw.l0.mem, cpu, int(ea), "load", update_rc=False)
        assert INTERRUPT_CODES[t.fault.interrupt if t.fault else None] == int(code)


def test_touched_pages_are_shadowed_and_the_rest_need_a_nested_fault(world_and_view):
    _hw, _cpu, _eas, view = world_and_view
    ok = {view.start + int(i) * view.page for i in np.flatnonzero(view.codes == 0)}
    for gpa in (0x810000, 0x9A0000, 0xB00000):  # the 64K pages the L2 touched
        assert LINEAR_EA + gpa in ok
    assert set(view.counts) == {"ok", "HDSI"}  # the linear map maps all 16 MiB
    assert view.counts["ok"] + view.counts["HDSI"] == 256
    assert view.text().startswith("256 pages 0xc000000000000000..0xc000000001000000: ")


def test_figure_shows_the_counts_in_its_legend(world_and_view):
    view = world_and_view[3]
    fig = draw_address_map(view, "L2 through its shadow LPID")
    text = figure_text(fig) + "\n" + "\n".join(t.get_text() for t in fig.legends[0].get_texts())
    assert f"HDSI: {view.counts['HDSI']}" in text and f"ok: {view.counts['ok']}" in text
    again = draw_address_map(view, "again", fig=fig)  # redraws into the same figure
    assert again is fig and "again" in figure_text(fig)
    assert set(MAP_COLOURS) == {name or "ok" for name in INTERRUPT_CODES}


def test_bad_maps_are_refused(world_and_view):
    hw, cpu, eas, _ = world_and_view
    gappy = translate_many(hw.l0.mem, cpu, eas[::2], "load")
    with pytest.raises(ConfigError, match="consecutive"):
        address_map_view(gappy, C.PAGE_64K)
    with pytest.raises(ConfigError, match="columns"):
        draw_address_map(world_and_view[3], "x", columns=0)
