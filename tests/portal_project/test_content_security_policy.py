"""Every page is served under a Content-Security-Policy: own files only, inline blocks only with the nonce."""

import re

import pytest
from django.test import Client

from tests.factories import primary_portal_of
from tests.tickets.factories import TicketFactory

POLICY_WITHOUT_NONCE = [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
]


def header_nonces(response) -> set[str]:
    """The policy's nonces: one when the page has an inline block, none otherwise (Django leaves it out)."""
    policy = response["Content-Security-Policy"]
    for directive in POLICY_WITHOUT_NONCE:
        assert directive in policy.split("; ")
    assert "unsafe-inline" not in policy
    nonces = set(re.findall(r"'nonce-([^']+)'", policy))
    for nonce in nonces:
        assert f"script-src 'self' 'nonce-{nonce}'" in policy
        assert f"style-src 'self' 'nonce-{nonce}'" in policy
    assert len(nonces) <= 1, policy
    return nonces


def page_nonces(response) -> set[str]:
    return set(re.findall(r'<(?:style|script)\b[^>]*\bnonce="([^"]+)"', response.content.decode()))


def assert_inline_blocks_carry_the_nonce(response) -> None:
    html = response.content.decode()
    assert page_nonces(response) == header_nonces(response)
    # Every inline block has it; style attributes would be refused whatever their nonce.
    inline_blocks = re.findall(r"<style\b[^>]*>|<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert all("nonce=" in tag for tag in inline_blocks), inline_blocks
    assert " style=" not in html


def test_a_portal_page_carries_the_policy_and_links_its_theme_stylesheet(sign_in, customer):
    response = sign_in(customer).get(f"/{customer.organisation.slug}/")
    assert response.status_code == 200
    theme = primary_portal_of(customer.organisation).theme
    assert f'href="/{customer.organisation.slug}/theme.css?v={theme.version}"' in response.content.decode()
    assert "<style" not in response.content.decode()
    assert_inline_blocks_carry_the_nonce(response)


def test_each_response_has_its_own_nonce(admin_client):
    # Portal pages have no inline block; the admin's scripts carry the nonce.
    first = admin_client.get("/admin/")
    second = admin_client.get("/admin/")
    assert first.status_code == second.status_code == 200
    assert header_nonces(first) and header_nonces(second)
    assert header_nonces(first) != header_nonces(second)


def test_a_portal_page_needs_no_nonce(client, organisation):
    response = client.get(f"/{organisation.slug}/sign-in/")
    assert response.status_code == 200
    assert not header_nonces(response)
    assert_inline_blocks_carry_the_nonce(response)


def test_a_missing_page_carries_the_policy(client, organisation):
    response = client.get(f"/{organisation.slug}/no-such-page/")
    assert response.status_code == 404
    assert "We can't find that page" in response.content.decode()
    assert_inline_blocks_carry_the_nonce(response)


@pytest.mark.parametrize("path", ["/admin/", "/admin/tickets/ticket/", "/admin/tickets/ticket/add/"])
def test_admin_pages_render_with_their_scripts_allowed(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    nonces = header_nonces(response)
    assert nonces
    # The admin's scripts are static files of this origin, allowed by 'self'; they carry the nonce too.
    scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"[^>]*>', html)
    assert scripts and all(src.startswith("/") and not src.startswith("//") for src in scripts)
    assert page_nonces(response) == nonces


def test_the_ticket_admin_style_block_carries_the_nonce(admin_client, organisation):
    ticket = TicketFactory(organisation=organisation)
    response = admin_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert response.status_code == 200
    assert "portal-link-button" in response.content.decode()
    assert_inline_blocks_carry_the_nonce(response)


def test_the_server_error_page_carries_the_policy_and_its_style_the_nonce(settings):
    settings.ROOT_URLCONF = "tests.portal_project.failing_urls"
    response = Client(raise_request_exception=False).get("/fail")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "a failure the visitor must not see" not in response.content.decode()
    assert_inline_blocks_carry_the_nonce(response)


def test_a_request_refused_before_any_view_carries_the_policy(client):
    response = client.generic("TRACE", "/")
    assert response.status_code == 405
    assert not header_nonces(response)
