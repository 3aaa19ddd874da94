"""``make fuzz``: run the adversarial L1 state machine for many steps and count.

Runs :class:`tests.adversarial.adversarial_machine.AdversarialL1` (hypothesis stateful
testing) round after round, each round seeded ``seed * 1_000_003 + round``, until at
least ``--steps`` steps have run, printing a progress line every ``--every`` steps. Then
prints the steps and rounds, the worlds (page-size mixes) built, the rules, the hcalls
by name and return code (names from ``pynest/kvm/hcalls.py``), the invariant checks by
invariant, the host writes and reads the footprint check examined, L0's resources before (the
fresh L0), at the end of each run and after every L1 was destroyed (table bytes, free
LPIDs, TLB entries, event-log length), the L1's own helpers refusing its garbage, and
the failures (a failing run is reported, not shrunk, and the fuzz goes on; one that
:data:`KNOWN` lists is marked with the xfail regression test reproducing it). Exit
status 1 when anything failed.

    python benchmarks/fuzz.py --steps 100000 --seed 0 --every 10000
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.adversarial.adversarial_machine import STATS, AdversarialL1  # noqa: E402

#: failures already reduced to a regression test that is marked xfail until the model is
#: fixed: (text in the failure's traceback, the test that reproduces it)
KNOWN: list[tuple[str, str]] = []  # none open (the l1_gpa assert was fixed in 07f55f7)


def known(text: str) -> str:
    """The regression test that reproduces a failure with traceback ``text``, or ""."""
    return next((test for needle, test in KNOWN if needle in text), "")


def print_resources(runs: list[tuple[dict, dict, dict]]) -> None:
    """L0's resources over the runs: the fresh L0, the end of a run (min..max), after
    every L1 was destroyed, and in how many runs that equalled the fresh L0."""
    print(
        f"L0 resources over {len(runs)} runs "
        "(fresh L0 | end of run min..max | after destroying every L1):"
    )
    if not runs:
        return
    for key in runs[0][0]:
        fresh = sorted({r[0][key] for r in runs})
        end = [r[1][key] for r in runs]
        after = sorted({r[2][key] for r in runs})
        same = sum(r[2][key] == r[0][key] for r in runs)
        back = (  # the log only grows (a ring bounds what it holds: l0_bounds checks it)
            f"max {max(after)}" if key.startswith("event log") else f"= fresh in {same}/{len(runs)}"
        )
        print(
            f"  {key:<18} {'/'.join(map(str, fresh)):>10} | {min(end):>8}..{max(end):<8} | "
            f"{'/'.join(map(str, after[:3]))}{'...' if len(after) > 3 else ''}  ({back})"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000, help="steps to run at least")
    ap.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    ap.add_argument("--every", type=int, default=10_000, help="progress line every N steps")
    ap.add_argument("--examples", type=int, default=20, help="runs of the machine per round")
    ap.add_argument("--run-steps", type=int, default=200, help="steps per run of the machine")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.every < 1 or args.examples < 1 or args.run_steps < 1:
        ap.error("--steps, --every, --examples and --run-steps must be positive")

    STATS.reset()
    start = time.perf_counter()
    next_line = args.every

    def progress(stats) -> None:  # noqa: ANN001
        nonlocal next_line
        if stats.steps >= next_line:
            next_line += args.every
            rate = stats.steps / (time.perf_counter() - start)
            print(
                f"  {stats.steps:>8} steps  {sum(stats.hcalls.values()):>8} hcalls  "
                f"{stats.invariant_checks:>8} invariant checks  {rate:6.0f} steps/s",
                flush=True,
            )

    failures: list[str] = []
    profile = settings(
        max_examples=args.examples,
        stateful_step_count=args.run_steps,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    rnd = 0
    print(f"== fuzz: {args.steps} steps, seed {args.seed}", flush=True)
    while STATS.steps < args.steps:
        machine = type("FuzzL1", (AdversarialL1,), {"progress": staticmethod(progress)})
        seed(args.seed * 1_000_003 + rnd)(machine)
        rnd += 1
        try:
            run_state_machine_as_test(machine, settings=profile)
        except Exception as exc:  # a failure: report it and keep fuzzing
            text = traceback.format_exc()
            test = known(text)
            first = (str(exc).splitlines() or [""])[0][:200]
            failures.append(
                f"round {rnd - 1}: {type(exc).__name__}: {first}"
                + (f" [known, reproduced by {test} (xfail)]" if test else "")
            )
            print(text, flush=True)
    elapsed = time.perf_counter() - start

    rate = STATS.steps / elapsed
    print(f"\nsteps: {STATS.steps} in {rnd} rounds, {elapsed:.1f} s ({rate:.0f} steps/s)")
    print(f"invariant checks: {STATS.invariant_checks}")
    for name, n in sorted(STATS.invariants.items()):
        print(f"  {name:<28} {n:>8}")
    print(
        f"footprint-checked inside hcalls: {STATS.footprint_writes} host doublewords written, "
        f"{STATS.footprint_reads} host reads (L0's and the hardware walk's)"
    )
    print(f"worlds: {sum(STATS.worlds.values())}")
    for name, n in sorted(STATS.worlds.items()):
        print(f"  {name:<48} {n:>6}")
    print_resources(STATS.resources)
    print("rules:")
    for name, n in sorted(STATS.rules.items()):
        print(f"  {name:<28} {n:>8}")
    print(f"hcalls: {sum(STATS.hcalls.values())}")
    by_code: Counter = Counter()
    for (name, rc), n in STATS.hcalls.items():  # opcodes pynest does not name: one line
        by_code[("unnamed opcodes" if name.startswith("hcall ") else name, rc)] += n
    for (name, rc), n in sorted(by_code.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"  {name:<22} {rc:<14} {n:>8}")
    print(f"the L1's own helpers refused its garbage: {sum(STATS.l1_refusals.values())}")
    for what, n in sorted(STATS.l1_refusals.items()):
        print(f"  {what:<40} {n:>8}")
    nknown = sum("[known," in f for f in failures)
    print(f"failures: {len(failures)} ({nknown} known, {len(failures) - nknown} new)")
    for f in failures:
        print(f"  {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
