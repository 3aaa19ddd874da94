"""parse_number's messages (issue 15 item 6): each box speaks of what it holds. An LPID,
a count or a seed box never says "addresses" or suggests an address; every suggestion a
message makes is a value the same box accepts."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import FieldError
from pynest.scenarios.text import KINDS, parse_number

BAD = ["", "   ", "seven", "-1", "-0x10", "12ab", "1.5", "0x", "0x10q", "9" * 80, True, -3]


def _message(text, what, kind, bits=64):
    with pytest.raises(FieldError) as e:
        parse_number(text, what, bits, kind=kind)
    return str(e.value)


def test_exact_texts():
    assert _message("seven", "LPIDR", "id", 32) == (
        "LPIDR 'seven' is not a number: type a whole number like 7 (or hex, like 0x7)"
    )
    assert _message("-2", "HDEC slice", "count") == (
        "HDEC slice '-2' is negative, but a count cannot be below 0: type a whole number like 3"
    )
    assert _message("", "EA", "address") == (
        "EA is empty: type hex like 0x10000abc or decimal like 268438204, then press Enter"
    )
    assert _message("4294967296", "L1 LPID", "id", 32) == (
        "L1 LPID 4294967296 is too big: it does not fit in 32 bits, so the most it can be is "
        "4294967295 (0xffffffff)"
    )
    assert _message("abc", "EPN", "address") == (
        "EPN 'abc' is not a number (if you meant hex, write 0xabc): type hex like 0x10000abc "
        "or decimal like 268438204"
    )


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"address"}))
@pytest.mark.parametrize("text", BAD, ids=repr)
def test_only_address_boxes_speak_of_addresses(kind, text):
    message = _message(text, "the box", kind, 32)
    assert "address" not in message.lower()
    assert "0x10000abc" not in message and "268438204" not in message


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("text", BAD, ids=repr)
def test_every_message_names_the_box_and_suggests_what_it_takes(kind, text):
    message = _message(text, "Box", kind, 32)
    assert message.startswith("Box")
    suggested = re.findall(r"like (0x[0-9a-f]+|\d+)", message)
    if not isinstance(text, bool) and "too big" not in message:
        assert suggested, message  # says what to type instead
    for example in suggested:
        assert parse_number(example, "Box", 32, kind=kind) >= 0  # and that is accepted


def test_the_kind_is_checked():
    with pytest.raises(ValueError, match="unknown kind"):
        parse_number("1", "x", kind="colour")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=12), kind=st.sampled_from(sorted(KINDS)))
def test_any_text_gives_a_number_or_a_field_error(text, kind):
    try:
        value = parse_number(text, "Box", 32, kind=kind)
    except FieldError as e:
        assert str(e).startswith("Box")
    else:
        assert 0 <= value < 1 << 32
