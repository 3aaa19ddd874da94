"""SetPartitionTableExplorer, driven headless (set .value, read text/status/figure)."""

import pytest

from pynest.kvm.hcalls import H_PARAMETER, H_SUCCESS
from pynest.viz.style import figure_text
from pynest.widgets.set_ptbl_explorer import SetPartitionTableExplorer, l1_with_two_l2s

GARBAGE = ["", "zebra", "not-a-number!", "0x", "-1", "12abc", "0x" + "f" * 17, "1e5"]


@pytest.fixture(scope="module")
def ex():
    return SetPartitionTableExplorer()


def test_starts_with_the_registered_table(ex):
    ex.memory.value = 256 << 20
    ex.nesting.value = True
    ex.issue(0x1004002)
    assert ex.error == "" and ex.outcome.rc == H_SUCCESS
    assert ex.outcome.nested_before == (1, 2)
    assert "H_SET_PARTITION_TABLE(0x1004002) -&gt; H_SUCCESS" in ex.status.value
    assert "r3 = H_SUCCESS (0)" in figure_text(ex.figure)


def test_bad_prts_is_h_parameter_and_state_kept(ex):
    ex.issue(0x1004005)
    out = ex.outcome
    assert out.rc == H_PARAMETER and out.ptcr_after == out.ptcr_before == 0x1004002
    assert "8192 entries" in ex.text and "dropped none" in ex.text
    assert ex.prts.value == 5


def test_slider_edits_prts_and_changes_picture(ex):
    ex.issue(0x2000000)
    before = figure_text(ex.figure)
    ex.prts.value = 7
    assert ex.ptcr_text.value == "0x2000007"
    assert ex.outcome.rc == H_PARAMETER and figure_text(ex.figure) != before
    ex.prts.value = 4
    assert ex.outcome.rc == H_SUCCESS and ex.outcome.ptcr_after == 0x2000004


def test_memory_size_decides_visibility(ex):
    ex.issue(0x0C000000)  # 192 MiB
    assert ex.outcome.rc == H_SUCCESS
    ex.memory.value = 128 << 20
    assert ex.outcome.rc == H_PARAMETER and "outside the L1's memslot" in ex.text
    ex.memory.value = 256 << 20


def test_nesting_off(ex):
    ex.nesting.value = False
    assert "H_FUNCTION" in ex.status.value and ex.outcome.nested_after == ()
    ex.nesting.value = True
    assert ex.outcome.rc == H_SUCCESS


def test_deregister_keeps_nested_guests(ex):
    ex.issue(0)
    assert ex.outcome.ptcr_after == 0 and ex.outcome.nested_after == (1, 2)
    assert "deregisters" in ex.text


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_a_message(ex, text):
    ex.issue(0x1004002)
    figure, updates = figure_text(ex.figure), ex.updates
    ex.ptcr_text.value = text
    assert ex.error and "PTCR" in ex.message.value
    assert ex.updates == updates and figure_text(ex.figure) == figure
    ex.prts.value = 3  # the slider still works after garbage
    assert ex.error == "" and ex.outcome is not None
    ex.issue(0x1004002)
    assert ex.error == "" and ex.message.value == ""


def test_world_builder():
    vm, ptcr = l1_with_two_l2s(128 << 20)
    assert ptcr == vm.l1_ptcr == 0x1004002 and len(vm.nested) == 2
    vm, ptcr = l1_with_two_l2s(128 << 20, nesting=False)
    assert ptcr == 0 and len(vm.nested) == 0
