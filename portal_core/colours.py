"""Colours as WCAG 2.x measures them: relative luminance, contrast ratio, and shades that keep text readable.

Every colour is a hex string, "#rrggbb" (the form the portal's colour fields take).
"""

import math
import re

# WCAG 2.x level AA for normal text: what the text of a button needs against its background.
TEXT_CONTRAST = 4.5

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def is_hex_colour(colour: str) -> bool:
    return bool(_HEX.fullmatch(colour or ""))


def _channels(colour: str) -> tuple[int, int, int]:
    if not is_hex_colour(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _linear(channel: int) -> float:
    # The sRGB transfer function undone, with the constants WCAG 2.x gives.
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """From 0 (black) to 1 (white)."""
    red, green, blue = (_linear(channel) for channel in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (the same luminance) to 21 (black and white), whichever colour is the lighter."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def ratio_label(ratio: float) -> str:
    """ "4.4:1": rounded down, so a ratio just short of a rule never reads as meeting it."""
    return f"{math.floor(ratio * 10) / 10:.1f}:1"


def mix(colour: str, other: str, share: float) -> str:
    """`colour` with `share` (0 to 1) of `other` blended in."""
    blended = (round(a + (b - a) * share) for a, b in zip(_channels(colour), _channels(other), strict=True))
    return "#" + "".join(f"{channel:02x}" for channel in blended)


def readable_on(background: str, colour: str, *, minimum: float = TEXT_CONTRAST) -> str:
    """`colour`, darkened as little as needed to be read as text on the light `background`."""
    shade, share = colour.lower(), 0.0
    while contrast_ratio(shade, background) < minimum and share < 1:
        share = min(1.0, share + 0.05)
        shade = mix(colour.lower(), "#000000", share)
    return shade


def text_contrast_problem(background: str, text: str) -> str | None:
    """Why `text` can't be read on `background` (the message a person setting them sees), or None if it can."""
    ratio = contrast_ratio(background, text)
    if ratio >= TEXT_CONTRAST:
        return None
    if relative_luminance(text) > relative_luminance(background):
        advice = "darken the accent or use dark text"
    else:
        advice = "lighten the accent or use white text"
    return (
        f"{background.lower()} and {text.lower()} contrast {ratio_label(ratio)}; "
        f"text on buttons needs {ratio_label(TEXT_CONTRAST)} — {advice}."
    )
