"""The quadrant explorer of notebook 03: pick who runs and which quadrant, see which tree.

Controls, top to bottom:

* **examples** -- named cases (the host kernel, a guest's kernel reached from the
  hypervisor, a guest user touching its kernel...) that set every other control; it
  names the case the controls hold, or says they hold your own values;
* **mode** -- hypervisor (MSR[HV]=1), guest kernel (HV=0, PR=0) or guest user (HV=0,
  PR=1); **quadrant** -- EA bits 0:1, a slider from 0 to 3;
* **LPIDR**, **PIDR** -- typed, hex or decimal; **EA bits 2:63** -- the rest of the EA
  (set a bit in 2:11 to see the segment interrupt);
* **access**, **AMR/IAMR key 0**, **LPCR[UPRT]** and **QEMU 7.2 quirk** (HV access to
  quadrants 1/2 as QEMU 7.2 does it, guest table addresses used as host real).

The picture shows the EA split, the quadrant table with the row in use, and the path
PATE[LPID] -> PRTE[PID] -> process tree -> partition tree -> result. Translations are the
debugger's view (``update_rc=False``), so exploring never changes the world.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.walk import Stage, Tree
from ..mmu.xlate import CpuState, Translation, translate
from ..scenarios.quadrants import AMR_CHOICES, DATA_EA, MODES, quadrant_world, tree_of
from ..viz.quadrants import QuadrantPicture, draw_quadrants, quadrant_picture
from .base import Explorer, slider, text_box
from .menus import CUSTOM, follow, with_custom

# label, mode, quadrant, LPIDR, PIDR, EA bits 2:63, access, AMR choice, quirk
EXAMPLES: tuple[tuple[str, str, int, int, int, int, str, int, bool], ...] = (
    (
        "hypervisor, quadrant 0: host process PID 5",
        "hv",
        0,
        7,
        5,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    ("hypervisor, quadrant 3: the host kernel", "hv", 3, 7, 5, DATA_EA + 0xABC, "load", 0, False),
    (
        "hypervisor, quadrant 2: guest 7's kernel (2-D walk)",
        "hv",
        2,
        7,
        5,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "hypervisor, quadrant 1, PIDR 5: guest 7 has no PID 5",
        "hv",
        1,
        7,
        5,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "hypervisor, quadrant 1, PIDR 3: guest 7's process 3",
        "hv",
        1,
        7,
        3,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    ("... the same with the QEMU 7.2 quirk", "hv", 1, 7, 3, DATA_EA + 0xABC, "load", 0, True),
    (
        "hypervisor, quadrant 1, LPIDR 9: the other guest",
        "hv",
        1,
        9,
        3,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "hypervisor, LPIDR 8: an empty PATE -> HDSI",
        "hv",
        2,
        8,
        3,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "guest kernel, quadrant 0: its process 3",
        "guest",
        0,
        7,
        3,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "guest kernel, quadrant 1: closed -> DSEG",
        "guest",
        1,
        7,
        3,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "guest kernel, AMR blocks loads of user pages",
        "guest",
        0,
        7,
        3,
        DATA_EA + 0xABC,
        "load",
        2,
        False,
    ),
    (
        "guest user, quadrant 3: privileged page -> DSI",
        "user",
        3,
        7,
        3,
        DATA_EA + 0xABC,
        "load",
        0,
        False,
    ),
    (
        "guest user, fetch from its data page -> ISI",
        "user",
        0,
        7,
        3,
        DATA_EA + 0xAB0,
        "fetch",
        0,
        False,
    ),
    (
        "EA bit 11 set -> DSEG before any table",
        "hv",
        0,
        7,
        5,
        (1 << 52) | DATA_EA,
        "load",
        0,
        False,
    ),
)
"""Named cases of :func:`pynest.scenarios.quadrants.quadrant_world`."""

_OFFSET_LIMIT = 1 << 62


def _who(lpid: int, pid: int) -> str:
    info = tree_of(lpid, pid)
    if info is not None:
        return info.who
    if lpid not in (0, 7, 9):
        return f"no partition {lpid}"
    return f"no process {pid} in {'the host' if lpid == 0 else f'guest {lpid}'}"


class QuadrantExplorer(Explorer):
    """Explore quadrants in the quadrant world (or another :class:`MmuWorld`).

    ``example`` is the index into :data:`EXAMPLES` to start with.
    """

    def __init__(self, world=None, example: int = 0) -> None:
        super().__init__()
        self.own_world = world is None
        self.world = quadrant_world() if world is None else world
        first_cpu = next(iter(self.world.contexts.values()))
        self.ptcr = first_cpu.ptcr
        self.translation: Translation | None = None
        self.picture: QuadrantPicture | None = None
        self.figure: Figure | None = None
        self.cpu: CpuState | None = None
        _label, mode, q, lpidr, pidr, offset, access, amr, quirk = EXAMPLES[example]
        style = {"description_width": "110px"}
        self.example = w.Dropdown(
            options=with_custom([(e[0], i) for i, e in enumerate(EXAMPLES)]),
            value=example,
            description="examples",
            style=style,
            layout=w.Layout(width="560px"),
        )
        self.mode = w.Dropdown(
            options=[(label, key) for key, (label, _msr) in MODES.items()],
            value=mode,
            description="who runs",
            style=style,
            layout=w.Layout(width="420px"),
        )
        self.quadrant = slider(
            q, 0, 3, "quadrant (EA 0:1)", {"description_width": "130px"}, width="420px"
        )
        self.lpidr_text = text_box(str(lpidr), "LPIDR", "240px", style)
        self.pidr_text = text_box(str(pidr), "PIDR", "240px", style)
        self.offset_text = text_box(f"{offset:#x}", "EA bits 2:63", "360px", style)
        self.access = w.ToggleButtons(
            options=["load", "store", "fetch"], value=access, description="access", style=style
        )
        self.amr = w.Dropdown(
            options=[(text, i) for i, (_a, _i, text) in enumerate(AMR_CHOICES)],
            value=amr,
            description="AMR / IAMR",
            style=style,
            layout=w.Layout(width="560px"),
        )
        self.uprt = w.Checkbox(value=True, description="LPCR[UPRT] = 1", indent=False)
        self.quirk = w.Checkbox(value=quirk, description="QEMU 7.2 quirk", indent=False)
        self.watch(self.example, handler=self._on_example)
        self.watch(
            self.mode,
            self.quadrant,
            self.lpidr_text,
            self.pidr_text,
            self.offset_text,
            self.access,
            self.amr,
            self.uprt,
            self.quirk,
        )
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            self.example,
            w.HBox([self.mode, self.quadrant]),
            w.HBox([self.lpidr_text, self.pidr_text, self.offset_text]),
            self.access,
            self.amr,
            w.HBox([self.uprt, self.quirk]),
        ]

    # ------------------------------------------------------------------ handlers
    def _on_example(self, change: dict) -> None:
        if self._busy or change["new"] in (None, CUSTOM):
            return
        _label, mode, q, lpidr, pidr, offset, access, amr, quirk = EXAMPLES[change["new"]]
        self._busy = True
        try:
            self.mode.value = mode
            self.quadrant.value = q
            self.lpidr_text.value = str(lpidr)
            self.pidr_text.value = str(pidr)
            self.offset_text.value = f"{offset:#x}"
            self.access.value = access
            self.amr.value = amr
            self.uprt.value = True
            self.quirk.value = quirk
        finally:
            self._busy = False
        self.refresh()

    def _held(self) -> tuple[object, ...]:
        """The controls as an example row (numbers parsed; None where the text is not
        a number)."""

        def parsed(text: str) -> int | None:
            try:
                return self.number(text, "box")
            except ValueError:
                return None

        return (
            self.mode.value,
            self.quadrant.value,
            parsed(self.lpidr_text.value),
            parsed(self.pidr_text.value),
            parsed(self.offset_text.value),
            self.access.value,
            self.amr.value,
            self.quirk.value,
        )

    def _follow_example(self) -> None:
        held = self._held()
        match = next(
            (
                i
                for i, (_label, *case) in enumerate(EXAMPLES)
                if self.uprt.value and tuple(case) == held
            ),
            CUSTOM,
        )
        follow(self.example, match)

    # ------------------------------------------------------------------ model
    def state(self) -> tuple[CpuState, int]:
        """The CPU state and EA the controls describe; raises FieldError on bad text."""
        lpidr = self.number(self.lpidr_text.value, "LPIDR", bits=32, kind="id")
        pidr = self.number(self.pidr_text.value, "PIDR", bits=32, kind="id")
        offset = self.number(self.offset_text.value, "EA bits 2:63", kind="address")
        if offset >= _OFFSET_LIMIT:
            raise ValueError(
                f"EA bits 2:63 {offset:#x} is wider than 62 bits: the top two bits are the "
                "quadrant, which the slider sets"
            )
        amr, iamr, _text = AMR_CHOICES[self.amr.value]
        lpcr = C.LPCR_HR | (C.LPCR_UPRT if self.uprt.value else 0)
        msr = MODES[self.mode.value][1]
        cpu = CpuState(
            ptcr=self.ptcr, lpidr=lpidr, pidr=pidr, lpcr=lpcr, msr=msr, amr=amr, iamr=iamr
        )
        return cpu, (self.quadrant.value << 62) | offset

    def update(self) -> list[Figure]:
        self._follow_example()
        cpu, ea = self.state()
        t = translate(
            self.world.mem,
            cpu,
            ea,
            self.access.value,
            update_rc=False,
            qemu_7_2_quirk=self.quirk.value,
        )
        self.cpu = cpu
        self.translation = t
        pic = quadrant_picture(cpu, t, _who if self.own_world else None)
        self.picture = pic
        self.figure = draw_quadrants(pic, fig=self.figure)
        self.text = pic.text() + "\n\n" + str(t)
        ids = f"LPID {t.lpid}, PID {t.pid}" if t.lpid is not None else "no LPID/PID"
        head = f"{t.access} of EA {ea:#018x}: quadrant {t.quadrant} → {ids}"
        if t.fault is None:
            self.set_status(f"{head}; real address {t.ra:#x} ({t.memory_reads} memory reads)")
        else:
            why = t.fault.reason
            read_prte = any(st.tree == Tree.PROCESS_TABLE for st in t.steps)
            if read_prte and t.fault.stage == Stage.PROCESS and t.fault.level == 0:
                why = f"{why} (that is PRTE[{t.pid}] of LPID {t.lpid})"
            self.set_status(f"{head}; {t.fault.interrupt}: {why}", ok=False)
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
