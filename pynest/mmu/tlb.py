"""A TLB tagged by LPID and PID, with radix ``tlbie``/``tlbiel`` semantics.

ISA v3.0B Book III, "Translation Lookaside Buffer" and the tlbie/tlbiel descriptions;
Linux ``arch/powerpc/mm/book3s64/radix_tlb.c`` for the operand patterns KVM and the
kernel use. Three kinds of cached state are kept, because ``RIC`` names them:

* ``entries``: translations (RIC 0 and 2 remove them). A *process-scoped* entry is
  tagged (LPID, PID) and maps an EA page to a real page; for a guest it is the combined
  (2-D) translation and remembers the guest real page it went through. A
  *partition-scoped* entry (PID None) maps a guest real page of an LPID, filled by
  guest real-mode accesses.
* ``pwc``: the page-walk cache, the directory entries a walk read (RIC 1 and 2).
* ``table_cache``: cached partition- and process-table entries (RIC 2 only).

pynest uses only ``entries`` to answer translations: the walk caches are kept so that
invalidation can be watched, not to make stale answers (which software must never rely on).

A hit must still permit the access under the *current* MSR[PR], AMR and IAMR, and a store
needs C already set in the cached PTEs; otherwise the translation walks again (and either
faults or sets C), as hardware re-walks in those cases.

Capacity. The TLB is finite: :data:`TLB_ENTRIES` = 1024 translations, POWER9's size
(POWER9 Processor User's Manual section 2.3.7, as firmware reports it in the device tree:
``tlb-size`` 1024). Linux 4.20 flushes it by congruence class, 128 in radix mode
(``POWER9_TLB_SETS_RADIX``, ``arch/powerpc/include/asm/book3s/64/mmu-hash.h``; 256 in
hash mode). The hardware's set-index hash and replacement policy are not published, so
the model is fully associative at the real total with least-recently-used replacement:
filling a new translation into a full TLB evicts the entry that was filled or hit
longest ago (:meth:`Tlb.lookup_for`; a hit answered from :meth:`Tlb.remember` does not
reorder, so entries hit since the last change of the TLB are ordered by their first hit
after it). The walk caches (``pwc``, ``table_cache``) are bounded too, at
:data:`PWC_ENTRIES` and :data:`TABLE_CACHE_ENTRIES` records, dropping their oldest. An
evicted entry is simply gone: the next access walks again, which is always correct.

Two modelling shortcuts, not hardware, make hits cheap. The permission verdict of a hit
is remembered per entry, access type, MSR[PR] and key-0 bits of AMR/IAMR (at most 96 per
entry), and goes when its entry leaves the TLB (remove, tlbie, flush, eviction,
replacement). Once a hit has been answered, the TLB remembers the answer for that
CpuState object, access type and 4 KiB page (:meth:`Tlb.remember`), so a repeated hit
costs one dictionary look-up. Every change to ``entries`` (fill, insert, remove, tlbie,
flush) forgets all such answers, so they always equal what the full look-up would give;
change ``entries`` through these methods only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import check_int
from . import constants as C
from .formats import TlbieRb, TlbieRs, page_size_text

_GRA_BITS = C.RADIX_TREE_BITS  # a partition-scoped tree translates 52 bits

#: POWER9's TLB: 1024 translations (see the module docstring, "Capacity").
TLB_ENTRIES = 1024
#: Bounds of the walk caches kept for watching invalidation (the model's, not POWER9's
#: published figures): large enough that no notebook or test walk evicts from them.
PWC_ENTRIES = 4096
TABLE_CACHE_ENTRIES = 1024

if TYPE_CHECKING:
    from .xlate import CpuState, Translation


@dataclass(frozen=True, slots=True, kw_only=True)
class TlbEntry:
    """One cached translation. ``pid`` None marks a partition-scoped entry."""

    lpid: int
    pid: int | None
    epn: int  # page-aligned EA (quadrant stripped) or guest real address
    page_size: int
    rpn: int  # page-aligned real address
    gra: int | None  # page-aligned guest real address of a combined entry
    proc_pte: int | None
    part_pte: int | None

    @property
    def scope(self) -> str:
        return "partition" if self.pid is None else "process"

    def covers(self, addr: int) -> bool:
        return self.epn <= addr < self.epn + self.page_size

    def __str__(self) -> str:
        who = f"LPID {self.lpid}" + ("" if self.pid is None else f" PID {self.pid}")
        via = f" via gRA {self.gra:#x}" if self.gra is not None and self.gra != self.rpn else ""
        return (
            f"{self.scope:9} {who:18} {self.epn:#014x} -> {self.rpn:#014x} "
            f"{page_size_text(self.page_size)}{via}"
        )


@dataclass(frozen=True, slots=True)
class TlbieResult:
    """What a tlbie/tlbiel did: the entries it removed, or why the form is invalid
    (an invalid form is a program interrupt on hardware; nothing is removed)."""

    removed: tuple[TlbEntry, ...] = ()
    removed_pwc: int = 0
    removed_tables: int = 0
    invalid: str | None = None

    def __str__(self) -> str:
        if self.invalid:
            return f"invalid form: {self.invalid}"
        return (
            f"removed {len(self.removed)} translations, {self.removed_pwc} walk-cache and "
            f"{self.removed_tables} table-cache entries"
        )


_Key = tuple[int, int | None, int, int]  # (lpid, pid, page size, epn) of an entry
#: a remembered hit: (cpu, mode, lpid, pid, RA page, gRA page or None, size, notes,
#: the entry's key); see Tlb.remember
Remembered = tuple["CpuState", str, int, int | None, int, int | None, int, tuple[str, ...], _Key]


@dataclass
class Tlb:
    """The translation caches of one thread (see the module docstring).

    ``capacity`` is the number of translations kept (default :data:`TLB_ENTRIES`); a fill
    or insert of a new translation into a full TLB evicts the least recently used one."""

    entries: dict[_Key, TlbEntry] = field(default_factory=dict)
    pwc: dict[tuple[int, int | None, int], None] = field(default_factory=dict)
    table_cache: dict[tuple[int, int | None], None] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    capacity: int = TLB_ENTRIES
    evictions: int = 0
    # recency of ``entries`` keys, least recently used first: see _put() and lookup_for()
    _lru: OrderedDict[_Key, None] = field(default_factory=OrderedDict, repr=False, compare=False)
    # permission verdicts of hits, per entry key: (the entry they were computed for,
    # {(acc, PR, AMR key 0, IAMR key 0): bool})
    _verdicts: dict[_Key, tuple[TlbEntry, dict[tuple[int, int, int, int], bool]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # answers of recent hits (ending with their entry's key), keyed (id(cpu), access
    # name, EA >> 12): see remember() and recall()
    _recent: dict[tuple[int, str, int], Remembered] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        check_int("capacity", self.capacity, minimum=1)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TlbEntry]:
        return iter(list(self.entries.values()))

    # -------------------------------------------------------------- lookup / fill
    def lookup(self, lpid: int, pid: int | None, addr: int) -> TlbEntry | None:
        """The entry for (lpid, pid) covering ``addr`` (quadrant-free EA or gRA), if any.

        A probe, not an access: it changes no recency and no counter."""
        entries = self.entries
        for size in C.PAGE_SIZES:
            e = entries.get((lpid, pid, size, addr & -size))
            if e is not None:
                return e
        return None

    def lookup_for(
        self, cpu: CpuState, acc: int, lpid: int, pid: int | None, addr: int
    ) -> tuple[int, int, int] | None:
        """(ra, gra, page_size) when a cached entry permits this access, else None.

        The entry found becomes the most recently used. The verdict depends only on the
        cached PTEs, the access type, MSR[PR] and the key-0 bits of AMR/IAMR, so it is
        remembered per entry (``_verdicts``) until the entry leaves the TLB."""
        entries = self.entries
        for size in C.PAGE_SIZES:
            key = (lpid, pid, size, addr & -size)
            e = entries.get(key)
            if e is not None:
                break
        else:
            self.misses += 1
            return None
        try:
            self._lru.move_to_end(key)
        except KeyError:  # put in ``entries`` directly: start tracking it now
            self._lru[key] = None
        held = self._verdicts.get(key)
        if held is None or held[0] is not e:  # new, or ``entries`` changed behind our back
            held = self._verdicts[key] = (e, {})
        verdicts = held[1]
        vkey = (acc, cpu.msr & C.MSR_PR, cpu.amr >> 62, cpu.iamr >> 62)
        ok = verdicts.get(vkey)
        if ok is None:
            ok = verdicts[vkey] = _permits(cpu, acc, e)
        if not ok:
            self.misses += 1
            return None
        self.hits += 1
        offset = addr & (e.page_size - 1)
        ra = e.rpn | offset
        gra = (e.gra | offset) if e.gra is not None else ra
        return ra, gra, e.page_size

    def remember(
        self,
        cpu: CpuState,
        access: str,
        ea: int,
        mode: str,
        lpid: int,
        pid: int | None,
        ra: int,
        gra: int,
        size: int,
        notes: list[str],
        keep: bool = True,
    ) -> Remembered:
        """Keep the answer of a hit so that the same access to the same 4 KiB page by the
        same :class:`CpuState` object is answered by :meth:`recall` in one look-up.

        The answer depends only on what :meth:`lookup_for` reads: the cached entry, which
        is fixed until the TLB changes, and registers of a CpuState, which is immutable.
        The key holds ``id(cpu)`` and the value the object itself, so an id is never
        reused while its answer is kept. Every change to ``entries`` forgets them all.
        Returns the answer (cpu, mode, lpid, pid, RA page, gRA page or None, size, notes,
        the entry's key).
        """
        gra_page = None if gra == ra else gra & -size
        entry_key = (lpid, pid, size, ea & C.EA_NOQUAD_MASK & -size)
        kept: Remembered = (
            cpu,
            mode,
            lpid,
            pid,
            ra & -size,
            gra_page,
            size,
            tuple(notes),
            entry_key,
        )
        if keep:
            recent = self._recent
            if len(recent) >= 4096:
                recent.clear()
            recent[(id(cpu), access, ea >> 12)] = kept
        return kept

    def recall(self, cpu: CpuState, access: str, ea: int) -> Remembered | None:
        """The answer :meth:`remember` kept for this CpuState object, access name and
        4 KiB page of ``ea``, or None. A recalled hit counts as a hit and makes its entry
        the most recently used, as the full :meth:`lookup_for` would."""
        try:
            held = self._recent.get((id(cpu), access, ea >> 12))
        except TypeError:  # an unhashable access: the caller's checks name it
            return None
        if held is None or held[0] is not cpu:
            return None
        try:
            self._lru.move_to_end(held[8])
        except KeyError:  # put in ``entries`` directly: start tracking it now
            self._lru[held[8]] = None
        self.hits += 1
        return held

    @property
    def remembered(self) -> int:
        """How many hit answers :meth:`recall` can give now (0 after any TLB change)."""
        return len(self._recent)

    def forget_hits(self) -> None:
        """Forget the remembered hit answers (every change to the TLB does this); the
        next hits take the full :meth:`lookup_for`. For tests and benchmarks."""
        self._recent.clear()

    def _put(self, entry: TlbEntry) -> None:
        """Install ``entry`` as the most recently used, evicting the least recently used
        translation when a new one would exceed ``capacity``."""
        self._recent.clear()
        key = (entry.lpid, entry.pid, entry.page_size, entry.epn)
        entries, lru = self.entries, self._lru
        if key in entries:
            self._verdicts.pop(key, None)  # the replacement may hold other PTEs
        else:
            while len(entries) >= self.capacity:
                victim = next(iter(lru), None)
                if victim is None:  # nothing tracked: the oldest inserted goes
                    victim = next(iter(entries))
                self._drop(victim)
                self.evictions += 1
        entries[key] = entry
        lru[key] = None
        lru.move_to_end(key)

    def _drop(self, key: _Key) -> None:
        """Forget one translation and everything remembered about it."""
        self.entries.pop(key, None)
        self._lru.pop(key, None)
        self._verdicts.pop(key, None)

    def fill(self, t: Translation, proc_pte: int | None, part_pte: int | None) -> None:
        """Insert the translation ``t`` just made (and note the walk caches it used)."""
        if t.ra is None or t.page_size is None or t.lpid is None:
            return
        size = t.page_size
        if size not in C.PAGE_SIZES:  # e.g. a 512 GiB leaf at the root: cache as 1G pieces
            size = C.PAGE_1G
        addr = t.ea & C.EA_NOQUAD_MASK if t.pid is not None else (t.gra or 0)
        gra = None
        if t.pid is not None and part_pte is not None and t.gra is not None:
            gra = t.gra & -size
        self._put(
            TlbEntry(
                lpid=t.lpid, pid=t.pid, epn=addr & -size, page_size=size, rpn=t.ra & -size,
                gra=gra, proc_pte=proc_pte, part_pte=part_pte,
            )
        )  # fmt: skip
        for tree, _level, index, _addr, hra, raw, _purpose in t.raw_steps:
            if tree in ("process", "partition") and not raw & C.PTE_L:
                _note(self.pwc, (t.lpid, t.pid if tree == "process" else None, hra), PWC_ENTRIES)
            elif tree == "partition-table":
                _note(self.table_cache, (index, None), TABLE_CACHE_ENTRIES)
            elif tree == "process-table":
                _note(self.table_cache, (t.lpid, index), TABLE_CACHE_ENTRIES)

    def insert(self, entry: TlbEntry) -> None:
        """Put an entry in directly (for demonstrations and tests); it may evict."""
        self._put(entry)

    def remove(self, entry: TlbEntry) -> None:
        """Take one entry out (what a targeted invalidation does to it)."""
        self._recent.clear()
        self._drop((entry.lpid, entry.pid, entry.page_size, entry.epn))

    def flush_all(self) -> None:
        """Forget everything (what QEMU does on a PTCR, PID or LPIDR write)."""
        self._recent.clear()
        self.entries.clear()
        self._lru.clear()
        self._verdicts.clear()
        self.pwc.clear()
        self.table_cache.clear()

    # -------------------------------------------------------------- invalidation
    def tlbie(
        self,
        rb: int,
        rs: int,
        ric: int = 0,
        prs: int = 0,
        r: int = 1,
        *,
        cpu: CpuState | None = None,
        local: bool = False,
    ) -> TlbieResult:
        """Execute ``tlbie``/``tlbiel RB,RS,RIC,PRS,R`` on this TLB.

        The LPID comes from RS[32:63] for ``tlbie`` in hypervisor state; a guest's
        ``tlbie`` (MSR[HV]=0) and every ``tlbiel`` use LPIDR from ``cpu``. Invalid forms
        (RIC 3, IS 0 with RIC != 0, IS 1 with PRS 0, an AP with no page size) remove
        nothing and say why. R=0 (hash form) drops the whole TLB, as QEMU 7.2 does.

        Scope (IS): 0 one page (EPN with the AP page size; every cached translation
        overlapping it), 1 one PID, 2 one LPID, 3 every LPID. PRS=1 removes process-scoped
        entries; PRS=0 removes partition-scoped entries and the combined process-scoped
        entries derived from them.
        """
        check_int("RB", rb, bits=64)
        check_int("RS", rs, bits=64)
        check_int("RIC", ric, bits=2)
        check_int("PRS", prs, bits=1)
        check_int("R", r, bits=1)
        self._recent.clear()
        rbf = TlbieRb.decode(rb)
        rsf = TlbieRs.decode(rs)
        if not r:
            everything = tuple(self.entries.values())
            n_pwc, n_tab = len(self.pwc), len(self.table_cache)
            self.flush_all()
            return TlbieResult(removed=everything, removed_pwc=n_pwc, removed_tables=n_tab)
        if ric == 3:
            return TlbieResult(invalid="RIC=3 is reserved")
        is_ = rbf.is_
        if is_ == 0 and ric != 0:
            return TlbieResult(invalid=f"IS=0 (one page) allows only RIC=0, not RIC={ric}")
        if is_ == 1 and not prs:
            return TlbieResult(invalid="IS=1 (one PID) needs PRS=1")
        if is_ == 0 and rbf.page_size is None:
            return TlbieResult(invalid=f"AP={rbf.ap} encodes no page size")
        hv_tlbie = not local and (cpu is None or cpu.hv)
        lpid = rsf.lpid if hv_tlbie or cpu is None else cpu.lpidr
        pid = rsf.pid

        def match(key_lpid: int, key_pid: int | None) -> bool:
            if is_ == 3:
                return True
            if key_lpid != lpid:
                return False
            if is_ == 1:
                return key_pid == pid
            return True

        removed: list[TlbEntry] = []
        if ric in (0, 2):
            for key, e in list(self.entries.items()):
                if not match(e.lpid, e.pid):
                    continue
                if prs:
                    if e.pid is None:
                        continue
                    if is_ == 0 and (e.pid != pid or not _overlaps(e.epn, e.page_size, rbf)):
                        continue
                else:
                    if is_ == 0:
                        # A partition-scoped entry is named by the guest real page as
                        # the 52-bit partition tree indexed it: bits above 52 (which a
                        # guest PTE's RPN can hold) take no part in the match.
                        gra = e.epn if e.pid is None else e.gra
                        hit = gra is not None and _overlaps(gra, e.page_size, rbf, _GRA_BITS)
                        if not hit:
                            continue
                    elif e.pid is not None and e.gra is None:
                        continue  # LPID 0 host translations do not derive from a partition entry
                self._drop(key)
                removed.append(e)
        n_pwc = n_tab = 0
        if ric in (1, 2):
            for walk_key in list(self.pwc):
                klpid, kpid, _ = walk_key
                if match(klpid, kpid) and (kpid is not None) == bool(prs):
                    del self.pwc[walk_key]
                    n_pwc += 1
        if ric == 2:
            for table_key in list(self.table_cache):
                klpid, kpid = table_key
                if match(klpid, kpid) and (kpid is not None) == bool(prs):
                    del self.table_cache[table_key]
                    n_tab += 1
        return TlbieResult(removed=tuple(removed), removed_pwc=n_pwc, removed_tables=n_tab)


def _note(cache: dict[Any, None], key: object, bound: int) -> None:
    """Record ``key`` in a walk cache, dropping its oldest record past ``bound``."""
    if key not in cache:
        if len(cache) >= bound:
            del cache[next(iter(cache))]
        cache[key] = None


def _permits(cpu: CpuState, acc: int, e: TlbEntry) -> bool:
    """Whether the cached PTEs of ``e`` allow this access without a re-walk: both levels
    permit it (QEMU ppc_radix64_check_prot) and a store finds C already set."""
    from .xlate import STORE, check_prot

    for pte, partition_scoped in ((e.proc_pte, False), (e.part_pte, True)):
        if pte is None:
            continue
        if check_prot(cpu, acc, pte, partition_scoped) is not None:
            return False
        if acc == STORE and not pte & C.PTE_C:
            return False
    return True


def _overlaps(start: int, size: int, rbf: TlbieRb, bits: int = 64) -> bool:
    """Whether [start, start + size) meets the page RB names, comparing the low ``bits``
    bits of both addresses."""
    page = rbf.page_size or C.PAGE_4K
    mask = (1 << bits) - 1
    start &= mask
    base = rbf.epn & -page & mask
    return start < base + page and base < start + size
