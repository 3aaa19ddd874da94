"""The figure of one H_SET_PARTITION_TABLE call (notebook 05).

:func:`draw_set_ptbl` takes a :class:`pynest.scenarios.set_ptbl.SetPtblOutcome` (the
record of the call: its PTCR, the code, L0's state before and after) and draws, top to
bottom:

* the hcall as it travels: the L1's ``sc 1`` with r3/r4, L0's handler, the return code
  in r3 (green for H_SUCCESS, vermillion for an error);
* the two tests ``kvmhv_set_partition_table`` makes (PRTS <= 4, base page in a visible
  memslot), each marked pass / FAIL / not run;
* the L1's guest real memory as a bar with the table the PTCR names drawn on it (the
  part beyond the end of memory hatched);
* L0's ``kvm->arch`` for that L1: ``l1_ptcr`` and ``max_nested_lpid`` before and after,
  and the nested guests kept or dropped.

Every mark also carries a word, so the picture reads in grey scale.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ..scenarios.set_ptbl import SetPtblOutcome, size_text
from . import style as S

WIDTH = 14.0
HEIGHT = 6.4


def _size(n: int) -> str:
    return size_text(n)


def _check_box(cv: S.Canvas, x: float, y: float, w: float, title: str, state: str, text: str):
    face = {"pass": S.tint(S.OK), "FAIL": S.tint(S.FAULT), "not run": S.NOT_REACHED}[state]
    S.box(cv, x, y, w, 0.95, face)
    S.label(cv, x + 0.15, y + 0.66, f"{title}: {state}", S.LABEL_SIZE, bold=True, ha="left")
    S.label(cv, x + 0.15, y + 0.28, text, S.SMALL_SIZE, ha="left", mono=True)


def draw_set_ptbl(
    out: SetPtblOutcome, title: str | None = None, *, fig: Figure | None = None
) -> Figure:
    """The call, the two checks, the table in L1 memory and L0's state (see module).
    ``fig``: a figure this function drew before, redrawn in place."""
    fig, cv = S.reuse_canvas(fig, WIDTH, HEIGHT)
    ok = out.rc == 0
    S.label(
        cv,
        0.3,
        HEIGHT - 0.3,
        title or f"H_SET_PARTITION_TABLE from L1 LPID {out.lpid}",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )

    # --- the call ------------------------------------------------------------------
    y = HEIGHT - 1.55
    S.box(cv, 0.3, y, 4.4, 0.95, S.tint(S.SKY_BLUE))
    S.label(cv, 0.45, y + 0.66, f"L1 (LPID {out.lpid}): sc 1", S.LABEL_SIZE, bold=True, ha="left")
    S.label(
        cv, 0.45, y + 0.28, f"r3 = 0xf800  r4 = {out.ptcr:#x}", S.TEXT_SIZE, mono=True, ha="left"
    )
    S.label(cv, 5.05, y + 0.48, "→", S.TITLE_SIZE + 6)
    handler = "kvmhv_set_partition_table" if out.reached_handler else "handler not called"
    S.box(cv, 5.4, y, 4.1, 0.95, S.tint(S.BLUE) if out.reached_handler else S.NOT_REACHED)
    S.label(cv, 5.55, y + 0.66, "L0: kvmppc_pseries_do_hcall", S.LABEL_SIZE, bold=True, ha="left")
    S.label(cv, 5.55, y + 0.28, handler, S.TEXT_SIZE, mono=True, ha="left")
    S.label(cv, 9.85, y + 0.48, "→", S.TITLE_SIZE + 6)
    S.box(cv, 10.2, y, 3.5, 0.95, S.tint(S.OK if ok else S.FAULT, 0.6))
    S.label(
        cv, 10.35, y + 0.66, f"r3 = {out.rc_name} ({out.rc})", S.LABEL_SIZE, bold=True, ha="left"
    )
    S.label(cv, 10.35, y + 0.28, f"{out.r3:#018x}", S.TEXT_SIZE, mono=True, ha="left")

    # --- the two checks --------------------------------------------------------------
    y = HEIGHT - 2.75
    if not out.reached_handler:
        s1 = s2 = "not run"
    else:
        s1 = "pass" if out.prts_ok else "FAIL"
        s2 = "pass" if out.gfn_visible else "FAIL"
    _check_box(
        cv,
        0.3,
        y,
        6.6,
        "size: PRTS <= 4",
        s1,
        f"PRTS {out.prts} -> 2^{out.prts + 8} = {out.entries} entries ({_size(out.table_bytes)})",
    )
    _check_box(
        cv,
        7.1,
        y,
        6.6,
        "base in a visible memslot",
        s2,
        f"frame {out.gfn:#x}; L1 frames 0..{out.last_gfn:#x}",
    )

    # --- L1 memory bar ---------------------------------------------------------------
    y = 1.75
    x0, bar_w = 0.3, 8.2
    span = max(out.mem_size, out.table_end) * 1.08
    # Far beyond memory the scale breaks: memory keeps 60% of the bar, the rest of the
    # addresses up to the table's end share what is left.
    broken = span > 4 * out.mem_size
    mem_w = 0.6 * bar_w if broken else out.mem_size * bar_w / span

    def pos(addr: int) -> float:
        if addr <= out.mem_size or not broken:
            return x0 + addr * mem_w / out.mem_size if broken else x0 + addr * bar_w / span
        rest = (addr - out.mem_size) / (span - out.mem_size)
        return x0 + mem_w + 0.15 + rest * (bar_w - mem_w - 0.15)

    S.label(cv, x0, y + 1.2, "L1 guest real memory", S.LABEL_SIZE, bold=True, ha="left")
    S.box(cv, x0, y, mem_w, 0.55, S.tint(S.GREEN, 0.25), rounded=False)
    S.label(cv, x0 + 0.05, y - 0.25, "0", S.SMALL_SIZE, mono=True, ha="left")
    S.label(
        cv,
        x0 + mem_w,
        y - 0.25,
        f"{out.mem_size:#x} ({_size(out.mem_size)})",
        S.SMALL_SIZE,
        mono=True,
        ha="right" if broken else "center",
    )
    if out.table_end > out.mem_size:
        S.box(
            cv,
            x0 + mem_w,
            y,
            x0 + bar_w - (x0 + mem_w),
            0.55,
            S.WHITE,
            edge=S.GREY,
            rounded=False,
            dashed=True,
        )
        S.label(
            cv,
            x0 + bar_w,
            y - 0.55,
            "dashed: not L1 memory" + ("; ≈ scale broken" if broken else ""),
            S.SMALL_SIZE,
            colour=S.FAULT,
            ha="right",
        )
        if broken:
            S.label(cv, x0 + mem_w + 0.08, y + 0.27, "≈", S.LABEL_SIZE, bold=True)
    if out.ptcr:
        tx = pos(out.base)
        tw = max(0.12, pos(out.table_end) - tx)
        inside = out.table_end <= out.mem_size
        S.box(
            cv,
            tx,
            y - 0.05,
            tw,
            0.65,
            S.tint(S.ORANGE, 0.9) if inside else S.tint(S.FAULT, 0.7),
            rounded=False,
            hatch=None if inside else "//",
        )
        where = "inside" if inside else "straddles the end" if out.gfn_visible else "beyond the end"
        right = tx > x0 + bar_w / 2
        S.label(
            cv,
            tx + tw if right else tx,
            y + 0.8,
            f"table {out.base:#x} +{_size(out.table_bytes)} ({where})",
            S.SMALL_SIZE,
            ha="right" if right else "left",
        )
    else:
        S.label(cv, x0 + 0.1, y + 0.8, "PTCR 0: no table (deregister)", S.SMALL_SIZE, ha="left")

    # --- L0 state ----------------------------------------------------------------------
    x, w = 8.9, 4.8
    S.box(cv, x, 0.25, w, 2.55, S.tint(S.BLUE, 0.15))
    S.label(
        cv, x + 0.15, 2.5, f"L0: kvm->arch of LPID {out.lpid}", S.LABEL_SIZE, bold=True, ha="left"
    )
    changed = out.ptcr_after != out.ptcr_before
    rows = [
        (
            "l1_ptcr",
            f"{out.ptcr_before:#x} → {out.ptcr_after:#x}"
            if changed
            else f"{out.ptcr_after:#x} (kept)",
        ),
        (
            "max_nested_lpid",
            f"{out.max_nested_lpid_before} → {out.max_nested_lpid_after}"
            if out.max_nested_lpid_after != out.max_nested_lpid_before
            else f"{out.max_nested_lpid_after} (kept)",
        ),
        ("nested guests", ", ".join(map(str, out.nested_after)) or "none"),
        ("dropped", ", ".join(map(str, out.dropped)) or "none"),
    ]
    for i, (name, value) in enumerate(rows):
        yy = 2.0 - 0.45 * i
        S.label(cv, x + 0.15, yy, name, S.TEXT_SIZE, ha="left")
        S.label(cv, x + 2.0, yy, value, S.TEXT_SIZE, mono=True, ha="left")
    S.label(
        cv,
        0.3,
        0.45,
        "L0 checks only PRTS and the page holding the base; "
        "alignment and the table's end are not checked.",
        S.SMALL_SIZE,
        ha="left",
        colour=S.BLACK,
    )
    return fig
