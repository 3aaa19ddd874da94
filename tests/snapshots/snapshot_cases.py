"""What is pinned: a fixed, seeded input for every public figure function in
``pynest/viz/*.py`` and, for every explorer in ``pynest/widgets/*.py``, its initial state
and moved states. Inputs are built the way the notebooks and ``tests/viz`` /
``tests/widgets`` build them. Each entry gives one baseline file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from record import explorer_record, figure_record

from pynest.kvm import guest_state as G
from pynest.kvm.hcalls import H_COPY_TOFROM_GUEST
from pynest.kvm.host import L0, L1_LPCR
from pynest.kvm.races import explore, run_schedule
from pynest.mmu import MSR_GUEST_KERNEL, CpuState, translate, translate_many
from pynest.mmu import constants as C
from pynest.scenarios import one_l1, radix_reference, two_l2s
from pynest.scenarios.classroom import STEP_KEYS, classroom_story
from pynest.scenarios.guest import guest_world
from pynest.scenarios.nested import copy_world, run_program
from pynest.scenarios.quadrants import DATA_EA, quadrant_world
from pynest.scenarios.set_ptbl import set_ptbl_outcome
from pynest.scenarios.shadow import LINEAR_EA, PAGE_TABLES, shadow_world, touch
from pynest.scenarios.tlbie import TlbieOp, lab
from pynest.viz import (
    address_map,
    cheatsheet,
    classroom,
    copy_view,
    lpids,
    quadrants,
    races,
    review,
    set_ptbl,
    shadow_trees,
    suite_map,
    tables,
    timeline,
    tlb_view,
    walk,
    walk2d,
)
from pynest.widgets import (
    ClassroomDemoExplorer,
    CopyToFromGuestExplorer,
    EnterNestedTimelineExplorer,
    LpidMapExplorer,
    NestedTableCostExplorer,
    PtcrExplorer,
    QuadrantExplorer,
    RaceExplorer,
    ReviewThreadExplorer,
    SetPartitionTableExplorer,
    ShadowTreesExplorer,
    TlbieExplorer,
    Walk2DExplorer,
    WalkExplorer,
)

MB = 1 << 20
Figures = Callable[[], dict[str, Any]]  # case name -> Figure


# ------------------------------------------------------------------------ figure inputs
def _walk_cases():
    world = radix_reference()

    def t(ctx, ea, access="load"):
        return translate(world.mem, world.contexts[ctx], ea, access, update_rc=False)

    return {
        "4k-page": walk.draw_walk(t("hv", 0x10000ABC)),
        "4k-page-upto-3": walk.draw_walk(t("hv", 0x10000ABC), upto=3),
        "2m-store-dsi": walk.draw_walk(t("hv", 0x10212345, "store"), title="store"),
        "unmapped-level-3": walk.draw_walk(t("hv", 0x10001ABC)),
        "guest-2d": walk.draw_walk(t("guest", 0x12345678)),
    }


def _ea_split_cases():
    return {
        "4k": walk.draw_ea_split(0x10000ABC),
        "2m-titled": walk.draw_ea_split(0x10212345, C.PAGE_2M, title="a 2M page"),
    }


def _register_cases():
    words = [
        tables.Word(0x100000 | 4, tables.PTCR_FIELDS, caption="PTCR"),
        tables.Word(0xC000000003000186, tables.PTE_FIELDS, caption="PTE"),
    ]
    return {
        "two-words": tables.draw_register(
            words,
            "two words",
            ["a note", "another note"],
            problems=["a problem"],
            highlight=("PATB", "RPN"),
        ),
        "one-word": tables.draw_register(tables.Word(0x8000000000220009, tables.PDE_FIELDS)),
    }


def _partition_table_cases():
    world = radix_reference()
    return {
        "lpid-7": tables.draw_partition_table(
            tables.read_partition_table(world.mem, 0x100000, selected=7)
        ),
        "empty-row-3": tables.draw_partition_table(
            tables.read_partition_table(world.mem, 0x100000, selected=3), title="row 3"
        ),
        "misaligned": tables.draw_partition_table(
            tables.read_partition_table(world.mem, 0x101001, selected=7)
        ),
    }


def _quadrant_cases():
    world = quadrant_world()

    def pic(ctx, ea, access="load"):
        cpu = world.contexts[ctx]
        return quadrants.draw_quadrants(
            quadrants.quadrant_picture(cpu, translate(world.mem, cpu, ea, access, update_rc=False))
        )

    return {
        "hv-q0": pic("hv", DATA_EA + 0xABC),
        "hv-q2": pic("hv", (2 << 62) | DATA_EA | 0xABC),
        "hv-q1-no-process": pic("hv", (1 << 62) | DATA_EA),
        "guest-store": pic("guest", DATA_EA + 0xABC, "store"),
    }


def _lpid_map_cases():
    w = two_l2s(seed=0, run=True)
    return {
        "two-l2s": lpids.draw_lpid_map(lpids.lpid_map(w.vm, highlight=2, note="one run each")),
        "hole-9": lpids.draw_lpid_map(lpids.lpid_map(w.vm, highlight=9), "titled"),
        "empty-l1": lpids.draw_lpid_map(lpids.lpid_map(one_l1().vm)),
    }


def _race_cases():
    e = explore("create", recheck=False)
    ok = explore("create")
    return {
        "create-broken": races.draw_race(e.find("0 1 0 1 0 1 0 1 0 1"), e),
        "create-ok": races.draw_race(ok.interleavings[5], ok),
        "remove-lone": races.draw_race(run_schedule("remove", "0 0 0 0 0 1")),
    }


def _set_ptbl_cases():
    def outcome(ptcr):
        vm = L0().create_l1(256 * MB)
        vm.l1_ptcr = 0x1004002
        return set_ptbl_outcome(vm, ptcr)

    return {
        "success": set_ptbl.draw_set_ptbl(outcome(0x2000004)),
        "prts-5": set_ptbl.draw_set_ptbl(outcome(0x10000005)),
        "outside-memory": set_ptbl.draw_set_ptbl(outcome(0xFFFF004), "titled"),
        "deregister": set_ptbl.draw_set_ptbl(outcome(0)),
    }


def _shadow_views():
    w = shadow_world(C.PAGE_64K, C.PAGE_2M)
    before = shadow_trees.read_shadow_trees(w.vm, w.l2, w.gp, table_range=PAGE_TABLES)
    touch(w, 0x812340, "store")
    after = shadow_trees.read_shadow_trees(
        w.vm, w.l2, w.gp, 0x812340, previous=before, table_range=PAGE_TABLES, caption="one"
    )
    return before, after


def _shadow_tree_cases():
    before, after = _shadow_views()
    return {
        "before": shadow_trees.draw_shadow_trees(before, title="before"),
        "after-store": shadow_trees.draw_shadow_trees(after),
        "after-5-rows": shadow_trees.draw_shadow_trees(after, max_rows=5),
    }


def _page_size_cases():
    cases = [
        shadow_trees.PageSizeCase(C.PAGE_64K, C.PAGE_2M, C.PAGE_64K, "the L1's page"),
        shadow_trees.PageSizeCase(C.PAGE_2M, C.PAGE_1G, C.PAGE_64K, "smaller than both!"),
        shadow_trees.PageSizeCase(C.PAGE_1G, C.PAGE_1G, C.PAGE_1G),
    ]
    return {"three": shadow_trees.draw_page_sizes(cases)}


def _kernel_steps_cases():
    cols = [
        shadow_trees.KernelSteps("4.20", ("store", "no SET_RC"), "harvest 2 misses it", ok=False),
        shadow_trees.KernelSteps(
            "5.0", ("store", "SET_RC reflected", "L1 sets C"), "harvest 2 lists it"
        ),
    ]
    return {
        "two-kernels": shadow_trees.draw_kernel_steps(cols, "dirty log"),
        "one-kernel": shadow_trees.draw_kernel_steps(cols[:1], "one"),
    }


def _timeline_cases():
    run = run_program("cede at once")
    i = next(i for i, e in enumerate(run.events) if e.kind == "reflect")
    return {
        "reflect-selected": timeline.draw_timeline(run.events, i, title="demo"),
        "nothing-selected": timeline.draw_timeline(run.events, None),
        "no-events": timeline.draw_timeline([], None),
    }


def _lpcr_cases():
    hostile = G.LPCR_ILE | G.LPCR_AIL | G.LPCR_LPES
    return {
        "hostile": timeline.draw_lpcr_sanitise(L1_LPCR, hostile),
        "same": timeline.draw_lpcr_sanitise(L1_LPCR, L1_LPCR),
    }


def _tlbie_cases():
    return {
        "removes-4": tlb_view.draw_tlbie(
            lab(0).issue(TlbieOp("L1", 0, 0, 1, 0, 1, 1, 0, 0x800000))
        ),
        "ric-3-refused": tlb_view.draw_tlbie(lab(0).issue(TlbieOp("L1", 0, 0, 1, 3))),
        "lpid-all": tlb_view.draw_tlbie(lab(0).issue(TlbieOp("L1", 0, 1, 1, 2, 0, 1))),
    }


def _walk2d_cases():
    def t(proc=C.PAGE_4K, part=C.PAGE_4K, seed=0):
        world = guest_world(seed, proc, part)
        return world.translate(world.eas[0])

    return {
        "upto-3": walk2d.draw_walk2d(t(), 3),
        "whole": walk2d.draw_walk2d(t(), title="whole"),
        "1g-partition": walk2d.draw_walk2d(t(C.PAGE_4K, C.PAGE_1G, seed=1)),
    }


def _address_map_cases():
    hw = shadow_world(l1_page=C.PAGE_64K, backing=C.PAGE_2M)
    for gpa in (0x812340, 0x9A0000, 0xB00000):
        touch(hw, gpa, "load")
    cpu = CpuState(ptcr=hw.l0.ptcr, lpidr=hw.gp.shadow_lpid, pidr=0, msr=MSR_GUEST_KERNEL)
    eas = np.uint64(LINEAR_EA) + np.arange(256, dtype=np.uint64) * np.uint64(C.PAGE_64K)
    view = address_map.address_map_view(translate_many(hw.l0.mem, cpu, eas, "load"), C.PAGE_64K)
    return {
        "shadow-lpid": address_map.draw_address_map(view, "L2 through its shadow LPID"),
        "16-columns": address_map.draw_address_map(view, "narrow", columns=16),
    }


def _classroom_cases():
    story = classroom_story(0)

    def step(i):
        prev = story[i - 1] if i else None
        return classroom.draw_classroom_step(story[i], prev, total=len(story), keys=STEP_KEYS)

    def slide(i):  # the presenter view's figure (make present)
        prev = story[i - 1] if i else None
        return classroom.draw_classroom_step(
            story[i], prev, total=len(story), keys=STEP_KEYS, presenter=True
        )

    return {
        **{f"step-{i:02d}": step(i) for i in (0, 1, 5, len(story) - 1)},
        **{f"slide-{i:02d}": slide(i) for i in (0, 6, 7, 9, len(story) - 1)},
    }


def _copy_cases():
    w = copy_world(0)
    l1, l2 = w.l1, w.l2s[0]
    buf = l1.alloc.alloc(4096)
    ea, untouched = w.data[l2.l1_lpid][0], w.data[l2.l1_lpid][2]
    rc = l1.hcall(H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, ea, buf, 0, 8)
    ok = copy_view.copy_stages(l1, l2, ea, 8, rc, l1.vm.read_guest(buf, 8))
    rc2 = l1.hcall(H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, untouched, buf, 0, 8)
    missing = copy_view.copy_stages(l1, l2, untouched, 8, rc2, b"")
    none = copy_view.copy_stages(l1, None, ea, 8, -4, b"", lpid=9)
    return {
        "success": copy_view.draw_copy(ok),
        "not-found": copy_view.draw_copy(missing),
        "no-l2": copy_view.draw_copy(none),
    }


FIGURES: dict[str, Figures] = {
    "address_map.draw_address_map": _address_map_cases,
    "classroom.draw_classroom_step": _classroom_cases,
    "copy_view.draw_copy": _copy_cases,
    "lpids.draw_lpid_map": _lpid_map_cases,
    "lpids.draw_table_costs": lambda: {
        "default": lpids.draw_table_costs(),
        "few": lpids.draw_table_costs((0, 3, 9), sparse_lpid=77),
    },
    "quadrants.draw_quadrant_rules": lambda: {
        "7-3": quadrants.draw_quadrant_rules(7, 3),
        "1-0": quadrants.draw_quadrant_rules(1, 0),
    },
    "quadrants.draw_quadrants": _quadrant_cases,
    "races.draw_race": _race_cases,
    "review.draw_review_thread": lambda: {
        "point-1": review.draw_review_thread(review.run_point(1)),
        "point-8-alternative": review.draw_review_thread(review.run_point(8, "alternative")),
        "point-9": review.draw_review_thread(review.run_point(9)),
    },
    "review.draw_table_costs": lambda: {
        "dense-4-dynamic": review.draw_table_costs(review.cost_record("dense", 4)),
        "spread-3-array": review.draw_table_costs(review.cost_record("spread", 3), "array"),
        "random-50": review.draw_table_costs(review.cost_record("random", 50, 1000, seed=0)),
    },
    "set_ptbl.draw_set_ptbl": _set_ptbl_cases,
    "shadow_trees.draw_kernel_steps": _kernel_steps_cases,
    "shadow_trees.draw_page_sizes": _page_size_cases,
    "shadow_trees.draw_shadow_trees": _shadow_tree_cases,
    "cheatsheet.draw_cheatsheet": lambda: {"sheet": cheatsheet.draw_cheatsheet()},
    "suite_map.draw_nesting_layers": lambda: {
        "none": suite_map.draw_nesting_layers(),
        "05": suite_map.draw_nesting_layers("05"),
    },
    "suite_map.draw_suite_map": lambda: {
        "none": suite_map.draw_suite_map(),
        "03": suite_map.draw_suite_map("03"),
    },
    "tables.draw_entry": lambda: {
        "pte": tables.draw_entry(0xC000000003000186),
        "pde": tables.draw_entry(0x8000000000220009, title="a PDE"),
        "invalid": tables.draw_entry(0),
    },
    "tables.draw_partition_table": _partition_table_cases,
    "tables.draw_pate": lambda: {
        "lpid-0": tables.draw_pate(0xC0000000001100AD, 0x200000, lpid=0),
        "lpid-7-titled": tables.draw_pate(0xC0000000001300AD, 0x10000, lpid=7, title="x"),
    },
    "tables.draw_ptcr": lambda: {
        "aligned": tables.draw_ptcr(0x100000),
        "misaligned": tables.draw_ptcr(0x101001, title="example 3"),
    },
    "tables.draw_register": _register_cases,
    "timeline.draw_lpcr_sanitise": _lpcr_cases,
    "timeline.draw_timeline": _timeline_cases,
    "tlb_view.draw_tlbie": _tlbie_cases,
    "walk.draw_ea_split": _ea_split_cases,
    "walk.draw_walk": _walk_cases,
    "walk2d.draw_walk2d": _walk2d_cases,
}
"""``module.function`` -> a builder of its cases (case name -> Figure)."""


def figure_baselines() -> dict[str, Callable[[], Any]]:
    def build(cases: Figures) -> Callable[[], Any]:
        return lambda: {name: figure_record(fig) for name, fig in cases().items()}

    return {f"figure.{key}": build(cases) for key, cases in FIGURES.items()}


# ------------------------------------------------------------------------ explorer moves
# A move is a list of actions on a fresh explorer: ("set", "attr", value) sets a control's
# value as a user would (typed text as a string), ("click", "attr") clicks a button.
EXPLORERS: dict[str, tuple[Callable[[], Any], dict[str, list[tuple]]]] = {
    "WalkExplorer": (
        WalkExplorer,
        {
            "typed-unmapped-ea": [("set", "ea_text", "0x10001abc")],
            "example-2m-store-as-guest": [
                ("set", "example", 1),
                ("set", "access", "store"),
                ("set", "context", "guest"),
            ],
            "slide-and-2-steps": [("set", "slide", 0x212), ("set", "steps", 2)],
            "bad-ea-text": [("set", "ea_text", "0x10000abc0")],
        },
    ),
    "PtcrExplorer": (
        PtcrExplorer,
        {
            "misaligned-ptcr": [("set", "ptcr_text", "0x101001")],
            "patb-pats-4": [("set", "patb_text", "0x200000"), ("set", "pats", 4)],
            "lpid-256": [("set", "lpid_text", "256")],
            "flip-bit-43": [("set", "flip_bit", 43), ("click", "flip_button")],
        },
    ),
    "QuadrantExplorer": (
        QuadrantExplorer,
        {
            "q1-pidr-3-lpidr-9": [
                ("set", "quadrant", 1),
                ("set", "pidr_text", "3"),
                ("set", "lpidr_text", "0x9"),
            ],
            "guest-q3": [
                ("set", "mode", "guest"),
                ("set", "pidr_text", "3"),
                ("set", "quadrant", 3),
            ],
            "amr-2": [("set", "amr", 2)],
            "quirk": [("set", "quadrant", 1), ("set", "pidr_text", "3"), ("set", "quirk", True)],
        },
    ),
    "Walk2DExplorer": (
        Walk2DExplorer,
        {
            "access-8": [("set", "access", 8)],
            "2m-partition-1g-process": [
                ("set", "part_page", C.PAGE_2M),
                ("set", "proc_page", C.PAGE_1G),
            ],
            "quadrant-1-ea": [("set", "ea_text", "0x4000000000000000")],
        },
    ),
    "SetPartitionTableExplorer": (
        SetPartitionTableExplorer,
        {
            "prts-7": [("set", "prts", 7)],
            "128m-memory": [("set", "memory", 128 << 20)],
            "nesting-off": [("set", "nesting", False)],
        },
    ),
    "LpidMapExplorer": (
        LpidMapExplorer,
        {
            "lpid-2": [("set", "lpid_text", "2")],
            "history-1": [("set", "history_slider", 1)],
            "create-enter-remove": [
                ("click", "create_button"),
                ("click", "enter_button"),
                ("click", "remove_button"),
            ],
        },
    ),
    "RaceExplorer": (
        RaceExplorer,
        {
            "no-recheck": [("set", "recheck", False)],
            "remove-slider-4": [("set", "race", "remove"), ("set", "slider", 4)],
            "next-broken": [("set", "recheck", False), ("click", "next_bad")],
            "tlbie-all-run": [("set", "race", "tlbie-all"), ("set", "partner", "run")],
        },
    ),
    "EnterNestedTimelineExplorer": (
        EnterNestedTimelineExplorer,
        {
            "event-3": [("set", "event", 3)],
            "hostile-lpcr": [("set", "lpcr_text", "0x380080c")],
            "spin-past-hdec": [("set", "program", "spin past the HDEC deadline")],
            "warm": [("set", "warm", True)],
        },
    ),
    "ShadowTreesExplorer": (
        ShadowTreesExplorer,
        {
            "step-5": [("set", "step", 5)],
            "store-typed": [("set", "access", "store"), ("set", "address", "10158080")],
            "1g-backing-step-7": [("set", "step", 4), ("set", "backing", "1G"), ("set", "step", 7)],
        },
    ),
    "TlbieExplorer": (
        TlbieExplorer,
        {
            "lpid-2": [("set", "lpid", 2)],
            "is-0-ap-5-epn": [("set", "is_", 0), ("set", "ap", 5), ("set", "epn", "0x805000")],
            "l0-ric-3": [("set", "who", "L0"), ("set", "lpid", 2), ("set", "ric", 3)],
        },
    ),
    "CopyToFromGuestExplorer": (
        CopyToFromGuestExplorer,
        {
            "length-40": [("set", "length", 40)],
            "no-such-l2": [("set", "l2", 9)],
            "bad-ea": [("set", "ea_text", "zebra")],
        },
    ),
    "ClassroomDemoExplorer": (
        lambda: ClassroomDemoExplorer(seed=0),
        {
            "next": [("click", "next")],
            "slider-5": [("set", "slider", 5)],
            "goto-fault": [("set", "goto_text", "fault")],
            "refused-ptcr": [("click", "next"), ("set", "ptcr_text", "0x1004007")],
        },
    ),
    "ReviewThreadExplorer": (
        ReviewThreadExplorer,
        {
            "ptcr-check-alternative": [
                ("set", "point", "ptcr-check"),
                ("set", "run", "alternative"),
            ],
            "ptbl-flush": [("set", "point", "ptbl-flush")],
        },
    ),
    "NestedTableCostExplorer": (
        NestedTableCostExplorer,
        {
            "guests-64": [("set", "guests", 64)],
            "spread-array": [
                ("set", "layout", "spread"),
                ("set", "guests", 3),
                ("set", "table", "array"),
            ],
            "random-10": [("set", "layout", "random"), ("set", "highest", 10)],
        },
    ),
}
"""Explorer class name -> (how to build it, its moved states)."""


def apply(ex: Any, actions: list[tuple]) -> None:
    """Drive ``ex`` the way a user (and tests/widgets) does."""
    for action in actions:
        control = getattr(ex, action[1])
        if action[0] == "set":
            control.value = action[2]
        elif action[0] == "click":
            control.click()
        else:
            raise ValueError(f"unknown action {action!r}")


def explorer_states(name: str) -> dict[str, Any]:
    """The initial and every moved state of one explorer, each from a fresh explorer."""
    build, moves = EXPLORERS[name]
    states = {"initial": {"actions": [], **explorer_record(build())}}
    for move, actions in moves.items():
        ex = build()
        apply(ex, actions)
        states[move] = {"actions": [list(a) for a in actions], **explorer_record(ex)}
    return states


def explorer_baselines() -> dict[str, Callable[[], Any]]:
    return {f"explorer.{n}": (lambda n=n: explorer_states(n)) for n in EXPLORERS}
