"""The form renderer writes <input>, <textarea> and <select> in Python: the markup of Django's templates, always."""

import datetime
import decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from portal_core.form_renderer import PortalFormRenderer


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


WIDGETS = [
    forms.TextInput(attrs={"on": True, "off": False, "none": None, "number": 5, "quoted": '<"&>'}),
    forms.TextInput(attrs={"safe": mark_safe("<b>")}),
    forms.TextInput(attrs={"pair": (1, 2)}),
    forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True, "maxlength": "254", "required": True}),
    forms.PasswordInput(render_value=True),
    forms.NumberInput(),
    forms.HiddenInput(),
    MultipleFileInput(attrs={"multiple": True, "accept": ".pdf,.png"}),
    forms.CheckboxInput(),
    forms.DateInput(),
    forms.Textarea(attrs={"rows": 5, "maxlength": "20000"}),
    forms.Select(choices=[("", "Any"), (1, "one"), ("<2>", '"two" & <b>'), (3.5, mark_safe("<i>safe</i>"))]),
    forms.Select(choices=[("Group <A>", [(1, "one"), (2, gettext_lazy("two"))]), ("", "none"), ("x", "ex")]),
    forms.Select(choices=[(True, 5), (datetime.date(2026, 1, 2), datetime.date(2026, 1, 2))]),  # its templates
    forms.NullBooleanSelect(),
    forms.SelectMultiple(choices=[(1, "one"), (2, "two")]),
    forms.RadioSelect(choices=[(1, "one")]),  # rendered from its templates
]
VALUES = [None, "", "text", '<a href="x">&amp;', mark_safe("<i>safe</i>"), "  padded  ", "two\nlines"]
VALUES += [0, 5, 3.5, (1, 2), True, datetime.date(2026, 12, 23), decimal.Decimal("1234.5"), ["1", "x"], "<2>"]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda widget: type(widget).__name__)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_markup_is_the_templates(widget, value):
    attrs = {"id": "id_field", "aria-describedby": 'id_"field"_helptext'}
    try:
        expected = widget.render("na<me", value, attrs=attrs, renderer=DjangoTemplates())
    except TypeError:  # a value the widget can't take (a list for a yes/no select) fails the same either way
        with pytest.raises(TypeError):
            widget.render("na<me", value, attrs=attrs, renderer=PortalFormRenderer())
        return
    assert widget.render("na<me", value, attrs=attrs, renderer=PortalFormRenderer()) == expected


def test_the_plain_widgets_skip_their_templates():
    # Were Django's templates to change, the renderer would quietly fall back to them: this says so instead.
    written = PortalFormRenderer()._written_in_python
    for name in ("text", "email", "password", "hidden", "file", "textarea", "select"):
        assert f"django/forms/widgets/{name}.html" in written
    assert "django/forms/widgets/radio.html" not in written
    assert isinstance(get_default_renderer(), PortalFormRenderer)


def test_a_template_not_djangos_own_is_rendered(monkeypatch):
    renderer = PortalFormRenderer()
    monkeypatch.setattr(PortalFormRenderer, "_is_djangos", lambda self, name, source: not name.endswith("email.html"))
    assert "django/forms/widgets/email.html" not in renderer._written_in_python
    assert "django/forms/widgets/text.html" in renderer._written_in_python
