"""ShadowTreesExplorer driven headless: set controls from Python, read what it shows."""

import pytest

from pynest.errors import ConfigError
from pynest.mmu import constants as C
from pynest.viz.style import figure_text
from pynest.widgets.shadow_explorer import Action, ShadowTreesExplorer, default_plan

GARBAGE = ["zebra", "0x", "-1", "12abc", "0x" + "f" * 17, "not-a-number!", "1e5"]


@pytest.fixture
def ex():
    return ShadowTreesExplorer(seed=0)


def _plain(html):
    return html.replace("&#x27;", "'").replace("&quot;", '"')


def test_plan_is_seeded_and_complete():
    a, b = default_plan(0), default_plan(0)
    assert a == b and default_plan(1) != a
    assert [x.kind for x in a] == [
        "store",
        "load",
        "load",
        "store",
        "l1-unmap",
        "load",
        "l0-unmap",
        "load",
    ]
    assert a[1].gpa == a[0].gpa + 8 and a[5].gpa == a[0].gpa and a[7].gpa == a[3].gpa
    assert all(4 << 20 <= x.gpa < 16 << 20 for x in a)


def test_starts_on_the_first_access(ex):
    assert ex.error == "" and ex.step.value == 1 and ex.step.max == 8
    plan = ex.plan
    assert f"L2 stores to L2 real {plan[0].gpa:#x}" in ex.status.value
    assert "reflected to the L1 1 time(s)" in ex.status.value
    assert ex.figures == [ex.figure]
    assert "HDSISR NOHPTE | ISSTORE" in ex.render_text()


def test_moving_the_slider_changes_the_picture(ex):
    seen = set()
    for k in range(ex.step.max + 1):
        ex.step.value = k
        assert ex.error == ""
        seen.add(figure_text(ex.figure))
        assert f"Step {k} of 8" in figure_text(ex.figure)
    assert len(seen) == 9
    ex.step.value = 2  # the same page again: nobody has anything to do
    assert "L0 alone" in ex.status.value
    assert all(not r.new for p in ex.view.panels for r in p.rows)


def test_unmaps_remove_shadow_rows(ex):
    a, c = ex.plan[0].gpa, ex.plan[3].gpa
    ex.step.value = 5  # L1 unmaps a: H_TLB_INVALIDATE
    v = ex.view
    assert v.shadow.removed == 1 and v.l1_tree.removed == 1 and v.l0_tree.removed == 0
    assert not any(r.addr <= a < r.addr + r.size for r in v.shadow.rows)
    assert "H_TLB_INVALIDATE" in ex.render_text()
    ex.step.value = 7  # L0 takes c's L1 page away: the rmap finds the shadow PTE
    v = ex.view
    assert not any(r.addr <= c < r.addr + r.size for r in v.shadow.rows)
    assert v.l0_tree.removed == 1 and "rmap" in ex.render_text()
    ex.step.value = 8  # back again: L1 still maps it, so L0 alone refills
    assert "L0 alone" in ex.status.value


def test_typing_an_address_touches_it(ex):
    ex.address.value = "0x9a0000"
    assert ex.error == "" and ex.step.max == 9 and ex.step.value == 9
    assert ex.plan[-1] == Action("load", 0x9A0000)
    assert "L2 loads from L2 real 0x9a0000" in ex.status.value
    hot = [r for r in ex.view.shadow.rows if r.hot]
    assert len(hot) == 1 and hot[0].addr == 0x9A0000 and hot[0].new
    ex.access.value = "store"
    ex.address.value = "10158080"  # decimal 0x9b0000
    assert ex.step.value == 10 and ex.plan[-1] == Action("store", 0x9B0000)


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_address_is_explained(ex, text):
    figure, updates, steps = ex.figure, ex.updates, len(ex.steps)
    ex.address.value = text
    assert ex.error and "✘" in ex.message.value
    assert "L2 real address" in _plain(ex.message.value)
    assert ex.figure is figure and ex.updates == updates and len(ex.steps) == steps
    ex.step.value = 3  # still usable
    assert ex.error == "" and ex.message.value == ""


def test_emptying_the_box_takes_back_its_complaint(ex):
    ex.address.value = "zebra"
    assert ex.error
    steps, plan = len(ex.steps), list(ex.plan)
    ex.address.value = "  "
    assert ex.error == "" and ex.message.value == ""
    assert len(ex.steps) == steps and ex.plan == plan  # nothing was touched


def test_addresses_the_model_refuses(ex):
    ex.address.value = "0x1000000"
    assert "outside the L2's memory" in ex.error
    ex.access.value = "store"
    ex.address.value = "0x110000"
    assert "page tables" in ex.error
    ex.access.value = "load"  # the address in the box, tried again as a load
    assert ex.error == "" and ex.step.value == 9
    ex.address.value = " "  # blank: ignored
    ex.address.value = "0x110000"  # typed again: touched again
    assert ex.error == "" and ex.step.value == 10


def test_page_sizes_rebuild_the_world(ex):
    ex.step.value = 4
    ex.backing.value = "1G"
    assert ex.error == "" and ex.step.value == 4
    assert ex.world.backing == C.PAGE_1G
    ex.step.value = 7  # L0 drops its one 1G page: every shadow PTE goes
    assert ex.view.shadow.rows == () and ex.view.l0_tree.rows == ()
    ex.l1_page.value = "2M"
    ex.step.value = 1
    sizes = {r.size for r in ex.view.shadow.rows}
    assert sizes == {C.PAGE_64K}  # 2M L1 page on a 1G host page: PAGE_SIZE
    ex.backing.value = "2M"
    ex.step.value = 1
    assert C.PAGE_2M in {r.size for r in ex.view.shadow.rows}


def test_typed_steps_survive_a_rebuild(ex):
    ex.address.value = "0x9a0000"
    ex.backing.value = "64K"
    assert ex.step.max == 9 and ex.steps[9].action == Action("load", 0x9A0000)


def test_bad_configuration_is_refused():
    with pytest.raises(ConfigError):
        ShadowTreesExplorer(l1_page="4K")


def test_widget_tree(ex):
    box = ex.widget
    assert ex.output in box.children and ex.message in box.children
