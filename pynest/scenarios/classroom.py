"""The classroom story (notebook 11, the classroom explorer): one nested-HV life in steps.

:func:`classroom_story` drives the model (:mod:`pynest.kvm`, starting from the worlds of
:mod:`pynest.scenarios.l1`) through the whole life of an L1 and its two L2s, and takes a
:class:`Snapshot` of the state after every step:

 1. L0 boots: its real partition table holds only LPID 0 (the host);
 2. L0 creates the L1 VM: an LPID and a row for the L1's partition-scoped tree;
 3. the L1's ``kvmhv_nested_init``: H_SET_PARTITION_TABLE registers its own table;
 4. the L1 creates two L2s: rows in *its* table, each followed by the flush every
    released kernel issues (H_TLB_INVALIDATE RIC=2 IS=2, versions row
    ``set-ptbl-flush``); L0 has no nested guest for them yet;
 5. and 6. the L1 runs each L2 (H_ENTER_NESTED): L0 creates a nested guest with a
    shadow LPID, and fills its shadow tree one nested page fault at a time;
 7. an L2 touches a page its L1 has not mapped: reflected fault, then a shadow PTE;
 8. the L1 unmaps that page: H_TLB_INVALIDATE makes L0 drop the shadow PTE;
 9. the L1 registers another PTCR: L0 stores it and touches no nested guest;
10. the L1 flushes everything (H_TLB_INVALIDATE RIC=2, IS=3): L0 re-reads each L2's
    entry through the new PTCR and removes the guests whose entry is now empty;
11. the L1's ``kvmhv_nested_exit``: H_SET_PARTITION_TABLE(0);
12. L0 destroys the L1: ``kvmhv_release_all_nested`` and the L1's own row.

L0 runs Linux 4.20 (the series as merged, ``L0()``'s default); no step depends on a
behaviour 5.0 changed except where a sentence says so.

A snapshot is a plain record (rows of both partition tables, nested guests, shadow
PTEs, the L2s, the hcalls of the step and a sentence), which the figure
(:func:`pynest.viz.classroom.draw_classroom_step`), the explorer and the exercises share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import ConfigError, FieldError
from ..kvm.events import Event
from ..kvm.hcalls import (
    H_CEDE,
    H_SET_PARTITION_TABLE,
    H_SUCCESS,
    H_TLB_INVALIDATE,
    rc_name,
)
from ..kvm.host import L0, LPID_RSVD
from ..kvm.l1 import L1, L2Guest, h_tlbie_p1_enc
from ..kvm.nested import PRTB_MASK, PRTS_MASK
from ..kvm.program import Hcall, Load, Program, Store
from ..kvm.radix import ShadowPte, shadow_leaves, shadow_ptes
from ..kvm.versions import row as versions_row
from ..mmu import constants as C
from .classroom_prose import fragment, prose
from .l1 import CODE_EA, World, add_l2

#: The steps of the story, in order (the explorer's slider runs over them).
STEP_KEYS = (
    "boot",
    "create-l1",
    "nested-init",
    "create-l2s",
    "run-l2-a",
    "run-l2-b",
    "fault",
    "invalidate",
    "set-ptcr",
    "flush-all",
    "nested-exit",
    "release-all",
)


PTCR_STEP = STEP_KEYS.index("set-ptcr")  # 0-based index of "change the PTCR"


# The page an L2 touches at step 7: an EA beyond its three data pages, and an L2 real
# page the L1 has not mapped for it yet.
NEW_EA = 0x0000_0000_1080_0000


NEW_GPA = 0x00C0_0000


# A PTCR naming 16 KiB of L1 memory nothing ever writes (L1 real 32 MiB): an empty table.
EMPTY_PTCR = 0x0200_0002


# ----------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class PateRow:
    """One non-empty row of L0's real partition table, and whose it is."""

    lpid: int
    dw0: int
    dw1: int
    owner: str  # "host", "L1", "shadow of L2 <n>" or "nobody"
    l2: int | None = None  # the L1's lpid of the L2 a shadow row serves


@dataclass(frozen=True, slots=True)
class L1Row:
    """One non-empty row of the table the L1 registered (read from L1 memory)."""

    lpid: int
    dw0: int
    dw1: int


@dataclass(frozen=True, slots=True)
class NestedInfo:
    """L0's ``struct kvm_nested_guest`` for one L2, as the picture needs it."""

    l1_lpid: int
    shadow_lpid: int
    refcnt: int
    l1_gr_to_hr: int
    process_table: int
    shadow_ptes: int


@dataclass(frozen=True, slots=True)
class L2Info:
    """The L1's view of one of its guests (``l1_gpa_base``: where its memory starts in
    L1 real)."""

    l1_lpid: int
    l1_gpa_base: int
    mem_size: int
    pages_mapped: int
    state: str


@dataclass(frozen=True)
class Snapshot:
    """The whole state after one step of the story."""

    index: int  # 0-based
    key: str
    title: str
    sentence: str
    hcalls: tuple[str, ...]  # "H_SET_PARTITION_TABLE(0x1004002) -> H_SUCCESS", ...
    events: tuple[Event, ...]
    l0_ptcr: int
    l0_rows: tuple[PateRow, ...]
    l1_lpid: int | None  # None once the L1 VM is destroyed
    l1_ptcr: int  # what L0 stores for the L1 (kvm->arch.l1_ptcr)
    l1_rows: tuple[L1Row, ...]
    l1_table_entries: int  # 2^(PRTS+8) of l1_ptcr (0: no table)
    nested: tuple[NestedInfo, ...]
    shadow: tuple[ShadowPte, ...]
    l2s: tuple[L2Info, ...]
    free_lpids: int
    l1_note: str = ""  # "not created yet" / "destroyed" when there is no L1 to show
    facts: dict[str, int] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """1-based step number, as the class sees it."""
        return self.index + 1

    def nested_for(self, l1_lpid: int) -> NestedInfo | None:
        return next((n for n in self.nested if n.l1_lpid == l1_lpid), None)

    def text(self) -> str:
        """The snapshot in words (for tests, screen readers and ``print``)."""
        lines = [f"Step {self.number}: {self.title}", self.sentence]
        lines += [f"  hcall {h}" for h in self.hcalls]
        lines.append(f"L0 partition table (PTCR {self.l0_ptcr:#x}):")
        lines += [
            f"  PATE[{r.lpid}] = {r.dw0:#018x} {r.dw1:#018x}  {r.owner}" for r in self.l0_rows
        ]
        if self.l1_lpid is None:
            lines.append(f"L1: {self.l1_note}")
        else:
            lines.append(f"L1 (LPID {self.l1_lpid}): l1_ptcr = {self.l1_ptcr:#x}")
            lines += [f"  L1 PATE[{r.lpid}] = {r.dw0:#018x} {r.dw1:#018x}" for r in self.l1_rows]
        for n in self.nested:
            lines.append(
                f"nested guest: L2 {n.l1_lpid} -> shadow LPID {n.shadow_lpid}, refcnt "
                f"{n.refcnt}, {n.shadow_ptes} shadow PTEs"
            )
        for s in self.shadow:
            lines.append(
                f"  shadow PTE (L2 {s.l1_lpid}): L2 real {s.gpa:#x} -> host {s.hpa:#x} "
                f"({s.size >> 10} KiB, {s.perms})"
            )
        for g in self.l2s:
            lines.append(f"L2 {g.l1_lpid}: {g.state}, {g.pages_mapped} pages mapped by the L1")
        return "\n".join(lines)


@dataclass(frozen=True)
class Story:
    """Every snapshot of one run of the story (``seed`` shapes the L2s' pages)."""

    seed: int
    new_ptcr: int | None
    steps: tuple[Snapshot, ...]
    default_ptcr: int  # the PTCR of the fresh table the L1 prepares at step 9

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Snapshot:
        return self.steps[i]

    def step(self, key: str) -> Snapshot:
        for s in self.steps:
            if s.key == key:
                return s
        raise ConfigError(f"no step {key!r}; steps are {', '.join(STEP_KEYS)}")


# ----------------------------------------------------------------------- snapshots
def _l1_table(vm, limit: int = 64) -> tuple[tuple[L1Row, ...], int]:
    """Non-empty rows among the first ``limit`` entries of the table l1_ptcr names."""
    if vm is None or not vm.l1_ptcr:
        return (), 0
    base = vm.l1_ptcr & PRTB_MASK
    entries = 1 << ((vm.l1_ptcr & PRTS_MASK) + 8)
    rows = []
    for lpid in range(min(entries, limit)):
        data = vm.read_guest(base + 16 * lpid, 16)
        if data is None:
            break
        dw0, dw1 = int.from_bytes(data[:8], "big"), int.from_bytes(data[8:], "big")
        if dw0 or dw1:
            rows.append(L1Row(lpid, dw0, dw1))
    return tuple(rows), entries


class _Recorder:
    """Drives the steps and snapshots the world after each."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.l0 = L0()
        self.vm = None
        self.l1 = None
        self.w = None
        self.l2_state: dict[int, str] = {}
        self.steps: list[Snapshot] = []
        self.mark = 0

    def hcalls(self, events: list[Event]) -> tuple[str, ...]:
        out, pending = [], {}
        for ev in events:
            if ev.kind == "hcall":
                pending[ev.hcall] = ev.detail
            elif ev.kind == "hcall-return":
                args = pending.pop(ev.hcall, "")
                out.append(f"{ev.hcall}({args}) -> {ev.detail}")
        return tuple(out)

    def snap(self, key: str, title: str, sentence: str, **facts: int) -> Snapshot:
        l0, vm = self.l0, self.vm
        events = l0.events.since(self.mark)
        self.mark = l0.events.mark()
        alive = vm is not None and not vm.destroyed
        shadow_owner: dict[int, int] = {}
        nested: list[NestedInfo] = []
        shadow: list[ShadowPte] = []
        if alive:
            for gp in vm.nested.values():
                leaves = shadow_leaves(gp)
                shadow_owner[gp.shadow_lpid] = gp.l1_lpid
                nested.append(
                    NestedInfo(
                        gp.l1_lpid,
                        gp.shadow_lpid,
                        gp.refcnt,
                        gp.l1_gr_to_hr,
                        gp.process_table,
                        len(leaves),
                    )
                )
                shadow.extend(shadow_ptes(gp))
        rows = []
        ptab = l0.ptab
        for addr, _dw in l0.mem.nonzero_u64(ptab.base, 16 * ptab.num_lpids):
            lpid = (addr - ptab.base) // 16
            if rows and rows[-1].lpid == lpid:
                continue
            dw0, dw1 = ptab.raw(lpid)
            if lpid == 0:
                owner, l2 = "host", None
            elif alive and lpid == vm.lpid:
                owner, l2 = "L1", None
            elif lpid in shadow_owner:
                owner, l2 = f"shadow of L2 {shadow_owner[lpid]}", shadow_owner[lpid]
            else:
                owner, l2 = "nobody", None
            rows.append(PateRow(lpid, dw0, dw1, owner, l2))
        l1_rows, entries = _l1_table(vm if alive else None)
        l2s = []
        if alive and self.l1 is not None:
            log = l0.events
            for lpid, g in sorted(self.l1.l2s.items()):
                # the L1's tree lives in L1 memory; its map/unmap events say what it holds
                pages = log.count("l1-map", l1_lpid=lpid) - log.count("l1-unmap", l1_lpid=lpid)
                l2s.append(
                    L2Info(
                        l1_lpid=lpid,
                        l1_gpa_base=g.l1_gpa_base,
                        mem_size=g.mem_size,
                        pages_mapped=pages,
                        state=self.l2_state[lpid],
                    )
                )
        snap = Snapshot(
            index=len(self.steps),
            key=key,
            title=title,
            sentence=sentence,
            hcalls=self.hcalls(events),
            events=tuple(events),
            l0_ptcr=l0.ptcr,
            l0_rows=tuple(rows),
            l1_lpid=vm.lpid if alive else None,
            l1_ptcr=vm.l1_ptcr if alive else 0,
            l1_rows=l1_rows,
            l1_table_entries=entries,
            nested=tuple(nested),
            shadow=tuple(shadow),
            l2s=tuple(l2s),
            free_lpids=l0.lpids.free_count,
            l1_note="" if alive else ("not created yet" if vm is None else "destroyed"),
            facts=dict(facts),
        )
        self.steps.append(snap)
        return snap


def _count(events: list[Event], kind: str, **match: object) -> int:
    return sum(
        1 for e in events if e.kind == kind and all(getattr(e, k) == v for k, v in match.items())
    )


def _faults(events: list[Event]) -> tuple[int, int]:
    """(storage exits of the L2 to L0, how many of them were reflected to the L1)."""
    storage = (C.VEC_HDSI, C.VEC_HISI)
    taken = sum(1 for e in events if e.kind == "exit" and e.trap in storage)
    reflected = sum(1 for e in events if e.kind == "reflect" and e.trap in storage)
    return taken, reflected


def _run(rec: _Recorder, l2: L2Guest, key: str) -> None:
    """Run one L2 until it cedes and narrate what L0 did."""
    l0, l1 = rec.l0, rec.l1
    start = l0.events.mark()
    result = l1.run_l2(l2)
    ev = l0.events.since(start)
    created = [e for e in ev if e.kind == "nested-create"]
    faults, reflected = _faults(ev)
    inserted = _count(ev, "shadow-insert")
    enters = len(result.returns)
    traps = ", ".join(rc_name(r, trap=True) for r in result.returns)
    gp = rec.vm.nested.find(l2.l1_lpid)
    shadow_lpid = gp.shadow_lpid if gp is not None else -1
    rec.l2_state[l2.l1_lpid] = f"{result.stopped} after {enters} entries"
    first = fragment(
        "run-l2/new-guest" if created else "run-l2/known-guest",
        l2=l2.l1_lpid,
        shadow_lpid=shadow_lpid,
    )
    rec.snap(
        key,
        *prose(
            "run-l2",
            l2=l2.l1_lpid,
            enters=enters,
            traps=traps,
            first=first,
            faults=faults,
            reflected=reflected,
            fixed=faults - reflected,
            stopped=result.stopped,
        ),
        l2=l2.l1_lpid,
        shadow_lpid=shadow_lpid,
        enters=enters,
        faults=faults,
        reflected=reflected,
        inserted=inserted,
    )


def _build(seed: int, new_ptcr: int | None) -> Story:
    rec = _Recorder(seed)
    l0 = rec.l0
    rec.mark = 0
    rec.snap(
        "boot",
        *prose("boot", kernel=l0.kernel, ptcr=l0.ptcr, rows=l0.ptab.num_lpids, rsvd=LPID_RSVD),
    )

    vm = l0.create_l1(256 << 20)
    rec.vm = vm
    rec.snap(
        "create-l1",
        *prose("create-l1", lpid=vm.lpid, mem_base=vm.mem_base),
        l1_lpid=vm.lpid,
    )

    l1 = L1(vm)
    rec.l1 = l1
    rc = l1.nested_init()
    rec.snap(
        "nested-init",
        *prose(
            "nested-init",
            kib=l1.ptb_bytes >> 10,
            rows=l1.ptb_bytes // 16,
            ptcr=l1.ptcr,
            rc=rc_name(rc),
        ),
        rc=rc,
        ptcr=vm.l1_ptcr,
    )

    world = World(seed, l0, vm, l1)
    rec.w = world
    rng = random.Random(seed)
    for _ in range(2):
        l2 = add_l2(world, rng, C.PAGE_64K)
        rec.l2_state[l2.l1_lpid] = "created, never run"
    a, b = world.l2s
    flush = versions_row("set-ptbl-flush")
    flushes = rec.hcalls(l0.events.since(rec.mark))
    rec.snap(
        "create-l2s",
        *prose(
            "create-l2s",
            a=a.l1_lpid,
            b=b.l1_lpid,
            row=flush.key,
            since=flush.since,
            flushes=len(flushes),
            outcome=fragment(
                "flushes/ok" if all(h.endswith("H_SUCCESS") for h in flushes) else "flushes/failed"
            ),
        ),
        l2a=a.l1_lpid,
        l2b=b.l1_lpid,
        flushes=len(flushes),
    )

    _run(rec, a, "run-l2-a")
    _run(rec, b, "run-l2-b")

    # step 7: an L2 touches a page its L1 has not mapped
    l1.l2_map(a, NEW_EA, NEW_GPA, C.PAGE_4K, "rw")
    l1.load_program(a, Program((Store(NEW_EA, 0x5EED), Load(NEW_EA), Hcall(H_CEDE)), entry=CODE_EA))
    start = l0.events.mark()
    result = l1.run_l2(a)
    ev = l0.events.since(start)
    rec.l2_state[a.l1_lpid] = f"{result.stopped} after {len(result.returns)} more entries"
    gp = vm.nested.find(a.l1_lpid)
    new = [e for e in ev if e.kind == "shadow-insert" and e.gpa == NEW_GPA]
    hpa = new[0].hpa if new else -1
    faults, reflected = _faults(ev)
    rec.snap(
        "fault",
        *prose(
            "fault",
            l2=a.l1_lpid,
            ea=NEW_EA,
            gpa=NEW_GPA,
            shadow_lpid=gp.shadow_lpid,
            hpa=hpa,
            faults=faults,
            reflected=reflected,
            inserted=_count(ev, "shadow-insert"),
        ),
        l2=a.l1_lpid,
        gpa=NEW_GPA,
        hpa=hpa,
        faults=faults,
        reflected=reflected,
        inserted=_count(ev, "shadow-insert"),
    )

    # step 8: the L1 takes the page away again
    before = len(vm.nested.find(a.l1_lpid) and shadow_leaves(vm.nested.find(a.l1_lpid)))
    rc = l1.unmap_l2_page(a, NEW_GPA)
    after = len(shadow_leaves(vm.nested.find(a.l1_lpid)))
    size = a.page_size
    rb = (NEW_GPA & -size) | C.AP_OF_PAGE_SIZE[size] << 5
    rec.snap(
        "invalidate",
        *prose(
            "invalidate",
            gpa=NEW_GPA,
            lpid=a.l1_lpid,
            rb=rb,
            ap=C.AP_OF_PAGE_SIZE[size],
            before=before,
            after=after,
            rc=rc_name(rc),
        ),
        l2=a.l1_lpid,
        rc=rc,
        removed=before - after,
    )

    # step 9: another PTCR
    # the L1 moves its table: a copy of its rows at a new address
    fresh = l1.alloc.alloc(l1.ptb_bytes)
    vm.space.zero(fresh, l1.ptb_bytes)
    for row in _l1_table(vm)[0]:
        vm.space.write_u64(fresh + 16 * row.lpid, row.dw0)
        vm.space.write_u64(fresh + 16 * row.lpid + 8, row.dw1)
    default = fresh | (l1.ptcr & PRTS_MASK)
    value = default if new_ptcr is None else new_ptcr
    old = vm.l1_ptcr
    rc = l1.hcall(H_SET_PARTITION_TABLE, value)
    if rc == H_SUCCESS:
        l1.ptcr = value
        how = fragment("set-ptcr/accepted", ptcr=value)
    else:
        why = (
            fragment("set-ptcr/why-prts", prts=value & PRTS_MASK)
            if (value & PRTS_MASK) > 4
            else fragment("set-ptcr/why-base", base=value & PRTB_MASK)
        )
        how = fragment("set-ptcr/refused", rc=rc_name(rc), why=why, old=old)
    rec.snap(
        "set-ptcr",
        *prose(
            "set-ptcr",
            ptcr=value,
            copy=fragment("set-ptcr/copy" if value == default else "set-ptcr/other"),
            how=how,
        ),
        ptcr=value,
        rc=rc,
        old_ptcr=old,
        default_ptcr=default,
    )

    # step 10: flush everything with RIC=2
    start = l0.events.mark()
    lpids = [gp.l1_lpid for gp in vm.nested.values()]
    rc = l1.hcall(
        H_TLB_INVALIDATE,
        h_tlbie_p1_enc(2, 0, 1),
        0,
        3 << 10,  # RB: IS=3, all LPIDs
    )
    ev = l0.events.since(start)
    removed = sorted(e.l1_lpid for e in ev if e.kind == "nested-remove")
    kept = [lp for lp in lpids if lp not in removed]
    parts = [
        fragment(key, lpids=" and ".join(map(str, lps)))
        for key, lps in (("flush-all/removed", removed), ("flush-all/kept", kept))
        if lps
    ]
    freed_early = _count(ev, "use-after-free")
    caveat = (
        fragment("flush-all/caveat", n=freed_early, plural_of=freed_early) if freed_early else ""
    )
    rec.snap(
        "flush-all",
        *prose(
            "flush-all",
            l1_ptcr=vm.l1_ptcr,
            what="; ".join(parts or [fragment("flush-all/none")]),
            rc=rc_name(rc),
            caveat=caveat,
        ),
        rc=rc,
        removed=len(removed),
        kept=len(kept),
        use_after_free=freed_early,
    )

    # step 11: kvmhv_nested_exit
    rc = l1.nested_exit()
    left = len(vm.nested)
    rec.snap(
        "nested-exit",
        *prose("nested-exit", rc=rc_name(rc), left=left, plural_of=left),
        rc=rc,
        left=left,
    )

    # step 12: the L1 VM goes
    lpid = vm.lpid
    start = l0.events.mark()
    l0.destroy_l1(vm)
    ev = l0.events.since(start)
    freed = _count(ev, "nested-free")
    rec.snap(
        "release-all",
        *prose("release-all", freed=freed, lpid=lpid, plural_of=freed),
        freed=freed,
    )
    return Story(seed, new_ptcr, tuple(rec.steps), default)


@lru_cache(maxsize=32)
def _cached(seed: int, new_ptcr: int | None) -> Story:
    return _build(seed, new_ptcr)


def classroom_story(seed: int = 0, new_ptcr: int | None = None) -> Story:
    """The twelve-step story for ``seed``; ``new_ptcr`` is what the L1 passes to
    H_SET_PARTITION_TABLE at the "change the PTCR" step (default: a fresh empty table).

    Stories are cached: the same arguments give the same (immutable) object.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise FieldError(f"seed must be a non-negative int, got {seed!r}")
    if new_ptcr is not None:
        if isinstance(new_ptcr, bool) or not isinstance(new_ptcr, int):
            raise FieldError(f"PTCR must be an int, got {new_ptcr!r}")
        if not 0 <= new_ptcr < 1 << 64:
            raise FieldError(f"PTCR {new_ptcr:#x} does not fit in 64 bits")
    return _cached(seed, new_ptcr)
