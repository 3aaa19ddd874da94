"""The explorers, driven headless: set controls from Python, read what they show.

Nothing here needs a browser or a kernel: ipywidgets controls are traitlets objects, so
setting ``.value`` runs the same handlers a click would. Expected values come from the
worked examples of the radix fact sheet (the reference world's memory image).
"""

import pytest

from pynest.widgets import PtcrExplorer, WalkExplorer
from pynest.widgets.walk_explorer import REFERENCE_EXAMPLES

GARBAGE = ["", "   ", "zebra", "0x", "0xZZ", "-1", "12abc", "1e5", "0x" + "f" * 17, "None"]


def _plain(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&quot;", '"')


# ----------------------------------------------------------------------- walk explorer
@pytest.fixture
def walk():
    return WalkExplorer()


def test_walk_explorer_starts_on_worked_example_1(walk):
    assert walk.error == ""
    assert "real address 0x3000abc" in walk.status.value
    assert "L3 · PTE" in walk.render_text()
    assert walk.figure is not None and walk.figures == [walk.figure]


def test_typed_ea_changes_the_walk(walk):
    walk.ea_text.value = "0x10001abc"  # the unmapped neighbour: DSI at level 3
    assert walk.error == ""
    assert "DSI at L3" in walk.status.value
    assert walk.translation.fault.cause == 0x40000000
    walk.ea_text.value = "270607173"  # decimal 0x10212345: inside the 2M page
    assert "real address 0x4012345" in walk.status.value


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_ea_is_explained_not_raised(walk, text):
    figure, updates = walk.figure, walk.updates
    walk.ea_text.value = text
    assert walk.error, text
    message = _plain(walk.message.value)
    assert "EA" in message and "✘" in message
    assert walk.figure is figure and walk.updates == updates  # last good picture stays
    walk.ea_text.value = "0x10000abc"
    assert walk.error == "" and walk.message.value == ""


def test_slider_moves_the_ea_page_by_page(walk):
    walk.slide.value = 1
    assert walk.ea_text.value == "0x10001abc"
    assert "DSI" in walk.status.value
    walk.slide.value = 0x212  # 0x10212000 + 0xabc: inside the read-only 2M page
    assert walk.ea_text.value == "0x10212abc"
    assert "real address 0x4012abc" in walk.status.value
    walk.ea_text.value = "0x10300000"  # typing moves the slider to the page in its block
    assert walk.slide.value == 0x300


def test_every_example_runs(walk):
    for i, (_label, ctx, ea, access) in enumerate(REFERENCE_EXAMPLES):
        walk.example.value = i
        assert walk.error == ""
        assert walk.context.value == ctx and walk.access.value == access
        assert walk.translation.ea == ea
    # the last example: the guest's unmapped page faults after 22 reads
    assert walk.translation.memory_reads == 22


def test_access_and_context_controls(walk):
    walk.example.value = 1  # 2M read-only page
    walk.access.value = "store"
    assert "DSI" in walk.status.value and walk.translation.fault.cause == 0x0A000000
    walk.context.value = "guest"  # same EA as the guest: not mapped in its tree
    assert walk.translation.lpid == 7 and walk.error == ""


def test_steps_light_the_walk_up(walk):
    walk.steps.value = 2
    assert "... 5 more step(s)" in walk.render_text()
    walk.play.value = 7  # the play button is linked to the steps slider
    assert walk.steps.value == 7 and "more step" not in walk.render_text()


def test_exploring_does_not_change_memory(walk):
    before = list(walk.world.mem.written())
    for i in range(len(REFERENCE_EXAMPLES)):
        walk.example.value = i
        walk.access.value = "store"
    assert list(walk.world.mem.written()) == before


def test_a_bug_in_the_model_becomes_a_message(walk, monkeypatch):
    import pynest.widgets.walk_explorer as module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "translate", broken)
    walk.ea_text.value = "0x10000abc0"
    assert "internal error" in walk.error and "boom" in walk.error


def test_walk_explorer_widget_tree(walk):
    box = walk.widget
    assert walk.output in box.children and walk.message in box.children
    assert box is walk.widget  # built once


def test_walk_explorer_in_another_world():
    from pynest.scenarios import radix_host

    w = radix_host(seed=1)
    explorer = WalkExplorer(w)
    assert explorer.error == ""
    assert len(explorer.examples) == sum(len(p) for p in w.mappings.values())
    assert "real address" in explorer.status.value


# ----------------------------------------------------------------------- PTCR explorer
@pytest.fixture
def ptcr():
    return PtcrExplorer()


def test_ptcr_explorer_starts_on_the_reference_table(ptcr):
    assert ptcr.error == ""
    assert "PATE[7] at 0x100070" in ptcr.status.value
    assert "real address 0xa01abc" in ptcr.status.value  # guest LPID 7, example 4's page
    assert [r.lpid for r in ptcr.view.rows] == [0, 7]
    assert len(ptcr.figures) == 2  # the PTCR bits and the table


def test_ptcr_fields_follow_the_register(ptcr):
    ptcr.ptcr_text.value = "0x101001"  # example 3: PATB not aligned to the 8 KiB table
    assert (ptcr.patb_text.value, ptcr.pats.value) == ("0x101000", 1)
    assert "HDSI" in ptcr.status.value and "not aligned" in ptcr.status.value
    assert ptcr.view.problems
    ptcr.ptcr_text.value = "0x100001"  # same size, aligned base: works again
    assert "reaches real address" in ptcr.status.value


def test_register_follows_the_fields(ptcr):
    ptcr.patb_text.value = "0x200000"
    assert ptcr.ptcr_text.value == "0x200000"
    ptcr.pats.value = 4
    assert ptcr.ptcr_text.value == "0x200004"
    # PATS 9: a 2 MiB table, which 0x200000 is aligned to; the process table there is
    # read as PATEs now, and LPID 7's entry is empty (HR=0) -> HDSI after the read
    ptcr.pats.value = 9
    assert ptcr.ptcr_text.value == "0x200009"
    assert "PATE[7] at 0x200070" in ptcr.status.value and "HDSI" in ptcr.status.value


def test_patb_that_does_not_fit_is_explained(ptcr):
    before = ptcr.ptcr_text.value
    ptcr.patb_text.value = "0x100800"
    assert "low 12 bits (0x800) must be zero" in ptcr.error
    assert ptcr.ptcr_text.value == before


def test_lpid_beyond_the_table(ptcr):
    ptcr.lpid_text.value = "256"  # PATS 0: LPIDs 0..255
    assert "HDSI" in ptcr.status.value and "beyond" in ptcr.status.value
    assert any("beyond the table" in p for p in ptcr.view.problems)
    ptcr.lpid_text.value = "0"
    assert "hv: the MMU reads PATE[0] at 0x100000" in ptcr.status.value


def test_flip_uses_isa_bit_numbers(ptcr):
    assert ptcr.flip(59)  # bit 59 is the most significant bit of PATS (value 16)
    assert ptcr.pats.value == 16 and ptcr.ptcr_text.value == "0x100010"
    ptcr.flip_bit.value = 43  # bit 43 = mask 1 << 20 = 0x100000: PATB back to 0
    ptcr.flip_button.click()
    assert ptcr.patb_text.value == "0x0"
    assert not ptcr.flip(64) and "0 (most significant) to 63" in ptcr.error
    assert not ptcr.flip("3")


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_in_every_ptcr_box_is_explained(ptcr, text):
    for box in (ptcr.ptcr_text, ptcr.patb_text, ptcr.lpid_text):
        good = box.value
        box.value = text
        assert ptcr.error, (box.description, text)
        box.value = good
        assert ptcr.error == ""


def test_lpid_wider_than_32_bits(ptcr):
    ptcr.lpid_text.value = str(1 << 32)
    assert "32 bits" in ptcr.error
