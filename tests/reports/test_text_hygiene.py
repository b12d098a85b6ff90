"""Text that enters Fixpoint is stored clean, and what leaves it is always valid (issue 13, finding
5): control characters broke Open311 XML and the Atom feed, a line break in a title broke the
council's e-mail for good, and a message that cannot be built was retried as if the mail server
were down."""

from __future__ import annotations

import importlib
import smtplib
from typing import Any
from xml.etree import ElementTree

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader

from accounts.models import User
from authorities.models import Authority, CategoryQuestion
from config import text
from gamification.models import Player
from reports import delivery, notifications, services
from reports.models import (
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationStatus,
    Report,
    ReportStateChange,
    ResponseTemplate,
)
from tests import factories

CTL = "ctl\u0001"


def xml(response: Any) -> ElementTree.Element:
    assert response.status_code == 200, response.content[:300]
    return ElementTree.fromstring(response.content)  # noqa: S314 - our own answer


def write_raw(table: str, pk: int, **values: str) -> None:
    """As a row stored before the rule was (or by raw SQL): past the model fields."""
    columns = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {columns} WHERE id = %s", [*values.values(), pk])  # noqa: S608


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ctl\u0001", "ctl"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("tab\tkept", "tab\tkept"),
        ("nul\x00 del\x7f c1\u0085\u009f", "nul del c1"),
        ("lone \ud800 surrogate \ufffe\uffff", "lone  surrogate "),
        ("e\u0301", "é"),  # NFC
        ("line\u2028separator", "line\u2028separator"),  # not a control: kept in text
    ],
)
def test_text_keeps_newlines_and_tabs_and_loses_every_other_control(typed, stored):
    assert text.clean_text(typed) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Hole\r\nBcc: x@evil.example", "Hole Bcc: x@evil.example"),
        ("  a \t b\n\n c  ", "a b c"),
        ("two  spaces", "two  spaces"),
        ("ctl\u0001", "ctl"),
        ("para\u2029graph", "para graph"),
    ],
)
def test_titles_and_names_are_one_trimmed_line(typed, stored):
    assert text.clean_line(typed) == stored


def test_nfc_never_makes_a_text_longer_than_its_column():
    # U+0958 is a composition exclusion: NFC makes it two characters.
    assert len(text.clean_line("\u0958" * 10, max_length=10)) == 10
    assert text.clean_line("e\u0301", max_length=10) == "é"


def test_answers_are_cleaned_inside_json_keys_and_values_alike():
    assert text.clean_value({"k\u0001": ["a\u0002", 1, None, {"b": "c\r\n"}]}) == {
        "k": ["a", 1, None, {"b": "c\n"}]
    }


# --- every way in --------------------------------------------------------------------------------


def test_a_report_filed_through_the_api_is_stored_clean(tiny_city, client):
    client.force_login(factories.UserFactory.create())

    response = client.post(
        "/api/v1/reports/",
        {
            "title": CTL,
            "description": "a\u0002b\r\nc",
            "category": "pothole",
            "latitude": tiny_city.WEST[0],
            "longitude": tiny_city.WEST[1],
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    report = Report.objects.get(pk=response.json()["id"])
    assert (report.title, report.description) == ("ctl", "ab\nc")
    assert response.json()["title"] == "ctl"  # what was answered is what is stored


def test_a_report_filed_through_open311_is_stored_clean(tiny_city, client):
    from accounts.models import ApiScope
    from accounts.services import api_client_create

    key = api_client_create(name="App", scope=ApiScope.WRITE, user=factories.UserFactory())[1]
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": key,
            "service_code": "pothole",
            "lat": "10.05",
            "long": "1.05",
            "title": "Hole\r\nhere",
            "description": "Deep\u0007 one",
            "first_name": "A\u0085nn",
            "last_name": "Lee\n",
        },
    )

    assert response.status_code == 200, response.content
    report = Report.objects.get(ref=response.json()[0]["service_request_id"])
    assert (report.title, report.description, report.reporter_name) == (
        "Hole here",
        "Deep one",
        "Ann Lee",
    )


def test_a_report_filed_on_the_website_is_stored_clean(tiny_city, client):
    client.force_login(factories.UserFactory.create())

    client.post(
        "/reports/new/",
        {
            "latitude": "10.05",
            "longitude": "1.05",
            "category": "pothole",
            "title": "Hole\u0001",
            "description": "Deep\r\none",
            "confirm_new": "1",
        },
    )

    report = Report.objects.get()
    assert (report.title, report.description) == ("Hole", "Deep\none")


def test_updates_notes_answers_and_names_from_services_are_stored_clean(tiny_city):
    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="How deep?", datatype="string"
    )
    report = factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        reporter=None,
        reporter_email="a@example.org",
        reporter_name="Ann\nLee",
        extra={"depth": "deep\u0002\r\nindeed"},
    )
    services.report_transition(report_id=report.pk, to_state="open", actor=None)
    update = services.report_update_add(
        report_id=report.pk, author=None, author_name="Bo\tb", text="Still\u0000 there"
    )
    services.report_transition(
        report_id=report.pk,
        to_state="verified",
        actor=tiny_city.west_staff,
        public_note="On\u0001 it",
        internal_note="Crew\u0085 B",
    )

    report.refresh_from_db()
    change = ReportStateChange.objects.filter(report=report).last()
    assert report.reporter_name == "Ann Lee" and report.extra == {"depth": "deep\nindeed"}
    assert (update.author_name, update.text) == ("Bo b", "Still there")
    assert change is not None and (change.public_note, change.internal_note) == ("On it", "Crew B")


def test_the_admin_stores_response_templates_and_authority_names_clean(tiny_city, client):
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))

    client.post(
        "/admin/reports/responsetemplate/add/",
        {"title_en": "Fixed\r\nsoon", "text_en": "We\u0001 will.", "state": "", "is_active": "on"}
        | {"title_ca": "Resolt\r\naviat", "text_ca": "Ho\u0001 farem."},
    )
    Authority.objects.filter(pk=tiny_city.west.pk).update(name="West\u0001\ndistrict")

    template = ResponseTemplate.objects.get()
    assert (template.title, template.text) == ("Fixed soon", "We will.")
    assert (template.title_ca, template.text_ca) == ("Resolt aviat", "Ho farem.")
    assert Authority.objects.get(pk=tiny_city.west.pk).name == "West district"  # update() too


def test_names_people_choose_are_stored_on_one_line(tiny_city, client):
    user = factories.UserFactory.create(display_name="Marta\r\nPuig", first_name="Ma\u0001rta")
    client.force_login(user)

    client.post("/me/points/preferences/", {"is_playing": "on", "board_name": "Top\ncat\u0007"})

    user.refresh_from_db()
    assert (user.display_name, user.first_name) == ("Marta Puig", "Marta")
    assert Player.objects.get(pk=user.pk).board_name == "Top cat"


# Text that is not people's: identifiers, codes, secrets, choices, addresses. A new field that
# people write goes through config.text (LineField, TextField, JSONField), or is added here with
# the reason it needs none.
MACHINE_TEXT = {
    "accounts.User": {"password"},
    "accounts.ApiClient": {"prefix", "key_hash"},
    "accounts.IdempotencyKey": {"scope", "key", "fingerprint", "content_type"},
    "authorities.Authority": {"code", "kind"},
    "authorities.Category": {"icon", "colour"},
    "authorities.AuthorityCategory": {
        "service_code",
        "jurisdiction_id",
        "api_key",
        "webhook_secret",
    },
    "authorities.Area": {"kind", "code", "boundary", "bbox"},
    # The gazetteer's match keys and normalised search text are derived from the cleaned names;
    # a source is the importer's label and id.
    "authorities.Street": {"key", "search_text"},
    "authorities.AddressPoint": {"number_key", "source", "source_id"},
    "authorities.Place": {"kind", "key", "search_text", "geometry", "source"},
    "authorities.Authority.json": {"boundary"},
    "reports.Report": {"ref"},
    "reports.ReportPhoto": {"upload_token", "image"},
    # A language code (settings.LANGUAGES) chosen by the page, never typed by a person.
    "reports.Subscription": {"language"},
    "reports.Notification": {"kind", "language"},
    "reports.Delivery": {"remote_id"},
    "reports.UpdateDelivery": {"remote_id"},  # the council's id for the update, as it sent it
    "reports.AuditEntry": {"object_type", "object_id", "before", "after"},
    "reports.SiteMessage": {"pages"},  # a list of SitePage values
    "gamification.PointEntry": {"key", "original_ref"},  # original_ref: a report's reference
    "gamification.BadgeAward": {"code"},
    "gamification.Redemption": {"code"},
}


def _needs_no_cleaning(model: type[models.Model], field: models.Field[Any, Any]) -> bool:
    label = model._meta.label
    if field.choices or isinstance(field, models.EmailField | models.SlugField | models.URLField):
        return True
    if field.name in MACHINE_TEXT.get(label, set()) or field.name in MACHINE_TEXT.get(
        f"{label}.json", set()
    ):
        return True
    return isinstance(field, models.FileField)


def test_every_text_field_people_write_is_cleaned_when_saved():
    cleaning = (text.LineField, text.TextField, text.JSONField)
    plain = [
        f"{model._meta.label}.{field.name}"
        for app in ("accounts", "authorities", "reports", "gamification")
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.CharField | models.TextField | models.JSONField)
        and field.model is model
        and not isinstance(field, cleaning)
        and not _needs_no_cleaning(model, field)
    ]
    assert plain == [], "store people's text through config.text's fields"


# --- rows stored before the rule -----------------------------------------------------------------


def test_the_migrations_clean_rows_stored_before_the_rule(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    change = ReportStateChange.objects.filter(report=report).get()
    user = report.reporter
    write_raw("reports_report", report.pk, title="Hole\r\n\u0001", description="e\u0301\u0085")
    write_raw("reports_reportstatechange", change.pk, public_note="note\u0002")
    write_raw("authorities_authority", tiny_city.west.pk, name="West\ndistrict")
    write_raw("accounts_user", user.pk, display_name="Ann\tLee")

    state = MigrationLoader(connection).project_state().apps  # as a migration sees the models
    for migration in (
        "reports.migrations.0013_clean_text",
        "authorities.migrations.0008_clean_text",
        "accounts.migrations.0005_clean_text",
        "gamification.migrations.0002_clean_text",
    ):
        importlib.import_module(migration).clean(state, None)

    report.refresh_from_db()
    assert (report.title, report.description) == ("Hole", "é")
    assert ReportStateChange.objects.get(pk=change.pk).public_note == "note"
    assert Authority.objects.get(pk=tiny_city.west.pk).name == "West district"
    assert User.objects.get(pk=user.pk).display_name == "Ann Lee"


# --- what leaves Fixpoint ------------------------------------------------------------------------


def test_a_control_character_in_a_title_leaves_open311_xml_and_the_feed_valid(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title=CTL)

    titles = [e.text for e in xml(client.get("/open311/v2/requests.xml")).iter("title")]
    feed = client.get(f"/reports/{report.ref}/feed/")

    assert titles == ["ctl"]
    assert feed.status_code == 200


def test_a_row_written_past_the_rule_still_gives_valid_open311_xml_and_a_feed(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    write_raw("reports_report", report.pk, title="raw\u0001", description="d\u0002")
    services.report_update_add(report_id=report.pk, author=None, author_name="A", text="x")
    update = report.updates.get()
    write_raw("reports_reportupdate", update.pk, text="upd\u0003")

    titles = [e.text for e in xml(client.get("/open311/v2/requests.xml")).iter("title")]
    feed = client.get(f"/reports/{report.ref}/feed/")

    assert titles == ["raw"]
    assert feed.status_code == 200
    ElementTree.fromstring(feed.content)  # noqa: S314 - our own answer


# --- delivery: a permanent error is never retried as temporary -----------------------------------


def test_a_title_with_a_line_break_is_e_mailed_to_the_council_once_on_one_line(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(
            tiny_city.pothole, *tiny_city.WEST, title="Hole\r\nBcc: x@evil.example"
        )

    [message] = smtp.to_council()
    assert message["Subject"] == f"[{report.ref}] Pothole: Hole Bcc: x@evil.example"
    assert message["Bcc"] is None
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT


def test_a_stored_title_with_a_line_break_is_still_e_mailed(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    write_raw("reports_report", report.pk, title="Hole\nhere")
    smtp.start()

    assert delivery.deliveries_send_due(ignore_backoff=True).sent == 1
    assert smtp.to_council()[0]["Subject"] == f"[{report.ref}] Pothole: Hole here"


def test_a_message_that_cannot_be_built_fails_at_once_and_is_not_retried(
    tiny_city, smtp, settings, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_DELIVERY_REPLY_TO = "reports+{ref}@example.org\nBcc: x@evil.example"
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED and failed.attempts == 1
    assert "could not be built" in failed.last_error
    assert delivery.deliveries_send_due(ignore_backoff=True).sent == 0
    assert smtp.to_council() == []


def test_an_unexpected_error_is_retried_a_few_times_then_fails_with_its_reason(
    tiny_city, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def bug(*args: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr("reports.delivery.channels.send", bug)
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    for _ in range(5):
        delivery.deliveries_send_due(ignore_backoff=True)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED
    assert failed.attempts == settings.FIXPOINT_DELIVERY_MAX_UNEXPECTED_ATTEMPTS == 3
    assert "Unexpected error: RuntimeError: a bug" in failed.last_error


# --- citizens' e-mail: the same rule -------------------------------------------------------------


def _confirmation(tiny_city: Any) -> Notification:
    factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    return Notification.objects.get(kind="report_confirm")


def test_a_citizens_e_mail_with_a_line_break_in_its_subject_is_sent_on_one_line(
    tiny_city, mailoutbox
):
    notification = _confirmation(tiny_city)
    write_raw("reports_notification", notification.pk, subject="Confirm\r\nBcc: x@evil.example")

    assert notifications.notification_send(notification_id=notification.pk) is True
    assert mail.outbox[-1].subject == "Confirm Bcc: x@evil.example"


def test_a_citizens_e_mail_that_cannot_be_built_fails_at_once(tiny_city, mailoutbox):
    notification = _confirmation(tiny_city)
    write_raw("reports_notification", notification.pk, to_email="ana@example.org\nBcc: x@e.org")

    assert notifications.notification_send(notification_id=notification.pk) is False

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED and notification.attempts == 1
    assert "could not be built" in notification.last_error
    assert mailoutbox == []


def test_a_citizens_address_refused_for_good_fails_at_once(tiny_city, smtp):
    notification = _confirmation(tiny_city)
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user here")

    assert notifications.notification_send(notification_id=notification.pk) is False

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED and notification.attempts == 1
    assert "550" in notification.last_error


def test_an_unexpected_error_sending_a_citizens_e_mail_is_retried_a_few_times(
    tiny_city, monkeypatch
):
    notification = _confirmation(tiny_city)

    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", bug)
    for _ in range(5):
        Notification.objects.filter(pk=notification.pk).update(send_after=notification.created_at)
        notifications.notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED and notification.attempts == 3
    assert "RuntimeError: a bug" in notification.last_error


def test_a_mail_server_that_is_down_is_still_temporary(tiny_city, monkeypatch):
    notification = _confirmation(tiny_city)

    def down(*args: object, **kwargs: object) -> None:
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", down)
    notifications.notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING and notification.attempts == 1
