"""Each notebook's "Try:" list, followed in JupyterLab as a learner would (issue 15 item 3).

For notebooks 00-10 and 12 (11's explorer is tested with the presenter view), the steps
below are the ones the notebook's "Try:" paragraph suggests, in its order, written as
actions on the explorer's controls found by their visible labels: type into a box and
press Enter, set a slider (its readout), pick from a menu, press a toggle, tick a box,
click a button. After each action (and the kernel idle again) the explorer's status line
must say the step's expected result with no complaint left in the message line, or, for
refused input, the message line must explain it while the last good picture stays; a
new status comes with a new picture; example menus name the case the controls hold.

The same scripts also run headless (no browser: the explorer objects driven from Python
through the same labels), so a changed explorer is caught by the fast suite too, and the
browser run checks that what the kernel computed is what the page shows.

Cost: one Run All per notebook on the session's Lab server (1280x720), then a few tenths
of a second per step: about 3 minutes for the twelve notebooks.
Screenshots of the last step of each notebook go to artifacts/screenshots/try-*.png.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as w
import pytest

from pynest.widgets.base import Explorer, descendants

from .conftest import SCREENSHOTS

IDLE = ".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']"


@dataclass(frozen=True)
class Step:
    """``do`` one of type/slide/pick/toggle/tick/click on the control labelled ``label``
    with ``value``; then the status line contains ``status`` and the message line
    contains ``message`` (an empty ``message`` means: no complaint shown)."""

    do: str
    label: str
    value: object = None
    status: str = ""
    message: str = ""
    menu: tuple[str, str] | None = None  # (menu label, the option it must show)


def T(label, text, status="", message=""):
    return Step("type", label, text, status, message)


def S(label, value, status="", message=""):
    return Step("slide", label, value, status, message)


def P(label, option, status="", message=""):
    return Step("pick", label, option, status, message)


def B(label, option, status="", message=""):
    return Step("toggle", label, option, status, message)


def X(label, status="", message=""):
    return Step("tick", label, None, status, message)


def C(label, status="", message=""):
    return Step("click", label, None, status, message)


def M(step: Step, menu: str, option: str) -> Step:
    """``step``, and afterwards the menu ``menu`` shows ``option``."""
    return Step(step.do, step.label, step.value, step.status, step.message, (menu, option))


OWN = "(your own values: pick an example to apply it)"


@dataclass(frozen=True)
class Script:
    notebook: str
    cell: str  # text of the explorer's code cell (the line that builds it)
    build: Callable[[], Explorer]  # the same explorer, for the headless run
    steps: tuple[Step, ...]


def _quadrants():
    from pynest.widgets.quadrant_explorer import QuadrantExplorer

    return QuadrantExplorer()


def _walk():
    from pynest.scenarios import radix_reference
    from pynest.widgets import WalkExplorer

    return WalkExplorer(radix_reference())


def _ptcr():
    from pynest.scenarios import radix_reference
    from pynest.widgets import PtcrExplorer

    return PtcrExplorer(radix_reference())


def _walk2d():
    from pynest.widgets import Walk2DExplorer

    return Walk2DExplorer(seed=0)


def _set_ptbl():
    from pynest.widgets import SetPartitionTableExplorer

    return SetPartitionTableExplorer()


def _lpids():
    from pynest.widgets import LpidMapExplorer

    return LpidMapExplorer()


def _races():
    from pynest.kvm.races import explore, run_schedule
    from pynest.widgets import RaceExplorer

    both_miss = run_schedule("create", "0 1 0 1 0 1 0 1 0 1")
    return RaceExplorer("create", start=explore("create").find(both_miss.schedule).number)


def _timeline():
    from pynest.widgets import EnterNestedTimelineExplorer

    return EnterNestedTimelineExplorer()


def _shadow():
    from pynest.widgets import ShadowTreesExplorer

    return ShadowTreesExplorer(seed=0)


def _tlbie():
    from pynest.widgets import TlbieExplorer

    return TlbieExplorer(seed=0)


def _copy():
    from pynest.widgets import CopyToFromGuestExplorer

    return CopyToFromGuestExplorer()


def _thread():
    from pynest.widgets import ReviewThreadExplorer

    return ReviewThreadExplorer()


QUADRANT = "quadrant (EA 0:1)"
ID_HINT = "type a whole number like 7"
ADDRESS_HINT = "type hex like 0x10000abc"
REGISTER_HINT = "type the register's bits in hex"
SCRIPTS: tuple[Script, ...] = (
    Script(
        "00_start_here.ipynb",
        "QuadrantExplorer()",
        _quadrants,
        (
            S(QUADRANT, 0, "quadrant 0 → LPID 0, PID 5; real address 0x3100abc"),
            M(
                S(QUADRANT, 1, "quadrant 1 → LPID 7, PID 5; DSI: empty PRTE"),
                "examples",
                "hypervisor, quadrant 1, PIDR 5: guest 7 has no PID 5",
            ),
            S(QUADRANT, 2, "quadrant 2 → LPID 7, PID 0; real address 0x4a00abc"),
            S(QUADRANT, 3, "quadrant 3 → LPID 0, PID 0; real address 0x3000abc"),
            S(QUADRANT, 1, "DSI: empty PRTE: this PID has no process tree"),
            M(
                T("PIDR", "3", "quadrant 1 → LPID 7, PID 3; real address 0x4b00abc"),
                "examples",
                "hypervisor, quadrant 1, PIDR 3: guest 7's process 3",
            ),
            M(S(QUADRANT, 0, "quadrant 0 → LPID 0, PID 3; DSI: empty PRTE"), "examples", OWN),
            M(
                T("LPIDR", "seven", message=f"LPIDR 'seven' is not a number: {ID_HINT}"),
                "examples",
                OWN,
            ),
            T("LPIDR", "7", "quadrant 0 → LPID 0, PID 3; DSI"),
        ),
    ),
    Script(
        "01_radix_page_tables.ipynb",
        "WalkExplorer(radix_reference())",
        _walk,
        (
            M(
                S("slide (4K pages)", 1, "load of 0x10001abc → DSI at L3"),
                "examples",
                "unmapped 4K neighbour: DSI at level 3",
            ),
            M(
                S("slide (4K pages)", 0x200, "load of 0x10200abc → real address 0x4000abc (8 "),
                "examples",
                OWN,
            ),
            M(
                P(
                    "examples",
                    "guest: the 2-D walk (example 4)",
                    "real address 0xa01678 (25 memory",
                ),
                "examples",
                "guest: the 2-D walk (example 4)",
            ),
            M(
                T("EA", "hello", message=f"EA 'hello' is not a number: {ADDRESS_HINT}"),
                "examples",
                OWN,
            ),
            M(
                P("examples", "4K page (worked example 1)", "real address 0x3000abc"),
                "examples",
                "4K page (worked example 1)",
            ),
        ),
    ),
    Script(
        "02_ptcr_and_partition_table.ipynb",
        "PtcrExplorer(radix_reference())",
        _ptcr,
        (
            C("flip that bit", "PATB 0x100000 not aligned to the 0x10000000-byte table"),
            T("PATB", "0x101000", "PATB 0x101000 not aligned to the 0x10000000-byte table"),
            S("PATS", 1, "PATB 0x101000 not aligned to the 0x2000-byte table"),
            T("PATB", "0x100000", "the MMU reads PATE[7] at 0x100070"),
            S("PATS", 0, "the MMU reads PATE[7] at 0x100070"),
            T("LPID", "256", "guest LPID 256: a load of 0xc000000000000abc takes an HDSI"),
            T("LPID", "255", "the MMU reads PATE[255] at 0x100ff0"),
            S("PATS", 8, "the MMU reads PATE[255] at 0x100ff0"),
            S("PATS", 9, "PATB 0x100000 not aligned to the 0x200000-byte table"),
            T("PTCR", "0x10q", message=f"PTCR '0x10q' is not a number: {REGISTER_HINT}"),
        ),
    ),
    Script(
        "03_process_table_and_quadrants.ipynb",
        "QuadrantExplorer()",
        _quadrants,
        (
            S(QUADRANT, 1, "DSI: empty PRTE"),
            S(QUADRANT, 2, "quadrant 2 → LPID 7, PID 0; real address"),
            S(QUADRANT, 3, "quadrant 3 → LPID 0, PID 0; real address"),
            S(QUADRANT, 1, "DSI: empty PRTE"),
            T("PIDR", "3", "quadrant 1 → LPID 7, PID 3; real address 0x4b00abc"),
            T("LPIDR", "9", "quadrant 1 → LPID 9, PID 3; real address 0x6c00abc"),
            T("LPIDR", "8", "HDSI: PATE[8] has HR=0 (not a radix partition)"),
            T("LPIDR", "7", "quadrant 1 → LPID 7, PID 3; real address 0x4b00abc"),
            P("who runs", "guest user", "quadrant 1 is not accessible with MSR[HV]=0"),
            S(QUADRANT, 3, "DSI: load not permitted by EAA prw- (privileged page, MSR[PR]=1)"),
            P("who runs", "guest kernel", "quadrant 3 → LPID 7, PID 0; real address 0x4a00abc"),
            P("AMR / IAMR", "AMR = 0xc000000000000000", "quadrant 3 → LPID 7, PID 0; real"),
            S(QUADRANT, 0, "DSI: load not permitted by EAA -rw- (AMR/IAMR key 0 blocks it)"),
            P("who runs", "hypervisor", "quadrant 0 → LPID 0, PID 3; DSI: empty PRTE"),
            P("AMR / IAMR", "AMR = IAMR = 0", "quadrant 0 → LPID 0, PID 3"),
            S(QUADRANT, 1, "quadrant 1 → LPID 7, PID 3; real address 0x4b00abc"),
            M(
                X("QEMU 7.2 quirk", "DSI: process tree level 0: entry invalid"),
                "examples",
                "... the same with the QEMU 7.2 quirk",
            ),
            X("QEMU 7.2 quirk", "real address 0x4b00abc"),
            T("EA bits 2:63", "0x10000010000abc", "DSEG: EA bits 2:11 are not zero"),
            M(
                T("LPIDR", "seven", message=f"LPIDR 'seven' is not a number: {ID_HINT}"),
                "examples",
                OWN,
            ),
        ),
    ),
    Script(
        "04_two_dimensional_walk.ipynb",
        "Walk2DExplorer(seed=0)",
        _walk2d,
        (
            S("access k of N", 12, "read 12 of 31: process-scoped L0[0x0] at gRA 0x110000"),
            P("partition page", "1G", "(19 reads, RA 0x24e600258)"),
            P("partition page", "4K", "(31 reads"),
            P("process page", "1G", "(21 reads"),
            P("process page", "4K", "(31 reads"),
            M(
                P("example", "unmapped neighbour", "(22 reads, then DSI)"),
                "example",
                "unmapped neighbour: EA 0x21b600000 (DSI)",
            ),
            M(
                T("EA", "hello", message=f"EA 'hello' is not a number: {ADDRESS_HINT}"),
                "example",
                OWN,
            ),
        ),
    ),
    Script(
        "05_h_set_partition_table.ipynb",
        "SetPartitionTableExplorer()",
        _set_ptbl,
        (
            S("PRTS", 5, "PRTS 5 asks for 2^13 = 8192 entries, more than 4096"),
            T("PTCR (r4)", "0xffff004", "H_SET_PARTITION_TABLE(0xffff004) -> H_SUCCESS"),
            P("L1 memory", "128 MiB", "-> H_PARAMETER (-4, r3 = 0xfffffffffffffffc); l1_ptcr"),
            P("L1 memory", "256 MiB", "-> H_SUCCESS (0, r3 = 0x0); l1_ptcr 0x1004002 -> 0xf"),
            T("PTCR (r4)", "0", "l1_ptcr 0x1004002 -> 0x0"),
            T("PTCR (r4)", "0xf000000001004002", "-> H_SUCCESS"),
            X("nesting enabled (KVM_CAP_PPC_NESTED_HV)", "-> H_FUNCTION (-2"),
            T(
                "PTCR (r4)",
                "not-a-number!",
                message=f"'not-a-number!' is not a number: {REGISTER_HINT}",
            ),
        ),
    ),
    Script(
        "06_nested_guests_and_lpids.ipynb",
        "LpidMapExplorer()",
        _lpids,
        (
            T("L1 LPID", "2", "L1 LPID 2: L1 entry"),
            C(
                "enter (H_ENTER_NESTED)",
                "L1 LPID 2: L1 entry dw0=0xc0000000010300ad; gp with shadow LPID 3",
            ),
            T("L1 LPID", "1", "gp with shadow LPID 2"),
            C("remove (destroy the L2)", "no nested guest in L0 (nested_guests[1] is NULL)"),
            C("create an L2", "L1 LPID 1: L1 entry"),
            C(
                "enter (H_ENTER_NESTED)",
                "L1 LPID 1: L1 entry dw0=0xc0000000010500ad; gp with shadow LPID 2",
            ),
            T("L1 LPID", "1024", message="L1 LPID 1024 is past the L1's partition table"),
            T(
                "L1 LPID",
                "not-a-number!",
                message=f"L1 LPID 'not-a-number!' is not a number: {ID_HINT}",
            ),
        ),
    ),
    Script(
        "06_nested_guests_and_lpids.ipynb",
        "RaceExplorer(",
        _races,
        (
            X("re-check after alloc", "without re-check: 222 interleavings, 210 break"),
            X("re-check after alloc", "the kernel's code: 222 interleavings, none breaks"),
            X("mmu_lock", "without mmu_lock: 3380 interleavings, 1400 break"),
            X("mmu_lock", "the kernel's code: 222 interleavings"),
            B("race", "remove (remove + put)", "remove race, the kernel's code: 148 interleavings"),
            X("== gp check", "without == gp check: 148 interleavings, 140 break"),
            C("next broken ▶", "#4 of 148: broken: negative-refcnt, use-after-free"),
            B("race", "tlbie-all (IS=3 RIC=2)", "not observed on hardware"),
            C("next broken ▶", "#1 of 153: broken: use-after-free"),
        ),
    ),
    Script(
        "07_h_enter_nested.ipynb",
        "EnterNestedTimelineExplorer()",
        _timeline,
        (
            S("event", 3, "Event 3 of 76: nested-get"),
            X("second run (shadow tables warm)", "H_ENTER_NESTED returned 0xc00 → ceded"),
            X("second run (shadow tables warm)", "returned 0xe20, 0xe00, 0xe00, 0xc00 → ceded"),
            P("L2 program", "spin past the HDEC deadline", "returned 0xe20, 0x980, 0xc00"),
            T("HDEC slice", "2000", "returned 0xe20, 0xc00 → ceded"),
            P("L2 program", "store, load, cede", "returned 0xe20, 0xe00, 0xe00, 0xc00"),
            T("LPCR (L1)", "0x380080c", "L0 overrode the L1's 0x380080c in bits outside the mask"),
            P("L2 program", "load from a page the L2 never mapped", "returned 0xe20, 0xc00"),
            T("LPCR (L1)", "0x10q", message=f"LPCR '0x10q' is not a number: {REGISTER_HINT}"),
        ),
    ),
    Script(
        "08_shadow_page_tables.ipynb",
        "ShadowTreesExplorer(seed=0)",
        _shadow,
        (
            S("step", 1, "step 1: L2 stores to L2 real 0x6302d8 — reflected to the L1 1 time"),
            S("step", 2, "step 2: L2 loads from L2 real 0x6302e0 — L0 alone"),
            S("step", 5, "step 5: L1 unmaps L2 real 0x6302d8 from its tree"),
            B("L0 page", "1G", "step 5: L1 unmaps"),
            S("step", 7, "step 7: L0 takes away the L1 page behind L2 real 0xed0870"),
            S("step", 8, "step 8: L2 loads from L2 real 0xed0870 — L0 alone"),
            B("L1 page", "2M", "step 8"),
            S("step", 1, "host real 0x446302d8"),
            B("L0 page", "2M", "host real 0x146302d8"),
            B("", "store", "step 1"),
            T("L2 real", "0x110000", message="holds the L2's own page tables"),
            B("", "load", "step 9: L2 loads from L2 real 0x110000"),
            T("L2 real", "0x110000", "step 10: L2 loads from L2 real 0x110000"),
            T("L2 real", "0x1000000", message="0x1000000 is outside the L2's memory"),
        ),
    ),
    Script(
        "09_tlb_invalidation.ipynb",
        "TlbieExplorer(seed=0)",
        _tlbie,
        (
            P("IS", "2: one LPID", "removed 4 TLB entries and 7 shadow PTEs"),
            S("LPID", 2, "H_SUCCESS (0): removed"),
            S("LPID", 3, "removed 0 TLB entries and 0 shadow PTEs"),
            S("LPID", 1, "removed 4 TLB entries and 7 shadow PTEs"),
            P("IS", "0: one page", "removed 0 TLB entries and 1 shadow PTEs"),
            P("AP", "5: 64K", "removed 0 TLB entries and 1 shadow PTEs"),
            T("EPN", "0x930000", "removed 1 TLB entries and 1 shadow PTEs"),
            P("AP", "1: 2M", "removed 2 TLB entries and 2 shadow PTEs"),
            B("issued by", "L0: tlbie", "tlbie done: removed 0 TLB entries and 0 shadow PTEs"),
            S("LPID", 2, "tlbie done: removed 2 TLB entries and 0 shadow PTEs"),
            B("issued by", "L1: H_TLB_INVALIDATE", "H_SUCCESS (0): removed 2 TLB entries"),
            B("PRS", "1", "L0 returns H_PARAMETER (-4)"),
            T(
                "EPN",
                "not-a-number!",
                message=f"EPN 'not-a-number!' is not a number: {ADDRESS_HINT}",
            ),
        ),
    ),
    Script(
        "10_copy_tofrom_guest.ipynb",
        "CopyToFromGuestExplorer()",
        _copy,
        (
            P("examples", "the L2's code", "H_SUCCESS: 16 bytes of L2 1 at EA 0x10000 copied"),
            P("examples", "a page the L2 maps but never touched", "returned H_NOT_FOUND (-7)"),
            M(T("EA (r6)", "0x10", "returned H_NOT_FOUND (-7)"), "examples", OWN),
            P("L2", "L2 lpid 2", "H_SUCCESS: 16 bytes of L2 2 at EA 0x1000e000"),
            P("examples", "the same data page as a quadrant-3 EA", "returned H_PARAMETER (-4)"),
            M(
                T("EA (r6)", "0x10q", message=f"EA '0x10q' is not a number: {ADDRESS_HINT}"),
                "examples",
                OWN,
            ),
        ),
    ),
    Script(
        "12_reviewing_patch_18.ipynb",
        "ReviewThreadExplorer()",
        _thread,
        (
            P("review point", "2.", "4.20 as merged: every VM pays 8,196 bytes"),
            B("the model runs", "instead", "instead, the IDR of 5.19: a VM without nested"),
            P("review point", "8.", "instead, no == gp test: 140 of 148 orders break"),
            B("the model runs", "4.20 as merged", "4.20 as merged: the test keeps a second"),
        ),
    ),
)


# ----------------------------------------------------------------------- headless
def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\xa0", " ")


class Headless:
    """The explorer object, its controls found by their descriptions."""

    def __init__(self, ex: Explorer) -> None:
        self.ex = ex

    def _find(self, label: str, kinds: tuple[type, ...]) -> w.Widget:
        for top in self.ex.controls():
            for c in descendants(top):
                if isinstance(c, kinds) and getattr(c, "description", None) == label:
                    return c
        raise AssertionError(f"no control labelled {label!r}")

    @staticmethod
    def _value_of(control: w.Widget, label: str) -> object:
        for option in control.options:
            shown, value = option if isinstance(option, tuple) else (str(option), option)
            if shown == label or shown.startswith(label):
                return value
        raise AssertionError(f"{control.description!r} has no option {label!r}")

    def do(self, step: Step) -> None:
        if step.do == "type":
            self._find(step.label, (w.Text,)).value = str(step.value)
        elif step.do == "slide":
            self._find(step.label, (w.IntSlider,)).value = step.value
        elif step.do in ("pick", "toggle"):
            kinds = (w.Dropdown,) if step.do == "pick" else (w.ToggleButtons,)
            control = self._find(step.label, kinds)
            control.value = self._value_of(control, str(step.value))
        elif step.do == "tick":
            box = self._find(step.label, (w.Checkbox,))
            box.value = not box.value
        elif step.do == "click":
            self._find(step.label, (w.Button,)).click()

    def status(self) -> str:
        return _plain(self.ex.status.value)

    def message(self) -> str:
        return _plain(self.ex.message.value)

    def menu(self, label: str) -> str:
        return self._find(label, (w.Dropdown,)).label


def _check(script: Script, i: int, step: Step, status: str, message: str, menu: str | None):
    where = f"{script.notebook} step {i + 1} ({step.do} {step.label!r} {step.value!r})"
    if step.message:
        assert step.message in message, f"{where}: message {message!r}"
    else:
        assert message.strip() == "", f"{where}: a complaint stays: {message!r}"
        assert step.status in status, f"{where}: status {status!r}"
    if step.menu is not None:
        assert menu == step.menu[1], f"{where}: menu {step.menu[0]!r} shows {menu!r}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: f"{s.notebook[:2]}-{s.cell[:12]}")
def test_try_steps_headless(script):
    ex = Headless(script.build())
    for i, step in enumerate(script.steps):
        ex.do(step)
        menu = ex.menu(step.menu[0]) if step.menu else None
        _check(script, i, step, ex.status(), ex.message(), menu)


# ----------------------------------------------------------------------- in the browser
_PARTS = """(out) => {
    const box = out.querySelector('.widget-vbox');
    const kids = [...box.children];
    const o = kids.map(k => k.classList.contains('widget-output')).lastIndexOf(true);
    // the whole src, hashed: SVG data URIs of two states can share their length and tail
    const hash = s => {
        let h = 0;
        for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0;
        return s.length + ':' + (h >>> 0).toString(16);
    };
    const srcs = [...kids[o].querySelectorAll('img')].map(i => hash(i.src));
    return [kids[o - 2].innerText, kids[o - 1].innerText, srcs.join(' ') || '0:'];
}"""


class InLab:
    """The explorer on the page: the output area of its code cell."""

    def __init__(self, page, cell_text: str) -> None:
        self.page = page
        cell = page.locator(".jp-CodeCell", has_text=cell_text).first
        self.out = (
            cell.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-vbox")).first
        )
        self.out.scroll_into_view_if_needed()

    def _control(self, css: str, label: str):
        exact = re.compile(rf"^{re.escape(label)}$")
        return (
            self.out.locator(css)
            .filter(has=self.page.locator(".widget-label", has_text=exact))
            .first
        )

    def do(self, step: Step) -> None:
        label = step.label
        if step.do == "type":
            box = self._control(".widget-text", label).locator("input")
            box.fill(str(step.value))
            box.press("Enter")
        elif step.do == "slide":
            readout = self._control(".widget-hslider", label).locator(".widget-readout")
            readout.fill(str(step.value))
            readout.press("Enter")
        elif step.do == "pick":
            select = self._control(".widget-dropdown", label).locator("select")
            options = select.locator("option").all_inner_texts()
            wanted = str(step.value)
            shown = next(o for o in options if o.replace("\xa0", " ").startswith(wanted))
            select.select_option(label=shown)
        elif step.do == "toggle":
            if label:
                group = self._control(".widget-toggle-buttons", label)
            else:
                group = (
                    self.out.locator(".widget-toggle-buttons")
                    .filter(has=self.page.locator("button", has_text=str(step.value)))
                    .last
                )
            group.locator(
                "button", has_text=re.compile(rf"^{re.escape(str(step.value))}")
            ).first.click()
        elif step.do == "tick":
            self.out.locator(".widget-checkbox", has_text=label).locator("input").first.click()
        elif step.do == "click":
            self.out.locator("button", has_text=label).first.click()

    def wait(self, step: Step) -> list:
        """Wait until the lines say what ``step`` expects (or 15 s), return them."""
        want_message, want_status = step.message, step.status
        self.page.wait_for_function(
            f"""([out, wm, ws]) => {{
                const p = ({_PARTS})(out);
                const msg = p[0].replace(/\\u00a0/g, ' '), st = p[1].replace(/\\u00a0/g, ' ');
                if (!document.querySelector("{IDLE}")) return false;
                if (wm) return msg.includes(wm);
                return msg.trim() === '' && st.includes(ws);
            }}""",
            arg=[self.out.element_handle(), want_message, want_status],
            timeout=15_000,
        )
        self.page.wait_for_timeout(200)  # the kernel may go busy again for a second redraw
        self.page.wait_for_selector(IDLE, timeout=15_000)
        return self.out.evaluate(_PARTS)

    def new_picture(self, old: str) -> list:
        """Wait (up to 10 s) until the picture is no longer ``old``; return the lines."""
        try:
            self.page.wait_for_function(
                f"([out, old]) => ({_PARTS})(out)[2] !== old",
                arg=[self.out.element_handle(), old],
                timeout=10_000,
            )
        except Exception:  # the caller's check says the picture stayed
            pass
        return self.out.evaluate(_PARTS)

    def menu(self, label: str) -> str:
        select = self._control(".widget-dropdown", label).locator("select")
        return select.evaluate("s => s.options[s.selectedIndex].text").replace("\xa0", " ")


@pytest.mark.parametrize("notebook", sorted({s.notebook for s in SCRIPTS}))
def test_try_steps_in_lab(page, lab, notebook):
    from .test_notebooks_in_lab import _run_all

    page.set_viewport_size({"width": 1280, "height": 720})
    _run_all(page, lab, notebook)
    raised = page.locator(".jp-OutputArea-output").filter(has_text="Traceback")
    assert raised.count() == 0, f"{notebook}: a cell raised: {raised.first.inner_text()[-600:]}"
    for script in (s for s in SCRIPTS if s.notebook == notebook):
        ex = InLab(page, script.cell)
        previous = ex.out.evaluate(_PARTS)
        for i, step in enumerate(script.steps):
            ex.do(step)
            try:
                parts = ex.wait(step)
            except Exception:  # the check below says what the page shows instead
                parts = ex.out.evaluate(_PARTS)
            if not step.message and parts[1] != previous[1] and parts[2] == previous[2]:
                parts = ex.new_picture(previous[2])  # the status may land before the image
            menu = ex.menu(step.menu[0]) if step.menu else None
            message, status = (p.replace("\xa0", " ") for p in parts[:2])
            _check(script, i, step, status, message, menu)
            where = f"{notebook} step {i + 1} ({step.do} {step.label!r} {step.value!r})"
            assert not parts[2].startswith("0:"), f"{where}: the picture is gone"
            if step.message:  # refused input: the last good picture stays
                assert parts[2] == previous[2], f"{where}: the picture changed"
            elif status != previous[1].replace("\xa0", " "):  # the picture follows the line
                assert parts[2] != previous[2], f"{where}: new status, same picture"
            previous = parts
    assert raised.count() == 0, f"{notebook}: a step raised: {raised.first.inner_text()[-600:]}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"try-{notebook.removesuffix('.ipynb')}.png"))
