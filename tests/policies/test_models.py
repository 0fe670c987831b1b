"""policies/models.py: what customers see follows the body however it is saved."""

from policies.models import Policy
from tests.policies.factories import PolicyFactory


def test_the_body_is_rendered_when_saved_even_when_only_the_body_is_named(organisation):
    policy = PolicyFactory(organisation=organisation, body="*One*")
    assert policy.body_html == "<p><em>One</em></p>\n"

    policy.body = "<script>alert(1)</script> **Two**"
    policy.save(update_fields=["body"])

    assert (
        Policy.objects.get(pk=policy.pk).body_html
        == "<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>Two</strong></p>\n"
    )


def test_the_html_is_marked_safe_for_templates_only_as_stored(organisation):
    policy = PolicyFactory(organisation=organisation, body="A & B")

    assert policy.html == "<p>A &amp; B</p>\n"
    assert hasattr(policy.html, "__html__")
