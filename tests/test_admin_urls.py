"""Values typed into an admin address that no field could hold are a wrong filter or a blank field, never a 500."""

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from portal_core.admin import UrlValuesCheckedMixin

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _url_name(model, view: str) -> str:
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"


def test_every_admin_checks_what_its_address_holds():
    unchecked = [
        model._meta.label for model, model_admin in REGISTERED if not isinstance(model_admin, UrlValuesCheckedMixin)
    ]

    assert unchecked == []


def _date_fields(model) -> list[str]:
    return [field.name for field in model._meta.concrete_fields if isinstance(field, models.DateField)]


@pytest.mark.parametrize(
    ("model", "field"),
    [(model, field) for model, _ in REGISTERED for field in _date_fields(model)],
    ids=lambda value: getattr(value, "_meta", None) and value._meta.label or value,
)
def test_a_list_filtered_by_a_year_no_date_can_hold_says_the_filter_is_wrong(admin_client, model, field):
    url = reverse(_url_name(model, "changelist"))

    response = admin_client.get(url, {f"{field}__year": "99999"})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?e=1"


def _relations(model) -> list[str]:
    return [
        field.name
        for field in model._meta.get_fields()
        if field.concrete and (field.many_to_one or field.many_to_many) and not field.auto_created
    ]


@pytest.mark.parametrize(
    ("model", "field"),
    [(model, field) for model, _ in REGISTERED for field in _relations(model)],
    ids=lambda value: getattr(value, "_meta", None) and value._meta.label or value,
)
def test_an_add_form_given_a_related_id_that_is_no_id_opens_blank_there(admin_client, model, field):
    response = admin_client.get(reverse(_url_name(model, "add")), {field: "abc"})

    assert response.status_code in (200, 403)  # 403: an admin nobody adds to (logs, tasks)
    assert b"abc" not in response.content


def test_a_fixed_choices_filter_given_a_value_it_does_not_offer_says_the_filter_is_wrong(admin_client):
    url = reverse("admin:portal_auth_apicall_changelist")

    response = admin_client.get(url, {"status": "abc"})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?e=1"


def test_a_list_filtered_by_a_year_it_can_hold_still_lists(admin_client, organisation):
    url = reverse("admin:portal_auth_organisation_changelist")

    response = admin_client.get(url, {"created_at__year": str(organisation.created_at.year)})

    assert response.status_code == 200
    assert organisation.name in response.content.decode()
