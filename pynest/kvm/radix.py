"""book3s_64_mmu_radix.c's part of nested HV: the shadow tree's edits and the nest rmap.

Models ``kvmppc_create_pte`` / ``kvmppc_unmap_pte`` / ``kvmppc_unmap_free_*`` /
``kvmppc_free_pgtable_radix`` on a nested guest's shadow tree, and the nested rmap of
``book3s_hv_nested.c`` (``kvmhv_insert_nest_rmap``, ``kvmhv_remove_nest_rmap_range``,
``kvmhv_invalidate_shadow_pte``) that ties a shadow PTE to the L1 page it maps (Linux
4.20). Below the lifecycle (:mod:`pynest.kvm.nested`), which frees shadow trees with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..mmu import constants as C
from ..mmu.builder import OutOfTableMemory
from ..mmu.formats import page_size_text
from ..mmu.walk import leaves
from .constants import (
    _PAGE_PRESENT,
    _PAGE_PTE,
    EAGAIN,
    ENOMEM,
    PMD_SHIFT,
    PTE_RPN_MASK,
    PUD_SHIFT,
    RMAP_NESTED_GPA_MASK,
    RMAP_NESTED_IS_SINGLE_ENTRY,
    RMAP_NESTED_LPID_MASK,
    RMAP_NESTED_LPID_SHIFT,
    TREE_ADDR_MASK,
)

if TYPE_CHECKING:
    from .host import L1Vm
    from .nested_table import NestedGuest


# ------------------------------------------------------------------ shadow tree edits
def nested_event(vm: L1Vm, kind: str, gp: NestedGuest | None, actor: str = "L0", **kw: Any) -> None:
    """Log an event about nested guest ``gp`` of ``vm`` (its L1 and shadow LPIDs), by
    ``actor`` (L0 unless the L2 itself did it)."""
    vm.l0.events.append(
        kind,
        actor,
        lpid=vm.lpid,
        l1_lpid=gp.l1_lpid if gp else None,
        shadow_lpid=gp.shadow_lpid if gp else None,
        **kw,
    )


def shadow_leaves(
    gp: NestedGuest, lo: int = 0, hi: int = 1 << 52
) -> list[tuple[int, int, int, int]]:
    """Every shadow PTE of ``gp`` overlapping L2 guest real [lo, hi): (addr, slot, pte,
    shift), as the hardware walk of the shadow tree reaches them
    (:func:`pynest.mmu.walk.leaves`)."""
    tree = gp.shadow_pgtable
    if tree is None:
        return []
    found = leaves(gp.l1_host.l0.mem.nonzero_u64, tree.walk_root, lo, hi)
    return [(leaf.addr, leaf.slot, leaf.pte, leaf.shift) for leaf in found]


@dataclass(frozen=True, slots=True)
class ShadowPte:
    """One leaf of L0's shadow tree for an L2: L2 real ``gpa`` -> host real ``hpa``, with
    the raw ``pte`` (what notebooks and explorers list; see :func:`shadow_ptes`)."""

    l1_lpid: int
    shadow_lpid: int
    gpa: int
    hpa: int
    size: int
    pte: int

    @property
    def perms(self) -> str:
        """EAA letters (r, w, x; "-" for none), then " R", " C" or " RC" when set."""
        pte = self.pte
        eaa = "".join(ch for bit, ch in ((0x4, "r"), (0x2, "w"), (0x1, "x")) if pte & bit)
        rc = ("R" if pte & C.PTE_R else "") + ("C" if pte & C.PTE_C else "")
        return (eaa or "-") + (f" {rc}" if rc else "")

    def __str__(self) -> str:
        return (
            f"shadow    L2 {self.l1_lpid} (LPID {self.shadow_lpid})  L2 real {self.gpa:#010x} -> "
            f"{self.hpa:#012x} {page_size_text(self.size)}"
        )


def shadow_ptes(gp: NestedGuest) -> list[ShadowPte]:
    """Every shadow PTE of ``gp`` as a record, in L2 real address order (what
    :func:`shadow_leaves` finds, decoded)."""
    out = []
    for addr, _slot, pte, shift in shadow_leaves(gp):
        size = 1 << shift
        out.append(ShadowPte(gp.l1_lpid, gp.shadow_lpid, addr, pte & C.PTE_RPN & -size, size, pte))
    return out


def unmap_shadow_pte(gp: NestedGuest, gpa: int, slot: int, pte: int, shift: int) -> None:
    """``kvmppc_unmap_pte`` on a shadow tree: clear the PTE, then a partition-scoped
    tlbie of that page for the shadow LPID (``kvmppc_radix_tlbie_page``)."""
    vm = gp.l1_host
    vm.l0.mem.write_u64(slot, 0)
    size = 1 << shift
    n = vm.l0.flush_page(gp.shadow_lpid, gpa & -size, size) if size in C.PAGE_SIZES else 0
    nested_event(
        vm, "shadow-remove", gp, gpa=gpa & -size, hpa=pte & PTE_RPN_MASK & -size, size=size
    )
    if n:
        nested_event(vm, "tlbie", gp, gpa=gpa & -size, size=size, detail=f"{n} TLB entries")


def free_pgtable_radix(gp: NestedGuest) -> int:
    """``kvmppc_free_pgtable_radix`` on the shadow tree: every shadow PTE and every
    lower-level table goes; the (now empty) PGD stays. No TLB flush here: callers
    follow with ``kvmhv_flush_lpid`` or a partition-table update. Returns the count."""
    tree = gp.shadow_pgtable
    if tree is None:
        return 0
    vm = gp.l1_host
    l0 = vm.l0
    leaves = shadow_leaves(gp)
    for base in tree.tables[1:]:
        l0.table_alloc.free(base)
    for slot, _entry in l0.mem.nonzero_u64(tree.root, 8 << C.ROOT_NLS):
        l0.mem.write_u64(slot, 0)
    tree.tables = [tree.root]
    nested_event(vm, "shadow-flush", gp, detail=f"{len(leaves)} shadow PTEs dropped")
    return len(leaves)


def _new_table(gp: NestedGuest, nls: int) -> int | None:
    """``pud_alloc_one`` / ``kvmppc_pmd_alloc`` / ``kvmppc_pte_alloc`` for the shadow
    tree: a zeroed table of ``2**nls`` entries charged to the L1 (see
    :class:`~pynest.kvm.host.TableAllocator`), or None (NULL) with an "error" event
    naming the L1 and its budget when none can be had."""
    vm = gp.l1_host
    try:
        base = vm.table_alloc.alloc(8 << nls)
    except OutOfTableMemory as e:
        nested_event(vm, "error", gp, detail=vm.enomem_detail(e))
        return None
    vm.l0.mem.write(base, bytes(8 << nls))
    assert gp.shadow_pgtable is not None  # a released guest allocates nothing
    gp.shadow_pgtable.tables.append(base)
    return base


def _free_table(gp: NestedGuest, base: int) -> None:
    """``pud_free`` / ``kvmppc_pmd_free`` / ``kvmppc_pte_free``: give a table back."""
    assert gp.shadow_pgtable is not None
    gp.shadow_pgtable.tables.remove(base)
    gp.l1_host.l0.table_alloc.free(base)


def _unmap_unexpected(gp: NestedGuest, gpa: int, slot: int, pte: int, shift: int) -> None:
    """A leaf met in a table that ``kvmppc_create_pte`` frees on the fault path
    (``kvmppc_unmap_free_pte`` / ``kvmppc_unmap_free_pmd`` with ``full`` false: "ptes
    are not expected", WARN_ON_ONCE). The kernel unmaps it with
    ``kvmppc_unmap_pte(kvm, p, pte_pfn(*p) << PAGE_SHIFT, shift, NULL, lpid)``: the
    tlbie names the leaf's *host* address, not its L2 address, so a TLB entry for the
    L2 address survives (4.20.1, unchanged in later kernels). The L1 normally
    invalidated those pages first and the table is empty."""
    vm = gp.l1_host
    l0 = vm.l0
    size = 1 << shift
    hpa = pte & PTE_RPN_MASK & -size
    l0.mem.write_u64(slot, 0)
    n = l0.flush_page(gp.shadow_lpid, hpa, size)
    nested_event(
        vm,
        "shadow-remove",
        gp,
        gpa=gpa,
        hpa=hpa,
        size=size,
        detail="unexpected: under a freed table (WARN_ON_ONCE); tlbie at its host address",
    )
    if n:
        nested_event(vm, "tlbie", gp, gpa=hpa, size=size, detail=f"{n} TLB entries")


def _unmap_free_pte(gp: NestedGuest, base: int, nls: int, prefix: int) -> None:
    """``kvmppc_unmap_free_pte(kvm, pte, false, lpid)``: unmap any leaf, free the table."""
    l0 = gp.l1_host.l0
    shift = 12 if nls == 9 else 16
    for slot, entry in l0.mem.nonzero_u64(base, 8 << nls):
        gpa = prefix | (((slot - base) >> 3) << shift)
        _unmap_unexpected(gp, gpa, slot, entry, shift)
    _free_table(gp, base)


def _unmap_free_pmd(gp: NestedGuest, base: int, prefix: int) -> None:
    """``kvmppc_unmap_free_pmd(kvm, pmd, false, lpid)``: unmap any 2M leaf, free every
    PTE table below (``pmd_clear`` each), then the PMD table."""
    l0 = gp.l1_host.l0
    for slot, entry in l0.mem.nonzero_u64(base, 8 << 9):
        gpa = prefix | (((slot - base) >> 3) << PMD_SHIFT)
        if not entry & _PAGE_PRESENT:
            continue
        if entry & _PAGE_PTE:
            _unmap_unexpected(gp, gpa, slot, entry, PMD_SHIFT)
        else:
            nls = entry & C.PDE_NLS
            _unmap_free_pte(gp, entry & C.PDE_NLB & ~((8 << nls) - 1), nls, gpa)
            l0.mem.write_u64(slot, 0)
    _free_table(gp, base)


def _unmap_free_entry_table(gp: NestedGuest, slot: int, pde: int, gpa: int, level: int) -> None:
    """``kvmppc_unmap_free_pmd_entry_table`` (``level`` 1) /
    ``kvmppc_unmap_free_pud_entry_table`` (``level`` 2): clear the directory entry,
    flush the shadow LPID's page-walk cache (``kvmppc_radix_flush_pwc``: tlbie RIC=1
    IS=2 PRS=0), then unmap and free what was below."""
    l0 = gp.l1_host.l0
    l0.mem.write_u64(slot, 0)
    l0.tlb.tlbie(2 << 10, gp.shadow_lpid, ric=1, prs=0, r=1)
    nls = pde & C.PDE_NLS
    base = pde & C.PDE_NLB & ~((8 << nls) - 1)
    if level == 1:
        _unmap_free_pte(gp, base, nls, gpa & -(1 << PMD_SHIFT))
    else:
        _unmap_free_pmd(gp, base, gpa & -(1 << PUD_SHIFT))


def _set_leaf(
    gp: NestedGuest, slot: int, pte: int, n_gpa: int, shift: int, rmap: tuple[int, int] | None
) -> int:
    """``kvmppc_radix_set_pte_at`` then ``kvmhv_insert_nest_rmap``: returns 0."""
    vm = gp.l1_host
    vm.l0.mem.write_u64(slot, pte)
    size = 1 << shift
    ra = pte & PTE_RPN_MASK & -size
    nested_event(vm, "shadow-insert", gp, gpa=n_gpa, hpa=ra, size=size, detail=f"pte {pte:#018x}")
    if rmap is not None:
        insert_nest_rmap(vm, *rmap)
    return 0


def _update_leaf(gp: NestedGuest, slot: int, old: int, pte: int, n_gpa: int, shift: int) -> int:
    """A leaf of the same size is already there ("someone else set the same thing" /
    "add our extra bits"): the same PTE is left alone; another value is written in
    place and its page flushed. Returns 0."""
    vm = gp.l1_host
    size = 1 << shift
    if old != pte:
        vm.l0.mem.write_u64(slot, pte)
        vm.l0.flush_page(gp.shadow_lpid, n_gpa, size)
    ra = pte & PTE_RPN_MASK & -size
    nested_event(vm, "shadow-insert", gp, gpa=n_gpa, hpa=ra, size=size, detail=f"pte {pte:#018x}")
    return 0


def create_shadow_pte(
    gp: NestedGuest, pte: int, n_gpa: int, shift: int, rmap: tuple[int, int] | None = None
) -> int:
    """Insert ``pte`` for ``[n_gpa, n_gpa + 2**shift)`` in the shadow tree: 0, -ENOMEM
    or -EAGAIN.

    Models ``kvmppc_create_pte`` (4.20.1 ``book3s_64_mmu_radix.c``) on
    ``gp->shadow_pgtable`` at level 2 (1G, a PUD entry), 1 (2M, a PMD entry) or 0 (L0's
    PAGE_SIZE, in a PTE table of 2^9 entries under a 4K L0, 2^5 under a 64K one):

    * a missing PUD, PMD or PTE table on the way is allocated (charged to the L1);
      when it cannot be, -ENOMEM (what was changed so far stays, as in the kernel);
    * a larger leaf in the way (a 1G or 2M page around a smaller one) is unmapped
      (``kvmppc_unmap_pte``) and a table takes its place; if that table cannot be
      allocated the kernel returns -EAGAIN first ("we raced"), leaving the leaf;
    * a lower-level table where the new leaf goes (a PMD or PTE table under a 1G or 2M
      leaf) is removed and freed with everything in it
      (``kvmppc_unmap_free_pud_entry_table`` / ``..._pmd_entry_table``);
    * a leaf of the same size is updated in place (:func:`_update_leaf`).

    ``rmap`` = (gfn, entry) is added to the nested rmap when a new leaf is set
    (``kvmhv_insert_nest_rmap``), as the kernel does inside ``kvmppc_create_pte``.
    """
    vm = gp.l1_host
    mem = vm.l0.mem
    tree = gp.shadow_pgtable
    assert tree is not None
    level = {PUD_SHIFT: 2, PMD_SHIFT: 1}.get(shift, 0)
    pte_nls = 9 if vm.page_shift == 12 else 5  # RADIX_PTE_INDEX_SIZE
    # pgd -> pud table
    pgd_slot = tree.root + 8 * ((n_gpa >> 39) & ((1 << C.ROOT_NLS) - 1))
    pgd = mem.read_u64(pgd_slot)
    if not pgd & _PAGE_PRESENT:
        new = _new_table(gp, 9)
        if new is None:
            return -ENOMEM
        pgd = C.PTE_V | new | 9  # pgd_populate
        mem.write_u64(pgd_slot, pgd)
    pud_slot = (pgd & C.PDE_NLB & ~((8 << 9) - 1)) + 8 * ((n_gpa >> PUD_SHIFT) & 511)
    pud = mem.read_u64(pud_slot)
    if pud & _PAGE_PRESENT and pud & _PAGE_PTE:  # a 1G leaf
        if level == 2:
            return _update_leaf(gp, pud_slot, pud, pte, n_gpa, shift)
        new_pmd = _new_table(gp, 9)
        if new_pmd is None:
            return -EAGAIN
        unmap_shadow_pte(gp, n_gpa & -(1 << PUD_SHIFT), pud_slot, pud, PUD_SHIFT)
        pud = C.PTE_V | new_pmd | 9  # pud_populate
        mem.write_u64(pud_slot, pud)
    if level == 2:
        if pud:
            _unmap_free_entry_table(gp, pud_slot, pud, n_gpa, 2)
        return _set_leaf(gp, pud_slot, pte, n_gpa, shift, rmap)
    if not pud & _PAGE_PRESENT:
        new = _new_table(gp, 9)
        if new is None:
            return -ENOMEM
        pud = C.PTE_V | new | 9
        mem.write_u64(pud_slot, pud)
    pmd_slot = (pud & C.PDE_NLB & ~((8 << 9) - 1)) + 8 * ((n_gpa >> PMD_SHIFT) & 511)
    pmd = mem.read_u64(pmd_slot)
    if pmd & _PAGE_PRESENT and pmd & _PAGE_PTE:  # a 2M leaf
        if level == 1:
            return _update_leaf(gp, pmd_slot, pmd, pte, n_gpa, shift)
        new_ptep = _new_table(gp, pte_nls)
        if new_ptep is None:
            return -EAGAIN
        unmap_shadow_pte(gp, n_gpa & -(1 << PMD_SHIFT), pmd_slot, pmd, PMD_SHIFT)
        pmd = C.PTE_V | new_ptep | pte_nls  # pmd_populate
        mem.write_u64(pmd_slot, pmd)
    if level == 1:
        if pmd:
            _unmap_free_entry_table(gp, pmd_slot, pmd, n_gpa, 1)
        return _set_leaf(gp, pmd_slot, pte, n_gpa, shift, rmap)
    if not pmd & _PAGE_PRESENT:
        new = _new_table(gp, pte_nls)
        if new is None:
            return -ENOMEM
        pmd = C.PTE_V | new | pte_nls
        mem.write_u64(pmd_slot, pmd)
    nls = pmd & C.PDE_NLS
    ptep = (pmd & C.PDE_NLB & ~((8 << nls) - 1)) + 8 * ((n_gpa >> (21 - nls)) & ((1 << nls) - 1))
    old = mem.read_u64(ptep)
    if old & _PAGE_PRESENT:
        return _update_leaf(gp, ptep, old, pte, n_gpa, shift)
    return _set_leaf(gp, ptep, pte, n_gpa, shift, rmap)


def insert_nest_rmap(vm: L1Vm, gfn: int, rmap: int) -> bool:
    """``kvmhv_insert_nest_rmap``: add ``rmap`` to L1 page ``gfn``'s list unless an
    entry with the same LPID and GPA is there. Returns whether it was added.

    Nothing takes an entry out when its shadow PTE goes (4.20.1 ``kvmppc_unmap_pte``
    returns before ``kvmhv_remove_nest_rmap_range`` for a shadow LPID), so stale
    entries are kernel-faithful. They leave only through :func:`remove_nest_rmap_range`
    (L0 unmaps the L1 page; a stale entry then unmaps nothing) or ``release_all_nested``
    (``kvmhv_free_memslot_nest_rmap``)."""
    chain = vm.rmap.setdefault(gfn, [])
    mask = RMAP_NESTED_LPID_MASK | RMAP_NESTED_GPA_MASK
    if any(not (r ^ rmap) & mask for r in chain):
        return False
    chain.append(rmap)
    vm.l0.events.append(
        "rmap-insert",
        "L0",
        lpid=vm.lpid,
        l1_lpid=rmap >> RMAP_NESTED_LPID_SHIFT,
        gpa=rmap & RMAP_NESTED_GPA_MASK,
        l1_gpa=gfn << vm.page_shift,
    )
    return True


def rmap_head(vm: L1Vm, gfn: int) -> int | list[int]:
    """What ``memslot->arch.rmap[gfn]`` holds in the kernel: 0, a single entry stored
    inline with RMAP_NESTED_IS_SINGLE_ENTRY, or (shown as a list) an llist."""
    chain = vm.rmap.get(gfn, [])
    if not chain:
        return 0
    if len(chain) == 1:
        return chain[0] | RMAP_NESTED_IS_SINGLE_ENTRY
    return list(reversed(chain))  # llist_add pushes at the head


def remove_nest_rmap_range(vm: L1Vm, gpa: int, hpa: int, nbytes: int) -> int:
    """``kvmhv_remove_nest_rmap_range``: L0 unmapped L1 pages [gpa, gpa+nbytes) that
    were at host ``hpa``; remove every shadow PTE that still maps that host memory.

    Each L1 frame's list is taken whole; an entry whose nested guest is gone, or whose
    shadow PTE now points elsewhere (a stale entry), is just dropped. Returns how many
    shadow PTEs were removed.
    """
    mask = PTE_RPN_MASK & ~(nbytes - 1)
    hpa &= mask
    removed = 0
    first = gpa >> vm.page_shift
    for gfn in range(first, first + (nbytes >> vm.page_shift)):
        for rmap in vm.rmap.pop(gfn, []):
            n_gpa = rmap & RMAP_NESTED_GPA_MASK
            gp = vm.nested.find(rmap >> RMAP_NESTED_LPID_SHIFT)
            if gp is None or gp.shadow_pgtable is None:
                continue
            found = gp.shadow_pgtable.find_leaf(n_gpa)
            if found is not None and found[1] & mask == hpa:
                unmap_shadow_pte(gp, n_gpa, found[0], found[1], found[2])
                removed += 1
    return removed


def invalidate_shadow_pte(gp: NestedGuest, gpa: int) -> tuple[bool, int]:
    """``kvmhv_invalidate_shadow_pte``: unmap the shadow PTE covering ``gpa`` if any;
    returns (removed, its shift or L0's PAGE_SHIFT).

    The lookup (``find_kvm_nested_guest_pte`` -> ``__find_linux_pte``) indexes the tree
    with ``pgd_index()`` .. ``pte_index()``, which use only the 52 address bits the tree
    translates: an address with higher bits set (an L1's tlbie EPN may hold any value)
    finds the PTE of its low 52 bits, and that is the page unmapped and flushed.
    """
    gpa &= TREE_ADDR_MASK
    vm = gp.l1_host
    found = gp.shadow_pgtable.find_leaf(gpa) if gp.shadow_pgtable is not None else None
    if found is None:
        return False, vm.page_shift
    slot, pte, shift = found
    unmap_shadow_pte(gp, gpa, slot, pte, shift)
    return True, shift
