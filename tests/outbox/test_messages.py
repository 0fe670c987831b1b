"""OutboxMessage: the MIME form of an outbox email, built without reparsing each header, as Django would build it."""

import email
import email.policy

import pytest
from django.core.mail import EmailMultiAlternatives

from outbox import messages
from outbox.messages import OutboxMessage
from outbox.models import OutboxEmail
from outbox.services import outbox_deliver
from tests.outbox.factories import OutboxEmailFactory
from tests.smtp import html_of, text_of

HEADERS = {"Message-ID": "<outbox-0123456789abcdef@voyages.example>", "X-Outbox-Id": "7"}
PLAIN = {
    "subject": "Your support ticket #12: Lost luggage",
    "text": "Hello Ana,\n\nHere is your link:\nhttps://portal.example.test/x/l/abc/\n",
    "html": '<p>Hello Ana,</p>\n<p><a href="https://portal.example.test/x/l/abc/">Open</a></p>',
    "from_email": '"Voyages Example" <noreply@voyages.example>',
    "to": "ana@example.com",
    "reply_to": "help@voyages.example",
}
UNUSUAL = {
    "subject": "Votre billet n° 12 : « Bagage perdu à Zürich », " + "un sujet très long " * 8,
    "text": "Bonjour Zoë,\n\n" + "é" * 1200 + "\n",  # a line too long for SMTP as it is
    "html": "<p>Bonjour Zoë</p>",
    "from_email": '"Hôtel Étoile, Genève" <noreply@voyages.example>',
    "to": '"Zoë, at home" <zoe@bücher.example>',
    "reply_to": "aide@exämple.example",
}


def django_message(fields):
    message = EmailMultiAlternatives(
        subject=fields["subject"],
        body=fields["text"],
        from_email=fields["from_email"],
        to=[fields["to"]],
        reply_to=[fields["reply_to"]] if fields["reply_to"] else None,
        headers=HEADERS,
    )
    message.attach_alternative(fields["html"], "text/html")
    return message


def lines(text: str) -> str:
    """Text as written, from text as carried by SMTP (its lines end in CRLF)."""
    return text.replace("\r\n", "\n")


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize("fields", [PLAIN, UNUSUAL], ids=["plain", "non-ascii-long-lines"])
def test_an_outbox_email_reads_as_the_message_django_builds(fields):
    ours = parsed(OutboxMessage(**fields, headers=HEADERS).message(policy=email.policy.SMTP).as_bytes())
    django = parsed(django_message(fields).message(policy=email.policy.SMTP).as_bytes())

    for header in ("Subject", "From", "To", "Reply-To", "Message-ID", "X-Outbox-Id", "MIME-Version"):
        assert str(ours[header]) == str(django[header]), header
    assert ours.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in ours.iter_parts()] == ["text/plain", "text/html"]
    assert text_of(ours) == text_of(django) and lines(text_of(ours)) == fields["text"]
    assert html_of(ours) == html_of(django) and lines(html_of(ours)) == fields["html"] + "\n"
    assert ours["Date"].datetime is not None


def test_every_line_ends_in_crlf_and_fits_smtp():
    raw = OutboxMessage(**UNUSUAL, headers=HEADERS).message(policy=email.policy.SMTP).as_bytes()
    lines = raw.split(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in lines) <= 998
    assert b"Content-Transfer-Encoding: quoted-printable" in raw  # the long line's part
    assert b"=?utf-8?" in raw and b"xn--bcher-kva.example" in raw  # encoded words and the IDNA domain


@pytest.mark.parametrize("field", ["subject", "to", "from_email"])
def test_a_header_with_a_line_break_is_refused(field):
    fields = {**PLAIN, field: PLAIN[field] + "\r\nBcc: everyone@example.com"}
    with pytest.raises(ValueError):
        OutboxMessage(**fields, headers=HEADERS).message()


def test_the_boundary_appears_in_neither_body(monkeypatch):
    taken = "aaaaaaaaaaaaaaaaaaaaaaaa"
    candidates = iter([taken, "bbbbbbbbbbbbbbbbbbbbbbbb"])
    monkeypatch.setattr(messages, "token_hex", lambda size: next(candidates))
    fields = {**PLAIN, "text": f"A body quoting =_outbox_{taken} by chance\n"}

    message = parsed(OutboxMessage(**fields, headers=HEADERS).message().as_bytes())

    assert message.get_boundary() == "=_outbox_bbbbbbbbbbbbbbbbbbbbbbbb"
    assert text_of(message) == fields["text"]


@pytest.mark.django_db(transaction=True)
def test_a_real_mail_server_receives_the_outbox_email_as_written(smtp_server, organisation):
    stored = OutboxEmailFactory(
        organisation=organisation,
        subject=UNUSUAL["subject"],
        from_email=UNUSUAL["from_email"],
        to="zoe@example.com",
        reply_to="",
        body_text=UNUSUAL["text"],
        body_html=UNUSUAL["html"],
    )

    assert outbox_deliver(ids=[stored.pk]) == (1, 0, "")

    [message] = smtp_server.messages
    stored.refresh_from_db()
    assert stored.status == OutboxEmail.Status.SENT
    assert message["Subject"] == UNUSUAL["subject"]
    assert message["From"].addresses[0].display_name == "Hôtel Étoile, Genève"
    assert message["To"] == "zoe@example.com" and message["Reply-To"] is None
    assert message["Message-ID"] == stored.message_id and message["X-Outbox-Id"] == str(stored.pk)
    assert lines(text_of(message)) == UNUSUAL["text"] and lines(html_of(message)) == UNUSUAL["html"] + "\n"


@pytest.mark.django_db(transaction=True)
def test_an_international_domain_is_sent_to_itself_not_to_its_ascii_look_alike(smtp_server, organisation):
    """IDNA 2003 (Python's codec, Django's punycode()) maps ß to ss: straße.de would be delivered to strasse.de."""
    stored = OutboxEmailFactory(organisation=organisation, to="zoe@straße.de", reply_to="")

    assert outbox_deliver(ids=[stored.pk]) == (1, 0, "")

    [message] = smtp_server.messages
    assert message.envelope_to == ["zoe@xn--strae-oqa.de"]
    assert message["To"] == "zoe@xn--strae-oqa.de"


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("zoe@example.com", "zoe@example.com"),
        ("Hôtel Étoile <desk@hôtel.example>", "Hôtel Étoile <desk@xn--htel-vqa.example>"),
        ("zoe@ΣΟΦΙΑ.gr", "zoe@xn--mxaprpq.gr"),
    ],
)
def test_addresses_reach_backends_with_their_domain_in_idna_2008(given, sent):
    assert messages.ascii_domain(given) == sent


@pytest.mark.parametrize("address", ["zoe@ex\u200dample.com", "zoe@\u2603.example", "zoe@a\u05d0.com", "no-at-sign"])
def test_an_address_whose_domain_idna_2008_refuses_is_not_sent_anywhere(address):
    with pytest.raises(ValueError):
        messages.ascii_domain(address)
