"""Policy Markdown becomes HTML that can do nothing but read: whatever staff (or whoever holds their account) type."""

import re

import pytest

from policies.markdown import nested_too_deeply, render_markdown, sanitise

HARMFUL = re.compile(r"<script|<img|<iframe|<style|\son\w+=|javascript:|data:|vbscript:|style=", re.IGNORECASE)


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "Before <script>alert(1)</script> after",
        '<img src="x" onerror="alert(1)">',
        "<iframe src=https://evil.example></iframe>",
        '<a href="javascript:alert(1)">raw link</a>',
        '<p style="position:fixed" onclick="alert(1)">raw block</p>',
        "<style>body { display: none }</style>",
        "<!-- a comment --><div>raw</div>",
    ],
)
def test_raw_html_is_shown_as_text_never_run(markdown):
    html = render_markdown(markdown)

    assert "<" not in html.removeprefix("<p>").removesuffix("</p>\n")  # every tag typed is escaped text
    assert html.startswith("<p>")


@pytest.mark.parametrize(
    "markdown",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "[click]( javascript:alert(1))",
        "[click](<javascript:alert(1)>)",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](file:///etc/passwd)",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",  # an autolink
        "<data:text/html,<script>alert(1)</script>>",
        "![picture](javascript:alert(1))",
        '![picture](https://tracker.example/pixel.png "a pixel")',
    ],
)
def test_links_to_anything_but_web_pages_and_mail_are_not_links(markdown):
    html = render_markdown(markdown)

    assert hrefs(html) in ([], ["https://tracker.example/pixel.png"])
    assert not re.search(r"<(script|img)", html, re.IGNORECASE)
    assert 'href="javascript' not in html.lower() and 'href="data' not in html.lower()


def test_an_image_becomes_a_link_to_it_rather_than_a_picture_from_anywhere():
    html = render_markdown("![Our ferry](https://voyages.example/ferry.jpg)")

    assert "<img" not in html
    assert 'href="https://voyages.example/ferry.jpg"' in html


@pytest.mark.parametrize("top", ["#", "##", "###"])
def test_the_highest_heading_is_an_h2_and_the_others_follow_it_whatever_staff_wrote(top):
    html = render_markdown(f"{top} Refunds\n\n{top}# Within 14 days\n\nText.")

    assert "<h2>Refunds</h2>" in html and "<h3>Within 14 days</h3>" in html


def test_headings_lists_links_and_emphasis_render():
    html = render_markdown(
        "# Refunds\n\n"
        "## Within 14 days\n\n"
        "You get *everything* back, **no questions asked**, ~~minus fees~~.\n\n"
        "- by card\n- by transfer\n\n"
        "3. third\n4. fourth\n\n"
        "> Keep your receipt.\n\n"
        "Write to [us](mailto:help@voyages.example), read [the terms](../terms/) or "
        "[the law](https://law.example/consumer) or <https://voyages.example/help>.\n\n"
        "| Days | Refund |\n| --- | ---: |\n| 14 | 100 % |\n\n"
        "`code` and\n\n    a block\n\n---"
    )

    assert "<h2>Refunds</h2>" in html  # the page's title is its only h1, so headings start at h2
    assert "<h3>Within 14 days</h3>" in html
    assert "<em>everything</em>" in html and "<strong>no questions asked</strong>" in html
    assert "<s>minus fees</s>" in html
    assert "<ul>\n<li>by card</li>\n<li>by transfer</li>\n</ul>" in html
    assert '<ol start="3">' in html
    assert "<blockquote>" in html
    assert hrefs(html) == [
        "mailto:help@voyages.example",
        "../terms/",
        "https://law.example/consumer",
        "https://voyages.example/help",
    ]
    assert html.count('rel="noopener noreferrer nofollow"') == 4
    assert "<th>Refund</th>" in html and "<td>100 %</td>" in html  # alignment needs a style: left out
    assert "<code>code</code>" in html and "<pre><code>a block" in html
    assert "<hr>" in html


def nested_list(depth: int) -> str:
    return "".join("  " * level + f"- item{level}\n" for level in range(depth))


@pytest.mark.parametrize("depth", [10, 40])
def test_lists_nested_deep_lose_no_item(depth):
    html = render_markdown(nested_list(depth))

    assert all(f"<li>item{level}" in html for level in range(depth))
    assert html.count("<ul>") == depth
    assert not nested_too_deeply(nested_list(depth))


def test_lists_or_quotes_nested_deeper_than_the_parser_goes_are_told_apart():
    assert nested_too_deeply(nested_list(60)) and "item59" not in render_markdown(nested_list(60))
    assert nested_too_deeply("> " * 120 + "deep") and not nested_too_deeply("> " * 60 + "deep")


def test_the_sanitiser_alone_stops_what_the_parser_might_let_through():
    # The second lock, tried on HTML the parser would never make.
    html = sanitise(
        '<h1 id="x">Title</h1><p class="c" style="color:red" onclick="alert(1)">Text'
        '<img src="x" onerror="alert(1)"><script>alert(1)</script>'
        '<a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a>'
        '<a href="https://ok.example" target="_blank" rel="opener">ok</a></p>'
        "<iframe src=x></iframe><style>p{}</style><form><input></form>"
    )

    assert not HARMFUL.search(html)
    assert "<h1" not in html and "Title" in html
    assert '<a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a>' in html
    assert hrefs(html) == ["https://ok.example"]
    assert "<form" not in html and "<input" not in html
