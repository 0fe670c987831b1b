"""A schema-driven fuzz of the whole API from its own OpenAPI document: no 500, no answer that breaks the schema.

Bounded in examples per operation and in time, so it runs with the rest of the suite.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal_auth.api_keys import api_key_create
from portal_auth.models import ApiCall
from portal_project.wsgi import application
from tests.factories import CustomerFactory, OrganisationFactory

EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def connection_kept():
    """The WSGI calls keep the test's database connection, as Django's test client does: a request's end would
    close it, transaction and all."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_headers(db, settings, connection_kept):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "api_call": "100000/m/key"}
    organisation = OrganisationFactory(doors=["password", "access_link", "api_redirect"])
    CustomerFactory(organisation=organisation, external_id="u-42", email="alice@example.com")
    return {"Authorization": f"Bearer {api_key_create(organisation=organisation, name='Fuzz')[1]}"}


def test_the_api_answers_every_generated_call_within_its_schema(api_headers):
    # Loaded through the portal itself, as a client would: what is fuzzed is the document it serves.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=timedelta(seconds=5),
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_within_schema(case):
            case.call_and_validate(headers=api_headers, checks=[not_a_server_error, response_schema_conformance])

        answers_within_schema()
    # Every operation was called, and each call went into the API log.
    called = set(ApiCall.objects.exclude(key_name="").values_list("endpoint", flat=True))
    assert called == {operation.path for operation in operations}
