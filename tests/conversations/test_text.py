import pytest

from conversations.text import grapheme_count


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("hello", 5),
        ("e\u0301", 1),  # e + combining acute accent
        ("👍🏽", 1),  # skin-tone modifier
        ("👨\u200d👩\u200d👧", 1),  # family: a zero-width-joiner sequence
        ("🏳️\u200d🌈", 1),  # variation selector and joiner
        ("🇫🇷🇩🇪", 2),  # regional indicators pair into flags
        ("🇫🇷🇩", 2),  # an unpaired indicator still counts
        ("1️⃣", 1),  # keycap
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 1),  # Scotland: tag sequence
        ("日本語", 3),
        ("مرحبا", 5),
        ("नमस्ते", 3),  # Devanagari conjunct (Unicode 15.1)
        ("한국어", 3),
        ("\u1100\u1161\u11a8", 1),  # a Hangul syllable typed as jamo
        ("a\r\nb", 3),  # CR LF is one line break
        ("\n\u0301", 2),  # a mark never joins a line break
    ],
)
def test_counts_characters_as_a_person_does(text, count):
    assert grapheme_count(text) == count
