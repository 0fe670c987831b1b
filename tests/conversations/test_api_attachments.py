"""Files on the messages the conversations API mirrors: checked as a customer's uploads are, all or nothing, and
shown to the customer with their message."""

import base64
import hashlib
import json
from pathlib import Path

import pytest
from django.test import Client
from ninja.parser import Parser

from conversations import services
from conversations.api import body_max_size
from conversations.forms import MAX_ATTACHMENT_SIZE, MAX_ATTACHMENTS
from conversations.models import Attachment, Conversation, Message
from portal_auth.api_keys import api_key_create
from portal_auth.models import Customer
from tests.conversations.conftest import EXE_BYTES, PDF_BYTES, PNG_BYTES, office_bytes
from tests.conversations.test_api import ApiClient, assert_error, conversation_in, detail_path, message_in
from tests.factories import CustomerFactory


@pytest.fixture
def api(organisation):
    return ApiClient(api_key_create(organisation=organisation, name="Backend")[1])


def attachment_in(filename: str, content: bytes, content_type: str = "application/octet-stream") -> dict:
    return {"filename": filename, "content_type": content_type, "content_base64": base64.b64encode(content).decode()}


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def messages_path(conversation) -> str:
    return f"/conversations/{conversation.pk}/messages"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def pdf_of_size(size: int) -> bytes:
    return PDF_BYTES + b"%" * (size - len(PDF_BYTES))


def assert_nothing_written(settings, *, conversations: int = 0, messages: int = 0, customers: int = 0):
    assert Conversation.objects.count() == conversations
    assert Message.objects.count() == messages
    assert Customer.objects.count() == customers
    assert not Attachment.objects.exists()
    assert stored_files(settings) == []


# Added with a message


def test_a_message_comes_with_its_files_the_customer_sees_and_downloads(
    api, conversation, sign_in, settings, mailoutbox
):
    files = [
        # The caller's type is advisory: the file's own bytes say what it is.
        attachment_in("boarding pass.pdf", PDF_BYTES, content_type="image/png"),
        attachment_in("seat map.png", PNG_BYTES, content_type=""),
    ]

    response = api.post(messages_path(conversation), message_in(attachments=files))

    assert response.status_code == 201, response.content
    attachments = list(Attachment.objects.order_by("pk"))
    assert response.json()["attachments"] == [
        {
            "id": attachments[0].pk,
            "filename": "boarding pass.pdf",
            "size": len(PDF_BYTES),
            "content_type": "application/pdf",
        },
        {"id": attachments[1].pk, "filename": "seat map.png", "size": len(PNG_BYTES), "content_type": "image/png"},
    ]
    message = conversation.messages.get()
    assert [(a.message, a.sha256) for a in attachments] == [(message, sha256(PDF_BYTES)), (message, sha256(PNG_BYTES))]
    assert sorted(path.read_bytes() for path in stored_files(settings)) == sorted([PDF_BYTES, PNG_BYTES])
    assert mailoutbox == []  # the channel delivered them already
    client = sign_in(conversation.customer)
    page = client.get(detail_path(conversation)).content.decode()
    base = f"/{conversation.organisation.slug}/conversations/attachments/"
    assert f'href="{base}{attachments[0].pk}/" download>boarding pass.pdf</a>' in page
    assert f'href="{base}{attachments[1].pk}/" download>seat map.png</a>' in page
    download = client.get(f"{base}{attachments[0].pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    other = CustomerFactory(organisation=conversation.organisation)
    assert sign_in(other).get(f"{base}{attachments[0].pk}/").status_code == 404


def test_a_conversation_is_created_with_files_on_its_first_message(api, settings):
    first = message_in(attachments=[attachment_in("letter.docx", office_bytes("word"))])

    response = api.post("/conversations", conversation_in(message=first))

    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.message == Conversation.objects.get().messages.get()
    assert response.json()["message"]["attachments"] == [
        {
            "id": attachment.pk,
            "filename": "letter.docx",
            "size": len(office_bytes("word")),
            "content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    ]
    assert len(stored_files(settings)) == 1


def test_a_file_name_is_cleaned_as_a_customers_is(api, conversation, settings):
    response = api.post(
        messages_path(conversation), message_in(attachments=[attachment_in("C:\\scans\\trip\u202e.pdf\n", PDF_BYTES)])
    )

    assert response.status_code == 201, response.content
    assert response.json()["attachments"][0]["filename"] == "trip.pdf"
    stored = Attachment.objects.get()
    assert stored.original_name == "trip.pdf"
    assert "scans" not in stored.file.name and stored.file.name.endswith(".pdf")


def test_the_most_files_of_the_largest_size_fit_in_one_call(api, conversation, settings):
    """Their base64 is a third larger than the files and far over the limit of every other call."""
    largest = [pdf_of_size(MAX_ATTACHMENT_SIZE - index) for index in range(MAX_ATTACHMENTS)]
    files = [attachment_in(f"part {index}.pdf", content) for index, content in enumerate(largest)]

    response = api.post(messages_path(conversation), message_in(attachments=files))

    assert response.status_code == 201, response.content
    assert sorted(Attachment.objects.values_list("size", flat=True)) == sorted(len(content) for content in largest)
    assert len(stored_files(settings)) == MAX_ATTACHMENTS


# Refused, with nothing written


REFUSALS = [
    pytest.param(
        {"filename": "note.pdf", "content_base64": "JVBERi0=not base64"},
        "attachment_invalid_base64",
        "attachments[1]: “note.pdf” is not in base64",
        id="bad base64",
    ),
    pytest.param(
        {"filename": "note.pdf", "content_base64": "JVBERi0xLjQ\n"},
        "attachment_invalid_base64",
        "attachments[1]: “note.pdf” is not in base64",
        id="line break in base64",
    ),
    pytest.param(
        {"filename": "note.pdf", "content_base64": "JVBERi0é"},
        "attachment_invalid_base64",
        "attachments[1]: “note.pdf” is not in base64",
        id="not ASCII",
    ),
    pytest.param(
        attachment_in("../../setup\u202egpj.exe", EXE_BYTES, content_type="image/jpeg"),
        "attachment_bad_type",
        "attachments[1]: “setupgpj.exe” is not a file we accept. "
        "Allowed: XLSX, CSV, DOC, DOCX, XML, PDF, GIF, JPG, PNG.",
        id="type not accepted",
    ),
    pytest.param(
        attachment_in("photo.png", PDF_BYTES, content_type="image/png"),
        "attachment_bad_extension",
        "attachments[1]: “photo.png” contains a PDF but its name says otherwise. Rename it to end in .pdf.",
        id="name says otherwise",
    ),
    pytest.param(
        attachment_in("empty.pdf", b""),
        "attachment_empty",
        "attachments[1]: “empty.pdf” is empty.",
        id="empty",
    ),
    pytest.param(
        attachment_in("huge.pdf", pdf_of_size(MAX_ATTACHMENT_SIZE + 1)),
        "attachment_too_large",
        "attachments[1]: “huge.pdf” is larger than 3 MB, the most one file may be.",
        id="too large",
    ),
]


@pytest.mark.parametrize(("refused", "code", "message"), REFUSALS)
def test_a_refused_file_adds_no_message_and_stores_nothing(api, conversation, settings, refused, code, message):
    files = [attachment_in("fine.pdf", PDF_BYTES), refused]

    response = api.post(messages_path(conversation), message_in(attachments=files))

    assert assert_error(response, 422, code)["message"].startswith(message)
    assert_nothing_written(settings, conversations=1, customers=1)


@pytest.mark.parametrize(("refused", "code", "message"), REFUSALS[3:4])
def test_a_refused_file_creates_no_conversation_and_no_customer(api, settings, refused, code, message):
    first = message_in(attachments=[attachment_in("fine.pdf", PDF_BYTES), refused])

    response = api.post("/conversations", conversation_in(message=first))

    assert assert_error(response, 422, code)["message"] == message
    assert_nothing_written(settings)


def test_one_file_too_many_is_refused(api, conversation, settings):
    files = [attachment_in(f"{index}.pdf", PDF_BYTES) for index in range(MAX_ATTACHMENTS + 1)]

    response = api.post(messages_path(conversation), message_in(attachments=files))

    body = assert_error(response, 422, "too_many_attachments")
    assert body["message"] == "The message has 7 attachments; it may have at most 6."
    assert_nothing_written(settings, conversations=1, customers=1)


def test_a_failure_while_storing_the_files_leaves_none_of_them(api, conversation, settings, monkeypatch):
    stored = services.stored_upload_save
    calls = []

    def fails_on_the_second(**kwargs):
        calls.append(stored(**kwargs))
        if len(calls) == 2:
            raise OSError("disk full")
        return calls[-1]

    monkeypatch.setattr(services, "stored_upload_save", fails_on_the_second)
    files = [attachment_in(f"{index}.pdf", PDF_BYTES) for index in range(3)]

    response = api.post(messages_path(conversation), message_in(attachments=files))

    assert response.status_code == 500
    assert len(calls) == 2  # two files were written before the failure
    assert_nothing_written(settings, conversations=1, customers=1)


# The size of a call


def test_a_body_over_the_larger_limit_is_a_413_and_writes_nothing(api, conversation, settings):
    limit = body_max_size()
    call = message_in(attachments=[attachment_in("big.pdf", b"")])
    padding = limit + 1 - len(json.dumps(call).encode())
    call["attachments"][0]["content_base64"] = "A" * padding
    body = json.dumps(call).encode()
    assert len(body) == limit + 1

    response = api.client.post(f"/api/v1{messages_path(conversation)}", body, content_type="application/json")

    assert assert_error(response, 413, "too_large")["message"] == "The request body is too large: at most 27 MB."
    assert_nothing_written(settings, conversations=1, customers=1)


def test_the_larger_limit_is_for_the_files_the_rest_keeps_every_calls_limit(api, settings):
    attributes = {"history": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}

    response = api.post("/conversations", conversation_in(attributes=attributes))

    body = assert_error(response, 413, "too_large")
    assert body["message"] == "The request body is too large: at most 2560 KB besides its attachments."
    assert_nothing_written(settings)


def test_a_large_body_sent_as_a_form_is_a_413_not_a_400(api, conversation, settings):
    call = message_in(attachments=[attachment_in("note.txt", b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)])

    response = api.client.post(
        f"/api/v1{messages_path(conversation)}",
        json.dumps(call).encode(),
        content_type="application/x-www-form-urlencoded",
    )

    body = assert_error(response, 413, "too_large")
    assert body["message"] == "The request body is too large: at most 2560 KB besides its files."
    assert_nothing_written(settings, conversations=1, customers=1)


def bodies_parsed(monkeypatch) -> list[bytes]:
    """The bodies the API parses from JSON, recorded as it parses them."""
    parsed: list[bytes] = []
    parse = Parser.parse_body

    def recording_parse(parser, request):
        parsed.append(request.body)
        return parse(parser, request)

    monkeypatch.setattr(Parser, "parse_body", recording_parse)
    return parsed


@pytest.mark.parametrize(
    ("flood", "status", "code"),
    [
        # A million empty attachments: refused by their count, before the body becomes a million Python objects.
        ({"attachments": [{}] * 1_000_000}, 413, "too_large"),
        # Junk in a field the call doesn't have, as large as the files may be.
        ({"unused": [{}] * 1_000_000}, 413, "too_large"),
        # More files than a message may have, each small enough that the body passes every other check.
        (
            {"attachments": [attachment_in(f"{n}.pdf", pdf_of_size(400_000)) for n in range(MAX_ATTACHMENTS + 1)]},
            422,
            "too_many_attachments",
        ),
    ],
    ids=["empty attachments", "junk", "one file too many"],
)
def test_a_large_body_holding_more_than_files_is_refused_before_it_is_parsed(
    api, conversation, settings, monkeypatch, flood, status, code
):
    body = json.dumps({**message_in(), **flood}).encode()
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(body) <= body_max_size()
    parsed = bodies_parsed(monkeypatch)

    response = api.client.post(f"/api/v1{messages_path(conversation)}", body, content_type="application/json")

    assert_error(response, status, code)
    assert parsed == []
    assert_nothing_written(settings, conversations=1, customers=1)


def test_files_whose_slashes_are_escaped_as_some_json_writers_do_are_still_files(api, conversation, settings):
    largest = pdf_of_size(MAX_ATTACHMENT_SIZE)
    files = [attachment_in(f"part {index}.pdf", largest) for index in range(2)]
    call = message_in(attachments=files)
    # PHP's json_encode writes "/" as "\/" unless told not to; in base64 that is one character in 64.
    body = json.dumps(call).replace("/", "\\/").encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = api.client.post(f"/api/v1{messages_path(conversation)}", body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert [a.file.read() for a in Attachment.objects.order_by("pk")] == [largest, largest]


@pytest.mark.parametrize("filename", ["..", ".", "a/..", "x\\..", " . "])
def test_a_file_named_by_dots_alone_is_refused_as_a_file_without_its_extension(api, conversation, settings, filename):
    response = api.post(messages_path(conversation), message_in(attachments=[attachment_in(filename, PDF_BYTES)]))

    body = assert_error(response, 422, "attachment_bad_extension")
    assert body["message"].startswith("attachments[0]: “file” contains a PDF")
    assert_nothing_written(settings, conversations=1, customers=1)


def test_the_larger_limit_is_within_what_the_portal_takes_at_all(settings):
    assert body_max_size() < settings.MAX_REQUEST_BODY


class UnreadableBody:
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_caller_without_a_valid_key_has_no_body_read(conversation):
    response = Client().generic(
        "POST",
        f"/api/v1{messages_path(conversation)}",
        HTTP_AUTHORIZATION="Bearer pk_unknown_key",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(body_max_size()),
        **{"wsgi.input": UnreadableBody()},
    )

    assert_error(response, 401, "unauthorized")


# Sent again


def test_the_same_call_again_answers_with_what_the_first_made_and_stores_no_file_again(api, conversation, settings):
    call = message_in(attachments=[attachment_in("a.pdf", PDF_BYTES), attachment_in("b.png", PNG_BYTES)])
    first = api.post(messages_path(conversation), call)
    files = stored_files(settings)

    again = api.post(messages_path(conversation), call)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Attachment.objects.count() == 2
    assert stored_files(settings) == files


def test_a_conversation_created_again_stores_no_file_again(api, settings):
    call = conversation_in(message=message_in(attachments=[attachment_in("a.pdf", PDF_BYTES)]))
    first = api.post("/conversations", call)
    files = stored_files(settings)

    again = api.post("/conversations", call)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert stored_files(settings) == files and len(files) == 1


OTHER_FILES = [
    pytest.param([attachment_in("a.pdf", PDF_BYTES + b"\n"), attachment_in("b.png", PNG_BYTES)], id="other bytes"),
    pytest.param([attachment_in("c.pdf", PDF_BYTES), attachment_in("b.png", PNG_BYTES)], id="other name"),
    pytest.param([attachment_in("b.png", PNG_BYTES), attachment_in("a.pdf", PDF_BYTES)], id="other order"),
    pytest.param([attachment_in("a.pdf", PDF_BYTES)], id="one fewer"),
    pytest.param([], id="none"),
]


@pytest.mark.parametrize("other_files", OTHER_FILES)
def test_the_same_message_id_with_other_files_is_a_conflict(api, conversation, settings, other_files):
    call = message_in(attachments=[attachment_in("a.pdf", PDF_BYTES), attachment_in("b.png", PNG_BYTES)])
    assert api.post(messages_path(conversation), call).status_code == 201
    files = stored_files(settings)

    response = api.post(messages_path(conversation), {**call, "attachments": other_files})

    assert_error(response, 409, "external_id_taken")
    assert Attachment.objects.count() == 2
    assert stored_files(settings) == files


def test_a_message_first_sent_without_files_is_another_with_them(api, conversation, settings):
    assert api.post(messages_path(conversation), message_in()).status_code == 201

    response = api.post(messages_path(conversation), message_in(attachments=[attachment_in("a.pdf", PDF_BYTES)]))

    assert_error(response, 409, "external_id_taken")
    assert stored_files(settings) == []


def test_the_same_conversation_id_with_other_files_on_its_first_message_is_a_conflict(api, settings):
    first = api.post(
        "/conversations", conversation_in(message=message_in(attachments=[attachment_in("a.pdf", PDF_BYTES)]))
    )
    files = stored_files(settings)

    other = message_in(attachments=[attachment_in("a.pdf", PDF_BYTES + b"\n")])
    response = api.post("/conversations", conversation_in(message=other))

    assert first.status_code == 201
    assert_error(response, 409, "external_id_taken")
    assert stored_files(settings) == files


# The document


def test_the_openapi_document_bounds_the_files(api):
    document = api.client.get("/api/v1/openapi.json").json()

    schemas = document["components"]["schemas"]
    attachments = schemas["MessageIn"]["properties"]["attachments"]
    assert attachments["maxItems"] == MAX_ATTACHMENTS
    content = schemas["AttachmentIn"]["properties"]["content_base64"]
    assert (content["contentEncoding"], content["maxLength"]) == ("base64", 4_194_304)
    assert "413" in document["paths"]["/api/v1/conversations/{id}/messages"]["post"]["responses"]
    # The same key as every other call, under one name.
    assert list(document["components"]["securitySchemes"]) == ["ApiKeyAuth"]
