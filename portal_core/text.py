"""What text from outside (an API call, a sign-on token) may be stored as."""

import unicodedata


def has_unstorable(text: str) -> bool:
    """Whether `text` holds a control character or a lone surrogate (JSON's "\\ud800").

    PostgreSQL refuses NUL in text, and no database encoding takes a lone surrogate: such text would fail with an
    error where it is saved or its page drawn, instead of being refused. Anything else is someone's name: a
    full-width space, a zero-width non-joiner (Persian), an emoji's joiner (which str.isprintable() refuses).
    """
    return not text.isprintable() and any(is_unstorable(char) for char in text)


def is_unstorable(char: str) -> bool:
    """A control character (NUL, a line break) or a lone surrogate: see has_unstorable."""
    return unicodedata.category(char) in ("Cc", "Cs")
