"""The hypervisors of the 2018 nested-HV series (Linux ``arch/powerpc/kvm/book3s_hv_nested.c``).

* :mod:`~pynest.kvm.versions` -- which kernel did what (4.20 as merged, 5.0's fixes, 5.14's
  sanitisations);
* :mod:`~pynest.kvm.events` -- the event log (a ring of the last 100,000 events);
* :mod:`~pynest.kvm.hcalls` -- hcall numbers, H_* return codes and the dispatcher;
* :mod:`~pynest.kvm.host` -- L0: host memory, partition table, LPIDs, L1 VMs;
* :mod:`~pynest.kvm.nested` -- the nested-guest lifecycle and H_SET_PARTITION_TABLE;
* :mod:`~pynest.kvm.guest_state` -- ``struct hv_guest_state`` and ``pt_regs``;
* :mod:`~pynest.kvm.shadow` -- nested page faults, shadow tables, rmap, tlbie emulation;
* :mod:`~pynest.kvm.program` -- the L2's instructions; :mod:`~pynest.kvm.run` -- L0's run
  loop for an L2; :mod:`~pynest.kvm.l2` -- H_ENTER_NESTED;
* :mod:`~pynest.kvm.l1` -- the guest hypervisor's side.
"""

from .events import Event, EventLog

__all__ = ["Event", "EventLog"]
