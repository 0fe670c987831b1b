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


@pytest.mark.parametrize(
    ("text", "count"),
    [
        # A joiner glues two pictographs only when a pictograph comes before it.
        ("a\u200d👍", 2),
        ("x\u200d©", 2),
        ("‼\u200d‼", 1),  # "‼" is pictographic though not a symbol (So)
        # A regional indicator is not a pictograph: a joiner between two of them makes no flag.
        ("🇫\u200d🇷", 2),
        # A conjunct stays one character when a joiner sits after the virama (Devanagari kṣa).
        ("क\u094d\u200dष", 1),
        # Marks: Thai sara am is a spacing vowel; Arabic number signs are prepended to what follows.
        ("\u0e01\u0e33", 1),
        ("\u0600\u0661", 1),
        # A mark after a tab or line break does not join it.
        ("\t\u0903", 2),
        # After CR LF, a joiner stands alone and does not reach the emoji after it.
        ("a\r\n\u200d👍", 4),
        # Hangul jamo: agreed on before, kept so a change of library is checked here too.
        ("\u1100\u1161\u11a8\u11a8", 1),
        ("\uac01\u1161", 2),
    ],
)
def test_counts_unusual_sequences_as_unicode_segments_them(text, count):
    assert grapheme_count(text) == count
