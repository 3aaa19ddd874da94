"""The figure of one interleaving of the nested-guest races (notebook 06).

:func:`draw_race` takes an :class:`pynest.kvm.races.Interleaving` (and, optionally, the
:class:`~pynest.kvm.races.Exploration` it came from) and draws, top to bottom:

* a strip with one cell per interleaving of the exploration -- "ok" or "broken" -- and
  a marker on the one shown, so the learner sees how many schedules go wrong and where;
* the schedule as two lanes, vcpu 0 on the left and vcpu 1 on the right, one row per
  step in the order they ran; a step that ran as one ``mmu_lock`` critical section is
  framed blue and tagged "mmu_lock", a step that broke an invariant is vermillion and
  names the invariant; beside each row, the shared state after it (the
  ``nested_guests[]`` slot and every object's ``refcnt``, a † on a freed one);
* the final state and the verdict.

For the "tlbie-all" race the lanes are titled with what each vcpu does, and a note under
the title says that this is *what the model says about this code*, with the kernel lines
it is derived from and the caveat that it was not observed on hardware
(:data:`pynest.kvm.races.TLBIE_ALL_CAVEAT`, ``TLBIE_ALL_FINDING``).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..kvm.races import TLBIE_ALL_CAVEAT, TLBIE_ALL_FINDING
from . import style as S

if TYPE_CHECKING:
    from ..kvm.races import Exploration, Interleaving, TraceStep

__all__ = ["draw_race", "state_text"]

WIDTH = 14.0
_ROW_H = 0.88
_LANES = ((0.3, 4.75), (5.2, 4.75))
_STATE_X = 10.1
_WRAP = 44  # characters of a step's text per line in a lane (at SMALL_SIZE)
_NOTE_WRAP = 125
_CAVEAT_WRAP = 105  # bold text is wider


def state_text(step: TraceStep) -> tuple[str, str]:
    """The shared state after ``step`` in two short lines."""
    slot = step.slot or "NULL"
    objs = " ".join(
        f"{o.name}:{o.refcnt}{'†' if o.freed else ''}"
        + (f" tlb_lock:v{o.tlb_owner}" if o.tlb_owner is not None else "")
        for o in step.objects
    )
    return f"slot = {slot}", objs or "no objects"


def _lines(text: str) -> list[str]:
    lines = textwrap.wrap(text, _WRAP) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), _WRAP, placeholder=" …")]
    return lines


def _strip(fig: Figure, exploration: Exploration, rect: tuple, number: int) -> None:
    """The ok/broken strip: made once per figure, then only its data and marker move."""
    bad = [[0 if i.ok else 1 for i in exploration.interleavings]]
    strip = getattr(fig, "_pynest_strip", None)
    if strip is None:
        ax = fig.add_axes(rect)
        cmap = ListedColormap([S.tint(S.OK, 0.7), S.FAULT])
        image = ax.imshow(bad, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="none")
        line = ax.axvline(number, color=S.BLACK, lw=3)
        ax.set_yticks([])
        ax.set_xticks([])
        fig._pynest_strip = strip = (ax, image, line)  # type: ignore[attr-defined]
    ax, image, line = strip
    ax.set_position(rect)
    image.set_data(bad)
    image.set_extent((-0.5, len(bad[0]) - 0.5, 0.5, -0.5))
    ax.set_xlim(-0.5, len(bad[0]) - 0.5)
    line.set_xdata([number, number])


def draw_race(
    inter: Interleaving, exploration: Exploration | None = None, *, fig: Figure | None = None
) -> Figure:
    """Two lanes of steps, the state after each, and the verdict (see module).
    ``fig``: a figure this function drew before (with the same ``exploration`` or
    none), redrawn in place."""
    steps = inter.steps
    n = len(steps)
    extra = len(inter.violations)
    strip_h = 0.9 if exploration is not None else 0.0
    note, n_bold = [], 0
    if inter.config.race == "tlbie-all":
        caveat = textwrap.wrap(TLBIE_ALL_CAVEAT + ":", _CAVEAT_WRAP)
        note, n_bold = [*caveat, *textwrap.wrap(TLBIE_ALL_FINDING, _NOTE_WRAP)], len(caveat)
    note_h = 0.26 * len(note) + (0.15 if note else 0.0)
    height = 1.5 + note_h + strip_h + 0.55 + _ROW_H * n + 1.15 + 0.32 * extra
    if fig is None:
        fig = S.new_figure(WIDTH, height)
        cv = S.canvas_axes(fig, WIDTH, height)
    else:
        fig.set_size_inches(WIDTH, height)
        fig.texts.clear()
        fig.patches.clear()
        cv = S.Canvas(fig, WIDTH, height)
    ok = inter.ok
    number = "" if inter.number < 0 else f" #{inter.number}"
    total = f" of {exploration.count}" if exploration is not None else ""
    top = height - 0.35
    S.label(
        cv,
        0.3,
        top,
        f"Interleaving{number}{total}: {inter.config.describe()}",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    S.label(
        cv,
        0.3,
        top - 0.45,
        f"schedule (vcpu per step): {inter.schedule_text}",
        S.TEXT_SIZE,
        mono=True,
        ha="left",
    )
    y = top - 0.75
    for k, line in enumerate(note):
        S.label(cv, 0.3, y - 0.1 - 0.26 * k, line, S.SMALL_SIZE, bold=k < n_bold, ha="left")
    y -= note_h

    if exploration is not None:
        rect = (0.3 / WIDTH, (y - 0.55) / height, 9.6 / WIDTH, 0.4 / height)
        _strip(fig, exploration, rect, max(inter.number, 0))
        nbad = len(exploration.bad)
        S.label(
            cv,
            10.1,
            y - 0.25,
            f"{nbad} of {exploration.count} broken",
            S.TEXT_SIZE,
            bold=True,
            ha="left",
            colour=S.FAULT if nbad else S.BLACK,
        )
        S.label(cv, 10.1, y - 0.55, "green ok, vermillion broken", S.SMALL_SIZE, ha="left")
        y -= strip_h

    for (x, w), name in zip(_LANES, inter.config.roles, strict=True):
        S.label(cv, x + w / 2, y - 0.25, name, S.LABEL_SIZE, bold=True)
    S.label(cv, _STATE_X, y - 0.25, "shared state after", S.LABEL_SIZE, bold=True, ha="left")
    y -= 0.55

    for st in steps:
        y -= _ROW_H
        x, w = _LANES[st.vcpu]
        broke = bool(st.violations)
        if broke:
            face, edge, lw = S.tint(S.FAULT, 0.45), S.FAULT, 2.4
        elif st.locked:
            face, edge, lw = S.tint(S.BLUE, 0.25), S.BLUE, 2.0
        else:
            face, edge, lw = S.WHITE, S.GREY, 1.2
        S.box(cv, x, y + 0.04, w, _ROW_H - 0.08, face, edge, lw)
        head = f"{st.index}. {st.function}"
        if broke:  # the broken row's colour hides the lock's: name what broke instead
            head += "  ✘ " + ", ".join(v.kind for v in st.violations)
        elif st.locked:
            head += "  [mmu_lock]"
        S.label(cv, x + 0.1, y + _ROW_H - 0.2, head, S.SMALL_SIZE, bold=True, ha="left")
        for k, line in enumerate(_lines(st.text)):
            S.label(cv, x + 0.1, y + _ROW_H - 0.45 - 0.22 * k, line, S.SMALL_SIZE, ha="left")
        a, b = state_text(st)
        S.label(cv, _STATE_X, y + _ROW_H - 0.24, a, S.SMALL_SIZE, mono=True, ha="left")
        S.label(cv, _STATE_X, y + _ROW_H - 0.5, b, S.SMALL_SIZE, mono=True, ha="left")

    y -= 0.45
    f = inter.final
    held = ", ".join(f"vcpu {i}: {h or '-'}" for i, h in enumerate(f.held))
    S.label(
        cv,
        0.3,
        y,
        f"final: slot = {f.slot or 'NULL'}, max_nested_lpid = {f.max_nested_lpid}, "
        f"shadow LPIDs in use {list(f.lpids_in_use)}, references held: {held}",
        S.SMALL_SIZE,
        ha="left",
    )
    for v in inter.violations:
        y -= 0.32
        S.label(cv, 0.3, y, f"✘ {v}", S.SMALL_SIZE, ha="left", colour=S.FAULT)
    y -= 0.45
    verdict = "✔ every invariant holds" if ok else "✘ " + inter.verdict()
    S.box(cv, 0.3, y - 0.22, 6.5, 0.46, S.tint(S.OK if ok else S.FAULT, 0.5))
    S.label(cv, 0.45, y, verdict, S.LABEL_SIZE, bold=True, ha="left")
    return fig
