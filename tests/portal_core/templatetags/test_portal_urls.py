"""`{% url %}` and `{% static %}` remember what they answered, and answer as Django's tags would, whatever changed
since."""

import datetime

import pytest
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError
from django.templatetags.static import static
from django.test import RequestFactory
from django.urls import NoReverseMatch, path, reverse, set_script_prefix

from portal_core.templatetags.portal_urls import RememberedStaticNode, RememberedURLNode, _reversed, remembered_static

# Another URLconf, where the home is somewhere else.
urlpatterns = [path("elsewhere/<slug:org>/", lambda request, org: HttpResponse(), name="portal_home")]


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_the_portals_templates_use_it():
    assert isinstance(Template("{% url 'portal_home' org='acme' %}").nodelist[0], RememberedURLNode)


def test_it_answers_as_reverse_and_remembers():
    _reversed.cache_clear()
    for _ in range(2):
        assert render("{% url 'portal_home' org=slug %}", slug="acme") == reverse("portal_home", kwargs={"org": "acme"})
        assert render("{% url 'tickets:detail' org='acme' number=7 %}") == "/acme/support/7/"
        assert render("{% url name org='acme' reference='a&b' %}", name="bookings:detail") == "/acme/bookings/a&amp;b/"
    assert _reversed.cache_info().hits == 3


def test_as_a_variable_and_without_a_match():
    assert render("{% url 'portal_home' org='acme' as home %}[{{ home }}]") == "[/acme/]"
    assert render("{% url 'no_such_page' as home %}[{{ home }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'no_such_page' %}")
    with pytest.raises(TemplateSyntaxError):
        Template("{% url %}")


def test_what_is_not_a_string_or_number_is_reversed_each_time():
    _reversed.cache_clear()
    day = datetime.date(2026, 12, 23)
    assert render("{% url 'bookings:book_times' org='acme' service_id=3 day=day %}", day=day) == reverse(
        "bookings:book_times", kwargs={"org": "acme", "service_id": 3, "day": day}
    )
    assert _reversed.cache_info().currsize == 0


def test_the_script_prefix_and_the_urlconf_are_part_of_the_answer(settings):
    assert render("{% url 'portal_home' org='acme' %}") == "/acme/"
    set_script_prefix("/portal/")
    try:
        assert render("{% url 'portal_home' org='acme' %}") == "/portal/acme/"
    finally:
        set_script_prefix("/")
    settings.ROOT_URLCONF = __name__  # the urlpatterns below
    assert render("{% url 'portal_home' org='acme' %}") == "/elsewhere/acme/"


def test_the_current_app_comes_from_the_request():
    request = RequestFactory().get("/")
    request.current_app = "tickets"
    html = Template("{% url 'tickets:list' org='acme' %}").render(Context({"request": request}))
    assert html == reverse("tickets:list", kwargs={"org": "acme"}, current_app="tickets")


def test_static_answers_as_djangos_and_remembers(settings):
    assert isinstance(Template("{% static 'portal/portal.css' %}").nodelist[0], RememberedStaticNode)
    remembered_static.cache_clear()
    for _ in range(2):
        assert render("{% static 'portal/portal.css' %}") == static("portal/portal.css")
        assert render("{% static path as css %}[{{ css }}]", path="a b&c.css") == f"[{static('a b&c.css')}]".replace(
            "&", "&amp;"
        )
    assert remembered_static.cache_info().hits == 2
    settings.STATIC_URL = "/elsewhere/"
    assert render("{% static 'portal/portal.css' %}").startswith("/elsewhere/portal/portal")
