"""The explorers of notebooks 07 and 10, driven headless."""

import pytest

from pynest.widgets.timeline_explorer import EnterNestedTimelineExplorer

GARBAGE = ["", "zebra", "0x", "-1", "12abc", "0x" + "f" * 17, "not-a-number!"]


def _plain(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture(scope="module")
def tl():
    return EnterNestedTimelineExplorer()


def test_timeline_starts_at_the_first_exit(tl):
    assert tl.error == ""
    ev = tl.run.events[tl.event.value]
    assert ev.kind == "exit"
    assert "0xe20, 0xe00, 0xe00, 0xc00" in tl.status.value and "ceded" in tl.status.value
    assert tl.event.max == len(tl.run.events) - 1


def test_slider_moves_the_selection(tl):
    tl.event.value = 3
    assert "Event 3 of" in tl.status.value
    assert f"event 3  ({tl.run.events[3].actor})" in "\n".join(
        t.get_text() for t in tl.figure.texts
    )
    before = tl.updates
    tl.event.value = 4
    assert tl.updates == before + 1 and ">>   4" in tl.render_text()


def test_hostile_lpcr_is_masked(tl):
    tl.lpcr_text.value = "0x380080c"  # ILE, AIL=3, MER, LPES=3; HR/UPRT/GTSE/HVICE/HDICE clear
    assert tl.error == ""
    assert tl.run.l2_lpcr == 0x3D00C0F
    assert "overrode" in _plain(tl.status.value) and "UPRT|HR|GTSE|HVICE|HDICE" in tl.status.value
    tl.lpcr_text.value = "0x500403"
    assert "overrode" not in tl.status.value


def test_programs_and_slice(tl):
    tl.program.value = "spin past the HDEC deadline"
    assert "0xe20, 0x980, 0xc00" in tl.status.value
    tl.slice_text.value = "5000"  # the spin now fits in one slice: no HDEC exit
    assert "0xe20, 0xc00" in tl.status.value
    tl.slice_text.value = "1000"
    tl.warm.value = True  # second run: the shadow tables already hold every page
    assert tl.run.returns[0] == 0x980 or tl.run.returns[-1] == 0xC00
    tl.warm.value = False
    tl.program.value = "store, load, cede"


@pytest.mark.parametrize("text", GARBAGE)
@pytest.mark.parametrize("box", ["lpcr_text", "slice_text"])
def test_garbage_is_explained(tl, box, text):
    control = getattr(tl, box)
    good = control.value
    figure, updates = tl.figure, tl.updates
    control.value = text
    assert tl.error, text
    assert "✘" in tl.message.value
    assert tl.figure is figure and tl.updates == updates
    control.value = good
    assert tl.error == "" and tl.message.value == ""


def test_slice_out_of_range(tl):
    tl.slice_text.value = "0"
    assert "1 .. 1000000" in tl.error
    tl.slice_text.value = "99999999"
    assert "1 .. 1000000" in tl.error
    tl.slice_text.value = "1000"
    assert tl.error == ""


# ----------------------------------------------------------------------- copy explorer
from pynest.widgets.copy_explorer import CopyToFromGuestExplorer  # noqa: E402
from pynest.widgets.menus import CUSTOM  # noqa: E402


@pytest.fixture(scope="module")
def cp():
    return CopyToFromGuestExplorer()


def test_copy_examples(cp):
    want = ["H_SUCCESS", "H_SUCCESS", "H_NOT_FOUND", "H_NOT_FOUND", "H_PARAMETER"]
    examples = [(label, ea) for label, ea in cp.example.options if ea != CUSTOM]
    for (_label, ea), rc in zip(examples, want, strict=True):
        cp.example.value = ea
        assert cp.error == "" and cp.ea_text.value == f"{ea:#x}"
        assert f"-> {rc}" in cp.render_text().splitlines()[0]
    cp.example.value = cp.example.options[0][1]


def test_copy_length_and_l2(cp):
    cp.length.value = 40
    assert len(cp.stages.data) == 40 and "n 40" in cp.render_text()
    cp.l2.value = 9
    assert "H_PARAMETER" in cp.status.value and cp.stages.lpid == 9
    cp.l2.value = cp.world.l2s[1].l1_lpid
    assert "H_SUCCESS" in cp.status.value


def test_copy_explorer_runs_a_5_0_l0_and_a_4_20_one_answers_h_function(cp):
    """H_COPY_TOFROM_GUEST is Linux 5.0's (versions row h-copy-tofrom-guest)."""
    assert cp.world.l0.kernel == "5.0" and cp.stages.kernel == "5.0"
    old = CopyToFromGuestExplorer(l0_kernel="4.20")
    first = old.render_text().splitlines()
    assert first[0].endswith("-> H_FUNCTION (-2)")
    assert "L0 runs Linux 4.20: no H_COPY_TOFROM_GUEST before 5.0" in first[-1]
    assert "QEMU answered H_FUNCTION" in old.status.value


@pytest.mark.parametrize("text", GARBAGE)
def test_copy_garbage_ea(cp, text):
    good = cp.ea_text.value
    updates = cp.updates
    cp.ea_text.value = text
    assert cp.error and "EA" in _plain(cp.message.value) and cp.updates == updates
    cp.ea_text.value = good
    assert cp.error == ""
