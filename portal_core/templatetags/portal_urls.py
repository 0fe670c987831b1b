"""`{% url %}` and `{% static %}` remembering what they answered: builtins of the portal's templates, in place of
Django's tags.

Every page links a dozen addresses (the nav, the stylesheet, signing out, the page's own), and each reverse() walks
the URLconf again (~12 µs a link). Its answer depends on nothing but the URLconf (its resolver, which changes with
the setting), the script prefix, the name, the arguments and the current app, so with those as the key it is
worked out once per process. Only strings and whole numbers are remembered: anything else (a date, a model)
goes to reverse() each time, as before.

A static file's address (~25 µs through the manifest of hashed names) depends on the path and on the storage,
whose manifest is read once when the process starts: remembered per process, forgotten when a test changes the
settings it is built from.
"""

from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as djangos_url_tag
from django.templatetags.static import StaticNode
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=4096)
def _reversed(resolver, script_prefix: str, view_name: str, args: tuple, kwargs: tuple, current_app: str | None) -> str:
    # `resolver` and `script_prefix` are what reverse() reads for itself: in the key, never passed on.
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


def _plain(value) -> bool:
    # A literal name in a template is a SafeString: a str as reverse() reads it.
    return isinstance(value, str) or type(value) is int


def remembered_reverse(view_name, args: tuple = (), kwargs: tuple = (), current_app: str | None = None) -> str:
    """reverse(), worked out once per process for names and arguments that are strings or whole numbers."""
    if not (_plain(view_name) and all(_plain(value) for value in (*args, *(value for _, value in kwargs)))):
        return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)
    return _reversed(get_resolver(get_urlconf()), get_script_prefix(), view_name, args, kwargs, current_app)


class RememberedURLNode(URLNode):
    def render(self, context):
        view_name = self.view_name.resolve(context)
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple((name, value.resolve(context)) for name, value in self.kwargs.items())
        # As Django's tag: the request's current app, else the namespace of the page's own URL.
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = remembered_reverse(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's `{% url %}`, same arguments, same output."""
    node = djangos_url_tag(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)


# What a static file's address is built from: when a test changes one of these, what was remembered is forgotten.
_STATIC_SETTINGS = {"STORAGES", "STATIC_URL", "STATIC_ROOT", "DEBUG", "INSTALLED_APPS"}


@lru_cache(maxsize=1024)
def remembered_static(path: str) -> str:
    return StaticNode.handle_simple(path)


@receiver(setting_changed)
def _forget_static_urls(*, setting, **kwargs):
    if setting in _STATIC_SETTINGS:
        remembered_static.cache_clear()


class RememberedStaticNode(StaticNode):
    def url(self, context):
        path = self.path.resolve(context)
        return remembered_static(path) if isinstance(path, str) else self.handle_simple(path)


@register.tag
def static(parser, token):
    """Django's `{% static %}`, same arguments, same output."""
    return RememberedStaticNode.handle_token(parser, token)
