"""The admin writes help texts into its pages as HTML: an angle bracket there is markup, not text."""

from django.apps import apps


def test_no_help_text_holds_an_angle_bracket_the_admin_would_take_for_markup():
    offending = [
        f"{model._meta.label}.{field.name}: {field.help_text}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if "<" in str(getattr(field, "help_text", ""))
    ]

    assert offending == []
