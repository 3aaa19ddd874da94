"""The MMU core's speed: 1-D and 2-D walks per second, TLB hits per second, import time.

Prints, from one run (figures are wall-clock on this machine; nothing is asserted):

* hypervisor (1-D) walks per second: ``translate(update_rc=False)`` of the reference
  world's 4 KiB page (PID 5, a 4-level process tree behind PATE[0] and PRTE[5]);
* guest (2-D) walks per second: the reference guest's 4 KiB page (LPID 7, PID 3), every
  process-scoped address itself translated by the partition-scoped tree;
* TLB hits per second: the same hypervisor access with a warm :class:`~pynest.mmu.Tlb`,
  answered from the TLB's remembered hit (``Tlb.remember``: same CpuState object, access
  and 4 KiB page); and, beside it, the first hit after any TLB change, which takes the
  full look-up (``Tlb.lookup_for``; the pass forgets the remembered hits before each call);
* memory reads per walk, 1-D vs 2-D, from the walk records;
* ``import pynest`` and ``import pynest.mmu`` in a fresh interpreter, and whether either
  pulled in matplotlib or ipywidgets.

Targets (issue 3): 1-D >= 150k walks/s, 2-D >= 30k walks/s, TLB hit >= 1M/s,
``import pynest`` <= 0.15 s. Each rate is the best of five passes, so that another
process's burst (or a noisy neighbour of this virtual machine) does not decide it.

    .venv/bin/python benchmarks/bench_mmu.py [--walks N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pynest.mmu import Tlb, translate  # noqa: E402
from pynest.scenarios import radix_reference  # noqa: E402

HV_EA = 0x10000ABC  # PID 5's 4 KiB page -> 0x3000abc
GUEST_EA = 0x12345678  # LPID 7 PID 3's 4 KiB page -> guest real 0x201678 -> 0xa01678


def best_rate(fn: Callable[[], None], n: int, passes: int = 5) -> float:
    """Calls per second of ``fn``: the best of ``passes`` runs of ``n`` calls."""
    best = 0.0
    for _ in range(passes):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def import_seconds(module: str) -> tuple[float, list[str]]:
    """Wall time of ``import module`` in a fresh interpreter (best of three), and the view
    packages that import pulled in."""
    code = (
        f"import sys, time; t = time.perf_counter(); import {module}; "
        "d = time.perf_counter() - t; "
        "print(d, *[v for v in ('matplotlib', 'ipywidgets') if v in sys.modules])"
    )
    best, views = float("inf"), []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.split()
        best = min(best, float(out[0]))
        views = out[1:]
    return best, views


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--walks", type=int, default=20_000, help="calls per pass (default 20000)")
    args = ap.parse_args(argv)
    n = args.walks

    world = radix_reference()
    mem, hv, guest = world.mem, world.contexts["hv"], world.contexts["guest"]

    t1 = translate(mem, hv, HV_EA, "load", update_rc=False)
    t2 = translate(mem, guest, GUEST_EA, "load", update_rc=False)
    assert t1.ra == 0x3000ABC and t2.ra == 0xA01678, (t1, t2)

    tlb = Tlb()
    warm = translate(mem, hv, HV_EA, "load", tlb=tlb)
    hit = translate(mem, hv, HV_EA, "load", tlb=tlb)
    assert warm.ra == hit.ra == 0x3000ABC and hit.tlb_hit

    rate_1d = best_rate(lambda: translate(mem, hv, HV_EA, "load", update_rc=False), n)
    rate_2d = best_rate(lambda: translate(mem, guest, GUEST_EA, "load", update_rc=False), n)
    rate_tlb = best_rate(lambda: translate(mem, hv, HV_EA, "load", tlb=tlb), n * 5)
    forget = tlb.forget_hits

    def full_lookup_hit() -> None:
        forget()
        translate(mem, hv, HV_EA, "load", tlb=tlb)

    rate_full = best_rate(full_lookup_hit, n * 2)
    assert translate(mem, hv, HV_EA, "load", tlb=tlb).tlb_hit

    print(f"1-D walks (hypervisor, 4 levels, 4 KiB page): {rate_1d:12,.0f} /s   target >= 150,000")
    print(f"2-D walks (guest, 4x4 levels, 4 KiB page):    {rate_2d:12,.0f} /s   target >= 30,000")
    print(
        f"TLB hits (same hypervisor access, warm TLB):  {rate_tlb:12,.0f} /s   target >= 1,000,000"
    )
    print(f"  first hit after a TLB change (full look-up): {rate_full:11,.0f} /s")
    print(f"memory reads per walk: 1-D {t1.memory_reads}, 2-D {t2.memory_reads}")
    print(
        f"2-D / 1-D cost: {t2.memory_reads / t1.memory_reads:.1f}x the reads, "
        f"{rate_1d / rate_2d:.1f}x the time"
    )
    for module in ("pynest", "pynest.mmu"):
        secs, views = import_seconds(module)
        pulled = ", ".join(views) if views else "no matplotlib, no ipywidgets"
        target = "   target <= 0.15 s" if module == "pynest" else ""
        print(f"import {module}: {secs:.3f} s ({pulled}){target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
