"""Physical memory: sparse, big-endian, with an access log.

All radix table entries are big-endian doublewords in real memory whatever MSR[LE]
says (ISA v3.0B Book III, radix tree translation), so pynest stores memory as a dict
from doubleword-aligned address to a 64-bit integer. Never-written memory reads as zero.

Two kinds of access exist:

* the *API* (``read``, ``write``, ``read_u64``, ``write_u64``): for people and tests.
  Bad arguments raise :mod:`pynest.errors` exceptions naming the value.
* the *bus* (``load64``, ``store64``): what the MMU's table walker uses. Like QEMU's
  ``ldq_phys`` on unassigned memory, a read beyond the end gives 0 and a write beyond
  the end is dropped, so a hostile table pointer yields a fault, never a Python error.
  Bus accesses are recorded in the access log when one is open.

A fast table walker may skip ``load64`` and read the word map itself: :meth:`bus_words`
gives it (read-only) while no access log is open, None while one is, so a logged walk
is always recorded. :meth:`written` lists the contents in address order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import AddressError, AlignmentError, ArgumentTypeError, check_int

U64_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Access:
    """One bus access: ``kind`` is "read" or "write", ``addr`` a host real address."""

    kind: str
    addr: int
    value: int
    in_range: bool

    def __str__(self) -> str:
        where = "" if self.in_range else " (beyond memory)"
        return f"{self.kind:5} {self.addr:#018x} = {self.value:#018x}{where}"


class PhysicalMemory:
    """Sparse host physical memory of ``size_bytes`` bytes (a multiple of 8)."""

    __slots__ = ("size", "_dw", "_log", "_frames")

    def __init__(self, size_bytes: int) -> None:
        check_int("size_bytes", size_bytes, bits=60, minimum=8)
        if size_bytes % 8:
            raise AlignmentError(f"size_bytes must be a multiple of 8, got {size_bytes:#x}")
        self.size = size_bytes
        self._dw: dict[int, int] = {}
        # 4 KiB frame -> addresses of its non-zero doublewords, so that nonzero_u64 on a
        # table costs what the table holds, not its size (the isolation check scans many)
        self._frames: dict[int, set[int]] = {}
        self._log: list[Access] | None = None

    def __repr__(self) -> str:
        return f"PhysicalMemory(size={self.size:#x}, {len(self._dw)} doublewords written)"

    # ------------------------------------------------------------------ API
    def _check_range(self, addr: int, n: int) -> None:
        check_int("addr", addr)
        check_int("n", n)
        if addr + n > self.size:
            raise AddressError(
                f"access of n={n} bytes at addr {addr:#x} runs past the end of memory: "
                f"addr + n must be at most the size {self.size:#x}"
            )

    def read_u64(self, addr: int) -> int:
        """Big-endian doubleword at ``addr`` (8-byte aligned, inside memory)."""
        self._check_range(addr, 8)
        if addr & 7:
            raise AlignmentError(f"read_u64 needs an 8-byte aligned address, got {addr:#x}")
        return self._dw.get(addr, 0)

    def write_u64(self, addr: int, value: int) -> None:
        """Store ``value`` (0 <= value < 2**64) big-endian at ``addr`` (8-byte aligned)."""
        self._check_range(addr, 8)
        if addr & 7:
            raise AlignmentError(f"write_u64 needs an 8-byte aligned address, got {addr:#x}")
        check_int("value", value, bits=64)
        self._set(addr, value)

    def read(self, addr: int, n: int) -> bytes:
        """``n`` bytes starting at ``addr``, any alignment."""
        self._check_range(addr, n)
        out = bytearray()
        first = addr & ~7
        for dw_addr in range(first, addr + n, 8):
            out += self._dw.get(dw_addr, 0).to_bytes(8, "big")
        start = addr - first
        return bytes(out[start : start + n])

    def write(self, addr: int, data: bytes) -> None:
        """Store ``data`` starting at ``addr``, any alignment."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ArgumentTypeError(f"data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        self._check_range(addr, len(data))
        if not addr & 7 and not len(data) & 7:  # whole doublewords (zeroing a table)
            if not any(data):
                words = self._dw
                for dw_addr in range(addr, addr + len(data), 8):
                    if dw_addr in words:
                        self._set(dw_addr, 0)
                return
            for off in range(0, len(data), 8):
                self._set(addr + off, int.from_bytes(data[off : off + 8], "big"))
            return
        pos = 0
        while pos < len(data):
            a = addr + pos
            dw_addr = a & ~7
            off = a - dw_addr
            take = min(8 - off, len(data) - pos)
            buf = bytearray(self._dw.get(dw_addr, 0).to_bytes(8, "big"))
            buf[off : off + take] = data[pos : pos + take]
            self._set(dw_addr, int.from_bytes(buf, "big"))
            pos += take

    def read_u8(self, addr: int) -> int:
        """One byte at ``addr``."""
        return self.read(addr, 1)[0]

    def write_u8(self, addr: int, value: int) -> None:
        """Store one byte at ``addr``."""
        check_int("value", value, bits=8)
        self.write(addr, bytes([value]))

    def _set(self, dw_addr: int, value: int) -> None:
        if value:
            if dw_addr not in self._dw:
                self._frames.setdefault(dw_addr >> 12, set()).add(dw_addr)
            self._dw[dw_addr] = value
        elif self._dw.pop(dw_addr, None) is not None:
            frame = self._frames[dw_addr >> 12]
            frame.discard(dw_addr)
            if not frame:
                del self._frames[dw_addr >> 12]

    def nonzero_u64(self, addr: int, size: int) -> list[tuple[int, int]]:
        """(address, value) of every non-zero doubleword in ``[addr, addr + size)``, in
        address order: the live entries of a table in one call (``addr`` 8-byte aligned,
        the range inside memory)."""
        self._check_range(addr, size)
        if addr & 7:
            raise AlignmentError(f"nonzero_u64 needs an 8-byte aligned address, got {addr:#x}")
        end = addr + size
        frames = self._frames
        found: list[int] = []
        for frame in range(addr >> 12, ((end - 1) >> 12) + 1):
            held = frames.get(frame)
            if held:
                found += [a for a in held if addr <= a < end]
        found.sort()
        words = self._dw
        return [(a, words[a]) for a in found]

    def written(self) -> Iterator[tuple[int, int]]:
        """(address, value) of every non-zero doubleword, in address order."""
        for addr in sorted(self._dw):
            yield addr, self._dw[addr]

    def copy(self) -> PhysicalMemory:
        """An independent copy (same size and contents, no log)."""
        other = PhysicalMemory(self.size)
        other._dw = dict(self._dw)
        other._frames = {frame: set(held) for frame, held in self._frames.items()}
        return other

    # ------------------------------------------------------------------ bus
    def bus_words(self) -> dict[int, int] | None:
        """The word map for a bus reader that inlines ``load64``, or None while an access
        log is open (then every read must go through ``load64`` to be recorded).

        Keys are 8-byte aligned addresses inside memory, values non-zero doublewords; an
        absent key reads 0, as ``load64`` does. The map is live and must not be written:
        stores go through ``store64`` (or the API) so the frame index stays right."""
        return self._dw if self._log is None else None

    def load64(self, addr: int) -> int:
        """Bus read of the doubleword at ``addr & ~7``; 0 beyond the end of memory."""
        addr &= ~7
        in_range = 0 <= addr < self.size
        value = self._dw.get(addr, 0) if in_range else 0
        if self._log is not None:
            self._log.append(Access(kind="read", addr=addr, value=value, in_range=in_range))
        return value

    def store64(self, addr: int, value: int) -> None:
        """Bus write of a doubleword; dropped beyond the end of memory."""
        addr &= ~7
        in_range = 0 <= addr < self.size
        if in_range:
            self._set(addr, value & U64_MASK)
        if self._log is not None:
            self._log.append(
                Access(kind="write", addr=addr, value=value & U64_MASK, in_range=in_range)
            )

    @contextmanager
    def access_log(self) -> Iterator[list[Access]]:
        """Record every bus access made inside the ``with`` block into the yielded list."""
        saved = self._log
        log: list[Access] = []
        self._log = log
        try:
            yield log
        finally:
            self._log = saved
