"""Which kernel did what: the one table of versioned behaviour in pynest.

The nested-HV series was merged for Linux 4.20; the next merge window ("4.21", released
as 5.0) fixed dirty tracking for nested guests, let an L1 pass an emulated device
through to its L2 and added H_COPY_TOFROM_GUEST. Where the model behaves differently by
version, the code asks :func:`has` (``has(l0.kernel, "nested-rc")``) and this table
says why; notebooks and docstrings print rows from it (:func:`row`, :func:`table_text`)
instead of retyping dates.

Every row was checked against the source of the versions it names: the 4.20.1 and
5.0.1 release trees (``arch/powerpc/kvm/book3s_hv_nested.c``, ``book3s_hv.c``,
``arch/powerpc/include/asm/hvcall.h``). Patch titles are those of the kvm-ppc-next
pulls for 4.20 and 4.21. ``tests/kvm/test_versions.py`` runs each row's behaviour under
the kernels before and after it and checks the difference.

The third L0 kernel, ``"5.14"``, is there for the two H_ENTER_NESTED sanitisations of
2021 (rows ``nested-lpcr-filter``, 5.13, and ``nested-tm-sanitise``, 5.14; read in the
5.14.2 tree, absent from 5.12.9): the model's 5.14 does those two checks as 5.14 does
and otherwise behaves like 5.0 (it is not a model of the rest of 5.14, e.g. its
hv_guest_state version 2 or the 5.11 pt_regs size).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

#: The kernels the L0 model can be: the merged series, the release that fixed it, and
#: 5.14 for the later H_ENTER_NESTED sanitisations (otherwise it behaves like 5.0).
L0_KERNELS = ("4.20", "5.0", "5.14")
#: The kernels the L1 model can be (5.19 changes how kvmhv_nested_init sizes its table).
L1_KERNELS = ("4.20", "5.0", "5.19")
DEFAULT_KERNEL = "4.20"


def version_key(kernel: str) -> tuple[int, ...]:
    """``"4.20"`` -> ``(4, 20)``: versions compare numerically, not as text."""
    return tuple(int(part) for part in kernel.split("."))


def check_kernel(kernel: object, allowed: tuple[str, ...] = L0_KERNELS) -> str:
    """``kernel`` if it names a modelled version, else a ConfigError listing them."""
    if not isinstance(kernel, str) or kernel not in allowed:
        choices = ", ".join(repr(k) for k in allowed)
        raise ConfigError(f"kernel must be one of {choices}, got {kernel!r}")
    return kernel


@dataclass(frozen=True, slots=True)
class VersionedBehaviour:
    """One behaviour that appeared in a given kernel.

    ``since`` is the first release with it, ``patch`` the title of the patch that
    brought it, ``function`` the kernel function where it lives, ``before`` what the
    code did until then (or, for a 4.20 row, what the reviewed v2 series did).
    """

    key: str
    behaviour: str
    since: str
    patch: str
    function: str
    before: str

    def __str__(self) -> str:
        return f"{self.key} (Linux {self.since}): {self.behaviour}\n    patch: {self.patch}"


BEHAVIOURS: tuple[VersionedBehaviour, ...] = (
    VersionedBehaviour(
        key="set-ptbl-flush",
        behaviour=(
            "an L1's kvmhv_set_ptbl_entry() stores the entry big-endian, then calls "
            "kvmhv_flush_lpid(): H_TLB_INVALIDATE with RIC=2 PRS=0 R=1, RS = lpid, "
            "RB = TLBIEL_INVAL_SET_LPID (IS=2)"
        ),
        since="4.20",
        patch="KVM: PPC: Book3S HV: Use hypercalls for TLB invalidation when nested",
        function="kvmhv_set_ptbl_entry (book3s_hv_nested.c)",
        before=(
            "v2 of patch 18 (Sep 2018, reviewed, never released) issued a raw tlbie "
            "RIC=2 for L0 to emulate; no released kernel stores without flushing"
        ),
    ),
    VersionedBehaviour(
        key="nested-rc",
        behaviour=(
            "a shadow PTE gets R only if the L1's PTE has R, and C only if the L1's "
            "PTE has C and the fault is a write, so an L2 store to a page the L1 sees "
            "clean raises SET_RC and the L1 sets its C bit (its dirty log sees it)"
        ),
        since="5.0",
        patch="KVM: PPC: Book3S HV: Apply combination of host and l1 pte rc for nested guest",
        function="__kvmhv_nested_page_fault (book3s_hv_nested.c)",
        before=(
            "only _PAGE_READ/_PAGE_WRITE/_PAGE_EXEC were taken from the L1's PTE; R and C "
            "came from L0's own PTE, so an L2 store through a shadow PTE that took C from "
            "L0 never reached the L1's C bit"
        ),
    ),
    VersionedBehaviour(
        key="rmap-gfn-aligned",
        behaviour=(
            "the nest rmap entry of a shadow PTE is filed under the first L1 frame of "
            "the host page (gfn aligned down to the PTE's size)"
        ),
        since="5.0",
        patch=("KVM: PPC: Book3S HV: Align gfn to L1 page size when inserting nest-rmap entry"),
        function="__kvmhv_nested_page_fault (book3s_hv_nested.c)",
        before=(
            "filed under the frame of the faulting address (gpte.raddr >> PAGE_SHIFT), "
            "which for a large page is not the frame L0 later looks up"
        ),
    ),
    VersionedBehaviour(
        key="nested-mmio",
        behaviour=(
            "an L2 access to an L1 address with no memslot (a device QEMU emulates for "
            "the L1) is emulated MMIO: L0 exits to userspace and H_ENTER_NESTED "
            "returns H_TOO_HARD (the L1 sees r3 = 0 and re-enters)"
        ),
        since="5.0",
        patch="KVM: PPC: Book3S HV: Allow passthrough of an emulated device to an L2 guest",
        function="__kvmhv_nested_page_fault (book3s_hv_nested.c)",
        before=(
            'pr_err("emulated MMIO passthrough?") and -EINVAL: the run ends and the L1 '
            "gets the HDSI back unresolved"
        ),
    ),
    VersionedBehaviour(
        key="h-copy-tofrom-guest",
        behaviour=(
            "H_COPY_TOFROM_GUEST (0xF80C) lets an L1 read or write its L2's memory by L2 "
            "effective address (quadrants 1 and 2 with the shadow LPID)"
        ),
        since="5.0",
        patch=(
            "KVM: PPC: Book3S: Introduce new hcall H_COPY_TOFROM_GUEST to access quadrants 1 & 2"
        ),
        function="kvmhv_copy_tofrom_guest_nested (book3s_hv_nested.c)",
        before=(
            "0xF80C is no KVM hcall: kvmppc_pseries_do_hcall() returns RESUME_HOST and "
            "userspace (QEMU) answers H_FUNCTION"
        ),
    ),
    VersionedBehaviour(
        key="nested-lpcr-filter",
        behaviour=(
            "sanitise_hv_regs() composes the L2's LPCR and passes it through "
            "kvmppc_filter_lpcr_hv(): for a (radix) L1 on POWER9 TC is cleared and an AIL "
            "of 1 or 2 becomes 0 (AIL=3 and LD stay); the L2 runs with that LPCR and the "
            "hv_guest_state written back holds it. (The model's 5.14 L0 does this and the "
            "TM check; otherwise it behaves like 5.0.)"
        ),
        since="5.13",
        patch=(
            "KVM: PPC: Book3S HV: Add a function to filter guest LPCR bits (with "
            '"Nested move LPCR sanitising to sanitise_hv_regs", "Disallow LPCR[AIL] to '
            'be set to 1 or 2", "Prevent radix guests setting LPCR[TC]"; powerpc-5.13-1)'
        ),
        function="kvmppc_filter_lpcr_hv (book3s_hv.c), from sanitise_hv_regs (book3s_hv_nested.c)",
        before=(
            "kvmhv_enter_nested_guest() took DPFD, ILE, TC, AIL, LD, LPES and MER from the "
            "L1 as they were: an L2 could run with LPCR[TC] set or AIL = 1 or 2, and the "
            "L1's own lpcr came back unchanged in hv_guest_state"
        ),
    ),
    VersionedBehaviour(
        key="nested-tm-sanitise",
        behaviour=(
            "H_ENTER_NESTED returns H_BAD_MODE when the L1 is in TM Transactional state "
            "(before reading anything) and, after the vcpu_token check, when the L2 MSR's "
            "TS does not match the L1's: an L1 in Suspended state must give an L2 MSR "
            "with TS != 0, any other L1 one with TS = 0 (an L1 TS of 0b11 is refused too). "
            "(The model's 5.14 L0 does this and the LPCR filter; otherwise it behaves like "
            "5.0.)"
        ),
        since="5.14",
        patch="KVM: PPC: Book3S HV Nested: Sanitise H_ENTER_NESTED TM state",
        function="kvmhv_enter_nested_guest (book3s_hv_nested.c)",
        before=(
            "the L2 MSR was loaded whatever its TS (the L0's HRFID could take a TM Bad "
            "Thing); on return the L1's MSR[TS] became Suspended if the L2's TS was "
            "non-zero, else Non-transactional (as it still does)"
        ),
    ),
)

_BY_KEY = {b.key: b for b in BEHAVIOURS}


def row(key: str) -> VersionedBehaviour:
    """The row for ``key`` (a ConfigError names the keys there are)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ConfigError(
            f"no versioned behaviour {key!r}; there are: {', '.join(_BY_KEY)}"
        ) from None


def has(kernel: str, key: str) -> bool:
    """Whether kernel ``kernel`` (e.g. ``"4.20"``) does what row ``key`` describes."""
    return version_key(kernel) >= version_key(row(key).since)


def table_text(keys: tuple[str, ...] | None = None) -> str:
    """The rows (all, or ``keys``) as plain text, one block each: what notebooks print."""
    rows = BEHAVIOURS if keys is None else tuple(row(k) for k in keys)
    blocks = []
    for b in rows:
        blocks.append(
            f"{b.key}  (since Linux {b.since}; {b.function})\n"
            f"  since: {b.behaviour}\n"
            f"  before: {b.before}\n"
            f"  patch: {b.patch}"
        )
    return "\n".join(blocks)
