"""What text from outside (an API call, a sign-on token, a form) may be stored as."""

import unicodedata

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

# Format characters (Unicode's category Cf) draw nothing, yet the bidirectional ones reorder what follows them:
# "Alice\u202egnp.exe" reads "Aliceexe.png" in the admin, an email or a page (Trojan Source, CVE-2021-42574), and
# the zero-width ones make a name differ from the one it looks like. A name needs only the two joiners, and only
# between two characters they join: ZWNJ inside a Persian name (Mohammad-Reza written as one), ZWJ in an Indic
# conjunct or an emoji (man, ZWJ, frying pan: a cook). At either end, beside a space or beside another format
# character, they join nothing. Between two Latin letters they are unseen but reorder nothing: a look-alike, as a
# Cyrillic "а" for a Latin "a" is, which no rule on characters can tell from a name.
NAME_JOINERS = frozenset("\u200c\u200d")


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


def has_invisible_formatting(text: str) -> bool:
    """Whether `text`, a name or a label on one line, holds a format character that has no place there: a
    bidirectional control (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), a zero-width space, a word
    joiner, a byte order mark, or a joiner that joins nothing (see NAME_JOINERS)."""
    if text.isprintable():  # no format character at all: the common case, answered without a loop in Python
        return False
    for index, char in enumerate(text):
        if unicodedata.category(char) != "Cf":
            continue
        if char not in NAME_JOINERS:
            return True
        before, after = text[index - 1 : index], text[index + 1 : index + 2]
        if not (_is_joinable(before) and _is_joinable(after)):
            return True
    return False


def _is_joinable(char: str) -> bool:
    return bool(char) and not char.isspace() and unicodedata.category(char) != "Cf"


def one_line(text: str) -> str:
    # A text box can't hold a line break, but a forged post can: an address label must not get an extra line.
    return " ".join(text.split())


def one_line_of_text(text: str, label: str) -> str:
    """`text` from a form on one line, refused as the API refuses it: with a control character (a bell, a
    terminal's escape) or invisible formatting. A name or a label goes into emails, the admin and exports, where
    such characters ring, recolour or disguise it."""
    text = one_line(text)
    if has_unstorable(text):
        raise ValidationError(
            f"{label} can have no control characters (such as a bell or an escape).", code="control_characters"
        )
    if has_invisible_formatting(text):
        raise ValidationError(
            f"{label} can have no invisible formatting characters (such as a right-to-left mark or a zero-width "
            "space): type it again rather than pasting it.",
            code="invisible_formatting",
        )
    return text


# Characters that take a place in a name yet draw nothing: the Hangul fillers (letters by their category, so the rule
# on format characters lets them through), the braille blank, and the marks that are ignored where they are drawn
# (the combining grapheme joiner, Khmer's inherent vowels, Mongolian's and the emoji variation selectors).
BLANK_LOOKING = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f"
    + "".join(chr(code) for code in range(0xFE00, 0xFE10))
)
# Accents and other marks on one letter: Vietnamese puts two, a Tibetan stack four; past that it is no script's
# writing but a tower that spills over the lines around the name, in the admin and in emails ("Zalgo" text).
MARKS_ON_ONE_LETTER = 4


def has_nothing_visible(text: str) -> bool:
    """Whether `text` has no letter, digit, punctuation or symbol that draws something: a name that shows blank."""
    return not any(unicodedata.category(char)[0] in "LNPS" and char not in BLANK_LOOKING for char in text)


def has_stacked_marks(text: str) -> bool:
    """Whether `text` holds more than MARKS_ON_ONE_LETTER combining marks in a row."""
    in_a_row = 0
    for char in text:
        in_a_row = in_a_row + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        if in_a_row > MARKS_ON_ONE_LETTER:
            return True
    return False


def name_of_text(text: str, label: str) -> str:
    """A person's name from a form, refused as one_line_of_text refuses text, and also when it would show as
    nothing ("Hello ,") or as a tower of accents. An empty name is left to the form's own rule on required fields.

    Not part of validate_name_characters: names stored before this rule would stop their rows from being saved.
    """
    text = one_line_of_text(text, label)
    if text and has_nothing_visible(text):
        raise ValidationError(f"{label} needs at least one letter or digit that shows.", code="nothing_visible")
    if has_stacked_marks(text):
        raise ValidationError(
            f"{label} can have at most {MARKS_ON_ONE_LETTER} accents or other marks on one letter.",
            code="stacked_marks",
        )
    return text


# Lines and paragraphs end with these as with "\n" (str.split() takes them for whitespace), yet they aren't controls.
LINE_SEPARATORS = frozenset("\u2028\u2029")


def validate_name_characters(value: str) -> None:
    """A model field's validator: a name typed in the admin is refused as the customer's own forms and the API refuse
    it, for the same reasons (see one_line_of_text)."""
    # The value is stored as given, not as one_line_of_text would give it back: "Alice\nBcc: x" would add a line
    # to an invoice's Bill-to, so it is checked as it comes rather than once collapsed onto one line.
    if has_unstorable(value) or not LINE_SEPARATORS.isdisjoint(value):
        raise ValidationError(
            "The name can have no line breaks, tabs or other control characters: it is written on one line.",
            code="control_characters",
        )
    one_line_of_text(value, "The name")


def name_without_hidden_characters(text: str) -> str:
    """`text`, a name stored before validate_name_characters, as that rule accepts it; a name it accepts unchanged.

    Control characters and line breaks become spaces, collapsed as one_line collapses them; format characters are
    removed but for joiners between two characters they join, as has_invisible_formatting tells them apart.
    """
    if text.isprintable():
        return text
    try:
        validate_name_characters(text)
    except ValidationError:
        pass
    else:
        return text
    # Spaces first: a joiner beside a tab joins nothing, but would seem to before the tab turned into a space.
    spaced = "".join(_spaced(char) for char in text)
    # Joiners are judged once the rest are gone: "Mohammad<ZWNJ><RLO>Reza" keeps the joiner its script needs.
    joiners_left = "".join(char for char in spaced if char in NAME_JOINERS or unicodedata.category(char) != "Cf")
    kept = []
    for index, char in enumerate(joiners_left):
        if char in NAME_JOINERS:
            # Only joiners go now, so the two characters a kept joiner was judged by stay beside it.
            before, after = joiners_left[index - 1 : index], joiners_left[index + 1 : index + 2]
            if not (_is_joinable(before) and _is_joinable(after)):
                continue
        kept.append(char)
    return one_line("".join(kept))


def _spaced(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cs":  # half of a character, which no database stores
        return ""
    return " " if category == "Cc" or char in LINE_SEPARATORS else char


def size_label(size: int) -> str:
    """A limit as people write it: "3 MB", "10 MB", "512 KB"."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return filesizeformat(size)
