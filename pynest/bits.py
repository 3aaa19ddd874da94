"""ISA bit numbering helpers.

The Power ISA numbers bits MSB-0: bit 0 is the most significant bit of a 64-bit
doubleword and bit 63 the least significant. ``ibm_mask(4, 51)`` is therefore the mask
of PTCR[PATB] (``0x0FFF_FFFF_FFFF_F000``).
"""

from __future__ import annotations

from .errors import FieldError


def ibm_bit(b: int, width: int = 64) -> int:
    """Mask of ISA bit ``b`` in a ``width``-bit register (MSB-0 numbering)."""
    if not 0 <= b < width:
        raise FieldError(f"bit {b} is outside a {width}-bit register")
    return 1 << (width - 1 - b)


def ibm_mask(first: int, last: int, width: int = 64) -> int:
    """Mask of ISA bits ``first:last`` inclusive in a ``width``-bit register."""
    if not 0 <= first <= last < width:
        raise FieldError(f"bits {first}:{last} are not a field of a {width}-bit register")
    return ((1 << (last - first + 1)) - 1) << (width - 1 - last)


def ibm_field(value: int, first: int, last: int, width: int = 64) -> int:
    """Extract ISA bits ``first:last`` of ``value`` as an unsigned number."""
    return (value & ibm_mask(first, last, width)) >> (width - 1 - last)


def ibm_set_field(value: int, first: int, last: int, field: int, width: int = 64) -> int:
    """Return ``value`` with ISA bits ``first:last`` replaced by ``field`` (which must fit)."""
    nbits = last - first + 1
    if field < 0 or field >> nbits:
        raise FieldError(f"{field:#x} does not fit in the {nbits}-bit field {first}:{last}")
    mask = ibm_mask(first, last, width)
    return (value & ~mask) | (field << (width - 1 - last))


def ibm_bits_set(value: int, width: int = 64) -> list[int]:
    """ISA numbers of the bits that are 1 in ``value``, most significant first."""
    return [b for b in range(width) if value & (1 << (width - 1 - b))]
