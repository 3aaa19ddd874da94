"""The classroom-demo picture: the whole nested-HV state after one step of the story.

:func:`draw_classroom_step` takes a :class:`~pynest.scenarios.classroom.Snapshot` (and the one
before it, to mark what changed) and draws, for a projector:

* a title "Step k of N" and a strip of step chips (done, current, to come);
* **L0** on the left: its real partition table (one row per LPID in use, coloured by
  owner: host, the L1, the shadow LPID of each L2), the nested guests it keeps for the
  L1, and their shadow PTEs (L2 real -> host real);
* **the L1** on the right: the PTCR L0 has for it (``l1_ptcr``), the rows of that table,
  and its L2s;
* **what just happened** at the bottom: the hcalls of the step and the sentence.

Rows that appeared in this step carry a "new" tag, rows that went away are drawn dashed
with "gone": meaning never rests on colour alone.

``presenter=True`` draws the presenter view's slide instead (``make present``): the same
state in 9.2 x 6.85 inches, shown at its own 920 x 685 px beside the explorer's controls
at 1280x720, every text at >= 12 pt (16 CSS px); the title and the sentence are the
explorer's, in words beside it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from matplotlib.figure import Figure

from ..scenarios.classroom import Snapshot
from . import style as S

__all__ = ["L2_COLOURS", "draw_classroom_step", "hcall_lines", "owner_colour"]

L2_COLOURS = (S.ORANGE, S.SKY_BLUE, S.PURPLE, S.GREEN)
"""L2 number n (the L1's lpid) gets ``L2_COLOURS[(n - 1) % 4]`` in every panel."""

WIDTH, HEIGHT = S.FIGURE_WIDTH, 10.0
_ROW_H = 0.36
_MAX_SHADOW = 8  # shadow PTEs listed per L2


def owner_colour(owner: str, l2: int | None = None) -> str:
    """Colour of a partition-table row by who owns it."""
    if l2 is not None:
        return L2_COLOURS[(l2 - 1) % len(L2_COLOURS)]
    return {"host": S.GREY, "L1": S.BLUE}.get(owner, S.YELLOW)


def hcall_lines(hcalls: Sequence[str], limit: int = 3) -> list[str]:
    """The step's hcalls, a run of the same hcall folded into one line (``×5``)."""
    runs: list[tuple[str, str, list[str]]] = []
    for h in hcalls:
        name = h.partition("(")[0]
        result = h.rpartition(") -> ")[2]
        if name == "H_ENTER_NESTED" and runs and runs[-1][0] == name:
            runs[-1][2].append(result)
            continue
        runs.append((name, h, [result]))
    lines = []
    for name, first, results in runs:
        if len(results) > 1:
            shown = ", ".join(r.replace("trap ", "") for r in results)
            lines.append(f"{name} ×{len(results)} -> {shown}")
        else:
            lines.append(first)
    if len(lines) > limit:
        lines = lines[: limit - 1] + [f"... and {len(lines) - limit + 1} more hcalls"]
    return lines


def _tag(cv: S.Canvas, x: float, y: float, text: str, colour: str) -> None:
    S.label(cv, x, y, text, S.SMALL_SIZE, bold=True, colour=colour, ha="right")


def _chips(cv: S.Canvas, snap: Snapshot, total: int, titles: Sequence[str]) -> None:
    w = (WIDTH - 0.4) / total
    y = HEIGHT - 1.05
    for i in range(total):
        x = 0.2 + i * w
        if i == snap.index:
            face, edge, lw = S.tint(S.ORANGE, 0.9), S.BLACK, 2.4
        elif i < snap.index:
            face, edge, lw = S.tint(S.GREY, 0.35), S.GREY, 1.0
        else:
            face, edge, lw = S.WHITE, S.GREY, 1.0
        S.box(cv, x + 0.03, y, w - 0.06, 0.42, face, edge=edge, lw=lw)
        short = titles[i] if i < len(titles) else ""
        S.label(cv, x + w / 2, y + 0.21, f"{i + 1} {short}", S.SMALL_SIZE, bold=i == snap.index)


_SHORT = {
    "boot": "boot",
    "create-l1": "L1",
    "nested-init": "init",
    "create-l2s": "L2s",
    "run-l2-a": "run",
    "run-l2-b": "run",
    "fault": "fault",
    "invalidate": "tlbie",
    "set-ptcr": "PTCR",
    "flush-all": "flush",
    "nested-exit": "exit",
    "release-all": "free",
}


def _rows(cv, x, top, width, items, previous_keys, key, draw) -> float:
    """Draw the current rows (tagging new ones); returns the y below them."""
    for item in items:
        y = top - _ROW_H
        is_new = previous_keys is not None and key(item) not in previous_keys
        draw(item, y)
        if is_new:
            _tag(cv, x + width - 0.04, y + _ROW_H / 2, "new", S.VERMILLION)
        top = y - 0.04
    return top


def _gone(cv, x, top, width, items, text) -> float:
    for item in items:
        y = top - _ROW_H
        S.box(cv, x, y, width, _ROW_H, S.WHITE, edge=S.GREY, lw=1.0, dashed=True)
        S.label(cv, x + 0.12, y + _ROW_H / 2, text(item), S.SMALL_SIZE, mono=True, ha="left",
                colour=S.GREY)  # fmt: skip
        _tag(cv, x + width - 0.08, y + _ROW_H / 2, "✘ gone", S.GREY)
        top = y - 0.04
    return top


def draw_classroom_step(
    snap: Snapshot,
    previous: Snapshot | None = None,
    *,
    total: int = 12,
    keys: Sequence[str] = (),
    presenter: bool = False,
) -> Figure:
    """The whole state after ``snap`` (see the module docstring); ``previous`` marks
    what is new or gone, ``total`` and ``keys`` label the step strip. ``presenter``
    draws the slide of the presenter view instead (:func:`_draw_slide`)."""
    if presenter:
        return _draw_slide(snap, previous, total, keys)
    fig = S.new_figure(WIDTH, HEIGHT)
    cv = S.canvas_axes(fig, WIDTH, HEIGHT)
    S.label(cv, 0.2, HEIGHT - 0.4, f"Step {snap.number} of {total} · {snap.title}",
            S.TITLE_SIZE + 4, bold=True, ha="left")  # fmt: skip
    _chips(cv, snap, total, [_SHORT.get(k, "") for k in keys])

    # ------------------------------------------------------------------ L0 panel
    lx, lw, top = 0.2, 7.05, HEIGHT - 1.3
    bottom = 2.1
    S.box(cv, lx, bottom, lw, top - bottom, S.WHITE, edge=S.BLACK, lw=1.6, rounded=False)
    S.label(cv, lx + 0.15, top - 0.28, "L0 · the host hypervisor", S.LABEL_SIZE + 1, bold=True,
            ha="left")  # fmt: skip
    S.label(cv, lx + 0.15, top - 0.66, f"real partition table · PTCR {snap.l0_ptcr:#x}",
            S.TEXT_SIZE, ha="left", colour=S.BLACK)  # fmt: skip
    y = top - 0.85
    prev_rows = {r.lpid for r in previous.l0_rows} if previous else None

    def pate(row, yy):
        colour = owner_colour(row.owner, row.l2)
        S.box(cv, lx + 0.1, yy, lw - 0.2, _ROW_H, S.tint(colour, 0.35), edge=colour, lw=1.4)
        S.label(cv, lx + 0.2, yy + _ROW_H / 2,
                f"PATE[{row.lpid}] {row.dw0:016x} {row.dw1:016x}  {row.owner}",
                S.SMALL_SIZE, mono=True, ha="left")  # fmt: skip

    y = _rows(cv, lx + 0.1, y, lw - 0.2, snap.l0_rows, prev_rows, lambda r: r.lpid, pate)
    if previous:
        now = {r.lpid for r in snap.l0_rows}
        y = _gone(cv, lx + 0.1, y, lw - 0.2, [r for r in previous.l0_rows if r.lpid not in now],
                  lambda r: f"PATE[{r.lpid}] ({r.owner}) zeroed")  # fmt: skip

    y -= 0.12
    who = f"LPID {snap.l1_lpid}" if snap.l1_lpid is not None else "the L1"
    S.label(cv, lx + 0.15, y - 0.18, f"nested guests of {who} (struct kvm_nested_guest)",
            S.TEXT_SIZE, ha="left")  # fmt: skip
    y -= 0.38
    if not snap.nested:
        S.label(cv, lx + 0.3, y - 0.18, "none", S.TEXT_SIZE, ha="left", colour=S.GREY)
        y -= 0.38
    prev_nested = {n.l1_lpid for n in previous.nested} if previous else None

    def nested(n, yy):
        colour = L2_COLOURS[(n.l1_lpid - 1) % len(L2_COLOURS)]
        S.box(cv, lx + 0.1, yy, lw - 0.2, _ROW_H, S.tint(colour, 0.2), edge=colour, lw=1.4)
        S.label(cv, lx + 0.2, yy + _ROW_H / 2,
                f"L2 {n.l1_lpid} → shadow LPID {n.shadow_lpid} · refcnt {n.refcnt} · "
                f"{n.shadow_ptes} shadow PTEs", S.TEXT_SIZE, ha="left")  # fmt: skip

    y = _rows(cv, lx + 0.1, y, lw - 0.2, snap.nested, prev_nested, lambda n: n.l1_lpid, nested)
    if previous:
        now = {n.l1_lpid for n in snap.nested}
        y = _gone(cv, lx + 0.1, y, lw - 0.2, [n for n in previous.nested if n.l1_lpid not in now],
                  lambda n: f"L2 {n.l1_lpid}: shadow LPID {n.shadow_lpid} freed")  # fmt: skip

    # shadow PTEs: one column per L2
    y -= 0.1
    S.label(cv, lx + 0.15, y - 0.18, "shadow PTEs: L2 real → host real", S.TEXT_SIZE, ha="left")
    y -= 0.42
    l2_ids = sorted({s.l1_lpid for s in snap.shadow} | {n.l1_lpid for n in snap.nested})
    prev_shadow = {(s.l1_lpid, s.gpa) for s in previous.shadow} if previous else set()
    now_shadow = {(s.l1_lpid, s.gpa) for s in snap.shadow}
    colw = (lw - 0.2) / max(2, len(l2_ids))
    if not l2_ids:
        S.label(cv, lx + 0.3, y - 0.1, "none", S.TEXT_SIZE, ha="left", colour=S.GREY)
    for c, l2 in enumerate(l2_ids):
        cx = lx + 0.1 + c * colw
        colour = L2_COLOURS[(l2 - 1) % len(L2_COLOURS)]
        mine = [s for s in snap.shadow if s.l1_lpid == l2]
        S.label(cv, cx + 0.05, y, f"L2 {l2}", S.SMALL_SIZE, bold=True, ha="left",
                colour=S.BLACK)  # fmt: skip
        S.box(cv, cx + 0.6, y - 0.1, 0.25, 0.2, S.tint(colour, 0.6), edge=colour)
        yy = y - 0.3
        lost = sum(1 for k in prev_shadow if k[0] == l2 and k not in now_shadow)
        room = max(1, min(_MAX_SHADOW, int((yy - bottom - 0.05) / 0.24) - (1 if lost else 0)))
        if len(mine) > room:
            room -= 1  # keep a line for "+ n more"
        if not mine:
            S.label(cv, cx + 0.05, yy, "none", S.SMALL_SIZE, ha="left", colour=S.GREY)
            yy -= 0.24
        for s in mine[:room]:
            new = previous is not None and (s.l1_lpid, s.gpa) not in prev_shadow
            text = f"{s.gpa:#x}→{s.hpa:#x} {s.perms}"
            S.label(cv, cx + 0.05, yy, text, S.SMALL_SIZE, mono=True, ha="left",
                    bold=new, colour=S.VERMILLION if new else S.BLACK)  # fmt: skip
            if new:
                S.label(cv, cx + colw - 0.04, yy, "new", S.SMALL_SIZE, bold=True,
                        colour=S.VERMILLION, ha="right")  # fmt: skip
            yy -= 0.24
        if len(mine) > room:
            S.label(cv, cx + 0.05, yy, f"+ {len(mine) - room} more", S.SMALL_SIZE,
                    ha="left", colour=S.GREY)  # fmt: skip
            yy -= 0.24
        if lost:
            S.label(cv, cx + 0.05, yy, f"✘ {lost} removed in this step", S.SMALL_SIZE,
                    bold=True, ha="left", colour=S.VERMILLION)  # fmt: skip
    if previous and not l2_ids:
        lost = len(prev_shadow - now_shadow)
        if lost:
            S.label(cv, lx + 1.2, y - 0.1, f"✘ {lost} removed in this step", S.SMALL_SIZE,
                    bold=True, ha="left", colour=S.VERMILLION)  # fmt: skip

    # ------------------------------------------------------------------ L1 panel
    rx, rw = 7.45, WIDTH - 7.45 - 0.2
    S.box(cv, rx, bottom, rw, top - bottom, S.WHITE, edge=S.BLUE, lw=1.6, rounded=False)
    if snap.l1_lpid is None:
        S.label(cv, rx + 0.15, top - 0.28, "the L1", S.LABEL_SIZE + 1, bold=True, ha="left")
        gone_text = (
            "destroyed: its LPID is free again"
            if snap.l1_note == "destroyed"
            else "not created yet"
        )
        S.label(cv, rx + rw / 2, (top + bottom) / 2, gone_text, S.LABEL_SIZE, colour=S.GREY)
    else:
        S.label(cv, rx + 0.15, top - 0.28, f"L1 · guest hypervisor (LPID {snap.l1_lpid})",
                S.LABEL_SIZE + 1, bold=True, ha="left")  # fmt: skip
        changed = previous is not None and previous.l1_ptcr != snap.l1_ptcr
        S.label(cv, rx + 0.15, top - 0.66, f"l1_ptcr (kept by L0) = {snap.l1_ptcr:#x}",
                S.TEXT_SIZE, ha="left", mono=True, bold=changed,
                colour=S.VERMILLION if changed else S.BLACK)  # fmt: skip
        if changed:
            _tag(cv, rx + rw - 0.1, top - 0.66, "● changed", S.VERMILLION)
        y = top - 0.85
        if snap.l1_ptcr:
            base = snap.l1_ptcr & 0x0FFF_FFFF_FFFF_F000
            S.label(cv, rx + 0.15, y - 0.18,
                    f"its table at L1 real {base:#x}: {snap.l1_table_entries} rows, in use:",
                    S.TEXT_SIZE, ha="left")  # fmt: skip
            y -= 0.4
            if not snap.l1_rows:
                S.label(cv, rx + 0.3, y - 0.18, "none (all rows zero)", S.TEXT_SIZE, ha="left",
                        colour=S.GREY)  # fmt: skip
                y -= 0.4
            same_table = previous is not None and previous.l1_ptcr == snap.l1_ptcr
            prev_l1 = {r.lpid for r in previous.l1_rows} if same_table else None

            def l1row(r, yy):
                colour = L2_COLOURS[(r.lpid - 1) % len(L2_COLOURS)] if r.lpid else S.GREY
                S.box(cv, rx + 0.1, yy, rw - 0.2, _ROW_H, S.tint(colour, 0.35), edge=colour,
                      lw=1.4)  # fmt: skip
                S.label(cv, rx + 0.2, yy + _ROW_H / 2,
                        f"PATE[{r.lpid}] {r.dw0:016x} {r.dw1:016x} → L2 {r.lpid}",
                        S.SMALL_SIZE, mono=True, ha="left")  # fmt: skip

            y = _rows(cv, rx + 0.1, y, rw - 0.2, snap.l1_rows, prev_l1, lambda r: r.lpid, l1row)
        else:
            S.label(cv, rx + 0.15, y - 0.18, "no partition table registered (l1_ptcr = 0)",
                    S.TEXT_SIZE, ha="left", colour=S.GREY)  # fmt: skip
            y -= 0.4
        y -= 0.15
        S.label(cv, rx + 0.15, y - 0.18, "its guests", S.TEXT_SIZE, ha="left")
        y -= 0.4
        if not snap.l2s:
            S.label(cv, rx + 0.3, y - 0.18, "none yet", S.TEXT_SIZE, ha="left", colour=S.GREY)
        for g in snap.l2s:
            colour = L2_COLOURS[(g.l1_lpid - 1) % len(L2_COLOURS)]
            h = 0.78
            S.box(cv, rx + 0.1, y - h, rw - 0.2, h, S.tint(colour, 0.25), edge=colour, lw=1.6)
            S.label(cv, rx + 0.25, y - 0.24,
                    f"L2 {g.l1_lpid} · {g.mem_size >> 20} MiB at L1 real {g.l1_gpa_base:#x}",
                    S.TEXT_SIZE, bold=True, ha="left")  # fmt: skip
            S.label(cv, rx + 0.25, y - 0.56,
                    f"{g.pages_mapped} pages in the L1's tree · {g.state}",
                    S.SMALL_SIZE, ha="left")  # fmt: skip
            y -= h + 0.1

    # ------------------------------------------------------------------ what happened
    S.box(cv, 0.2, 0.12, WIDTH - 0.4, bottom - 0.25, S.tint(S.YELLOW, 0.3), edge=S.BLACK,
          lw=1.4)  # fmt: skip
    S.label(cv, 0.4, bottom - 0.38, "What just happened", S.LABEL_SIZE, bold=True, ha="left")
    y = bottom - 0.72
    for line in hcall_lines(snap.hcalls, limit=2):
        S.label(cv, 0.45, y, "hcall  " + line, S.SMALL_SIZE, mono=True, ha="left")
        y -= 0.27
    if not snap.hcalls:
        S.label(cv, 0.45, y, "no hcall in this step", S.SMALL_SIZE, ha="left",
                colour=S.GREY)  # fmt: skip
        y -= 0.27
    for line in textwrap.wrap(snap.sentence, 118)[:5]:
        S.label(cv, 0.45, y, line, S.TEXT_SIZE, ha="left")
        y -= 0.26
    return fig


# ---------------------------------------------------------------------- presenter slide
SLIDE_WIDTH, SLIDE_HEIGHT = 9.2, 6.85
"""The presenter view's picture in inches: shown at its own 920 x 685 px beside the
controls (``make present`` at 1280x720), never scaled down."""
_P_MIN = S.min_font_pt(SLIDE_WIDTH, S.PRESENTER)  # 12 pt: 16 CSS px presented
_P_TEXT = _P_MIN + 0.5
_P_HEAD = 14.0
_P_ROW = 0.3
_P_LINE = 0.22


def _p_label(cv, x, y, text, size=_P_MIN, **kw) -> None:
    S.label(cv, x, y, text, size, ha=kw.pop("ha", "left"), **kw)


def _p_tag(cv, x, y, text, colour) -> None:
    S.label(cv, x, y, text, _P_MIN, bold=True, colour=colour, ha="right")


def _p_rows(cv, x, top, width, rows, previous_keys, gone, draw, gone_text) -> float:
    """Rows (``draw(row, y)``), tagging new ones, then the ``gone`` rows dashed; returns
    the y below them."""
    for row in rows:
        y = top - _P_ROW
        draw(row, y)
        if previous_keys is not None and row[0] not in previous_keys:
            _p_tag(cv, x + width - 0.04, y + _P_ROW / 2, "new", S.VERMILLION)
        top = y - 0.04
    for row in gone:
        y = top - _P_ROW
        S.box(cv, x, y, width, _P_ROW, S.WHITE, edge=S.GREY, lw=1.0, dashed=True)
        _p_label(cv, x + 0.1, y + _P_ROW / 2, gone_text(row), colour=S.GREY)
        _p_tag(cv, x + width - 0.06, y + _P_ROW / 2, "✘ gone", S.GREY)
        top = y - 0.04
    return top


def _table_line(lpid: int, dw0: int, dw1: int) -> str:
    return f"{lpid} {dw0:016x} {dw1:016x}"


def _draw_slide(
    snap: Snapshot, previous: Snapshot | None, total: int, keys: Sequence[str]
) -> Figure:
    """The presenter view's picture: the step strip, L0 (its real partition table and
    nested guests) beside the L1 (its PTCR, table and guests), L0's shadow PTEs below,
    and the step's hcalls. The step's title and sentence are the explorer's, in words
    beside the picture, so the picture keeps every text at >= 16 CSS px in 9.2 x 6.85 in.
    """
    W, H = SLIDE_WIDTH, SLIDE_HEIGHT
    fig = S.new_figure(W, H)
    cv = S.canvas_axes(fig, W, H)

    # ------------------------------------------------------------------ step strip
    short = [_SHORT.get(k, "") for k in keys]
    cw, cy = (W - 0.16) / total, H - 0.62
    for i in range(total):
        x = 0.08 + i * cw
        current = i == snap.index
        if current:
            face, edge, lw = S.tint(S.ORANGE, 0.9), S.BLACK, 2.4
        elif i < snap.index:
            face, edge, lw = S.tint(S.GREY, 0.35), S.GREY, 1.0
        else:
            face, edge, lw = S.WHITE, S.GREY, 1.0
        S.box(cv, x + 0.025, cy, cw - 0.05, 0.56, face, edge=edge, lw=lw)
        _p_label(cv, x + cw / 2, cy + 0.39, str(i + 1), bold=current, ha="center")
        if i < len(short):
            _p_label(cv, x + cw / 2, cy + 0.16, short[i], bold=current, ha="center")

    top, band = H - 0.72, 2.62
    # ------------------------------------------------------------------ L0
    lx, lw = 0.06, 4.74
    S.box(cv, lx, band, lw, top - band, S.WHITE, edge=S.BLACK, lw=1.6, rounded=False)
    _p_label(cv, lx + 0.12, top - 0.22, "L0 · the host hypervisor", _P_HEAD, bold=True)
    _p_label(cv, lx + 0.12, top - 0.5, f"real partition table · PTCR {snap.l0_ptcr:#x}",
             _P_TEXT)  # fmt: skip
    _p_label(cv, lx + 0.14, top - 0.76, f"# {'dw0: tree':<16} {'dw1: processes':<16} runs",
             mono=True, colour=S.GREY)  # fmt: skip

    def pate(row, y):
        r = row[1]
        colour = owner_colour(r.owner, r.l2)
        runs = "host" if r.owner == "host" else ("L1" if r.l2 is None else f"L2 {r.l2}")
        S.box(cv, lx + 0.08, y, lw - 0.16, _P_ROW, S.tint(colour, 0.35), edge=colour, lw=1.4)
        _p_label(cv, lx + 0.14, y + _P_ROW / 2, f"{_table_line(r.lpid, r.dw0, r.dw1)} {runs}",
                 mono=True)  # fmt: skip

    now_rows = {r.lpid for r in snap.l0_rows}
    y = _p_rows(
        cv, lx + 0.08, top - 0.9, lw - 0.16,
        [(r.lpid, r) for r in snap.l0_rows],
        {r.lpid for r in previous.l0_rows} if previous else None,
        [r for r in previous.l0_rows if r.lpid not in now_rows] if previous else [],
        pate,
        lambda r: f"LPID {r.lpid} zeroed ({r.owner})",
    )  # fmt: skip
    _p_label(cv, lx + 0.12, y - 0.2, "nested guests (struct kvm_nested_guest)", _P_TEXT)
    y -= 0.36
    now_nested = {n.l1_lpid for n in snap.nested}
    gone_nested = [n for n in previous.nested if n.l1_lpid not in now_nested] if previous else []
    if not snap.nested and not gone_nested:
        _p_label(cv, lx + 0.3, y - 0.15, "none", _P_TEXT, colour=S.GREY)

    def nested(row, y):
        n = row[1]
        colour = L2_COLOURS[(n.l1_lpid - 1) % len(L2_COLOURS)]
        S.box(cv, lx + 0.08, y, lw - 0.16, _P_ROW, S.tint(colour, 0.2), edge=colour, lw=1.4)
        _p_label(cv, lx + 0.18, y + _P_ROW / 2,
                 f"L2 {n.l1_lpid} → shadow LPID {n.shadow_lpid} · refcnt {n.refcnt} · "
                 f"{n.shadow_ptes} PTEs", _P_TEXT)  # fmt: skip

    _p_rows(
        cv, lx + 0.08, y, lw - 0.16,
        [(n.l1_lpid, n) for n in snap.nested],
        {n.l1_lpid for n in previous.nested} if previous else None,
        gone_nested,
        nested,
        lambda n: f"L2 {n.l1_lpid}: shadow LPID {n.shadow_lpid} freed",
    )  # fmt: skip

    # ------------------------------------------------------------------ L1
    rx = lx + lw + 0.06
    rw = W - 0.06 - rx
    S.box(cv, rx, band, rw, top - band, S.WHITE, edge=S.BLUE, lw=1.6, rounded=False)
    if snap.l1_lpid is None:
        _p_label(cv, rx + 0.12, top - 0.22, "the L1", _P_HEAD, bold=True)
        gone_text = (
            "destroyed: its LPID is free again"
            if snap.l1_note == "destroyed"
            else "not created yet"
        )
        _p_label(cv, rx + rw / 2, (top + band) / 2, gone_text, _P_HEAD, colour=S.GREY, ha="center")
    else:
        _p_label(cv, rx + 0.12, top - 0.22, f"L1 · guest hypervisor (LPID {snap.l1_lpid})",
                 _P_HEAD, bold=True)  # fmt: skip
        changed = previous is not None and previous.l1_ptcr != snap.l1_ptcr
        _p_label(cv, rx + 0.12, top - 0.48, f"l1_ptcr (in L0) = {snap.l1_ptcr:#x}", _P_TEXT,
                 mono=True, bold=changed, colour=S.VERMILLION if changed else S.BLACK)  # fmt: skip
        if changed:
            _p_tag(cv, rx + rw - 0.08, top - 0.48, "● changed", S.VERMILLION)
        y = top - 0.74
        if snap.l1_ptcr:
            base = snap.l1_ptcr & 0x0FFF_FFFF_FFFF_F000
            _p_label(cv, rx + 0.12, y,
                     f"its table, L1 real {base:#x}, {snap.l1_table_entries} rows:",
                     _P_TEXT)  # fmt: skip
            _p_label(cv, rx + 0.14, y - 0.24, f"# {'dw0':<16} {'dw1':<16}",
                     mono=True, colour=S.GREY)  # fmt: skip
            y -= 0.38
            if not snap.l1_rows:
                _p_label(cv, rx + 0.3, y - 0.15, "none in use (all rows zero)", _P_TEXT,
                         colour=S.GREY)  # fmt: skip
                y -= 0.34
            same = previous is not None and previous.l1_ptcr == snap.l1_ptcr

            def l1row(row, yy):
                r = row[1]
                colour = L2_COLOURS[(r.lpid - 1) % len(L2_COLOURS)] if r.lpid else S.GREY
                S.box(cv, rx + 0.08, yy, rw - 0.16, _P_ROW, S.tint(colour, 0.35), edge=colour,
                      lw=1.4)  # fmt: skip
                _p_label(cv, rx + 0.14, yy + _P_ROW / 2, _table_line(r.lpid, r.dw0, r.dw1),
                         mono=True)  # fmt: skip

            y = _p_rows(
                cv, rx + 0.08, y, rw - 0.16, [(r.lpid, r) for r in snap.l1_rows],
                {r.lpid for r in previous.l1_rows} if same else None, [], l1row, str,
            )  # fmt: skip
        else:
            _p_label(cv, rx + 0.12, y, "no table registered (l1_ptcr = 0)", _P_TEXT,
                     colour=S.GREY)  # fmt: skip
            y -= 0.2
        _p_label(cv, rx + 0.12, y - 0.16, "its guests", _P_TEXT)
        y -= 0.3
        if not snap.l2s:
            _p_label(cv, rx + 0.3, y - 0.15, "none yet", _P_TEXT, colour=S.GREY)
        for g in snap.l2s:
            colour = L2_COLOURS[(g.l1_lpid - 1) % len(L2_COLOURS)]
            h = 0.58
            S.box(cv, rx + 0.08, y - h, rw - 0.16, h, S.tint(colour, 0.25), edge=colour, lw=1.6)
            _p_label(cv, rx + 0.2, y - 0.17,
                     f"L2 {g.l1_lpid} · {g.mem_size >> 20} MiB at L1 real {g.l1_gpa_base:#x}",
                     _P_TEXT, bold=True)  # fmt: skip
            _p_label(cv, rx + 0.2, y - 0.42, f"{g.pages_mapped} pages mapped · {g.state}")
            y -= h + 0.05

    # ------------------------------------------------------------------ shadow PTEs
    stop, sbottom = band - 0.1, 0.64
    S.box(cv, 0.08, sbottom, W - 0.16, stop - sbottom, S.WHITE, edge=S.BLACK, lw=1.6,
          rounded=False)  # fmt: skip
    _p_label(cv, 0.2, stop - 0.2, "L0's shadow PTEs: L2 real → host real", _P_TEXT, bold=True)
    l2_ids = sorted({s.l1_lpid for s in snap.shadow} | {n.l1_lpid for n in snap.nested})
    prev_shadow = {(s.l1_lpid, s.gpa) for s in previous.shadow} if previous else set()
    now_shadow = {(s.l1_lpid, s.gpa) for s in snap.shadow}
    colw = (W - 0.36) / max(2, len(l2_ids))
    if not l2_ids:
        lost = len(prev_shadow - now_shadow)
        _p_label(cv, 0.3, stop - 0.5, "none", _P_TEXT, colour=S.GREY)
        if lost:
            _p_label(cv, 1.2, stop - 0.5, f"✘ {lost} removed in this step", bold=True,
                     colour=S.VERMILLION)  # fmt: skip
    for c, l2 in enumerate(l2_ids):
        cx = 0.2 + c * colw
        colour = L2_COLOURS[(l2 - 1) % len(L2_COLOURS)]
        _p_label(cv, cx, stop - 0.5, f"L2 {l2}", bold=True)
        S.box(cv, cx + 0.5, stop - 0.6, 0.25, 0.2, S.tint(colour, 0.6), edge=colour)
        mine = [s for s in snap.shadow if s.l1_lpid == l2]
        new = [s for s in mine if previous is not None and (l2, s.gpa) not in prev_shadow]
        mine = new + [s for s in mine if s not in new]  # what changed comes first
        lost = sum(1 for k in prev_shadow if k[0] == l2 and k not in now_shadow)
        yy = stop - 0.76
        room = int((yy - sbottom) / _P_LINE + 1e-9) - (1 if lost else 0)
        if len(mine) > room:
            room -= 1  # a line for "+ n more"
        if not mine:
            _p_label(cv, cx, yy, "none", colour=S.GREY)
            yy -= _P_LINE
        for s in mine[:room]:
            fresh = s in new
            colour = S.VERMILLION if fresh else S.BLACK
            _p_label(cv, cx, yy, f"{s.gpa:#x}→{s.hpa:#x} {s.perms}", mono=True, bold=fresh,
                     colour=colour)  # fmt: skip
            if fresh:
                _p_tag(cv, cx + colw - 0.15, yy, "new", S.VERMILLION)
            yy -= _P_LINE
        if len(mine) > room:
            _p_label(cv, cx, yy, f"+ {len(mine) - room} more", colour=S.GREY)
            yy -= _P_LINE
        if lost:
            _p_label(cv, cx, yy, f"✘ {lost} removed in this step", bold=True,
                     colour=S.VERMILLION)  # fmt: skip

    # ------------------------------------------------------------------ hcalls
    S.box(cv, 0.08, 0.06, W - 0.16, 0.5, S.tint(S.YELLOW, 0.3), edge=S.BLACK, lw=1.2)
    lines = hcall_lines(snap.hcalls, limit=2) if snap.hcalls else []
    if not lines:
        _p_label(cv, 0.2, 0.31, "no hcall in this step", colour=S.GREY)
    for i, line in enumerate(lines):
        _p_label(cv, 0.2, 0.31 + (0.11 if len(lines) == 2 else 0) - 0.22 * i, "hcall " + line,
                 mono=True)  # fmt: skip
    return fig
