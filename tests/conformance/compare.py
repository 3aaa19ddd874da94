"""Run one translation on QEMU and on pynest and list every difference.

The harness code lives at host real 0x1000: ``mtspr PTCR,r7`` then ``mtspr PTCR,r3``
(two different values, so QEMU flushes its TLB), then either the access itself (``ld`` or
``std`` through r4, hypervisor cases) or ``hrfid`` into the guest (guest cases; the access
then runs from guest real ``GUEST_CODE``). A fetch case jumps to the EA with MSR[IR]=1.
After one more step we compare: which interrupt (by the vector QEMU jumped to), its
registers (DSISR, DAR, SRR0/SRR1 cause bits, HDSISR, HDAR, HSRR0/HSRR1, ASDR), the data
(a marker written at pynest's real address must be what the load returns, the store
must land there, the fetched ``li r6`` must run), and every PTE pynest read or updated
(R/C write-backs). Guest cases end with ``sc 1`` back to the hypervisor.

Hypervisor accesses to quadrants 1 and 2 are compared with ``qemu_7_2_quirk=True`` and
also translated the architected way; where the two pynest answers differ, the case is
counted as a known QEMU departure (reported, not hidden).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pynest.memory import PhysicalMemory
from pynest.mmu import LPCR_RADIX_HV, MSR_DR, MSR_HV, MSR_IR, MSR_PR, PTE_L, CpuState, translate

from .qemu_powernv import PowernvQemu
from .random_worlds import GUEST_CODE, Case

HV_REAL_MSR = 0x9000_0000_0000_0000
CODE = 0x1000
MARK_LOAD = 0x1122_3344_5566_7788
MARK_STORE = 0x5555_AAAA_5555_AAAA
LI_R6 = 0x38C0_1234  # addi r6,0,0x1234
LD_R5 = 0xE8A4_0000  # ld r5,0(r4)
STD_R5 = 0xF8A4_0000  # std r5,0(r4)
HRFID = 0x4C00_0224
SC_1 = 0x4400_0022
CAUSE_BITS = 0x783F_0000
VECTORS = {0x300: "DSI", 0x380: "DSEG", 0x400: "ISI", 0x480: "ISEG", 0xE00: "HDSI", 0xE20: "HISI"}
CLEARED = ("dsisr", "dar", "srr0", "srr1", "hdsisr", "hdar", "asdr", "hsrr0", "hsrr1")


def _mtspr_ptcr(reg: int) -> int:
    spr = 464
    return (31 << 26) | (reg << 21) | (((spr & 0x1F) << 5 | spr >> 5) << 11) | (467 << 1)


@dataclass
class Outcome:
    case: Case
    kind: str  # "ok", an interrupt name, or "skipped"
    diffs: list[str] = field(default_factory=list)
    qemu_departure: bool = False


class Comparator:
    """Keeps QEMU's RAM in step with one pynest memory and compares cases."""

    def __init__(self, qemu: PowernvQemu) -> None:
        self.q = qemu
        self.known: set[int] = set()  # doublewords QEMU may hold from earlier worlds

    def load_world(self, mem: PhysicalMemory) -> None:
        q = self.q
        q.set_reg("msr", HV_REAL_MSR)
        current = dict(mem.written())
        for addr in self.known - current.keys():
            q.write(addr, bytes(8))
        for addr, value in sorted(current.items()):
            q.write(addr, value.to_bytes(8, "big"))
        self.known = set(current)

    def _store(self, mem: PhysicalMemory, addr: int, data: bytes) -> None:
        mem.write(addr, data)
        self.q.write(addr, data)
        self.known.update(range(addr & ~7, addr + len(data), 8))

    def _back_to_hv(self, case: Case) -> None:
        q = self.q
        if q.reg("msr") & MSR_HV:
            return
        q.set_reg("msr", case.msr & ~(MSR_IR | MSR_DR | MSR_PR))
        q.set_reg("pc", GUEST_CODE + 4)  # sc 1 (or an HISI): either way back in HV
        q.step()
        if not q.reg("msr") & MSR_HV:
            raise RuntimeError("could not return QEMU to hypervisor state")

    def run(self, mem: PhysicalMemory, ptcr: int, case: Case) -> Outcome:
        q = self.q
        cpu = CpuState(ptcr=ptcr, lpidr=case.lpidr, pidr=case.pidr, msr=case.msr,
                       amr=case.amr, iamr=case.iamr)  # fmt: skip
        hv = bool(case.msr & MSR_HV)
        quirk = hv and (case.ea >> 62) in (1, 2)
        q.set_reg("msr", HV_REAL_MSR)
        insn = STD_R5 if case.access == "store" else LD_R5
        if hv:
            self._store(mem, CODE, struct.pack(">III", _mtspr_ptcr(7), _mtspr_ptcr(3), insn))
        else:
            self._store(mem, CODE, struct.pack(">III", _mtspr_ptcr(7), _mtspr_ptcr(3), HRFID))
            # the harness code goes where the guest's partition tree really puts GUEST_CODE
            code_cpu = cpu.replace(msr=cpu.msr & ~(MSR_IR | MSR_DR))
            code = translate(mem.copy(), code_cpu, GUEST_CODE, "fetch", update_rc=False)
            if not code.ok or code.ra + 8 > mem.size:
                return Outcome(case, "skipped")  # the guest cannot fetch the harness code
            self._store(mem, code.ra, struct.pack(">II", insn, SC_1))
            if case.access != "fetch":
                translate(mem, code_cpu, GUEST_CODE, "fetch")  # its R update, as QEMU does
        predicted = translate(mem.copy(), cpu, case.ea, case.access, update_rc=False,
                              qemu_7_2_quirk=quirk)  # fmt: skip
        beyond_ram = predicted.ok and predicted.ra + 8 > mem.size
        if beyond_ram:
            pass  # no marker can be placed: only the absence of a storage interrupt is checked
        elif predicted.ok and case.access == "fetch":
            self._store(mem, predicted.ra & ~3, LI_R6.to_bytes(4, "big"))
        elif predicted.ok and case.access == "load":
            self._store(mem, predicted.ra, MARK_LOAD.to_bytes(8, "big"))
        t = translate(mem, cpu, case.ea, case.access, qemu_7_2_quirk=quirk)
        departure = False
        if quirk:
            isa = translate(mem.copy(), cpu, case.ea, case.access, update_rc=False)
            departure = (isa.ra, isa.fault) != (predicted.ra, predicted.fault)
        if t.ok and case.access == "store" and not beyond_ram:
            mem.write(t.ra, MARK_STORE.to_bytes(8, "big"))
            self.known.update({t.ra & ~7, (t.ra + 7) & ~7})

        for name in CLEARED + ("hrmor",):
            q.set_reg(name, 0)
        q.set_reg("lpidr", case.lpidr)
        q.set_reg("pid", case.pidr)
        q.set_reg("lpcr", LPCR_RADIX_HV)
        q.set_reg("amr", case.amr)
        q.set_reg("iamr", case.iamr)
        q.set_reg("r7", 0 if ptcr else 0x10000)
        q.set_reg("r3", ptcr)
        q.set_reg("r4", case.ea)
        q.set_reg("r5", MARK_STORE)
        q.set_reg("r6", 0)
        q.set_reg("msr", case.msr & ~(MSR_IR | MSR_PR))
        q.set_reg("pc", CODE)
        q.step()
        q.step()
        start = case.ea if case.access == "fetch" else (CODE + 8 if hv else GUEST_CODE)
        if hv:
            q.set_reg("msr", case.msr if case.access == "fetch" else case.msr & ~MSR_IR)
            q.set_reg("pc", start)
        else:
            q.set_reg("hsrr0", start)
            q.set_reg("hsrr1", case.msr if case.access == "fetch" else case.msr & ~MSR_IR)
            q.step()
            if q.reg("pc") != start:
                self._back_to_hv(case)
                return Outcome(case, "skipped")
            q.set_reg("hsrr0", 0)
            q.set_reg("hsrr1", 0)
        q.step()
        pc = q.reg("pc")
        regs = {name: q.reg(name) for name in CLEARED + ("r5", "r6")}
        self._back_to_hv(case)
        q.set_reg("msr", HV_REAL_MSR)

        if beyond_ram:
            irq = VECTORS.get(pc)
            diffs = [f"QEMU took {irq}, pynest gave {t.ra:#x} (beyond RAM)"] if irq else []
            kind = "ok (beyond RAM)"
            return Outcome(case, kind, diffs, departure)
        diffs = self._compare(t, case, pc, regs, start)
        touched = {u.hra for u in t.rc_updates}
        touched |= {s[4] for s in t.raw_steps if s[5] & PTE_L and s[4] < mem.size}
        for addr in sorted(touched):
            got = int.from_bytes(q.read(addr, 8), "big")
            if got != mem.read_u64(addr):
                diffs.append(
                    f"PTE @ {addr:#x}: QEMU {got:#018x}, pynest {mem.read_u64(addr):#018x}"
                )
        if diffs:  # put QEMU's RAM back in step with pynest's before the next case
            self.known |= {a for a, _ in mem.written()}
            self.load_world(mem)
        kind = t.fault.interrupt if t.fault else "ok"
        return Outcome(case, kind, diffs, departure)

    def _compare(self, t, case: Case, pc: int, regs: dict[str, int], start: int) -> list[str]:
        q_irq = VECTORS.get(pc)
        if t.fault is None:
            if q_irq:
                return [f"QEMU took {q_irq}, pynest translated to {t.ra:#x}"]
            if pc != start + 4:
                return [f"QEMU stopped at {pc:#x}, expected {start + 4:#x}"]
            if case.access == "load" and regs["r5"] != MARK_LOAD:
                return [f"load returned {regs['r5']:#x}: QEMU read elsewhere than {t.ra:#x}"]
            if case.access == "fetch" and regs["r6"] != 0x1234:
                return [f"fetched instruction did not run: QEMU fetched elsewhere than {t.ra:#x}"]
            if case.access == "store":
                got = int.from_bytes(self.q.read(t.ra, 8), "big")
                if got != MARK_STORE:
                    return [f"store did not land at {t.ra:#x}"]
            return []
        f = t.fault
        if q_irq != f.interrupt:
            return [f"QEMU {q_irq or f'stopped at {pc:#x}'}, pynest {f.interrupt}"]
        expected = {
            "DSI": {"dsisr": f.dsisr, "dar": f.dar},
            "DSEG": {"dar": f.dar},
            "ISI": {"srr0": f.srr0, "srr1": f.cause},
            "ISEG": {"srr0": f.srr0},
            "HDSI": {"hdsisr": f.hdsisr, "hdar": f.hdar, "asdr": f.asdr},
            "HISI": {"hsrr0": f.hsrr0, "hsrr1": f.cause, "asdr": f.asdr},
        }[f.interrupt]
        diffs = []
        for name, want in expected.items():
            got = regs[name] & CAUSE_BITS if name in ("srr1", "hsrr1") else regs[name]
            if got != want:
                diffs.append(f"{name.upper()}: QEMU {got:#x}, pynest {want:#x}")
        return diffs
