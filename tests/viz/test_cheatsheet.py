"""The field cheat sheet (pynest.viz.cheatsheet): it says what the model decodes, and
everything it draws fits.

The expected layouts are the ISA v3.0B ones as the radix fact sheet gives them
(radix-mmu.md sections 1.1-1.6, 5.3 and 6.1-6.2), in MSB-0 bit numbers; each is also
compared with the masks of ``pynest.mmu.constants`` / ``pynest.kvm.constants`` and with
what the decoders of ``pynest.mmu.formats`` return for random words.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg

from pynest.errors import FieldError
from pynest.kvm import constants as K
from pynest.mmu import constants as C
from pynest.mmu.formats import PateDw0, PateDw1, Pde, Ptcr, Pte, TlbieInsn, TlbieRb, TlbieRs
from pynest.viz import cheatsheet as CS

# hand-checked: (name, first, last) of every non-reserved field, MSB-0
EXPECTED = {
    "ptcr": [("PATB", 4, 51), ("PATS", 59, 63)],
    "pate0": [("HR", 0, 0), ("RTS1", 1, 2), ("RPDB", 4, 55), ("RTS2", 56, 58), ("RPDS", 59, 63)],
    "pate1": [("PRTB", 4, 51), ("PRTS", 59, 63)],
    "prte": [("RTS1", 1, 2), ("RPDB", 4, 55), ("RTS2", 56, 58), ("RPDS", 59, 63)],
    "pde": [("V", 0, 0), ("L", 1, 1), ("NLB", 4, 55), ("NLS", 59, 63)],
    "pte": [
        ("V", 0, 0),
        ("L", 1, 1),
        ("SW0", 2, 2),
        ("RPN", 7, 51),
        ("SW", 52, 54),
        ("R", 55, 55),
        ("C", 56, 56),
        ("ATT", 58, 59),
        ("EAA", 60, 63),
    ],
    "rb": [("EPN", 0, 51), ("IS", 52, 53), ("AP", 56, 58)],
    "rs": [("PID", 0, 31), ("LPID", 32, 63)],
    "insn": [
        ("PO", 0, 5),
        ("RS", 6, 10),
        ("RIC", 12, 13),
        ("PRS", 14, 14),
        ("R", 15, 15),
        ("RB", 16, 20),
        ("XO", 21, 30),
    ],
}

# the same fields as the model's constants name them
CONSTANT_MASKS = {
    ("ptcr", "PATB"): C.PTCR_PATB,
    ("ptcr", "PATS"): C.PTCR_PATS,
    ("pate0", "HR"): C.PATE0_HR,
    ("pate0", "RTS1"): C.RTS1_MASK,
    ("pate0", "RPDB"): C.RPDB_MASK,
    ("pate0", "RTS2"): C.RTS2_MASK,
    ("pate0", "RPDS"): C.RPDS_MASK,
    ("pate1", "PRTB"): C.PRTB_MASK,
    ("pate1", "PRTS"): C.PRTS_MASK,
    ("prte", "RTS1"): C.RTS1_MASK,
    ("prte", "RPDB"): C.RPDB_MASK,
    ("prte", "RTS2"): C.RTS2_MASK,
    ("prte", "RPDS"): C.RPDS_MASK,
    ("pde", "V"): C.PTE_V,
    ("pde", "L"): C.PTE_L,
    ("pde", "NLB"): C.PDE_NLB,
    ("pde", "NLS"): C.PDE_NLS,
    ("pte", "V"): C.PTE_V,
    ("pte", "L"): C.PTE_L,
    ("pte", "SW0"): C.PTE_SW0,
    ("pte", "RPN"): C.PTE_RPN,
    ("pte", "SW"): C.PTE_SW,
    ("pte", "R"): C.PTE_R,
    ("pte", "C"): C.PTE_C,
    ("pte", "ATT"): C.PTE_ATT,
    ("pte", "EAA"): C.PTE_EAA_PRIV | C.PTE_EAA_READ | C.PTE_EAA_RW | C.PTE_EAA_EXEC,
}


def _rows():
    return {r.key: r for r in CS.cheatsheet_rows()}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_layout_is_the_isa_one(key):
    row = _rows()[key]
    named = [(f.name, f.first, f.last) for f in row.fields if f.name != CS.RESERVED]
    assert named == EXPECTED[key]


@pytest.mark.parametrize("row", CS.cheatsheet_rows(), ids=lambda r: r.key)
def test_fields_tile_the_word(row):
    bits = [b for f in row.fields for b in range(f.first, f.last + 1)]
    assert bits == list(range(row.first_bit, row.first_bit + row.width))
    assert all(f.kind in CS.S.FIELD_COLOURS for f in row.fields)


@pytest.mark.parametrize(("key", "name"), sorted(CONSTANT_MASKS))
def test_every_field_matches_the_constants(key, name):
    assert _rows()[key].field(name).mask() == CONSTANT_MASKS[(key, name)]


def test_dsisr_bits_are_the_models_cause_bits():
    row = _rows()["dsisr"]
    drawn = {f.mask(64) for f in row.fields if f.name != CS.RESERVED}
    kernel = {
        v
        for n, v in vars(K).items()
        if n.startswith("DSISR_") and isinstance(v, int) and v > 0 and v & (v - 1) == 0
    }
    assert drawn == set(C.DSISR_NAMES) | kernel
    # hand-checked: NOPTE is ISA bit 33 (0x40000000), the kernel's DSISR_NOHPTE
    nopte = row.field("NOPTE")
    assert (nopte.first, nopte.text) == (33, "33")
    assert "33 NOPTE = DSISR_NOHPTE" in row.note
    assert "45 ATOMIC_RC = DSISR_SET_RC" in row.note
    assert row.field("PRTABLE_FAULT").first == 46
    assert row.field("ISSTORE").mask(64) == C.DSISR_ISSTORE == K.DSISR_ISSTORE


def _value(raw, f, width=64):
    return (raw & f.mask(width)) >> (width - 1 - f.last)


@given(st.integers(0, 2**64 - 1))
def test_the_sheet_reads_words_as_the_decoders_do(raw):
    rows = _rows()
    p = Ptcr.decode(raw)
    assert p.patb == raw & rows["ptcr"].field("PATB").mask()
    assert p.pats == _value(raw, rows["ptcr"].field("PATS"))
    d0 = PateDw0.decode(raw)
    assert d0.hr == bool(_value(raw, rows["pate0"].field("HR")))
    rts = _value(raw, rows["pate0"].field("RTS1")) << 3 | _value(raw, rows["pate0"].field("RTS2"))
    assert d0.tree_bits == rts + 31
    assert PateDw1.decode(raw).prtb == raw & rows["pate1"].field("PRTB").mask()
    pde, pte = raw & ~C.PTE_L, raw | C.PTE_L
    assert Pde.decode(pde).nls == _value(pde, rows["pde"].field("NLS"))
    t = Pte.decode(pte)
    assert t.rpn == pte & rows["pte"].field("RPN").mask()
    assert t.att == pte & rows["pte"].field("ATT").mask()
    eaa = _value(pte, rows["pte"].field("EAA"))
    assert (t.priv, t.read, t.rw, t.exec) == tuple(bool(eaa >> s & 1) for s in (3, 2, 1, 0))
    rb = TlbieRb.decode(raw)
    assert (rb.is_, rb.ap) == (
        _value(raw, rows["rb"].field("IS")),
        _value(raw, rows["rb"].field("AP")),
    )
    rs = TlbieRs.decode(raw)
    assert (rs.pid, rs.lpid) == (
        _value(raw, rows["rs"].field("PID")),
        _value(raw, rows["rs"].field("LPID")),
    )


@given(
    st.integers(0, 31), st.integers(0, 31), st.integers(0, 3), st.integers(0, 1), st.integers(0, 1)
)
def test_the_instruction_fields_are_the_encoders(rs, rb, ric, prs, r):
    word = TlbieInsn(rs=rs, rb=rb, ric=ric, prs=prs, r=r).encode()
    row = _rows()["insn"]
    got = [_value(word, row.field(n), 32) for n in ("RS", "RB", "RIC", "PRS", "R", "PO", "XO")]
    assert got == [rs, rb, ric, prs, r, 31, 306]


def test_the_sheet_follows_a_change_in_the_model(monkeypatch):
    # a decoder that reads PATS as 4 bits: the sheet must move with it
    monkeypatch.setattr(C, "PTCR_PATS", 0xF)
    CS.cheatsheet_rows.cache_clear()
    try:
        assert _rows()["ptcr"].field("PATS").bits == "60:63"
    finally:
        monkeypatch.undo()
        CS.cheatsheet_rows.cache_clear()
    assert _rows()["ptcr"].field("PATS").bits == "59:63"


def test_unknown_field_is_a_clear_error():
    with pytest.raises(FieldError, match="PTCR has no field 'PATZ'; it has PATB, PATS"):
        _rows()["ptcr"].field("PATZ")


def test_text_version_lists_every_field():
    text = CS.cheatsheet_text()
    for key, expected in EXPECTED.items():
        for name, first, last in expected:
            bits = f"{first}" if first == last else f"{first}:{last}"
            assert f"{name} {bits}" in text, (key, name)
    assert "NOPTE 33" in text and "tlbie RS" in text


# ----------------------------------------------------------------------- the figure
@pytest.fixture(scope="module")
def drawn():
    fig = CS.draw_cheatsheet()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fig, canvas.get_renderer()


def test_every_field_is_drawn_with_its_bits(drawn):
    fig, _ = drawn
    boxes = {p.get_gid() for p in fig.patches}
    texts = {t.get_gid(): t.get_text() for t in fig.texts if t.get_gid()}
    for row in CS.cheatsheet_rows():
        for f in row.fields:
            gid = f"{row.key}:{f.name}:{f.first}"
            assert f"field:{gid}:0" in boxes
            assert texts[f"bits:{gid}:0"] == f.bits
            # a field across bit 31/32 is two boxes, both named
            crosses = f.first < 32 <= f.last and row.width == 64
            assert (f"field:{gid}:1" in boxes) == crosses
            if f.name != CS.RESERVED:
                assert texts[f"field:{gid}:0"] == f.text
                assert not crosses or texts[f"field:{gid}:1"] == f.text


def test_text_is_the_suites_size(drawn):
    # two bars of 32 bits per doubleword leave room for every name at the suite's size
    fig, _ = drawn
    assert min(t.get_fontsize() for t in fig.texts) >= CS.S.SMALL_SIZE


def test_no_text_below_8pt_or_outside_the_canvas(drawn):
    fig, renderer = drawn
    page = fig.bbox
    assert fig.texts
    for t in fig.texts:
        assert t.get_fontsize() >= CS.MIN_FONT, t.get_text()
        e = t.get_window_extent(renderer)
        assert page.x0 <= e.x0 and e.x1 <= page.x1, t.get_text()
        assert page.y0 <= e.y0 and e.y1 <= page.y1, t.get_text()


def test_names_sit_inside_their_boxes(drawn):
    fig, renderer = drawn
    boxes = {p.get_gid(): p.get_window_extent(renderer) for p in fig.patches}
    named = [t for t in fig.texts if (t.get_gid() or "").startswith("field:")]
    assert len(named) >= sum(len(v) for v in EXPECTED.values())
    for t in named:
        e, b = t.get_window_extent(renderer), boxes[t.get_gid()]
        assert b.x0 <= e.x0 and e.x1 <= b.x1 and b.y0 <= e.y0 and e.y1 <= b.y1, t.get_text()


def test_bit_ranges_never_overlap(drawn):
    fig, renderer = drawn
    by_row: dict[str, list] = {}
    for t in fig.texts:
        gid = t.get_gid() or ""
        if gid.startswith("bits:"):
            by_row.setdefault(gid.split(":")[1], []).append(t.get_window_extent(renderer))
    assert set(by_row) == {r.key for r in CS.cheatsheet_rows()}
    for key, extents in by_row.items():
        for i, a in enumerate(extents):
            for b in extents[i + 1 :]:
                apart = a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0
                assert apart, key


def test_redraw_in_place_gives_the_same_figure():
    fig = CS.draw_cheatsheet()
    before = [t.get_text() for t in fig.texts]
    again = CS.draw_cheatsheet(fig)
    assert again is fig and [t.get_text() for t in fig.texts] == before
