"""A staff member's page of something the customer changes too: the reply box on a ticket or a conversation (what
they write, and to whom it goes), a save that keeps what the customer changed while the page was open, and an add
page that creates once however often it is saved."""

import json
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import redirect

from portal_core.sent_once import CreatedAlready, SentOnceForm

if TYPE_CHECKING:
    from portal_core.admin import _AdminBase
else:
    _AdminBase = object

PUBLIC_REPLY = "public"
INTERNAL_NOTE = "internal"


class CustomerChangesKeptForm(forms.Form):
    """Mixed into an admin ModelForm: a save writes the fields of `customer_changed_fields` only where the staff
    member changed them, so a page left open does not undo what the customer changed meanwhile."""

    # What the page showed of `customer_changed_fields`, so a save can tell what the staff member changed.
    shown = forms.CharField(widget=forms.HiddenInput, required=False)

    customer_changed_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shown = {name: self.initial.get(name) for name in self.customer_changed_fields if name in self.fields}
        self.fields["shown"].initial = json.dumps(shown, cls=DjangoJSONEncoder)

    def untouched_fields(self) -> list[str]:
        """The fields of `customer_changed_fields` posted as the page showed them."""
        try:
            shown = json.loads(self.cleaned_data.get("shown") or "{}")
        except ValueError:
            return []
        if not isinstance(shown, dict):
            return []
        return [
            name
            for name in self.customer_changed_fields
            if name in shown and name in self.fields and not self.fields[name].has_changed(shown[name], self[name].data)
        ]

    def keep_customer_changes(self, instance: models.Model) -> list[str]:
        """Before `instance` is saved: each field the staff member left as shown takes the value the row holds now,
        which the customer may have changed since the page was loaded (a reply reopening a solved ticket); the row
        stays locked until the save commits. Returns those fields."""
        untouched = self.untouched_fields()
        if untouched and instance.pk is not None:
            columns = [field.attname for field in instance._meta.concrete_fields if field.name in untouched]
            model = type(instance)
            now = model._default_manager.select_for_update().filter(pk=instance.pk).values(*columns).first()
            for attname, value in (now or {}).items():
                setattr(instance, attname, value)
        return untouched


# What the admin says when the same page is saved again.
REPLY_SENT_ALREADY = "This page's reply was sent already, so it was not sent again."


class ReplySentAlready(Exception):
    """The reply of this page was written (and emailed) already: Save pressed twice, or the POST sent again."""


class StaffReplyForm(SentOnceForm, CustomerChangesKeptForm):
    """Mixed into an admin ModelForm: a labelled reply and a choice, public reply or internal note.

    Each app says in its subclass what each choice means for its customers and when the reply goes out. The fields
    the customer changes too (a reply reopens) are its `customer_changed_fields`. The page's sent-once token
    (`once_token`, in the admin's fieldsets with the reply) lets the app's service write and email its reply once,
    raising ReplySentAlready when the same page is saved again.
    """

    public_reply_means = "Public reply: shown in the customer's portal"
    internal_note_means = "Internal note: seen by staff only"
    reply_when = "Added when you save."

    reply = forms.CharField(
        label="Write a reply", required=False, widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"})
    )
    reply_kind = forms.ChoiceField(label="Send as", initial=PUBLIC_REPLY, widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reply"].help_text = self.reply_when
        choices = [(PUBLIC_REPLY, self.public_reply_means), (INTERNAL_NOTE, self.internal_note_means)]
        self.fields["reply_kind"].choices = choices  # type: ignore[attr-defined]

    def clean_reply(self) -> str:
        # Browsers send line breaks as CR LF; the portal and emails want them once.
        return self.cleaned_data["reply"].replace("\r\n", "\n").strip()

    @property
    def is_internal_note(self) -> bool:
        return self.cleaned_data.get("reply_kind") == INTERNAL_NOTE


class CreatedOnceAdminMixin(_AdminBase):
    """An admin whose add page creates its row once: its form is a SentOnceForm, and its save_model creates the row
    through create_once (portal_core/sent_once.py) with the form's `once_token`.

    The same add page saved again (Save pressed twice, the POST sent again) writes, logs and emails nothing: the
    staff member lands on the row it created, told so.
    """

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except CreatedAlready as already:
            if IS_POPUP_VAR in request.POST:
                # Opened from another page's "+": the row goes back to that page's field, as the first sending's did.
                return self.response_add(request, already.created)
            return created_already_redirect(self, request, already)


def created_already_redirect(model_admin: admin.ModelAdmin, request, already: CreatedAlready) -> HttpResponseRedirect:
    """Where an admin page sent again lands: the change page of the row it created the first time, told so.

    For an add page (CreatedOnceAdminMixin) and for a page of one admin that creates a row of another.
    """
    created, opts = already.created, already.created._meta
    model_admin.message_user(
        request,
        f"The {opts.verbose_name} “{created}” was created already from this page, so it was not created again.",
        messages.WARNING,
    )
    return redirect(f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_change", quote(created.pk))
