from django.contrib.auth.models import Permission
from django.test import Client

from portal_auth.models import Organisation
from tests.factories import StaffUserFactory


def organisation_form(organisation, **overrides):
    data = {
        "name": organisation.name,
        "slug": organisation.slug,
        "display_name": "",
        "requires_sign_in": "on",
        "session_lifetime": "1 00:00:00",
        "time_zone": organisation.time_zone,
        "support_email": organisation.support_email,
        "support_phone": "",
        "support_url": "",
        "external_sign_on_url": "",
        "doors": list(organisation.doors),
    }
    data.update(overrides)
    return data


def change_url(organisation):
    return f"/admin/portal_auth/organisation/{organisation.pk}/change/"


def test_staff_turn_on_custom_sign_on_with_a_new_secret_in_one_save(admin_client, organisation):
    response = admin_client.post(
        change_url(organisation),
        organisation_form(
            organisation,
            doors=[*organisation.doors, "external_sign_on"],
            external_sign_on_url="https://login.business.example/",
            rotate_external_sign_on_secret="on",
        ),
    )

    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.external_sign_on_enabled
    assert len(organisation.external_sign_on_secret) >= 64 and organisation.external_sign_on_secret_id
    page = admin_client.get(change_url(organisation)).content.decode()
    # Shown to staff so they can hand it to the business, but not editable.
    assert organisation.external_sign_on_secret in page
    assert 'name="external_sign_on_secret"' not in page
    assert "Generate / rotate custom sign-on secret" in page


def test_turning_on_without_a_secret_is_refused(admin_client, organisation):
    response = admin_client.post(
        change_url(organisation),
        organisation_form(
            organisation,
            doors=[*organisation.doors, "external_sign_on"],
            external_sign_on_url="https://login.business.example/",
        ),
    )

    assert response.status_code == 200
    assert "Custom sign-on needs the business" in response.content.decode()
    organisation.refresh_from_db()
    assert not organisation.external_sign_on_enabled


def test_rotating_keeps_the_old_secret_as_the_previous_one(admin_client, organisation):
    organisation.rotate_external_sign_on_secret()
    organisation.save()
    old_secret, old_id = organisation.external_sign_on_secret, organisation.external_sign_on_secret_id

    admin_client.post(change_url(organisation), organisation_form(organisation, rotate_external_sign_on_secret="on"))

    organisation.refresh_from_db()
    assert organisation.external_sign_on_secret != old_secret
    assert (organisation.external_sign_on_previous_secret, organisation.external_sign_on_previous_secret_id) == (
        old_secret,
        old_id,
    )


def test_secrets_cannot_be_typed_in(admin_client, organisation):
    admin_client.post(change_url(organisation), organisation_form(organisation, external_sign_on_secret="chosen-by-me"))

    organisation.refresh_from_db()
    assert organisation.external_sign_on_secret == ""


def test_rotate_action_on_the_list(admin_client, organisation, other_organisation):
    response = admin_client.post(
        "/admin/portal_auth/organisation/",
        {"action": "rotate_external_sign_on_secrets", "_selected_action": [organisation.pk]},
    )

    assert response.status_code == 302
    assert Organisation.objects.get(pk=organisation.pk).external_sign_on_secret
    assert not Organisation.objects.get(pk=other_organisation.pk).external_sign_on_secret


def staff_who_may_only_view_organisations():
    clerk = StaffUserFactory(is_superuser=False)
    clerk.user_permissions.add(Permission.objects.get(codename="view_organisation"))
    client = Client()
    client.force_login(clerk)
    return client


def test_staff_who_may_only_view_see_the_secrets_masked(organisation):
    organisation.rotate_external_sign_on_secret()
    organisation.rotate_external_sign_on_secret()
    organisation.save()

    response = staff_who_may_only_view_organisations().get(change_url(organisation))

    page = response.content.decode()
    assert response.status_code == 200
    assert organisation.external_sign_on_secret not in page
    assert organisation.external_sign_on_previous_secret not in page
    assert f"••••…{organisation.external_sign_on_secret[-4:]}" in page
    assert f"••••…{organisation.external_sign_on_previous_secret[-4:]}" in page
    assert organisation.external_sign_on_secret_id in page  # the key id is no secret: it names the key in tokens
    assert "Rotate" not in page
    assert Organisation.objects.get(pk=organisation.pk).external_sign_on_secret == organisation.external_sign_on_secret


def test_staff_who_may_change_see_the_secrets_whole(admin_client, organisation):
    organisation.rotate_external_sign_on_secret()
    organisation.rotate_external_sign_on_secret()
    organisation.save()

    page = admin_client.get(change_url(organisation)).content.decode()

    assert organisation.external_sign_on_secret in page
    assert organisation.external_sign_on_previous_secret in page
    assert "••••…" not in page
