"""Every exercise is a pure function of its seed, pinned across refactors (issue 14 item 3).

For each kind and seed 0..50, a SHA-256 of the question, the revealed answer, the
solution, the hint and the feedback to a fixed set of probe answers (the right one in
its shown spelling, and common wrong ones) is compared with ``exercise_baseline.json``,
made from the code before the scenario layer moved out of ``exercises``. Regenerate
only after an intended change: ``python -m tests.exercises.test_exercise_baseline``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pynest.exercises import GENERATORS, generate

BASELINE = Path(__file__).with_name("exercise_baseline.json")
SEEDS = range(51)
PROBES = (
    "0",
    "0x0",
    "1",
    "-1",
    "-22",
    "H_SUCCESS",
    "H_PARAMETER",
    "DSI L3",
    "HDSI",
    "no",
    "yes",
    "64K",
    "2M",
    "rw",
    "P0 L2",
    "ENODEV",
    "zzz",
    "",
)


def fingerprint(kind: str, seed: int) -> str:
    """The hash of everything a learner can see of exercise ``kind`` for ``seed``."""
    ex = generate(kind, seed)
    parts = [ex.kind, str(ex.seed), ex.question, ex.reveal(), ex.hint]
    right = ex.reveal().split("\n", 1)[0].removeprefix("Answer: ").split(" (")[0]
    for probe in (right, *PROBES):
        ok, feedback = ex.check(probe)
        parts.append(f"{probe}|{ok}|{feedback}")
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def current() -> dict[str, list[str]]:
    return {kind: [fingerprint(kind, s) for s in SEEDS] for kind in GENERATORS}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_exercise_unchanged_for_seeds_0_to_50(kind):
    baseline = json.loads(BASELINE.read_text())
    assert kind in baseline, f"no baseline for kind {kind!r}"
    changed = [s for s in SEEDS if fingerprint(kind, s) != baseline[kind][s]]
    assert not changed, f"{kind}: seeds {changed} differ from the baseline"


def test_baseline_covers_every_kind():
    assert sorted(json.loads(BASELINE.read_text())) == sorted(GENERATORS)


if __name__ == "__main__":
    BASELINE.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
