"""The walk's step records decode what each 8-byte read really holds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.mmu import PateDw0, PateDw1, ProcessTableEntry, translate
from pynest.scenarios import radix_reference


def test_pate_steps_decode_each_doubleword_on_its_own():
    w = radix_reference()
    t = translate(w.mem, w.contexts["hv"], 0x10000ABC, update_rc=False)
    dw0, dw1 = t.steps[0].decoded, t.steps[1].decoded
    # PATE[0] = 0xC0000000001100AD / 0x200000 (radix-mmu.md section 7)
    assert dw0 == PateDw0(hr=True, tree_bits=52, rpdb=0x110000, rpds=13)
    assert dw1 == PateDw1(prtb=0x200000, prts=0)
    assert "process table 0x200000" in str(dw1)
    assert "process table" not in str(dw0)  # dw0 alone says nothing about dw1
    assert isinstance(t.steps[4].decoded, ProcessTableEntry)


@settings(max_examples=200, derandomize=True)
@given(st.integers(0, (1 << 64) - 1))
def test_pate_halves_round_trip(raw):
    assert PateDw0.decode(raw).encode() == raw
    assert PateDw1.decode(raw).encode() == raw
