import hashlib
import secrets
import unicodedata
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from portal_auth.doors.registry import EXTERNAL_SIGN_ON, default_door_keys, door_keys_in_order, validate_door_keys
from portal_auth.themes import Theme, theme_of
from portal_core import page_cache
from portal_core.colours import is_hex_colour, text_contrast_problem
from portal_core.sections import OptionalEmail, sections
from portal_core.text import validate_name_characters
from portal_core.uploads import storage_name, validate_favicon, validate_logo


def default_time_zone() -> str:
    return settings.TIME_ZONE


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def logo_path(organisation: "Organisation", filename: str) -> str:
    # Whatever the file was called on the uploader's computer, it fits every file system.
    return storage_name("logos", filename)


def favicon_path(portal: "Portal", filename: str) -> str:
    return storage_name("favicons", filename)


def image_version(stored) -> str:
    """The `?v=` of a portal's logo or favicon address (portal_auth/theme_views.py): its stored name, random for each
    upload, so a new image has a new address and an old one may be kept for a year."""
    return stored.name.rsplit("/", 1)[-1] if stored else ""


class FooterLink(TypedDict):
    title: str
    # From the portal's home, as "policies/terms/": the link follows the portal it is shown in.
    path: str


def normalise_email(email: str) -> str:
    """One spelling per mailbox: trimmed, lower-cased and in Unicode's composed form (NFC: an accent typed as its
    own character or as part of the letter is one spelling), so look-ups are exact matches."""
    return unicodedata.normalize("NFC", (email or "").strip().lower())


# The site's own first path segments: an organisation with one of these slugs could never be reached.
RESERVED_SLUGS = frozenset({"admin", "api", "healthz", "readyz", "static", "media"})


def validate_slug_not_reserved(slug: str) -> None:
    if slug.lower() in RESERVED_SLUGS:
        raise ValidationError(f"“{slug}” is taken by the site itself; choose another.", code="reserved")


def hash_token(raw: str) -> str:
    # Tokens carry 256+ bits of randomness, so a fast hash is enough to make the stored value useless.
    return hashlib.sha256(raw.encode()).hexdigest()


def session_hash(raw: str) -> str:
    """What a page keeps of an emailed token between its link and its button: the hash, as the database does."""
    return hash_token(raw) if raw else ""


class Organisation(models.Model):
    """A business running the portal for its customers: the tenant every query is scoped by."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=60,
        unique=True,
        validators=[validate_slug_not_reserved],
        help_text="Names the organisation in commands and the API; its primary portal starts with the same address.",
    )
    display_name = models.CharField(max_length=200, blank=True, help_text="Shown to customers; the name if empty.")
    requires_sign_in = models.BooleanField(
        "portal authentication",
        default=True,
        help_text="When off, a booking link alone opens its booking.",
    )
    notification_links_sign_in = models.BooleanField(
        "links in notification emails sign the customer in",
        default=False,
        help_text="When on, the link in every email that points into the portal (a reply, a confirmation) signs "
        "its customer in once, within 30 days, after they press a button naming their account. When off, it "
        "leads to the page behind sign-in.",
    )
    session_lifetime = models.DurationField(
        default=timedelta(days=1),
        validators=[
            MinValueValidator(timedelta(hours=1), "A portal session lasts at least one hour."),
            # Beyond a month a stolen session is as good as a password, and the expiry date overflows long before.
            MaxValueValidator(timedelta(days=30), "A portal session lasts at most 30 days."),
        ],
        help_text="How long a customer stays signed in: from one hour to 30 days.",
    )
    time_zone = models.CharField(
        max_length=64,
        choices=time_zone_choices,
        default=default_time_zone,
        db_default="UTC",  # for rows written by SQL
        help_text="Opening hours are set, and every time is shown to customers, in this time zone.",
    )
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    support_url = models.URLField(blank=True)

    doors = models.JSONField(
        "ways to sign in",
        default=default_door_keys,
        blank=True,
        validators=[validate_door_keys],
        help_text="The doors the sign-in page offers; a closed door's pages and links answer “not found”.",
    )

    # The business's own sign-on (the external_sign_on door): it signs HS256 JWTs with one of two secrets,
    # picked by `kid`.
    external_sign_on_url = models.URLField("business login page", blank=True)
    external_sign_on_secret = models.CharField(max_length=128, blank=True)
    external_sign_on_secret_id = models.CharField(max_length=32, blank=True)
    external_sign_on_previous_secret = models.CharField(max_length=128, blank=True)
    external_sign_on_previous_secret_id = models.CharField(max_length=32, blank=True)

    redirect_confirms = models.BooleanField(
        "links from the business's app ask “Continue as …” first",
        default=False,
        help_text="When on, a sign-in URL made through the API shows a page naming the account, whose button signs in; "
        "a URL passed on to someone else within its 30 seconds then signs them in only if they press it. When off, "
        "the URL signs in at once.",
    )

    # The links every page's footer carries (an app's policies, say), grouped by the app that keeps them, each a
    # FooterLink. Kept on this row, which every page reads already, so the footer costs no query; written only
    # through services.organisation_footer_links_set.
    footer_links = models.JSONField(default=dict, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        creating = self._state.adding
        super().save(*args, **kwargs)
        if creating:
            # An organisation has a primary portal from its first moment, at the organisation's slug.
            Portal.objects.create(organisation=self, slug=self.slug, name=self.public_name, is_primary=True)

    def validate_unique(self, exclude=None):
        super().validate_unique(exclude=exclude)
        if self._state.adding and "slug" not in (exclude or ()):
            # Its primary portal takes the address, which must be free in any case (the portals' constraint).
            if Portal.objects.filter(slug__iexact=self.slug).exists():
                raise ValidationError(
                    {"slug": "A portal already has this address, in capitals or not; choose another."}
                )

    @property
    def public_name(self) -> str:
        return self.display_name or self.name

    @property
    def footer_link_list(self) -> list[FooterLink]:
        """Every group's footer links, group after group in the order of their names."""
        return self.footer_links_of(lambda group: True)

    def footer_links_of(self, shown: Callable[[str], bool]) -> list[FooterLink]:
        """The footer links of the groups `shown` keeps (by the group's name), group after group in name order."""
        return [link for group in sorted(self.footer_links) if shown(group) for link in self.footer_links[group]]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def external_sign_on_enabled(self) -> bool:
        return EXTERNAL_SIGN_ON in self.doors

    @external_sign_on_enabled.setter
    def external_sign_on_enabled(self, enabled: bool) -> None:
        # The custom sign-on door as a flag, for the demos and set-ups that switch it alone.
        others = [key for key in self.doors if key != EXTERNAL_SIGN_ON]
        self.doors = door_keys_in_order([*others, EXTERNAL_SIGN_ON] if enabled else others)

    def clean(self):
        if isinstance(self.doors, list):
            self.doors = door_keys_in_order(self.doors)
        if self.external_sign_on_enabled and not (self.external_sign_on_url and self.external_sign_on_secret):
            raise ValidationError("Custom sign-on needs the business's login page URL and a secret.")

    def rotate_external_sign_on_secret(self) -> str:
        """Keep the current secret as the previous one, so tokens signed with it work until the business switches."""
        if self.external_sign_on_secret:
            self.external_sign_on_previous_secret = self.external_sign_on_secret
            self.external_sign_on_previous_secret_id = self.external_sign_on_secret_id
        self.external_sign_on_secret = secrets.token_urlsafe(48)
        self.external_sign_on_secret_id = secrets.token_hex(4)
        return self.external_sign_on_secret


HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #1d4ed8.")


class Portal(models.Model):
    """One of an organisation's portals (a brand, a venue): its address, its name, its look and its sections.

    Customers are the organisation's, not the portal's: signed in to one portal, a customer is signed in to all
    of the organisation's portals. Exactly one portal is primary; emails to a customer who has never opened a
    portal lead there.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="portals")
    slug = models.SlugField(
        "address",
        max_length=60,
        unique=True,
        validators=[validate_slug_not_reserved],
        help_text="What follows the site's address: “lumiere” puts the portal at /lumiere/. "
        "Changing it breaks every link already sent.",
    )
    name = models.CharField(max_length=200, help_text="Shown to customers: the header, page titles and emails.")
    is_primary = models.BooleanField(
        "primary", default=False, help_text="Where emails lead a customer who has not opened another portal."
    )
    accent_colour = models.CharField(
        max_length=7, default="#1d4ed8", validators=[HEX_COLOUR], help_text="Buttons, links and the header's line."
    )
    accent_text_colour = models.CharField(
        "text on the accent colour",
        max_length=7,
        default="#ffffff",
        validators=[HEX_COLOUR],
        help_text="The text of buttons; it must contrast with the accent colour at 4.5:1 or more.",
    )
    logo = models.FileField(
        upload_to=logo_path,
        blank=True,
        validators=[validate_logo],
        help_text="Beside the portal's name in the header: PNG, JPG or WebP, up to 1 MB and 2000×2000 pixels.",
    )
    favicon = models.FileField(
        upload_to=favicon_path,
        blank=True,
        validators=[validate_favicon],
        help_text="The icon of the browser's tab: a square PNG or ICO, up to 100 KB and 512×512 pixels.",
    )
    # The sections' order and visibility, copied from the portal's PortalSection rows whenever one is saved, so a
    # page reads them with the portal's row and no query of their own.
    section_layout = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                "organisation", condition=models.Q(is_primary=True), name="portal_one_primary_per_organisation"
            ),
            # People take addresses to be the same whatever their case: /Voyages/ must not be another business's
            # look-alike of /voyages/. Pages still find a portal by its address exactly as stored.
            models.UniqueConstraint(
                Lower("slug"),
                name="portal_slug_unique_in_any_case",
                violation_error_message="A portal already has this address, in capitals or not; choose another.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        creating = self._state.adding
        with transaction.atomic():
            if self.is_primary:
                # One primary portal an organisation: this one takes over.
                others = Portal.objects.filter(organisation_id=self.organisation_id, is_primary=True)
                others.exclude(pk=self.pk).update(is_primary=False)
            super().save(*args, **kwargs)
            if creating:
                self.sections_complete()

    def validate_constraints(self, exclude=None):
        # A portal made primary takes over in save(), which makes the old primary secondary first: the one-primary
        # constraint holds when the row is written, so it is not checked here against the old primary.
        if self.is_primary:
            exclude = {*(exclude or ()), "organisation"}
        super().validate_constraints(exclude=exclude)

    @property
    def public_name(self) -> str:
        return self.name

    @property
    def theme(self) -> Theme:
        return theme_of(self)

    @property
    def logo_version(self) -> str:
        return image_version(self.logo)

    @property
    def favicon_version(self) -> str:
        return image_version(self.favicon)

    def clean(self):
        was_primary = self.pk is not None and Portal.objects.filter(pk=self.pk, is_primary=True).exists()
        if was_primary and not self.is_primary:
            raise ValidationError(
                {"is_primary": "An organisation always has a primary portal: make another one primary instead."}
            )
        # Only a pair of valid colours is compared; a malformed one already has its field's error.
        colours = (self.accent_colour, self.accent_text_colour)
        if all(is_hex_colour(colour) for colour in colours):
            problem = text_contrast_problem(*colours)
            if problem:
                raise ValidationError({"accent_text_colour": problem}, code="low_contrast")

    def sections_complete(self) -> None:
        """A row for each installed section the portal has none for, after the others: what staff order."""
        have = set(self.sections.values_list("key", flat=True))
        last = max(self.sections.values_list("position", flat=True), default=0)
        missing = [section.key for section in sections() if section.key not in have]
        PortalSection.objects.bulk_create(
            PortalSection(portal=self, key=key, position=last + place) for place, key in enumerate(missing, start=1)
        )
        if missing:
            self.section_layout_refresh()

    def section_layout_refresh(self) -> None:
        """Copy the sections' rows into `section_layout`, which pages read with the portal's row."""
        self.section_layout = [
            {"key": row.key, "enabled": row.enabled, "hide_when_empty": row.hide_when_empty}
            for row in self.sections.order_by("position", "pk")
        ]
        Portal.objects.filter(pk=self.pk).update(section_layout=self.section_layout)
        # The update skips save(): tell the page cache, as a save would.
        page_cache.pages_changed(self)


def section_choices() -> list[tuple[str, str]]:
    return [(section.key, section.title) for section in sections()]


class PortalSection(models.Model):
    """A section of one portal: whether customers see it, whether it hides when it holds nothing for them, and its
    place in the nav and on the home. A section with no row is shown, after the others."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField("section", max_length=40, choices=section_choices)
    enabled = models.BooleanField(
        "shown", default=True, help_text="When off, the section is gone from this portal: its pages answer “not found”."
    )
    hide_when_empty = models.BooleanField(
        "hidden when empty",
        default=False,
        help_text="Left out of the nav and the home for a customer it holds nothing for.",
    )
    position = models.PositiveIntegerField("order", default=0, help_text="Lowest first.")

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint("portal", "key", name="portal_section_once")]

    def __str__(self) -> str:
        return dict(section_choices()).get(self.key, self.key)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.portal.section_layout_refresh()

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        self.portal.section_layout_refresh()
        return deleted


class Customer(models.Model):
    """One identity per organisation and email. Not a staff user: it never reaches /admin/."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="customers")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True, validators=[validate_name_characters])
    password = models.CharField(max_length=256, blank=True, help_text="Empty until the customer assigns one.")
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # Raised whenever every other session must end (password change, staff reset, revocation).
    session_version = models.PositiveIntegerField(default=1)
    # The business's own id for this end user (its `enduserId`), set in admin or through the API.
    external_id = models.CharField(
        "external id", max_length=128, blank=True, help_text="The business's own id for this customer, if any."
    )
    # {optional email's key: wanted?}, as the customer chose on their profile; an email not chosen yet gets
    # its declared default (portal_core.sections.OptionalEmail).
    email_choices = models.JSONField("optional emails chosen", default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    # The portal the customer last opened: the one their emails name and link to (the primary one until then).
    last_portal = models.ForeignKey(Portal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "organisation", name="customer_unique_email_per_organisation"),
            models.UniqueConstraint(
                "organisation",
                "external_id",
                condition=~models.Q(external_id=""),
                name="customer_unique_external_id_per_organisation",
            ),
        ]
        # Emails are stored normalised, so look-ups are exact matches: this index serves them
        # (the constraint's index is on lower(email), which an exact match can't use).
        indexes = [models.Index(fields=["organisation", "email"], name="customer_organisation_email")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)

    @property
    def organisation_name(self) -> str:
        return self.organisation.name

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)
        self.password_changed_at = timezone.now()
        self.session_version += 1

    def wants_email(self, email: OptionalEmail) -> bool:
        return bool(self.email_choices.get(email.key, email.default))

    def check_password(self, raw_password: str) -> bool:
        if not self.password:
            return False

        def upgrade(raw):
            self.password = make_password(raw)
            Customer.objects.filter(pk=self.pk).update(password=self.password)

        return check_password(raw_password, self.password, setter=upgrade)


class CustomerTokenQuerySet(models.QuerySet["CustomerToken"]):
    def live(self) -> "CustomerTokenQuerySet":
        """The tokens that would still open something: neither used, revoked nor expired."""
        return self.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())

    def revoke(self, *, now: datetime | None = None) -> int:
        """Revoke these tokens (live ones, as a rule: see `live`); how many were."""
        return self.update(revoked_at=now or timezone.now())


class CustomerToken(models.Model):
    """A secret sent to a customer by email. Only its hash is stored."""

    class Purpose(models.TextChoices):
        SET_PASSWORD = "set_password", "Assign a password"
        ACCESS_LINK = "access_link", "Portal access link"
        SIGN_IN_LINK = "sign_in_link", "Sign-in link in a notification email"
        SIGN_IN_REDIRECT = "sign_in_redirect", "Signed sign-in redirect"

    # The emailed links that sign in (for 30 days, or a notification's life), as opposed to a password link.
    LINK_PURPOSES = (Purpose.ACCESS_LINK, Purpose.SIGN_IN_LINK)

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    # Where the token leads once used, a path inside the portal (e.g. one ticket).
    next_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerTokenQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.customer_id}"

    @classmethod
    def issue(
        cls, *, customer: Customer, purpose: str, lifetime: timedelta, created_by=None, next_path=""
    ) -> tuple["CustomerToken", str]:
        """Create a token and return it with the raw secret, which exists only in the email."""
        token, raw = cls.prepare(
            customer=customer, purpose=purpose, lifetime=lifetime, created_by=created_by, next_path=next_path
        )
        token.save()
        return token, raw

    @classmethod
    def prepare(
        cls, *, customer: Customer, purpose: str, lifetime: timedelta, created_by=None, next_path=""
    ) -> tuple["CustomerToken", str]:
        """A token as `issue` makes it, not yet saved (many are written at once with bulk_create), and its secret."""
        raw = secrets.token_urlsafe(48)  # 64 characters, 384 bits
        token = cls(
            organisation_id=customer.organisation_id,
            customer=customer,
            purpose=purpose,
            token_hash=hash_token(raw),
            expires_at=timezone.now() + lifetime,
            created_by=created_by,
            next_path=next_path,
        )
        return token, raw

    @classmethod
    def find_usable(cls, *, organisation: Organisation, purpose: str, token_hash: str) -> "CustomerToken | None":
        """The live token with this hash. Pages keep only the hash (see `session_hash`), never the secret."""
        if not token_hash:
            return None
        token = (
            cls.objects.select_related("customer", "customer__organisation")
            .filter(organisation=organisation, purpose=purpose, token_hash=token_hash)
            .first()
        )
        return token if token and token.is_usable else None

    @property
    def is_usable(self) -> bool:
        return (
            self.used_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
            and self.customer.is_active
        )


class UsedExternalToken(models.Model):
    """Remembers a sign-on JWT that was accepted, so it works once. Kept until it would have expired anyway."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint("organisation", "key", name="external_token_used_once")]

    def __str__(self) -> str:
        return self.key


class SignInCode(models.Model):
    """An eight-digit code emailed to sign in (the email_code door). Only an HMAC of it is stored.

    Tied to the browser session that asked for it (`browser_hash`), usable once, for a few minutes and a few
    tries; a newer code for the same email asked for in the same browser supersedes it. The email, not a
    customer, is what it proves: the customer record is made at the first sign-in, as the other doors do.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)
    code_hmac = models.CharField(max_length=64)
    browser_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)
    # Set when the code signs in, when a newer code replaces it, or when its tries are used up.
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "email", "-created_at"], name="sign_in_code_newest"),
            models.Index(fields=["expires_at"], name="sign_in_code_expiry"),
        ]

    def __str__(self) -> str:
        return f"Sign-in code for {self.email}"


class ApiKey(models.Model):
    """A key the business's backend calls the API with: `pk_<public id>_<secret>`. Only the secret's hash is kept.

    The secret holds 256 random bits, so a fast hash makes the stored value useless; the key is shown once.
    """

    PREFIX = "pk"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="Who uses it, e.g. “Backend”.")
    public_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}_{self.public_id}_…)"

    @classmethod
    def prepare(cls, *, organisation: Organisation, name: str, created_by=None) -> tuple["ApiKey", str]:
        """A key not yet saved, and the whole key as the business must keep it: it exists nowhere else."""
        public_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = cls(
            organisation=organisation,
            name=name,
            public_id=public_id,
            secret_hash=hash_token(secret),
            created_by=created_by,
        )
        return key, f"{cls.PREFIX}_{public_id}_{secret}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiCall(models.Model):
    """The API log: each call with the key's name, what was called and the answer's status; never the key."""

    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    key_name = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=10)
    endpoint = models.CharField(max_length=200, help_text="The route called, e.g. /api/v1/customers/{id}/access.")
    status = models.PositiveSmallIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "API call"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="api_call_recent")]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} {self.status}"


class AccessEvent(models.Model):
    """The access log: who got in, who was refused, and who changed what. Never holds a token."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_OUT = "sign_out", "Signed out"
        PASSWORD_LINK_SENT = "password_link_sent", "Password link sent"
        PASSWORD_SET = "password_set", "Password set by customer"
        PASSWORD_RESET_BY_STAFF = "password_reset_by_staff", "Password set by staff"
        ACCESS_LINK_SENT = "access_link_sent", "Access link sent"
        ACCESS_LINK_USED = "access_link_used", "Access link used"
        ACCESS_LINK_REFUSED = "access_link_refused", "Access link refused"
        ACCESS_LINKS_REVOKED = "access_links_revoked", "Access links revoked"
        EXTERNAL_SIGN_ON = "external_sign_on", "Custom sign-on accepted"
        EXTERNAL_SIGN_ON_REFUSED = "external_sign_on_refused", "Custom sign-on refused"
        SIGN_IN_CODE_SENT = "sign_in_code_sent", "Sign-in code sent"
        SIGN_IN_CODE_REFUSED = "sign_in_code_refused", "Sign-in code refused"
        SIGN_IN_REDIRECT_ISSUED = "sign_in_redirect_issued", "Sign-in URL made through the API"
        SIGN_IN_REDIRECT_REFUSED = "sign_in_redirect_refused", "Sign-in URL refused"
        EMAIL_CHANGE_REQUESTED = "email_change_requested", "Email change requested"
        EMAIL_CHANGED = "email_changed", "Email address changed"
        RATE_LIMITED = "rate_limited", "Rate limited"
        # A signed-in customer (or a visitor) asked for a ticket, conversation, booking or file not theirs, or none.
        ACCESS_REFUSED = "access_refused", "Access refused"
        # The customer ended one of their other sessions, or all of them ("sign out everywhere").
        SESSION_ENDED = "session_ended", "Session ended by the customer"
        SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", "Signed out everywhere by the customer"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="access_events")
    # Indexed by access_event_customer_recent, which leads with it.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_events", db_index=False
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    method = models.CharField(max_length=40, blank=True, help_text="The door used: password, access_link, …")
    email = models.CharField(max_length=254, blank=True, help_text="The email given, for attempts without a customer.")
    reason = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.ForeignKey(CustomerToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "kind", "-created_at"]),
            # A customer's own recent access, newest first (portal_auth/account.py `recent_access`).
            models.Index(fields=["customer", "-created_at"], name="access_event_customer_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.email or self.customer_id or ''}".strip()


class CustomerSession(models.Model):
    """One browser's portal session, as "Your sessions" lists it and ends it.

    The browser's session names its row (sessions.SESSION_ROW), and is accepted only while the row is not
    ended, so a session ends from any other browser, whatever the session engine. The session key is not kept.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sessions")
    method = models.CharField(max_length=40, help_text="The door it was opened by: password, access_link, …")
    # The customer's at sign-in: once theirs is raised (a password change, links revoked) the session is over.
    session_version = models.PositiveIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Written at most once per sessions.SEEN_EVERY, so browsing costs no write per page.
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "-last_seen_at"],
                condition=models.Q(ended_at__isnull=True),
                name="customer_session_open",
            ),
            models.Index(fields=["expires_at"], name="customer_session_expiry"),
        ]

    def __str__(self) -> str:
        return f"Session of {self.customer_id} since {self.created_at:%Y-%m-%d %H:%M}"
