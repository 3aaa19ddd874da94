"""pyproject.toml and environment.yml must name the same packages.

pip users install from pyproject.toml (``make lab`` / ``make test``), conda and Binder users from
environment.yml.  The two drift apart silently unless something compares them, so this test
compares the *names* (versions are allowed to be written differently in the two files):

* pyproject side: ``[project] dependencies`` plus every optional extra;
* conda side: the ``dependencies:`` list, without ``python``, ``pip`` and the ``pip:`` sub-list.

environment.yml is read with a small parser of its ``dependencies:`` block so the test does not
need PyYAML.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the test extra installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# Present in environment.yml on purpose but not a pyproject dependency.
CONDA_ONLY = frozenset({"python", "pip"})


def normalize(name: str) -> str:
    """PEP 503 form: lowercase, runs of ``-``, ``_`` and ``.`` become one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def requirement_name(requirement: str) -> str:
    """Project name of a PEP 508 string: ``"tomli>=2; python_version<'3.11'"`` -> ``tomli``."""
    match = _NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalize(match.group())


def conda_spec_name(spec: str) -> str:
    """Package name of a conda match spec: ``conda-forge::numpy >=1.23`` -> ``numpy``."""
    spec = spec.strip()
    if "::" in spec:
        spec = spec.split("::", 1)[1]
    match = _NAME.match(spec)
    if match is None:
        raise ValueError(f"not a conda spec: {spec!r}")
    # conda writes "numpy=1.23" / "numpy 1.23.*"; the name regex stops before both.
    return normalize(match.group())


def pyproject_names(text: str) -> set[str]:
    """Names of the runtime dependencies and of every optional extra."""
    project = tomllib.loads(text)["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return {requirement_name(r) for r in requirements}


def _strip_comment(line: str) -> str:
    # A YAML comment starts at a '#' that begins the line or follows whitespace.
    return re.sub(r"(^|\s)#.*$", "", line).rstrip()


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_environment(text: str) -> tuple[list[str], list[str]]:
    """Return (conda specs, pip entries) from the top-level ``dependencies:`` list.

    Handles what environment files use in practice: block list items at any indentation
    (including column 0), comments, quoted items, and a ``- pip:`` item followed either by an
    indented block list or by an inline ``[a, b]`` list.
    """
    conda: list[str] = []
    pip: list[str] = []
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if _strip_comment(line) == "dependencies:"),
        None,
    )
    if start is None:
        raise ValueError("environment.yml has no top-level 'dependencies:' key")

    item_indent: int | None = None
    in_pip = False
    for raw in lines[start + 1 :]:
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if item_indent is None:
            if not body.startswith("-"):
                break  # empty list, next key follows
            item_indent = indent
        if indent < item_indent or (indent == item_indent and not body.startswith("-")):
            break  # the next top-level key
        if indent > item_indent:
            if not in_pip or not body.startswith("-"):
                raise ValueError(f"unexpected line in dependencies: {raw!r}")
            pip.append(_unquote(body[1:]))
            continue
        item = body[1:].strip()
        in_pip = False
        if re.match(r"pip\s*:", item):
            in_pip = True
            inline = item.split(":", 1)[1].strip()
            if inline.startswith("[") and inline.endswith("]"):
                pip.extend(_unquote(p) for p in inline[1:-1].split(",") if p.strip())
            elif inline:
                raise ValueError(f"cannot read pip entry: {raw!r}")
            continue
        conda.append(_unquote(item))
    return conda, pip


def conda_names(text: str) -> set[str]:
    specs, _pip = parse_environment(text)
    return {conda_spec_name(s) for s in specs} - CONDA_ONLY


def mismatch(pyproject: set[str], conda: set[str]) -> dict[str, list[str]]:
    """The names only one side lists; empty when the two files agree."""
    diff = {
        "only in pyproject.toml": sorted(pyproject - conda),
        "only in environment.yml": sorted(conda - pyproject),
    }
    return {k: v for k, v in diff.items() if v}


def test_environment_yml_matches_pyproject():
    py_names = pyproject_names((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env_text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    env_names = conda_names(env_text)
    # Not vacuous: the real files list the runtime packages.
    assert {"numpy", "matplotlib", "ipywidgets"} <= py_names
    assert mismatch(py_names, env_names) == {}
    # The conda env must also install pynest itself.
    _specs, pip = parse_environment(env_text)
    assert "-e ." in pip


SAMPLE_PYPROJECT = """
[project]
name = "demo"
dependencies = ["NumPy>=1.23", "typing_extensions; python_version < '3.11'"]

[project.optional-dependencies]
lab = ["jupyterlab>=4.0", "ipykernel[extra]>=6"]
test = ["pytest>=7.4", "ruff"]
"""

SAMPLE_ENVIRONMENT = """\
name: demo
channels:
  - conda-forge
dependencies:
- python=3.11
- pip
- numpy >=1.23   # a comment
- conda-forge::typing-extensions
- "jupyterlab>=4"
# the test tools
- pytest=7.4.*
- hypothesis
- pip:
    - -e .
    - ruff
variables:
  - NOT_A_PACKAGE
"""


def test_helpers_on_a_sample_that_disagrees():
    assert pyproject_names(SAMPLE_PYPROJECT) == {
        "numpy",
        "typing-extensions",
        "jupyterlab",
        "ipykernel",
        "pytest",
        "ruff",
    }
    specs, pip = parse_environment(SAMPLE_ENVIRONMENT)
    assert pip == ["-e .", "ruff"]
    assert conda_names(SAMPLE_ENVIRONMENT) == {
        "numpy",
        "typing-extensions",
        "jupyterlab",
        "pytest",
        "hypothesis",
    }
    # ipykernel and ruff (ruff is only in the pip: list) are missing on the conda side,
    # hypothesis is missing on the pyproject side.
    assert mismatch(pyproject_names(SAMPLE_PYPROJECT), conda_names(SAMPLE_ENVIRONMENT)) == {
        "only in pyproject.toml": ["ipykernel", "ruff"],
        "only in environment.yml": ["hypothesis"],
    }


def test_inline_pip_list_and_missing_key():
    specs, pip = parse_environment('dependencies:\n  - numpy\n  - pip: ["-e .", nbval]\n')
    assert (specs, pip) == (["numpy"], ["-e .", "nbval"])
    with pytest.raises(ValueError, match="dependencies"):
        parse_environment("name: x\nchannels:\n  - conda-forge\n")
