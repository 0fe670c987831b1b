"""A name as the rule takes it (portal_core/text.py): checked as stored, and an older one rewritten to pass it."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st

from portal_core.text import (
    has_invisible_formatting,
    has_unstorable,
    name_without_hidden_characters,
    validate_name_characters,
)

# Names drawn mostly from what hides in them: controls, line breaks, format characters, joiners and spaces, with
# letters and emoji for the joiners to join.
HIDDEN = st.sampled_from(
    "\x00\x07\t\n\r\x0b\x0c\x1b\x1c\x1f\x85\u2028\u2029\u00a0\u3000 "
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2060\u2066\u2069\u061c\u00ad\ufeff\U000e0067\ud800"
)
LETTERS = st.sampled_from("Aa\u0645\u0631\u0915\u094d\U0001f468\U0001f373\ufe0f")
NAMES = st.text(st.one_of(HIDDEN, LETTERS, st.characters()), max_size=30)


def passes_the_rule(name: str) -> bool:
    try:
        validate_name_characters(name)
    except ValidationError:
        return False
    return True


@given(NAMES)
@example("Ana\u200c\u202eSousa")  # a joiner beside an override: removing the override leaves it joining two letters
@example("a\u200d\x00b")  # a joiner beside a control, which becomes a space
@example("\u200d\u200d")
def test_a_rewritten_name_passes_the_rule(name):
    cleaned = name_without_hidden_characters(name)

    assert not has_invisible_formatting(cleaned), ascii(cleaned)
    assert not has_unstorable(cleaned), ascii(cleaned)
    assert passes_the_rule(cleaned), ascii(cleaned)
    assert len(cleaned) <= len(name)
    assert name_without_hidden_characters(cleaned) == cleaned


@given(NAMES)
def test_a_name_the_rule_takes_is_not_rewritten(name):
    if passes_the_rule(name):
        assert name_without_hidden_characters(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "Ana Sousa",
        "  Ana   Sousa ",  # spaces as stored are the profile's business, not this rule's
        "Zoë O\u2019Brien-Łukasz",
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, a zero-width non-joiner inside the name
        "\u0915\u094d\u200d\u0937\u093e",  # Devanagari, a joiner after a virama
        "Chef \U0001f468\u200d\U0001f373",
        "Ana\u00a0Sousa",  # a no-break space
        "",
    ],
)
def test_clean_names_are_kept_as_they_are(name):
    assert name_without_hidden_characters(name) == name


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("Alice\u202egnp.exe", "Alicegnp.exe"),
        ("Ali\u200bce", "Alice"),
        ("\ufeffAlice", "Alice"),
        ("Alice\nBcc: x", "Alice Bcc: x"),
        ("Alice\r\n\tBob ", "Alice Bob"),
        ("Alice\u2028Bob", "Alice Bob"),
        ("Alice\x07", "Alice"),
        ("\u200cAlice\u200d", "Alice"),  # joiners that join nothing
        ("Ana \u200dSousa", "Ana Sousa"),
        ("Mohammad\u200c\u202eReza", "Mohammad\u200cReza"),  # the joiner joins once the override is gone
        ("Chef \U0001f468\u200d\U0001f373\u202e", "Chef \U0001f468\u200d\U0001f373"),
        ("\u202e", ""),
    ],
)
def test_hidden_characters_go_and_controls_become_spaces(name, cleaned):
    assert name_without_hidden_characters(name) == cleaned


@pytest.mark.parametrize(
    "name", ["Alice\nBcc: x", "Alice\r\nBob", "Alice\tBob", "Alice\x1fBob", "Alice\u2028Bob", "Alice\x85Bob"]
)
def test_a_name_with_a_line_break_or_tab_is_refused_as_it_would_be_stored(name):
    with pytest.raises(ValidationError) as refused:
        validate_name_characters(name)

    assert refused.value.code == "control_characters"
    assert refused.value.messages == [
        "The name can have no line breaks, tabs or other control characters: it is written on one line."
    ]


def test_a_name_with_spaces_or_joiners_passes_the_rule():
    validate_name_characters("Ana  Sousa \U0001f468\u200d\U0001f373")
