"""Bad-input audit of the public API (issue 7): every entry point, every kind of bad input.

Each row of :data:`ENTRY_POINTS` names a public entry point, the argument under test and
a call that puts a bad value in that argument. Every bad value must give a
:class:`pynest.errors.PynestError` (never a bare TypeError, KeyError, IndexError, ...)
whose message names the argument and says what would be allowed. The CLI rows check
``pynest.cli.main`` instead: exit status 2 and one line on stderr, no traceback.

``test_audit_size`` prints entry points x bad inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pynest import cli
from pynest import scenarios as W
from pynest.errors import PynestError
from pynest.exercises import generate
from pynest.exercises.base import parse_number
from pynest.kvm.events import EventLog
from pynest.kvm.hcalls import H_SET_PARTITION_TABLE, do_hcall
from pynest.kvm.host import L0, LpidAllocator
from pynest.kvm.l1 import L1, ptb_order_and_ptcr
from pynest.kvm.program import Load, Program
from pynest.memory import PhysicalMemory
from pynest.mmu import (
    Allocator,
    CpuState,
    PartitionTable,
    ProcessTable,
    Ptcr,
    RadixTree,
    Tlb,
    decode_entry,
    translate,
    translate_many,
)
from pynest.mmu.formats import PartitionTableEntry, Pte, TlbieRb

# The kinds of bad input, and their default values (a row may give its own).
BAD = {
    "str": "0x10",
    "float": 1.5,
    "none": None,
    "bool": True,
    "negative": -1,
    "oversize": 2**64,
    "huge": 2**200,
    "unaligned": 0x1001,
    "unknown": "no-such-name",
}
NUMBER = ("str", "float", "none", "bool", "negative", "oversize", "huge")
NAME = ("unknown", "none", "float")

# A message "says what is allowed" when it has one of these.
RANGE_WORDS = re.compile(
    r"must|between|\.\.|one of|choose|at least|at most|multiple|aligned|fit|bits|"
    r"range|beyond|outside|>=|<|expected|known|unsigned|use hex|whole number|0 or more",
    re.I,
)


@dataclass(frozen=True)
class Entry:
    """``call(value)`` puts ``value`` in argument ``arg`` of entry point ``name``."""

    name: str
    arg: str
    call: Callable[[object], object]
    kinds: tuple[str, ...] = NUMBER
    values: tuple[tuple[str, object], ...] = ()  # (kind, value) overriding BAD
    says: str | None = None  # a word the message must contain instead of ``arg``

    def cases(self) -> list[tuple[str, object]]:
        own = dict(self.values)
        return [(k, own.get(k, BAD[k])) for k in self.kinds] + [
            (k, v) for k, v in self.values if k not in self.kinds
        ]


# ----------------------------------------------------------------------------- fixtures
def _mem() -> PhysicalMemory:
    return PhysicalMemory(1 << 24)


def _tree() -> RadixTree:
    return RadixTree(_mem(), Allocator(0x10000, 0x100000))


_WORLD: dict[str, object] = {}


def _one_l1() -> W.World:
    if "w" not in _WORLD:
        _WORLD["w"] = W.one_l1(0)
    return _WORLD["w"]  # type: ignore[return-value]


def _fresh_l1() -> W.World:
    return W.one_l1(0)


def _l2():  # noqa: ANN202
    w = _one_l1()
    if "l2" not in _WORLD:
        _WORLD["l2"] = w.l1.create_l2(4 << 20)
    return w.l1, _WORLD["l2"]


def _exercise():  # noqa: ANN202
    return generate("translate", 1)


# ----------------------------------------------------------------------------- the table
ENTRY_POINTS: list[Entry] = [
    # pynest.memory
    Entry("PhysicalMemory()", "size_bytes", lambda v: PhysicalMemory(v)),
    Entry("PhysicalMemory.read_u64", "addr", lambda v: _mem().read_u64(v), (*NUMBER, "unaligned")),
    Entry(
        "PhysicalMemory.write_u64", "addr", lambda v: _mem().write_u64(v, 1), (*NUMBER, "unaligned")
    ),
    Entry("PhysicalMemory.write_u64", "value", lambda v: _mem().write_u64(0, v)),
    Entry("PhysicalMemory.read", "addr", lambda v: _mem().read(v, 8)),
    Entry("PhysicalMemory.read", "n", lambda v: _mem().read(0, v)),
    Entry(
        "PhysicalMemory.write",
        "data",
        lambda v: _mem().write(0, v),
        ("str", "float", "none", "bool"),
        values=(("str", "abc"),),
    ),
    Entry("PhysicalMemory.read_u8", "addr", lambda v: _mem().read_u8(v)),
    Entry("PhysicalMemory.write_u8", "value", lambda v: _mem().write_u8(0, v)),
    Entry(
        "PhysicalMemory.nonzero_u64",
        "addr",
        lambda v: _mem().nonzero_u64(v, 64),
        (*NUMBER, "unaligned"),
    ),
    # pynest.mmu
    Entry("translate", "ea", lambda v: translate(_mem(), CpuState(), v)),
    Entry("translate", "access", lambda v: translate(_mem(), CpuState(), 0, v), NAME),
    Entry("translate", "mem", lambda v: translate(v, CpuState(), 0), NAME),
    Entry("translate", "cpu", lambda v: translate(_mem(), v, 0), NAME),
    Entry(
        "translate_many",
        "ea",
        lambda v: translate_many(_mem(), CpuState(), [0, v]),
        ("str", "float", "none", "negative", "oversize", "huge"),
    ),
    Entry("translate_many", "access", lambda v: translate_many(_mem(), CpuState(), [0], v), NAME),
    *(
        Entry("CpuState()", reg, lambda v, reg=reg: CpuState(**{reg: v}))
        for reg in ("ptcr", "lpidr", "pidr", "lpcr", "msr", "amr", "iamr", "hrmor")
    ),
    Entry("CpuState.replace", "lpidr", lambda v: CpuState().replace(lpidr=v)),
    Entry("Ptcr.decode", "raw", lambda v: Ptcr.decode(v), says="PTCR"),
    Entry("PartitionTableEntry.decode", "dw0", lambda v: PartitionTableEntry.decode(v)),
    Entry("Pte.decode", "raw", lambda v: Pte.decode(v), says="PTE"),
    Entry("TlbieRb.decode", "raw", lambda v: TlbieRb.decode(v), says="RB"),
    Entry("decode_entry", "raw", lambda v: decode_entry(v), says="entry"),
    Entry("Allocator()", "start", lambda v: Allocator(v, 1 << 20)),
    Entry("Allocator.alloc", "size", lambda v: Allocator(0, 1 << 20).alloc(v)),
    Entry("RadixTree.map", "addr", lambda v: _tree().map(v, 0x200000, 4096, "rw")),
    Entry(
        "RadixTree.map",
        "ra",
        lambda v: _tree().map(0x1000, v, 4096, "rw"),
        (*NUMBER, "unaligned"),
    ),
    Entry(
        "RadixTree.map",
        "size",
        lambda v: _tree().map(0, 0, v, "rw"),
        (*NUMBER, "unaligned"),
        values=(("unaligned", 8192),),
    ),
    Entry("RadixTree.map", "perms", lambda v: _tree().map(0, 0, 4096, v), NAME),
    Entry("RadixTree.lookup", "addr", lambda v: _tree().lookup(v)),
    Entry("RadixTree.unmap", "addr", lambda v: _tree().unmap(v)),
    Entry(
        "RadixTree()",
        "root",
        lambda v: RadixTree(_mem(), Allocator(0x10000, 0x100000), root=v),
        ("str", "float", "bool", "negative", "oversize", "huge", "unaligned"),  # None: allocate
    ),
    Entry(
        "PartitionTable()",
        "base",
        lambda v: PartitionTable(_mem(), v),
        (*NUMBER, "unaligned"),
    ),
    Entry("PartitionTable()", "pats", lambda v: PartitionTable(_mem(), 0, v)),
    Entry(
        "PartitionTable.write_raw", "lpid", lambda v: PartitionTable(_mem(), 0).write_raw(v, 0, 0)
    ),
    Entry("PartitionTable.raw", "lpid", lambda v: PartitionTable(_mem(), 0).raw(v)),
    Entry(
        "ProcessTable()",
        "base",
        lambda v: ProcessTable(_mem(), v),
        (*NUMBER, "unaligned"),
    ),
    Entry("ProcessTable.entry", "pid", lambda v: ProcessTable(_mem(), 0).entry(v)),
    Entry("Tlb.tlbie", "rb", lambda v: Tlb().tlbie(v, 0)),
    Entry("Tlb.tlbie", "ric", lambda v: Tlb().tlbie(0, 0, ric=v)),
    # pynest.kvm
    Entry("L0()", "mem_size", lambda v: L0(mem_size=v)),
    Entry("L0()", "page_shift", lambda v: L0(page_shift=v), (*NUMBER, "unknown")),
    Entry("L0()", "nested_table", lambda v: L0(nested_table=v), NAME),
    Entry("L0.create_l1", "mem_size", lambda v: L0().create_l1(v), (*NUMBER, "unaligned")),
    Entry(
        "L0.create_l1",
        "backing",
        lambda v: L0().create_l1(backing=v),
        ("str", "float", "bool", "negative", "oversize", "huge", "unaligned"),  # None: default
    ),
    Entry("L0.create_l1", "nr_vcpus", lambda v: L0().create_l1(nr_vcpus=v)),
    Entry("do_hcall", "hcall number", lambda v: do_hcall(_one_l1().vm, v), says="hcall"),
    Entry("do_hcall", "r4", lambda v: do_hcall(_one_l1().vm, H_SET_PARTITION_TABLE, v)),
    Entry("do_hcall", "vcpu", lambda v: do_hcall(_one_l1().vm, H_SET_PARTITION_TABLE, 0, vcpu=v)),
    Entry("L1()", "kernel", lambda v: L1(_fresh_l1().vm, kernel=v), NAME),
    Entry("ptb_order_and_ptcr", "kernel", lambda v: ptb_order_and_ptcr(0, v), NAME),
    Entry("L1.create_l2", "mem_size", lambda v: _one_l1().l1.create_l2(v), (*NUMBER, "unaligned")),
    Entry("L1.create_l2", "page_size", lambda v: _one_l1().l1.create_l2(page_size=v)),
    Entry("L1.create_l2", "pid", lambda v: _one_l1().l1.create_l2(pid=v)),
    Entry("L1.l2_map", "ea", lambda v: _l2()[0].l2_map(_l2()[1], v, 0x100000)),
    Entry("L1.l2_map", "gpa", lambda v: _l2()[0].l2_map(_l2()[1], 0x10000, v)),
    Entry("L1.map_l2_page", "gpa", lambda v: _l2()[0].map_l2_page(_l2()[1], v)),
    Entry("L1.unmap_l2_page", "gpa", lambda v: _l2()[0].unmap_l2_page(_l2()[1], v)),
    Entry("L1.run_l2", "vcpu", lambda v: _l2()[0].run_l2(_l2()[1], vcpu=v)),
    Entry("L1.set_ptbl_entry", "lpid", lambda v: _one_l1().l1.set_ptbl_entry(v, 0, 0)),
    Entry("L1.set_ptbl_entry", "dw0", lambda v: _one_l1().l1.set_ptbl_entry(1, v, 0)),
    Entry("Program()", "entry", lambda v: Program((), entry=v)),
    Entry("Program()", "ea", lambda v: Program((Load(v),))),
    Entry("Program()", "ops", lambda v: Program((v,)), NAME),
    Entry("EventLog.append", "kind", lambda v: EventLog().append(v, "L0"), NAME),
    Entry("EventLog.filter", "field", lambda v: EventLog().filter(**{str(v): 1}), ("unknown",)),
    Entry("LpidAllocator()", "nr_lpids", lambda v: LpidAllocator(v)),
    # pynest.exercises
    Entry("exercises.generate", "kind", lambda v: generate(v, 0), NAME),
    Entry("exercises.generate", "seed", lambda v: generate("translate", v)),
    Entry(
        "exercises.parse_number",
        "value",
        lambda v: parse_number(v),
        ("str", "float", "none", "negative", "oversize"),
        values=(("str", "zz"), ("negative", "-5"), ("oversize", hex(2**64))),
    ),
    # pynest.scenarios
    Entry("scenarios.one_l1", "seed", lambda v: W.one_l1(v)),
    Entry("scenarios.one_l1", "page_shift", lambda v: W.one_l1(0, page_shift=v), NAME),
    Entry("scenarios.one_l1", "kernel", lambda v: W.one_l1(0, kernel=v), NAME),
    Entry("scenarios.two_l2s", "page_size", lambda v: W.two_l2s(0, page_size=v)),
    Entry("scenarios.radix_host", "seed", lambda v: W.radix_host(v)),
    Entry("scenarios.migrated_l1", "seed", lambda v: W.migrated_l1(v)),
    Entry("scenarios.direct_translate", "ea", lambda v: W.direct_translate(_l2()[0], _l2()[1], v)),
]

# Exercise.check answers: wrong types give a message (False, text), never an exception.
CHECK_ANSWERS = ("", "not a number!", "0x" + "f" * 40, "-1", None, 1.5, object(), b"\xff")

CLI_CASES: list[tuple[str, list[str]]] = [
    ("ptcr non-number", ["ptcr", "banana"]),
    ("ptcr negative", ["ptcr", "-1"]),
    ("ptcr oversize", ["ptcr", hex(2**64)]),
    ("ptcr missing", ["ptcr"]),
    ("walk non-number", ["walk", "x1"]),
    ("walk oversize", ["walk", hex(2**70)]),
    ("walk unknown scenario", ["walk", "0x1000", "--scenario", "nope"]),
    ("walk KVM scenario", ["walk", "0x1000", "--scenario", "one-l1"]),
    ("walk unknown context", ["walk", "0x1000", "--context", "nope"]),
    ("walk unknown access", ["walk", "0x1000", "--access", "jump"]),
    ("scenario unknown", ["scenario", "nope"]),
    ("exercise unknown kind", ["exercise", "nope"]),
    ("exercise bad seed", ["exercise", "translate", "--seed", "-3"]),
    ("exercise huge seed", ["exercise", "translate", "--seed", hex(2**40)]),
    ("exercise non-number seed", ["exercise", "translate", "--seed", "one"]),
    ("unknown command", ["frobnicate"]),
    ("no command", []),
]

CASES = [
    pytest.param(e, kind, value, id=f"{e.name}-{e.arg}-{kind}")
    for e in ENTRY_POINTS
    for kind, value in e.cases()
]


@pytest.mark.parametrize(("entry", "kind", "value"), CASES)
def test_bad_input_gives_a_pynest_error_naming_the_argument(entry: Entry, kind: str, value):
    with pytest.raises(PynestError) as info:
        entry.call(value)
    msg = str(info.value)
    word = entry.says or entry.arg
    assert word.lower() in msg.lower(), f"{msg!r} does not name {word!r}"
    assert RANGE_WORDS.search(msg), f"{msg!r} does not say what is allowed"


@pytest.mark.parametrize("answer", CHECK_ANSWERS, ids=repr)
def test_exercise_check_answers_garbage_with_feedback(answer):
    ok, feedback = _exercise().check(answer)
    assert ok is False and isinstance(feedback, str) and feedback


@pytest.mark.parametrize(("what", "argv"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_argument_exits_2_with_one_line(what, argv, capsys):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("pynest: error: "), err
    assert "Traceback" not in err + out


def test_audit_size(capsys):
    n_api = len({(e.name, e.arg) for e in ENTRY_POINTS})
    entry_names = {e.name for e in ENTRY_POINTS} | {"Exercise.check", "cli.main"}
    total = len(CASES) + len(CHECK_ANSWERS) + len(CLI_CASES)
    with capsys.disabled():
        print(
            f"\nbad-input audit: {len(entry_names)} entry points ({n_api} entry-point "
            f"arguments + Exercise.check + cli.main) x bad inputs = {total} cases"
        )
    assert total >= 300
