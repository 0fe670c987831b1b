"""A browser's user agent in words a customer recognises: "Chrome on Android".

Deliberately simple: a customer looking down their sessions needs to tell their phone from their laptop,
not a version number. Browsers that dress up as others are tested first (Edge and Opera say "Chrome",
Chrome says "Safari"); what matches nothing is an "Unknown browser", never the raw string.
"""

import re

# (pattern, name), first match wins.
_BROWSERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name)
    for pattern, name in (
        (r"\bEdg(e|A|iOS)?/", "Edge"),
        (r"\b(OPR|Opera|OPiOS)/", "Opera"),
        (r"\bSamsungBrowser/", "Samsung Internet"),
        (r"\b(Firefox|FxiOS)/", "Firefox"),
        (r"\b(Chrome|HeadlessChrome|CriOS|Chromium)/", "Chrome"),
        (r"\bVersion/[\d.]+.*\bSafari/", "Safari"),
        (r"\bMobile/\w+$", "Safari"),  # an app's web view on iOS, which drops "Safari/"
        (r"\bMSIE |\bTrident/", "Internet Explorer"),
    )
)

_SYSTEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name)
    for pattern, name in (
        (r"\bAndroid\b", "Android"),
        (r"\biPhone\b", "iPhone"),
        (r"\biPad\b", "iPad"),
        (r"\bCrOS\b", "ChromeOS"),
        (r"\bWindows\b", "Windows"),
        (r"\bMac OS X\b|\bMacintosh\b", "macOS"),
        (r"\bLinux\b", "Linux"),
    )
)


def _first(patterns: tuple[tuple[re.Pattern[str], str], ...], user_agent: str) -> str:
    return next((name for pattern, name in patterns if pattern.search(user_agent)), "")


def browser_in_words(user_agent: str) -> str:
    """ "Chrome on Android", "Safari on iPhone", "Firefox", "Unknown browser on Windows", "Unknown browser"."""
    browser = _first(_BROWSERS, user_agent) or "Unknown browser"
    system = _first(_SYSTEMS, user_agent)
    return f"{browser} on {system}" if system else browser
