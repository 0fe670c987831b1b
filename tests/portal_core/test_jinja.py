"""The customer's pages' template engine: what portal_core/jinja.py adds to Jinja2."""

import datetime
import re
import zoneinfo

import pytest
from django.middleware.csrf import _does_token_match
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import LazyNonce
from markupsafe import Markup

from portal_core import page_cache
from portal_core.templatetags import portal as portal_filters


@pytest.fixture
def render():
    engine = engines["pages"]

    def rendered(source: str, context: dict | None = None, path: str = "/", request=True) -> str:
        return engine.from_string(source).render(context or {}, RequestFactory().get(path) if request else None)

    return rendered


def test_url_answers_what_reverse_answers(render):
    assert render("{{ url('tickets:detail', org='acme', number=7) }}") == reverse(
        "tickets:detail", kwargs={"org": "acme", "number": 7}
    )


def test_url_of_a_name_it_cannot_reverse_fails_loudly(render):
    with pytest.raises(Exception, match="Reverse for 'no-such-page' not found"):
        render("{{ url('no-such-page') }}")


def test_querystring_changes_one_parameter_and_keeps_the_others_escaped(render):
    assert render("{{ querystring(page=3) }}", path="/x/?status=open&page=2") == "?status=open&amp;page=3"


def test_csp_nonce_attr_writes_the_nonce_only_when_there_is_one(render):
    # As the 500 page is rendered: no request, the nonce given.
    assert render("<style{{ csp_nonce_attr() }}>", {"csp_nonce": 'a"b'}, request=False) == '<style nonce="a&quot;b">'
    assert render("<style{{ csp_nonce_attr() }}>", request=False) == "<style>"


def test_csp_nonce_attr_writes_a_lazy_nonce_nothing_has_read_yet(render):
    # Django's LazyNonce is false until read: the 500 page is the first, and only, reader of its nonce.
    nonce = LazyNonce()
    assert render("<style{{ csp_nonce_attr() }}>", {"csp_nonce": nonce}, request=False) == f'<style nonce="{nonce}">'


def test_everything_printed_is_escaped_and_safe_strings_are_not_escaped_twice(render):
    from django.utils.safestring import mark_safe

    assert render("{{ text }}|{{ safe }}", {"text": "<b>'&", "safe": mark_safe("<i>ok</i>")}) == (
        "&lt;b&gt;&#39;&amp;|<i>ok</i>"
    )


def test_pages_escape_even_when_the_settings_ask_otherwise():
    from portal_core.jinja import environment

    assert environment(autoescape=False).from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_missing_values_print_nothing_even_when_chained(render):
    assert render("[{{ missing }}|{{ missing.name.more }}|{% if missing.name %}yes{% endif %}]") == "[||]"


def test_linebreaks_escape_what_they_wrap(render):
    assert render("{{ body|linebreaks }}", {"body": "<script>\n\nhi"}) == "<p>&lt;script&gt;</p>\n\n<p>hi</p>"
    assert render("{{ body|linebreaksbr }}", {"body": "a<b\nc"}) == "a&lt;b<br>c"


def test_in_zone_shows_a_moment_in_the_organisations_zone(render):
    moment = datetime.datetime(2026, 12, 23, 13, 5, tzinfo=datetime.UTC)
    zone = zoneinfo.ZoneInfo("Europe/Athens")
    assert render("{{ when|in_zone(zone)|moment }}", {"when": moment, "zone": zone}) == "23 Dec 2026, 15:05"
    assert render("[{{ when|in_zone(zone)|moment }}]", {"when": None, "zone": zone}) == "[]"


def test_date_and_time_show_a_stored_moment_in_the_current_zone_as_djangos_filters(render):
    moment = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)  # 00:30 the next day in Paris
    with timezone.override(zoneinfo.ZoneInfo("Europe/Paris")):
        page = render('{{ when|date("j M, H:i") }} {{ when|time("H:i") }} {{ when|date("c") }}', {"when": moment})
        djangos = engines["django"].from_string('{{ when|date:"j M, H:i" }} {{ when|time:"H:i" }} {{ when|date:"c" }}')
        assert page == djangos.render({"when": moment}) == "2 Mar, 00:30 00:30 2026-03-02T00:30:00+01:00"


def test_a_page_rendered_for_the_page_cache_has_a_placeholder_for_the_csrf_field():
    request = RequestFactory().get("/")
    setattr(request, page_cache._RENDERING_FOR_CACHE, True)
    page = engines["pages"].from_string("{{ csrf_input }}").render({}, request)
    placeholder = page_cache.placeholders()["csrf_token"]
    assert page == f'<input type="hidden" name="csrfmiddlewaretoken" value="{placeholder}">'


def test_every_form_of_a_page_gets_the_same_masked_token_which_the_csrf_check_accepts(render):
    request = RequestFactory().get("/")
    page = engines["pages"].from_string("{{ csrf_input }}|{{ csrf_input }}").render({}, request)
    first, second = page.split("|")
    assert first == second
    token = re.search(r'value="([^"]+)"', first).group(1)
    assert len(token) == 64  # masked: not the cookie's secret itself
    assert _does_token_match(token, request.META["CSRF_COOKIE"])
    another = engines["pages"].from_string("{{ csrf_input }}").render({}, request)
    assert another != first  # each page masks afresh


def test_the_zone_of_a_page_is_the_zone_current_when_it_renders(render):
    moment = datetime.datetime(2026, 12, 23, 13, 5, tzinfo=datetime.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert render("{{ when|moment }}", {"when": moment}) == "23 Dec 2026, 22:05"
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert render("{{ when|moment }}", {"when": moment}) == "23 Dec 2026, 08:05"
    # Outside a page (an email, the admin) the filter asks Django's current zone itself.
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert portal_filters.moment(moment) == "23 Dec 2026, 22:05"


def test_the_test_client_sees_a_pages_template_and_context(sign_in, customer):
    response = sign_in(customer).get(f"/{customer.organisation.slug}/support/")
    assert "tickets/ticket_list.html" in [template.name for template in response.templates]
    assert response.context["filter_form"] is not None


def test_a_page_printing_a_method_instead_of_calling_it_fails_the_test_that_renders_it(render):
    # tests/conftest.py checks every page the suite renders: Django's templates called methods, Jinja2 does not.
    from django import forms

    assert render("{{ form.non_field_errors() }}", {"form": forms.Form()}) == ""
    with pytest.raises(AssertionError, match="printed an object instead of its value: &lt;bound method "):
        render("{{ form.non_field_errors }}", {"form": forms.Form()})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one line",
        "a\nb",
        "a\r\nb\rc",
        "para one\n\npara two\n\n\n\nthree",
        "<b>'\"&</b>\n\nx",
        "\n\nlead",
        "end\n\n",
    ],
)
def test_linebreaks_write_what_djangos_filters_write(render, text):
    from django.template.defaultfilters import linebreaks_filter, linebreaksbr
    from django.utils.safestring import mark_safe

    def same_escaping(html: str) -> str:
        return html.replace("&#x27;", "&#39;").replace("&quot;", "&#34;")  # markupsafe's spelling

    assert render("{{ t|linebreaks }}", {"t": text}) == same_escaping(linebreaks_filter(text, autoescape=True))
    assert render("{{ t|linebreaksbr }}", {"t": text}) == same_escaping(linebreaksbr(text, autoescape=True))
    safe = mark_safe(text)
    assert render("{{ t|linebreaks }}", {"t": safe}) == linebreaks_filter(safe, autoescape=True)
    assert render("{{ t|linebreaksbr }}", {"t": safe}) == linebreaksbr(safe, autoescape=True)


def test_in_zone_leaves_a_date_as_it_is(render):
    assert render("{{ day|in_zone(zone)|short_day }}", {"day": datetime.date(2026, 12, 23), "zone": datetime.UTC}) == (
        "23 Dec 2026"
    )


def test_every_page_template_compiles():
    # A page no test renders would otherwise show its syntax error to the first customer who opens it.
    from django.conf import settings

    engine = engines["pages"]
    folders = [*settings.TEMPLATES[0]["DIRS"], *(path for path in engine.template_dirs if path.name == "jinja2")]
    names = {str(file.relative_to(folder)) for folder in folders for file in folder.rglob("*.html")}
    assert len(names) > 60
    for name in sorted(names):
        engine.get_template(name)


ESCAPING_CASES = [
    "{{ text }}",
    "{{ number }}|{{ 3 }}|{{ 2.5 }}|{{ none }}|{{ flag }}",
    "{{ safe }}|{{ text|safe }}|{{ text|e }}",
    "{% macro tag(a) %}<b>{{ a }}</b>{% endmacro %}{{ tag(text) }}{{ tag(safe) }}",
    "{% set kept %}<i>{{ text }}</i>{% endset %}{{ kept }}|{{ kept|upper }}",
    "{{ text ~ '&' }}|{{ safe ~ text }}|{{ [text, safe]|join(', ') }}",
    "{% filter upper %}{{ text }}{% endfilter %}",
    "{% for item in items %}{{ loop.index }}:{{ item }};{% endfor %}",
    "{{ missing }}|{{ missing.deeper }}|{{ text if flag else safe }}",
    "{% autoescape false %}{{ text }}{% endautoescape %}|{% autoescape flag %}{{ text }}{% endautoescape %}",
]


@pytest.mark.parametrize("source", ESCAPING_CASES)
def test_every_output_is_escaped_exactly_as_jinja2s_own_escape_writes_it(source):
    import jinja2

    context = {
        "text": "<script>alert('x')</script> & \"quoted\"",
        "safe": Markup("<em>kept</em>"),
        "number": 42,
        "none": None,
        "flag": True,
        "items": ["<a>", Markup("<b>"), 7],
    }
    jinjas_own = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    ours = engines["pages"].env
    assert type(ours).code_generator_class is not jinja2.Environment.code_generator_class
    assert ours.from_string(source).render(context) == jinjas_own.from_string(source).render(context)


def test_text_is_escaped_on_a_page(render):
    assert render("{{ text }}", {"text": "<script>&"}) == "&lt;script&gt;&amp;"


def test_the_output_escaper_writes_plain_text_through_markupsafes_own_escaper():
    from portal_core import jinja as portal_jinja

    assert portal_jinja._escape_inner is not None  # the pinned markupsafe: the fast path, not the fallback
    assert type(portal_jinja.escape_output("<a>")) is str
    assert portal_jinja.escape_output("<a href='x'>&") == "&lt;a href=&#39;x&#39;&gt;&amp;"
    assert portal_jinja.escape_output(Markup("<b>")) == "<b>"
    assert portal_jinja.escape_output(5) == "5"


def test_without_markupsafes_escaper_the_output_escaper_falls_back_to_its_escape(monkeypatch):
    from portal_core import jinja as portal_jinja

    monkeypatch.setattr(portal_jinja, "_escape_inner", None)
    assert portal_jinja.escape_output("<a>'") == "&lt;a&gt;&#39;"
    assert portal_jinja.escape_output(Markup("<b>")) == "<b>"
