"""ClassroomDemoExplorer driven headless: buttons, slider, go-to box and PTCR box, the
presenter's keys, and the presenter view's layout and slide."""

import ipywidgets as w
import pytest

from pynest.errors import ConfigError
from pynest.scenarios.classroom import EMPTY_PTCR, PTCR_STEP
from pynest.viz import style as S
from pynest.viz.classroom import SLIDE_HEIGHT, SLIDE_WIDTH
from pynest.viz.legibility import problems
from pynest.viz.style import figure_text
from pynest.widgets.base import descendants
from pynest.widgets.classroom_explorer import (
    PICTURE_PX,
    SHORTCUTS,
    ClassroomDemoExplorer,
    keys_help,
)

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


# ------------------------------------------------------------------ go to, twice (item 3)
def test_typing_the_same_step_again_goes_there_again(demo):
    demo.goto_text.value = "7"
    assert demo.slider.value == 7 and demo.goto_text.value == ""  # used, so emptied
    demo.next.click()
    assert demo.slider.value == 8
    demo.goto_text.value = "7"
    assert demo.slider.value == 7
    demo.slider.value = 2
    demo.goto_text.value = "fault"
    assert demo.slider.value == 7
    demo.slider.value = 3
    demo.goto_text.value = "fault"
    assert demo.slider.value == 7 and demo.error == ""


def test_going_to_the_step_on_screen_redraws_and_clears_a_complaint(demo):
    demo.goto_text.value = "5"
    demo.ptcr_text.value = "zebra"
    assert demo.error
    updates = demo.updates
    demo.goto_text.value = "5"
    assert demo.slider.value == 5 and demo.error == "" and demo.updates == updates + 1


def test_unusable_text_stays_in_the_box_until_the_step_moves(demo):
    demo.goto_text.value = "99"
    assert "no step 99" in demo.error and demo.goto_text.value == "99"
    demo.next.click()
    assert demo.goto_text.value == "" and demo.error == ""
    demo.goto_text.value = "99"  # the same text again: the same complaint again
    assert "no step 99" in demo.error


# ------------------------------------------------------------------ the presenter's keys
def test_keys_step_forward_and_back(demo):
    assert demo.press("ArrowRight") and demo.slider.value == 2
    assert demo.press("PageDown") and demo.slider.value == 3
    assert demo.press("ArrowLeft") and demo.slider.value == 2
    assert demo.press("PageUp") and demo.slider.value == 1
    assert demo.press("End") and demo.slider.value == 12
    assert demo.press("Home") and demo.slider.value == 1
    assert demo.error == ""


def test_keys_at_either_end_or_unknown_do_nothing(demo):
    updates = demo.updates
    assert demo.press("ArrowLeft") is False and demo.press("Home") is False
    assert demo.press("a") is False and demo.press("") is False and demo.press("Enter") is False
    assert demo.slider.value == 1 and demo.updates == updates and demo.error == ""
    demo.slider.value = 12
    assert demo.press("PageDown") is False and demo.press("End") is False
    assert demo.slider.value == 12 and demo.error == ""


def test_keys_arrive_through_the_hidden_box(demo):
    """What the page's script does: write "<key> <count>" into the box."""
    demo.keys.value = "ArrowRight 1"
    assert demo.slider.value == 2
    demo.keys.value = "ArrowRight 2"  # the same key again is a new value
    assert demo.slider.value == 3
    demo.keys.value = "PageUp 3"
    assert demo.slider.value == 2
    demo.keys.value = "F5 4"
    assert demo.slider.value == 2 and demo.error == ""
    assert demo.keys.layout.display == "none"
    assert demo.keys in descendants(demo.widget)


def test_the_box_names_every_key_it_takes_and_the_screen_says_them():
    demo = ClassroomDemoExplorer(view="presenter")
    classes = set(demo.keys._dom_classes)
    assert "pynest-keys" in classes
    assert {f"pynest-key-{k}" for k in SHORTCUTS} <= classes
    assert keys_help() == [
        "→ / PageDown: next step",
        "← / PageUp: back",
        "Home / End: first / last",
    ]
    told = "\n".join(keys_help())
    for key in SHORTCUTS:
        assert {"ArrowRight": "→", "ArrowLeft": "←"}.get(key, key) in told, key
    assert demo.keys_line in descendants(demo.widget)
    assert "PageDown" in demo.keys_line.value


# ------------------------------------------------------------------ the presenter view
@pytest.fixture
def presenter():
    return ClassroomDemoExplorer(seed=0, view="presenter")


def test_presenter_view_puts_controls_beside_the_slide(presenter):
    box = presenter.widget
    assert isinstance(box, w.HBox) and "pynest-presenter" in box._dom_classes
    column, output = box.children[0], box.children[1]
    assert output is presenter.output and output.layout.width == f"{PICTURE_PX + 4}px"
    inside = descendants(column)
    for control in (presenter.back, presenter.next, presenter.slider, presenter.goto_text,
                    presenter.ptcr_text, presenter.status, presenter.message):  # fmt: skip
        assert control in inside
    assert column.layout.width == "290px"
    assert "font-size:17px" in presenter.status.value
    assert presenter.status.value.count("Step 1 of 12") == 0  # the title above says it
    assert "step 1 of 12" in presenter.of.value


def test_lab_view_is_the_default_outside_voila(monkeypatch):
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    demo = ClassroomDemoExplorer()
    assert demo.view == "lab" and isinstance(demo.widget, w.VBox)
    assert tuple(demo.figures[0].get_size_inches()) == (S.FIGURE_WIDTH, 10.0)
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    assert ClassroomDemoExplorer().view == "presenter"
    with pytest.raises(ConfigError, match="view is one of lab, presenter"):
        ClassroomDemoExplorer(view="projector")


@pytest.mark.parametrize("ptcr", [None, EMPTY_PTCR, 0x1004007])
def test_every_slide_reads_at_16_px_presented(ptcr):
    demo = ClassroomDemoExplorer(seed=0, ptcr=ptcr, view="presenter")
    for k in range(1, demo.total + 1):
        demo.slider.value = k
        fig = demo.figures[0]
        assert tuple(fig.get_size_inches()) == (SLIDE_WIDTH, SLIDE_HEIGHT)
        assert round(fig.get_size_inches()[0] * fig.dpi) == PICTURE_PX
        assert problems(fig, (S.PRESENTER,)) == [], k


def test_slides_differ_and_mark_what_changed(presenter):
    seen = set()
    for k in range(1, presenter.total + 1):
        presenter.slider.value = k
        seen.add(figure_text(presenter.figures[0]))
    assert len(seen) == presenter.total
    presenter.goto_text.value = "fault"
    text = figure_text(presenter.figures[0])
    assert "0xc00000→0x14c00000 rwx RC" in text and "new" in text
    presenter.next.click()
    assert "✘ 1 removed in this step" in figure_text(presenter.figures[0])


def test_a_step_shown_again_is_not_drawn_again():
    """A story is immutable, so each (PTCR, step) is drawn once and its figure kept."""
    ex = ClassroomDemoExplorer(seed=0)
    ex.go(2)
    second = ex.figures[0]
    ex.go(3)
    assert ex.figures[0] is not second
    ex.go(2)
    assert ex.figures[0] is second
    ex.set_ptcr(0x2000_0004)  # another story: its own drawing of every step
    ex.go(2)
    assert ex.figures[0] is not second
