"""Who is responsible for what, where: authorities, their boundaries and their categories."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from modeltranslation.manager import MultilingualManager

from config.encryption import EncryptedTextField
from config.text import JSONField, LineField, TextField


class AuthorityKind(models.TextChoices):
    COUNCIL = "council", _("Council")
    DISTRICT = "district", _("District")
    AGENCY = "agency", _("Agency")


class Authority(models.Model):
    """A council, district or agency. Its boundary is a GeoJSON Polygon or MultiPolygon (WGS84).

    The boundary is stored as validated GeoJSON; routing reads it into shapely geometries held in
    memory (authorities.routing), so there is no spatial database to install.
    """

    name = LineField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    code = models.CharField(
        _("external code"),
        max_length=50,
        blank=True,
        help_text=_("The code in the boundary file it came from (unique per parent and kind)."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language of the reports e-mailed to this authority."),
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=AuthorityKind.choices, default=AuthorityKind.COUNCIL
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = LineField(_("phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    boundary = models.JSONField(
        _("boundary"),
        null=True,
        blank=True,
        help_text=_("GeoJSON Polygon or MultiPolygon in WGS84 longitude/latitude."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["parent", "kind", "code"],
                condition=~models.Q(code=""),
                name="authority_code_unique_per_parent_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f77b4."))


class Category(models.Model):
    """A kind of problem (Open311: a service)."""

    name = LineField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    group = LineField(_("group"), max_length=100, help_text=_("e.g. Roads, Lighting, Waste"))
    description = TextField(_("description"), blank=True)
    icon = models.CharField(_("icon"), max_length=50, blank=True, help_text=_("An icon name."))
    colour = models.CharField(_("colour"), max_length=7, default="#1f77b4", validators=[HEX_COLOUR])
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    non_public = models.BooleanField(
        _("reports are private"),
        default=False,
        help_text=_(
            "Reports in this category never appear on the public map, lists, feeds or API "
            "(e.g. vehicles with plate numbers); their reporter and the authority's staff see them."
        ),
    )
    # Service levels the staff queue flags as overdue (empty: no target).
    sla_verify_hours = models.PositiveIntegerField(
        _("hours to verify"),
        null=True,
        blank=True,
        help_text=_("Target time from confirmation to verification; empty for none."),
    )
    sla_fix_hours = models.PositiveIntegerField(
        _("hours to fix"),
        null=True,
        blank=True,
        help_text=_("Target time from confirmation to fixed; empty for none."),
    )
    questionnaires = models.BooleanField(
        _("ask reporters whether it is fixed"),
        default=True,
        help_text=_(
            "Send reporters of open reports in this category the “Has this been fixed?” "
            "questionnaire some weeks after filing (QUESTIONNAIRE_WEEKS)."
        ),
    )

    # django-modeltranslation's manager (it would patch the default one in): queries on a
    # translated field read the active language's column.
    objects: ClassVar[MultilingualManager[Category]] = MultilingualManager()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering: ClassVar = ["group", "order", "name"]

    def __str__(self) -> str:
        return self.name


class QuestionDatatype(models.TextChoices):
    """Open311 GeoReport v2 attribute datatypes."""

    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLEVALUELIST = "singlevaluelist", _("One choice from a list")
    MULTIVALUELIST = "multivaluelist", _("Several choices from a list")


def option_name(option: dict[str, Any]) -> str:
    """The shown name of a list question's option in the active language: its `name_<code>`
    (e.g. `name_ca`), else its `name`, else its key. Options are translated inside the JSON list
    of choices, beside the key they share in every language."""
    language = (get_language() or "en").split("-")[0]
    shown = option.get(f"name_{language}") or option.get("name") or option.get("key")
    return str(shown)


class CategoryQuestion(models.Model):
    """An extra question asked when reporting in a category (Open311 attribute)."""

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="questions"
    )
    code = models.SlugField(_("code"), max_length=50)
    label = LineField(_("question"), max_length=200)
    help_text = LineField(_("help text"), max_length=300, blank=True)
    datatype = models.CharField(
        _("answer type"), max_length=20, choices=QuestionDatatype.choices, default="string"
    )
    required = models.BooleanField(_("required"), default=False)
    values = JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_(
            'For list types: [{"key": "k", "name": "Shown name", "name_ca": "Nom", '
            '"name_es": "Nombre"}, ...]'
        ),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    # django-modeltranslation's manager (it would patch the default one in): queries on a
    # translated field read the active language's column.
    objects: ClassVar[MultilingualManager[CategoryQuestion]] = MultilingualManager()

    class Meta:
        verbose_name = _("extra question")
        verbose_name_plural = _("extra questions")
        ordering: ClassVar = ["category", "order", "code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["category", "code"], name="question_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.label}"

    @property
    def is_list(self) -> bool:
        return self.datatype in (QuestionDatatype.SINGLEVALUELIST, QuestionDatatype.MULTIVALUELIST)


class DeliveryMethod(models.TextChoices):
    EMAIL = "email", _("E-mail")
    OPEN311 = "open311", _("Open311 GeoReport v2")
    WEBHOOK = "webhook", _("Signed webhook (JSON)")


class AuthorityCategory(models.Model):
    """An authority handles a category inside its boundary, delivered to this destination."""

    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.CASCADE, related_name="handled"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="handled_by"
    )
    delivery_method = models.CharField(
        _("delivery method"),
        max_length=20,
        choices=DeliveryMethod.choices,
        default=DeliveryMethod.EMAIL,
    )
    email = models.EmailField(_("delivery e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Open311 and webhook destinations (reports.delivery's channels); unused for e-mail.
    endpoint_url = models.URLField(
        _("endpoint URL"),
        max_length=500,
        blank=True,
        help_text=_("Open311: the service's base URL (requests.json is added). Webhook: the URL."),
    )
    service_code = models.CharField(
        _("Open311 service code"),
        max_length=100,
        blank=True,
        help_text=_("Empty: the category's slug."),
    )
    jurisdiction_id = models.CharField(_("Open311 jurisdiction id"), max_length=100, blank=True)
    # Encrypted at rest (config.encryption): the attribute is a Secret, sent with .reveal().
    api_key = EncryptedTextField(_("Open311 API key"), max_length=200, blank=True)
    webhook_secret = EncryptedTextField(
        _("webhook secret"),
        max_length=200,
        blank=True,
        help_text=_("Shared with the receiver, which checks the HMAC-SHA256 signature."),
    )
    # Citizens' updates on reports (a comment, "still a problem", a reopen, support counts)
    # follow the report by the same channel (reports.delivery.council_updates).
    send_updates = models.BooleanField(
        _("send citizens' updates"),
        default=False,
        help_text=_(
            "Send citizens' comments, reopenings and support counts on these reports to the "
            "authority, by the same delivery method."
        ),
    )
    open311_updates = models.BooleanField(
        _("Open311 server takes updates"),
        default=False,
        help_text=_(
            "Open311 only: the council's server accepts mySociety's servicerequestupdates "
            "POST. Without it, no updates are sent to an Open311 destination."
        ),
    )

    class Meta:
        verbose_name = _("category handled")
        verbose_name_plural = _("categories handled")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["authority", "category"], name="authority_category_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} @ {self.authority}"


class StaffRole(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    INSPECTOR = "inspector", _("Inspector")
    VIEWER = "viewer", _("Viewer")


class StaffMembership(models.Model):
    """A user works for an authority with a role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        _("role"), max_length=20, choices=StaffRole.choices, default=StaffRole.INSPECTOR
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "authority"], name="membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.authority})"


class Area(models.Model):
    """A named place that is not an authority, e.g. a neighbourhood: for search, alerts and
    statistics. Routing never sends anything to an area."""

    name = LineField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=30, default="neighbourhood")
    code = models.CharField(_("external code"), max_length=50, blank=True)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("within authority"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="areas",
    )
    boundary = models.JSONField(_("boundary"))
    # Centre and extent, for search results that move the map without parsing the boundary.
    latitude = models.FloatField(_("centre latitude"))
    longitude = models.FloatField(_("centre longitude"))
    bbox = models.JSONField(_("bounding box [w, s, e, n]"), default=list)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingVersion(models.Model):
    """One row; its number goes up whenever anything routing depends on changes.

    Each process compares it with the version of its in-memory index once per request or task, and
    rebuilds the index when they differ. One row read by primary key is the cheapest query there is.
    """

    version = models.PositiveBigIntegerField(_("version"), default=0)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("routing version")
        verbose_name_plural = _("routing versions")

    def __str__(self) -> str:
        return _("routing version %(n)s") % {"n": self.version}


# --- The gazetteer: addresses and named places, for search and reverse look-up -----------------


class Street(models.Model):
    """A street of the gazetteer: the address points with one street name in one city. The
    import (authorities.geocoding.services) keeps it; search finds a street by its name and then
    its addresses by number, so the text index holds streets, not every address point."""

    name = LineField(_("name"), max_length=200)
    city = LineField(_("city"), max_length=100, blank=True)
    key = models.CharField(
        _("key"), max_length=320, unique=True, help_text=_("city/name, normalised")
    )
    search_text = models.CharField(_("search text"), max_length=320)
    # The centre of its addresses and how many there are, refreshed by every import.
    latitude = models.FloatField(_("centre latitude"), default=0)
    longitude = models.FloatField(_("centre longitude"), default=0)
    address_count = models.PositiveIntegerField(_("addresses"), default=0)

    class Meta:
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        ordering: ClassVar = ["name", "city"]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}" if self.city else self.name


class AddressPoint(models.Model):
    """An address (a street, a number, maybe a unit) and where its entrance is."""

    street = models.ForeignKey(
        Street, verbose_name=_("street"), on_delete=models.CASCADE, related_name="addresses"
    )
    number = LineField(_("number"), max_length=20, blank=True)
    number_key = models.CharField(_("number as matched"), max_length=20, blank=True)
    unit = LineField(_("unit"), max_length=50, blank=True)
    postcode = LineField(_("postcode"), max_length=20, blank=True)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    source_id = models.CharField(_("id in the source"), max_length=100, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints: ClassVar = [
            # One point per address: a re-import updates it (and serves the search by number).
            models.UniqueConstraint(
                fields=["street", "number_key", "unit"], name="address_once_per_street"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["latitude", "longitude"], name="address_lat_lon"),  # reverse
            models.Index(fields=["postcode", "latitude", "longitude"], name="address_postcode"),
            models.Index(fields=["source", "imported_at"], name="address_source"),  # --replace
        ]

    def __str__(self) -> str:
        return address_label(
            self.street.name, self.number, self.unit, self.postcode, self.street.city
        )


def address_label(street: str, number: str, unit: str, postcode: str, city: str) -> str:
    """ "Carrer de Mallorca 401, 08013 Barcelona" """
    head = " ".join(filter(None, (street, number)))
    if unit:
        head = f"{head} ({unit})"
    tail = " ".join(filter(None, (postcode, city)))
    return f"{head}, {tail}" if tail else head


class Place(models.Model):
    """A named place: a landmark, a park, a square, a beach... a point or a polygon (GeoJSON),
    with a representative point inside it and its bounding box for the reverse look-up."""

    name = LineField(_("name"), max_length=200)
    alt_names = JSONField(_("other names"), default=list, blank=True)
    kind = models.CharField(_("kind"), max_length=50, default="place")
    key = models.CharField(
        _("key"), max_length=320, unique=True, help_text=_("The id in the source, else kind:name")
    )
    search_text = models.CharField(_("search text"), max_length=1000)
    geometry = models.JSONField(
        _("geometry"), help_text=_("GeoJSON Point, Polygon or MultiPolygon")
    )
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    # The bounding box, for the reverse look-up.
    south = models.FloatField(_("south edge (latitude)"))
    west = models.FloatField(_("west edge (longitude)"))
    north = models.FloatField(_("north edge (latitude)"))
    east = models.FloatField(_("east edge (longitude)"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering: ClassVar = ["name"]
        indexes: ClassVar = [
            models.Index(fields=["south", "north", "west", "east"], name="place_bbox"),
            models.Index(fields=["source", "imported_at"], name="place_source"),
        ]

    def __str__(self) -> str:
        return self.name
