"""A portal's colours as the pages use them: a small stylesheet of custom properties, served at a versioned address.

The pages carry no inline style (the Content-Security-Policy refuses them): base.html links this stylesheet, whose
address holds a hash of its text, so a browser keeps it until the portal's colours change.
"""

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from portal_core.colours import (
    contrast_ratio,
    is_hex_colour,
    mix,
    readable_on,
    relative_luminance,
    text_contrast_problem,
)

if TYPE_CHECKING:
    from portal_auth.models import Portal

DEFAULT_ACCENT = "#1d4ed8"
DEFAULT_ACCENT_TEXT = "#ffffff"
# portal.css's --text, the dark text a light accent falls back to.
DARK_TEXT = "#1f2328"
BLACK = "#000000"
# The darkest background text in the accent stands on (portal.css's --page); white cards are lighter still.
PAGE_BACKGROUND = "#f4f5f7"


@dataclass(frozen=True)
class Theme:
    accent: str  # the fill of buttons
    accent_text: str  # text on the accent
    accent_hover: str  # the fill of a button under the pointer
    accent_ink: str  # the accent as text, links and focus rings on the page's light backgrounds

    @property
    def stylesheet(self) -> str:
        return (
            ":root {\n"
            f"  --accent: {self.accent};\n"
            f"  --accent-text: {self.accent_text};\n"
            f"  --accent-hover: {self.accent_hover};\n"
            f"  --accent-ink: {self.accent_ink};\n"
            "}\n"
        )

    @cached_property
    def version(self) -> str:
        """Changes whenever the stylesheet does: the `v` of its address."""
        return hashlib.sha256(self.stylesheet.encode()).hexdigest()[:12]


def theme_of(portal: "Portal") -> Theme:
    """The portal's theme, readable whatever its row holds.

    A row saved before the contrast rule (or written by SQL) may hold a pair that fails it: its buttons get
    whichever of white or dark text reads better (black on mid-tones, where neither reads well enough) until someone
    edits the portal, and the admin refuses the pair.
    """
    return _theme(portal.accent_colour, portal.accent_text_colour)


# Every page links the stylesheet by its version, and the contrast sums and the hash cost ~50 µs: a pair of colours
# always gives the same theme, so each pair is worked out once per process (a few pairs per organisation).
@lru_cache(maxsize=1024)
def _theme(accent_colour: str, accent_text_colour: str) -> Theme:
    accent = accent_colour.lower() if is_hex_colour(accent_colour) else DEFAULT_ACCENT
    text = accent_text_colour.lower() if is_hex_colour(accent_text_colour) else DEFAULT_ACCENT_TEXT
    if text_contrast_problem(accent, text):
        text = max((DEFAULT_ACCENT_TEXT, DARK_TEXT), key=lambda candidate: contrast_ratio(accent, candidate))
    if text_contrast_problem(accent, text):
        # On mid-tones (#808080, #0891b2) neither reaches 4.5:1; black always does where white does not.
        text = BLACK
    # Under the pointer the fill moves away from its text, so the hover shade reads at least as well.
    text_is_lighter = relative_luminance(text) > relative_luminance(accent)
    hover = mix(accent, "#000000" if text_is_lighter else "#ffffff", 0.15)
    return Theme(accent=accent, accent_text=text, accent_hover=hover, accent_ink=readable_on(PAGE_BACKGROUND, accent))
