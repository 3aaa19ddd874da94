"""Drive ``qemu-system-ppc64 -M powernv9`` as a reference radix MMU, over its gdbstub.

QEMU starts stopped before the first instruction (``-S``) with an empty firmware image
(so RAM is all zeros), and serves the GDB remote protocol on a unix socket in a private
temporary directory (no TCP port). Through it we write RAM and registers, single-step
instructions and read back the registers and memory the MMU changed.

Facts used (QEMU 7.2): register reads need the target description to have been fetched
(``qXfer:features:read:target.xml``); the SPRs are numbered in the order of
``power-spr.xml``; an MSR written by GDB keeps MSR[HV] (``hreg_store_msr`` with
``alter_hv=0``), so guest mode is entered with ``hrfid``; ``mtspr PTCR`` flushes QEMU's
TLB only when the value changes.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

QEMU = "qemu-system-ppc64"
INSTALL_HINT = "install it with: apt-get install qemu-system-ppc (Debian/Ubuntu)"


def qemu_available() -> bool:
    return shutil.which(QEMU) is not None


class GdbRemote:
    """A minimal GDB remote-protocol client (packets ``$data#xx``, acks ``+``)."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.sock.sendall(b"+")

    def close(self) -> None:
        self.sock.close()

    def _packet(self) -> str:
        while True:
            m = re.search(rb"\$([^#]*)#[0-9a-fA-F]{2}", self.buf)
            if m:
                self.buf = self.buf[m.end() :]
                self.sock.sendall(b"+")
                return m.group(1).decode()
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QEMU closed the gdbstub connection")
            self.buf += chunk

    def command(self, payload: str) -> str:
        checksum = sum(payload.encode()) & 0xFF
        self.sock.sendall(f"${payload}#{checksum:02x}".encode())
        return self._packet()

    def read_feature(self, annex: str) -> str:
        out, offset = "", 0
        while True:
            reply = self.command(f"qXfer:features:read:{annex}:{offset:x},fff")
            out += reply[1:]
            offset += len(reply) - 1
            if reply[:1] == "l":
                return out


class PowernvQemu:
    """One stopped POWER9 powernv machine with 1 GiB of zeroed RAM."""

    def __init__(self, ram: str = "1G") -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="pynest-qemu-")
        sock = os.path.join(self.tmp.name, "gdb.sock")
        firmware = Path(self.tmp.name) / "empty.bin"
        firmware.write_bytes(b"")
        cmd = [QEMU, "-M", "powernv9", "-m", ram, "-bios", str(firmware), "-S",
               "-nographic", "-monitor", "none", "-serial", "none",
               "-gdb", f"unix:{sock},server=on,wait=off"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.close()
                raise RuntimeError(f"QEMU did not start: {err.strip()[-500:]}")
            time.sleep(0.02)
        self.gdb: GdbRemote | None = None
        for _ in range(100):
            try:
                self.gdb = GdbRemote(sock)
                break
            except OSError:
                time.sleep(0.05)
        if self.gdb is None:
            self.close()
            raise RuntimeError("could not connect to QEMU's gdbstub")
        self.gdb.command("qSupported:xmlRegisters=i386")
        self.gdb.command("?")
        self.regs = self._register_numbers()

    def _register_numbers(self) -> dict[str, int]:
        assert self.gdb is not None
        target = self.gdb.read_feature("target.xml")
        numbers: dict[str, int] = {}
        n = 0
        for annex in re.findall(r'include href="([^"]+)"', target):
            for attrs in re.findall(r"<reg ([^>]*)/>", self.gdb.read_feature(annex)):
                regnum = re.search(r'regnum="(\d+)"', attrs)
                if regnum:
                    n = int(regnum.group(1))
                numbers[re.search(r'name="([^"]+)"', attrs).group(1)] = n  # type: ignore[union-attr]
                n += 1
        return numbers

    def close(self) -> None:
        if getattr(self, "gdb", None) is not None:
            try:
                self.gdb.close()  # type: ignore[union-attr]
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.tmp.cleanup()

    def __enter__(self) -> PowernvQemu:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ access
    def set_reg(self, name: str, value: int) -> None:
        assert self.gdb is not None
        reply = self.gdb.command(f"P{self.regs[name]:x}={value:016x}")
        if reply != "OK":
            raise RuntimeError(f"writing {name} failed: {reply!r}")

    def reg(self, name: str) -> int:
        assert self.gdb is not None
        return int(self.gdb.command(f"p{self.regs[name]:x}"), 16)

    def write(self, addr: int, data: bytes) -> None:
        """Write memory through the current MSR's translation (use HV real mode)."""
        assert self.gdb is not None
        for pos in range(0, len(data), 1024):
            chunk = data[pos : pos + 1024]
            reply = self.gdb.command(f"M{addr + pos:x},{len(chunk):x}:{chunk.hex()}")
            if reply != "OK":
                raise RuntimeError(f"writing memory at {addr + pos:#x} failed: {reply!r}")

    def read(self, addr: int, n: int) -> bytes:
        assert self.gdb is not None
        reply = self.gdb.command(f"m{addr:x},{n:x}")
        if reply.startswith("E"):
            raise RuntimeError(f"reading memory at {addr:#x} failed: {reply}")
        return bytes.fromhex(reply)

    def step(self) -> None:
        assert self.gdb is not None
        self.gdb.command("s")
