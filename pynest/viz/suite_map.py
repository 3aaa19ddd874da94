"""Figures of the suite itself (notebook 00): the L0/L1/L2 layering and the notebook map.

* :func:`draw_nesting_layers` -- the three levels of nested virtualization on POWER9: the
  real hypervisor L0 on the hardware, a guest hypervisor L1, its nested guests L2; the
  hcalls an L1 makes to L0 and the nested page fault an L2 causes, each tagged with the
  notebook that explains it;
* :func:`draw_suite_map` -- the notebooks 01..12 in teaching order, in three parts.

:data:`NOTEBOOKS` lists the notebooks with one line each (also used by notebook 00's text).
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from . import style as S


@dataclass(frozen=True, slots=True)
class NotebookInfo:
    """One notebook of the suite: file stem, short title, one line, which part."""

    stem: str
    title: str
    line: str
    part: int

    @property
    def number(self) -> str:
        return self.stem[:2]


NOTEBOOKS: tuple[NotebookInfo, ...] = (
    NotebookInfo(
        "01_radix_page_tables",
        "radix page tables",
        "the POWER9 radix tree: EA split, PDE and PTE formats, one walk level by level",
        1,
    ),
    NotebookInfo(
        "02_ptcr_and_partition_table",
        "PTCR, partition table",
        "the PTCR and the partition table: one entry per LPID, what the MMU refuses",
        1,
    ),
    NotebookInfo(
        "03_process_table_and_quadrants",
        "processes, quadrants",
        "PATE dw1 and the process table; the quadrant picks LPID and PID; privilege, AMR",
        1,
    ),
    NotebookInfo(
        "04_two_dimensional_walk",
        "the 2-D walk",
        "a guest's two-dimensional walk: every guest real table address translated again",
        1,
    ),
    NotebookInfo(
        "05_h_set_partition_table",
        "H_SET_PARTITION_TABLE",
        "an L1 registers its partition table with L0, which keeps it as l1_ptcr",
        2,
    ),
    NotebookInfo(
        "06_nested_guests_and_lpids",
        "nested guests, LPIDs",
        "L0's nested-guest records: L1 LPIDs, shadow LPIDs, references and removal",
        2,
    ),
    NotebookInfo(
        "07_h_enter_nested",
        "H_ENTER_NESTED",
        "an L1 runs an L2: hv_guest_state, the state L0 sanitises, the exits back to L1",
        2,
    ),
    NotebookInfo(
        "08_shadow_page_tables",
        "shadow page tables",
        "nested page faults: L0 walks the L1's tree and fills a shadow tree for the L2",
        2,
    ),
    NotebookInfo(
        "09_tlb_invalidation",
        "H_TLB_INVALIDATE",
        "an L1's tlbie, emulated by L0: which shadow entries and TLB entries go",
        3,
    ),
    NotebookInfo(
        "10_copy_tofrom_guest",
        "H_COPY_TOFROM_GUEST",
        "an L1 reads and writes its L2's memory by effective address, through L0",
        3,
    ),
    NotebookInfo(
        "11_classroom_demo",
        "classroom demo",
        "one L0, an L1 and two L2s from boot to teardown, for a lecture",
        3,
    ),
    NotebookInfo(
        "12_reviewing_patch_18",
        "reviewing patch 18",
        "reading the framework patch itself: the hcall stubs, l1_ptcr, the review questions",
        3,
    ),
)
"""The suite in teaching order."""

PARTS = {
    1: "Part 1 · the radix MMU",
    2: "Part 2 · an L1 runs an L2",
    3: "Part 3 · keeping it right, and using it",
}


def _arrow(cv, x0: float, y0: float, x1: float, y1: float, colour: str = S.BLACK) -> None:
    patch = FancyArrowPatch(
        (x0, y0),
        (x1, y1),
        transform=cv.transform,
        arrowstyle="-|>",
        mutation_scale=20,
        linewidth=2.0,
        color=colour,
        clip_on=False,
    )
    cv.fig.patches.append(patch)
    patch.set_figure(cv.fig)


def _tag(cv, x: float, y: float, number: str, on: bool = False) -> None:
    """A small notebook-number badge."""
    S.box(cv, x - 0.26, y - 0.17, 0.52, 0.34, S.YELLOW if on else S.WHITE, lw=1.0)
    S.label(cv, x, y, number, S.SMALL_SIZE, bold=True, mono=True)


def draw_nesting_layers(highlight: str | None = None) -> Figure:
    """L2 guests on an L1 guest hypervisor on the L0 hypervisor on POWER9, with the hcalls
    and the nested page fault between them. ``highlight`` (a notebook number such as
    "05") frames the parts that notebook explains."""
    width, height = S.FIGURE_WIDTH, 7.6
    fig = S.new_figure(width, height)
    cv = S.canvas_axes(fig, width, height)
    S.label(
        cv,
        0.2,
        height - 0.35,
        "Nested virtualization on POWER9: three levels, two in hardware",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    left, right = 0.3, 8.6  # the stack; hcalls to the right of it
    # hardware
    S.box(cv, left, 0.25, right - left, 0.7, S.tint(S.GREY, 0.45))
    S.label(
        cv,
        (left + right) / 2,
        0.6,
        "POWER9: one real partition table (PTCR);\nthe radix MMU walks in 2 dimensions",
        S.TEXT_SIZE,
        bold=True,
    )
    # L0
    S.box(cv, left, 1.15, right - left, 1.75, S.tint(S.BLUE, 0.35), lw=2.0)
    S.label(
        cv,
        left + 0.2,
        2.6,
        "L0 · the real hypervisor (Linux 4.20 + KVM-HV, MSR[HV] = 1)",
        S.LABEL_SIZE,
        bold=True,
        ha="left",
    )
    S.label(
        cv,
        left + 0.2,
        2.17,
        "owns the real partition table; gives every L2 a shadow LPID",
        S.TEXT_SIZE,
        ha="left",
    )
    S.label(
        cv,
        left + 0.2,
        1.8,
        "builds a shadow tree per L2: L2 guest real → host real",
        S.TEXT_SIZE,
        ha="left",
    )
    S.label(
        cv,
        left + 0.2,
        1.43,
        "keeps the L1's partition-table address as l1_ptcr",
        S.TEXT_SIZE,
        ha="left",
    )
    # L1
    S.box(cv, left + 0.3, 3.15, right - left - 0.6, 1.5, S.tint(S.GREEN, 0.35), lw=2.0)
    S.label(
        cv,
        left + 0.5,
        4.35,
        "L1 · a guest that runs KVM (guest hypervisor, MSR[HV] = 0)",
        S.LABEL_SIZE,
        bold=True,
        ha="left",
    )
    S.label(
        cv,
        left + 0.5,
        3.92,
        "its own partition table in its own memory, one L1 LPID per L2",
        S.TEXT_SIZE,
        ha="left",
    )
    S.label(
        cv,
        left + 0.5,
        3.55,
        "its tree per L2: L2 guest real → L1 guest real",
        S.TEXT_SIZE,
        ha="left",
    )
    # L2s
    l2w = (right - left - 1.4) / 2
    for i in range(2):
        x = left + 0.6 + i * (l2w + 0.2)
        S.box(cv, x, 4.9, l2w, 1.35, S.tint(S.ORANGE, 0.4), lw=2.0)
        S.label(
            cv, x + l2w / 2, 5.95, f"L2 · nested guest, L1 LPID {i + 1}", S.TEXT_SIZE, bold=True
        )
        S.label(cv, x + l2w / 2, 5.55, "its own process table and trees", S.TEXT_SIZE)
        S.label(cv, x + l2w / 2, 5.2, "runs with L0's shadow LPID", S.TEXT_SIZE)
    # hcalls from L1 to L0
    hx = right + 0.35
    calls = (
        ("H_SET_PARTITION_TABLE", "register the L1's table → l1_ptcr", "05"),
        ("H_ENTER_NESTED", "run an L2 until it exits back to L1", "07"),
        ("H_TLB_INVALIDATE", "L1's tlbie: L0 drops shadow entries", "09"),
        ("H_COPY_TOFROM_GUEST", "Linux 5.0: read/write an L2's memory by EA", "10"),
    )
    S.label(cv, hx, 4.85, "hcalls: L1 → L0", S.LABEL_SIZE, bold=True, ha="left")
    for i, (name, what, nb) in enumerate(calls):
        y = 4.35 - i * 0.78
        on = highlight == nb
        _arrow(cv, hx - 0.05, y, hx - 0.05, y - 0.55, S.FAULT if on else S.BLACK)
        S.label(cv, hx + 0.2, y - 0.1, name, S.TEXT_SIZE, bold=True, mono=True, ha="left")
        S.label(cv, hx + 0.2, y - 0.42, what, S.SMALL_SIZE, ha="left")
        _tag(cv, width - 0.4, y - 0.1, nb, on)
    # nested page fault
    _arrow(cv, left + 0.45, 4.95, left + 0.45, 2.85, S.FAULT if highlight == "08" else S.VERMILLION)
    S.label(
        cv,
        left + 0.62,
        6.55,
        "an L2 access missing from the shadow tree → HDSI to L0 (nested page fault)",
        S.TEXT_SIZE,
        ha="left",
        colour=S.VERMILLION,
        bold=True,
    )
    _tag(cv, left + 0.25, 6.55, "08", highlight == "08")
    # where the other notebooks sit
    _tag(cv, right - 0.45, 2.17, "06", highlight == "06")
    _tag(cv, width - 0.4, 0.6, "01", highlight in ("01", "02", "03", "04"))
    S.label(cv, hx, 0.6, "01–04: how the MMU translates", S.TEXT_SIZE, ha="left")
    return fig


def draw_suite_map(current: str | None = None) -> Figure:
    """The notebooks in teaching order: three parts of four; ``current`` (a number such
    as "03" or a file stem) is framed."""
    width = S.FIGURE_WIDTH
    box_w, box_h, gap = 3.3, 1.6, 0.15
    height = 0.75 + 3 * (0.45 + box_h + 0.2)
    fig = S.new_figure(width, height)
    cv = S.canvas_axes(fig, width, height)
    S.label(
        cv,
        0.2,
        height - 0.35,
        "The notebooks, in teaching order",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    colours = {1: S.SKY_BLUE, 2: S.GREEN, 3: S.ORANGE}
    top = height - 0.75
    for part in (1, 2, 3):
        S.label(cv, 0.2, top - 0.22, PARTS[part], S.LABEL_SIZE, bold=True, ha="left")
        top -= 0.45
        items = [n for n in NOTEBOOKS if n.part == part]
        for i, nb in enumerate(items):
            x = 0.2 + i * (box_w + gap)
            on = current is not None and current in (nb.number, nb.stem)
            S.box(
                cv,
                x,
                top - box_h,
                box_w,
                box_h,
                S.tint(colours[part], 0.75 if on else 0.3),
                lw=3.5 if on else 1.0,
            )
            S.label(
                cv, x + 0.15, top - 0.3, nb.number, S.LABEL_SIZE, bold=True, mono=True, ha="left"
            )
            S.label(cv, x + 0.6, top - 0.3, nb.title, S.TEXT_SIZE, bold=True, ha="left")
            for j, line in enumerate(S.wrap_words(nb.line, 30)[:4]):
                S.label(cv, x + 0.12, top - 0.65 - 0.25 * j, line, S.SMALL_SIZE, ha="left")
            if i < len(items) - 1:
                S.label(cv, x + box_w + gap / 2, top - box_h / 2, "▶", S.SMALL_SIZE, colour=S.GREY)
        top -= box_h + 0.2
    return fig
