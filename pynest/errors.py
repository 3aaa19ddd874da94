"""The pynest exception hierarchy.

Architected failures (a fault a guest would take, an H_* return code) are *values* in
pynest. These exceptions are for callers of the Python API who pass something that is not
a valid argument at all: a negative address, a value wider than its field, the wrong type.
Every message names the bad value and says what would be accepted.
"""

from __future__ import annotations


class PynestError(Exception):
    """Base class of every error pynest raises on purpose."""


class AddressError(PynestError, ValueError):
    """An address is negative, too wide, or outside the memory it refers to."""


class AlignmentError(PynestError, ValueError):
    """An address or table base is not aligned as the access or format requires."""


class FieldError(PynestError, ValueError):
    """A value does not fit the bit field it is meant for, or is not an allowed encoding."""


class ConfigError(PynestError, ValueError):
    """A request the model cannot satisfy as asked (tree shape, table size, LPID/PID range)."""


class ArgumentTypeError(PynestError, TypeError):
    """An argument has the wrong Python type (for example a float where an int is needed)."""


def check_int(name: str, value: object, bits: int | None = None, minimum: int = 0) -> int:
    """Return ``value`` if it is an int in ``[minimum, 2**bits)``; raise a clear error if not.

    ``bool`` is rejected because ``True`` as an address is always a mistake.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise AddressError(f"{name} must be >= {minimum:#x}, got {value:#x}")
    if bits is not None and value >> bits:
        raise FieldError(f"{name} must fit in {bits} bits, got {value:#x}")
    return value
