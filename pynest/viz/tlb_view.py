"""What an invalidation removed: L0's TLB entries and shadow PTEs, before and after.

``draw_tlbie(outcome)`` takes a :class:`pynest.scenarios.tlbie.TlbieOutcome` and draws
two lists one above the other, full width so that every row reads at 1280 px -- the TLB
entries (T1..) on top, the shadow PTEs (S1..) below, each as it was before the
operation -- with every row marked *kept* or *removed* (vermillion, bold word, struck
through), the operands on top and the result (H_* code, invalid form, counts)
underneath. Rows are grouped by LPID with a colour per
L2, so "everything of one LPID" reads at a glance.

The lists of one :class:`pynest.scenarios.tlbie.TlbieLab` are the same before every
operation, so a figure passed back as ``fig`` for another outcome of the same lab is
only restyled (an explorer's control change costs no new artists).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ..mmu.formats import page_size_text
from ..mmu.tlb import TlbEntry
from ..scenarios.tlbie import TlbieOutcome, labels, tlbie_removed
from . import style as S

_ROW_H = 0.38
_TITLE_H = 1.05
_HEAD_H = 0.45
_FOOT_H = 0.75
_L2_COLOURS = (S.SKY_BLUE, S.YELLOW, S.PURPLE, S.GREEN)


def _tlb_text(e: TlbEntry) -> str:
    pid = "" if e.pid is None else f" PID {e.pid}"
    via = f" via {e.gra:#x}" if e.gra is not None else ""
    return f"LPID {e.lpid}{pid} EA {e.epn:#x} → {e.rpn:#x}{via} {page_size_text(e.page_size)}"


def _shadow_text(s) -> str:  # noqa: ANN001 - ShadowPte
    return f"LPID {s.shadow_lpid} (L2 {s.l1_lpid}) {s.gpa:#x} → {s.hpa:#x} {page_size_text(s.size)}"


class _Drawn:
    def __init__(self, key: tuple) -> None:
        self.key = key
        self.rows: dict[str, tuple] = {}  # label -> (patch, state text, body text)
        self.title = None
        self.operands = None
        self.footer = None


def _key(outcome: TlbieOutcome) -> tuple:
    return (tuple(outcome.tlb_before), tuple(outcome.shadow_before))


def _lpid_colour(lpid: int, order: list[int]) -> str:
    return _L2_COLOURS[order.index(lpid) % len(_L2_COLOURS)] if lpid in order else S.GREY


def _build(fig: Figure, outcome: TlbieOutcome) -> _Drawn:
    drawn = _Drawn(_key(outcome))
    n_tlb = max(len(outcome.tlb_before), 1)
    n_shadow = max(len(outcome.shadow_before), 1)
    width = S.FIGURE_WIDTH
    height = _TITLE_H + 2 * _HEAD_H + _ROW_H * (n_tlb + n_shadow) + _FOOT_H
    fig.clear()
    fig.set_size_inches(width, height)
    cv = S.canvas_axes(fig, width, height)
    top = height - 0.1
    S.label(cv, 0.15, top - 0.25, "", S.TITLE_SIZE, bold=True, ha="left")
    drawn.title = fig.texts[-1]
    S.label(cv, 0.15, top - 0.7, "", S.SMALL_SIZE, mono=True, ha="left")
    drawn.operands = fig.texts[-1]
    top -= _TITLE_H
    S.label(cv, 0.15, top - 0.2, "L0's TLB (translations)", S.LABEL_SIZE, bold=True, ha="left")
    shadow_top = top - _HEAD_H - _ROW_H * n_tlb
    S.label(cv, 0.15, shadow_top - 0.2, "L0's shadow PTEs", S.LABEL_SIZE, bold=True, ha="left")
    top -= _HEAD_H
    shadow_top -= _HEAD_H
    order = sorted(
        {s.shadow_lpid for s in outcome.shadow_before} | {e.lpid for e in outcome.tlb_before}
    )
    items = labels(outcome)
    for label, item in items.items():
        left = label[0] == "T"
        i = int(label[1:]) - 1
        x = 0.1
        y = (top if left else shadow_top) - _ROW_H * (i + 1)
        lpid = item.lpid if left else item.shadow_lpid  # type: ignore[attr-defined]
        colour = _lpid_colour(lpid, order)
        S.box(
            cv, x, y + 0.03, width - 0.2, _ROW_H - 0.06, S.tint(colour, 0.3), lw=0.8, rounded=False
        )
        patch = fig.patches[-1]
        S.label(cv, x + 0.1, y + _ROW_H / 2, label, S.SMALL_SIZE, bold=True, ha="left")
        S.label(cv, x + 0.65, y + _ROW_H / 2, "kept", S.SMALL_SIZE, ha="left")
        state = fig.texts[-1]
        body = _tlb_text(item) if left else _shadow_text(item)  # type: ignore[arg-type]
        S.label(cv, x + 1.9, y + _ROW_H / 2, body, S.SMALL_SIZE, mono=True, ha="left")
        drawn.rows[label] = (patch, state, fig.texts[-1], colour)
    S.label(cv, 0.15, _FOOT_H / 2, "", S.TEXT_SIZE, bold=True, ha="left")
    drawn.footer = fig.texts[-1]
    return drawn


def _restyle(drawn: _Drawn, outcome: TlbieOutcome) -> None:
    gone = tlbie_removed(outcome)
    op = outcome.op
    who = "L1 → L0: H_TLB_INVALIDATE" if op.who == "L1" else "L0: tlbie on its own TLB"
    drawn.title.set_text(
        f"{who}  RIC={op.ric} PRS={op.prs} R={op.r} IS={op.is_} LPID {op.lpid} PID {op.pid}"
        + (f" AP {op.ap} EPN {op.epn & ~0xFFF:#x}" if op.is_ == 0 else "")
    )
    drawn.operands.set_text(f"instr {op.instr:#010x}  RS {op.rs:#018x}  RB {op.rb:#018x}")
    for label, (patch, state, body, colour) in drawn.rows.items():
        if label in gone:
            patch.set_facecolor(S.tint(S.FAULT, 0.35))
            patch.set_edgecolor(S.FAULT)
            patch.set_linewidth(2.0)
            state.set_text("REMOVED")
            state.set_fontweight("bold")
            state.set_color(S.FAULT)
            body.set_color("#555555")
        else:
            patch.set_facecolor(S.tint(colour, 0.3))
            patch.set_edgecolor(S.BLACK)
            patch.set_linewidth(0.8)
            state.set_text("kept")
            state.set_fontweight("normal")
            state.set_color(S.BLACK)
            body.set_color(S.BLACK)
    if outcome.rc is not None:
        head = f"{outcome.rc_name} ({outcome.rc})"
    elif outcome.invalid:
        head = f"invalid form: {outcome.invalid} (program interrupt)"
    else:
        head = "done"
    drawn.footer.set_text(
        f"{head}: removed {len(outcome.removed_tlb)} of {len(outcome.tlb_before)} TLB entries, "
        f"{len(outcome.removed_shadow)} of {len(outcome.shadow_before)} shadow PTEs"
    )
    drawn.footer.set_color(S.FAULT if head.startswith(("H_P", "invalid")) else S.BLACK)


def draw_tlbie(outcome: TlbieOutcome, *, fig: Figure | None = None) -> Figure:
    """The TLB entries and shadow PTEs before ``outcome``'s operation, removed ones
    marked (see the module docstring)."""
    if fig is None:
        fig = S.new_figure(S.FIGURE_WIDTH, 6.0)
    drawn = getattr(fig, "_pynest_tlbie", None)
    if drawn is None or drawn.key != _key(outcome):
        drawn = _build(fig, outcome)
        fig._pynest_tlbie = drawn  # type: ignore[attr-defined]
    _restyle(drawn, outcome)
    return fig


def tlbie_text(outcome: TlbieOutcome) -> str:
    """The figure as text: every entry with kept/REMOVED, then the result."""
    gone = tlbie_removed(outcome)
    lines = [outcome.summary()]
    for label, item in labels(outcome).items():
        lines.append(f"  {label:>3} {'REMOVED' if label in gone else 'kept   '} {item}")
    return "\n".join(lines)
