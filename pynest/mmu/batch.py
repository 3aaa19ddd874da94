"""Translate many effective addresses at once with numpy.

``translate_many(mem, cpu, eas, access)`` gives, for every EA, exactly what
:func:`pynest.mmu.translate` with ``update_rc=False`` gives (the debugger's view: no R/C
write-back, no TLB): the real address, the page size, and for a fault the interrupt and
its cause bits. It is meant for pictures of whole address spaces (which pages of an L2
are mapped, where they land) where a Python loop would be slow.

How: memory is snapshotted into two sorted numpy arrays (addresses, values) so that a
bus read of many addresses is one ``searchsorted`` gather. EAs are grouped by quadrant
(one LPID/PID pair per group); the partition- and process-table entries of a group are
found by the scalar code once; then the radix walk runs level by level over all lanes of
the group at once, including the partition-scoped translation of each table address of a
guest's 2-D walk. Lanes that fault, or that meet anything unusual (a shape the POWER9
rules reject, a leaf above level 1), are handed back to the scalar :func:`translate`, so
every answer is the scalar answer by construction, not by a second implementation of the
fault rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ArgumentTypeError, ConfigError
from ..memory import PhysicalMemory
from . import constants as C
from .formats import RadixRoot
from .xlate import (
    ACCESS_TYPES,
    FETCH,
    LOAD,
    STORE,
    CpuState,
    access_type,
    quadrant_ids,
    translate,
)

if TYPE_CHECKING:
    import numpy as np

    from .xlate import Fault

#: numpy arrays of any dtype (numpy is imported only when a batch runs)
Array = Any
#: a per-lane quantity: a Python int while every lane holds the same value, else an array
Lanes = Any

INTERRUPT_CODES = {None: 0, "DSI": 1, "DSEG": 2, "ISI": 3, "ISEG": 4, "HDSI": 5, "HISI": 6}
"""Codes used in :attr:`BatchTranslation.interrupt` (0 = translated)."""
INTERRUPT_NAMES = {code: name for name, code in INTERRUPT_CODES.items()}


@dataclass(frozen=True)
class BatchTranslation:
    """Per-EA results: ``ra`` and ``page_size`` (0 where the access faults),
    ``interrupt`` (see :data:`INTERRUPT_CODES`) and ``cause`` (DSISR/HDSISR/SRR1 cause
    bits of the fault, with the store bit as the scalar fault has it)."""

    eas: np.ndarray
    ra: np.ndarray
    page_size: np.ndarray
    interrupt: np.ndarray
    cause: np.ndarray

    @property
    def ok(self) -> Array:
        """True where the EA translated."""
        return self.interrupt == 0

    def __len__(self) -> int:
        return len(self.eas)

    def summary(self) -> dict[str, int]:
        """How many EAs translated and how many took each interrupt."""
        import numpy as np

        codes, counts = np.unique(self.interrupt, return_counts=True)
        return {
            (INTERRUPT_NAMES[int(c)] or "ok"): int(n) for c, n in zip(codes, counts, strict=True)
        }


class _Snapshot:
    """Memory as sorted arrays, for vectorised bus reads (0 where never written)."""

    def __init__(self, mem: PhysicalMemory) -> None:
        import numpy as np

        items = list(mem.written())
        self.keys = np.fromiter((a for a, _ in items), dtype=np.uint64, count=len(items))
        self.values = np.fromiter((v for _, v in items), dtype=np.uint64, count=len(items))
        if not len(self.keys):  # searchsorted needs something to land on
            self.keys = np.zeros(1, dtype=np.uint64)
            self.values = np.zeros(1, dtype=np.uint64)

    def load(self, addrs: Array) -> Array:
        import numpy as np

        idx = np.searchsorted(self.keys, addrs)
        found = np.take(self.keys, idx, mode="clip") == addrs
        return np.where(found, np.take(self.values, idx, mode="clip"), np.uint64(0))


def _u64(x: int) -> Any:
    import numpy as np

    return np.uint64(x)


def _uniform(values: Array) -> Lanes:
    """``values`` as a Python int when every lane holds the same one (the common case:
    scalar shifts are much cheaper than per-lane ones), else the array itself."""
    if len(values) and (values == values[0]).all():
        return int(values[0])
    return values


def _walk(
    snap: _Snapshot,
    addr: Array,
    root: RadixRoot,
    ok: Array,
    xlate: Callable[[Array, Array], Array] | None = None,
) -> tuple[Array, Array, Array]:
    """Vectorised :func:`pynest.mmu.walk.walk` from ``root`` over the lanes where ``ok``
    is set (the same shape rule, :func:`~pynest.mmu.walk.valid_level`, per lane).

    ``ok`` (a bool array) is updated in place: lanes that fault or need the scalar path
    are cleared. ``xlate(pa, lanes)`` translates the entry addresses of the 2-D walk for
    the given lane indices (clearing ``ok`` where that fails). Work is done only on the
    lanes still walking, compacted when some stop. Returns (pte, ra, page_shift).
    """
    import numpy as np

    U = np.uint64
    base, nls, tree_bits = root
    n = len(addr)
    pte = np.zeros(n, dtype=U)
    shift_out = np.full(n, tree_bits, dtype=np.int64)
    act = np.nonzero(ok)[0]
    a = addr[act]
    rem, nls_a = tree_bits, nls  # ints while uniform across lanes, arrays otherwise
    index = (a >> U((tree_bits - nls) & 63)) & U((1 << nls) - 1)
    start = base if xlate is not None else base & ~((8 << nls) - 1)
    pa = U(start) + U(8) * index
    for level in range(4):
        if not len(act):
            break
        if level == 0:
            shape = (rem == 52) & (nls_a == 13)
        elif level < 3:
            shape = nls_a == 9
        else:
            shape = (nls_a == 9) | (nls_a == 5)
        if xlate is None:
            hra = pa  # lanes in ``act`` are all still ok: only this loop clears them
            entry = snap.load(hra)
            top = entry >> U(62)  # V and L
            keep = top >= U(2)
        else:
            hra = xlate(pa, act)  # the 2-D order: translate first, then the shape check
            entry = snap.load(hra)
            top = entry >> U(62)
            keep = ok[act] & (top >= U(2))
        if shape is not True:
            keep &= shape
        if not keep.all():
            ok[act[~keep]] = False
            act, a, entry, top = act[keep], a[keep], entry[keep], top[keep]
            rem = rem if isinstance(rem, int) else rem[keep]
            nls_a = nls_a if isinstance(nls_a, int) else nls_a[keep]
        rem = rem - nls_a
        leaf = top == U(3)
        if leaf.any():
            pte[act[leaf]] = entry[leaf]
            shift_out[act[leaf]] = rem if isinstance(rem, int) else rem[leaf]
            go = ~leaf
            act, a, entry = act[go], a[go], entry[go]
            rem = rem if isinstance(rem, int) else rem[go]
        nls_a = _uniform(entry & U(C.PDE_NLS))
        if isinstance(nls_a, int) and isinstance(rem, int) and rem - nls_a >= 3:
            # (a >> (rem - nls) & mask) * 8 in two passes instead of three
            offset = (a >> U(rem - nls_a - 3)) & U(((1 << nls_a) - 1) << 3)
            pa = (entry & U(C.PDE_NLB & ~((8 << nls_a) - 1))) + offset
            continue
        nls_a = nls_a if isinstance(nls_a, int) else nls_a.astype(np.int64)
        if isinstance(nls_a, int) and isinstance(rem, int):
            index = (a >> U((rem - nls_a) & 63)) & U((1 << nls_a) - 1)
            nlb = entry & U(C.PDE_NLB & ~((8 << nls_a) - 1))
        else:
            nls_u = np.asarray(nls_a).astype(U)
            index = (a >> U(np.asarray(rem - nls_a) & 63)) & ((U(1) << nls_u) - U(1))
            nlb = entry & U(C.PDE_NLB) & ~((U(8) << nls_u) - U(1))
        pa = nlb + U(8) * index
    ok[act] = False  # a directory at level 3: the level-4 shape fault, scalar path
    shift = _uniform(shift_out)
    if isinstance(shift, int):
        low = U((1 << shift) - 1)
        return pte, (pte & U(C.PTE_RPN & ~((1 << shift) - 1))) | (addr & low), shift_out
    lows = (U(1) << shift_out.astype(U)) - U(1)
    return pte, (pte & U(C.PTE_RPN) & ~lows) | (addr & lows), shift_out


def _allowed(pte: Array, acc: int, cpu: CpuState | None) -> Array:
    """Vectorised ``check_prot``: True where the PTE permits the access.

    ``cpu`` None means a partition-scoped PTE (EAA alone decides)."""
    import numpy as np

    U = np.uint64
    if acc == FETCH:
        guarded = (pte & U(C.PTE_ATT)) == U(C.PTE_ATT_NI_IO)
    else:
        guarded = np.zeros(len(pte), dtype=bool)
    read = (pte & U(C.PTE_EAA_READ | C.PTE_EAA_RW)) != 0
    write = (pte & U(C.PTE_EAA_RW)) != 0
    execute = (pte & U(C.PTE_EAA_EXEC)) != 0
    right = (read, write, execute)[acc]
    if cpu is not None:
        priv = (pte & U(C.PTE_EAA_PRIV)) != 0
        if cpu.msr & C.MSR_PR:
            right = right & ~priv
        else:
            amr, iamr = cpu.amr >> 62, cpu.iamr >> 62
            blocked = (amr & 1, amr & 2, iamr & 1)[acc]
            if blocked:
                right = right & priv
    return right & ~guarded


def translate_many(
    mem: PhysicalMemory, cpu: CpuState, eas: Iterable[int] | Array, access: str = "load"
) -> BatchTranslation:
    """Translate every EA in ``eas`` (any int sequence or numpy array, values < 2**64).

    Equal, lane by lane, to ``translate(mem, cpu, ea, access, update_rc=False)``.
    """
    import numpy as np

    if not isinstance(mem, PhysicalMemory):
        raise ConfigError(f"mem must be a PhysicalMemory, got {type(mem).__name__}")
    if not isinstance(cpu, CpuState):
        raise ConfigError(f"cpu must be a CpuState, got {type(cpu).__name__}")
    acc = access_type(access)
    if isinstance(eas, np.ndarray):
        if eas.ndim != 1:
            raise ArgumentTypeError(f"eas must be one-dimensional, got shape {eas.shape}")
        if len(eas) and eas.dtype.kind not in "iu":
            raise ArgumentTypeError(f"eas must hold integers, got dtype {eas.dtype}")
        if eas.dtype.kind == "i" and len(eas) and eas.min() < 0:
            raise ArgumentTypeError(f"eas must be >= 0, got {int(eas.min())}")
    else:
        try:
            items = list(eas)
        except TypeError:
            raise ArgumentTypeError(f"eas must be a sequence of ints, got {eas!r}") from None
        for x in items:
            if not isinstance(x, (int, np.integer)) or isinstance(x, bool) or not 0 <= x < 1 << 64:
                raise ArgumentTypeError(f"every EA must be an int in [0, 2**64), got {x!r}")
        eas = np.array(items, dtype=np.uint64)
    eas = eas.astype(np.uint64)
    n = len(eas)
    U = np.uint64
    ra = np.zeros(n, dtype=U)
    size = np.zeros(n, dtype=U)
    interrupt = np.zeros(n, dtype=np.uint8)
    cause = np.zeros(n, dtype=np.uint32)
    scalar = np.zeros(n, dtype=bool)  # lanes answered by the scalar translate

    msr = cpu.msr
    hv = bool(msr & C.MSR_HV)
    reloc = bool(msr & (C.MSR_IR if acc == FETCH else C.MSR_DR))
    if not reloc or not cpu.lpcr & C.LPCR_HR:
        scalar[:] = True  # real mode (cheap per lane) or a configuration error
    else:
        snap = _Snapshot(mem)
        seg_ok = (eas & U(C.EA_SEGMENT_CHECK)) == 0
        scalar |= ~seg_ok
        quadrant = eas >> U(62)
        single = _uniform(quadrant) if seg_ok.all() else None
        for q in range(4):
            if single is not None and not isinstance(single, int):
                single = None
            if single is not None:
                if q != single:
                    continue
                lanes = np.arange(n)
            else:
                lanes = np.nonzero(seg_ok & (quadrant == U(q)))[0]
            if not len(lanes):
                continue
            ids = quadrant_ids(cpu, q << 62)
            if ids is None:
                scalar[lanes] = True
                continue
            _batch_group(snap, mem, cpu, acc, hv, ids, eas, lanes, ra, size, scalar)
    for i in np.nonzero(scalar)[0]:
        t = translate(mem, cpu, int(eas[i]), access, update_rc=False)
        if t.fault is None:
            assert t.ra is not None and t.page_size is not None  # a translation has both
            ra[i] = t.ra
            size[i] = t.page_size
        else:
            interrupt[i] = INTERRUPT_CODES[t.fault.interrupt]
            cause[i] = _scalar_cause(t.fault)
    return BatchTranslation(eas=eas, ra=ra, page_size=size, interrupt=interrupt, cause=cause)


def _scalar_cause(fault: Fault) -> int:
    """The cause bits a lane's scalar fault reports: DSISR, else HDSISR, else SRR1's."""
    for value in (fault.dsisr, fault.hdsisr):
        if value is not None:
            return value
    return fault.cause


def _batch_group(
    snap: _Snapshot,
    mem: PhysicalMemory,
    cpu: CpuState,
    acc: int,
    hv: bool,
    ids: tuple[int, int],
    eas: Array,
    lanes: Array,
    ra: Array,
    size: Array,
    scalar: Array,
) -> None:
    """One quadrant's lanes: PATE/PRTE once (scalar), then the vectorised walks."""
    import numpy as np

    U = np.uint64
    lpid, pid = ids
    probe = translate(mem, cpu, int(eas[lanes[0]]), _access_name(acc), update_rc=False)
    if probe.fault is not None and probe.fault.stage in ("partition-table", "process-table"):
        scalar[lanes] = True  # the whole group faults before the tree: scalar answers
        return
    steps = probe.steps
    prte0 = next((s.raw for s in steps if s.tree == "process-table"), None)
    if prte0 is None:
        scalar[lanes] = True
        return
    p_root = RadixRoot.decode(steps[0].raw)  # PATE dw0, the first read
    two_d = lpid != 0 or not hv
    addr = eas[lanes] & U(C.EA_NOQUAD_MASK)
    ok = np.ones(len(lanes), dtype=bool)

    def partition(gra: Array, lanes: Array, access: int) -> tuple[Array, Array]:
        sub_ok = np.ones(len(gra), dtype=bool)
        pte, hra, shift = _walk(snap, gra, p_root, sub_ok)
        sub_ok &= _allowed(pte, access, None)
        ok[lanes[~sub_ok]] = False
        return hra, shift

    def table_xlate(pa: Array, lanes: Array) -> Array:
        return partition(pa, lanes, LOAD)[0]

    pte, gra, shift = _walk(snap, addr, RadixRoot.decode(prte0), ok, table_xlate if two_d else None)
    ok &= _allowed(pte, acc, cpu)
    hra = gra
    if two_d:
        live = np.nonzero(ok)[0]
        sub_hra, sub_shift = partition(gra[live], live, acc)
        hra = gra.copy()
        hra[live] = sub_hra
        shift[live] = np.minimum(shift[live], sub_shift)
    if ok.all() and len(lanes) == len(ra):  # every lane of the whole batch translated
        ra[:] = hra
        size[:] = U(1) << shift.astype(U)
        return
    good = lanes[ok]
    ra[good] = hra[ok]
    size[good] = U(1) << shift[ok].astype(U)
    scalar[lanes[~ok]] = True


def _access_name(acc: int) -> str:
    return {LOAD: "load", STORE: "store", FETCH: "fetch"}[acc]


__all__ = ["ACCESS_TYPES", "BatchTranslation", "INTERRUPT_CODES", "translate_many"]
