"""The public seams of PhysicalMemory that the fast walkers use (bus_words, written)."""

from hypothesis import given
from hypothesis import strategies as st

from pynest.memory import PhysicalMemory
from pynest.mmu.xlate import translate
from pynest.scenarios import radix_reference

SIZE = 1 << 16


def test_bus_words_is_the_word_map_only_while_no_log_is_open():
    mem = PhysicalMemory(SIZE)
    mem.write_u64(0x100, 0xDEAD)
    words = mem.bus_words()
    assert words is not None and words.get(0x100) == 0xDEAD and words.get(0x108, 0) == 0
    with mem.access_log() as log:
        assert mem.bus_words() is None  # a logged reader must use load64
        assert mem.load64(0x100) == 0xDEAD
    assert [a.addr for a in log] == [0x100]
    assert mem.bus_words() is words  # the log closed: the live map again


@given(st.dictionaries(st.integers(0, SIZE // 8 - 1), st.integers(0, (1 << 64) - 1)))
def test_bus_words_and_written_agree_with_load64(stores):
    mem = PhysicalMemory(SIZE)
    for slot, value in stores.items():
        mem.store64(8 * slot, value)
    words = mem.bus_words()
    assert words is not None
    for slot in range(0, SIZE // 8, 97):
        assert words.get(8 * slot, 0) == mem.load64(8 * slot)
    expected = sorted((8 * s, v) for s, v in stores.items() if v)
    assert list(mem.written()) == expected == sorted(words.items())


def test_a_logged_translation_reads_what_the_inlined_one_reads():
    world = radix_reference()
    mem, hv = world.mem, world.contexts["hv"]
    fast = translate(mem, hv, 0x10000ABC, "load", update_rc=False)
    with mem.access_log() as log:
        logged = translate(mem, hv, 0x10000ABC, "load", update_rc=False)
    assert fast.ra == logged.ra == 0x3000ABC and fast.raw_steps == logged.raw_steps
    assert [a.addr for a in log] == [step[4] for step in logged.raw_steps]
