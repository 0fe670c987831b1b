"""Counting characters as a person does: one per grapheme cluster, not per code point or UTF-16 unit.

A person counts "é" typed as e + combining accent, 👍🏽, 🇫🇷 and 👨‍👩‍👧 as one character each: the extended
grapheme clusters of Unicode (UAX #29), as the `regex` package's `\\X` finds them. Its tables follow
the Unicode release it was built for, so prepended marks, Thai vowels and conjuncts joined through a
zero-width joiner count as a reader sees them, which a hand-written approximation did not.
"""

import regex

_GRAPHEME_CLUSTER = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    return sum(1 for _ in _GRAPHEME_CLUSTER.finditer(text))
