"""The quadrant explorer, driven headless: set controls, read status, text and figure.

Expected addresses come from the quadrant world (see tests/viz/test_quadrants_figures.py):
host process 5 maps EA 0x10000000 to 0x3100000, the host kernel to 0x3000000, guest 7's
kernel to guest real 0xa00000 = host real 0x4a00000, its process 3 to 0x4b00000, guest
9's process 3 to 0x6c00000.
"""

import pytest

from pynest.widgets.quadrant_explorer import EXAMPLES, QuadrantExplorer

GARBAGE = ["", "   ", "zebra", "not-a-number!", "0x", "-1", "12abc", "1e5", "0x" + "f" * 17]


def _plain(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture
def qx():
    return QuadrantExplorer()


def test_starts_on_the_host_process(qx):
    assert qx.error == ""
    assert "LPID 0, PID 5" in qx.status.value and "0x3100abc" in qx.status.value
    assert qx.figures == [qx.figure] and qx.picture.selected == 0


def test_the_quadrant_slider_changes_tree_and_picture(qx):
    expect = {2: (7, 0, 0x4A00ABC), 3: (0, 0, 0x3000ABC), 0: (0, 5, 0x3100ABC)}
    for q, (lpid, pid, ra) in expect.items():
        before = qx.updates
        qx.quadrant.value = q
        t = qx.translation
        assert (t.lpid, t.pid, t.ra) == (lpid, pid, ra)
        assert qx.updates == before + 1 and qx.picture.selected == q
    qx.quadrant.value = 1  # guest 7 has no process 5
    assert qx.translation.fault.interrupt == "DSI" and "no process 5" in qx.render_text()
    assert "empty PRTE: this PID has no process tree" in qx.status.value
    assert "(that is PRTE[5] of LPID 7)" in qx.status.value


def test_pidr_and_lpidr_pick_the_guest_process(qx):
    qx.quadrant.value = 1
    qx.pidr_text.value = "3"
    assert qx.translation.ra == 0x4B00ABC
    qx.lpidr_text.value = "0x9"
    assert qx.translation.ra == 0x6C00ABC
    qx.lpidr_text.value = "8"  # an empty row of the partition table
    assert qx.translation.fault.interrupt == "HDSI"


def test_guest_modes(qx):
    qx.mode.value = "guest"
    qx.pidr_text.value = "3"
    assert qx.translation.ra == 0x4B00ABC  # quadrant 0: its process
    qx.quadrant.value = 1
    assert qx.translation.fault.interrupt == "DSEG"
    qx.quadrant.value = 3
    assert qx.translation.ra == 0x4A00ABC  # its kernel
    qx.mode.value = "user"
    assert qx.translation.fault.cause == 0x08000000  # privileged page, MSR[PR]=1


def test_amr_blocks_a_privileged_access_to_a_user_page(qx):
    qx.amr.value = 2  # loads and stores blocked for key 0
    assert qx.translation.fault.interrupt == "DSI"
    assert "AMR" in qx.translation.fault.reason
    qx.quadrant.value = 3  # the host kernel's pages are privileged: AMR does not apply
    assert qx.translation.ra == 0x3000ABC


def test_qemu_quirk_and_uprt(qx):
    qx.quadrant.value = 1
    qx.pidr_text.value = "3"
    assert qx.translation.ra == 0x4B00ABC
    qx.quirk.value = True  # QEMU 7.2: guest table addresses read as host real
    assert qx.translation.fault is not None and qx.translation.fault.cause == 0x40000000
    assert "quirk" in qx.render_text()
    qx.quirk.value = False
    qx.uprt.value = False
    assert qx.translation.ra == 0x4B00ABC and "UPRT" in qx.render_text()


def test_every_example_runs(qx):
    for i, example in enumerate(EXAMPLES):
        qx.example.value = i
        assert qx.error == "", example[0]
        assert qx.mode.value == example[1] and qx.quadrant.value == example[2]
        assert qx.translation.quadrant == example[2]


@pytest.mark.parametrize("box", ["lpidr_text", "pidr_text", "offset_text"])
@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_explained_not_raised(qx, box, text):
    figure, updates = qx.figure, qx.updates
    good = getattr(qx, box).value
    getattr(qx, box).value = text
    assert qx.error, text
    message = _plain(qx.message.value)
    label = {"lpidr_text": "LPIDR", "pidr_text": "PIDR", "offset_text": "EA bits 2:63"}[box]
    assert "✘" in message and label in message  # the message names the box
    assert qx.figure is figure and qx.updates == updates
    getattr(qx, box).value = good
    assert qx.error == "" and qx.message.value == ""


def test_too_wide_values(qx):
    qx.offset_text.value = hex(1 << 62)
    assert "quadrant" in qx.error
    qx.offset_text.value = "0x10000abc"
    qx.lpidr_text.value = hex(1 << 32)
    assert "32 bits" in qx.error
    qx.lpidr_text.value = "7"
    assert qx.error == ""


def test_another_world_works_too():
    from pynest.scenarios import radix_reference

    other = QuadrantExplorer(radix_reference())
    assert other.error == "" and other.translation.ra == 0x3000ABC  # worked example 1
    other.quadrant.value = 1
    other.pidr_text.value = "3"
    other.offset_text.value = "0x12345678"  # worked example 5: architected 2-D walk
    assert other.translation.ra == 0xA01678
    other.quirk.value = True  # QEMU 7.2 reads guest real 0x20000 as host real: DSI NOPTE
    assert other.translation.fault.cause == 0x40000000 and other.translation.memory_reads == 7
    for i in range(len(EXAMPLES)):
        other.example.value = i
        assert other.error == ""
