"""The adversarial L1 state machine under a bounded CI profile (``make fuzz`` runs it
for 100,000+ steps; see ``benchmarks/fuzz.py``)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from .adversarial_machine import STATS, AdversarialL1

CI_PROFILE = settings(
    max_examples=12,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_adversarial_l1_cannot_break_out():
    STATS.reset()
    run_state_machine_as_test(AdversarialL1, settings=CI_PROFILE)
    assert STATS.steps > 0 and STATS.invariant_checks >= 3 * STATS.steps
    assert sum(STATS.hcalls.values()) > STATS.steps  # rules make hcalls (run_l2 several)
