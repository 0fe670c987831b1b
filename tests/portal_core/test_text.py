"""What a name or a one-line label from outside may hold (portal_core/text.py)."""

import pytest
from django.core.exceptions import ValidationError

from portal_core.text import (
    has_invisible_formatting,
    has_nothing_visible,
    has_stacked_marks,
    name_of_text,
    one_line_of_text,
)

BIDI_CONTROLS = [
    *(chr(code) for code in range(0x202A, 0x202F)),  # embeddings, overrides and their end: LRE RLE PDF LRO RLO
    *(chr(code) for code in range(0x2066, 0x206A)),  # isolates and their end: LRI RLI FSI PDI
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
]


@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=[f"U+{ord(char):04X}" for char in BIDI_CONTROLS])
def test_a_bidirectional_control_anywhere_is_invisible_formatting(control):
    for name in (f"Alice{control}gnp.exe", f"{control}Alice", f"Alice{control}", f"\u0634\u06cc{control}\u0631"):
        assert has_invisible_formatting(name), ascii(name)


@pytest.mark.parametrize(
    "name",
    [
        "Ali\u200bce",  # a zero-width space
        "Ali\u2060ce",  # a word joiner
        "\ufeffAlice",  # a byte order mark
        "Ali\u00adce",  # a soft hyphen
        "Ali\u2063ce",  # an invisible separator
        # Tags are invisible letters, so a flag of Scotland or Wales is refused with them: a name has no need of one.
        "Ana \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    ],
)
def test_other_format_characters_are_invisible_formatting(name):
    assert has_invisible_formatting(name)


@pytest.mark.parametrize(
    "name",
    [
        "\u200cAlice",  # at the start
        "Alice\u200d",  # at the end
        "Ana \u200dSousa",  # beside a space
        "Ana\u200c Sousa",
        "Ana\u200d\u200dSousa",  # two in a row
        "Ana\u200c\u202eSousa",  # beside another format character
        "\u200d",
    ],
)
def test_a_joiner_that_joins_nothing_is_invisible_formatting(name):
    assert has_invisible_formatting(name)


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, a zero-width non-joiner inside the name
        "\u0915\u094d\u200d\u0937\u093e",  # Devanagari, a joiner after a virama for a half form
        "Chef \U0001f468\u200d\U0001f373",  # an emoji made of two and a joiner
        "\u2764\ufe0f\u200d\U0001f525",  # a joiner after a variation selector
    ],
)
def test_joiners_that_join_two_characters_are_not_invisible_formatting(name):
    assert not has_invisible_formatting(name)


def test_a_form_refuses_invisible_formatting_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        one_line_of_text("Alice\u202egnp.exe", "Your name")

    assert refused.value.code == "invisible_formatting"
    assert refused.value.messages == [
        "Your name can have no invisible formatting characters (such as a right-to-left mark or a zero-width space): "
        "type it again rather than pasting it."
    ]


def test_a_form_takes_a_name_on_one_line_with_its_joiners():
    assert one_line_of_text(" Chef\n\U0001f468\u200d\U0001f373 ", "Your name") == "Chef \U0001f468\u200d\U0001f373"


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # Hangul filler: a letter by its category
        "\u115f\u1160",  # Hangul choseong and jungseong fillers
        "\uffa0",  # half-width Hangul filler
        "\u2800",  # braille blank
        "\u3164 \u2800",
        "\u034f",  # combining grapheme joiner
        "\u0301\u0301",  # marks on nothing
    ],
)
def test_a_name_that_draws_nothing_has_nothing_visible(name):
    assert has_nothing_visible(name)


@pytest.mark.parametrize("name", ["Ana", "\u674e", "\u0663", "\U0001f468\u200d\U0001f373", "\u3164Ana", "O'", "-"])
def test_a_name_with_one_character_that_shows_has_something_visible(name):
    assert not has_nothing_visible(name)


@pytest.mark.parametrize(
    ("name", "stacked"),
    [
        ("A" + "\u0301" * 190, True),
        ("A" + "\u0301" * 5, True),
        ("A" + "\u0301" * 4, False),
        ("Nguye\u0323\u0302n", False),  # Vietnamese written decomposed: two marks on the e
        ("\u0f66\u0fb2\u0f74\u0f0b", False),  # Tibetan: a stack below its letter
        ("\u0301\u0301\u0301 \u0301\u0301\u0301", False),  # a space ends a row
    ],
)
def test_more_than_four_marks_on_one_letter_are_stacked(name, stacked):
    assert has_stacked_marks(name) is stacked


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("\u3164", "nothing_visible", "Your name needs at least one letter or digit that shows."),
        ("A" + "\u0301" * 5, "stacked_marks", "Your name can have at most 4 accents or other marks on one letter."),
        ("Ali\u200bce", "invisible_formatting", None),
    ],
)
def test_a_name_from_a_form_is_refused_when_it_would_show_blank_or_as_a_tower(name, code, message):
    with pytest.raises(ValidationError) as refused:
        name_of_text(name, "Your name")

    assert refused.value.code == code
    assert message is None or refused.value.messages == [message]


def test_a_name_from_a_form_is_given_back_on_one_line():
    assert name_of_text("  Nguye\u0323\u0302n \n Van ", "Your name") == "Nguye\u0323\u0302n Van"
    assert name_of_text("", "Your name") == ""
