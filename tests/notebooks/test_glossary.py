"""The glossary (notebooks/13_glossary.ipynb) covers the suite, and the suite links to it.

* every acronym the notebooks' markdown and pynest's docstrings use has an entry (or is
  listed in ``NOT_TERMS`` with the reason it is not one), found by the same extraction
  the glossary was written from;
* every entry has a heading (its anchor), an expansion and a source line;
* in notebooks 00-12, the first use of each linked term (in reading order, outside code
  spans, links and headings) is a link to its entry, and every link into the glossary
  names an entry that exists;
* notebook 00's index lists the glossary.

Anchors are the entry's heading text with spaces as ``-``: what JupyterLab and nbconvert
both give a markdown heading.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
GLOSSARY = NOTEBOOKS / "13_glossary.ipynb"
LINK_TARGET = "13_glossary.ipynb#"

# capitals and digits, 2+ long (LPID, L0, H_... are caught by the hcall pattern below)
ACRONYM = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9]{1,})s?(?![A-Za-z0-9_])")
HCALL = re.compile(r"(?<![A-Za-z0-9_])(H_[A-Z_]+[A-Z0-9])(?![A-Za-z0-9_])")

NOT_TERMS = {
    # labels of rows, steps, errata and options in figures and exercises
    **{f"{p}{i}": "a label" for p in "ETSPO" for i in range(0, 20)},
    "L3": "a tree level (L0..L3 of a walk), explained where it is drawn",
    "RTS1": "half of RTS (entry RTS)",
    "RTS2": "half of RTS (entry RTS)",
    "III": "Roman numeral: ISA Book III",
    "NAME": "a placeholder in a docstring",
    "PNG": "an image format",
    "API": "plain English",
    "OK": "plain English",
    "ID": "plain English",
    "ALL": "part of RIC_FLUSH_ALL",
    "SKIP": "an nbval marker",
    "PATCH": "a subject line",
    "DESIGN": "a file name",
    "GENERATORS": "a docstring heading",
    "PROGRAMS": "a docstring heading",
    "SCENARIOS": "a docstring heading",
    "OUTCOMES": "a docstring heading",
    "MSB": "explained with the bit numbering in 01 and the cheat sheet",
    "POWER": "the architecture's name (POWER9 has the entry)",
    "PPC": "part of the series title 'KVM: PPC'",
    "NULL": "C's null pointer",
    "L1Vm": "a pynest class name",
    "DAWRX0": "DAWR's control register (entry DAWR)",
    "DAWRX1": "DAWR's control register (entry DAWR)",
    "DSISR_": "prefix",
    "SAO": "an ATT value (entry ATT)",
    "HDSIs": "plural of HDSI",
    # the teacher tools (pynest.teach) and the explorers' frame cache: general computing
    # words a teacher or maintainer reads, not the course's vocabulary
    "ANSWER": "the marker word of a student's answer box",
    "ASCII": "a character set (roster ids)",
    "UTF": "UTF-8, the file encoding",
    "CSV": "the gradebook's file format",
    "LF": "line feed, the gradebook's line ending",
    "HMAC": "the keyed hash behind per-student seeds (README, For teachers)",
    "SHA256": "the hash inside that HMAC",
    "DIR": "a command-line metavar",
    "FOLDER": "a command-line metavar",
    "ROSTER": "a command-line metavar",
    "SPEC": "a command-line metavar",
    "LRU": "least recently used, the frame cache's policy",
    "HMIs": "plural of HMI",
    "GPRs": "plural of GPR",
    "PDEs": "plural of PDE",
    "PTCRs": "plural of PTCR",
    "RB_": "prefix",
    "R_BADCONFIG": "QEMU's name of BADCONFIG",
    "SW0": "a PTE bit (entry SW)",
    "TTBR0": "entry TTBR",
    "EPT12": "the L1's EPT in Linux's vmx.c (entry EPT)",
    "RW": "the EAA read/write bit (entry EAA)",
    "VT": "part of VT-x (entry VMX)",
    "VMALLS12E1IS": "a TLBI operation (entry TLBI)",
    "AMD": "a company (section x86 and ARM counterparts)",
    "ARM": "an architecture (section x86 and ARM counterparts)",
    "CLI": "pynest's command line (README)",
    "CSS": "web styling (the static site)",
    "DPI": "figure resolution",
    "SVG": "an image format",
    "README": "a file name",
    **{
        w: "a word in capitals in a docstring" for w in ("FAIL", "KIND", "REMOVED", "TEXT", "VALUE")
    },
}
# hcall names and return codes without an entry of their own: explained where they are used
NOT_HCALLS = {
    "H_CEDE",
    "H_NOT_AVAILABLE",
    "H_TOO_HARD",
    "H_HARDWARE",
    "H_PRIVILEGE",
    "H_BAD_MODE",
    "H_NOT_FOUND",
    "H_NO_MEM",
    "H_AUTHORITY",
    "H_P3",
    "H_P4",
    "H_INTERRUPT",
    "H_REGISTER_PROC_TBL",
    "H_RPT_INVALIDATE_",
}
# terms never linked automatically: single letters, which also occur as plain variables
UNLINKED = {"R", "C", "V"}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def concept_notebooks() -> list[Path]:
    """00..12 in reading order (the glossary itself excluded)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p != GLOSSARY)


def glossary_entries() -> dict[str, str]:
    """Entry heading (level 3) -> its body, from the glossary notebook."""
    out: dict[str, str] = {}
    for cell in _cells(GLOSSARY):
        if cell["cell_type"] != "markdown":
            continue
        parts = re.split(r"^### (.+)$", _source(cell), flags=re.M)
        for term, body in zip(parts[1::2], parts[2::2], strict=True):
            assert term not in out, f"two entries for {term}"
            out[term.strip()] = body
    return out


def anchor(term: str) -> str:
    return term.replace(" ", "-")


def _docstrings() -> str:
    out = []
    for path in (ROOT / "pynest").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    out.append(doc)
    return "\n".join(out)


def _constant_names() -> set[str]:
    """Upper-case names assigned at module level in pynest (``KINDS``, ``ROWS``, ...): a
    docstring naming one speaks of the constant, not of an acronym."""
    out = set()
    for path in (ROOT / "pynest").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            out |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return out


def used_acronyms() -> set[str]:
    """Every acronym and hcall name of the notebooks' markdown and pynest's docstrings,
    less the names of pynest's own constants."""
    texts = [_docstrings()]
    for path in concept_notebooks():
        texts += [_source(c) for c in _cells(path) if c["cell_type"] == "markdown"]
    found: set[str] = set()
    for text in texts:
        found |= set(ACRONYM.findall(text)) | set(HCALL.findall(text))
    return found - (_constant_names() - set(glossary_entries()))


# ------------------------------------------------------------------ finding first uses
_PROTECT = re.compile(
    r"```.*?```"  # fenced code
    r"|`[^`\n]+`"  # code spans
    r"|!?\[[^\]\n]*\]\([^)\n]*\)"  # links and images
    r"|<[^>\n]+>"  # html tags, autolinks
    r"|https?://\S+"
    r"|^#[^\n]*$",  # headings
    re.S | re.M,
)


def term_pattern(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9_\-/.#\[])" + re.escape(term) + r"(?![A-Za-z0-9_\-/])")


def bare_uses(text: str, term: str) -> list[tuple[int, int, bool]]:
    """(start, end, in_code) of each use of ``term`` a link could wrap: in plain text, or
    a code span that is exactly the term."""
    spans = [(m.start(), m.end()) for m in _PROTECT.finditer(text)]
    out = []
    for m in term_pattern(term).finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            out.append((m.start(), m.end(), False))
    for m in re.finditer(r"`" + re.escape(term) + r"`", text):
        before = text[max(0, m.start() - 1) : m.start()]
        if before != "[" and not any(a < m.start() < b for a, b in spans if (a, b) != m.span()):
            out.append((m.start(), m.end(), True))
    return sorted(out)


def linked_uses(text: str, term: str) -> list[int]:
    pat = re.compile(r"\[`?" + re.escape(term) + r"`?\]\(" + re.escape(LINK_TARGET + anchor(term)))
    return [m.start() for m in pat.finditer(text)]


def linkable_terms() -> list[str]:
    return [t for t in glossary_entries() if t not in UNLINKED]


def first_uses() -> dict[str, tuple[str, int, bool]]:
    """term -> (notebook, cell, linked?) of its first use in 00..12, in reading order."""
    todo = set(linkable_terms())
    out: dict[str, tuple[str, int, bool]] = {}
    for path in concept_notebooks():
        for i, cell in enumerate(_cells(path)):
            if cell["cell_type"] != "markdown" or not todo:
                continue
            text = _source(cell)
            for term in sorted(todo):
                bare, linked = bare_uses(text, term), linked_uses(text, term)
                if bare or linked:
                    first_linked = bool(linked) and (not bare or linked[0] < bare[0][0])
                    out[term] = (path.name, i, first_linked)
                    todo.discard(term)
    return out


# ------------------------------------------------------------------------------- tests
def test_every_acronym_of_the_suite_has_an_entry():
    entries = set(glossary_entries())
    missing = sorted(
        a
        for a in used_acronyms()
        if a not in entries and a not in NOT_TERMS and a not in NOT_HCALLS
    )
    assert not missing, f"no glossary entry (add one, or a reason in NOT_TERMS): {missing}"


def test_every_entry_says_what_it_is_and_where_it_comes_from():
    entries = glossary_entries()
    assert len(entries) >= 150
    for term, body in entries.items():
        assert re.match(r"\s*\*\*[^*]+\.\*\*", body), f"{term}: no bold expansion"
        assert "*Source:*" in body, f"{term}: no source"


def test_the_acronyms_the_brief_names_are_all_there():
    named = (
        "PTCR PATE PRTE PDE PTE LPID PID LPCR HDSI HISI DSI ISI DSISR SRR1 HDAR RPDB RPDS "
        "RTS RC EAA tlbie RB RS RIC PRS R HV MSR HDEC EPT NPT VMCS VPID VMID CR3 TTBR VTTBR"
    ).split()
    assert set(named) <= set(glossary_entries())


@pytest.mark.parametrize("path", concept_notebooks(), ids=lambda p: p.stem)
def test_links_into_the_glossary_name_real_entries(path):
    anchors = {anchor(t) for t in glossary_entries()} | {"The-field-cheat-sheet", "The-terms"}
    for cell in _cells(path):
        if cell["cell_type"] == "markdown":
            for target in re.findall(re.escape(LINK_TARGET) + r"([^)\s]+)\)", _source(cell)):
                assert target in anchors, f"{path.name}: link to missing entry #{target}"


def test_first_use_of_every_term_links_to_its_entry():
    firsts = first_uses()
    assert len(firsts) >= 100, "most terms are used in the notebooks"
    unlinked = sorted(f"{t} ({nb} cell {i})" for t, (nb, i, ok) in firsts.items() if not ok)
    assert not unlinked, f"first use not linked to the glossary: {unlinked}"


def test_glossary_links_resolve_inside_the_glossary():
    anchors = {anchor(t) for t in glossary_entries()}
    text = "\n".join(_source(c) for c in _cells(GLOSSARY) if c["cell_type"] == "markdown")
    for target in re.findall(r"\]\(#([^)\s]+)\)", text):
        assert target in anchors or target == "The-field-cheat-sheet", target
    assert "## The field cheat sheet" in text


def test_glossary_links_into_start_here_resolve():
    heads = {
        anchor(line.lstrip("#").strip())
        for c in _cells(NOTEBOOKS / "00_start_here.ipynb")
        if c["cell_type"] == "markdown"
        for line in _source(c).splitlines()
        if line.startswith("#")
    }
    text = "\n".join(_source(c) for c in _cells(GLOSSARY) if c["cell_type"] == "markdown")
    targets = re.findall(r"00_start_here\.ipynb#([^)\s]+)\)", text)
    assert targets and set(targets) <= heads, targets


def test_start_here_lists_the_glossary():
    text = "\n".join(_source(c) for c in _cells(NOTEBOOKS / "00_start_here.ipynb"))
    assert "[`13_glossary`](13_glossary.ipynb)" in text
    assert "13_glossary.ipynb#The-field-cheat-sheet" in text


def test_first_use_finder_skips_code_links_and_headings():
    text = "# PTCR title\nthe `x = PTCR` and [PTCR](a.ipynb) then PTCR-like, finally PTCR."
    uses = bare_uses(text, "PTCR")
    assert [text[a:b] for a, b, _ in uses] == ["PTCR"] and uses[0][0] == text.rindex("PTCR")
    assert [code for *_, code in bare_uses("run `H_ENTER_NESTED` now", "H_ENTER_NESTED")] == [True]
    linked = "[`l1_ptcr`](13_glossary.ipynb#l1_ptcr) and l1_ptcr"
    assert linked_uses(linked, "l1_ptcr") == [0]
