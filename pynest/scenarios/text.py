"""Numbers as a learner types them (hex, decimal, binary, octal, ``_`` between digits),
for the worlds' inputs, the explorers' text boxes and the exercises' answers.

Every box holds something: an address, a register image, an identifier such as an LPID,
a count, a seed. :func:`parse_number` takes that as ``kind`` (a key of :data:`KINDS`), so
that a complaint about an LPID speaks of LPIDs and suggests a value an LPID box takes,
never an address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FieldError

_NUMBER_RE = re.compile(r"^(0x[0-9a-f]+|0b[01]+|0o[0-7]+|[0-9]+)$")


@dataclass(frozen=True)
class Kind:
    """What a box holds, as its messages say it: what to ``type`` (with examples of the
    box's own sort) and why a value is never negative."""

    type: str
    unsigned: str


KINDS: dict[str, Kind] = {
    "address": Kind(
        "hex like 0x10000abc or decimal like 268438204",
        "addresses count up from 0",
    ),
    "register": Kind(
        "the register's bits in hex, like 0x1000 (or decimal, like 4096)",
        "a register holds bits, which have no sign",
    ),
    "id": Kind(
        "a whole number like 7 (or hex, like 0x7)",
        "IDs count up from 0",
    ),
    "count": Kind(
        "a whole number like 3",
        "a count cannot be below 0",
    ),
    "seed": Kind(
        "a whole number like 3: the same seed gives the same question",
        "seeds count up from 0",
    ),
    "number": Kind(
        "a whole number like 12 (or hex, like 0xc)",
        "it is 0 or more",
    ),
}
"""The sorts of box :func:`parse_number` knows (``kind=``)."""


def parse_number(text: object, what: str = "value", bits: int = 64, kind: str = "number") -> int:
    """An unsigned number from an int or from text in hex (0x...), binary (0b...),
    octal (0o...) or decimal, with ``_`` and spaces allowed between digits.

    ``what`` names the box (``"LPID"``), ``kind`` says what it holds (a key of
    :data:`KINDS`: ``"address"``, ``"register"``, ``"id"``, ``"count"``, ``"seed"`` or
    ``"number"``). Raises :class:`pynest.errors.FieldError` with a message that says what
    was wrong and what to type instead; never anything else.
    """
    k = KINDS.get(kind)
    if k is None:
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    if isinstance(text, bool):
        raise FieldError(f"{what}: {text!r} is not a number; type {k.type}")
    if isinstance(text, int):
        value = text
    elif isinstance(text, str):
        cleaned = text.strip().lower().replace("_", "").replace(" ", "")
        if not cleaned:
            raise FieldError(f"{what} is empty: type {k.type}, then press Enter")
        if cleaned.startswith("-"):
            raise FieldError(
                f"{what} {text.strip()!r} is negative, but {k.unsigned}: type {k.type}"
            )
        if not _NUMBER_RE.match(cleaned):
            hint = ""
            if re.fullmatch(r"[0-9a-f]+", cleaned):
                hint = f" (if you meant hex, write 0x{cleaned})"
            raise FieldError(f"{what} {text.strip()!r} is not a number{hint}: type {k.type}")
        value = int(cleaned, 0)
    else:
        raise FieldError(f"{what} must be a number or text, got {type(text).__name__}")
    if value < 0:
        raise FieldError(f"{what} {value} is negative, but {k.unsigned}: type {k.type}")
    if value >> bits:
        top = (1 << bits) - 1
        shown = f"{value:#x}" if kind in ("address", "register") else str(value)
        most = f"{top:#x}" if kind in ("address", "register") else f"{top} ({top:#x})"
        raise FieldError(
            f"{what} {shown} is too big: it does not fit in {bits} bits, so the most it can "
            f"be is {most}"
        )
    return value
