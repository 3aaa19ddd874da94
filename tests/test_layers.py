"""The layers of ARCHITECTURE.md, read from the imports themselves.

Every ``import``/``from ... import`` of a pynest module anywhere in a file (module top,
function body or ``TYPE_CHECKING`` block alike) is resolved to the package it names, and
a package may import only packages of a lower layer: data flows up, nothing imports a
layer above it, and the model (mmu, kvm, scenarios) never imports a view.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PYNEST = Path(__file__).resolve().parent.parent / "pynest"

#: bottom-up; a package may import packages of a strictly lower layer (and itself)
LAYERS: dict[str, int] = {
    "errors": 0,
    "memory": 2,
    "mmu": 3,
    "kvm": 4,
    "scenarios": 5,
    "exercises": 6,
    "viz": 6,
    "widgets": 7,
    "teach": 7,  # assignments and grading: built on exercises, view-free
    "cli": 8,
    "__main__": 9,
}
MODEL = ("errors", "memory", "mmu", "kvm", "scenarios")


def _package(parts: list[str]) -> str:
    """``pynest.kvm.host`` -> ``kvm``; ``pynest.cli`` -> ``cli``; ``pynest`` -> ``pynest``."""
    return parts[1] if len(parts) > 1 else "pynest"


def imports_of(path: Path, root: Path = PYNEST) -> list[tuple[int, str]]:
    """(line, imported pynest module) for every import in ``path`` (under ``root``)."""
    rel = path.relative_to(root.parent).with_suffix("").parts
    here = list(rel[:-1])  # the package the file is in
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if node.module:
                out.append((node.lineno, target))
            else:  # from . import x, y: each name may be a module
                out += [(node.lineno, f"{target}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return [(line, t) for line, t in out if t == "pynest" or t.startswith("pynest.")]


def violations(root: Path = PYNEST) -> list[str]:
    """One line per import that goes to a layer at or above the importer's."""
    found = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root.parent)
        rel = name.with_suffix("").parts
        src = _package(list(rel))
        if src == "__init__":  # pynest/__init__.py: the package docstring only
            src = "pynest"
        for line, target in imports_of(path, root):
            dst = _package(target.split("."))
            if dst == src:
                continue
            if src == "pynest" or dst == "pynest":
                found.append(f"{name}:{line}: imports {target}")
            elif src not in LAYERS or dst not in LAYERS:
                found.append(f"{name}:{line}: {src} or {dst} has no layer")
            elif LAYERS[dst] >= LAYERS[src]:
                found.append(
                    f"{name}:{line}: {src} (layer {LAYERS[src]}) "
                    f"imports {target} (layer {LAYERS[dst]})"
                )
    return found


def test_every_package_has_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in PYNEST.iterdir()}
    tops = {t for t in tops if not t.startswith((".", "__pycache__")) and t != "__init__"}
    assert tops <= set(LAYERS), f"packages without a layer: {sorted(tops - set(LAYERS))}"


def test_no_package_imports_a_layer_at_or_above_its_own():
    assert violations() == []


def test_the_model_never_imports_a_view():
    views = ("exercises", "viz", "widgets", "cli", "__main__")
    for path in sorted(PYNEST.rglob("*.py")):
        if _package(list(path.relative_to(PYNEST.parent).with_suffix("").parts)) not in MODEL:
            continue
        for line, target in imports_of(path):
            assert _package(target.split(".")) not in views, f"{path}:{line}: imports {target}"


@pytest.mark.parametrize(
    ("source", "where", "expected"),
    [
        ("from ..viz import walk\n", "mmu/x.py", "pynest.viz"),
        ("from . import tlb, xlate\n", "mmu/x.py", "pynest.mmu.tlb"),
        ("import pynest.widgets.base\n", "kvm/x.py", "pynest.widgets.base"),
        ("def f():\n    from ...errors import ConfigError\n", "kvm/sub/x.py", "pynest.errors"),
        ("if True:\n    from pynest.kvm.host import L0\n", "viz/x.py", "pynest.kvm.host"),
    ],
)
def test_imports_are_resolved_to_the_module_they_name(tmp_path, source, where, expected):
    """Hand vectors for the resolver: relative, nested and function-level imports."""
    path = tmp_path / "pynest" / where
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert expected in [t for _line, t in imports_of(path, tmp_path / "pynest")]


def test_a_planted_upward_import_is_caught(tmp_path):
    """The check bites: an mmu module importing the view, inside a function, is reported."""
    root = tmp_path / "pynest"
    (root / "mmu").mkdir(parents=True)
    (root / "viz").mkdir()
    (root / "mmu" / "x.py").write_text("def f():\n    from ..viz import walk\n")
    (root / "viz" / "walk.py").write_text("from ..mmu import x\n")
    assert violations(root) == ["pynest/mmu/x.py:2: mmu (layer 3) imports pynest.viz (layer 6)"]


# ----------------------------------------------------------------- inside pynest/kvm
#: the kernel's dependency order, bottom-up: a kvm module may import at module top only
#: kvm modules of a strictly lower rank (constants and records first, book3s_hv.c's
#: dispatch and the L1 on top)
KVM_ORDER: dict[str, int] = {
    "constants": 0,  # hvcall.h, reg.h, pgtable.h, kvm_book3s_64.h, kvm_asm.h names
    "versions": 0,
    "events": 0,
    "guest_state": 1,  # struct hv_guest_state and the register sanitising
    "nested_table": 1,  # struct kvm_nested_guest and the nested_guests table
    "radix": 2,  # book3s_64_mmu_radix.c's shadow-tree edits, the nest rmap
    "nested": 3,  # book3s_hv_nested.c lifecycle, ptbl cache, H_SET_PARTITION_TABLE
    "host": 4,  # L0 / L1Vm / Vcpu and the VM lifecycle (kvmppc_core_init/destroy_vm_hv)
    "program": 1,  # the L2's instructions (records)
    "tlbie": 4,  # H_TLB_INVALIDATE: kvmhv_emulate_priv_tlbie and its helpers
    "shadow": 5,  # the nested page fault, hw_translate (POWER9's view of an L2)
    "guest_copy": 6,  # H_COPY_TOFROM_GUEST (5.0)
    "run": 6,  # book3s_hv.c: kvmhv_run_single_vcpu, kvmppc_handle_nested_exit
    "l2": 7,  # H_ENTER_NESTED (kvmhv_enter_nested_guest)
    "hcalls": 8,  # kvmppc_pseries_do_hcall
    "l1": 9,  # the L1 kernel
    "races": 9,
    "__init__": 10,
}


def _top_level_imports(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(module-top runtime imports, function-level imports) of ``path``; imports under
    ``if TYPE_CHECKING:`` are annotations only and in neither list."""
    every = imports_of(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        n.lineno
        for node in tree.body
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
        if isinstance(n, (ast.Import, ast.ImportFrom))
    }
    top = {n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    return (
        [(line, t) for line, t in every if line in top],
        [(line, t) for line, t in every if line not in top and line not in typing_only],
    )


def test_every_kvm_module_has_a_rank():
    mods = {p.stem for p in (PYNEST / "kvm").glob("*.py")}
    assert mods == set(KVM_ORDER), (
        f"ranked but absent / present but unranked: {mods ^ set(KVM_ORDER)}"
    )


def test_kvm_modules_import_only_modules_below_them():
    found = []
    for path in sorted((PYNEST / "kvm").glob("*.py")):
        for line, target in _top_level_imports(path)[0]:
            parts = target.split(".")
            if parts[:2] != ["pynest", "kvm"] or len(parts) < 3:
                continue
            if KVM_ORDER[parts[2]] >= KVM_ORDER[path.stem]:
                found.append(f"kvm/{path.name}:{line}: imports {target}")
    assert found == []


def test_kvm_has_no_function_level_imports():
    """Every pynest import in pynest/kvm is at module top: the order above holds with no
    late import closing a cycle."""
    late = [
        f"kvm/{path.name}:{line}: {target}"
        for path in sorted((PYNEST / "kvm").glob("*.py"))
        for line, target in _top_level_imports(path)[1]
    ]
    assert late == []


# ----------------------------------------------------------------- private fields
#: kernel names that start with an underscore (asm/book3s/64/pgtable.h) are not private
KERNEL_UNDERSCORE = ("_PAGE_",)


def _names_defined_in(tree: ast.AST) -> set[str]:
    """Every function, class, attribute (``x._a = ...`` / a class field) and global the
    module itself defines: a private name it may use on any of its own objects."""
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            out.add(n.attr)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            out.add(n.target.id)
        elif isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setattr":
            if len(n.args) > 1 and isinstance(n.args[1], ast.Constant):
                out.add(str(n.args[1].value))
        elif isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "__setattr__":
            if len(n.args) > 1 and isinstance(n.args[1], ast.Constant):
                out.add(str(n.args[1].value))
    return out


def _private(name: str) -> bool:
    return (
        name.startswith("_")
        and not name.startswith("__")
        and not name.endswith("_")  # IPython's _repr_*_ protocol
        and not name.startswith(KERNEL_UNDERSCORE)
    )


def private_reads(root: Path) -> list[str]:
    """Each place a pynest module reads another module's private name: ``from m import
    _x``, or ``obj._x`` for an ``_x`` the reading module does not define itself."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _names_defined_in(tree)
        rel = path.relative_to(root.parent)
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom):
                for a in n.names:
                    if _private(a.name):
                        found.append(f"{rel}:{n.lineno}: imports {a.name}")
            elif isinstance(n, ast.Attribute) and _private(n.attr) and n.attr not in own:
                found.append(f"{rel}:{n.lineno}: reads {ast.unparse(n)}")
    return found


def test_no_module_reads_another_modules_private_names():
    assert private_reads(PYNEST) == []


def test_a_planted_private_read_is_caught(tmp_path):
    root = tmp_path / "pynest"
    root.mkdir()
    (root / "a.py").write_text("class T:\n    def __init__(self):\n        self._x = 1\n")
    (root / "b.py").write_text("from .a import T, _y\n\ndef f(t):\n    return t._x\n")
    assert private_reads(root) == [
        "pynest/b.py:1: imports _y",
        "pynest/b.py:4: reads t._x",
    ]
