"""Counting characters as a person does: one per grapheme cluster, not per code point or UTF-16 unit.

A person counts "é" typed as e + combining accent, 👍🏽, 🇫🇷 and 👨‍👩‍👧 as one character each. This follows
the extended grapheme cluster rules of Unicode (UAX #29) with the standard library's character
database: combining and spacing marks, zero-width joiner sequences, emoji modifiers and tags,
regional-indicator pairs, Hangul jamo and the Indic conjuncts of Unicode 15.1. Rare sequences
(prepended concatenation marks) count a little high, which only ever errs on the strict side.
"""

from unicodedata import category

ZERO_WIDTH_JOINER = "\u200d"
_ZERO_WIDTH_NON_JOINER = "\u200c"
# The viramas that join consonants into one conjunct (Unicode 15.1, Indic_Conjunct_Break=Linker).
_CONJUNCT_LINKERS = frozenset("\u094d\u09cd\u0acd\u0b4d\u0c4d\u0d4d")
_HANGUL_SYLLABLES = range(0xAC00, 0xD7A4)


def _extends(char: str) -> bool:
    return (
        category(char) in ("Mn", "Me", "Mc")
        or char in (ZERO_WIDTH_JOINER, _ZERO_WIDTH_NON_JOINER)
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin-tone modifiers
        or "\U000e0020" <= char <= "\U000e007f"  # tags (subdivision flags)
    )


def _pictographic(char: str) -> bool:
    return category(char) == "So" or "\U0001f000" <= char <= "\U0001faff"


def _regional_indicator(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _hangul_type(char: str) -> str:
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if code in _HANGUL_SYLLABLES:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


def _hangul_joins(previous: str, char: str) -> bool:
    before, after = _hangul_type(previous), _hangul_type(char)
    return (
        (before == "L" and after in ("L", "V", "LV", "LVT"))
        or (before in ("V", "LV") and after in ("V", "T"))
        or (before in ("LVT", "T") and after == "T")
    )


def grapheme_count(text: str) -> int:
    count = 0
    previous = ""
    regional_run = 0  # regional indicators just before `char`: they pair into flags
    for char in text:
        joins = bool(previous) and (
            (previous == "\r" and char == "\n")
            or (_extends(char) and previous not in "\r\n")
            or (previous == ZERO_WIDTH_JOINER and _pictographic(char))
            or (previous in _CONJUNCT_LINKERS and category(char) == "Lo")
            or (_regional_indicator(char) and regional_run % 2 == 1)
            or _hangul_joins(previous, char)
        )
        regional_run = regional_run + 1 if _regional_indicator(char) else 0
        count += not joins
        previous = char
    return count
