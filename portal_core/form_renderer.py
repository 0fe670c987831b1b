"""Django's form renderer, writing its plainest widgets (<input>, <textarea>, <select>) in Python.

A widget rendered through its templates (text.html includes input.html, which includes attrs.html and loops over
the attributes) costs ~90 µs; the sign-in form and every reply form render two on each view, and a <select>
includes a template for each of its options. What these templates write is simple enough to write directly, and
the result is the same markup, character for character. Only a template found to be Django's own, with the very
source written out below, is replaced: an override in an app, or a Django whose templates say something else, is
rendered from its template as before.
"""

import html
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import django.forms
from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.safestring import SafeData

_WIDGETS = "django/forms/widgets/"
_DJANGOS_OWN = Path(django.forms.__file__).parent / "templates"

# Django's templates, as the fast paths below write them.
_INCLUDE_INPUT = '{% include "django/forms/widgets/input.html" %}\n'
_INPUT = (
    '<input type="{{ widget.type }}" name="{{ widget.name }}"'
    "{% if widget.value != None %} value=\"{{ widget.value|stringformat:'s' }}\"{% endif %}"
    '{% include "django/forms/widgets/attrs.html" %}>\n'
)
_ATTRS = (
    "{% for name, value in widget.attrs.items %}{% if value is not False %} {{ name }}"
    "{% if value is not True %}=\"{{ value|stringformat:'s' }}\"{% endif %}{% endif %}{% endfor %}"
)
_TEXTAREA = (
    '<textarea name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>\n'
    "{% if widget.value %}{{ widget.value }}{% endif %}</textarea>\n"
)
_SELECT = (
    '<select name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>'
    "{% for group_name, group_choices, group_index in widget.optgroups %}{% if group_name %}\n"
    '  <optgroup label="{{ group_name }}">{% endif %}{% for option in group_choices %}\n'
    "  {% include option.template_name with widget=option %}{% endfor %}{% if group_name %}\n"
    "  </optgroup>{% endif %}{% endfor %}\n"
    "</select>\n"
)
_SELECT_OPTION = (
    '<option value="{{ widget.value|stringformat:\'s\' }}"{% include "django/forms/widgets/attrs.html" %}>'
    "{{ widget.label }}</option>\n"
)
# The widgets whose template is nothing but the include of input.html.
_INPUT_WIDGETS = "text email password number url tel search hidden file checkbox color date datetime time".split()


def _escaped(value) -> str:
    """Django's conditional_escape() without its wrappers for lazy text (a few µs a call, ten calls a widget)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _formatted(value) -> str:
    """`{{ value|stringformat:'s' }}`: the filter keeps what was safe safe, everything else is escaped."""
    text = str(value) if isinstance(value, tuple) else "%s" % value  # noqa: UP031  # the filter's own formatting
    return text if isinstance(value, SafeData) else html.escape(text)


def _attrs(attrs: dict) -> str:
    return "".join(
        f" {_escaped(name)}" + ("" if value is True else f'="{_formatted(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


# What the templates read of the widget's context, with what they write when a key is missing (nothing).
def _input(widget: dict) -> str | None:
    value = widget.get("value")
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return (
        f'<input type="{_escaped(widget.get("type", ""))}" name="{_escaped(widget.get("name", ""))}"'
        f"{shown}{_attrs(widget.get('attrs', {}))}>"
    )


def _textarea(widget: dict) -> str | None:
    value = widget.get("value")
    if value and not isinstance(value, str):
        return None  # {{ widget.value }} would localise a number or a date: the template knows how
    shown = _escaped(value) if value else ""
    name = _escaped(widget.get("name", ""))
    return f'<textarea name="{name}"{_attrs(widget.get("attrs", {}))}>\n{shown}</textarea>'


def _text(value) -> str | None:
    """`{{ value }}` for text (a label, a group's name); None for what the template would localise."""
    return _escaped(value) if isinstance(value, str | Promise) else None


def _select(widget: dict) -> str | None:
    parts = []
    for group_name, group_choices, _index in widget.get("optgroups", ()):
        if group_name:
            if (label := _text(group_name)) is None:
                return None
            parts.append(f'\n  <optgroup label="{label}">')
        for option in group_choices:
            label = _text(option.get("label", ""))
            if option.get("template_name") != f"{_WIDGETS}select_option.html" or label is None:
                return None  # another option template, or a label the template would format
            value = option.get("value")
            parts.append(f'\n  <option value="{_formatted(value)}"{_attrs(option.get("attrs", {}))}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    name = _escaped(widget.get("name", ""))
    return f'<select name="{name}"{_attrs(widget.get("attrs", {}))}>{"".join(parts)}\n</select>'


class PortalFormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        write = self._written_in_python.get(template_name)
        if write is not None and isinstance(widget := context.get("widget"), dict):
            if (markup := write(widget)) is not None:
                return markup
        return super().render(template_name, context, request)

    @cached_property
    def _written_in_python(self) -> dict[str, Callable[[dict], str | None]]:
        """The widget templates rendered in Python: those that are Django's own and say what the code does."""
        shared = self._is_djangos(f"{_WIDGETS}input.html", _INPUT) and self._is_djangos(f"{_WIDGETS}attrs.html", _ATTRS)
        if not shared:
            return {}
        written: dict[str, Callable[[dict], str | None]] = {}
        for name in _INPUT_WIDGETS:
            if self._is_djangos(f"{_WIDGETS}{name}.html", _INCLUDE_INPUT):
                written[f"{_WIDGETS}{name}.html"] = _input
        if self._is_djangos(f"{_WIDGETS}textarea.html", _TEXTAREA):
            written[f"{_WIDGETS}textarea.html"] = _textarea
        if self._is_djangos(f"{_WIDGETS}select.html", _SELECT) and self._is_djangos(
            f"{_WIDGETS}select_option.html", _SELECT_OPTION
        ):
            written[f"{_WIDGETS}select.html"] = _select
        return written

    def _is_djangos(self, template_name: str, source: str) -> bool:
        template = self.get_template(template_name).template
        return Path(template.origin.name).is_relative_to(_DJANGOS_OWN) and template.source == source
