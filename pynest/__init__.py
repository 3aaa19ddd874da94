"""pynest: a bit-exact teaching model of POWER9 radix translation and KVM nested HV.

The package is layered (see DESIGN.md in the project's shared notes):

* :mod:`pynest.memory` -- sparse big-endian physical memory with an access log;
* :mod:`pynest.mmu` -- the POWER9 radix MMU (ISA v3.0B Book III, QEMU 7.2
  ``target/ppc/mmu-radix64.c``);
* :mod:`pynest.kvm` -- the L0/L1 hypervisors of the 2018 nested-HV series;
* :mod:`pynest.viz`, :mod:`pynest.widgets` -- figures and explorers, imported
  only on demand so that ``import pynest`` stays light.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
