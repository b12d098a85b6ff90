"""People: citizens, council staff and administrators are all users, identified by e-mail."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.text import LineField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """E-mail is the login; the public name is chosen by the person and may be hidden."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    # AbstractUser's, as one line of clean text (config.text).
    first_name = LineField(_("first name"), max_length=150, blank=True)
    last_name = LineField(_("last name"), max_length=150, blank=True)
    display_name = LineField(
        _("public name"), max_length=100, blank=True, help_text=_("Shown next to what you post.")
    )

    # Empty: not chosen yet, so pages follow the browser (Accept-Language) and e-mails the language
    # the person used when they filed or subscribed. Set by the language switcher and on log-in.
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Pages and e-mails are in this language."),
    )

    # Account care (reports.privacy): a ban keeps the address so it cannot file again; an
    # erased account keeps its row (the history's links) and nothing that names the person.
    banned_at = models.DateTimeField(_("banned"), null=True, blank=True, editable=False)
    ban_reason = LineField(_("reason for the ban"), max_length=500, blank=True, editable=False)
    erased_at = models.DateTimeField(
        _("personal data erased"), null=True, blank=True, editable=False
    )
    inactivity_warned_at = models.DateTimeField(
        _("warned of anonymisation for inactivity"), null=True, blank=True, editable=False
    )

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    @property
    def is_banned(self) -> bool:
        return self.banned_at is not None

    @property
    def public_name(self) -> str:
        return self.display_name or self.get_full_name() or str(_("A citizen"))


class ApiScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiClient(models.Model):
    """A third-party program using the APIs (X-API-Key, or api_key on Open311).

    Only a hash of the key is stored: the key itself is shown once, when it is created.
    A write client always acts for a user account (the constraint below): what it files is filed
    by that account, for the account itself or for a citizen the request names (docs/api.md).
    """

    name = LineField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    scope = models.CharField(_("scope"), max_length=10, choices=ApiScope.choices)
    user = models.ForeignKey(
        User,
        verbose_name=_("acts for"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
    )
    files_for_citizens = models.BooleanField(
        _("files for the citizens it names"),
        default=False,
        help_text=_(
            "On for an app many people use: each report is filed for the citizen the request "
            "names (email, first and last name), who confirms it by e-mail and gets its updates, "
            "as on the website. Off: reports are filed as the account the key acts for (an "
            "authority's own system, another Fixpoint)."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(scope="read") | models.Q(user__isnull=False),
                name="write_api_client_acts_for_a_user",
                violation_error_message=_(
                    "A write key acts for a user account: choose the account it acts for."
                ),
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == ApiScope.WRITE


class IdempotencyKey(models.Model):
    """The answer a client got to a write it sent with an `Idempotency-Key` header, kept 24 hours
    so that the same request sent again gets it again instead of being done twice
    (accounts.idempotency). Written in the transaction of the write itself: it exists exactly
    when the write was committed."""

    # "client:<ApiClient id>", "user:<User id>" or "email:<digest>" (reports.views, drafts)
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path, query and body
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
