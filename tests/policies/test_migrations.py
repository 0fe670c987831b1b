"""Pages saved before headings started at h2 are written again."""

import pytest

# The organisations as they are now, their pages before and after.
ORGANISATIONS = ("portal_auth", "0020_help_text_without_angle_brackets")
BEFORE = [ORGANISATIONS, ("policies", "0002_help_text_without_angle_brackets")]
AFTER = [ORGANISATIONS, ("policies", "0003_headings_from_h2")]


@pytest.mark.django_db(transaction=True)
def test_a_page_saved_with_its_headings_a_level_too_low_gets_them_from_h2(migrate):
    apps = migrate(BEFORE)
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Voyages", slug="voyages")
    apps.get_model("policies", "Policy").objects.create(
        organisation_id=organisation.pk,
        kind="terms",
        title="Terms",
        slug="terms",
        body="## Your booking\n\nText.",
        body_html="<h3>Your booking</h3>\n<p>Text.</p>\n",
    )

    apps = migrate(AFTER)

    assert apps.get_model("policies", "Policy").objects.get().body_html == "<h2>Your booking</h2>\n<p>Text.</p>\n"
