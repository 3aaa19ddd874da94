"""The L2's instructions: a small deterministic :class:`Program` of loads, stores, hcalls
and time passing, one op per instruction address (``entry + 4*i``).

**Modelling simplification.** Instruction words are not decoded from memory: the op at
an address comes from the Program the L1 attached to that L2 (its "instruction
memory"), but the fetch is still translated and can fault like a real one
(:mod:`pynest.kvm.run`). Records only: no behaviour beyond validating their operands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ArgumentTypeError, ConfigError, FieldError, check_int

if TYPE_CHECKING:
    pass


# ------------------------------------------------------------------ programs
def _check_register(name: str, value: object) -> None:
    """A 64-bit register value, written signed (-2**63..-1) or unsigned (0..2**64-1)."""
    number = check_int(name, value, minimum=-(1 << 63))
    if number >= 1 << 64:
        raise FieldError(f"{name} must fit in 64 bits, got {number:#x}")


@dataclass(frozen=True, slots=True)
class Load:
    """Load the doubleword at ``ea`` into GPR ``rt`` (``ld rt``: 0..31)."""

    ea: int
    rt: int = 3

    def __post_init__(self) -> None:
        check_int("Load ea", self.ea, bits=64)
        check_int("Load rt", self.rt)
        if self.rt > 31:
            raise FieldError(f"Load rt must be a GPR number 0..31, got {self.rt}")


@dataclass(frozen=True, slots=True)
class Store:
    """Store the doubleword ``value`` at ``ea`` (a signed or unsigned 64-bit value)."""

    ea: int
    value: int = 0

    def __post_init__(self) -> None:
        check_int("Store ea", self.ea, bits=64)
        _check_register("Store value", self.value)


@dataclass(frozen=True, slots=True)
class Hcall:
    """``sc 1``: r3 = ``nr``, r4.. = ``args`` (at most 9: r4..r12); goes to the L1
    (trap 0xC00)."""

    nr: int
    args: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_int("Hcall nr", self.nr, bits=64)
        if not isinstance(self.args, tuple):
            raise ArgumentTypeError(
                f"Hcall args must be a tuple of ints, got {type(self.args).__name__}"
            )
        if len(self.args) > 9:
            raise FieldError(f"Hcall args go in r4..r12: at most 9, got {len(self.args)}")
        for i, a in enumerate(self.args):
            _check_register(f"Hcall r{4 + i}", a)


@dataclass(frozen=True, slots=True)
class Spin:
    """Compute for ``ticks`` timebase ticks (lets the L1's HDEC deadline pass): a whole
    number >= 0, since the timebase only moves forward."""

    ticks: int = 1

    def __post_init__(self) -> None:
        check_int("Spin ticks", self.ticks, bits=64)


Op = Load | Store | Hcall | Spin


@dataclass(frozen=True, slots=True)
class Program:
    """Ops at ``entry``, ``entry + 4``, ...; ``fetch`` translates each instruction fetch."""

    ops: tuple[Op, ...]
    entry: int = 0
    fetch: bool = True

    def __post_init__(self) -> None:
        check_int("entry", self.entry, bits=64)
        for op in self.ops:
            if not isinstance(op, (Load, Store, Hcall, Spin)):
                raise ConfigError(
                    f"ops must be L2 ops (one of Load, Store, Hcall, Spin), got {op!r}"
                )

    def op_at(self, nip: int) -> Op | None:
        off = nip - self.entry
        if off < 0 or off & 3 or off >> 2 >= len(self.ops):
            return None
        return self.ops[off >> 2]
