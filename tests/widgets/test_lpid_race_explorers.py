"""Notebook 06's explorers, driven headless: buttons by ``act``, controls by ``.value``."""

import pytest

from pynest.errors import ConfigError
from pynest.viz.style import figure_text
from pynest.widgets.lpid_explorer import MAX_L2S, LpidMapExplorer
from pynest.widgets.race_explorer import RaceExplorer

GARBAGE = ["", "   ", "zebra", "not-a-number!", "0x", "-1", "12abc", "1e5", "0x" + "f" * 17]


def _plain(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&quot;", '"')


# ----------------------------------------------------------------------- LPID map
@pytest.fixture
def lpids():
    return LpidMapExplorer()


def test_starts_with_two_l2s_one_entered(lpids):
    assert lpids.error == ""
    assert [h.note.split(":")[0] for h in lpids.history] == [
        "the L1 has registered its partition table; no L2 yet",
        "create",
        "create",
        "enter L2 1",
    ]
    assert lpids.history_slider.max == 3 and lpids.history_slider.value == 3
    status = _plain(lpids.status.value)
    assert "newest state: L1 LPID 1" in status and "gp with shadow LPID 2, refcnt 1" in status
    assert "shadow LPID 2 allocated" in lpids.history[-1].note
    assert lpids.figure is not None and lpids.figures == [lpids.figure]


def test_enter_gives_next_hardware_lpid_and_remove_frees_it(lpids):
    lpids.lpid_text.value = "2"
    assert "no nested guest in L0" in _plain(lpids.status.value)
    assert lpids.act("enter")
    assert "shadow LPID 3 allocated" in lpids.last_action
    assert "gp with shadow LPID 3, refcnt 1" in _plain(lpids.status.value)
    assert lpids.act("enter")  # second entry: found, nothing allocated
    assert "gp found" in lpids.last_action
    lpids.lpid_text.value = "1"
    assert lpids.act("remove")
    assert "shadow LPID 2 freed" in lpids.last_action and "PATE[2] zeroed" in lpids.last_action
    assert lpids.current.nested_for(1) is None and lpids.current.max_nested_lpid == 2
    assert lpids.act("create")
    assert lpids.lpid_text.value == "1"  # the L1 reuses its lowest free LPID
    assert lpids.act("enter")
    assert "shadow LPID 2 allocated" in lpids.last_action  # and L0 its lowest free one


def test_history_slider_changes_the_picture(lpids):
    before = lpids.updates
    lpids.history_slider.value = 1
    assert lpids.updates == before + 1
    status = _plain(lpids.status.value)
    assert "state 1 of 3" in status and "buttons act on the newest state" in status
    assert lpids.current.nested == ()  # before the first entry
    lpids.history_slider.value = 3
    assert lpids.current.nested_for(1) is not None


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_lpid_is_explained_and_explorer_stays_usable(lpids, text):
    figure, updates = lpids.figure, lpids.updates
    lpids.lpid_text.value = text
    assert lpids.error, text
    message = _plain(lpids.message.value)
    assert "L1 LPID" in message and "✘" in message
    assert lpids.figure is figure and lpids.updates == updates
    assert not lpids.act("enter")  # the action refuses the same text
    lpids.lpid_text.value = "1"
    assert lpids.error == "" and lpids.message.value == ""


@pytest.mark.parametrize("text", ["1024", "5000", "0xffffffff"])
def test_lpid_past_the_table(lpids, text):
    lpids.lpid_text.value = text
    assert "past the L1's partition table" in lpids.error
    assert "H_PARAMETER" in lpids.error


def test_actions_that_make_no_sense(lpids):
    lpids.lpid_text.value = "7"
    assert lpids.error == ""  # an empty lane is fine to look at
    assert not lpids.act("enter")
    assert "no L2 with L1 LPID 7" in lpids.error and "its L2s: 1, 2" in lpids.error
    assert not lpids.act("remove")
    assert not lpids.act("explode")
    assert "unknown action" in lpids.error
    lpids.lpid_text.value = "2"
    assert lpids.act("enter")


def test_create_is_bounded(lpids):
    for _ in range(MAX_L2S - 2):
        assert lpids.act("create")
    assert not lpids.act("create")
    assert f"at most {MAX_L2S} L2s" in lpids.error


# ----------------------------------------------------------------------- races
def test_race_explorer_kernel_code_is_clean():
    r = RaceExplorer()
    assert r.error == ""
    assert r.exploration.count == 222 and r.slider.max == 221
    assert "every invariant holds" in _plain(r.status.value)
    assert not r.jump_to_broken()
    assert "nothing to jump to" in _plain(r.status.value)


def test_untick_recheck_and_jump_to_broken():
    r = RaceExplorer()
    r.recheck.value = False
    assert r.slider.value == 0 and "210 break" in _plain(r.status.value)
    assert r.jump_to_broken()
    first = r.slider.value
    assert first == r.exploration.bad[0].number
    assert "broken: two-objects, leak" in _plain(r.status.value)
    assert r.jump_to_broken() and r.slider.value > first
    assert "two-objects" in r.text


def test_slider_replays_one_schedule():
    r = RaceExplorer("remove", check_gp=False)
    before = r.updates
    r.slider.value = 4
    assert r.updates == before + 1
    assert r.interleaving.number == 4
    assert r.interleaving.schedule_text in r.text
    assert "use-after-free" in _plain(r.status.value)
    figure = r.figure
    r.slider.value = 5
    assert r.figure is figure  # redrawn, not re-made


def test_switching_race_resets_and_redraws():
    r = RaceExplorer("create", recheck=False, start=61)
    assert r.slider.value == 61
    r.race.value = "remove"
    assert r.exploration.config.race == "remove" and r.slider.value == 0
    assert r.slider.max == 147
    r.check_gp.value = False
    assert "140 break" in _plain(r.status.value)


def test_race_explorer_refuses_unknown_race():
    with pytest.raises(ConfigError, match="unknown race"):
        RaceExplorer("delete")


def test_tlbie_all_race_is_labelled_as_the_models_reading():
    r = RaceExplorer("tlbie-all", lock=False)  # the kernel's code only: switches forced on
    assert r.error == ""
    assert r.lock.value and r.recheck.value and r.check_gp.value
    assert r.lock.disabled and r.check_gp.disabled and r.partner.layout.display == ""
    assert r.exploration.count == 153 and r.slider.max == 152
    status = _plain(r.status.value)
    assert "88 break an invariant (use-after-free 88)" in status
    assert "derived from reading the 4.20.1 source" in status
    assert "not observed on hardware" in status
    assert r.text.startswith("What the model says about this code")
    assert ":885" in r.text and "kvmhv_emulate_tlbie_all_lpid" in r.text
    text = figure_text(r.figure)
    assert "What the model says about this code" in text and "(:885)" in text
    assert "vcpu 0: IS=3 RIC=2 (all LPIDs)" in text and "vcpu 1: IS=2 RIC=2, this L2" in text


def test_tlbie_all_partner_choice_and_back_to_another_race():
    r = RaceExplorer("tlbie-all")
    r.partner.value = "run"
    assert r.exploration.count == 120 and r.slider.value == 0
    assert r.jump_to_broken() and r.slider.value == r.exploration.bad[0].number
    assert "tlb_lock:v0" in figure_text(r.figure)  # vcpu 0 holds it in the steps shown
    r.partner.value = "none"
    assert r.exploration.count == 1 and r.slider.max == 0
    assert "the only order" in _plain(r.status.value)
    r.race.value = "create"
    assert not r.lock.disabled and r.partner.layout.display == "none"
    assert r.exploration.count == 222 and "derived from" not in _plain(r.status.value)
    assert "vcpu 0: IS=3" not in figure_text(r.figure)


def test_race_explorer_refuses_unknown_partner():
    with pytest.raises(ConfigError, match="unknown partner"):
        RaceExplorer("tlbie-all", partner="sleep")


def test_race_explorer_back_to_a_setting_reuses_its_figure_and_says_the_same():
    """Each setting keeps its figure (its strip of interleavings): going back redraws in
    place, and the status and text are those of an explorer built at that setting."""
    ex = RaceExplorer()
    first, status, text = ex.figure, ex.status.value, ex.text
    ex.lock.value = False
    assert ex.figure is not first and "1400 break an invariant" in ex.status.value
    ex.lock.value = True
    assert ex.figure is first
    assert (ex.status.value, ex.text) == (status, text)
    assert (RaceExplorer().status.value, RaceExplorer().text) == (status, text)
