"""An append-only log of what the hypervisors did: records, never prints.

Every hcall, L2 exit, nested page fault, reflection to the L1, shadow-PTE insert and
invalidation is appended here as a frozen :class:`Event`. Tests assert on it, figures
draw timelines from it, and ``str(log)`` prints a readable trace. The log never changes
what it has recorded; filters return new lists.

Names used in records (see DESIGN.md, "name the address space"):

* ``lpid`` -- the L1's own LPID in L0's partition table (``kvm->arch.lpid``);
* ``l2_lpid`` -- the number the *L1* uses for one of its guests (``gp->l1_lpid``);
* ``shadow_lpid`` -- the real LPID L0 allocated for that L2 (``gp->shadow_lpid``);
* ``ea`` an L2 effective address, ``gpa`` an L2 guest real address, ``l1_gpa`` an L1
  guest real address, ``hpa`` a host real address.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

from ..errors import ConfigError

ACTORS = ("L0", "L1", "L2")

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
    l2_lpid: int | None = None
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
            if name in ("lpid", "l2_lpid", "shadow_lpid", "rc"):
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
    """Append-only sequence of :class:`Event` records."""

    def __init__(self) -> None:
        self._events: list[Event] = []

    def append(self, kind: str, actor: str, **values: object) -> Event:
        """Record one event; ``kind`` must be in :data:`KINDS`, ``actor`` in L0/L1/L2."""
        if kind not in KINDS:
            raise ConfigError(f"unknown event kind {kind!r}; known kinds: {sorted(KINDS)}")
        if actor not in ACTORS:
            raise ConfigError(f"actor must be one of {ACTORS}, got {actor!r}")
        unknown = set(values) - _FIELD_NAMES
        if unknown:
            raise ConfigError(f"unknown event fields {sorted(unknown)}")
        ev = Event(len(self._events), kind, actor, **values)  # type: ignore[arg-type]
        self._events.append(ev)
        return ev

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(tuple(self._events))

    def __getitem__(self, i: int) -> Event:
        return self._events[i]

    def mark(self) -> int:
        """A position to pass to :meth:`since` later."""
        return len(self._events)

    def since(self, mark: int) -> list[Event]:
        """Events appended after ``mark``."""
        return self._events[mark:]

    def filter(
        self,
        kind: str | Iterable[str] | None = None,
        actor: str | None = None,
        start: int = 0,
        **match: object,
    ) -> list[Event]:
        """Events of the given kind(s)/actor whose fields equal ``match``."""
        kinds = {kind} if isinstance(kind, str) else (set(kind) if kind is not None else None)
        unknown = set(match) - _FIELD_NAMES
        if unknown:
            raise ConfigError(f"unknown event fields {sorted(unknown)}")
        out = []
        for ev in self._events[start:]:
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
        return [ev.kind for ev in self._events[start:]]

    def count(self, kind: str, **match: object) -> int:
        return len(self.filter(kind, **match))

    def last(self, kind: str | None = None) -> Event | None:
        for ev in reversed(self._events):
            if kind is None or ev.kind == kind:
                return ev
        return None

    def __str__(self) -> str:
        return "\n".join(str(ev) for ev in self._events)
