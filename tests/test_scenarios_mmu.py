"""The MMU worlds of pynest.scenarios: every listed mapping translates as listed."""

from __future__ import annotations

import pytest

from pynest.mmu import translate
from pynest.scenarios import SCENARIOS, MmuWorld, radix_host, radix_reference


@pytest.mark.parametrize("world", [radix_reference(), radix_host(0), radix_host(7)],
                         ids=["reference", "host-0", "host-7"])  # fmt: skip
def test_every_listed_mapping_translates(world: MmuWorld):
    assert world.mappings
    for name, cpu in world.contexts.items():
        for ea, ra, size, _perms in world.mappings[name]:
            for offset in (0, size // 2 + 8, size - 8):
                t = translate(world.mem, cpu, ea + offset, "load", update_rc=False)
                assert t.ok, (name, hex(ea), t.fault)
                assert t.gra == ra + offset  # the process tree's output (guest real for guests)
                assert t.page_size <= size


def test_reference_world_is_the_fact_sheet_image():
    w = radix_reference()
    # example 4: the guest's 2-D walk, 25 reads, host real 0xA01678
    t = translate(w.mem, w.contexts["guest"], 0x12345678, update_rc=False)
    assert (t.ra, t.memory_reads) == (0xA01678, 25)
    # example 5, architected: the hypervisor reaching the same page through quadrant 1
    t = translate(w.mem, w.contexts["hv-quadrant1"], 0x4000000012345678, update_rc=False)
    assert t.ra == 0xA01678


def test_registry_names_every_world():
    assert set(SCENARIOS) == {"radix-reference", "radix-host", "one-l1", "two-l2s", "migrated-l1"}
    assert radix_host(3).mappings == radix_host(3).mappings  # same seed, same world
    assert radix_host(3).mappings != radix_host(4).mappings
