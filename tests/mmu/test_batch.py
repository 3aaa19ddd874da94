"""translate_many must equal the scalar translate (update_rc=False) on every input."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import ArgumentTypeError
from pynest.mmu import CpuState, translate
from pynest.mmu.batch import INTERRUPT_CODES, translate_many

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conformance.random_worlds import build_world  # noqa: E402


def _scalar_row(mem, cpu, ea, access):
    t = translate(mem, cpu, ea, access, update_rc=False)
    if t.fault is None:
        return t.ra, t.page_size, 0, 0
    f = t.fault
    cause = f.dsisr if f.dsisr is not None else f.hdsisr if f.hdsisr is not None else f.cause
    return 0, 0, INTERRUPT_CODES[f.interrupt], cause


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6))
def test_batch_equals_scalar_on_random_worlds(seed):
    world = build_world(seed, cases=4)
    rng = random.Random(seed)
    eas = [c.ea for c in world.cases]
    eas += [(ea + rng.randrange(-0x3000, 0x3000)) % (1 << 64) & ~7 for ea in eas]
    eas += [rng.randrange(1 << 64) for _ in range(8)]
    before = dict(world.mem.written())
    for case in world.cases:
        cpu = CpuState(ptcr=world.ptcr, lpidr=case.lpidr, pidr=case.pidr, msr=case.msr,
                       amr=case.amr, iamr=case.iamr)  # fmt: skip
        for access in ("load", "store", "fetch"):
            batch = translate_many(world.mem, cpu, np.array(eas, dtype=np.uint64), access)
            for i, ea in enumerate(eas):
                got = (int(batch.ra[i]), int(batch.page_size[i]), int(batch.interrupt[i]),
                       int(batch.cause[i]))  # fmt: skip
                assert got == _scalar_row(world.mem, cpu, ea, access), (hex(ea), access)
    assert dict(world.mem.written()) == before  # the batch never writes R/C


def test_batch_summary_and_ok_mask():
    world = build_world(3)
    case = world.cases[0]
    cpu = CpuState(ptcr=world.ptcr, lpidr=case.lpidr, pidr=case.pidr, msr=case.msr)
    batch = translate_many(world.mem, cpu, [case.ea, 1 << 55])
    assert len(batch) == 2
    assert batch.interrupt[1] in (INTERRUPT_CODES["DSEG"], INTERRUPT_CODES["ISEG"])
    assert not batch.ok[1]
    assert sum(batch.summary().values()) == 2


@pytest.mark.parametrize(
    "bad", [[-1], [[1, 2]], ["0x10"], [1.5]], ids=["negative", "2-D", "strings", "floats"]
)
def test_batch_rejects_bad_input(bad):
    world = build_world(1)
    with pytest.raises(ArgumentTypeError):
        translate_many(world.mem, CpuState(ptcr=world.ptcr), bad)
