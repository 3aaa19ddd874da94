"""Notebook 12's review thread: the nine points, the model runs behind them, the figure.

Hand-checked against the 4.20.1 source (/tmp/k/420 in the brief) and the seed message:

* point order and outcomes follow the thread (Paul Mackerras, 2 Oct 2018);
* kvmhv_nested_init (book3s_hv_nested.c:322-355): 0 when not on pseries, -ENODEV
  without radix, -ENOMEM when kmalloc fails, -ENODEV when the hcall fails, else 0;
  v2 returned true / false for the same cases;
* the 4.20 array is 1024 pointers + an int = 8196 bytes per VM, 4096 entries 32772;
  the IDR for lpids {1, 2} is 24 + 576 = 600 bytes, 24 when empty;
* kvmhv_set_ptbl_entry (pseries, :386-397) flushes with H_TLB_INVALIDATE r4 =
  H_TLBIE_P1_ENC(2, 0, 1) = 2 << 18 | 1 << 16 = 0x90000, r5 = lpid, r6 = 0x800;
* kvmhv_set_partition_table (:418-437): PRTS > 4 or a base outside the memslots gives
  H_PARAMETER and leaves l1_ptcr alone;
* the races (pynest.kvm.races): remove 148 orders, 140 broken without the == gp test;
  create 222 orders, 210 in which both vcpus allocate, all broken without the re-check.
"""

import re
from pathlib import Path

import pytest

from pynest.errors import ConfigError
from pynest.viz import style as S
from pynest.viz.review import (
    ENODEV,
    ENOMEM,
    OUTCOMES,
    REVIEW_POINTS,
    THREAD,
    draw_review_thread,
    errno_name,
    kvmhv_nested_init_errno,
    nested_init_cases,
    point,
    run_point,
    v2_nested_init_bool,
)

SEED = Path("/work/shared/seeds/000_66b5b0fab03acd79.txt")
KEYS = (
    "reviewed-by",
    "nested-array",
    "init-comment",
    "init-errno",
    "on-pseries",
    "ptbl-flush",
    "ptcr-check",
    "remove-race",
    "create-race",
)


def test_nine_points_in_the_threads_order():
    assert tuple(p.key for p in REVIEW_POINTS) == KEYS
    assert [p.number for p in REVIEW_POINTS] == list(range(1, 10))
    outcomes = {p.key: p.outcome for p in REVIEW_POINTS}
    assert outcomes["nested-array"] == "later"  # still an array in 4.20, IDR in 5.19
    assert {k for k, o in outcomes.items() if o == "changed"} == {
        "init-comment",
        "init-errno",
        "ptbl-flush",
        "ptcr-check",
    }
    assert {k for k, o in outcomes.items() if o == "kept"} == {"on-pseries", "remove-race"}
    assert set(outcomes.values()) <= set(OUTCOMES)
    with_alt = {p.key for p in REVIEW_POINTS if p.alternative}
    assert with_alt == {
        "nested-array",
        "init-errno",
        "on-pseries",
        "ptcr-check",
        "remove-race",
        "create-race",
    }
    assert "Paul Mackerras, 2 Oct 2018" in THREAD and "David Gibson" in THREAD


def test_point_lookup():
    assert point(6) is point("ptbl-flush") is REVIEW_POINTS[5]
    for bad in (0, 10, "nope", True, None, 2.0):
        with pytest.raises(ConfigError):
            point(bad)
    with pytest.raises(ConfigError):
        run_point(1, "alternative")  # no alternative for the Reviewed-by
    with pytest.raises(ConfigError):
        run_point(2, "v1")


def test_no_errata_in_the_texts():
    text = " ".join(f"{p.where} {p.review} {p.reply} {p.merged}" for p in REVIEW_POINTS)
    assert "not available" not in text and "not among the sources" not in text  # E17
    assert not re.search(r"4096[^.]*from 5\.19", text)  # E9: 4096 entries by 5.11
    assert "by 5.11" in point("nested-array").merged.lower()
    assert "just stores" not in text and "only stored" not in text  # E1
    assert "kvmhv_flush_lpid" in point("ptbl-flush").merged


@pytest.mark.skipif(not SEED.exists(), reason="the seed message is not on this machine")
def test_paraphrased_not_quoted():
    """No run of five words of the message's prose (code lines left out) is reused."""
    prose = []
    for line in SEED.read_text().splitlines():
        t = line.lstrip("> ").strip()
        if line.startswith("> >") or t.startswith(("+", "@@", "-", "diff", "index")):
            continue
        prose.append(t)
    words = re.findall(r"[\w'()]+", " ".join(prose).lower())
    grams = {tuple(words[i : i + 5]) for i in range(len(words) - 4)}
    for p in REVIEW_POINTS:
        for name in ("title", "review", "reply", "merged"):
            w = re.findall(r"[\w'()]+", getattr(p, name).lower())
            reused = [
                " ".join(w[i : i + 5]) for i in range(len(w) - 4) if tuple(w[i : i + 5]) in grams
            ]
            assert not reused, f"point {p.number} {name} reuses {reused}"


def test_nested_init_errno_vectors():
    assert kvmhv_nested_init_errno(False) == 0
    assert kvmhv_nested_init_errno(True) == 0
    assert kvmhv_nested_init_errno(True, radix=False) == -ENODEV == -19
    assert kvmhv_nested_init_errno(True, table=False) == -ENOMEM == -12
    assert kvmhv_nested_init_errno(True, rc=-2) == -ENODEV  # H_FUNCTION
    assert kvmhv_nested_init_errno(True, radix=False, table=False) == -ENODEV  # radix first
    assert [v2_nested_init_bool(True, rc=rc) for rc in (0, -2, -4)] == [True, False, False]
    assert v2_nested_init_bool(False) is True
    assert errno_name(-19) == "-ENODEV (-19)" and errno_name(0) == "0"


def test_nested_init_cases_run_on_the_model():
    cases = {c.key: c for c in nested_init_cases()}
    assert cases["nesting-on"].parent == "H_SUCCESS" and cases["nesting-on"].errno == 0
    assert cases["nesting-off"].parent == "H_FUNCTION" and cases["nesting-off"].errno == -19
    assert cases["nomem"].errno == -12 and not cases["nomem"].modelled
    assert [c.v2 for c in cases.values()] == [True, True, False, False, False]


def _lines(key, variant="merged"):
    return "\n".join(run_point(key, variant).lines)


def test_reviewed_by_runs_the_merged_framework():
    r = run_point("reviewed-by")
    assert r.ok and "H_SET_PARTITION_TABLE x1" in _lines(1)
    assert "changed in 4.20: 3, 4, 6, 7" in _lines(1) and "later: 2" in _lines(1)


def test_nested_array_costs():
    merged, idr = run_point(2), run_point(2, "alternative")
    assert not merged.ok and idr.ok
    assert _lines(2).count("8,196 bytes") == 3 and "total 24,588 bytes" in _lines(2)
    assert "32,772 bytes" in _lines(2)  # 4096 pointers + the int
    text = _lines(2, "alternative")
    assert "(2 nested guests): 600 bytes" in text and text.count(": 24 bytes") == 2
    assert "total 648 bytes" in text


def test_init_comment_bare_metal_and_pseries():
    text = _lines(3)
    assert "L0.nested_init() -> 0; 0 events" in text
    assert "16,384-byte table (PRTS 2)" in text and "r4=0x1004002" in text


def test_init_errno_table():
    text = _lines(4)
    assert re.search(r"nesting off in L0 +H_FUNCTION +-ENODEV \(-19\)", text)
    assert re.search(r"kmalloc of the table fails +no hcall +-ENOMEM \(-12\)", text)
    assert run_point(4, "alternative").verdict.endswith("one answer: false")
    assert _lines(4, "alternative").count("false") == 3


def test_on_pseries_run_and_build():
    assert "r4=0x0 -> H_SUCCESS; L0's l1_ptcr = 0x0" in _lines(5)
    assert run_point(5).ok and not run_point(5, "alternative").ok
    assert "undefined reference to plpar_hcall_norets" in _lines(5, "alternative")


def test_ptbl_flush_is_the_hcall():
    r = run_point("ptbl-flush")
    assert r.ok
    text = _lines(6)
    assert "H_TLB_INVALIDATE" in text and "r4=0x90000 r5=0x1 r6=0x800" in text
    assert "7 shadow PTEs dropped" in text and "lpids [2]" in text
    assert "since Linux 4.20" in text  # versions row set-ptbl-flush


def test_ptcr_check_vectors():
    text = _lines(7)
    assert "r4 = 0x1004002 (the L1's own table, PRTS 2) -> H_SUCCESS" in text
    assert text.count("-> H_PARAMETER; l1_ptcr = 0x1004002") == 3
    alt = _lines(7, "alternative")
    assert "1023: True, 1024: False" in alt and "(unreadable)" in alt


def test_races():
    assert run_point(8).ok and "148 interleavings, none breaks" in _lines(8)
    assert "slot no longer holds gp#1" in _lines(8)
    assert run_point(8, "alternative").verdict == "140 of 148 orders break an invariant"
    assert "in 210 of 222 orders both vcpus allocate" in _lines(9)
    assert "someone else beat us to it" in _lines(9)
    assert run_point(9, "alternative").verdict == "210 of 222 orders break an invariant"


@pytest.mark.parametrize("p", REVIEW_POINTS, ids=lambda p: p.key)
def test_figure_of_every_point(p):
    fig = None
    for variant in ("merged", "alternative") if p.alternative else ("merged",):
        r = run_point(p.key, variant)
        fig = draw_review_thread(r, fig=fig)
        meta = fig._pynest_review
        assert meta == {
            "point": p.number,
            "variant": variant,
            "ok": r.ok,
            "rows": 9,
            "model_lines": meta["model_lines"],
        }
        text = S.figure_text(fig)
        assert f"point {p.number} of 9" in text
        for q in REVIEW_POINTS:  # every row and its outcome tag
            assert f"{q.number}. {q.title}" in text
        assert f"the model: {r.label}" in text
        assert ("holds: " if r.ok else "broken: ") + r.verdict in text
        assert (
            sum(OUTCOMES[q.outcome][0] == t for q in REVIEW_POINTS for t in text.splitlines()) >= 9
        )
        assert max(len(t) for t in text.splitlines()) <= 100  # wrapped to fit


def test_redraw_reuses_the_figure():
    fig = draw_review_thread(run_point(1))
    n = len(fig.texts)
    again = draw_review_thread(run_point(8, "alternative"), fig=fig)
    assert again is fig and len(fig.axes) == 1
    assert "point 8 of 9" in S.figure_text(fig) and "point 1 of 9" not in S.figure_text(fig)
    assert draw_review_thread(run_point(1), fig=fig) is fig and len(fig.texts) == n
