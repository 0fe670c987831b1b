"""What the apps' admins share: `PortalModelAdmin`, which every admin derives from, and mixins put before it."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ValidationError
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object  # a mixin: the ModelAdmin comes with the class it is mixed into


class UrlValuesCheckedMixin(_AdminBase):
    """Values typed into an admin address that no field could hold are refused as Django refuses a wrong filter,
    not answered with a 500: a list's `?created_at__year=99999` (Django checks a filter when it builds the query,
    but a year out of range fails only once the query is written), and an add form's `?invoice=abc` (its initial
    value, which the choice widget looks up) is left out.
    """

    def get_changelist(self, request, **kwargs):
        return WrittenOnceChangeList

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        return {name: value for name, value in initial.items() if _related_value_fits(self.model, name, value)}


class WrittenOnceChangeList(ChangeList):
    """Django's list, whose query is written as soon as it is built: what fails there is a wrong filter (the page
    says so) rather than an error while the page is drawn."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        try:
            queryset.query.get_compiler(queryset.db).as_sql()
        except EmptyResultSet:
            pass  # matches nothing: an empty list, not a wrong one
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error
        return queryset


def _related_value_fits(model: type[Model], name: str, value: Any) -> bool:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return True
    target = getattr(field, "target_field", None) if field.is_relation else None
    if target is None:
        return True
    try:
        for each in value if isinstance(value, list) else [value]:
            target.to_python(each)
    except ValidationError:
        return False
    return True


class PortalModelAdmin(UrlValuesCheckedMixin, admin.ModelAdmin):
    """What every admin of the portal derives from (tests/test_admin_urls.py holds each to it)."""


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

    offered = {str(value) for value, _label in choices}

    class FixedChoicesFilter(SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            return choices

        def queryset(self, request, queryset):
            value = self.value()
            if value is None:
                return queryset
            if value not in offered:
                raise IncorrectLookupParameters(f"{field_name}={value!r} is none of the filter's choices.")
            return queryset.filter(**{field_name: value})

    FixedChoicesFilter.title = title
    return FixedChoicesFilter


# The admins other packages register, held to the same checks.
for _model, _admin_class in ((get_user_model(), UserAdmin), (Group, GroupAdmin), (DBTaskResult, DBTaskResultAdmin)):
    admin.site.unregister(_model)
    admin.site.register(_model, type(_admin_class.__name__, (UrlValuesCheckedMixin, _admin_class), {}))
