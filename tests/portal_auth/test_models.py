from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError
from django.utils import timezone

from portal_auth.models import Customer, CustomerToken, hash_token
from tests.factories import CustomerFactory, primary_portal_of


def test_customer_email_is_normalised_on_save(organisation):
    customer = Customer.objects.create(organisation=organisation, email="  Mixed.Case@Example.COM ")
    assert customer.email == "mixed.case@example.com"


def test_customer_email_unique_per_organisation_whatever_the_case(organisation):
    Customer.objects.create(organisation=organisation, email="ana@example.com")
    with pytest.raises(IntegrityError):
        # Bypass save() normalisation: the database constraint itself must hold.
        Customer.objects.bulk_create([Customer(organisation=organisation, email="ANA@example.com")])


def test_same_email_is_a_different_customer_in_another_organisation(organisation, other_organisation):
    first = Customer.objects.create(organisation=organisation, email="ana@example.com")
    second = Customer.objects.create(organisation=other_organisation, email="ana@example.com")
    assert first.pk != second.pk


def test_new_customer_has_no_password_and_never_matches(organisation):
    customer = Customer.objects.create(organisation=organisation, email="ana@example.com")
    assert not customer.has_password
    assert not customer.check_password("")
    assert not customer.check_password("anything at all, really")


def test_set_password_hashes_and_raises_session_version(organisation):
    customer = Customer.objects.create(organisation=organisation, email="ana@example.com")
    version = customer.session_version
    customer.set_password("a long memorable passphrase")
    assert customer.password != "a long memorable passphrase"
    assert customer.check_password("a long memorable passphrase")
    assert not customer.check_password("a long memorable passphrasE")
    assert customer.session_version == version + 1
    assert customer.password_changed_at is not None


def test_production_hasher_is_argon2(settings, organisation):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    customer = Customer.objects.create(organisation=organisation, email="ana@example.com")
    customer.set_password("a long memorable passphrase")
    assert customer.password.startswith("argon2$argon2id$")
    assert customer.check_password("a long memorable passphrase")


def test_token_is_stored_only_as_its_hash(customer):
    token, raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    assert len(raw) >= 64
    stored = CustomerToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(raw)
    assert raw not in {str(value) for value in CustomerToken.objects.values_list(flat=False).get(pk=token.pk)}


@pytest.mark.parametrize(
    "change",
    [
        {"used_at": timezone.now()},
        {"revoked_at": timezone.now()},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
    ],
    ids=["used", "revoked", "expired"],
)
def test_token_not_usable_once_used_revoked_or_expired(customer, change):
    token, raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    CustomerToken.objects.filter(pk=token.pk).update(**change)
    found = CustomerToken.find_usable(
        organisation=customer.organisation, purpose=CustomerToken.Purpose.SET_PASSWORD, token_hash=hash_token(raw)
    )
    assert found is None


def test_token_only_works_for_its_organisation_and_purpose(customer, other_organisation):
    _, raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    assert (
        CustomerToken.find_usable(organisation=other_organisation, purpose="set_password", token_hash=hash_token(raw))
        is None
    )
    assert (
        CustomerToken.find_usable(organisation=customer.organisation, purpose="access_link", token_hash=hash_token(raw))
        is None
    )
    assert (
        CustomerToken.find_usable(
            organisation=customer.organisation, purpose="set_password", token_hash=hash_token(raw)
        )
        is not None
    )


def test_token_of_deactivated_customer_is_not_usable(organisation):
    customer = CustomerFactory(organisation=organisation, is_active=False)
    _, raw = CustomerToken.issue(customer=customer, purpose="set_password", lifetime=timedelta(hours=1))
    assert (
        CustomerToken.find_usable(organisation=organisation, purpose="set_password", token_hash=hash_token(raw)) is None
    )


def test_svg_is_recognised_even_behind_a_long_prologue():
    from io import BytesIO

    from portal_core.uploads import SVG, XML, detect_kind

    svg = b'<?xml version="1.0"?>\n<!-- ' + b"x" * 3000 + b' -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert detect_kind(BytesIO(svg)) is SVG
    assert detect_kind(BytesIO(b'<?xml version="1.0"?><order id="1"/>')) is XML


@pytest.mark.parametrize(
    ("lifetime", "message"),
    [
        (timedelta(minutes=59), "A portal session lasts at least one hour."),
        (timedelta(0), "A portal session lasts at least one hour."),
        (timedelta(days=-1), "A portal session lasts at least one hour."),
        (timedelta(days=30, seconds=1), "A portal session lasts at most 30 days."),
        (timedelta(days=10_000), "A portal session lasts at most 30 days."),
    ],
)
def test_a_session_lifetime_out_of_bounds_does_not_validate(organisation, lifetime, message):
    organisation.session_lifetime = lifetime

    with pytest.raises(ValidationError) as error:
        organisation.full_clean()

    assert error.value.message_dict["session_lifetime"] == [message]


@pytest.mark.parametrize("lifetime", [timedelta(hours=1), timedelta(days=1), timedelta(days=30)])
def test_a_session_lifetime_within_bounds_validates(organisation, lifetime):
    organisation.session_lifetime = lifetime

    organisation.full_clean()


def test_a_logo_named_past_255_bytes_is_stored_under_a_random_name(organisation):
    name = "ロゴ" * 45 + ".png"  # 270 bytes in UTF-8

    portal = primary_portal_of(organisation)
    portal.logo.save(name, ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16))

    portal.refresh_from_db()
    assert portal.logo.name.startswith("logos/") and portal.logo.name.endswith(".png")
    assert "ロ" not in portal.logo.name
    assert portal.logo.storage.exists(portal.logo.name)
