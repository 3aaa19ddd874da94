"""ClassroomDemoExplorer driven headless: buttons, slider, go-to box and PTCR box."""

import pytest

from pynest.scenarios.classroom import EMPTY_PTCR, PTCR_STEP
from pynest.viz.style import figure_text
from pynest.widgets.classroom_explorer import ClassroomDemoExplorer

GARBAGE = ["zebra", "0x", "0xZZ", "-1", "12abc", "1e5", "0x" + "f" * 17, "not-a-number!"]


def _plain(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture
def demo():
    return ClassroomDemoExplorer(seed=0)


def test_starts_at_step_one(demo):
    assert demo.error == "" and demo.slider.value == 1 and demo.total == 12
    assert demo.back.disabled and not demo.next.disabled
    assert "step 1 of 12" in demo.of.value
    assert "Step 1 of 12: The host kernel (Linux 4.20) sets up its partition table" in (
        demo.status.value
    )
    assert len(demo.figures) == 1 and "Step 1 of 12" in figure_text(demo.figures[0])
    assert demo.render_text().startswith("Step 1: L0 boots")


def test_next_and_back_step_and_redraw(demo):
    first = figure_text(demo.figures[0])
    demo.next.click()
    assert demo.slider.value == 2 and demo.snapshot.key == "create-l1"
    second = figure_text(demo.figures[0])
    assert second != first and "PATE[1]" in second
    demo.back.click()
    assert demo.slider.value == 1 and figure_text(demo.figures[0]) == first


def test_slider_changes_the_picture(demo):
    seen = set()
    for k in range(1, 13):
        demo.slider.value = k
        assert demo.error == ""
        seen.add(figure_text(demo.figures[0]))
    assert len(seen) == 12
    assert demo.next.disabled and not demo.back.disabled
    assert demo.go(13) is False and "no step 13" in demo.error
    assert demo.slider.value == 12  # still usable
    assert demo.go(0) is False and demo.slider.value == 12
    assert demo.go("3") is False  # type: ignore[arg-type]


def test_go_to_by_number_or_name(demo):
    demo.goto_text.value = "7"
    assert demo.slider.value == 7 and demo.snapshot.key == "fault"
    for name, step in (("PTCR", 9), ("tlbie", 8), ("release", 12), ("flush-all", 10), ("0x3", 3)):
        demo.goto_text.value = name
        assert demo.slider.value == step, name
        assert demo.error == ""


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_explained_not_raised(demo, text):
    demo.slider.value = 5
    figures, updates = demo.figures, demo.updates
    demo.goto_text.value = text
    assert demo.error, text
    message = _plain(demo.message.value)
    assert "✘" in message and ("number" in message or "step" in message)
    assert demo.figures is figures and demo.updates == updates  # last good picture stays
    demo.ptcr_text.value = text
    assert demo.error and "PTCR" in _plain(demo.message.value)
    demo.slider.value = 6  # still usable
    assert demo.error == "" and demo.message.value == ""


def test_emptying_the_go_to_box_takes_back_its_complaint(demo):
    demo.slider.value = 4
    demo.goto_text.value = "zebra"
    assert demo.error
    demo.goto_text.value = ""
    assert demo.error == "" and demo.message.value == "" and demo.slider.value == 4


def test_typed_ptcr_recomputes_the_story(demo):
    demo.ptcr_text.value = hex(EMPTY_PTCR)
    assert demo.error == "" and demo.slider.value == PTCR_STEP + 1
    assert "H_SUCCESS" in demo.snapshot.sentence
    demo.next.click()
    assert demo.snapshot.nested == () and "removed L2 1 and 2" in demo.status.value
    demo.ptcr_text.value = "0x1004007"  # PRTS 7: refused
    assert demo.slider.value == PTCR_STEP + 1
    assert "H_PARAMETER" in demo.snapshot.sentence and "PRTS 7 > 4" in demo.snapshot.sentence
    demo.ptcr_text.value = str(1 << 30 | 2)  # decimal, beyond the L1's memory
    assert "is not L1 memory" in demo.status.value
    assert demo.set_ptcr(1 << 64) is False and "64 bits" in demo.error


def test_constructor_options():
    d = ClassroomDemoExplorer(seed=1, step=99, ptcr=EMPTY_PTCR)
    assert d.slider.value == 12 and d.ptcr_text.value == hex(EMPTY_PTCR)
    assert ClassroomDemoExplorer(step=-5).slider.value == 1
