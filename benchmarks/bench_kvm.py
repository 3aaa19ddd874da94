"""Benchmark of the hypervisor model: nested page faults per second, and the L2 access
rate through a warm shadow table versus the direct three-stage walk, from one run.

Run: ``python benchmarks/bench_kvm.py``. Figures are wall-clock on this machine and are
printed, never asserted.
"""

from __future__ import annotations

import time

from pynest import scenarios as W
from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.program import Hcall, Load, Program
from pynest.mmu import constants as C
from pynest.mmu.xlate import CpuState, translate

PAGES = 200


def _world():
    w = W.one_l1(0)
    l1 = w.l1
    l2 = l1.create_l2(64 << 20)
    l1.l2_map(l2, W.CODE_EA, 0x400000, C.PAGE_64K, "x")
    eas = []
    for i in range(PAGES):
        ea = W.DATA_EA + i * C.PAGE_64K
        l1.l2_map(l2, ea, 0x800000 + i * C.PAGE_64K, C.PAGE_64K, "rw")
        l1.map_l2_page(l2, 0x800000 + i * C.PAGE_64K)  # the L1 maps ahead: L0 absorbs faults
        eas.append(ea)
    w.l2s.append(l2)
    return w, l2, eas


def run() -> dict[str, float]:
    w, l2, eas = _world()
    l1 = w.l1
    l1.load_program(l2, Program((*(Load(ea) for ea in eas), Hcall(H_CEDE)), entry=W.CODE_EA))
    mark = w.l0.events.mark()
    t0 = time.perf_counter()
    res = l1.run_l2(l2, slice_ticks=10**9, max_entries=4 * PAGES)
    t_faults = time.perf_counter() - t0
    faults = len(w.l0.events.filter("nested-fault", start=mark))
    assert res.stopped == "ceded", res
    gp = next(iter(w.vm.nested))
    cpu = CpuState(ptcr=w.l0.ptcr, lpidr=gp.shadow_lpid, pidr=l2.pid, msr=C.MSR_GUEST_KERNEL)
    rounds = 5
    t0 = time.perf_counter()
    for _ in range(rounds):
        for ea in eas:
            translate(w.l0.mem, cpu, ea, "load", update_rc=False)
    t_shadow = (time.perf_counter() - t0) / (rounds * len(eas))
    t0 = time.perf_counter()
    for _ in range(rounds):
        for ea in eas:
            W.direct_translate(l1, l2, ea)
    t_direct = (time.perf_counter() - t0) / (rounds * len(eas))
    return {
        "nested_faults": faults,
        "nested_faults_per_s": faults / t_faults,
        "shadow_walk_accesses_per_s": 1 / t_shadow,
        "direct_3stage_accesses_per_s": 1 / t_direct,
        "shadow_over_direct": t_direct / t_shadow,
    }


def main() -> None:
    r = run()
    print(f"nested page faults handled: {r['nested_faults']:.0f} "
          f"({r['nested_faults_per_s']:.0f}/s including the L2 run loop)")  # fmt: skip
    print(f"L2 access, warm shadow table (2-D walk, no TLB): "
          f"{r['shadow_walk_accesses_per_s']:.0f}/s")  # fmt: skip
    print(f"L2 access, direct three-stage software walk:   "
          f"{r['direct_3stage_accesses_per_s']:.0f}/s")  # fmt: skip
    print(f"ratio shadow/direct (same run): {r['shadow_over_direct']:.2f}x")


if __name__ == "__main__":
    main()
