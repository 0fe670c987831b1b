"""Markdown as staff write it, made into HTML that is safe to show to anyone.

Two locks, each enough alone: the parser treats raw HTML as text and turns only http, https, mailto and
relative links into links; then nh3 keeps only the tags and attributes Markdown makes, whatever got through.
"""

import re

import nh3
from markdown_it import MarkdownIt

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# What Markdown makes, less images (a picture from anywhere would break the page's content policy) and h1 (the
# page's title is its only h1, so headings start at h2).
_TAGS = frozenset(
    {
        *("p", "br", "hr", "blockquote", "pre", "code", "em", "strong", "s", "a"),
        *("h2", "h3", "h4", "h5", "h6", "ul", "ol", "li"),
        *("table", "thead", "tbody", "tr", "th", "td"),
    }
)
# Not a table cell's alignment: inline styles are refused by the content policy anyway.
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
LINK_REL = "noopener noreferrer nofollow"


def _link_allowed(url: str) -> bool:
    scheme = _SCHEME.match(url.strip())
    return scheme is None or scheme.group(1).lower() in _LINK_SCHEMES


# How deep blocks may sit in one another (a list item in a list is two levels, a quote one): deeper, the parser
# drops the rest of the text, so the admin refuses it (nested_too_deeply). The preset's 20 cut lists off at ten.
MAX_NESTING = 100
_parser = (
    MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING})
    .enable(["table", "strikethrough"])
    .disable("image")
)
_parser.validateLink = _link_allowed  # type: ignore[method-assign]


def render_markdown(text: str) -> str:
    """`text` as safe HTML, its highest heading an h2 under the page's h1 (whether staff wrote `#` or `##` for
    it), the others kept in step below it, so the page's outline skips no level."""
    tokens = _parser.parse(text)
    headings = [token for token in tokens if token.type in ("heading_open", "heading_close")]
    shift = 2 - min((int(token.tag[1]) for token in headings), default=2)
    for token in headings:
        token.tag = f"h{min(int(token.tag[1]) + shift, 6)}"
    return sanitise(_parser.renderer.render(tokens, _parser.options, {}))


def nested_too_deeply(text: str) -> bool:
    """Whether lists or quotes in `text` sit so deep in one another that the parser would leave part of it out."""
    return any(token.nesting == 1 and token.level >= MAX_NESTING - 1 for token in _parser.parse(text))


def sanitise(html: str) -> str:
    """`html` with nothing Markdown wouldn't make: no scripts, handlers, styles or links but the allowed ones."""
    return nh3.clean(html, tags=set(_TAGS), attributes=_ATTRIBUTES, url_schemes=set(_LINK_SCHEMES), link_rel=LINK_REL)
