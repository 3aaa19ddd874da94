"""The scenario layer's place (issue 14 item 3): scenarios build on kvm/mmu only, and
exercises keep question generators and answers, taking their worlds from scenarios."""

import ast
from pathlib import Path

import pynest

ROOT = Path(pynest.__file__).parent


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute pynest module, line) of every import in ``path``, at any depth."""
    pkg = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = f"{base}.{node.module}" if node.level and node.module else node.module or base
            out.append((mod, node.lineno))
            if node.module is None:
                out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
    return out


def test_scenarios_import_no_exercises_views_or_widgets():
    bad = [
        (f.name, mod, line)
        for f in sorted((ROOT / "scenarios").glob("*.py"))
        for mod, line in _imports(f)
        if mod.startswith(("pynest.exercises", "pynest.viz", "pynest.widgets", "matplotlib"))
    ]
    assert not bad, bad


def test_scenario_imports_are_at_module_top():
    for f in sorted((ROOT / "scenarios").glob("*.py")):
        tree = ast.parse(f.read_text())
        top = {n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
        nested = [line for _mod, line in _imports(f) if line not in top]
        assert not nested, (f.name, nested)


def test_viz_widgets_and_exercises_define_no_world_builders():
    # a world builder makes an L0 or fresh physical memory; those live in scenarios now
    # (exercises/lpids.py's LPID-call sequence is a question's own run, not a world)
    for sub in ("exercises", "viz", "widgets"):
        for f in sorted((ROOT / sub).glob("*.py")):
            text = f.read_text()
            if f.name == "lpids.py" and sub == "exercises":
                continue
            assert "PhysicalMemory(" not in text, f"{sub}/{f.name} builds memory"


def test_only_world_records_left_are_the_two():
    import pynest.scenarios as W

    assert {W.World.__name__, W.MmuWorld.__name__} == {"World", "MmuWorld"}
    assert isinstance(W.guest_world(0), W.MmuWorld)
    for gone in ("ShadowWorld", "ExerciseWorld", "GuestWorld"):
        assert not any(gone in f.read_text() for f in ROOT.rglob("*.py")), gone
