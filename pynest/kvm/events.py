"""An append-only log of what the hypervisors did: records, never prints.

Every hcall, L2 exit, nested page fault, reflection to the L1, shadow-PTE insert and
invalidation is appended here as a frozen :class:`Event`. Tests assert on it, figures
draw timelines from it, and ``str(log)`` prints a readable trace. The log never changes
what it has recorded; filters return new lists.

The log is a ring: it holds the last ``limit`` events (default :data:`DEFAULT_LIMIT`,
far more than any notebook or test appends), so a long run costs bounded memory. Numbering
is global and never reused: an event's ``seq`` is its position among *all* events ever
appended, ``len(log)`` is that count (the next ``seq``), ``log[i]`` is the event whose
``seq`` is ``i``, and ``mark()``/``since()``/``filter(start=...)`` take such positions.
``log.dropped`` events (seq ``0 .. dropped-1``) have left the ring: indexing one raises
IndexError, and ``since`` or ``filter`` from a mark older than the ring return what is
left (compare the mark with ``dropped`` to know whether something was lost), and
``log.appended`` counts every event ever appended per kind, dropped ones included.

Names used in records (see DESIGN.md, "name the address space"):

* ``lpid`` -- the L1's own LPID in L0's partition table (``kvm->arch.lpid``);
* ``l1_lpid`` -- the number the *L1* uses for one of its guests (``gp->l1_lpid``);
* ``shadow_lpid`` -- the real LPID L0 allocated for that L2 (``gp->shadow_lpid``);
* ``ea`` an L2 effective address, ``gpa`` an L2 guest real address, ``l1_gpa`` an L1
  guest real address, ``hpa`` a host real address.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from itertools import islice
from typing import Any

from ..errors import ConfigError, check_int

ACTORS = ("L0", "L1", "L2")

#: Events an :class:`EventLog` keeps by default: 100,000 (about 20 MB). The largest log
#: any unit test or notebook builds held about 10,500 events when this was set (10,541 in
#: the unit suite), so theirs are whole; a long fuzz run keeps its last 100,000.
DEFAULT_LIMIT = 100_000

#: Every kind of event, with a one-line meaning (the vocabulary of timelines).
KINDS: dict[str, str] = {
    "hcall": "an hcall arrives at L0 (kvmppc_pseries_do_hcall)",
    "hcall-return": "L0 puts the hcall's return value in the caller's r3",
    "l1-create": "L0 creates an L1 VM (LPID, memory allotment, partition tree)",
    "l1-destroy": "L0 destroys an L1 VM and everything nested in it",
    "l0-fault-in": "L0 backs a page of L1 memory (kvmppc_book3s_instantiate_page)",
    "l0-unmap": "L0 takes a page of L1 memory away (kvm_unmap_radix)",
    "lpid-alloc": "a hardware LPID is taken from the allocator (kvmppc_alloc_lpid)",
    "lpid-free": "a hardware LPID is returned (kvmppc_free_lpid)",
    "ptbl-set": "an entry of a partition table is written (kvmhv_set_ptbl_entry)",
    "ptbl-cache": "L0 re-reads the L1's partition-table entry (kvmhv_update_ptbl_cache)",
    "set-ptcr": "L0 stores l1_ptcr (kvmhv_set_partition_table)",
    "nested-create": "a nested-guest struct is installed (kvmhv_get_nested, create)",
    "nested-race-lost": "a freshly allocated nested guest lost the install race",
    "nested-get": "a reference is taken (kvmhv_get_nested)",
    "nested-put": "a reference is dropped (kvmhv_put_nested)",
    "nested-remove": "a nested guest leaves the table (kvmhv_remove_nested)",
    "nested-free": "a nested guest is freed (kvmhv_release_nested)",
    "use-after-free": "L0 touches a nested guest it already freed (the model's reading of the "
    "kernel source, e.g. kvmhv_emulate_tlbie_all_lpid; not observed on hardware)",
    "enter": "L0 switches the vcpu to the L2 (kvmhv_enter_nested_guest)",
    "l2-access": "an L2 load/store/fetch that translated",
    "l2-guest-interrupt": "an L2 access faulted in its own (process-scoped) tables",
    "exit": "the L2 stopped running on the CPU (trap number)",
    "nested-fault": "L0 handles an HDSI/HISI from the L2 (kvmhv_nested_page_fault)",
    "reflect": "the exit goes back to the L1 (RESUME_HOST)",
    "resume": "L0 re-enters the L2 without the L1 (RESUME_GUEST)",
    "rc-update": "L0 sets R/C on the L1's behalf (kvmhv_handle_nested_set_rc)",
    "shadow-insert": "a shadow PTE is created (kvmppc_create_pte on the shadow tree)",
    "shadow-remove": "a shadow PTE is removed (kvmppc_unmap_pte)",
    "shadow-flush": "a whole shadow tree is dropped (kvmppc_free_pgtable_radix)",
    "tlbie": "the hardware TLB is invalidated for a shadow LPID",
    "invalidate": "L0 emulates a partition-scoped tlbie (kvmhv_emulate_priv_tlbie)",
    "rmap-insert": "a nested rmap entry is recorded (kvmhv_insert_nest_rmap)",
    "copy": "H_COPY_TOFROM_GUEST moves bytes to/from an L2",
    "l1-map": "the L1 maps a page in its partition-scoped tree for an L2",
    "l1-dirty-log": "the L1 harvests and clears the C bits of its tree for an L2",
    "userspace": "KVM leaves the hcall to userspace (RESUME_HOST); QEMU answers it",
    "l1-unmap": "the L1 unmaps a page of its tree for an L2",
    "l1-handle": "the L1 handles the trap H_ENTER_NESTED returned",
    "error": "a kernel error path (negative errno) ends the L2 run",
}


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. Fields that do not apply are None."""

    seq: int
    kind: str
    actor: str
    lpid: int | None = None
    l1_lpid: int | None = None
    shadow_lpid: int | None = None
    hcall: str | None = None
    hcall_nr: int | None = None
    rc: int | None = None
    trap: int | None = None
    ea: int | None = None
    gpa: int | None = None
    l1_gpa: int | None = None
    hpa: int | None = None
    size: int | None = None
    dsisr: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        parts = [f"{self.seq:4} {self.actor} {self.kind:<18}"]
        for f in fields(self):
            name = f.name
            if name in ("seq", "kind", "actor", "detail", "hcall"):
                continue
            v = getattr(self, name)
            if v is None:
                continue
            if name in ("lpid", "l1_lpid", "shadow_lpid", "rc"):
                parts.append(f"{name}={v}")
            else:
                parts.append(f"{name}={v:#x}")
        if self.hcall is not None:
            parts.insert(1, self.hcall)
        if self.detail:
            parts.append(f"-- {self.detail}")
        return " ".join(parts)


_FIELD_NAMES = frozenset(f.name for f in fields(Event)) - {"seq", "kind", "actor"}


class EventLog:
    """Append-only sequence of :class:`Event` records, keeping the last ``limit``
    (see the module docstring for what numbering means once events were dropped)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = check_int("limit", limit, minimum=1)
        self._events: deque[Event] = deque(maxlen=limit)
        self._appended = 0
        #: events ever appended per kind, dropped ones included
        self.appended: Counter[str] = Counter()

    @property
    def dropped(self) -> int:
        """How many of the oldest events have left the ring (the first held ``seq``)."""
        return self._appended - len(self._events)

    def append(self, kind: str, actor: str, **values: Any) -> Event:
        """Record one event; ``kind`` must be in :data:`KINDS`, ``actor`` in L0/L1/L2."""
        if kind not in KINDS:
            raise ConfigError(f"unknown event kind {kind!r}; known kinds: {sorted(KINDS)}")
        if actor not in ACTORS:
            raise ConfigError(f"actor must be one of {ACTORS}, got {actor!r}")
        unknown = set(values) - _FIELD_NAMES
        if unknown:
            raise ConfigError(f"unknown event fields {sorted(unknown)}")
        ev = Event(self._appended, kind, actor, **values)
        self._events.append(ev)
        self._appended += 1
        self.appended[kind] += 1
        return ev

    def __len__(self) -> int:
        """Events ever appended (the next ``seq``), held or dropped."""
        return self._appended

    def __iter__(self) -> Iterator[Event]:
        """The held events, oldest first."""
        return iter(tuple(self._events))

    def __getitem__(self, i: int | slice) -> Event | list[Event]:
        """The event whose ``seq`` is ``i`` (negative counts from the end, as for a list);
        a slice gives the held events among those positions."""
        n = self._appended
        if isinstance(i, slice):
            return [
                self._events[j - self.dropped] for j in range(*i.indices(n)) if j >= self.dropped
            ]
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError(f"event {i} does not exist: {n} events were appended")
        if j < self.dropped:
            raise IndexError(
                f"event {i} has left the ring (the last {self.limit} of {n} events are kept)"
            )
        return self._events[j - self.dropped]

    def mark(self) -> int:
        """A position to pass to :meth:`since` later (the next event's ``seq``)."""
        return self._appended

    def _from(self, start: int) -> list[Event]:
        """The held events whose ``seq`` >= ``start`` (negative: from the end)."""
        n = self._appended
        if start < 0:
            start = max(n + start, 0)
        count = n - max(start, self.dropped)
        if count <= 0:
            return []
        if count >= len(self._events):
            return list(self._events)
        out = list(islice(reversed(self._events), count))
        out.reverse()
        return out

    def since(self, mark: int) -> list[Event]:
        """Events appended after ``mark``; for a mark older than the ring, those left."""
        return self._from(mark)

    def filter(
        self,
        kind: str | Iterable[str] | None = None,
        actor: str | None = None,
        start: int = 0,
        **match: object,
    ) -> list[Event]:
        """Held events (``seq`` >= ``start``) of the given kind(s)/actor whose fields
        equal ``match``."""
        kinds = {kind} if isinstance(kind, str) else (set(kind) if kind is not None else None)
        unknown = set(match) - _FIELD_NAMES
        if unknown:
            raise ConfigError(f"unknown event fields {sorted(unknown)}")
        out = []
        for ev in self._from(start):
            if kinds is not None and ev.kind not in kinds:
                continue
            if actor is not None and ev.actor != actor:
                continue
            if any(getattr(ev, k) != v for k, v in match.items()):
                continue
            out.append(ev)
        return out

    def kinds(self, start: int = 0) -> list[str]:
        """The sequence of kinds (handy for asserting a flow)."""
        return [ev.kind for ev in self._from(start)]

    def count(self, kind: str, **match: Any) -> int:
        """How many held events match (see :meth:`filter`)."""
        return len(self.filter(kind, **match))

    def last(self, kind: str | None = None) -> Event | None:
        """The newest held event (of ``kind``), if any."""
        for ev in reversed(self._events):
            if kind is None or ev.kind == kind:
                return ev
        return None

    def __str__(self) -> str:
        return "\n".join(str(ev) for ev in self._events)
