"""Shared fixtures for the hypervisor tests."""

import pytest

from pynest.kvm.host import L0
from pynest.kvm.l1 import L1


@pytest.fixture
def l0():
    return L0()


@pytest.fixture
def vm(l0):
    return l0.create_l1(256 << 20)


@pytest.fixture
def l1(vm):
    l1 = L1(vm)
    assert l1.nested_init() == 0
    return l1
