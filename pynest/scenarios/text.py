"""Numbers as a learner types them (hex, decimal, binary, octal, ``_`` between digits),
for the worlds' inputs, the explorers' text boxes and the exercises' answers."""

from __future__ import annotations

import re

from ..errors import FieldError

_NUMBER_RE = re.compile(r"^(0x[0-9a-f]+|0b[01]+|0o[0-7]+|[0-9]+)$")


def parse_number(text: object, what: str = "value", bits: int = 64) -> int:
    """An unsigned number from an int or from text in hex (0x...), binary (0b...),
    octal (0o...) or decimal, with ``_`` and spaces allowed between digits.

    Raises :class:`pynest.errors.FieldError` with a message that says what was wrong
    and what would be accepted; never anything else.
    """
    if isinstance(text, bool):
        raise FieldError(f"{what}: {text!r} is not a number")
    if isinstance(text, int):
        value = text
    elif isinstance(text, str):
        cleaned = text.strip().lower().replace("_", "").replace(" ", "")
        if not cleaned:
            raise FieldError(f"{what} is empty: type a number such as 0x10000abc or 268438204")
        if cleaned.startswith("-"):
            raise FieldError(f"{what} {text.strip()!r} is negative: addresses are unsigned")
        if not _NUMBER_RE.match(cleaned):
            hint = ""
            if re.fullmatch(r"[0-9a-f]+", cleaned):
                hint = f" (if you meant hex, write 0x{cleaned})"
            raise FieldError(
                f"{what} {text.strip()!r} is not a number{hint}: use hex like 0x10000abc "
                "or decimal like 268438204"
            )
        value = int(cleaned, 0)
    else:
        raise FieldError(f"{what} must be a number or text, got {type(text).__name__}")
    if value < 0:
        raise FieldError(f"{what} {value} is negative: addresses are unsigned")
    if value >> bits:
        raise FieldError(f"{what} {value:#x} does not fit in {bits} bits")
    return value
