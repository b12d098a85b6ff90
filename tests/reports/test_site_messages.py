"""Site messages: banners administrators publish for a time, on some pages or about one
authority's area, translatable, dismissible, audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from reports import site_messages
from reports.models import AuditEntry, SiteMessage
from tests import factories


def _publish(admin: Any = None, **fields: Any) -> SiteMessage:
    now = timezone.now()
    values = {
        "text": "Storm damage: report fallen trees here",
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(hours=1),
        **fields,
    }
    return site_messages.site_message_save(message=SiteMessage(**values), actor=admin)


@pytest.fixture
def superuser(db: None) -> Any:
    return factories.UserFactory.create(is_superuser=True, is_staff=True)


def test_a_message_shows_only_between_its_start_and_end(db, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        live = _publish()
        _publish(text="Later", starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3))
        _publish(text="Over", starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=2))

    assert site_messages.messages_for() == [live]
    later = site_messages.messages_for(now=now + timedelta(hours=2, minutes=1))
    assert [m.text for m in later] == ["Later"]


def test_pages_and_an_authoritys_area_limit_where_a_message_shows(
    tiny_city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        filing = _publish(text="Filing only", pages=["filing"])
        west = _publish(text="West only", authority=tiny_city.west)

    def texts(**kwargs: Any) -> list[str]:
        return sorted(m.text for m in site_messages.messages_for(**kwargs))

    assert texts(page="home") == []
    assert texts(page="filing") == ["Filing only"]
    assert texts(page="filing", authorities=[tiny_city.west.pk, tiny_city.city.pk]) == [
        "Filing only",
        "West only",
    ]
    assert texts(page="report", authorities=[tiny_city.east.pk]) == []
    assert filing.pk and west.pk


def test_a_message_is_shown_in_the_readers_language_or_else_the_default(db):
    message = _publish(text="Service down Sunday", text_ca="Servei aturat diumenge")

    with translation.override("ca"):
        assert message.text == "Servei aturat diumenge"
    with translation.override("es"):
        assert message.text == "Service down Sunday"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "  "}, "text"),
        ({"pages": ["nowhere"]}, "pages"),
        ({"ends_at": timezone.now() - timedelta(days=1)}, "ends_at"),
    ],
)
def test_a_message_that_cannot_be_shown_is_refused(db, fields, field):
    with pytest.raises(ValidationError) as refused:
        _publish(**fields)

    assert field in refused.value.message_dict
    assert not SiteMessage.objects.exists() and not AuditEntry.objects.exists()


def test_publishing_changing_and_removing_are_audited(db, superuser):
    message = _publish(superuser)
    message.text = "Storm damage: fallen trees are being cleared"
    site_messages.site_message_save(message=message, actor=superuser)
    site_messages.site_message_delete(message=message, actor=superuser)

    entries = list(AuditEntry.objects.filter(action="site_message").order_by("id"))
    assert [e.actor for e in entries] == [superuser] * 3
    assert entries[1].before["text"] == "Storm damage: report fallen trees here"
    assert entries[1].after["text"] == "Storm damage: fallen trees are being cleared"
    assert entries[2].after == {"deleted": True}


def test_the_banner_is_on_the_pages_in_the_readers_language_until_dismissed(
    client, tiny_city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _publish(text_es="Daños por la tormenta", pages=["home"])

    assert "Storm damage" in client.get("/").content.decode()
    assert "Storm damage" not in client.get(reverse("reports:alerts")).content.decode()
    with translation.override("es"):
        spanish = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Daños por la tormenta" in spanish

    response = client.post(
        reverse("reports:site-message-dismiss", args=[message.pk]), {"next": "/alerts/"}
    )
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    assert "Storm damage" not in client.get("/").content.decode()


def test_a_message_about_an_area_shows_on_the_filing_page_and_reports_there(
    client, tiny_city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _publish(text="West roads closed", authority=tiny_city.west)
    west = factories.report(tiny_city.pothole, *tiny_city.WEST)
    east = factories.report(tiny_city.pothole, *tiny_city.EAST)

    assert "West roads closed" in client.get(west.get_absolute_url()).content.decode()
    assert "West roads closed" not in client.get(east.get_absolute_url()).content.decode()
    filing = client.get(
        reverse("reports:new"), {"latitude": 10.05, "longitude": 1.05}
    ).content.decode()
    assert "West roads closed" in filing
    assert "West roads closed" not in client.get("/").content.decode()


def test_admins_publish_a_message_in_the_admin_with_its_translations(client, superuser, tiny_city):
    client.force_login(superuser)
    now = timezone.now()
    response = client.post(
        reverse("admin:reports_sitemessage_add"),
        {
            "text_en": "Service down Sunday 02:00-04:00",
            "text_ca": "Servei aturat diumenge de 02:00 a 04:00",
            "text_es": "",
            "level": "warning",
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": "00:00:00",
            "ends_at_0": (now + timedelta(days=2)).strftime("%Y-%m-%d"),
            "ends_at_1": "00:00:00",
            "pages": ["home", "filing"],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    message = SiteMessage.objects.get()
    assert message.text_en == "Service down Sunday 02:00-04:00"
    assert message.text_ca == "Servei aturat diumenge de 02:00 a 04:00"
    assert not message.text_es  # empty: Spanish readers see the English
    assert message.pages == ["home", "filing"] and message.level == "warning"
    assert AuditEntry.objects.get(action="site_message").actor == superuser
    staff = tiny_city.west_staff
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get(reverse("admin:reports_sitemessage_changelist")).status_code == 403


def test_the_migration_to_a_column_per_language_keeps_existing_texts(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("reports", "0023_update_delivery")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("reports", "SiteMessage")
    now = timezone.now()
    kept = old.objects.create(
        text="Storm damage",
        translations={"ca": "Danys per la tempesta", "es": "Daños por la tormenta"},
        starts_at=now,
        ends_at=now + timedelta(days=1),
    )
    english_only = old.objects.create(
        text="Works on Sunday", translations={}, starts_at=now, ends_at=now + timedelta(days=1)
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = SiteMessage.objects.get(pk=kept.pk)
    assert (moved.text_en, moved.text_ca, moved.text_es) == (
        "Storm damage",
        "Danys per la tempesta",
        "Daños por la tormenta",
    )
    with translation.override("ca"):
        assert SiteMessage.objects.get(pk=english_only.pk).text == "Works on Sunday"
