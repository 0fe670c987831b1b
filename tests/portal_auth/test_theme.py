"""A portal's look: its colours under the contrast rule, its theme stylesheet, its logo and favicon, its emails."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from outbox.models import OutboxEmail
from outbox.services import email_enqueue
from portal_auth.models import Portal
from portal_auth.services import password_link_send
from portal_core.colours import contrast_ratio
from portal_core.origin import ClientOrigin
from tests.factories import primary_portal_of

GOLD_ON_WHITE = "#ffd700 and #ffffff contrast 1.4:1; text on buttons needs 4.5:1 — darken the accent or use dark text."


def image_file(name: str, *, size=(64, 64), format="PNG", **save_options) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#0f5c8a").save(buffer, format=format, **save_options)
    return SimpleUploadedFile(name, buffer.getvalue())


def change_url(portal: Portal) -> str:
    return f"/admin/portal_auth/portal/{portal.pk}/change/"


def portal_form(portal: Portal, **overrides) -> dict:
    return {
        "organisation": portal.organisation_id,
        "name": portal.name,
        "slug": portal.slug,
        "is_primary": "on" if portal.is_primary else "",
        "accent_colour": portal.accent_colour,
        "accent_text_colour": portal.accent_text_colour,
        # The sections' rows, left as they are.
        "sections-TOTAL_FORMS": 0,
        "sections-INITIAL_FORMS": 0,
        **overrides,
    }


def errors_of(response) -> list[str]:
    return [error for errors in response.context["adminform"].form.errors.values() for error in errors]


# ---------------------------------------------------------------------------------------------
# The contrast rule


def test_the_contrast_rule_refuses_gold_on_white(organisation):
    portal = primary_portal_of(organisation)
    portal.accent_colour, portal.accent_text_colour = "#ffd700", "#ffffff"

    with pytest.raises(ValidationError) as refused:
        portal.full_clean()

    assert refused.value.message_dict == {"accent_text_colour": [GOLD_ON_WHITE]}


def test_gold_with_dark_text_passes(organisation):
    portal = primary_portal_of(organisation)
    portal.accent_colour, portal.accent_text_colour = "#ffd700", "#1f2328"
    portal.full_clean()


def test_a_malformed_colour_gets_its_own_message_and_no_contrast_one(organisation):
    portal = primary_portal_of(organisation)
    portal.accent_colour = "gold"

    with pytest.raises(ValidationError) as refused:
        portal.full_clean()

    assert refused.value.message_dict == {"accent_colour": ["Use a hex colour such as #1d4ed8."]}


def test_staff_cannot_give_a_portal_gold_buttons_with_white_text(admin_client, organisation):
    portal = primary_portal_of(organisation)

    response = admin_client.post(change_url(portal), portal_form(portal, accent_colour="#FFD700"))

    assert response.status_code == 200
    assert errors_of(response) == [GOLD_ON_WHITE]
    assert "contrast 1.4:1; text on buttons needs 4.5:1" in response.content.decode()
    portal.refresh_from_db()
    assert portal.accent_colour == "#1d4ed8"


def test_a_new_portal_with_gold_on_white_is_refused_and_not_made(admin_client, organisation):
    response = admin_client.post(
        "/admin/portal_auth/portal/add/",
        {
            "organisation": organisation.pk,
            "name": "Gold Tours",
            "slug": "gold-tours",
            "accent_colour": "#ffd700",
            "accent_text_colour": "#ffffff",
            "sections-TOTAL_FORMS": 0,
            "sections-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 200
    assert errors_of(response) == [GOLD_ON_WHITE]
    assert not Portal.objects.filter(slug="gold-tours").exists()


def test_staff_give_a_portal_gold_buttons_with_dark_text(admin_client, organisation):
    portal = primary_portal_of(organisation)

    response = admin_client.post(
        change_url(portal), portal_form(portal, accent_colour="#FFD700", accent_text_colour="#1F2328")
    )

    assert response.status_code == 302
    portal.refresh_from_db()
    assert (portal.accent_colour, portal.accent_text_colour) == ("#ffd700", "#1f2328")


def test_the_admin_offers_colour_pickers_and_only_the_image_kinds_taken(admin_client, organisation):
    html = admin_client.get(change_url(primary_portal_of(organisation))).content.decode()

    assert re.search(r'<input type="color" name="accent_colour" value="#1d4ed8"', html)
    assert re.search(r'<input type="color" name="accent_text_colour" value="#ffffff"', html)
    assert 'accept=".png,.jpg,.jpeg,.webp"' in html and 'accept=".png,.ico"' in html


# ---------------------------------------------------------------------------------------------
# The theme stylesheet


def test_pages_link_the_theme_stylesheet_by_its_version_and_carry_no_inline_style(client, organisation):
    portal = primary_portal_of(organisation)

    html = client.get(f"/{portal.slug}/sign-in/").content.decode()

    assert f'<link rel="stylesheet" href="/{portal.slug}/theme.css?v={portal.theme.version}">' in html
    assert "<style" not in html and " style=" not in html


def test_the_stylesheet_sets_the_portals_colours_and_is_kept_a_year(client, organisation, django_assert_num_queries):
    portal = primary_portal_of(organisation)
    portal.accent_colour, portal.accent_text_colour = "#0f5c8a", "#ffffff"
    portal.save()

    with django_assert_num_queries(1):  # the portal, with its organisation
        response = client.get(f"/{portal.slug}/theme.css", {"v": portal.theme.version})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    css = response.content.decode()
    assert "--accent: #0f5c8a;" in css and "--accent-text: #ffffff;" in css
    # Under the pointer the button darkens, away from its white text.
    hover = re.search(r"--accent-hover: (#[0-9a-f]{6});", css).group(1)
    assert contrast_ratio(hover, "#ffffff") > contrast_ratio("#0f5c8a", "#ffffff")


def test_a_signed_in_customer_gets_the_stylesheet_at_no_further_query(sign_in, customer, django_assert_max_num_queries):
    portal = primary_portal_of(customer.organisation)
    client = sign_in(customer)

    with django_assert_max_num_queries(2):  # the session, who is asking with their portal
        response = client.get(f"/{portal.slug}/theme.css", {"v": portal.theme.version})

    assert response.status_code == 200
    assert "--accent: #1d4ed8;" in response.content.decode()


def test_a_new_colour_gives_the_stylesheet_a_new_address_and_the_old_one_is_not_kept(client, organisation):
    portal = primary_portal_of(organisation)
    old_version = portal.theme.version
    portal.accent_colour = "#0b5d1e"
    portal.save()

    assert portal.theme.version != old_version
    assert f"theme.css?v={portal.theme.version}" in client.get(f"/{portal.slug}/sign-in/").content.decode()
    stale = client.get(f"/{portal.slug}/theme.css", {"v": old_version})
    assert stale["Cache-Control"] == "no-cache"
    assert "--accent: #0b5d1e;" in stale.content.decode()


def test_each_portal_has_its_own_stylesheet(client, organisation):
    Portal.objects.create(organisation=organisation, slug="harbour", name="Harbour", accent_colour="#7a1f5c")

    assert "--accent: #7a1f5c;" in client.get("/harbour/theme.css").content.decode()
    assert "--accent: #1d4ed8;" in client.get(f"/{organisation.slug}/theme.css").content.decode()


def test_no_portal_no_stylesheet(client, db):
    assert client.get("/nowhere/theme.css").status_code == 404


def test_the_stylesheet_answers_only_reads(client, organisation):
    assert client.post(f"/{organisation.slug}/theme.css").status_code == 405


def test_a_light_accent_reads_as_text_in_a_darker_shade_and_lightens_under_the_pointer(organisation):
    portal = primary_portal_of(organisation)
    portal.accent_colour, portal.accent_text_colour = "#ffd700", "#1f2328"

    theme = portal.theme

    assert (theme.accent, theme.accent_text) == ("#ffd700", "#1f2328")
    assert contrast_ratio(theme.accent_ink, "#f4f5f7") >= 4.5
    assert contrast_ratio(theme.accent_hover, "#1f2328") > contrast_ratio("#ffd700", "#1f2328")


def test_a_pair_saved_before_the_rule_still_gets_readable_buttons(client, organisation):
    # Rows are refused a bad pair only when edited; until then their buttons take the better of white or dark text.
    Portal.objects.filter(organisation=organisation).update(accent_colour="#FFD700", accent_text_colour="#ffffff")

    css = client.get(f"/{organisation.slug}/theme.css").content.decode()

    assert "--accent: #ffd700;" in css and "--accent-text: #1f2328;" in css


@pytest.mark.parametrize("accent", ["#0891b2", "#808080", "#7a7a7a"])
def test_a_mid_tone_saved_before_the_rule_gets_black_text_that_reads_at_4_5(client, organisation, accent):
    # Neither white nor the page's dark text reaches 4.5:1 on these (as copied from organisations' colours).
    Portal.objects.filter(organisation=organisation).update(accent_colour=accent, accent_text_colour="#ffffff")

    css = client.get(f"/{organisation.slug}/theme.css").content.decode()

    assert f"--accent: {accent};" in css and "--accent-text: #000000;" in css
    assert contrast_ratio(accent, "#000000") >= 4.5


def test_every_stored_accent_gets_button_text_that_reads_at_4_5(organisation):
    portal = primary_portal_of(organisation)
    for red, green, blue in (
        (red, green, blue) for red in range(0, 256, 15) for green in range(0, 256, 15) for blue in range(0, 256, 15)
    ):
        portal.accent_colour, portal.accent_text_colour = f"#{red:02x}{green:02x}{blue:02x}", "#ffffff"
        theme = portal.theme
        assert contrast_ratio(theme.accent, theme.accent_text) >= 4.5, theme


def test_a_colour_written_around_the_form_never_reaches_the_stylesheet(client, organisation):
    Portal.objects.filter(organisation=organisation).update(accent_colour="red}*{")

    css = client.get(f"/{organisation.slug}/theme.css").content.decode()

    assert "red" not in css and css.count("{") == 1 and "--accent: #1d4ed8;" in css


# ---------------------------------------------------------------------------------------------
# Logo and favicon


def test_staff_upload_a_logo_and_a_favicon_that_every_page_shows(admin_client, client, organisation):
    portal = primary_portal_of(organisation)

    response = admin_client.post(
        change_url(portal),
        portal_form(
            portal,
            logo=image_file("logo.webp", size=(400, 120), format="WEBP"),
            favicon=image_file("favicon.ico", size=(48, 48), format="ICO"),
        ),
    )

    assert response.status_code == 302
    portal.refresh_from_db()
    assert portal.logo.name.startswith("logos/") and portal.favicon.name.startswith("favicons/")
    html = client.get(f"/{portal.slug}/sign-in/").content.decode()
    logo = re.search(r'<img class="brand-logo" src="([^"]+)" alt="">', html).group(1)  # the portal's name follows
    favicon = re.search(r'<link rel="icon" href="([^"]+)">', html).group(1)
    for address, kind, stored in ((logo, "image/webp", portal.logo), (favicon, "image/x-icon", portal.favicon)):
        response = client.get(address)
        assert response.status_code == 200, address
        assert response["Content-Type"] == kind and response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        with stored.open("rb") as file:
            assert b"".join(response.streaming_content) == file.read()


def test_a_new_logo_has_a_new_address_and_an_old_address_is_not_kept(admin_client, client, organisation):
    portal = primary_portal_of(organisation)
    admin_client.post(change_url(portal), portal_form(portal, logo=image_file("first.png")))
    old = re.search(r'class="brand-logo" src="([^"]+)"', client.get(f"/{portal.slug}/sign-in/").content.decode())[1]

    admin_client.post(change_url(portal), portal_form(portal, logo=image_file("second.png", size=(300, 100))))

    new = re.search(r'class="brand-logo" src="([^"]+)"', client.get(f"/{portal.slug}/sign-in/").content.decode())[1]
    assert new != old
    assert client.get(new)["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(old)["Cache-Control"] == "no-cache"  # today's logo, which no one may keep


def test_a_portal_without_a_logo_or_with_a_stored_file_that_is_no_image_serves_none(client, organisation, settings):
    portal = primary_portal_of(organisation)
    assert client.get(f"/{portal.slug}/logo").status_code == 404
    assert client.get(f"/{portal.slug}/favicon").status_code == 404

    portal.logo.save("logo.png", ContentFile(b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>"))

    assert client.get(f"/{portal.slug}/logo").status_code == 404


def test_a_portal_without_a_favicon_links_none(client, organisation):
    assert 'rel="icon"' not in client.get(f"/{organisation.slug}/sign-in/").content.decode()


def test_a_logo_too_large_is_refused_saying_its_size(admin_client, organisation):
    portal = primary_portal_of(organisation)

    response = admin_client.post(change_url(portal), portal_form(portal, logo=image_file("big.png", size=(2400, 300))))

    assert errors_of(response) == ["“big.png” is 2400×300 pixels; it may be at most 2000×2000."]
    portal.refresh_from_db()
    assert not portal.logo


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (image_file("logo.png"), None),
        (image_file("logo.jpg", format="JPEG"), None),
        (image_file("logo.webp", format="WEBP"), None),
        (image_file("logo.gif", format="GIF"), "“logo.gif” is not a file we accept. Allowed: PNG, JPG, WebP."),
        (
            SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
            "“logo.png” is damaged or not what its content first says it is.",
        ),
        (
            SimpleUploadedFile("huge.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024)),
            "“huge.png” is larger than 1 MB, the most one file may be.",
        ),
    ],
    ids=["png", "jpeg", "webp", "gif", "damaged", "over 1 MB"],
)
def test_a_logo_is_judged_as_an_image(organisation, upload, message):
    portal = primary_portal_of(organisation)
    portal.logo = upload

    if message is None:
        portal.full_clean()
    else:
        with pytest.raises(ValidationError) as refused:
            portal.full_clean()
        assert refused.value.message_dict == {"logo": [message]}


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (image_file("favicon.png", size=(180, 180)), None),
        (image_file("favicon.ico", size=(32, 32), format="ICO"), None),
        (
            image_file("wide.png", size=(64, 32)),
            "“wide.png” is 64×32 pixels; it must be square, such as 32×32 or 180×180.",
        ),
        (image_file("big.png", size=(1024, 1024)), "“big.png” is 1024×1024 pixels; it may be at most 512×512."),
        (image_file("icon.jpg", format="JPEG"), "“icon.jpg” is not a file we accept. Allowed: PNG, ICO."),
        (image_file("icon.ico"), "“icon.ico” contains a PNG but its name says otherwise. Rename it to end in .png."),
    ],
    ids=["png", "ico", "not square", "too many pixels", "jpeg", "misnamed"],
)
def test_a_favicon_is_a_small_square_png_or_ico(organisation, upload, message):
    portal = primary_portal_of(organisation)
    portal.favicon = upload

    if message is None:
        portal.full_clean()
    else:
        with pytest.raises(ValidationError) as refused:
            portal.full_clean()
        assert refused.value.message_dict == {"favicon": [message]}


# ---------------------------------------------------------------------------------------------
# Emails


def test_an_email_from_a_portal_wears_its_colours_and_name(organisation, customer):
    portal = Portal.objects.create(
        organisation=organisation,
        slug="harbour",
        name="Harbour Tours",
        accent_colour="#ffd700",
        accent_text_colour="#1f2328",
    )

    password_link_send(
        origin=ClientOrigin(ip="192.0.2.1"), organisation=organisation, email=customer.email, portal=portal
    )

    html = OutboxEmail.objects.get().body_html
    assert "background:#ffd700;padding:16px 24px;color:#1f2328;" in html
    assert "background:#ffd700;color:#1f2328;" in html  # the button
    assert ">Harbour Tours</td>" in html and "Sent by Harbour Tours" in html


def test_an_email_without_a_portal_wears_the_default_colours(organisation, customer):
    email_enqueue(
        organisation=organisation,
        to=customer.email,
        template="portal_auth/emails/password_link",
        context={"customer": customer, "link": "https://portal.example/x", "lifetime_minutes": 60},
    )

    html = OutboxEmail.objects.get().body_html
    assert "background:#1d4ed8;padding:16px 24px;color:#ffffff;" in html
    assert f">{organisation.public_name}</td>" in html
