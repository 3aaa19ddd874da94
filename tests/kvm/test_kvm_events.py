"""The event log: append-only records, filters, validation of kinds/actors/fields."""

import dataclasses

import pytest

from pynest.errors import ConfigError
from pynest.kvm.events import KINDS, EventLog


def test_append_and_filter():
    log = EventLog()
    a = log.append("hcall", "L1", lpid=1, hcall="H_ENTER_NESTED", hcall_nr=0xF804)
    log.append("exit", "L2", lpid=1, l1_lpid=3, trap=0xE00)
    log.append("hcall-return", "L0", lpid=1, rc=0xE00)
    assert a.seq == 0 and len(log) == 3
    assert log.kinds() == ["hcall", "exit", "hcall-return"]
    assert [e.seq for e in log.filter(lpid=1)] == [0, 1, 2]
    assert [e.kind for e in log.filter(actor="L2")] == ["exit"]
    assert [e.kind for e in log.filter(("hcall", "exit"))] == ["hcall", "exit"]
    assert log.last("exit").trap == 0xE00
    assert log.count("hcall", hcall="H_ENTER_NESTED") == 1
    m = log.mark()
    log.append("resume", "L0")
    assert [e.kind for e in log.since(m)] == ["resume"]
    assert "H_ENTER_NESTED" in str(log) and "trap=0xe00" in str(log)


def test_records_are_frozen_and_log_is_append_only():
    log = EventLog()
    ev = log.append("resume", "L0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.kind = "exit"  # type: ignore[misc]
    snapshot = list(log)
    log.append("resume", "L0")
    assert len(snapshot) == 1


@pytest.mark.parametrize(
    "kind, actor, fields",
    [("nonsense", "L0", {}), ("exit", "L3", {}), ("exit", "L0", {"colour": 1})],
)
def test_bad_records_are_rejected(kind, actor, fields):
    with pytest.raises(ConfigError):
        EventLog().append(kind, actor, **fields)


def test_every_kind_has_a_meaning():
    assert all(isinstance(v, str) and v for v in KINDS.values())
