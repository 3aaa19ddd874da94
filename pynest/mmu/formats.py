"""Decode and encode the radix MMU's registers and table entries.

Every record is a frozen dataclass: ``Record.decode(raw)`` names the fields of a raw
value, ``record.encode()`` gives the raw value back (bit for bit, reserved bits included,
so ``X.decode(v).encode() == v`` for every ``v``), and ``str(record)`` prints the fields
the way a student reads them. Layouts: ISA v3.0B Book III, "Radix Tree Translation";
QEMU 7.2 ``target/ppc/mmu-book3s-v3.h`` and ``mmu-radix64.h``; Linux
``asm/book3s/64/{mmu,pgtable,radix}.h``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, NamedTuple, cast

from ..errors import FieldError, check_int
from . import constants as C

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def rts_to_bits(dw: int) -> int:
    """Number of address bits a tree translates: RTS field (RTS1||RTS2) + 31."""
    return (((dw >> 58) & 0x18) | ((dw >> 5) & 0x7)) + 31


def bits_to_rts_field(tree_bits: int) -> int:
    """The RTS1/RTS2 bits of a PATE/PRTE dw0 for a tree of ``tree_bits`` bits (31..62)."""
    v = tree_bits - 31
    if not 0 <= v < 32:
        raise FieldError(f"a radix tree translates 31..62 bits, not {tree_bits}")
    return ((v >> 3) & 3) << 61 | (v & 7) << 5


_new_tuple = tuple.__new__
_RPDB, _RPDS = C.RPDB_MASK, C.RPDS_MASK


class RadixRoot(NamedTuple):
    """The root of a radix tree as a PATE dw0 or PRTE dw0 names it: RPDB (the root
    table's address), RPDS (log2 of its entries) and the bits the tree translates
    (RTS + 31). What :func:`pynest.mmu.walk.walk` starts from; a tuple so the hot walk
    pays nothing to build it."""

    rpdb: int
    rpds: int
    tree_bits: int

    @classmethod
    def decode(cls, dw0: int) -> RadixRoot:
        """The root fields of a PATE/PRTE dw0 (other bits ignored). Built with
        ``tuple.__new__`` (what the generated constructor calls): every walk decodes
        two roots, and this halves what that costs."""
        rts = ((dw0 >> 58) & 0x18) | ((dw0 >> 5) & 0x7)
        return _new_tuple(cls, (dw0 & _RPDB, dw0 & _RPDS, rts + 31))


def _size_text(n: int) -> str:
    for unit, shift in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10} KiB"
    return f"{n} B"


def page_size_text(n: int) -> str:
    """'4K', '64K', '2M', '1G' for the radix page sizes; a readable size otherwise."""
    names = {C.PAGE_4K: "4K", C.PAGE_64K: "64K", C.PAGE_2M: "2M", C.PAGE_1G: "1G"}
    return names.get(n, _size_text(n))


class _Record:
    """Shared printing for records: ``Name(field=value, ...)`` with hex where it helps."""

    __slots__ = ()
    _hex_fields: tuple[str, ...] = ()

    def _field_text(self) -> str:
        parts = []
        for f in fields(cast("DataclassInstance", self)):  # every record is a dataclass
            v = getattr(self, f.name)
            if f.name == "reserved" and not v:
                continue
            if isinstance(v, bool):
                parts.append(f"{f.name}={int(v)}")
            elif f.name in self._hex_fields or f.name == "reserved":
                parts.append(f"{f.name}={v:#x}")
            else:
                parts.append(f"{f.name}={v}")
        return " ".join(parts)


# ------------------------------------------------------------------------------- PTCR
@dataclass(frozen=True, slots=True)
class Ptcr(_Record):
    """Partition Table Control Register (SPR 464): PATB 4:51, PATS 59:63."""

    patb: int
    pats: int
    reserved: int = 0
    _hex_fields = ("patb",)

    @classmethod
    def decode(cls, raw: int) -> Ptcr:
        check_int("PTCR", raw, bits=64)
        return cls(raw & C.PTCR_PATB, raw & C.PTCR_PATS, raw & ~(C.PTCR_PATB | C.PTCR_PATS))

    def encode(self) -> int:
        _fit("PATB", self.patb, C.PTCR_PATB)
        _fit("PATS", self.pats, C.PTCR_PATS)
        _fit_reserved(self.reserved, C.PTCR_PATB | C.PTCR_PATS)
        return self.patb | self.pats | self.reserved

    @property
    def table_bytes(self) -> int:
        """Size of the partition table: 2**(PATS+12) bytes."""
        return 1 << (self.pats + 12)

    @property
    def num_lpids(self) -> int:
        """Entries in the table (16 bytes each): 2**(PATS+8)."""
        return 1 << (self.pats + 8)

    @property
    def aligned(self) -> bool:
        """Whether PATB is naturally aligned to the table size (QEMU ppc64_v3_get_pate)."""
        return self.patb & (self.table_bytes - 1) == 0

    def pate_addr(self, lpid: int) -> int:
        """Host real address of PATE[lpid]: PATB + 16 * LPID."""
        return self.patb + 16 * lpid

    def __str__(self) -> str:
        note = "" if self.aligned else f"; PATB NOT aligned to {_size_text(self.table_bytes)}"
        return (
            f"PTCR {self.encode():#018x}: PATB={self.patb:#x} PATS={self.pats} "
            f"({_size_text(self.table_bytes)} table, LPIDs 0..{self.num_lpids - 1}{note})"
        )


# -------------------------------------------------------------------- table entries
def _tree_text(hr_or_valid: str, rts_bits: int, base: int, size_log2: int) -> str:
    return (
        f"{hr_or_valid}tree {rts_bits} bits, root {base:#x} with 2^{size_log2} entries "
        f"({_size_text(8 << size_log2)})"
    )


@dataclass(frozen=True, slots=True)
class PartitionTableEntry(_Record):
    """Partition-table entry (16 bytes).

    dw0: HR 0, RTS1 1:2, RPDB 4:55, RTS2 56:58, RPDS 59:63 (the partition-scoped tree);
    dw1: PRTB 4:51, PRTS 59:63 (the partition's process table, a guest real address).
    """

    hr: bool
    tree_bits: int
    rpdb: int
    rpds: int
    prtb: int
    prts: int
    reserved: int = 0  # dw0 reserved bits (dw0 bit 3)
    reserved1: int = 0  # dw1 reserved bits (bit 0 "GR" and 52:58)
    _hex_fields = ("rpdb", "prtb", "reserved1")

    _DW0_KNOWN = C.PATE0_HR | C.RTS1_MASK | C.RPDB_MASK | C.RTS2_MASK | C.RPDS_MASK
    _DW1_KNOWN = C.PRTB_MASK | C.PRTS_MASK

    @classmethod
    def decode(cls, dw0: int, dw1: int = 0) -> PartitionTableEntry:
        check_int("PATE dw0", dw0, bits=64)
        check_int("PATE dw1", dw1, bits=64)
        return cls(
            hr=bool(dw0 & C.PATE0_HR),
            tree_bits=rts_to_bits(dw0),
            rpdb=dw0 & C.RPDB_MASK,
            rpds=dw0 & C.RPDS_MASK,
            prtb=dw1 & C.PRTB_MASK,
            prts=dw1 & C.PRTS_MASK,
            reserved=dw0 & ~cls._DW0_KNOWN & (2**64 - 1),
            reserved1=dw1 & ~cls._DW1_KNOWN & (2**64 - 1),
        )

    def encode(self) -> tuple[int, int]:
        """(dw0, dw1)."""
        _fit("RPDB", self.rpdb, C.RPDB_MASK)
        _fit("RPDS", self.rpds, C.RPDS_MASK)
        _fit("PRTB", self.prtb, C.PRTB_MASK)
        _fit("PRTS", self.prts, C.PRTS_MASK)
        _fit_reserved(self.reserved, self._DW0_KNOWN)
        _fit_reserved(self.reserved1, self._DW1_KNOWN)
        dw0 = (C.PATE0_HR if self.hr else 0) | bits_to_rts_field(self.tree_bits)
        dw0 |= self.rpdb | self.rpds | self.reserved
        return dw0, self.prtb | self.prts | self.reserved1

    @property
    def process_table_bytes(self) -> int:
        return 1 << (self.prts + 12)

    @property
    def root(self) -> RadixRoot:
        """The partition-scoped tree's root (what the walk starts from)."""
        return RadixRoot(rpdb=self.rpdb, rpds=self.rpds, tree_bits=self.tree_bits)

    def __str__(self) -> str:
        kind = "radix (HR=1)" if self.hr else "HPT (HR=0: not a radix partition)"
        return (
            f"PATE {kind}: partition-scoped "
            + _tree_text("", self.tree_bits, self.rpdb, self.rpds)
            + f"; process table {self.prtb:#x} ({_size_text(self.process_table_bytes)}, "
            f"PIDs 0..{(self.process_table_bytes >> 4) - 1})"
        )


@dataclass(frozen=True, slots=True)
class PateDw0(_Record):
    """PATE doubleword 0 on its own (what one 8-byte read of a walk sees): HR 0,
    RTS1 1:2, RPDB 4:55, RTS2 56:58, RPDS 59:63 -- the partition-scoped tree."""

    hr: bool
    tree_bits: int
    rpdb: int
    rpds: int
    reserved: int = 0
    _hex_fields = ("rpdb",)

    @classmethod
    def decode(cls, dw0: int) -> PateDw0:
        e = PartitionTableEntry.decode(dw0, 0)
        return cls(e.hr, e.tree_bits, e.rpdb, e.rpds, e.reserved)

    def encode(self) -> int:
        dw0, _ = PartitionTableEntry(
            self.hr, self.tree_bits, self.rpdb, self.rpds, 0, 0, self.reserved
        ).encode()
        return dw0

    def __str__(self) -> str:
        kind = "radix (HR=1)" if self.hr else "HPT (HR=0: not a radix partition)"
        return f"PATE dw0 {kind}: partition-scoped " + _tree_text(
            "", self.tree_bits, self.rpdb, self.rpds
        )


@dataclass(frozen=True, slots=True)
class PateDw1(_Record):
    """PATE doubleword 1 on its own: PRTB 4:51, PRTS 59:63 -- the process table."""

    prtb: int
    prts: int
    reserved: int = 0
    _hex_fields = ("prtb",)

    @classmethod
    def decode(cls, dw1: int) -> PateDw1:
        e = PartitionTableEntry.decode(0, dw1)
        return cls(e.prtb, e.prts, e.reserved1)

    def encode(self) -> int:
        return PartitionTableEntry(
            False, 31, 0, 0, self.prtb, self.prts, 0, self.reserved
        ).encode()[1]

    def __str__(self) -> str:
        size = 1 << (self.prts + 12)
        return (
            f"PATE dw1: process table {self.prtb:#x} ({_size_text(size)}, "
            f"PIDs 0..{(size >> 4) - 1})"
        )


@dataclass(frozen=True, slots=True)
class ProcessTableEntry(_Record):
    """Process-table entry dw0 (radix): RTS1 1:2, RPDB 4:55, RTS2 56:58, RPDS 59:63.

    dw1 is reserved for radix; a PRTE has no valid bit (a zeroed entry describes a
    31-bit tree with a 1-entry root, which the POWER9 shape check rejects).
    """

    tree_bits: int
    rpdb: int
    rpds: int
    reserved: int = 0
    _hex_fields = ("rpdb",)

    _KNOWN = C.RTS1_MASK | C.RPDB_MASK | C.RTS2_MASK | C.RPDS_MASK

    @classmethod
    def decode(cls, dw0: int) -> ProcessTableEntry:
        check_int("PRTE dw0", dw0, bits=64)
        return cls(rts_to_bits(dw0), dw0 & C.RPDB_MASK, dw0 & C.RPDS_MASK, dw0 & ~cls._KNOWN)

    def encode(self) -> int:
        _fit("RPDB", self.rpdb, C.RPDB_MASK)
        _fit("RPDS", self.rpds, C.RPDS_MASK)
        _fit_reserved(self.reserved, self._KNOWN)
        return bits_to_rts_field(self.tree_bits) | self.rpdb | self.rpds | self.reserved

    @property
    def root(self) -> RadixRoot:
        """The process-scoped tree's root (what the walk starts from)."""
        return RadixRoot(rpdb=self.rpdb, rpds=self.rpds, tree_bits=self.tree_bits)

    def __str__(self) -> str:
        return "PRTE: process-scoped " + _tree_text("", self.tree_bits, self.rpdb, self.rpds)


@dataclass(frozen=True, slots=True)
class Pde(_Record):
    """Page directory entry (non-leaf): V 0, L 1 (=0), NLB 4:55, NLS 59:63."""

    valid: bool
    nlb: int
    nls: int
    reserved: int = 0
    _hex_fields = ("nlb",)

    _KNOWN = C.PTE_V | C.PTE_L | C.PDE_NLB | C.PDE_NLS

    @classmethod
    def decode(cls, raw: int) -> Pde:
        check_int("PDE", raw, bits=64)
        if raw & C.PTE_L:
            raise FieldError(f"{raw:#018x} has L=1: it is a PTE (leaf), not a PDE")
        return cls(bool(raw & C.PTE_V), raw & C.PDE_NLB, raw & C.PDE_NLS, raw & ~cls._KNOWN)

    def encode(self) -> int:
        _fit("NLB", self.nlb, C.PDE_NLB)
        _fit("NLS", self.nls, C.PDE_NLS)
        _fit_reserved(self.reserved, self._KNOWN)
        return (C.PTE_V if self.valid else 0) | self.nlb | self.nls | self.reserved

    @property
    def aligned(self) -> bool:
        """NLB naturally aligned to the next table's size (8 << NLS bytes)."""
        return self.nlb & ((8 << self.nls) - 1) == 0

    def __str__(self) -> str:
        if not self.valid:
            return "PDE invalid (V=0)"
        note = "" if self.aligned else " (NLB misaligned: low bits ignored)"
        return (
            f"PDE V=1 -> next table {self.nlb:#x}, 2^{self.nls} entries "
            f"({_size_text(8 << self.nls)}){note}"
        )


_ATT_NAMES = {0x00: "normal", 0x10: "SAO", 0x20: "non-idempotent I/O", 0x30: "tolerant I/O"}


@dataclass(frozen=True, slots=True)
class Pte(_Record):
    """Page table entry (leaf): V 0, L 1, SW0 2, RPN 7:51, SW 52:54, R 55, C 56,
    ATT 58:59, EAA 60:63 (privileged, read, read/write, execute)."""

    valid: bool
    rpn: int
    r: bool = False
    c: bool = False
    priv: bool = False
    read: bool = False
    rw: bool = False
    exec: bool = False
    att: int = 0
    sw0: bool = False
    sw: int = 0
    reserved: int = 0
    _hex_fields = ("rpn", "att", "sw")

    _KNOWN = (
        C.PTE_V | C.PTE_L | C.PTE_SW0 | C.PTE_RPN | C.PTE_SW | C.PTE_R | C.PTE_C | C.PTE_ATT | 0xF
    )

    @classmethod
    def decode(cls, raw: int) -> Pte:
        check_int("PTE", raw, bits=64)
        if not raw & C.PTE_L:
            raise FieldError(f"{raw:#018x} has L=0: it is a PDE (directory), not a PTE")
        return cls(
            valid=bool(raw & C.PTE_V),
            rpn=raw & C.PTE_RPN,
            r=bool(raw & C.PTE_R),
            c=bool(raw & C.PTE_C),
            priv=bool(raw & C.PTE_EAA_PRIV),
            read=bool(raw & C.PTE_EAA_READ),
            rw=bool(raw & C.PTE_EAA_RW),
            exec=bool(raw & C.PTE_EAA_EXEC),
            att=raw & C.PTE_ATT,
            sw0=bool(raw & C.PTE_SW0),
            sw=raw & C.PTE_SW,
            reserved=raw & ~cls._KNOWN,
        )

    def encode(self) -> int:
        _fit("RPN", self.rpn, C.PTE_RPN)
        _fit("ATT", self.att, C.PTE_ATT)
        _fit("SW", self.sw, C.PTE_SW)
        _fit_reserved(self.reserved, self._KNOWN)
        raw = C.PTE_L | self.rpn | self.att | self.sw | self.reserved
        for flag, bit in (
            (self.valid, C.PTE_V),
            (self.r, C.PTE_R),
            (self.c, C.PTE_C),
            (self.priv, C.PTE_EAA_PRIV),
            (self.read, C.PTE_EAA_READ),
            (self.rw, C.PTE_EAA_RW),
            (self.exec, C.PTE_EAA_EXEC),
            (self.sw0, C.PTE_SW0),
        ):
            if flag:
                raw |= bit
        return raw

    @property
    def eaa_text(self) -> str:
        """EAA as 'p r w x' letters, '-' where clear (w means the read/write bit)."""
        return "".join(
            ch if on else "-"
            for ch, on in zip("prwx", (self.priv, self.read, self.rw, self.exec), strict=True)
        )

    def __str__(self) -> str:
        if not self.valid:
            return "PTE invalid (V=0, L=1)"
        return (
            f"PTE V=1 L=1 RPN={self.rpn:#x} R={int(self.r)} C={int(self.c)} "
            f"EAA={self.eaa_text} ATT={_ATT_NAMES[self.att]}"
        )


def decode_entry(raw: int) -> Pde | Pte:
    """A table entry as a PDE (L=0) or a PTE (L=1)."""
    check_int("entry", raw, bits=64)
    return Pte.decode(raw) if raw & C.PTE_L else Pde.decode(raw)


# ---------------------------------------------------------------------- fault causes
@dataclass(frozen=True, slots=True)
class Dsisr(_Record):
    """DSISR / HDSISR / SRR1 cause bits of a storage interrupt, named."""

    value: int
    _hex_fields = ("value",)

    @classmethod
    def decode(cls, raw: int) -> Dsisr:
        check_int("DSISR", raw, bits=64)
        return cls(raw)

    def encode(self) -> int:
        return self.value

    @property
    def flags(self) -> list[str]:
        """Names of the set cause bits, most significant first (unknown bits as 'bitN')."""
        out = []
        for b in range(64):
            mask = 1 << (63 - b)
            if self.value & mask:
                out.append(C.DSISR_NAMES.get(mask, f"bit{b}"))
        return out

    def __str__(self) -> str:
        return f"{self.value:#010x} [{' | '.join(self.flags) or 'no cause bits'}]"


# ---------------------------------------------------------------------- tlbie operands
@dataclass(frozen=True, slots=True)
class TlbieRb(_Record):
    """tlbie/tlbiel RB for radix (R=1): EPN 0:51, IS 52:53, AP 56:58.

    For ``tlbiel`` with IS != 0, RB 40:51 select a TLB congruence class (``set_no``);
    it overlaps EPN and is reported separately, not subtracted from it.
    """

    epn: int
    is_: int
    ap: int
    reserved: int = 0
    _hex_fields = ("epn",)

    _KNOWN = 0xFFFF_FFFF_FFFF_F000 | (3 << 10) | (7 << 5)

    @classmethod
    def decode(cls, raw: int) -> TlbieRb:
        check_int("RB", raw, bits=64)
        return cls(raw & 0xFFFF_FFFF_FFFF_F000, (raw >> 10) & 3, (raw >> 5) & 7, raw & ~cls._KNOWN)

    def encode(self) -> int:
        _fit("EPN", self.epn, 0xFFFF_FFFF_FFFF_F000)
        _fit("IS", self.is_, 3)
        _fit("AP", self.ap, 7)
        _fit_reserved(self.reserved, self._KNOWN)
        return self.epn | self.is_ << 10 | self.ap << 5 | self.reserved

    @property
    def set_no(self) -> int:
        return (self.epn >> 12) & 0xFFF

    @property
    def page_size(self) -> int | None:
        """Page size named by AP, or None for an AP with no page size."""
        return C.PAGE_SIZE_OF_AP.get(self.ap)

    def __str__(self) -> str:
        scope = {0: "one page", 1: "one PID", 2: "one LPID", 3: "everything"}[self.is_]
        size = page_size_text(self.page_size) if self.page_size else "invalid AP"
        return f"RB: EPN={self.epn:#x} IS={self.is_} ({scope}) AP={self.ap} ({size})"


@dataclass(frozen=True, slots=True)
class TlbieRs(_Record):
    """tlbie RS for radix: PID 0:31, LPID 32:63."""

    pid: int
    lpid: int

    @classmethod
    def decode(cls, raw: int) -> TlbieRs:
        check_int("RS", raw, bits=64)
        return cls(raw >> 32, raw & 0xFFFF_FFFF)

    def encode(self) -> int:
        check_int("PID", self.pid, bits=32)
        check_int("LPID", self.lpid, bits=32)
        return self.pid << 32 | self.lpid

    def __str__(self) -> str:
        return f"RS: PID={self.pid} LPID={self.lpid}"


_TLBIE_XO = 306
_TLBIEL_XO = 274


@dataclass(frozen=True, slots=True)
class TlbieInsn(_Record):
    """A tlbie/tlbiel instruction word (X-form, opcode 31): RS 6:10, RIC 12:13,
    PRS 14, R 15, RB 16:20, XO 21:30 (306 tlbie, 274 tlbiel)."""

    rs: int
    rb: int
    ric: int
    prs: int
    r: int
    local: bool = False

    @classmethod
    def decode(cls, word: int) -> TlbieInsn:
        check_int("instruction", word, bits=32)
        if word >> 26 != 31:
            raise FieldError(f"{word:#010x} is not an opcode-31 instruction")
        xo = (word >> 1) & 0x3FF
        if xo not in (_TLBIE_XO, _TLBIEL_XO):
            raise FieldError(f"{word:#010x} has XO {xo}: neither tlbie (306) nor tlbiel (274)")
        return cls(
            rs=(word >> 21) & 0x1F,
            rb=(word >> 11) & 0x1F,
            ric=(word >> 18) & 3,
            prs=(word >> 17) & 1,
            r=(word >> 16) & 1,
            local=xo == _TLBIEL_XO,
        )

    def encode(self) -> int:
        check_int("RS register", self.rs, bits=5)
        check_int("RB register", self.rb, bits=5)
        check_int("RIC", self.ric, bits=2)
        check_int("PRS", self.prs, bits=1)
        check_int("R", self.r, bits=1)
        xo = _TLBIEL_XO if self.local else _TLBIE_XO
        return (
            (31 << 26 | self.rs << 21 | self.ric << 18 | self.prs << 17 | self.r << 16)
            | self.rb << 11
            | xo << 1
        )

    def __str__(self) -> str:
        name = "tlbiel" if self.local else "tlbie"
        return f"{name} r{self.rb},r{self.rs},{self.ric},{self.prs},{self.r}"


def _fit(name: str, value: int, mask: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value & ~mask:
        raise FieldError(f"{name}={value!r} does not fit the field mask {mask:#x}")


def _fit_reserved(value: int, known: int) -> None:
    if not isinstance(value, int) or value < 0 or value >> 64 or value & known:
        raise FieldError(f"reserved bits {value!r} overlap defined fields ({known:#x})")
