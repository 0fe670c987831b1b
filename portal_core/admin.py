"""Behaviour the apps' admins share; each is a mixin put before `admin.ModelAdmin` in the class's bases."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.admin import SimpleListFilter
from django.db.models.constants import LOOKUP_SEP

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object  # a mixin: the ModelAdmin comes with the class it is mixed into


class SecretLookupsRefusedMixin(_AdminBase):
    """Refuses changelist URL filters on the fields named in `secret_fields` (Django answers 400).

    Django lets a URL filter a list by any field of the model itself: counting the rows of `?secret__lt=…` or
    `?secret__regex=^…` recovers a value the change page hides, one character at a time.
    """

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request):
        field_name = lookup.split(LOOKUP_SEP, 1)[0]
        return field_name not in self.secret_fields and super().lookup_allowed(lookup, value, request)


class OrganisationFixedMixin(_AdminBase):
    """The organisation is chosen when the object is made and shown read-only afterwards.

    Moving an object would leave what hangs on it (a portal's links, a customer's sessions, a ticket's number)
    with the organisation it came from.
    """

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "organisation"] if obj is not None else readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:
            return form
        # A read-only field is left out of the checks of unique constraints, and those naming the organisation
        # (one customer per email in it) must still hold.
        return type(form.__name__, (_OrganisationStillChecked, form), {})


class _OrganisationStillChecked:
    def _get_validation_exclusions(self):
        return super()._get_validation_exclusions() - {"organisation"}  # type: ignore[misc]


def fixed_choices_filter(field_name: str, title: str, choices: Sequence[tuple[str, str]]) -> type[SimpleListFilter]:
    """A list filter offering `choices` as they are written: Django's own filter for a field without choices reads
    every distinct value of the table first, a scan of millions of rows on each view of a log."""

    class FixedChoicesFilter(SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            return choices

        def queryset(self, request, queryset):
            value = self.value()
            return queryset if value is None else queryset.filter(**{field_name: value})

    FixedChoicesFilter.title = title
    return FixedChoicesFilter
