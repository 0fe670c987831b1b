import pytest

from tests.policies.factories import CompanyInformationFactory, PolicyFactory


@pytest.fixture
def make_policy(organisation):
    def _make(**kwargs):
        kwargs.setdefault("organisation", organisation)
        return PolicyFactory(**kwargs)

    return _make


@pytest.fixture
def company(organisation):
    return CompanyInformationFactory(organisation=organisation)
