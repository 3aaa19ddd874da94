"""Figures of notebook 07: an H_ENTER_NESTED run as an L0/L1/L2 timeline, and the LPCR
an L1 asks for next to the one its L2 gets.

* :func:`timeline_points` -- the event log turned into drawable points: one per event,
  in the swim lane of the level that acted (L2 on top, L1 in the middle, L0 at the
  bottom: the stacking of the hypervisors), grouped by what the event means;
* :func:`draw_timeline` -- those points as three swim lanes, every H_ENTER_NESTED return
  labelled with its trap number, the selected event framed and explained under the
  lanes; events after the selected one are drawn faint, so stepping through a run
  "plays" it;
* :func:`draw_lpcr_sanitise` -- the L1's vcore LPCR, the value the L1 supplies in
  ``hv_guest_state.lpcr`` and the LPCR the L2 really runs with, bit by bit, with the
  seven fields an L1 may set framed.

Record in, Figure out; nothing here changes the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..kvm import guest_state as G
from ..kvm.events import KINDS, Event
from ..kvm.hcalls import rc_name
from . import style as S
from .tables import BitField, Word, draw_register, hex64

LANES = ("L2", "L1", "L0")
"""Top to bottom."""
_LANE_Y = {"L2": 2.0, "L1": 1.0, "L0": 0.0}

# group -> (colour, marker, legend text); every kind belongs to one group
GROUPS: dict[str, tuple[str, str, str]] = {
    "hcall": (S.BLUE, "v", "hcall from the L1 / its return"),
    "enter": (S.GREEN, ">", "L0 enters the L2 / resumes it"),
    "exit": (S.VERMILLION, "X", "the L2 exits to L0 (trap)"),
    "access": (S.SKY_BLUE, "o", "an L2 load/store that translated"),
    "l0-mmu": (S.ORANGE, "s", "L0 builds shadow state (fault, PTE, rmap)"),
    "reflect": (S.PURPLE, "D", "L0 reflects the exit to the L1"),
    "l1": (S.YELLOW, "P", "the L1 handles a trap / maps a page"),
    "book": (S.GREY, ".", "bookkeeping (refcount, LPID, partition table)"),
}
_GROUP_OF: dict[str, str] = {
    "hcall": "hcall",
    "hcall-return": "hcall",
    "userspace": "hcall",  # 4.20 has no case for the hcall: QEMU answers it (E15)
    "enter": "enter",
    "resume": "enter",
    "exit": "exit",
    "l2-access": "access",
    "l2-guest-interrupt": "access",
    "nested-fault": "l0-mmu",
    "shadow-insert": "l0-mmu",
    "shadow-remove": "l0-mmu",
    "shadow-flush": "l0-mmu",
    "rmap-insert": "l0-mmu",
    "l0-fault-in": "l0-mmu",
    "rc-update": "l0-mmu",
    "tlbie": "l0-mmu",
    "invalidate": "l0-mmu",
    "copy": "l0-mmu",
    "reflect": "reflect",
    "l1-map": "l1",
    "l1-unmap": "l1",
    "l1-handle": "l1",
    "l1-dirty-log": "l1",
    "error": "exit",
}


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One event placed on the timeline: ``x`` its position, ``lane`` L0/L1/L2."""

    x: int
    lane: str
    group: str
    event: Event

    @property
    def label(self) -> str:
        """The trap an H_ENTER_NESTED return or an exit carries, else ""."""
        ev = self.event
        if ev.kind == "hcall-return" and ev.hcall == "H_ENTER_NESTED" and ev.rc is not None:
            return rc_name(ev.rc, trap=True).replace("trap ", "")
        if ev.kind == "exit" and ev.trap is not None:
            return f"{ev.trap:#x}"
        return ""


def timeline_points(events: Sequence[Event]) -> list[TimelinePoint]:
    """One :class:`TimelinePoint` per event, in order (lane = the event's actor)."""
    return [
        TimelinePoint(i, ev.actor, _GROUP_OF.get(ev.kind, "book"), ev)
        for i, ev in enumerate(events)
    ]


def describe_event(ev: Event) -> str:
    """Two lines: what kind of thing happened (the log's vocabulary) and the record."""
    return f"{ev.kind}: {KINDS.get(ev.kind, '')}\n{ev}"


def timeline_text(events: Sequence[Event], current: int | None = None) -> str:
    """The log as text, the selected event marked with ``>>``."""
    lines = []
    for i, ev in enumerate(events):
        mark = ">>" if i == current else "  "
        lines.append(f"{mark} {i:3} {ev}")
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass
class _Selection:
    """The artists :func:`draw_timeline` moves when only the selected event changes."""

    key: tuple
    points: list[TimelinePoint]
    line: object
    ring: object
    fade: object
    head: object
    record: object
    ax: Axes
    title: object
    run_artists: list[Artist]


def _timeline_key(events: Sequence[Event], title: str) -> tuple:
    return (len(events), title, tuple(events[:1]), tuple(events[-1:]))


def draw_timeline(
    events: Sequence[Event],
    current: int | None = None,
    *,
    title: str = "",
    fig: Figure | None = None,
) -> Figure:
    """The events as three swim lanes (see the module docstring).

    ``current`` is the index (into ``events``) of the selected event, or None for no
    selection (everything drawn at full strength). Redraws into ``fig`` if given; when
    ``fig`` already shows these events, only the selection moves (cheap: explorers
    call this on every slider step).
    """
    if current is not None and not 0 <= current < len(events):
        current = None
    key = _timeline_key(events, title)
    sel: _Selection | None = getattr(fig, "_pynest_timeline", None)
    if fig is None or sel is None or sel.key != key:
        fig, sel = _draw_static(events, title, key, fig, sel)
    _select(sel, current)
    return fig


def _draw_static(
    events: Sequence[Event], title: str, key: tuple, fig: Figure | None, sel: _Selection | None
) -> tuple[Figure, _Selection]:
    """The figure for ``events``: built once (:func:`_draw_frame`), then for another run
    only the run's own artists are replaced (:func:`_draw_run`) -- the lanes, legend and
    text lines are the same for every run. ``sel``: what ``fig`` keeps from an earlier
    draw (None: a new figure)."""
    if fig is None or sel is None:
        fig, sel = _draw_frame(fig)
    for artist in sel.run_artists:
        artist.remove()
    points = timeline_points(events)
    n = max(len(points), 1)
    sel.ax.set_xlim(-1, n)  # type: ignore[attr-defined]
    sel.run_artists = _draw_run(sel.ax, points)
    sel.title.set_text(title or "H_ENTER_NESTED, event by event")  # type: ignore[attr-defined]
    sel.fade.set_x(n)  # type: ignore[attr-defined]
    sel.fade.set_width(0)  # type: ignore[attr-defined]
    sel.head.set_text("" if points else "no events")  # type: ignore[attr-defined]
    sel.record.set_text("")  # type: ignore[attr-defined]
    sel.key, sel.points = key, points
    return fig, sel


def _draw_frame(fig: Figure | None) -> tuple[Figure, _Selection]:
    """What every run's timeline has: the three lanes, the selection's artists, the
    legend and the text lines (empty)."""
    width, height = S.FIGURE_WIDTH, 6.4
    if fig is None:
        fig = S.new_figure(width, height)
    else:
        fig.clear()
    ax = fig.add_axes((0.075, 0.36, 0.91, 0.52))
    ax.set_xlim(-1, 1)
    ax.set_ylim(-0.6, 2.6)
    ax.set_yticks([_LANE_Y[lane] for lane in LANES])
    ax.set_yticklabels(["L2", "L1", "L0"], fontsize=S.TITLE_SIZE, weight="bold")
    ax.tick_params(axis="x", labelsize=S.SMALL_SIZE)
    ax.set_xlabel("event number in the log (time →)", fontsize=S.TEXT_SIZE)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    for lane in LANES:
        ax.axhline(_LANE_Y[lane], color=S.LIGHT_GREY, lw=8, zorder=0)
    # what comes after the selected event is veiled by a translucent white band (the
    # markers and the flow fade; the labelled return values above stay readable)
    fade = Rectangle((1, -0.6), 0, 3.2, facecolor=S.WHITE, alpha=0.72, edgecolor="none", zorder=6)
    ax.add_patch(fade)
    (line,) = ax.plot([0, 0], [-0.6, 2.6], color=S.BLACK, lw=1.2, ls=(0, (4, 3)), zorder=7)
    ring = ax.scatter(
        [0], [0], s=420, facecolors="none", edgecolors=S.BLACK, linewidths=2.2, zorder=8
    )
    handles = [
        Line2D([], [], ls="", marker=m, color=c, markeredgecolor=S.BLACK, markersize=9, label=t)
        for c, m, t in GROUPS.values()
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=3,
        fontsize=S.SMALL_SIZE,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    title = fig.text(0.01, 0.965, "", fontsize=S.TITLE_SIZE, weight="bold", ha="left", va="top")
    head = fig.text(0.01, 0.245, "", fontsize=S.TEXT_SIZE, weight="bold", ha="left")
    record = fig.text(0.01, 0.19, "", fontsize=S.SMALL_SIZE, family=S.MONO, ha="left")
    sel = _Selection((), [], line, ring, fade, head, record, ax, title, [])
    fig._pynest_timeline = sel  # type: ignore[attr-defined]
    return fig, sel


def _draw_run(ax: Axes, points: list[TimelinePoint]) -> list[Artist]:
    """One run's artists on the lanes: the flow of control, the events' markers and the
    labelled hcall return values."""
    drawn: list[Artist] = []
    # the flow of control: a thin line from each event to the next
    if points:
        drawn += ax.plot(
            [p.x for p in points],
            [_LANE_Y[p.lane] for p in points],
            color=S.GREY,
            lw=0.8,
            zorder=1,
        )
    for group, (colour, marker, _text) in GROUPS.items():
        chosen = [p for p in points if p.group == group]
        if chosen:
            drawn.append(
                ax.scatter(
                    [p.x for p in chosen],
                    [_LANE_Y[p.lane] for p in chosen],
                    s=70 if marker != "." else 40,
                    c=colour,
                    marker=marker,
                    edgecolors=S.BLACK,
                    linewidths=0.6,
                    zorder=3,
                )
            )
    for p in points:
        if p.label and p.event.kind == "hcall-return":
            drawn.append(
                ax.text(
                    p.x,
                    _LANE_Y["L1"] + 0.3,
                    p.label,
                    fontsize=S.SMALL_SIZE,
                    family=S.MONO,
                    ha="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": S.WHITE, "ec": S.BLUE, "lw": 0.8},
                    zorder=6.5,  # above the veil: a trap number stays readable before its turn
                )
            )
    return drawn


def _select(sel: _Selection, current: int | None) -> None:
    visible = current is not None
    for artist in (sel.line, sel.ring):
        artist.set_visible(visible)  # type: ignore[attr-defined]
    if current is None:
        sel.fade.set_width(0)  # type: ignore[attr-defined]
        if sel.points:
            sel.head.set_text("")  # type: ignore[attr-defined]
        sel.record.set_text("")  # type: ignore[attr-defined]
        return
    p = sel.points[current]
    n = len(sel.points)
    y = _LANE_Y[p.lane]
    sel.line.set_xdata([p.x, p.x])  # type: ignore[attr-defined]
    sel.ring.set_offsets([[p.x, y]])  # type: ignore[attr-defined]
    sel.fade.set_x(p.x + 0.5)  # type: ignore[attr-defined]
    sel.fade.set_width(max(n - p.x - 0.5, 0))  # type: ignore[attr-defined]
    ev = p.event
    head, record = describe_event(ev).split("\n", 1)
    sel.head.set_text(_clip(f"event {current}  ({ev.actor})  {head}", 120))  # type: ignore[attr-defined]
    sel.record.set_text(_clip(record.strip(), 150))  # type: ignore[attr-defined]


# ----------------------------------------------------------------------- the LPCR
LPCR_FIELDS = (
    BitField("rsv", 0, 8, "reserved"),
    BitField("DPFD", 9, 11, "perm"),
    BitField("rsv", 12, 37, "reserved"),
    BitField("ILE", 38, 38, "perm"),
    BitField("AIL", 39, 40, "perm"),
    BitField("UPRT", 41, 41, "flag"),
    BitField("rsv", 42, 42, "reserved"),
    BitField("HR", 43, 43, "flag"),
    BitField("rsv", 44, 45, "reserved"),
    BitField("LD", 46, 46, "perm"),
    BitField("rsv", 47, 51, "reserved"),
    BitField("MER", 52, 52, "perm"),
    BitField("GTSE", 53, 53, "flag"),
    BitField("TC", 54, 54, "perm"),
    BitField("rsv", 55, 59, "reserved"),
    BitField("LPES", 60, 61, "perm"),
    BitField("HVICE", 62, 62, "flag"),
    BitField("HDICE", 63, 63, "flag"),
)
"""The LPCR fields this notebook names (``asm/reg.h``); "perm" (green) marks the seven an
L1 may choose for its L2 (:data:`pynest.kvm.guest_state.LPCR_L1_MASK`)."""

L1_FIELDS = ("DPFD", "ILE", "AIL", "LD", "MER", "TC", "LPES")


def lpcr_names(value: int) -> str:
    """The named LPCR fields that are non-zero in ``value``: ``HR|UPRT|AIL=3``."""
    out = []
    for f in LPCR_FIELDS:
        if f.kind == "reserved":
            continue
        v = f.value(value)
        if v:
            out.append(f.name if f.first == f.last else f"{f.name}={v}")
    return "|".join(out) or "0"


def draw_lpcr_sanitise(vcore_lpcr: int, requested: int) -> Figure:
    """What the L1 asks for in ``hv_guest_state.lpcr`` and what
    ``kvmhv_enter_nested_guest`` composes for the L2 from it and the L1's own LPCR
    (``vc->lpcr``, named in the notes), bit by bit."""
    result = G.compose_l2_lpcr(vcore_lpcr, requested)
    refused = (requested ^ result) & ~G.LPCR_L1_MASK
    notes = [
        f"mask (DPFD|ILE|TC|AIL|LD|LPES|MER) = {hex64(G.LPCR_L1_MASK)}",
        f"L2 LPCR = (vc->lpcr & ~mask) | (hv.lpcr & mask) = {hex64(result)}",
        f"asked for but refused (outside the mask): {lpcr_names(refused & requested)}"
        f"; kept although the L1 cleared them: {lpcr_names(refused & ~requested)}",
    ]
    words = [
        Word(requested, LPCR_FIELDS, f"the L1 asks for hv.lpcr = {lpcr_names(requested)}"),
        Word(result, LPCR_FIELDS, f"the L2 runs with = {lpcr_names(result)}"),
    ]
    notes.insert(
        0, f"the L1's own LPCR (vc->lpcr) = {hex64(vcore_lpcr)} = {lpcr_names(vcore_lpcr)}"
    )
    return draw_register(
        words,
        "LPCR: an L1 chooses only the green fields for its L2",
        notes,
        highlight=L1_FIELDS,
    )
