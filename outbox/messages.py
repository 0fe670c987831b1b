"""The outbox's emails as Django email messages, whose MIME form is built without parsing every header again.

Django's `EmailMessage.message()` builds the MIME form with the email package's modern API, which parses each
header it is given and folds it again on output: about 2 ms an email, more than half of what sending one
costs the outbox. An outbox email has one shape (a plain-text body, an HTML alternative, one recipient,
headers the outbox wrote itself), so `OutboxMessage` builds that shape with the email package's compat32
policy, which stores headers as given: the same message, the bytes of which take a quarter of the time.
Backends that read the message's fields (anymail's) never call `message()` and see no difference.
"""

import email.policy
from datetime import UTC, datetime
from email import charset as charsets
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.policy import Compat32, Policy
from email.utils import format_datetime, formataddr, parseaddr
from secrets import token_hex
from typing import Any

import idna
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.timezone import get_current_timezone

# Bodies as they are (7bit or 8bit), as Django sends them; quoted-printable only where a line is too long.
_AS_IS = charsets.Charset("utf-8")
_AS_IS.body_encoding = None  # type: ignore[assignment]  # the stubs know only the encodings
_QUOTED = charsets.Charset("utf-8")
_QUOTED.body_encoding = charsets.QP
LINE_LIMIT = 998  # RFC 5322's limit on a line, without its CRLF


class OutboxMessage(EmailMultiAlternatives):
    """An email with a plain-text body and an HTML alternative, to one address, without attachments or Cc."""

    def __init__(
        self, *, subject: str, text: str, html: str, from_email: str, to: str, reply_to: str, headers: dict[str, str]
    ) -> None:
        # Each address as every backend passes it on (SMTP's envelope, an ESP's API): its domain already in ASCII.
        super().__init__(
            subject=subject,
            body=text,
            from_email=ascii_domain(from_email),
            to=[ascii_domain(to)],
            reply_to=[ascii_domain(reply_to)] if reply_to else None,
            headers=headers,
        )
        self.attach_alternative(html, "text/html")

    def message(self, *, policy: Policy | None = None) -> MimeMessage:
        if self.attachments or self.cc or len(self.to) != 1 or len(self.alternatives) != 1:
            return super().message(policy=policy or email.policy.default)  # not an outbox email's shape
        stored_as_given = _STORED_AS_GIVEN.clone(linesep=(policy or email.policy.default).linesep)
        html, _html_type = self.alternatives[0]
        root = MimeMessage(policy=stored_as_given)
        root["Content-Type"] = f'multipart/alternative; boundary="{_boundary(str(self.body), str(html))}"'
        root["MIME-Version"] = "1.0"
        when = datetime.now(get_current_timezone() if settings.EMAIL_USE_LOCALTIME else UTC)
        root["Subject"] = _text(str(self.subject))
        root["From"] = _address(self.from_email)
        root["To"] = _address(self.to[0])
        if self.reply_to:
            root["Reply-To"] = ", ".join(_address(address) for address in self.reply_to)
        root["Date"] = format_datetime(when)
        for name, value in self.extra_headers.items():
            root[name] = _text(str(value))
        root.attach(_text_part(str(self.body), "plain", stored_as_given))
        root.attach(_text_part(str(html), "html", stored_as_given))
        return root


class _StoredAsGiven(Compat32):
    """compat32, with a header that fits on its line written out as it is rather than refolded."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, str) and value.isascii() and len(name) + 2 + len(value) <= (self.max_line_length or 78):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_STORED_AS_GIVEN = _StoredAsGiven()


def _boundary(*bodies: str) -> str:
    """A boundary none of the bodies contains (the email package would look for one with a regex each time)."""
    while True:
        boundary = f"=_outbox_{token_hex(12)}"
        if not any(boundary in body for body in bodies):
            return boundary


def _text(value: str) -> str | Header:
    """An unstructured header's value; non-ASCII text as encoded words, folded on output."""
    _no_newline(value)
    return value if value.isascii() else Header(value, "utf-8")


def _no_newline(value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"Header values can't contain newlines (got {value!r}).")


def ascii_domain(value: str) -> str:
    """`value` (`local@domain`, or `Name <local@domain>`) with its domain in ASCII, encoded by IDNA 2008 (UTS 46).

    Not by Python's `idna` codec or Django's punycode(), which follow IDNA 2003: they map ß, ς and the joiners to
    other letters, so `straße.de` would become `strasse.de`, another domain, whose owner would receive the
    customer's sign-in links. A domain IDNA 2008 refuses is a ValueError: the email is not sent anywhere else.
    """
    _no_newline(value)
    display_name, addr_spec = parseaddr(value)
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"Invalid address {value!r}")
    if domain.isascii():
        return value
    try:
        encoded = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise ValueError(f"Invalid domain in {value!r}: {error}") from None
    before, found, after = value.rpartition(f"@{domain}")
    return f"{before}@{encoded}{after}" if found else f"{local}@{encoded}"


def _address(value: str) -> str:
    """`Name <local@domain>` with a non-ASCII name as encoded words (the domain is ASCII: see ascii_domain)."""
    _no_newline(value)
    display_name, addr_spec = parseaddr(value)
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local.isascii() or not domain.isascii():
        raise ValueError(f"Invalid address {value!r}")
    address = str(Address(username=local, domain=domain))
    return formataddr((display_name, address), charset="utf-8")


def _text_part(text: str, subtype: str, policy: Policy) -> MimeMessage:
    part = MimeMessage(policy=policy)
    part["Content-Type"] = f"text/{subtype}"
    text = text if text.endswith("\n") else text + "\n"  # as the modern API ends every body
    too_long = any(len(line) > LINE_LIMIT for line in text.splitlines())
    part.set_payload(text, _QUOTED if too_long else _AS_IS)
    return part
