from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from portal_auth.models import Customer, Organisation
from portal_core.templatetags.portal import choice_label
from portal_core.text import name_without_hidden_characters
from portal_core.uploads import StoredUpload


class TicketSettings(models.Model):
    """How an organisation runs its ticket portal."""

    class CustomerAccess(models.TextChoices):
        CONTACT = "contact", "Contact: a customer sees the tickets they requested"
        CONTACT_OR_COMPANY = "contact_or_company", "Contact or Company: also every ticket of their company"

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="ticket_settings"
    )
    customer_access = models.CharField(max_length=20, choices=CustomerAccess.choices, default=CustomerAccess.CONTACT)
    link_on_staff_ticket = models.BooleanField(
        "email a portal link when staff create a ticket",
        default=False,
    )

    class Meta:
        verbose_name = "ticket settings"
        verbose_name_plural = "ticket settings"

    def __str__(self) -> str:
        return f"Ticket settings of {self.organisation}"

    @classmethod
    def for_organisation(cls, organisation: Organisation) -> "TicketSettings":
        # An organisation without a row gets the defaults, unsaved: reading settings never writes.
        try:
            return organisation.ticket_settings
        except cls.DoesNotExist:
            return cls(organisation=organisation)


class Company(models.Model):
    """Customers who share tickets where the organisation's customer access is "Contact or Company"."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="ticket_companies")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(Customer, blank=True, related_name="ticket_companies")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        constraints = [models.UniqueConstraint("organisation", "name", name="company_unique_name_per_organisation")]

    def __str__(self) -> str:
        return self.name


class TicketNumberCounter(models.Model):
    """The last ticket number given in an organisation; its row is locked while the next is taken."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organisation}: {self.last_number}"


class TicketShownFacts:
    """How a ticket's status and priority are shown to its customer: of a Ticket, and of a row of a list."""

    __slots__ = ()
    status: str
    priority: str

    @property
    def customer_status_display(self) -> str:
        """The status as a customer reads it; staff keep `get_status_display()`."""
        return CUSTOMER_STATUS_WORDS[self.status]

    @property
    def priority_label(self) -> str:
        return choice_label(Ticket, "priority", self.priority)


class Ticket(TicketShownFacts, models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        SOLVED = "solved", "Solved"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tickets")
    number = models.PositiveIntegerField(editable=False, help_text="Sequential within the organisation.")
    requester = models.ForeignKey(Customer, on_delete=models.RESTRICT, related_name="tickets")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    subject = models.CharField(max_length=200)
    # What a customer's search compares, upper-cased when the subject is written rather than for each ticket each
    # search reads: a search of the heaviest customer at scale reads 25,000 subjects from the list's indexes.
    subject_folded = models.GeneratedField(
        expression=Upper("subject"), output_field=models.CharField(max_length=200), db_persist=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # What the customer sees as "updated": moved by public activity only, so an internal note leaves no trace.
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # The admin add page that created it (portal_core/sent_once.py): saved again, it creates no second ticket. Unique
    # across organisations, since the page, not the organisation chosen on it, is what was sent twice.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint("organisation", "number", name="ticket_unique_number_per_organisation"),
            models.UniqueConstraint(
                fields=["request_token"], condition=~Q(request_token=""), name="ticket_created_once"
            ),
        ]
        # A customer's list reads each of these in list order (tickets.selectors.TicketList); what they include
        # lets a list, a status filter or a search (by subject or number) be counted from the index alone.
        indexes = [
            models.Index(
                fields=["requester", "-updated_at", "-id"],
                include=["organisation", "status", "number", "subject", "subject_folded"],
                name="ticket_requester_list",
            ),
            models.Index(
                fields=["company", "-updated_at", "-id"],
                include=["organisation", "requester", "status", "number", "subject", "subject_folded"],
                condition=Q(company__isnull=False),
                name="ticket_company_list",
            ),
            models.Index(fields=["organisation", "status"], name="ticket_organisation_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_read_only(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def can_be_marked_solved(self) -> bool:
        return self.status in (self.Status.NEW, self.Status.OPEN, self.Status.PENDING)

    @property
    def agent_name(self) -> str:
        return staff_display_name(self.assigned_agent) if self.assigned_agent_id else ""


# What each status means to the customer, written once for every page and email they see. "Pending"
# is the helpdesk's word for a ticket waiting on the customer, which customers read as waiting on us.
CUSTOMER_STATUS_WORDS: dict[str, str] = {
    Ticket.Status.NEW: "Received — we'll be with you soon",
    Ticket.Status.OPEN: "Open — we're on it",
    Ticket.Status.PENDING: "Waiting for your reply",
    Ticket.Status.SOLVED: "Solved — reply to reopen",
    Ticket.Status.CLOSED: "Closed",
}
CUSTOMER_STATUS_CHOICES = [(status.value, CUSTOMER_STATUS_WORDS[status]) for status in Ticket.Status]


def staff_display_name(user) -> str:
    """What a customer is told of a staff member: their name, never their username or email; without the hidden
    characters that could disguise it, which Django's user admin takes in a name."""
    return name_without_hidden_characters(user.get_full_name() or user.get_short_name()) or "Support team"


def author_name_for(*, customer: Customer | None = None, staff=None) -> str:
    """A message's author as the customer is told: a customer's name (or email), a staff member's name."""
    if customer is not None:
        return customer.name or customer.email
    return staff_display_name(staff) if staff is not None else "Support team"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket_messages"
    )
    author_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket_messages"
    )
    # Who wrote it, as the customer is told (author_name_for), kept when it is written: the page shows a thread
    # without reading its authors' rows, the staff users' least of all.
    author_name = models.CharField(max_length=254, blank=True)  # a name, or an email where there is none
    body = models.TextField()
    internal = models.BooleanField(
        "internal note", default=False, help_text="Seen by staff only, never by the customer."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # The sending (the customer's form, staff's admin page) this message answered: the same one sent again makes no
    # second message.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "internal", "created_at"], name="ticket_message_thread")]
        constraints = [
            models.UniqueConstraint(
                fields=["author_customer", "request_token"],
                condition=~Q(request_token=""),
                name="ticket_message_sent_once",
            ),
            # A staff member's reply, sent once from its admin page (portal_core/staff_reply.py).
            models.UniqueConstraint(
                fields=["ticket", "request_token"],
                condition=~Q(request_token="") & Q(author_staff__isnull=False),
                name="ticket_message_staff_sent_once",
            ),
            models.CheckConstraint(
                condition=Q(author_customer__isnull=True) | Q(author_staff__isnull=True),
                name="ticket_message_one_author",
            ),
            models.CheckConstraint(
                condition=Q(internal=False) | Q(author_customer__isnull=True),
                name="ticket_message_customers_write_no_internal_notes",
            ),
        ]

    def __str__(self) -> str:
        return f"{'Internal note' if self.internal else 'Public message'} of {self.created_at:%d %b %Y %H:%M}"


class TicketAttachment(StoredUpload):
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")

    class Meta:
        ordering = ["pk"]

    def storage_folder(self) -> str:
        # Files stored before random names keep the path they were saved under.
        return f"tickets/{self.message.ticket.organisation_id}"
