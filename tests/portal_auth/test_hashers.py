"""Argon2id at OWASP's minimum, and hashes made with Django's own Argon2 parameters upgraded at sign-in."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from markupsafe import escape

from portal_auth.doors.password.forms import SIGN_IN_REFUSED
from portal_auth.hashers import PortalArgon2PasswordHasher
from portal_auth.models import AccessEvent, Customer
from portal_project import settings as production_settings
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory

OWASP_PARAMETERS = "$argon2id$v=19$m=19456,t=2,p=1$"
DJANGO_PARAMETERS = "$argon2id$v=19$m=102400,t=2,p=8$"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = production_settings.PASSWORD_HASHERS


@pytest.fixture
def customer_with_django_hash(organisation):
    return CustomerFactory(
        organisation=organisation, password=make_password(CUSTOMER_PASSWORD, hasher=Argon2PasswordHasher())
    )


def sign_in_with(client, customer, password):
    return client.post(f"/{customer.organisation.slug}/sign-in/", {"email": customer.email, "password": password})


def test_production_hashes_with_argon2id_at_owasps_minimum(production_hashers):
    assert production_settings.PASSWORD_HASHERS[0] == "portal_auth.hashers.PortalArgon2PasswordHasher"
    encoded = make_password("a long memorable passphrase")
    assert encoded.startswith("argon2" + OWASP_PARAMETERS)
    assert PortalArgon2PasswordHasher().verify("a long memorable passphrase", encoded)


def test_sign_in_upgrades_a_hash_made_with_djangos_argon2_parameters(
    production_hashers, client, customer_with_django_hash
):
    customer = customer_with_django_hash
    assert DJANGO_PARAMETERS in customer.password
    response = sign_in_with(client, customer, CUSTOMER_PASSWORD)
    assert response.status_code == 302
    stored = Customer.objects.get(pk=customer.pk)
    assert stored.password.startswith("argon2" + OWASP_PARAMETERS)
    assert stored.check_password(CUSTOMER_PASSWORD)
    # Same password, new parameters: no other session of the customer ends for it.
    assert stored.session_version == customer.session_version
    assert stored.password_changed_at == customer.password_changed_at
    assert AccessEvent.objects.filter(customer=customer, kind=AccessEvent.Kind.SIGN_IN).count() == 1


def test_wrong_password_leaves_an_old_hash_as_it_was(production_hashers, client, customer_with_django_hash):
    customer = customer_with_django_hash
    response = sign_in_with(client, customer, CUSTOMER_PASSWORD + "!")
    assert response.status_code == 200
    assert str(escape(SIGN_IN_REFUSED)) in response.content.decode()  # escaped as the page (Jinja2) does
    assert Customer.objects.get(pk=customer.pk).password == customer.password


def test_a_hash_already_at_owasps_parameters_is_not_rewritten(production_hashers, client, organisation):
    customer = CustomerFactory(organisation=organisation, password=make_password(CUSTOMER_PASSWORD))
    assert sign_in_with(client, customer, CUSTOMER_PASSWORD).status_code == 302
    # A rehash would draw a new salt.
    assert Customer.objects.get(pk=customer.pk).password == customer.password


def most_hashes_at_once(monkeypatch, settings, *, concurrency: int, threads: int = 4) -> int:
    """Run `threads` real argon2 checks together and count how many were inside argon2 at the same time."""
    settings.PASSWORD_HASHING_CONCURRENCY = concurrency
    hasher = PortalArgon2PasswordHasher()
    encoded = Argon2PasswordHasher.encode(hasher, CUSTOMER_PASSWORD, hasher.salt())
    inside, most, lock = 0, 0, threading.Lock()
    argon2_verify = Argon2PasswordHasher.verify

    def counted_verify(self, password, encoded):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            return argon2_verify(self, password, encoded)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted_verify)
    start = threading.Barrier(threads)

    def check() -> bool:
        start.wait()
        return hasher.verify(CUSTOMER_PASSWORD, encoded)

    with ThreadPoolExecutor(threads) as pool:
        assert all(pool.map(lambda _: check(), range(threads)))
    return most


def test_a_process_computes_no_more_hashes_at_once_than_its_bound(monkeypatch, settings):
    assert most_hashes_at_once(monkeypatch, settings, concurrency=1) == 1


def test_a_bound_of_zero_lets_every_thread_hash_at_once(monkeypatch, settings):
    assert most_hashes_at_once(monkeypatch, settings, concurrency=0) > 1
